## Results stored beside the genes of a SummarizedExperiment: rowData columns with a prefix.

#' Store a DE table in the rowData of a SummarizedExperiment
#'
#' Adds the columns of `table` (one row per gene, gene IDs as row names: what
#' [degbridge_limma()], [degbridge_edger()] or [degbridge_deseq2()] return for one
#' contrast) to `rowData(se)` as `paste0(prefix, column)`, matched to `rownames(se)` by gene
#' ID; genes the table does not hold (filtered out before the test) get `NA`. Existing
#' columns are never replaced unless `overwrite = TRUE`.
#'
#' @param se A `SummarizedExperiment` (or `SingleCellExperiment`).
#' @param table One DE table: a data.frame with gene IDs as row names (a DESeqResults or
#'   edgeR TopTags works too).
#' @param prefix Put before each column name, e.g. `"dex_"`.
#' @param overwrite Replace rowData columns that already have these names.
#' @return `se` with the columns added to its `rowData`.
#' @examplesIf degbridge_available()
#' se <- degbridge_airway()
#' tab <- degbridge_limma(se, design = ~ celltype + dex, coef = "dextreated")
#' se <- degbridge_add_rowdata(se, tab, prefix = "dex_")
#' head(SummarizedExperiment::rowData(se))
#' @export
degbridge_add_rowdata <- function(se, table, prefix = "degbridge_", overwrite = FALSE) {
  if (!methods::is(se, "SummarizedExperiment"))
    stop("se must be a SummarizedExperiment, not a ", class(se)[1], call. = FALSE)
  if (!is.character(prefix) || length(prefix) != 1L || is.na(prefix))
    stop("prefix must be one string", call. = FALSE)
  .degbridge_flag(overwrite, "overwrite")
  table <- .degbridge_table(table)
  if (is.null(rownames(se))) stop("se has no gene IDs (rownames)", call. = FALSE)
  unknown <- setdiff(rownames(table), rownames(se))
  if (length(unknown))
    stop(length(unknown), " genes of the table are not rows of se, e.g. ",
         paste(utils::head(unknown, 3), collapse = ", "), call. = FALSE)
  rd <- SummarizedExperiment::rowData(se)
  new <- paste0(prefix, names(table))
  clash <- intersect(new, colnames(rd))
  if (length(clash) && !overwrite)
    stop("rowData(se) already has the columns ", paste(clash, collapse = ", "),
         ": choose another prefix, or overwrite = TRUE to replace them", call. = FALSE)
  at <- match(rownames(se), rownames(table))
  for (i in seq_along(new)) rd[[new[i]]] <- table[[i]][at]
  SummarizedExperiment::rowData(se) <- rd
  se
}
