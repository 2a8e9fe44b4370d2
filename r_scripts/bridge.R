## degbridge: small R helpers used by the Python bridge (degbridge.r) and by degbridge.R.
## Nothing here evaluates a string: every argument is data (vectors, lists, matrices).

degbridge_load_packages <- function() {
  suppressPackageStartupMessages({
    requireNamespace("limma", quietly = TRUE)
    requireNamespace("edgeR", quietly = TRUE)
    requireNamespace("statmod", quietly = TRUE)
  })
  invisible(TRUE)
}

degbridge_versions <- function() {
  list(
    R = R.version.string,
    limma = as.character(utils::packageVersion("limma")),
    edgeR = as.character(utils::packageVersion("edgeR"))
  )
}

## A data.frame from a list of equal-length column vectors, exact column names (no
## check.names mangling) and optional row names.
degbridge_make_df <- function(columns, names, rownames = NULL, nrow = NULL) {
  columns <- as.list(columns)
  names(columns) <- names
  n <- if (length(columns)) length(columns[[1]]) else as.integer(nrow)
  rn <- if (is.null(rownames)) .set_row_names(n) else as.character(rownames)
  structure(columns, names = names, row.names = rn, class = "data.frame")
}

## The parts of a data.frame: column names, columns (factors as character) and row names
## (NULL when they are R's automatic 1..n).
degbridge_df_parts <- function(df) {
  if (!is.data.frame(df)) stop("expected a data.frame, got an object of class ", class(df)[1])
  cols <- lapply(df, function(x) if (is.factor(x)) as.character(x) else x)
  rn <- if (.row_names_info(df) > 0L) rownames(df) else NULL
  list(names = names(df), columns = unname(cols), rownames = rn)
}

## The ALL leukemia microarrays (Debian package r-bioc-all), for degbridge's demo:
## log2 RMA expression (probes x samples) and the cell type (B or T) of each sample.
degbridge_dataset_all <- function() {
  if (!requireNamespace("ALL", quietly = TRUE))
    stop("the ALL data set is not installed (Debian: apt-get install r-bioc-all)")
  env <- new.env()
  utils::data("ALL", package = "ALL", envir = env)
  E <- Biobase::exprs(env$ALL)
  list(exprs = unname(E), genes = rownames(E), samples = colnames(E),
       cell = substr(as.character(env$ALL$BT), 1, 1))
}
