## degbridge_limma(): limma (voom, limma-trend or lmFit) through degbridge_limma_de()
## (limma_de.R), the R function degbridge.run_limma calls from Python.

## The method default rule of degbridge.run_limma (degbridge._params.resolve_method), here in
## R so that the matrix need not cross to Python: raw counts (every value a finite
## non-negative integer within 1e-8) -> "voom", anything else (missing values included) ->
## "ls". Returns list(method, why) with the words Python records.
.degbridge_count_tolerance <- 1e-8
.degbridge_choose_method <- function(x) {
  counts <- length(x) > 0 && !anyNA(x) && all(is.finite(x)) && all(x >= 0) &&
    all(abs(x - round(x)) <= .degbridge_count_tolerance)
  if (counts) list(method = "voom", why = "raw counts detected (non-negative integers)")
  else list(method = "ls", why = "log-expression detected (not all non-negative integers)")
}

## method = NULL: the one method rule, said in a message; a given method is checked against
## Python's allowed values (degbridge._params), with the other options.
.degbridge_resolve_method <- function(x, method, who) {
  if (is.null(method)) {
    choice <- .degbridge_choose_method(x)
    message(who, ": method = \"", choice$method, "\" (", choice$why, ")")
    return(list(method = choice$method, choice = paste0(choice$method, ": ", choice$why)))
  }
  if (identical(method, "ls")) .degbridge_warn_not_log(x, who)
  list(method = method, choice = paste0(method, ": given"))
}

## method = "ls" given on values that are not log-expression: non-negative (missing values
## aside) with the largest above 50 (degbridge._params.LS_LOG_MAX: log2 expression stays
## below ~20; counts, CPM and un-logged intensities exceed it). The rule of run_limma.
.degbridge_warn_not_log <- function(x, who) {
  if (!is.numeric(x) || !length(x) || all(is.na(x))) return(invisible())
  r <- suppressWarnings(range(x, na.rm = TRUE))
  if (r[1] < 0 || !(r[2] > 50)) return(invisible())
  what <- if (.degbridge_choose_method(x)$method == "voom") "raw counts" else "values not on a log scale"
  warning(who, ": method = \"ls\" was given, but these look like ", what,
          " (non-negative, above 50): lmFit expects log-expression. Log-transform them first ",
          "(e.g. log2(x + 1) for intensities), or for raw counts use method = \"voom\" or ",
          "\"trend\".", call. = FALSE)
}

## limma's options, checked against their declarations in Python (degbridge._params).
.degbridge_limma_options <- function(method, normalize, filter, robust, trend, lfc, weights,
                                     confint, prior.count) {
  .degbridge_flag(robust, "robust")
  .degbridge_flag(trend, "trend")
  if (!(isTRUE(filter) || isFALSE(filter) || is.null(filter)))
    stop("filter must be TRUE or FALSE, not ", deparse(filter), call. = FALSE)
  if (!is.null(method) && !(is.character(method) && length(method) == 1L))
    stop("method must be one string or NULL", call. = FALSE)
  options <- list(normalize = normalize, filter = filter, lfc = lfc, weights = weights,
                  confint = confint, prior_count = prior.count)
  .degbridge_py("check_options", "limma", options[!vapply(options, is.null, logical(1))],
                method = method)
}

#' Differential expression with limma
#'
#' limma-voom, limma-trend or `lmFit` on a count or log-expression matrix with its sample
#' sheet, a `SummarizedExperiment`, a `DGEList`, an `ExpressionSet` or a
#' `SingleCellExperiment` (summed into pseudobulk samples by `sample_key`, and fitted per
#' cell type with `celltype_key`). The design and contrasts are checked and built by the
#' Python package degbridge (the code of `degbridge.run_limma`), then limma runs in this R
#' session with the R function degbridge itself uses, so the numbers are those of
#' `run_limma` and of the same limma calls written out by hand.
#'
#' Sample-sheet rows are matched to the samples (`colnames(x)`) by ID, never by position: by
#' the sheet's row names, or by a column (text, factor or integer) holding exactly the sample
#' IDs. A sheet with automatic row names and no such column is refused unless
#' `match = "position"`.
#'
#' @param x The values, genes x samples: a numeric matrix or data.frame (gene IDs as row
#'   names, sample IDs as column names), a `SummarizedExperiment` (the `assay`; its
#'   `colData` is the sample sheet), a `DGEList` (its counts; its `samples` the sheet), an
#'   `ExpressionSet` (`exprs`; `pData` the sheet) or, with `sample_key`, cells: a
#'   `SingleCellExperiment` (or a genes x cells matrix with a sheet of cells) whose raw
#'   counts are summed per sample.
#' @param samples The sample sheet: a data.frame with one row per sample, matched to
#'   `colnames(x)` by ID (see Details). By default the sheet `x` carries (`colData`,
#'   `samples`, `pData`).
#' @param design A formula over sample-sheet columns (`~ celltype + dex`; also as a string),
#'   checked in Python and never evaluated in R, or a numeric design matrix with column
#'   names.
#' @param groups The groups of a `~ 0 + group` design (one column per group): the name of a
#'   sample-sheet column, or one label per sample (a factor keeps its level order). Give
#'   `design` or `groups`.
#' @param contrast What to test: an expression over design columns (`"treated - control"`,
#'   `"(A + B)/2 - C"`), a design column, or several of these (one table each).
#' @param coef A design column to test (or several), instead of `contrast`.
#' @param method How the values are modelled: "voom" (raw counts: edgeR normalisation, then
#'   voom), "trend" (raw counts to log-CPM, then eBayes with trend) or "ls" (log-expression
#'   such as microarrays or log-CPM, through lmFit); by default chosen from the data: "voom"
#'   when every value is a finite non-negative integer (within 1e-8), that is raw counts,
#'   and "ls" otherwise. The choice is logged, with the reason. Here `NULL` (the default)
#'   applies that rule; the choice is reported with [message()] and recorded as
#'   `attr(result, "method_choice")`.
#' @param normalize edgeR normalisation of counts (calcNormFactors method): "TMM", "TMMwsp",
#'   "RLE", "upperquartile" or "none"; "TMM" by default, ignored for "ls".
#' @param filter Drop lowly expressed genes with edgeR's filterByExpr before normalising
#'   counts (on by default; never for "ls").
#' @param robust Robust empirical Bayes (eBayes robust option): genes with outlying variances
#'   do not distort the prior variance; off by default.
#' @param trend Let the prior variance depend on the average expression (eBayes trend
#'   option), for log-expression whose variance changes with the mean; always on for
#'   "trend".
#' @param lfc Log2 fold-change threshold: above 0, genes are tested for a change larger than
#'   it with treat and topTreat (no B column then); 0, the default, tests for any change.
#' @param block Sample-table column of blocks (repeated measures, paired samples):
#'   duplicateCorrelation estimates the correlation within blocks and the fit uses it. Here
#'   the name of a sample-sheet column, or one label per sample.
#' @param weights Sample weights: "arrayWeights" (limma arrayWeights, with "ls") or "quality"
#'   (voomWithQualityWeights, with "voom"); none by default.
#' @param confint Add CI.L and CI.R columns: a 95\% confidence interval for logFC; off by
#'   default. Or a level such as `0.99`.
#' @param prior.count Prior count added before taking log-CPM for "trend" (edgeR cpm with
#'   log); 3 by default.
#' @param assay For a `SummarizedExperiment`: the assay (name or number); by default
#'   `"counts"` when there is one, else the first.
#' @param sample_key Single-cell data: the column of the cells' sheet naming each cell's
#'   biological sample. The raw counts of the cells of each sample (split by `groups`, a
#'   column name, when given) are summed, as `degbridge.pp.pseudobulk` sums them in Python:
#'   pseudobulk samples `"<sample>_<group>"`, those with fewer than `min_cells` cells
#'   dropped; their sheet holds `n_cells` and every column constant within each of them.
#' @param celltype_key Single-cell data, with `sample_key` and `groups` (a column name): the
#'   column of the cells' cell type. Each cell type gets its own pseudobulk and its own fit
#'   with `~ 0 + groups`, as `degbridge.tl.de(celltype_key = )` in Python (and muscat's
#'   `pbDS`); see Value.
#' @param min_cells With `sample_key`: pseudobulk samples with fewer cells are dropped.
#' @param min_samples With `celltype_key`: a cell type is fitted only when every group has
#'   at least this many pseudobulk samples left; otherwise it is skipped, with the reason.
#' @param adjust With `celltype_key`: `"per_cell_type"` (Benjamini-Hochberg within each
#'   cell type's table) or `"global"` (over the P-values of all cell types together, for
#'   each contrast, as muscat's `p_adj.glb`).
#' @param match `"ids"` (the default) matches sheet rows to samples by ID; `"position"`
#'   takes a sheet without IDs in the order of `colnames(x)`.
#' @return One contrast: limma's table (`topTable`, or `topTreat` with `lfc > 0`) as a
#'   data.frame with gene IDs as row names, sorted by `B` (by `P.Value` with `lfc > 0`), the
#'   genes filtered out left out; `attr(, "method_choice")` says which method ran and why.
#'   Several contrasts: a named list of such tables, and `F`, the moderated F-test over all
#'   of them. With `celltype_key`: one long data.frame, `cell_type`, `contrast`, `gene` and
#'   limma's columns, each cell type's genes in limma's order; its attributes `skipped`
#'   (`cell_type`, `reason`), `samples` (one row per cell type x sample x group: `n_cells`
#'   and `used`) and `fits` (samples, genes and method of each fit). Skipped cell types give
#'   one warning listing them.
#' @seealso [degbridge_edger()] and [degbridge_deseq2()] (same inputs),
#'   [degbridge_add_rowdata()] to store a table in `rowData`, [degbridge_fit()] to keep the
#'   fit, [degbridge_compare()].
#' @examplesIf degbridge_available()
#' se <- degbridge_airway()
#' tab <- degbridge_limma(se, design = ~ celltype + dex, coef = "dextreated")
#' head(tab)
#'
#' ## a matrix and a sample sheet, the sheet in another order (matched by row names)
#' counts <- SummarizedExperiment::assay(se)[1:2000, ]
#' sheet <- as.data.frame(SummarizedExperiment::colData(se))[8:1, ]
#' two <- degbridge_limma(counts, sheet, groups = "dex",
#'                        contrast = c("treated - control", "control - treated"))
#' names(two)
#' @export
degbridge_limma <- function(x, samples = NULL, design = NULL, groups = NULL, contrast = NULL,
                            coef = NULL, method = NULL, normalize = "TMM", filter = TRUE,
                            robust = FALSE, trend = FALSE, lfc = 0, block = NULL,
                            weights = c("none", "arrayWeights", "quality"), confint = FALSE,
                            prior.count = 3, assay = NULL, sample_key = NULL,
                            celltype_key = NULL, min_cells = 10, min_samples = 2,
                            adjust = c("per_cell_type", "global"),
                            match = c("ids", "position")) {
  who <- "degbridge_limma"
  match <- match.arg(match)
  weights <- match.arg(weights)
  adjust <- match.arg(adjust)
  .degbridge_limma_options(method, normalize, filter, robust, trend, lfc,
                           if (weights == "none") NULL else weights, confint, prior.count)
  what <- .degbridge_what(contrast, coef)
  run <- function(x, samples, groups) {
    resolved <- .degbridge_resolve_method(x, method, who)
    if (resolved$method != "ls") .degbridge_check_counts(x, resolved$method, who)
    built <- .degbridge_build(x, samples, design, groups, what, match)
    res <- degbridge_limma_de(unname(x), built$D, contrasts = built$cm, coef = built$cf,
                              method = resolved$method,
                              normalize = if (is.null(normalize)) "none" else normalize,
                              filter = isTRUE(filter), robust = robust, trend = trend,
                              lfc = lfc, block = .degbridge_block(block, built$samples, ncol(x)),
                              weights = weights, confint = confint, prior.count = prior.count)
    .degbridge_warn(res$warnings, "limma/edgeR")
    .degbridge_limma_tables(res, rownames(x)[res$keep], built$spec, resolved$choice)
  }
  .degbridge_de(x, samples, design, groups, what, assay, sample_key, celltype_key, min_cells,
                min_samples, adjust, run, columns = c("P.Value", "adj.P.Val"), who = who)
}

## limma's tables with gene IDs as row names, sorted by B (or P.Value with treat), by
## contrast name; the moderated F table apart.
.degbridge_limma_tables <- function(res, genes, spec, method_choice) {
  order_table <- function(tt) {
    rownames(tt) <- genes
    key <- if ("B" %in% names(tt)) -tt$B else tt$P.Value
    tt[order(key, method = "radix"), , drop = FALSE]
  }
  tables <- lapply(res$tables, order_table)
  names(tables) <- unlist(spec$contrast_names)
  ftable <- NULL
  if (!is.null(res$ftable)) {
    ftable <- res$ftable
    rownames(ftable) <- genes
    ftable <- ftable[order(ftable$P.Value, method = "radix"), , drop = FALSE]
  }
  list(tables = tables, ftable = ftable, method_choice = method_choice)
}

## What the DE functions return for one fit: the table (one contrast), else the named list
## (and the F table as $F).
.degbridge_result <- function(out) {
  tables <- out$tables
  if (length(tables) == 1L) {
    tab <- tables[[1]]
    if (!is.null(out$method_choice)) attr(tab, "method_choice") <- out$method_choice
    return(tab)
  }
  if (!is.null(out$ftable)) tables$F <- out$ftable
  if (!is.null(out$method_choice)) attr(tables, "method_choice") <- out$method_choice
  tables
}

## The input steps every DE function shares: unpack x, pseudobulk (sample_key), or one fit
## per cell type (celltype_key); run(x, samples, groups) fits one matrix.
.degbridge_de <- function(x, samples, design, groups, what, assay, sample_key, celltype_key,
                          min_cells, min_samples, adjust, run, columns, who) {
  if (!is.null(celltype_key)) {
    un <- .degbridge_unpack(x, samples, assay)
    return(.degbridge_per_cell_type(un$x, un$samples, run, groups, sample_key, celltype_key,
                                    what, design, min_cells, min_samples, adjust, columns,
                                    who))
  }
  input <- .degbridge_prepare(x, samples, assay, sample_key, groups, min_cells, FALSE, who)
  out <- run(input$x, input$samples, groups)
  .degbridge_result(out)
}
