## Native-R side of benchmarks/bench_limma.py.
##
## Sourced into the embedded R session for "limma's own time" and the bare rpy2 path, and run
## with Rscript as the native baseline:
##   Rscript bench_limma.R MATRIX.csv GROUPS.txt base|fread
## prints "read=<s> limma=<s> total=<s>" (seconds, measured inside R).

bench_limma_fit <- function(E, design, contrast) {
  fit <- limma::lmFit(E, design)
  fit <- limma::eBayes(limma::contrasts.fit(fit, contrast))
  limma::topTable(fit, coef = 1, number = Inf, sort.by = "none")
}

bench_design <- function(groups) {
  g <- factor(groups)
  design <- model.matrix(~ 0 + g)
  colnames(design) <- levels(g)
  contrast <- matrix(c(-1, 1), ncol = 1, dimnames = list(levels(g), "B-A"))
  list(design = design, contrast = contrast)
}

## limma's own time: the same calls on a matrix already in R (median of `repeats`)
bench_r_time <- function(E, groups, repeats = 5L) {
  d <- bench_design(groups)
  invisible(bench_limma_fit(E, d$design, d$contrast))
  times <- replicate(repeats, system.time(bench_limma_fit(E, d$design, d$contrast), gcFirst = TRUE)[["elapsed"]])
  median(times)
}

## peak memory of native R on a genes x samples matrix made in R (VmHWM from /proc)
bench_r_memory <- function(n_genes, n_samples) {
  status <- function(key) {
    line <- grep(paste0("^", key, ":"), readLines("/proc/self/status"), value = TRUE)
    as.numeric(gsub("[^0-9]", "", line)) * 1024
  }
  suppressPackageStartupMessages(library(limma))
  invisible(gc())
  base <- status("VmRSS")
  set.seed(1)
  E <- matrix(rnorm(n_genes * n_samples), n_genes, n_samples)
  groups <- rep(c("A", "B"), length.out = n_samples)
  d <- bench_design(groups)
  invisible(gc())
  writeLines("5", "/proc/self/clear_refs")  # reset the peak: data generation does not count
  tt <- bench_limma_fit(E, d$design, d$contrast)
  c(baseline = base, peak = status("VmHWM"), matrix = 8 * n_genes * n_samples)
}

if (!interactive() && length(commandArgs(trailingOnly = TRUE)) >= 3L) {
  args <- commandArgs(trailingOnly = TRUE)
  suppressPackageStartupMessages(library(limma))
  t0 <- proc.time()[["elapsed"]]
  if (args[[3]] == "fread") {
    E <- as.matrix(data.table::fread(args[[1]]), rownames = 1)
  } else if (args[[3]] == "memory") {
    r <- bench_r_memory(as.integer(args[[1]]), as.integer(args[[2]]))
    cat(sprintf("baseline=%.0f peak=%.0f matrix=%.0f\n", r[["baseline"]], r[["peak"]], r[["matrix"]]))
    quit(save = "no")
  } else {
    E <- as.matrix(read.csv(args[[1]], row.names = 1, check.names = FALSE))
  }
  t1 <- proc.time()[["elapsed"]]
  groups <- readLines(args[[2]])
  d <- bench_design(groups)
  tt <- bench_limma_fit(E, d$design, d$contrast)
  t2 <- proc.time()[["elapsed"]]
  cat(sprintf("read=%.3f limma=%.3f total=%.3f\n", t1 - t0, t2 - t1, t2 - t0))
}
