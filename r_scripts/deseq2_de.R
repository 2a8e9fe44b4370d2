## degbridge: the DESeq2 analysis behind degbridge.run_deseq2(), usable from plain R as well.
##
##   source("limma_de.R"); source("deseq2_de.R")   # limma_de.R defines .degbridge_capture
##   res <- degbridge_deseq2_de(counts, full = model.matrix(~ celltype + dex, s), coef = 5)
##   res$table            # results(dds, ...) as a data.frame, in the input's row order
##
## Every argument is data: an integer-valued count matrix (genes x samples), the numeric full
## (and, for the LRT, reduced) model matrix, and a coefficient number or a numeric contrast
## vector. Nothing is parsed or evaluated; degbridge builds the model matrices in Python.
## The model matrix goes to DESeq(full = ...), as DESeq2 documents for user-supplied matrices:
##   DESeqDataSetFromMatrix(design = ~ 1) -> DESeq(test, full, reduced) -> results(name or
##   contrast, independentFiltering, alpha, cooksCutoff) [-> lfcShrink(type = "normal")]

degbridge_deseq2_de <- function(x, full, coef = NULL, contrast = NULL, test = "Wald",
                                reduced = NULL, shrink = "none", independent_filtering = TRUE,
                                alpha = 0.1, cooks_cutoff = TRUE) {
  if (!requireNamespace("DESeq2", quietly = TRUE))
    stop("the R package DESeq2 is not installed (Debian: apt-get install r-bioc-deseq2)")
  .degbridge_capture({
    test <- match.arg(test, c("Wald", "LRT"))
    stopifnot(is.matrix(x), is.numeric(x), is.matrix(full), nrow(full) == ncol(x))
    mode(x) <- "integer"  # the caller checked that every value is a count
    samples <- S4Vectors::DataFrame(sample = seq_len(ncol(x)))
    dds <- DESeq2::DESeqDataSetFromMatrix(countData = x, colData = samples, design = ~ 1)
    dds <- if (test == "LRT") DESeq2::DESeq(dds, test = "LRT", full = full, reduced = reduced, quiet = TRUE)
           else DESeq2::DESeq(dds, full = full, quiet = TRUE)
    args <- list(dds, independentFiltering = independent_filtering, alpha = alpha,
                 cooksCutoff = cooks_cutoff)
    if (is.null(contrast)) args$name <- DESeq2::resultsNames(dds)[coef] else args$contrast <- contrast
    res <- do.call(DESeq2::results, args)
    if (shrink == "normal") {
      res <- if (is.null(contrast)) DESeq2::lfcShrink(dds, coef = coef, type = "normal", res = res)
             else DESeq2::lfcShrink(dds, contrast = contrast, type = "normal", res = res)
    }
    mc <- S4Vectors::mcols(dds)
    md <- S4Vectors::metadata(res)
    info <- list(size_factors = as.numeric(DESeq2::sizeFactors(dds)),
                 dispersion = as.numeric(DESeq2::dispersions(dds)),
                 dispersion_fit = as.numeric(mc$dispFit),
                 all_zero = as.logical(mc$allZero),
                 filter_threshold = if (is.null(md$filterThreshold)) NA_real_ else as.numeric(md$filterThreshold),
                 deseq2 = as.character(utils::packageVersion("DESeq2")))
    tab <- as.data.frame(res)
    rownames(tab) <- NULL
    list(table = tab, info = info)
  })
}
