## Designs and contrasts, checked and built in Python (degbridge.de.design, formula and
## contrasts: the code of the Python API) from the sample sheet, a formula, groups or a
## numeric design matrix; limma, edgeR and DESeq2 then receive numbers only.

## A formula (or a string holding one) as text for Python; NULL otherwise.
.degbridge_formula_text <- function(f, name) {
  if (inherits(f, "formula")) return(paste(deparse(f, width.cutoff = 500L), collapse = " "))
  if (is.character(f) && length(f) == 1L && !is.na(f)) return(f)
  NULL
}

## Sample-sheet rows are matched to colnames(x) in Python (degbridge.de.design.align_samples,
## the rule of the Python API and the CLI): by row names, or by a column holding exactly
## colnames(x). Automatic row names (1..n) are no IDs, so they are not sent.
## Returns the spec, the sheet in colnames(x) order, the design matrix D, the contrast
## matrix cm or the single coefficient cf, and (edgeR's exact test) pair or (DESeq2's LRT)
## the reduced model matrix.
.degbridge_build <- function(x, samples, design, groups, contrast, match, design_only = FALSE,
                             method = "limma", test = NULL, reduced = NULL) {
  rn <- NULL
  if (!is.null(samples)) {
    samples <- .degbridge_sheet(samples)
    if (.row_names_info(samples) > 0) rn <- as.list(as.character(rownames(samples)))
  }
  formula <- .degbridge_formula_text(design, "design")
  dm <- NULL
  dcols <- NULL
  if (is.null(formula) && !is.null(design)) {
    if (!is.matrix(design) || !is.numeric(design) || is.null(colnames(design)))
      stop("design must be a formula (such as ~ celltype + dex) or a numeric matrix with ",
           "column names", call. = FALSE)
    if (nrow(design) != ncol(x))
      stop("the design matrix has ", nrow(design), " rows for ", ncol(x), " samples",
           call. = FALSE)
    dm <- as.list(as.double(design))
    dcols <- as.list(colnames(design))
  }
  groups_column <- NULL
  glevels <- NULL
  if (.degbridge_groups_column(groups, samples)) {
    groups_column <- groups
    groups <- NULL
  } else if (!is.null(groups)) {
    if (length(groups) != ncol(x))
      stop("groups must name a column of the sample sheet or give one label per sample (",
           ncol(x), "), not ", length(groups), " value(s)", call. = FALSE)
    if (is.factor(groups)) glevels <- list(.groups = as.list(levels(droplevels(groups))))
    groups <- .degbridge_py_list(groups)
  }
  red <- list()
  if (!is.null(reduced)) {
    text <- .degbridge_formula_text(reduced, "reduced")
    if (!is.null(text)) red$reduced <- text
    else if (is.matrix(reduced) && is.numeric(reduced) && !is.null(colnames(reduced))) {
      red$reduced_matrix <- as.list(as.double(reduced))
      red$reduced_colnames <- as.list(colnames(reduced))
    } else {
      stop("reduced must be a formula (such as ~ celltype) or a numeric matrix with column ",
           "names", call. = FALSE)
    }
  }
  spec <- do.call(.degbridge_py, c(list(
    "design_inputs",
    sample_ids = as.list(colnames(x)),
    samples = if (is.null(samples)) NULL else .degbridge_columns(samples),
    levels = c(if (is.null(samples)) NULL else .degbridge_levels(samples), glevels),
    formula = formula,
    groups = groups,
    groups_column = groups_column,
    design_matrix = dm,
    design_colnames = dcols,
    contrast = if (is.null(contrast)) NULL else as.list(contrast),
    sample_rownames = rn,
    samples_nrow = if (is.null(samples)) NULL else nrow(samples),
    match = match,
    design_only = design_only,
    method = method,
    test = test
  ), red))
  if (!is.null(samples)) samples <- samples[as.integer(unlist(spec$order)) + 1L, , drop = FALSE]
  D <- matrix(as.double(unlist(spec$design)), nrow = spec$nrow,
              dimnames = list(NULL, unlist(spec$colnames)))
  R <- NULL
  if (!is.null(spec$reduced))
    R <- matrix(as.double(unlist(spec$reduced)), nrow = spec$nrow,
                dimnames = list(NULL, unlist(spec$reduced_colnames)))
  pair <- if (is.null(spec$pair)) NULL else as.integer(unlist(spec$pair))
  c(list(spec = spec, samples = samples, D = D, reduced = R, pair = pair),
    .degbridge_contrasts(spec))
}

## The contrast matrix (design columns x contrasts) or the single design column tested.
.degbridge_contrasts <- function(spec) {
  if (length(spec$contrast_names) == 0 || is.null(spec$contrasts) && is.null(spec$coef))
    return(list(cm = NULL, cf = NULL))
  if (!is.null(spec$coef)) return(list(cm = NULL, cf = spec$coef))
  list(cm = matrix(as.double(unlist(spec$contrasts)), nrow = spec$ncol,
                   dimnames = list(unlist(spec$colnames), unlist(spec$contrast_names))),
       cf = NULL)
}

## contrast and coef: one of them (coef is a design column, or several).
.degbridge_what <- function(contrast, coef) {
  if (!is.null(coef)) {
    if (!is.null(contrast)) stop("give contrast or coef, not both", call. = FALSE)
    return(coef)
  }
  contrast
}

## block: a sample-sheet column (taken in colnames(x) order) or one label per sample.
.degbridge_block <- function(block, samples, n) {
  if (is.null(block)) return(NULL)
  if (is.character(block) && length(block) == 1L && !is.null(samples)) {
    if (!block %in% names(samples))
      stop("block = ", deparse(block), " is not a column of the sample sheet; its columns ",
           "are ", paste(names(samples), collapse = ", "), call. = FALSE)
    block <- samples[[block]]
  }
  if (length(block) != n)
    stop("block must name a sample-sheet column or give one label per sample (", n, ")",
         call. = FALSE)
  as.character(block)
}

## TRUE/FALSE options.
.degbridge_flag <- function(value, name) {
  if (!(isTRUE(value) || isFALSE(value)))
    stop(name, " must be TRUE or FALSE, not ", deparse(value), call. = FALSE)
  value
}

## R warnings the R functions collected, raised once each ("R (limma): ...").
.degbridge_warn <- function(warnings, package) {
  for (w in unique(warnings)) warning("R (", package, "): ", w, call. = FALSE)
}
