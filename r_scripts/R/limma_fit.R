## degbridge: a limma fit kept as numbers (degbridge.fit_limma / LimmaFit), rebuilt as an
## MArrayLM to test new contrasts without refitting, decideTests on it, and the gene-set tests
## (camera, fry, roast, mroast) on the fit's log-expression and weights.
##
##   source("limma_de.R"); source("limma_fit.R")
##   f <- degbridge_limma_fit(counts, design, method = "voom")   # numbers only
##   fit <- degbridge_make_fit(f$parts, design)                   # a real MArrayLM again
##   degbridge_limma_de(fit, design, contrasts = cm)              # test stage only
##
## Every argument is data: numeric matrices and vectors, integer index vectors for gene sets
## (1-based rows of E), and flags. Nothing is parsed or evaluated.

## The MArrayLM components kept (all numbers): enough for contrasts.fit, eBayes, treat,
## topTable and decideTests to give the numbers they give on lmFit's own object.
.degbridge_fit_fields <- c("coefficients", "stdev.unscaled", "sigma", "df.residual",
                           "cov.coefficients", "pivot", "rank", "Amean", "correlation")

## The fit stage of degbridge_limma_de() (same code, .degbridge_fit), returned as numbers:
## parts (the MArrayLM components, unnamed), keep, info, trend, and the log-expression E and
## observation weights (genes x samples, or NULL) that the gene-set tests need. E is returned
## for the count methods only (for "ls" it is the input matrix, which the caller has).
degbridge_limma_fit <- function(x, design, method = "ls", normalize = "TMM", filter = TRUE,
                                trend = FALSE, block = NULL, weights = "none",
                                prior.count = 3) {
  .degbridge_capture({
    fitted <- .degbridge_fit(x, design, method, normalize, filter, trend, block, weights,
                             prior.count)
    fit <- fitted$fit
    parts <- lapply(stats::setNames(nm = .degbridge_fit_fields), function(k) {
      v <- fit[[k]]
      if (is.null(v)) NULL else unname(v)
    })
    parts <- parts[!vapply(parts, is.null, logical(1))]
    E <- if (method == "ls") NULL else unname(fitted$E)
    w <- fitted$weights
    if (!is.null(w)) w <- unname(limma::asMatrixWeights(w, dim(fitted$E)))
    list(parts = parts, keep = fitted$keep, info = fitted$info, trend = fitted$trend,
         E = E, weights = w)
  })
}

## An MArrayLM from the numbers degbridge_limma_fit() returned: the components, the design
## (with its column names) and, optionally, gene IDs as row names.
degbridge_make_fit <- function(parts, design, genes = NULL) {
  fit <- parts[!vapply(parts, is.null, logical(1))]
  cn <- colnames(design)
  rn <- if (is.null(genes)) NULL else as.character(genes)
  dimnames(fit$coefficients) <- list(rn, cn)
  dimnames(fit$stdev.unscaled) <- list(rn, cn)
  dimnames(fit$cov.coefficients) <- list(cn, cn)
  if (!is.null(fit$pivot)) fit$pivot <- as.integer(fit$pivot)
  if (!is.null(fit$rank)) fit$rank <- as.integer(fit$rank)
  if (!is.null(rn)) {
    names(fit$sigma) <- rn
    names(fit$Amean) <- rn
  }
  fit$design <- design
  fit$method <- "ls"
  methods::new("MArrayLM", fit)
}

## limma's topTable with its filtering and sorting options, on contrasts (or coefficients) of
## a rebuilt fit. Row names of the result are the 1-based rows of the fit, so the caller puts
## its gene IDs back by position. Several coefficients give the moderated F table.
degbridge_top_table <- function(fit, contrasts = NULL, coef = NULL, trend = FALSE,
                                robust = FALSE, number = Inf, sort.by = "B",
                                p.value = 1, lfc = 0, adjust.method = "BH",
                                confint = FALSE) {
  .degbridge_capture({
    rownames(fit$coefficients) <- as.character(seq_len(nrow(fit$coefficients)))
    if (!is.null(contrasts)) {
      fit <- limma::contrasts.fit(fit, contrasts)
      coef <- seq_len(ncol(contrasts))
    }
    fit <- limma::eBayes(fit, trend = trend, robust = robust)
    args <- list(fit, coef = coef, number = number, sort.by = sort.by, p.value = p.value,
                 lfc = lfc, adjust.method = adjust.method)
    if (length(coef) == 1) args$confint <- confint
    tab <- do.call(limma::topTable, args)
    list(table = tab, rows = as.integer(rownames(tab)))
  })
}

## decideTests on the eBayes'd contrasts of a fit: a genes x contrasts matrix of -1/0/1.
degbridge_decide_fit <- function(fit, contrasts, trend = FALSE, robust = FALSE,
                                 method = "separate", adjust.method = "BH", p.value = 0.05,
                                 lfc = 0) {
  .degbridge_capture({
    fit <- limma::eBayes(limma::contrasts.fit(fit, contrasts), trend = trend, robust = robust)
    res <- limma::decideTests(fit, method = method, adjust.method = adjust.method,
                              p.value = p.value, lfc = lfc)
    list(results = matrix(as.integer(res), nrow = nrow(res)))
  })
}

## decideTests on tables already computed ("separate", "global"): a genes x contrasts
## p-value matrix and the matching logFC matrix.
degbridge_decide_p <- function(p, coefficients, method = "separate", adjust.method = "BH",
                               p.value = 0.05, lfc = 0) {
  .degbridge_capture({
    res <- limma::decideTests(p, method = method, adjust.method = adjust.method,
                              p.value = p.value, lfc = lfc, coefficients = coefficients)
    list(results = matrix(as.integer(res), nrow = nrow(res)))
  })
}

## camera: E (genes x samples), weights (or NULL), design, contrast (a design column number
## or a numeric vector), index (a named list of integer row vectors).
degbridge_camera <- function(E, weights, design, contrast, index, inter.gene.cor = 0.01,
                             use.ranks = FALSE, allow.neg.cor = FALSE, trend.var = FALSE,
                             sort = TRUE) {
  if (is.null(inter.gene.cor)) inter.gene.cor <- NA
  .degbridge_capture(list(table = limma::camera(
    E, index, design, contrast, weights = weights, use.ranks = use.ranks,
    allow.neg.cor = allow.neg.cor, inter.gene.cor = inter.gene.cor, trend.var = trend.var,
    sort = sort
  )))
}

## cameraPR: camera on a ranked statistic (a DE table's t, or any genewise statistic), for
## tables without the expression matrix behind them.
degbridge_camera_pr <- function(statistic, index, inter.gene.cor = 0.01, use.ranks = FALSE,
                                sort = TRUE) {
  .degbridge_capture(list(table = limma::cameraPR(
    statistic, index, use.ranks = use.ranks, inter.gene.cor = inter.gene.cor, sort = sort
  )))
}

degbridge_fry <- function(E, weights, design, contrast, index, block = NULL,
                          correlation = NULL, standardize = "posterior.sd",
                          sort = "directional", trend.var = FALSE, robust = FALSE) {
  .degbridge_capture(list(table = limma::fry(
    E, index, design, contrast, weights = weights, block = block, correlation = correlation,
    standardize = standardize, sort = sort, trend.var = trend.var, robust = robust
  )))
}

## roast (one set) or mroast (several), after set.seed(seed) when a seed is given, so the
## rotations are those of a native session that calls set.seed(seed) just before.
degbridge_roast <- function(E, weights, design, contrast, index, multi = TRUE, seed = NULL,
                            block = NULL, correlation = NULL, set.statistic = "mean",
                            nrot = 1999, adjust.method = "BH", midp = TRUE,
                            sort = "directional", trend.var = FALSE) {
  .degbridge_capture({
    if (!is.null(seed)) set.seed(seed)
    if (multi) {
      tab <- limma::mroast(E, index, design, contrast, weights = weights, block = block,
                           correlation = correlation, set.statistic = set.statistic,
                           nrot = nrot, adjust.method = adjust.method, midp = midp,
                           sort = sort, trend.var = trend.var)
    } else {
      res <- limma::roast(E, index[[1]], design, contrast, weights = weights, block = block,
                          correlation = correlation, set.statistic = set.statistic,
                          nrot = nrot, trend.var = trend.var)
      tab <- res$p.value
    }
    list(table = tab)
  })
}
