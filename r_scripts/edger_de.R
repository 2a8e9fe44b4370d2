## degbridge: the edgeR analyses behind degbridge.run_edger(), usable from plain R as well.
##
##   source("limma_de.R"); source("edger_de.R")   # limma_de.R defines .degbridge_capture
##   res <- degbridge_edger_de(counts, design, contrasts, test = "ql")
##   res$tables[[1]]       # topTags(..., n = Inf)$table for contrast 1 (row names: row numbers)
##
## Every argument is data: a numeric count matrix (genes x samples), a numeric design matrix, a
## numeric contrast matrix (design columns x contrasts) or a coefficient number. Nothing is
## parsed or evaluated; degbridge builds designs and contrasts in Python. No gene name crosses:
## the row names of each table are the row numbers of the input matrix.
##
## Steps (the edgeR User's Guide recipes):
##   "ql"    DGEList -> [filterByExpr(design)] -> calcNormFactors -> estimateDisp(design, robust)
##           -> glmQLFit(robust) -> glmQLFTest, or glmTreat(lfc) when lfc > 0
##   "lrt"   ... -> estimateDisp(design, robust) -> glmFit -> glmLRT, or glmTreat(lfc)
##   "exact" DGEList(group) -> [filterByExpr] -> calcNormFactors -> estimateDisp(robust)
##           -> exactTest(pair)   (group: one code per sample, pair: two of those codes)

degbridge_edger_de <- function(x, design = NULL, contrasts = NULL, coef = NULL, test = "ql",
                               normalize = "TMM", filter = TRUE, robust = TRUE, lfc = 0,
                               group = NULL, pair = NULL) {
  .degbridge_capture({
    test <- match.arg(test, c("ql", "lrt", "exact"))
    stopifnot(is.matrix(x), is.numeric(x))
    rownames(x) <- seq_len(nrow(x))  # row numbers, to re-attach gene IDs in the caller
    if (test == "exact") {
      y <- edgeR::DGEList(counts = x, group = factor(group))
      keep <- if (isTRUE(filter)) edgeR::filterByExpr(y) else rep(TRUE, nrow(x))
    } else {
      stopifnot(is.matrix(design), nrow(design) == ncol(x))
      y <- edgeR::DGEList(counts = x)
      keep <- if (isTRUE(filter)) edgeR::filterByExpr(y, design = design) else rep(TRUE, nrow(x))
    }
    y <- y[keep, , keep.lib.sizes = FALSE]
    y <- edgeR::calcNormFactors(y, method = normalize)
    info <- list(lib_size = as.numeric(y$samples$lib.size),
                 norm_factors = as.numeric(y$samples$norm.factors))
    if (test == "exact") {
      y <- edgeR::estimateDisp(y, robust = robust)
      tested <- list(edgeR::exactTest(y, pair = pair))
    } else {
      y <- edgeR::estimateDisp(y, design, robust = robust)
      fit <- if (test == "ql") edgeR::glmQLFit(y, design, robust = robust) else edgeR::glmFit(y, design)
      if (test == "ql") {
        info$df_prior <- as.numeric(fit$df.prior)
        info$var_prior <- as.numeric(fit$var.prior)
      }
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
    info$common_dispersion <- as.numeric(y$common.dispersion)
    info$trended_dispersion <- as.numeric(y$trended.dispersion)
    info$tagwise_dispersion <- as.numeric(y$tagwise.dispersion)
    tables <- lapply(tested, function(tt) {
      tab <- edgeR::topTags(tt, n = Inf)$table
      list(table = tab, rows = as.integer(rownames(tab)))
    })
    list(tables = tables, keep = keep, info = info)
  })
}
