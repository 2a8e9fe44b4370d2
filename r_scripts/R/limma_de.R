## degbridge: the limma analyses behind degbridge.run_limma(), usable from plain R as well.
##
##   source("limma_de.R")
##   res <- degbridge_limma_de(counts, design, contrasts, method = "voom")
##   res$tables[[1]]          # topTable(..., number = Inf, sort.by = "none") for contrast 1
##
## Every argument is data: a numeric matrix (genes x samples), a numeric design matrix and a
## numeric contrast matrix (design columns x contrasts). Nothing is parsed or evaluated, so
## callers build designs and contrasts themselves (degbridge does that in Python).
##
## Steps, by method (these are the limma User's Guide recipes):
##   "ls"    log-expression:  [arrayWeights] -> [duplicateCorrelation] -> lmFit
##   "voom"  counts:  DGEList -> [filterByExpr] -> calcNormFactors -> voom (or
##                    voomWithQualityWeights) [-> duplicateCorrelation -> voom again ->
##                    duplicateCorrelation] -> lmFit
##   "trend" counts:  DGEList -> [filterByExpr] -> calcNormFactors -> cpm(log = TRUE,
##                    prior.count) [-> duplicateCorrelation] -> lmFit, eBayes(trend = TRUE)
## then contrasts.fit (unless a single design coefficient is tested) -> eBayes(trend, robust)
## -> topTable, or treat(lfc) -> topTreat when lfc > 0; with several contrasts also the
## moderated F-test table. The fit stage (.degbridge_fit) and the test stage (.degbridge_test)
## are separate: degbridge_limma_de() also takes an existing fit as x and only tests it, and
## degbridge_lmfit_chunk() + degbridge_rbind_fits() build one for the "ls" case in gene chunks,
## for matrices too large to copy whole. Counts are checked by the caller (degbridge checks
## them in Python before R is involved), not here.

## x: a numeric matrix (genes x samples), or an lmFit result (MArrayLM) to test only (then the
## fit arguments method ... prior.count are not used, and every row is kept).
degbridge_limma_de <- function(x, design, contrasts = NULL, coef = NULL,
                               method = "ls", normalize = "TMM", filter = TRUE,
                               robust = FALSE, trend = FALSE, lfc = 0, block = NULL,
                               weights = "none", confint = FALSE, prior.count = 3) {
  .degbridge_capture({
    fitted <- if (inherits(x, "MArrayLM"))
      list(fit = x, keep = rep(TRUE, nrow(x$coefficients)), info = list(), trend = trend)
    else
      .degbridge_fit(x, design, method, normalize, filter, trend, block, weights, prior.count)
    res <- .degbridge_test(fitted$fit, contrasts, coef, fitted$trend, robust, lfc, confint)
    res$keep <- fitted$keep
    res$info <- c(fitted$info, res$info)
    res
  })
}

## Large log-expression matrices, in gene chunks: limma fits every gene on its own, so
## lmFit on chunks of genes, joined with degbridge_rbind_fits(), gives the very same fit as
## lmFit on the whole matrix, with a fraction of the memory. (Not with array weights or
## duplicateCorrelation, which pool all genes.)
degbridge_lmfit_chunk <- function(x, design) {
  res <- .degbridge_capture(list(fit = limma::lmFit(x, design)))
  # collect lmFit's temporaries and the previous chunk now: left to R's adaptive trigger,
  # garbage from successive chunks piles up to a few hundred MB before it is freed. Only the
  # young generation (full = FALSE): a full collection costs ~0.1 s in a session with limma
  # loaded, and was most of the chunked path's time (30 chunks at 60,000 x 500: 2.8 s)
  invisible(gc(verbose = FALSE, full = FALSE))
  res
}

degbridge_rbind_fits <- function(fits) {
  out <- fits[[1]]
  for (key in c("coefficients", "stdev.unscaled"))
    out[[key]] <- do.call(rbind, lapply(fits, function(f) f[[key]]))
  for (key in c("sigma", "df.residual", "Amean"))
    out[[key]] <- unlist(lapply(fits, function(f) f[[key]]), use.names = FALSE)
  out
}

## The testing half on an existing fit (e.g. the joined chunks): contrasts, eBayes, tables.
degbridge_limma_test <- function(fit, contrasts = NULL, coef = NULL, robust = FALSE,
                                 trend = FALSE, lfc = 0, confint = FALSE) {
  .degbridge_capture(.degbridge_test(fit, contrasts, coef, trend, robust, lfc, confint))
}

## Evaluate expr collecting R warnings (returned, not printed); messages are silenced.
.degbridge_capture <- function(expr) {
  warns <- character()
  res <- withCallingHandlers(
    expr,
    warning = function(w) {
      warns <<- c(warns, conditionMessage(w))
      invokeRestart("muffleWarning")
    },
    message = function(m) invokeRestart("muffleMessage")
  )
  res$warnings <- warns
  res
}

.degbridge_fit <- function(x, design, method, normalize, filter, trend, block, weights,
                           prior.count) {
  stopifnot(is.matrix(x), is.numeric(x), is.matrix(design), nrow(design) == ncol(x))
  method <- match.arg(method, c("ls", "voom", "trend"))
  weights <- match.arg(weights, c("none", "arrayWeights", "quality"))
  keep <- rep(TRUE, nrow(x))
  info <- list()
  correlation <- NULL
  w <- NULL  # the observation weights lmFit used (array weights, voom weights), for gene sets
  if (method == "ls") {
    E <- x
    if (weights == "arrayWeights") {
      w <- limma::arrayWeights(E, design)
      info$sample_weights <- as.numeric(w)
    }
    if (!is.null(block)) {
      corfit <- limma::duplicateCorrelation(E, design, block = block, weights = w)
      correlation <- corfit$consensus.correlation
    }
    fit <- limma::lmFit(E, design, weights = w, block = block, correlation = correlation)
  } else {
    dge <- edgeR::DGEList(counts = x)
    if (isTRUE(filter)) {
      keep <- edgeR::filterByExpr(dge, design = design)
      dge <- dge[keep, , keep.lib.sizes = FALSE]
    }
    dge <- edgeR::calcNormFactors(dge, method = normalize)
    info$lib_size <- as.numeric(dge$samples$lib.size)
    info$norm_factors <- as.numeric(dge$samples$norm.factors)
    if (method == "voom") {
      vfun <- if (weights == "quality") limma::voomWithQualityWeights else limma::voom
      v <- vfun(dge, design)
      if (!is.null(block)) {
        corfit <- limma::duplicateCorrelation(v, design, block = block)
        v <- vfun(dge, design, block = block, correlation = corfit$consensus.correlation)
        corfit <- limma::duplicateCorrelation(v, design, block = block)
        correlation <- corfit$consensus.correlation
      }
      if (weights == "quality") info$sample_weights <- as.numeric(v$targets$sample.weights)
      fit <- limma::lmFit(v, design, block = block, correlation = correlation)
      E <- v$E
      w <- v$weights
    } else {
      E <- edgeR::cpm(dge, log = TRUE, prior.count = prior.count)
      if (!is.null(block)) {
        corfit <- limma::duplicateCorrelation(E, design, block = block)
        correlation <- corfit$consensus.correlation
      }
      fit <- limma::lmFit(E, design, block = block, correlation = correlation)
      trend <- TRUE
    }
  }
  if (!is.null(correlation)) info$consensus_correlation <- correlation
  list(fit = fit, keep = keep, info = info, trend = trend, E = E, weights = w)
}

.degbridge_test <- function(fit, contrasts, coef, trend, robust, lfc, confint) {
  if (!is.null(contrasts)) {
    fit <- limma::contrasts.fit(fit, contrasts)
    coefs <- seq_len(ncol(contrasts))
  } else {
    coefs <- coef
  }
  ftable <- NULL
  if (lfc > 0) {
    fit2 <- limma::treat(fit, lfc = lfc, trend = trend, robust = robust)
    tables <- lapply(coefs, function(j)
      limma::topTreat(fit2, coef = j, number = Inf, sort.by = "none", confint = confint))
  } else {
    fit2 <- limma::eBayes(fit, trend = trend, robust = robust)
    tables <- lapply(coefs, function(j)
      limma::topTable(fit2, coef = j, number = Inf, sort.by = "none", confint = confint))
    if (length(coefs) > 1)
      ftable <- limma::topTable(fit2, coef = coefs, number = Inf, sort.by = "none")
  }
  info <- list(df_prior = as.numeric(fit2$df.prior))
  list(tables = unname(tables), ftable = ftable, info = info)
}
