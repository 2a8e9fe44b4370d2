## degbridge_deseq2(): DESeq2 through degbridge_deseq2_de() (deseq2_de.R), the R function
## degbridge.run_deseq2 calls from Python.

#' Differential expression with DESeq2
#'
#' DESeq2's Wald test (or the likelihood-ratio test against a reduced model) on raw counts,
#' with the inputs, designs and contrasts of [degbridge_limma()]. The design is built by the
#' Python package degbridge (as for `degbridge.run_deseq2`) and given to DESeq2 as a model
#' matrix, as DESeq2 documents for user-supplied matrices:
#' `DESeqDataSetFromMatrix(design = ~ 1)`, `DESeq(full = , reduced = )`, then `results()`
#' for the coefficient or contrast (and `lfcShrink(type = "normal")` when asked). It runs in
#' this R session with the R function degbridge itself uses. One contrast at a time.
#'
#' @inheritParams degbridge_limma
#' @param x Raw counts, genes x samples: as for [degbridge_limma()] (a matrix, a
#'   `SummarizedExperiment`, a `DGEList`, an `ExpressionSet`, or cells with `sample_key`).
#' @param contrast,coef What the fold change (and, for the Wald test, the test) is about: a
#'   design column (`"dextreated"`) or an expression over design columns
#'   (`"treated - control"`); one contrast.
#' @param test "Wald" (DESeq2's default) or "LRT", the likelihood-ratio test of the full
#'   design against reduced.
#' @param reduced The reduced model of test="LRT": a formula over the sample table (such as
#'   "~ celltype") or a numeric matrix, nested in the full design. Here an R formula
#'   (`~ celltype`), a string, or a numeric matrix with column names.
#' @param shrink "normal": fold changes shrunk by lfcShrink(type = "normal") (Wald test
#'   only); none by default. Here `NULL` for none.
#' @param lfc_threshold results() lfcThreshold: test the log2 fold change against this
#'   threshold (Wald test only); 0 by default.
#' @param alt_hypothesis results() altHypothesis, the side of lfc_threshold tested:
#'   "greaterAbs", "lessAbs", "greater" or "less" ("greaterAbs" by default: |logFC| above the
#'   threshold).
#' @param independent_filtering results() independentFiltering: adjusted P-values on the
#'   genes whose mean count passes the filter that maximises discoveries (on by default).
#' @param alpha results() alpha: the FDR target of independent filtering; 0.1 by default.
#' @param cooks_cutoff results() cooksCutoff: genes with a Cook's distance outlier get no
#'   P-value (on by default).
#' @return DESeq2's `results()` as a data.frame (`baseMean`, `log2FoldChange`, `lfcSE`,
#'   `stat`, `pvalue`, `padj`) with gene IDs as row names, in the input's gene order; missing
#'   P-values stay `NA` (all-zero genes, Cook's outliers; `padj` also for genes removed by
#'   independent filtering). With `celltype_key`: the long table described in
#'   [degbridge_limma()], with DESeq2's columns.
#' @seealso [degbridge_limma()] for the inputs, [degbridge_edger()], [degbridge_compare()]
#'   (which takes a `DESeqResults` too).
#' @examplesIf degbridge_available() && requireNamespace("DESeq2", quietly = TRUE)
#' se <- degbridge_airway()[1:2000, ]
#' res <- degbridge_deseq2(se, design = ~ celltype + dex, coef = "dextreated")
#' head(res[order(res$pvalue), ])
#' @export
degbridge_deseq2 <- function(x, samples = NULL, design = NULL, groups = NULL, contrast = NULL,
                             coef = NULL, test = c("Wald", "LRT"), reduced = NULL,
                             shrink = NULL, lfc_threshold = 0, alt_hypothesis = "greaterAbs",
                             independent_filtering = TRUE, alpha = 0.1, cooks_cutoff = TRUE,
                             assay = NULL, sample_key = NULL, celltype_key = NULL,
                             min_cells = 10, min_samples = 2,
                             adjust = c("per_cell_type", "global"),
                             match = c("ids", "position")) {
  who <- "degbridge_deseq2"
  test <- match.arg(test)
  match <- match.arg(match)
  adjust <- match.arg(adjust)
  if (!requireNamespace("DESeq2", quietly = TRUE))
    stop(who, ": the R package DESeq2 is not installed (Debian: apt-get install ",
         "r-bioc-deseq2; else BiocManager::install(\"DESeq2\"))", call. = FALSE)
  .degbridge_flag(independent_filtering, "independent_filtering")
  .degbridge_flag(cooks_cutoff, "cooks_cutoff")
  options <- list(test = test, shrink = shrink, lfc_threshold = lfc_threshold,
                  alt_hypothesis = alt_hypothesis,
                  independent_filtering = independent_filtering, alpha = alpha,
                  cooks_cutoff = cooks_cutoff)
  .degbridge_py("check_options", "deseq2", options[!vapply(options, is.null, logical(1))],
                reduced_given = !is.null(reduced))
  what <- .degbridge_what(contrast, coef)
  run <- function(x, samples, groups) {
    .degbridge_check_counts(x, "deseq2", who)
    built <- .degbridge_build(x, samples, design, groups, what, match, method = "deseq2",
                              test = test, reduced = reduced)
    res <- degbridge_deseq2_de(
      unname(x), built$D, coef = built$cf,
      contrast = if (is.null(built$cm)) NULL else built$cm[, 1],
      test = test, reduced = built$reduced,
      shrink = if (is.null(shrink)) "none" else shrink,
      independent_filtering = independent_filtering, alpha = alpha,
      cooks_cutoff = cooks_cutoff, lfc_threshold = lfc_threshold,
      alt_hypothesis = alt_hypothesis)
    .degbridge_warn(res$warnings, "DESeq2")
    tab <- res$table
    rownames(tab) <- rownames(x)
    tables <- list(tab)
    names(tables) <- unlist(built$spec$contrast_names)
    list(tables = tables)
  }
  .degbridge_de(x, samples, design, groups, what, assay, sample_key, celltype_key, min_cells,
                min_samples, adjust, run, columns = c("pvalue", "padj"), who = who)
}
