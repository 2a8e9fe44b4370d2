## degbridge_edger(): edgeR through degbridge_edger_de() (edger_de.R), the R function
## degbridge.run_edger calls from Python.

#' Differential expression with edgeR
#'
#' edgeR's quasi-likelihood F-test (the edgeR User's Guide recipe), likelihood-ratio test or
#' exact test on raw counts, with the inputs, designs and contrasts of [degbridge_limma()]:
#' `filterByExpr`, `calcNormFactors`, `estimateDisp`, then `glmQLFit`/`glmQLFTest`,
#' `glmFit`/`glmLRT`, `glmTreat` (`lfc > 0`) or `exactTest`, and `topTags`. The design and
#' contrasts are built by the Python package degbridge (as for `degbridge.run_edger`); edgeR
#' runs in this R session with the R function degbridge itself uses.
#'
#' @inheritParams degbridge_limma
#' @param x Raw counts, genes x samples: as for [degbridge_limma()] (a matrix, a
#'   `SummarizedExperiment`, a `DGEList` (its counts and sample sheet; normalisation is
#'   computed again), an `ExpressionSet`, or cells with `sample_key`).
#' @param test "ql": glmQLFit then glmQLFTest, the quasi-likelihood F-test of the edgeR
#'   User's Guide (the default); "lrt": glmFit then glmLRT, the likelihood-ratio test;
#'   "exact": exactTest between two groups (groups= with two levels).
#' @param robust Robust dispersion and quasi-likelihood estimates (estimateDisp and glmQLFit
#'   robust option); on by default.
#' @param lfc Log2 fold-change threshold: above 0, glmTreat tests for a change larger than it
#'   (on the "ql" or "lrt" fit); 0, the default, tests for any change.
#' @param normalize Normalisation (calcNormFactors method): "TMM", "TMMwsp", "RLE",
#'   "upperquartile" or "none"; "TMM" by default.
#' @param filter Drop lowly expressed genes with filterByExpr (with the design) before
#'   normalising (on by default).
#' @return One contrast: edgeR's `topTags(n = Inf)` table (`logFC`, `logCPM`, `F` or `LR`,
#'   `PValue`, `FDR`) as a data.frame with gene IDs as row names, by P-value, the genes
#'   filtered out left out. Several contrasts: a named list of such tables. With
#'   `celltype_key`: the long table described in [degbridge_limma()], with edgeR's columns.
#' @seealso [degbridge_limma()] for the inputs, [degbridge_deseq2()], [degbridge_compare()].
#' @examplesIf degbridge_available()
#' se <- degbridge_airway()[1:3000, ]
#' tab <- degbridge_edger(se, design = ~ celltype + dex, coef = "dextreated")
#' head(tab)
#' exact <- degbridge_edger(se, groups = "dex", test = "exact")
#' head(exact)
#' @export
degbridge_edger <- function(x, samples = NULL, design = NULL, groups = NULL, contrast = NULL,
                            coef = NULL, test = c("ql", "lrt", "exact"), robust = TRUE,
                            lfc = 0, normalize = "TMM", filter = TRUE, assay = NULL,
                            sample_key = NULL, celltype_key = NULL, min_cells = 10,
                            min_samples = 2, adjust = c("per_cell_type", "global"),
                            match = c("ids", "position")) {
  who <- "degbridge_edger"
  test <- match.arg(test)
  match <- match.arg(match)
  adjust <- match.arg(adjust)
  .degbridge_flag(robust, "robust")
  if (!(isTRUE(filter) || isFALSE(filter) || is.null(filter)))
    stop("filter must be TRUE or FALSE, not ", deparse(filter), call. = FALSE)
  options <- list(test = test, robust = robust, lfc = lfc, normalize = normalize,
                  filter = filter)
  .degbridge_py("check_options", "edger", options[!vapply(options, is.null, logical(1))])
  what <- .degbridge_what(contrast, coef)
  run <- function(x, samples, groups) {
    .degbridge_check_counts(x, "edger", who)
    built <- .degbridge_build(x, samples, design, groups, what, match, method = "edger",
                              test = test)
    exact <- test == "exact"
    res <- degbridge_edger_de(
      unname(x), if (exact) NULL else built$D, contrasts = built$cm, coef = built$cf,
      test = test, normalize = if (is.null(normalize)) "none" else normalize,
      filter = isTRUE(filter), robust = robust, lfc = lfc,
      group = if (exact) max.col(built$D, ties.method = "first") else NULL,
      pair = built$pair)
    .degbridge_warn(res$warnings, "edgeR")
    genes <- rownames(x)[res$keep]
    tables <- lapply(res$tables, function(part) {
      tab <- part$table
      rownames(tab) <- genes[part$rows]
      tab
    })
    names(tables) <- unlist(built$spec$contrast_names)
    list(tables = tables)
  }
  .degbridge_de(x, samples, design, groups, what, assay, sample_key, celltype_key, min_cells,
                min_samples, adjust, run, columns = c("PValue", "FDR"), who = who)
}
