## Results the Python package stored in an .h5ad file (adata.uns[key], degbridge.sc.storage),
## read with hdf5r alone: anndata's encodings of data frames (_index, column-order),
## categoricals, nullable arrays, string arrays and scalars.

.degbridge_h5ad_kinds <- c(de = "degbridge limma", celltype = "degbridge limma per cell type",
                           compare = "degbridge compare")

.degbridge_h5ad_open <- function(file) {
  if (!requireNamespace("hdf5r", quietly = TRUE))
    stop("reading .h5ad files needs the R package hdf5r (Debian: apt-get install ",
         "r-cran-hdf5r; else install.packages(\"hdf5r\"))", call. = FALSE)
  if (!is.character(file) || length(file) != 1L || !file.exists(file))
    stop("no such file: ", deparse(file), call. = FALSE)
  h <- tryCatch(hdf5r::H5File$new(file, mode = "r"), error = function(e)
    stop(file, " is not an HDF5 (.h5ad) file: ", conditionMessage(e), call. = FALSE))
  h
}

.degbridge_h5ad_attr <- function(obj, name, default = NULL) {
  if (!obj$attr_exists(name)) return(default)
  ## an empty attribute (the column-order of a frame without columns) makes hdf5r fail
  tryCatch(hdf5r::h5attr(obj, name), error = function(e) default)
}

## One anndata-encoded element: a data.frame (row names from its index), a factor, a vector
## (NA where a nullable array's mask says so), a scalar, or a named list (a dict).
.degbridge_h5ad_elem <- function(obj) {
  enc <- .degbridge_h5ad_attr(obj, "encoding-type", "")
  if (inherits(obj, "H5D")) {
    x <- obj$read()
    if (is.character(x)) Encoding(x) <- "UTF-8"
    if (length(dim(x)) == 1L) dim(x) <- NULL
    if (length(dim(x)) == 2L) x <- t(x)  # HDF5 is row-major: hdf5r gives the transpose
    return(x)
  }
  switch(enc,
    "dataframe" = .degbridge_h5ad_frame(obj),
    "categorical" = {
      codes <- .degbridge_h5ad_elem(obj[["codes"]])
      cats <- .degbridge_h5ad_elem(obj[["categories"]])
      codes[codes < 0] <- NA  # -1: missing
      factor(cats[codes + 1L], levels = cats,
             ordered = isTRUE(.degbridge_h5ad_attr(obj, "ordered")))
    },
    "nullable-integer" = , "nullable-boolean" = , "nullable-string-array" = {
      x <- .degbridge_h5ad_elem(obj[["values"]])
      x[as.logical(.degbridge_h5ad_elem(obj[["mask"]]))] <- NA  # mask TRUE: missing
      x
    },
    {
      keys <- names(obj)  # a dict (or a group without encoding)
      stats::setNames(lapply(keys, function(k) .degbridge_h5ad_elem(obj[[k]])), keys)
    })
}

.degbridge_h5ad_frame <- function(g) {
  index <- .degbridge_h5ad_attr(g, "_index")
  cols <- as.character(.degbridge_h5ad_attr(g, "column-order", character()))
  Encoding(cols) <- "UTF-8"
  out <- lapply(cols, function(k) .degbridge_h5ad_elem(g[[k]]))
  names(out) <- cols
  ids <- as.character(.degbridge_h5ad_elem(g[[index]]))
  df <- if (length(cols)) as.data.frame(out, stringsAsFactors = FALSE, optional = TRUE)
        else data.frame(row.names = seq_along(ids))
  names(df) <- cols
  rownames(df) <- ids
  df
}

## uns[key] of a file: checked to be of one of `kinds` (`label` says what they are); the
## errors list where such results are stored.
.degbridge_h5ad_entry <- function(h, file, key, kinds, label, hint) {
  if (!is.character(key) || length(key) != 1L || !nzchar(key) || grepl("/", key, fixed = TRUE))
    stop("key must be one name (no '/'), not ", deparse(key), call. = FALSE)
  stored <- .degbridge_h5ad_stored(h)
  if (!key %in% names(stored) || !stored[[key]] %in% kinds) {
    have <- stored[stored %in% kinds]
    where <- if (length(have)) paste0(label, " are stored under ",
                                      paste(shQuote(names(have)), collapse = ", "))
             else paste0("it holds no ", label, " (written by ", hint, ")")
    what <- if (!key %in% names(stored)) "is no degbridge entry"
            else paste0("holds ", shQuote(stored[[key]]), ", not ", label)
    stop(file, ": uns[", shQuote(key), "] ", what, "; ", where, call. = FALSE)
  }
  h[["uns"]][[key]]
}

## The degbridge entries of uns: their kind by key.
.degbridge_h5ad_stored <- function(h) {
  if (!h$exists("uns")) return(character())
  uns <- h[["uns"]]
  keys <- names(uns)
  kinds <- vapply(keys, function(k) {
    g <- uns[[k]]
    if (!inherits(g, "H5Group") || !g$exists("kind")) return(NA_character_)
    kind <- tryCatch(as.character(g[["kind"]]$read()), error = function(e) NA_character_)
    if (length(kind) == 1L) kind else NA_character_
  }, character(1))
  kinds[!is.na(kinds) & startsWith(kinds, "degbridge")]
}

.degbridge_strings <- function(x) {
  x <- as.character(x)
  Encoding(x) <- "UTF-8"
  x
}

#' Read differential-expression results from an .h5ad file
#'
#' What the Python package stored with `degbridge.tl.de` (or `tl.limma`) in
#' `adata.uns[key]` and wrote with `degbridge.write_h5ad` (or `adata.write_h5ad`), read with
#' the R package hdf5r (no zellkonverter, no Python): the tables of limma, edgeR or DESeq2
#' (their columns as stored: limma's names, `params$column_map` in the file holds the
#' native ones), for one fit or per cell type.
#'
#' @param file An `.h5ad` file.
#' @param key The `key_added` of `tl.de` (default `"degbridge"`).
#' @param contrast One contrast name (exactly as given in Python): its table, with gene IDs
#'   as row names. `NULL` (every contrast) or several names: the tables stacked, with the
#'   columns `gene` and `contrast` first (as `degbridge.get.limma_df`).
#' @param cell_type Results of `tl.de(celltype_key = )` only: one cell type's rows (`NULL`:
#'   every fitted cell type).
#' @return A data.frame (see `contrast`). Per-cell-type results: the long table
#'   `cell_type`, `contrast`, `gene`, then the method's columns.
#' @seealso [degbridge_read_h5ad_compare()] for comparisons.
#' @examplesIf degbridge_available() && requireNamespace("hdf5r", quietly = TRUE)
#' ## an .h5ad written by the Python package, in a Python process of its own
#' file <- tempfile(fileext = ".h5ad")
#' code <- paste(sep = "\n",
#'   "import sys, anndata as ad, degbridge as db",
#'   "from degbridge.datasets import airway",
#'   "counts, samples = airway()",
#'   "adata = ad.AnnData(counts.T.iloc[:, :2000], obs=samples)",
#'   "db.tl.de(adata, design='~ celltype + dex', contrast='dextreated', method='voom')",
#'   "db.write_h5ad(adata, sys.argv[1])")
#' system2(degbridge_python()$python, c("-c", shQuote(code), shQuote(file)))
#' head(degbridge_read_h5ad(file, contrast = "dextreated"))
#' @export
degbridge_read_h5ad <- function(file, key = "degbridge", contrast = NULL, cell_type = NULL) {
  h <- .degbridge_h5ad_open(file)
  on.exit(h$close_all(), add = TRUE)
  kinds <- .degbridge_h5ad_kinds[c("de", "celltype")]
  g <- .degbridge_h5ad_entry(h, file, key, kinds, "DE results",
                             "degbridge.tl.de(adata, key_added=...)")
  kind <- as.character(g[["kind"]]$read())
  stored <- .degbridge_strings(.degbridge_h5ad_elem(g[["contrasts"]]))
  if (!is.null(contrast)) {
    if (!is.character(contrast) || !length(contrast))
      stop("contrast must be a contrast name, several, or NULL", call. = FALSE)
    unknown <- setdiff(contrast, stored)
    if (length(unknown))
      stop("contrast ", paste(shQuote(unknown), collapse = ", "), " is not stored in uns[",
           shQuote(key), "]; stored contrasts are ", paste(shQuote(stored), collapse = ", "),
           call. = FALSE)
  }
  if (kind == .degbridge_h5ad_kinds[["celltype"]])
    return(.degbridge_h5ad_celltype(g, key, contrast, cell_type))
  if (!is.null(cell_type))
    stop("cell_type = ", deparse(cell_type), ": uns[", shQuote(key), "] holds one fit, not ",
         "per-cell-type results", call. = FALSE)
  keys <- .degbridge_strings(.degbridge_h5ad_elem(g[["contrast_keys"]]))
  one <- function(name) .degbridge_h5ad_elem(g[["results"]][[keys[match(name, stored)]]])
  if (length(contrast) == 1L) return(one(contrast))
  wanted <- if (is.null(contrast)) stored else contrast
  frames <- lapply(wanted, function(name) {
    tab <- one(name)
    data.frame(gene = rownames(tab), contrast = rep(name, nrow(tab)), tab,
               row.names = NULL, check.names = FALSE, stringsAsFactors = FALSE)
  })
  do.call(rbind, frames)
}

.degbridge_h5ad_celltype <- function(g, key, contrast, cell_type) {
  long <- .degbridge_h5ad_elem(g[["results"]])
  rownames(long) <- NULL
  for (col in c("cell_type", "contrast", "gene"))
    if (is.factor(long[[col]])) long[[col]] <- as.character(long[[col]])
  if (!is.null(cell_type)) {
    fitted <- .degbridge_strings(.degbridge_h5ad_elem(g[["cell_types"]]))
    if (!is.character(cell_type) || length(cell_type) != 1L || !cell_type %in% fitted) {
      skipped <- .degbridge_h5ad_elem(g[["skipped"]])
      why <- if (nrow(skipped)) paste0("; skipped: ", paste0("'", skipped$cell_type, "': ",
                                                          skipped$reason, collapse = "; "))
      stop("cell_type = ", deparse(cell_type), " has no results in uns[", shQuote(key),
           "]; fitted cell types are ", paste(shQuote(fitted), collapse = ", "), why,
           call. = FALSE)
    }
    long <- long[long$cell_type == cell_type, , drop = FALSE]
  }
  if (!is.null(contrast)) long <- long[long$contrast %in% contrast, , drop = FALSE]
  rownames(long) <- NULL
  long
}

#' Read a comparison from an .h5ad file
#'
#' A table of the comparison the Python package stored with `degbridge.tl.compare` in
#' `adata.uns[key]`, read with hdf5r: the tables [degbridge_compare()] returns, with the
#' same row names (genes for `predictions`, features for `leakage`, feature sets for
#' `leakage_scores`).
#'
#' @param file An `.h5ad` file.
#' @param key The `key_added` of `tl.compare` (default `"degbridge_compare"`).
#' @param table `"leaderboard"`, `"predictions"`, `"importances"`, `"leakage"`,
#'   `"leakage_scores"`, `"preprocessing"`, `"outliers"` or `"cv_scores"`.
#' @return A data.frame.
#' @seealso [degbridge_read_h5ad()]
#' @examplesIf degbridge_available() && requireNamespace("hdf5r", quietly = TRUE)
#' file <- tempfile(fileext = ".h5ad")
#' code <- paste(sep = "\n",
#'   "import sys, anndata as ad, degbridge as db",
#'   "from degbridge.datasets import airway",
#'   "counts, samples = airway()",
#'   "adata = ad.AnnData(counts.T.iloc[:, :2000], obs=samples)",
#'   "db.tl.de(adata, design='~ celltype + dex', contrast='dextreated', method='voom')",
#'   "db.tl.compare(adata, models=['linear', 'knn'], cv=3, progress=False)",
#'   "db.write_h5ad(adata, sys.argv[1])")
#' system2(degbridge_python()$python, c("-c", shQuote(code), shQuote(file)))
#' degbridge_read_h5ad_compare(file)
#' @export
degbridge_read_h5ad_compare <- function(file, key = "degbridge_compare",
                                        table = "leaderboard") {
  h <- .degbridge_h5ad_open(file)
  on.exit(h$close_all(), add = TRUE)
  g <- .degbridge_h5ad_entry(h, file, key, .degbridge_h5ad_kinds[["compare"]], "comparisons",
                             "degbridge.tl.compare(adata, key_added=...)")
  have <- intersect(.degbridge_compare_tables, names(g))
  if (!is.character(table) || length(table) != 1L || !table %in% have)
    stop("table = ", deparse(table), " is not stored in uns[", shQuote(key), "]; its tables ",
         "are ", paste(shQuote(have), collapse = ", "), call. = FALSE)
  out <- .degbridge_h5ad_elem(g[[table]])
  if (!table %in% c("predictions", "leakage", "leakage_scores")) rownames(out) <- NULL
  out
}
