## Data to and from Python as plain lists: reticulate 1.28 corrupts numpy 2 arrays and
## pandas 2 frames, and converts an R NA of a character, integer or logical vector into 'NA',
## -2147483648 or True. So vectors cross as lists with NA as NULL (Python's None), and
## data.frames come back as payloads (degbridge._reticulate.frame_payload).

## An atomic vector as a list, NA as NULL; factors as their labels, other classes (dates...)
## as text.
.degbridge_py_list <- function(x) {
  if (is.factor(x) || !(is.numeric(x) || is.logical(x) || is.character(x)))
    x <- as.character(x)
  x <- as.vector(x)
  out <- as.list(x)
  na <- is.na(x)
  if (any(na)) out[na] <- list(NULL)
  out
}

## The atomic columns of a sample sheet as lists (list columns are left out: no formula can
## use them), and the levels of its factors.
.degbridge_columns <- function(df) {
  keep <- vapply(df, is.atomic, logical(1))
  lapply(df[keep], .degbridge_py_list)
}

.degbridge_levels <- function(df) {
  lv <- lapply(df, function(x) if (is.factor(x)) as.list(levels(x)) else NULL)
  lv[!vapply(lv, is.null, logical(1))]
}

## A data.frame from frame_payload(): typed columns, NA, row names.
.degbridge_frame <- function(p) {
  n <- as.integer(p$nrow)
  cols <- vector("list", length(p$names))
  for (i in seq_along(p$names)) {
    type <- p$types[[i]]
    values <- p$columns[[i]]
    x <- if (length(values) == 0) vector(type, 0) else unlist(values, use.names = FALSE)
    x <- switch(type, double = as.double(x), logical = as.logical(x), character = as.character(x))
    if (type == "double") x[is.nan(x)] <- NA_real_
    na <- unlist(p$na[[i]])
    if (length(na)) x[as.integer(na) + 1L] <- NA
    cols[[i]] <- x
  }
  names(cols) <- unlist(p$names)
  rn <- if (is.null(p$rownames)) .set_row_names(n) else as.character(unlist(p$rownames))
  structure(cols, names = unlist(p$names), row.names = rn, class = "data.frame")
}

## A sample sheet as a data.frame (or NULL), its row names kept.
.degbridge_sheet <- function(samples) {
  if (is.null(samples)) return(NULL)
  if (methods::is(samples, "DataFrame")) samples <- as.data.frame(samples, optional = TRUE)
  if (!is.data.frame(samples))
    stop("samples must be a data.frame (one row per sample), not ", class(samples)[1],
         call. = FALSE)
  samples
}
