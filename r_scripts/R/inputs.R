## Inputs: a matrix (or data.frame) with a sample sheet, a SummarizedExperiment (and so a
## SingleCellExperiment), a DGEList or an ExpressionSet, become a numeric genes x samples
## matrix with gene and sample IDs, and the sample sheet (row names = sample IDs). Cells are
## summed into pseudobulk samples first when sample_key is given.

## The assay of a SummarizedExperiment: `assay` (a name or number), else "counts" when there
## is one, else the first.
.degbridge_assay <- function(se, assay) {
  names <- SummarizedExperiment::assayNames(se)
  if (!length(SummarizedExperiment::assays(se)))
    stop("the ", class(se)[1], " has no assay", call. = FALSE)
  if (is.null(assay)) assay <- if ("counts" %in% names) "counts" else 1L
  if (is.character(assay) && !(length(assay) == 1L && assay %in% names))
    stop("assay = ", deparse(assay), " is not an assay of the ", class(se)[1],
         "; its assays are ", paste(shQuote(names), collapse = ", "), call. = FALSE)
  if (is.numeric(assay) && !(length(assay) == 1L && assay >= 1 &&
                             assay <= length(SummarizedExperiment::assays(se))))
    stop("assay = ", deparse(assay), " is not an assay number of the ", class(se)[1],
         " (it has ", length(SummarizedExperiment::assays(se)), ")", call. = FALSE)
  SummarizedExperiment::assay(se, assay, withDimnames = TRUE)
}

## x (any supported input) -> list(x = the values (genes x samples or cells), samples = its
## sheet or NULL). Not yet a dense matrix: pseudobulk sums sparse cell matrices as they are.
.degbridge_unpack <- function(x, samples, assay) {
  samples <- .degbridge_sheet(samples)
  own <- NULL
  if (methods::is(x, "SummarizedExperiment")) {
    values <- .degbridge_assay(x, assay)
    own <- SummarizedExperiment::colData(x)
  } else {
    if (!is.null(assay))
      stop("assay = is for a SummarizedExperiment (or SingleCellExperiment), not a ",
           class(x)[1], call. = FALSE)
    if (inherits(x, "DGEList")) {
      values <- x$counts
      own <- x$samples
    } else if (methods::is(x, "ExpressionSet")) {
      values <- Biobase::exprs(x)
      own <- Biobase::pData(x)
    } else if (is.matrix(x) || is.data.frame(x) || methods::is(x, "Matrix")) {
      values <- x
    } else {
      stop("x must be a matrix (genes x samples), a data.frame, a SummarizedExperiment, a ",
           "SingleCellExperiment, a DGEList or an ExpressionSet, not a ", class(x)[1],
           call. = FALSE)
    }
  }
  if (is.null(samples) && !is.null(own)) {
    samples <- .degbridge_sheet(own)
    if (is.null(rownames(samples)) || .row_names_info(samples) <= 0)
      rownames(samples) <- colnames(values)
  }
  list(x = values, samples = samples)
}

## A dense double matrix with gene and sample IDs, checked: no infinite values, and for the
## count methods no missing or non-count value (the first offender named).
.degbridge_matrix <- function(x, counts = FALSE, who = "degbridge") {
  if (is.data.frame(x)) {
    bad <- !vapply(x, is.numeric, logical(1))
    if (any(bad))
      stop(who, ": x has non-numeric columns (", paste(names(x)[bad][1:min(3, sum(bad))],
           collapse = ", "), "): gene IDs belong in the row names", call. = FALSE)
  }
  x <- as.matrix(x)
  if (!is.numeric(x)) stop(who, ": x must hold numbers (genes x samples)", call. = FALSE)
  storage.mode(x) <- "double"
  if (is.null(rownames(x))) stop(who, ": x needs gene IDs as row names", call. = FALSE)
  if (is.null(colnames(x))) stop(who, ": x needs sample IDs as column names", call. = FALSE)
  if (anyDuplicated(rownames(x)))
    stop(who, ": duplicated gene IDs, e.g. ", rownames(x)[anyDuplicated(rownames(x))],
         call. = FALSE)
  if (anyDuplicated(colnames(x)))
    stop(who, ": duplicated sample IDs, e.g. ", colnames(x)[anyDuplicated(colnames(x))],
         call. = FALSE)
  bad <- which(is.infinite(x), arr.ind = TRUE)
  if (nrow(bad))
    stop(who, ": ", nrow(bad), " infinite value(s), first at gene ", rownames(x)[bad[1, 1]],
         ", sample ", colnames(x)[bad[1, 2]], call. = FALSE)
  if (!isFALSE(counts)) .degbridge_check_counts(x, counts, who)
  x
}

## Raw counts: no missing value, every value a non-negative integer (within 1e-8, the rule of
## degbridge._checks). `what` names the method in the message.
.degbridge_check_counts <- function(x, what, who) {
  what <- if (isTRUE(what)) "this method" else paste0("method '", what, "'")
  nas <- which(is.na(x), arr.ind = TRUE)
  if (nrow(nas))
    stop(who, ": ", what, " needs complete counts; ", nrow(nas), " missing, first at gene ",
         rownames(x)[nas[1, 1]], ", sample ", colnames(x)[nas[1, 2]], call. = FALSE)
  frac <- which(x < 0 | abs(x - round(x)) > .degbridge_count_tolerance, arr.ind = TRUE)
  if (nrow(frac))
    stop(who, ": ", what, " needs raw integer counts, but gene ", rownames(x)[frac[1, 1]],
         ", sample ", colnames(x)[frac[1, 2]], " is ", x[frac[1, 1], frac[1, 2]],
         ": normalised or log data? (use degbridge_limma(method = \"ls\"))", call. = FALSE)
}

## groups: NULL, the name of a sample-sheet column, or one label per sample.
.degbridge_groups_column <- function(groups, samples) {
  is.character(groups) && length(groups) == 1L && !is.null(samples) &&
    groups %in% names(samples)
}

## The input of the DE functions, with the pseudobulk step when sample_key is given:
## list(x = dense matrix, samples, input = what x was, pseudobulk = its summary or NULL).
.degbridge_prepare <- function(x, samples, assay, sample_key, groups, min_cells, counts, who) {
  un <- .degbridge_unpack(x, samples, assay)
  pb <- NULL
  if (!is.null(sample_key)) {
    if (!is.null(groups) && !.degbridge_groups_column(groups, un$samples))
      stop(who, ": with sample_key, groups must name a column of the cells' sheet ",
           "(the condition each pseudobulk sample is split by)", call. = FALSE)
    pb <- .degbridge_pseudobulk(un$x, un$samples, sample_key, groups, min_cells, who)
    un$x <- pb$counts
    un$samples <- pb$samples
  }
  list(x = .degbridge_matrix(un$x, counts, who), samples = un$samples, pseudobulk = pb)
}
