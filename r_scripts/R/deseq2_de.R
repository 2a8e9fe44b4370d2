## degbridge: the DESeq2 analysis behind degbridge.run_deseq2() and fit_deseq2(), usable from
## plain R as well.
##
##   source("limma_de.R"); source("deseq2_de.R")   # limma_de.R defines .degbridge_capture
##   res <- degbridge_deseq2_de(counts, full = model.matrix(~ celltype + dex, s), coef = 5)
##   res$table            # results(dds, ...) as a data.frame, in the input's row order
##
##   f <- degbridge_deseq2_fit(counts, full)                     # DESeq() once ...
##   degbridge_deseq2_test(f$fit, coef = 5, lfc_threshold = 1)   # ... results() any time
##
## Every argument is data: an integer-valued count matrix (genes x samples), the numeric full
## (and, for the LRT, reduced) model matrix, and a coefficient number or a numeric contrast
## vector. Nothing is parsed or evaluated; degbridge builds the model matrices in Python.
## The model matrix goes to DESeq(full = ...), as DESeq2 documents for user-supplied matrices:
##   DESeqDataSetFromMatrix(design = ~ 1) -> DESeq(test, full, reduced)          (fit)
##   -> results(name or contrast, lfcThreshold, altHypothesis, independentFiltering, alpha,
##      cooksCutoff) [-> lfcShrink(type = "normal")]                            (test)

.degbridge_deseq2_check <- function() {
  if (!requireNamespace("DESeq2", quietly = TRUE))
    stop("the R package DESeq2 is not installed (Debian: apt-get install r-bioc-deseq2)")
}

degbridge_deseq2_fit <- function(x, full, test = "Wald", reduced = NULL) {
  .degbridge_deseq2_check()
  .degbridge_capture(.degbridge_deseq2_fit(x, full, test, reduced))
}

degbridge_deseq2_test <- function(fit, coef = NULL, contrast = NULL, lfc_threshold = 0,
                                  alt_hypothesis = "greaterAbs", shrink = "none",
                                  independent_filtering = TRUE, alpha = 0.1, cooks_cutoff = TRUE) {
  .degbridge_deseq2_check()
  .degbridge_capture(.degbridge_deseq2_test(fit, coef, contrast, lfc_threshold, alt_hypothesis,
                                            shrink, independent_filtering, alpha, cooks_cutoff))
}

## fit and test in one call (degbridge.run_deseq2)
degbridge_deseq2_de <- function(x, full, coef = NULL, contrast = NULL, test = "Wald",
                                reduced = NULL, shrink = "none", independent_filtering = TRUE,
                                alpha = 0.1, cooks_cutoff = TRUE, lfc_threshold = 0,
                                alt_hypothesis = "greaterAbs") {
  .degbridge_deseq2_check()
  .degbridge_capture({
    fitted <- .degbridge_deseq2_fit(x, full, test, reduced)
    res <- .degbridge_deseq2_test(fitted$fit, coef, contrast, lfc_threshold, alt_hypothesis,
                                  shrink, independent_filtering, alpha, cooks_cutoff)
    res$info <- c(fitted$info, res$info)
    res
  })
}

.degbridge_deseq2_fit <- function(x, full, test, reduced) {
  test <- match.arg(test, c("Wald", "LRT"))
  stopifnot(is.matrix(x), is.numeric(x), is.matrix(full), nrow(full) == ncol(x))
  mode(x) <- "integer"  # the caller checked that every value is a count
  samples <- S4Vectors::DataFrame(sample = seq_len(ncol(x)))
  dds <- DESeq2::DESeqDataSetFromMatrix(countData = x, colData = samples, design = ~ 1)
  dds <- if (test == "LRT") DESeq2::DESeq(dds, test = "LRT", full = full, reduced = reduced, quiet = TRUE)
         else DESeq2::DESeq(dds, full = full, quiet = TRUE)
  mc <- S4Vectors::mcols(dds)
  info <- list(size_factors = as.numeric(DESeq2::sizeFactors(dds)),
               dispersion = as.numeric(DESeq2::dispersions(dds)),
               dispersion_fit = as.numeric(mc$dispFit),
               all_zero = as.logical(mc$allZero),
               deseq2 = as.character(utils::packageVersion("DESeq2")))
  list(fit = dds, info = info)
}

.degbridge_deseq2_test <- function(dds, coef, contrast, lfc_threshold, alt_hypothesis, shrink,
                                   independent_filtering, alpha, cooks_cutoff) {
  args <- list(dds, independentFiltering = independent_filtering, alpha = alpha,
               cooksCutoff = cooks_cutoff)
  if (lfc_threshold > 0 || alt_hypothesis != "greaterAbs") {
    args$lfcThreshold <- lfc_threshold
    args$altHypothesis <- alt_hypothesis
  }
  if (is.null(contrast)) args$name <- DESeq2::resultsNames(dds)[coef] else args$contrast <- contrast
  res <- do.call(DESeq2::results, args)
  if (shrink == "normal") {
    res <- if (is.null(contrast)) DESeq2::lfcShrink(dds, coef = coef, type = "normal", res = res)
           else DESeq2::lfcShrink(dds, contrast = contrast, type = "normal", res = res)
  }
  md <- S4Vectors::metadata(res)
  info <- list(filter_threshold = if (is.null(md$filterThreshold)) NA_real_
                                  else as.numeric(md$filterThreshold))
  tab <- as.data.frame(res)
  rownames(tab) <- NULL
  list(table = tab, info = info)
}
