## Native-R side of benchmarks/bench_limma.py: the same limma calls degbridge makes, timed
## inside R (the floor run_limma is compared with).
##
##   Rscript bench_limma.R speed MATRIX.bin N_GENES N_SAMPLES GROUPS.txt ls|voom REPEATS
##     reads a genes x samples matrix of binary doubles (column-major), runs the analysis once
##     to warm up, then REPEATS times; prints "elapsed=<s,s,...> cpu=<s,s,...>"
##   Rscript bench_limma.R memory N_GENES N_SAMPLES
##     one ls analysis of a random matrix made in R; prints baseline/peak RSS (bytes), the
##     matrix size, and the elapsed and CPU seconds of the limma calls

suppressPackageStartupMessages({
  library(limma)
  library(edgeR)
})

## log-expression: the limma User's Guide recipe for two groups
bench_limma_fit <- function(E, design, contrast) {
  fit <- limma::lmFit(E, design)
  fit <- limma::eBayes(limma::contrasts.fit(fit, contrast))
  limma::topTable(fit, coef = 1, number = Inf, sort.by = "none")
}

## counts: DGEList -> filterByExpr -> TMM -> voom -> lmFit -> contrasts -> eBayes -> topTable
bench_voom_fit <- function(counts, design, contrast) {
  dge <- edgeR::DGEList(counts = counts)
  keep <- edgeR::filterByExpr(dge, design = design)
  dge <- edgeR::calcNormFactors(dge[keep, , keep.lib.sizes = FALSE])
  v <- limma::voom(dge, design)
  fit <- limma::eBayes(limma::contrasts.fit(limma::lmFit(v, design), contrast))
  limma::topTable(fit, coef = 1, number = Inf, sort.by = "none")
}

bench_design <- function(groups) {
  g <- factor(groups)
  design <- model.matrix(~ 0 + g)
  colnames(design) <- levels(g)
  contrast <- matrix(c(-1, 1), ncol = 1, dimnames = list(levels(g), "B-A"))
  list(design = design, contrast = contrast)
}

.cpu <- function() {
  p <- proc.time()
  p[[1]] + p[[2]]
}

bench_speed <- function(path, n_genes, n_samples, groups, method, repeats) {
  x <- matrix(readBin(path, "double", n_genes * n_samples), n_genes, n_samples)
  d <- bench_design(groups)
  fn <- if (method == "voom") bench_voom_fit else bench_limma_fit
  invisible(fn(x, d$design, d$contrast))  # warm-up: lazy loading, heap growth
  elapsed <- cpu <- numeric(repeats)
  for (i in seq_len(repeats)) {
    c0 <- .cpu()
    t0 <- proc.time()[["elapsed"]]
    tt <- fn(x, d$design, d$contrast)
    elapsed[i] <- proc.time()[["elapsed"]] - t0
    cpu[i] <- .cpu() - c0
    rm(tt)
  }
  list(elapsed = elapsed, cpu = cpu)
}

## peak memory of native R on a genes x samples matrix made in R (VmHWM from /proc)
bench_memory <- function(n_genes, n_samples) {
  status <- function(key) {
    line <- grep(paste0("^", key, ":"), readLines("/proc/self/status"), value = TRUE)
    as.numeric(gsub("[^0-9]", "", line)) * 1024
  }
  set.seed(1)
  E <- matrix(rnorm(n_genes * n_samples, 8), n_genes, n_samples)
  d <- bench_design(rep(c("A", "B"), length.out = n_samples))
  invisible(bench_limma_fit(E[1:2000, ], d$design, d$contrast))  # warm-up, as degbridge's
  invisible(gc())
  base <- status("VmRSS")
  writeLines("5", "/proc/self/clear_refs") # reset the peak: data generation does not count
  c0 <- .cpu()
  t0 <- proc.time()[["elapsed"]]
  tt <- bench_limma_fit(E, d$design, d$contrast)
  c(baseline = base, peak = status("VmHWM"), matrix = 8 * n_genes * n_samples,
    elapsed = proc.time()[["elapsed"]] - t0, cpu = .cpu() - c0)
}

if (!interactive() && length(commandArgs(trailingOnly = TRUE)) >= 3L) {
  args <- commandArgs(trailingOnly = TRUE)
  if (args[[1]] == "speed") {
    r <- bench_speed(args[[2]], as.integer(args[[3]]), as.integer(args[[4]]),
                     readLines(args[[5]]), args[[6]], as.integer(args[[7]]))
    cat(sprintf("elapsed=%s cpu=%s\n", paste(r$elapsed, collapse = ","),
                paste(r$cpu, collapse = ",")))
  } else if (args[[1]] == "memory") {
    r <- bench_memory(as.integer(args[[2]]), as.integer(args[[3]]))
    cat(paste0(names(r), "=", format(r, scientific = FALSE, trim = TRUE), collapse = " "), "\n")
  }
}
