## degbridge: the edgeR analyses behind degbridge.run_edger() and fit_edger(), usable from
## plain R as well.
##
##   source("limma_de.R"); source("edger_de.R")   # limma_de.R defines .degbridge_capture
##   res <- degbridge_edger_de(counts, design, contrasts, test = "ql")
##   res$tables[[1]]$table  # topTags(..., n = Inf)$table for contrast 1 (row names: row numbers)
##
##   f <- degbridge_edger_fit(counts, design, test = "ql")   # fit once ...
##   degbridge_edger_test(f$fit, contrasts = cm)              # ... test any contrast later
##
## Every argument is data: a numeric count matrix (genes x samples), a numeric design matrix, a
## numeric contrast matrix (design columns x contrasts) or a coefficient number. Nothing is
## parsed or evaluated; degbridge builds designs and contrasts in Python. No gene name crosses:
## the row names of each table are row numbers among the genes kept by filterByExpr.
##
## Fit stage (degbridge_edger_fit, the edgeR User's Guide recipes):
##   "ql"    DGEList -> [filterByExpr(design)] -> calcNormFactors -> estimateDisp(design, robust)
##           -> glmQLFit(robust)
##   "lrt"   ... -> estimateDisp(design, robust) -> glmFit
##   "exact" DGEList(group) -> [filterByExpr] -> calcNormFactors -> estimateDisp(robust)
## Test stage (degbridge_edger_test), on the fit: glmQLFTest ("ql"), glmLRT ("lrt") or
## glmTreat(lfc) when lfc > 0; exactTest(pair) for "exact" (group: one code per sample, pair:
## two of those codes). Each tested contrast gives topTags(n = Inf) and the tested rows.

degbridge_edger_fit <- function(x, design = NULL, test = "ql", normalize = "TMM", filter = TRUE,
                                robust = TRUE, group = NULL) {
  .degbridge_capture(.degbridge_edger_fit(x, design, test, normalize, filter, robust, group))
}

degbridge_edger_test <- function(fit, contrasts = NULL, coef = NULL, lfc = 0, pair = NULL) {
  .degbridge_capture(list(tables = .degbridge_edger_test(fit, contrasts, coef, lfc, pair)))
}

## fit and test in one call (degbridge.run_edger)
degbridge_edger_de <- function(x, design = NULL, contrasts = NULL, coef = NULL, test = "ql",
                               normalize = "TMM", filter = TRUE, robust = TRUE, lfc = 0,
                               group = NULL, pair = NULL) {
  .degbridge_capture({
    fitted <- .degbridge_edger_fit(x, design, test, normalize, filter, robust, group)
    fitted$tables <- .degbridge_edger_test(fitted$fit, contrasts, coef, lfc, pair)
    fitted$fit <- NULL
    fitted
  })
}

## The fit (a DGEGLM, or for "exact" the DGEList with its dispersions), the rows kept by
## filterByExpr, and what meta records: library sizes, normalisation factors, dispersions.
.degbridge_edger_fit <- function(x, design, test, normalize, filter, robust, group) {
  test <- match.arg(test, c("ql", "lrt", "exact"))
  stopifnot(is.matrix(x), is.numeric(x))
  if (test == "exact") {
    y <- edgeR::DGEList(counts = x, group = factor(group))
    keep <- if (isTRUE(filter)) edgeR::filterByExpr(y) else rep(TRUE, nrow(x))
  } else {
    stopifnot(is.matrix(design), nrow(design) == ncol(x))
    y <- edgeR::DGEList(counts = x)
    keep <- if (isTRUE(filter)) edgeR::filterByExpr(y, design = design) else rep(TRUE, nrow(x))
  }
  y <- y[keep, , keep.lib.sizes = FALSE]
  rownames(y) <- seq_len(nrow(y))  # from here on, row numbers among the kept genes
  y <- edgeR::calcNormFactors(y, method = normalize)
  info <- list(lib_size = as.numeric(y$samples$lib.size),
               norm_factors = as.numeric(y$samples$norm.factors))
  if (test == "exact") {
    fit <- y <- edgeR::estimateDisp(y, robust = robust)
  } else {
    y <- edgeR::estimateDisp(y, design, robust = robust)
    fit <- if (test == "ql") edgeR::glmQLFit(y, design, robust = robust) else edgeR::glmFit(y, design)
    if (test == "ql") {
      info$df_prior <- as.numeric(fit$df.prior)
      info$var_prior <- as.numeric(fit$var.prior)
    }
  }
  info$common_dispersion <- as.numeric(y$common.dispersion)
  info$trended_dispersion <- as.numeric(y$trended.dispersion)
  info$tagwise_dispersion <- as.numeric(y$tagwise.dispersion)
  fit$degbridge_test <- test  # which test the fit is for (read by .degbridge_edger_test)
  list(fit = fit, keep = keep, info = info)
}

.degbridge_edger_test <- function(fit, contrasts, coef, lfc, pair) {
  test <- fit$degbridge_test
  if (test == "exact") {
    tested <- list(edgeR::exactTest(fit, pair = pair))
  } else {
    one <- function(j, vec) {
      if (lfc > 0) {
        if (is.null(vec)) edgeR::glmTreat(fit, coef = j, lfc = lfc)
        else edgeR::glmTreat(fit, contrast = vec, lfc = lfc)
      } else if (test == "ql") {
        if (is.null(vec)) edgeR::glmQLFTest(fit, coef = j) else edgeR::glmQLFTest(fit, contrast = vec)
      } else {
        if (is.null(vec)) edgeR::glmLRT(fit, coef = j) else edgeR::glmLRT(fit, contrast = vec)
      }
    }
    tested <- if (is.null(contrasts)) list(one(coef, NULL))
              else lapply(seq_len(ncol(contrasts)), function(k) one(NULL, contrasts[, k]))
  }
  lapply(tested, function(tt) {
    tab <- edgeR::topTags(tt, n = Inf)$table
    list(table = tab, rows = as.integer(rownames(tab)))
  })
}

## edgeR's topTags with its options on one tested contrast of a kept fit: n, adjust.method,
## sort.by, p.value. Row names of the table are the fit's row numbers.
degbridge_edger_top_tags <- function(fit, contrasts = NULL, coef = NULL, lfc = 0, pair = NULL,
                                     n = Inf, adjust.method = "BH", sort.by = "PValue",
                                     p.value = 1) {
  .degbridge_capture({
    test <- fit$degbridge_test
    tt <- if (test == "exact") edgeR::exactTest(fit, pair = pair)
          else if (lfc > 0) edgeR::glmTreat(fit, coef = coef, contrast = contrasts, lfc = lfc)
          else if (test == "ql") edgeR::glmQLFTest(fit, coef = coef, contrast = contrasts)
          else edgeR::glmLRT(fit, coef = coef, contrast = contrasts)
    tab <- edgeR::topTags(tt, n = n, adjust.method = adjust.method, sort.by = sort.by,
                          p.value = p.value)$table
    list(table = tab, rows = as.integer(rownames(tab)))
  })
}
