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

## A fit kept by Python as bytes (degbridge.de.backend.SerializedFit): R's own serialisation,
## in the native byte order (the bytes never leave this machine's R), and back.
degbridge_serialize <- function(x) serialize(x, NULL, xdr = FALSE)
degbridge_unserialize <- function(bytes) unserialize(bytes)

## An object (DGEGLM, DGEList, DESeqDataSet...) with gene IDs as row names, for R users.
degbridge_with_rownames <- function(x, genes) {
  rownames(x) <- as.character(genes)
  x
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

## The HSMM single-cell time course (Trapnell et al. 2014; Debian package
## r-bioc-hsmmsinglecell): human skeletal myoblasts at 0, 24, 48 and 72 h of differentiation,
## 271 cells, FPKM. Returned as log2(FPKM + 1) for genes detected (FPKM >= 1) in at least
## min_cells cells, with each cell's time point and each gene's symbol and biotype.
degbridge_dataset_hsmm <- function(min_cells = 10) {
  if (!requireNamespace("HSMMSingleCell", quietly = TRUE))
    stop("the HSMM data set is not installed (Debian: apt-get install r-bioc-hsmmsinglecell)")
  env <- new.env()
  utils::data("HSMM_expr_matrix", "HSMM_sample_sheet", "HSMM_gene_annotation",
              package = "HSMMSingleCell", envir = env)
  E <- as.matrix(env$HSMM_expr_matrix)
  keep <- rowSums(E >= 1) >= min_cells
  E <- log2(E[keep, , drop = FALSE] + 1)
  ann <- env$HSMM_gene_annotation[rownames(E), , drop = FALSE]
  list(exprs = unname(E), genes = rownames(E), samples = colnames(E),
       hours = as.numeric(as.character(env$HSMM_sample_sheet[colnames(E), "Hours"])),
       symbol = as.character(ann$gene_short_name), biotype = as.character(ann$biotype))
}
