## Pseudobulk: the raw counts of the cells of each sample (x condition) summed, exactly as
## degbridge.pp.pseudobulk sums them in Python: pseudobulk samples named
## "<sample>_<condition>", in sorted (C-locale) order, those with fewer than min_cells cells
## dropped; the sheet holds the sample and condition, n_cells, and every column of the cells'
## sheet that is constant within each pseudobulk sample.

## Counts of cells (genes x cells: a matrix, a sparse Matrix or any matrix-like object) ->
## list(counts = genes x pseudobulk samples, samples = their sheet, dropped = cells of the
## samples dropped, by name).
.degbridge_pseudobulk <- function(x, cells, sample_key, groupby, min_cells, who) {
  .degbridge_check_count_number(min_cells, "min_cells", who)
  if (is.null(cells))
    stop(who, ": sample_key needs the cells' sheet (the colData of a SingleCellExperiment, ",
         "or samples = one row per cell)", call. = FALSE)
  if (nrow(cells) != ncol(x))
    stop(who, ": the cells' sheet has ", nrow(cells), " rows for ", ncol(x), " cells",
         call. = FALSE)
  if (!is.null(colnames(x)) && .row_names_info(cells) > 0 &&
      !identical(rownames(cells), colnames(x)))
    stop(who, ": the cells' sheet is not in the order of the cells (its row names differ ",
         "from colnames(x))", call. = FALSE)
  keys <- c(sample_key, groupby)
  for (key in keys) {
    if (!is.character(key) || length(key) != 1L || !key %in% names(cells))
      stop(who, ": ", deparse(key), " is not a column of the cells' sheet; its columns are ",
           paste(names(cells), collapse = ", "), call. = FALSE)
    if (anyNA(cells[[key]]))
      stop(who, ": column ", key, " has missing values; every cell needs a sample (and ",
           "condition)", call. = FALSE)
  }
  if (is.null(rownames(x))) stop(who, ": the cells' counts need gene IDs as row names",
                                 call. = FALSE)
  ## a dense or sparse matrix is summed as it is; other matrix-like objects (a DelayedMatrix)
  ## are read into memory first
  if (!is.matrix(x) && !methods::is(x, "Matrix")) x <- as.matrix(x)
  .degbridge_check_cell_counts(x, who)
  parts <- lapply(keys, function(k) as.character(cells[[k]]))
  labels <- do.call(paste, c(parts, sep = "_"))
  names_all <- sort(unique(labels), method = "radix")
  code <- match(labels, names_all)
  n_cells <- tabulate(code, nbins = length(names_all))
  keep <- n_cells >= min_cells
  if (!any(keep))
    stop(who, ": every pseudobulk sample has fewer than min_cells = ", min_cells, " cells ",
         "(largest: ", max(n_cells), "); lower min_cells", call. = FALSE)
  kept <- which(keep)
  use <- keep[code]
  indicator <- Matrix::sparseMatrix(i = which(use), j = match(code[use], kept), x = 1,
                                    dims = c(length(code), length(kept)))
  counts <- as.matrix(x %*% indicator)
  dimnames(counts) <- list(rownames(x), names_all[kept])
  first_all <- match(seq_along(names_all), code)  # the first cell of each pseudobulk sample
  first <- first_all[kept]
  constant <- .degbridge_constant_columns(cells, code, first_all, keys)
  sheet <- cells[first, constant, drop = FALSE]
  for (name in names(sheet)) if (is.factor(sheet[[name]])) sheet[[name]] <- droplevels(sheet[[name]])
  rownames(sheet) <- names_all[kept]
  for (i in seq_along(keys)) {
    value <- cells[[keys[i]]][first]
    sheet[[keys[i]]] <- if (is.factor(value)) droplevels(value) else as.character(value)
  }
  sheet$n_cells <- n_cells[kept]
  dropped <- stats::setNames(n_cells[!keep], names_all[!keep])
  list(counts = counts, samples = sheet, dropped = dropped, n_cells_total = length(code))
}

.degbridge_check_count_number <- function(value, name, who) {
  if (!is.numeric(value) || length(value) != 1L || is.na(value) || value < 1 ||
      value != round(value))
    stop(who, ": ", name, " must be a positive integer, not ", deparse(value), call. = FALSE)
}

## The cells' counts are raw counts: finite non-negative integers; the first offender named.
.degbridge_check_cell_counts <- function(x, who) {
  if (methods::is(x, "sparseMatrix")) {
    x <- methods::as(x, "CsparseMatrix")
    v <- x@x
    locate <- function(k) c(x@i[k] + 1L, findInterval(k - 1, x@p))
  } else {
    if (!is.matrix(x)) x <- as.matrix(x)
    v <- as.vector(x)
    locate <- function(k) c((k - 1L) %% nrow(x) + 1L, (k - 1L) %/% nrow(x) + 1L)
  }
  bad <- which(is.na(v) | !is.finite(v) | v < 0 | abs(v - round(v)) > .degbridge_count_tolerance)
  if (length(bad)) {
    at <- locate(bad[1])
    cell <- if (is.null(colnames(x))) paste0("#", at[2]) else colnames(x)[at[2]]
    stop(who, ": the cells' values are not raw counts (", length(bad), " values; the first: ",
         "cell ", cell, ", gene ", rownames(x)[at[1]], " = ", v[bad[1]], "): pseudobulk sums ",
         "raw counts (assay = \"counts\")", call. = FALSE)
  }
}

## The names of the columns of the cells' sheet with one value (NA counted as a value) within
## each code: pandas' groupby(code).nunique(dropna=False) <= 1. first: each code's first cell.
.degbridge_constant_columns <- function(cells, code, first, keys) {
  keep <- vapply(names(cells), function(name) {
    v <- cells[[name]]
    if (name %in% keys || !is.atomic(v) || !is.null(dim(v))) return(FALSE)
    if (is.factor(v)) v <- as.character(v)
    ref <- v[first][code]
    all((is.na(v) & is.na(ref)) | (!is.na(v) & !is.na(ref) & v == ref))
  }, logical(1))
  names(cells)[keep]
}
