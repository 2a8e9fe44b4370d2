#' The airway RNA-seq experiment, as a SummarizedExperiment
#'
#' Himes et al. (2014, GEO GSE52778): airway smooth muscle cells of four donors (cell
#' lines), treated with dexamethasone or not; raw gene counts of 38,694 Ensembl genes x 8
#' samples, bundled with the Python package degbridge (read from its data folder).
#'
#' @return A `SummarizedExperiment` with the assay `counts` (integers) and `colData`
#'   `celltype` (4 cell lines) and `dex` (`control`, `treated`), both factors. The natural
#'   design is `~ celltype + dex`.
#' @examplesIf degbridge_available()
#' se <- degbridge_airway()
#' se
#' table(se$dex)
#' @export
degbridge_airway <- function() {
  counts_path <- .degbridge_py("data_path", "airway_counts.tsv.gz")
  samples_path <- .degbridge_py("data_path", "airway_samples.tsv")
  counts <- utils::read.delim(counts_path, row.names = 1, check.names = FALSE)
  counts <- as.matrix(counts)
  storage.mode(counts) <- "integer"
  samples <- utils::read.delim(samples_path, row.names = 1, colClasses = "character")
  for (name in names(samples)) samples[[name]] <- factor(samples[[name]])
  SummarizedExperiment::SummarizedExperiment(
    assays = list(counts = counts[, rownames(samples)]),
    colData = S4Vectors::DataFrame(samples, check.names = FALSE))
}
