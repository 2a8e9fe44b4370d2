## A limma fit kept, tested again for new contrasts (degbridge.fit_limma / LimmaFit in
## Python): the fit stage of limma_de.R once, then contrasts.fit -> eBayes/treat -> topTable,
## decideTests and the gene-set tests (camera, fry) on it, with the R functions of
## limma_fit.R.

#' Fit limma once, test any contrast later
#'
#' The fit stage of [degbridge_limma()] (voom or limma-trend on counts with edgeR
#' normalisation, or `lmFit` on log-expression), kept: [degbridge_test()] tests new
#' contrasts without refitting, [degbridge_decide_tests()] runs `decideTests`, and limma's
#' `camera()` and `fry()` run gene-set tests on it (GO sets from org.Hs.eg.db by name). The
#' numbers are those of `degbridge.fit_limma` and its `LimmaFit` in Python.
#'
#' @inheritParams degbridge_limma
#' @return A `degbridge_fit`: a list with `fit` (limma's `MArrayLM`, gene IDs as row names),
#'   `design`, `E` and `weights` (the log-expression and observation weights lmFit used, which
#'   the gene-set tests use), `genes`, `samples`, `trend`, `block` and `method_choice`.
#' @seealso [degbridge_test()], [degbridge_decide_tests()], [camera.degbridge_fit()],
#'   [fry.degbridge_fit()].
#' @examplesIf degbridge_available()
#' se <- degbridge_airway()
#' f <- degbridge_fit(se, design = ~ celltype + dex)
#' f
#' head(degbridge_test(f, coef = "dextreated"))
#' head(degbridge_test(f, contrast = "celltypeN080611 - celltypeN061011"))
#' summary(degbridge_decide_tests(f, contrast = c("dextreated", "celltypeN080611")))
#' @export
degbridge_fit <- function(x, samples = NULL, design = NULL, groups = NULL, method = NULL,
                          normalize = "TMM", filter = TRUE, block = NULL,
                          weights = c("none", "arrayWeights", "quality"), prior.count = 3,
                          assay = NULL, sample_key = NULL, min_cells = 10,
                          match = c("ids", "position")) {
  who <- "degbridge_fit"
  match <- match.arg(match)
  weights <- match.arg(weights)
  .degbridge_limma_options(method, normalize, filter, FALSE, FALSE, 0,
                           if (weights == "none") NULL else weights, FALSE, prior.count)
  input <- .degbridge_prepare(x, samples, assay, sample_key, groups, min_cells, FALSE, who)
  x <- input$x
  resolved <- .degbridge_resolve_method(x, method, who)
  if (resolved$method != "ls") .degbridge_check_counts(x, resolved$method, who)
  built <- .degbridge_build(x, input$samples, design, groups, NULL, match, design_only = TRUE)
  D <- built$D
  block <- .degbridge_block(block, built$samples, ncol(x))
  res <- degbridge_limma_fit(unname(x), D, method = resolved$method,
                             normalize = if (is.null(normalize)) "none" else normalize,
                             filter = isTRUE(filter), block = block, weights = weights,
                             prior.count = prior.count)
  .degbridge_warn(res$warnings, "limma/edgeR")
  genes <- rownames(x)[res$keep]
  E <- if (is.null(res$E)) unname(x) else res$E
  dimnames(E) <- list(genes, colnames(x))
  w <- res$weights
  if (!is.null(w)) dimnames(w) <- dimnames(E)
  structure(list(fit = degbridge_make_fit(res$parts, D, genes), design = D, E = E,
                 weights = w, genes = genes, samples = colnames(x), trend = isTRUE(res$trend),
                 block = block, method_choice = resolved$choice),
            class = "degbridge_fit")
}

#' @export
print.degbridge_fit <- function(x, ...) {
  cat("degbridge_fit: ", length(x$genes), " genes x ", length(x$samples), " samples (",
      x$method_choice, "); coefficients: ", paste(colnames(x$design), collapse = ", "), "\n",
      sep = "")
  invisible(x)
}

## Contrasts of a fit, parsed and checked in Python against the design's columns.
.degbridge_fit_contrasts <- function(f, contrast, coef) {
  if (!inherits(f, "degbridge_fit")) stop("expected the result of degbridge_fit()", call. = FALSE)
  contrast <- .degbridge_what(contrast, coef)
  if (is.null(contrast))
    stop("say what to test: contrast = or coef = (design columns: ",
         paste(colnames(f$design), collapse = ", "), ")", call. = FALSE)
  spec <- .degbridge_py("design_inputs", sample_ids = as.list(f$samples),
                        design_matrix = as.list(as.double(f$design)),
                        design_colnames = as.list(colnames(f$design)),
                        contrast = as.list(contrast))
  c(list(spec = spec), .degbridge_contrasts(spec))
}

#' Test contrasts on a kept limma fit
#'
#' `contrasts.fit` (unless one design column is tested), `eBayes` (or `treat` with
#' `lfc > 0`) and `topTable` on the fit of [degbridge_fit()], without refitting: the tables
#' [degbridge_limma()] gives for the same contrasts.
#'
#' @param f A `degbridge_fit` from [degbridge_fit()].
#' @inheritParams degbridge_limma
#' @return What [degbridge_limma()] returns for these contrasts.
#' @examplesIf degbridge_available()
#' f <- degbridge_fit(degbridge_airway(), design = ~ celltype + dex)
#' head(degbridge_test(f, coef = "dextreated", lfc = 1))
#' @export
degbridge_test <- function(f, contrast = NULL, coef = NULL, robust = FALSE, trend = FALSE,
                           lfc = 0, confint = FALSE) {
  cs <- .degbridge_fit_contrasts(f, contrast, coef)
  .degbridge_limma_options(NULL, NULL, NULL, robust, trend, lfc, NULL, confint, 3)
  res <- degbridge_limma_de(f$fit, f$design, contrasts = cs$cm, coef = cs$cf,
                            robust = robust, trend = trend || f$trend, lfc = lfc,
                            confint = confint)
  .degbridge_warn(res$warnings, "limma")
  .degbridge_result(.degbridge_limma_tables(res, f$genes, cs$spec, f$method_choice))
}

#' decideTests on a kept limma fit
#'
#' limma's `decideTests` on contrasts of the fit of [degbridge_fit()] (every design column
#' by default), after `contrasts.fit` and `eBayes`.
#'
#' @param f A `degbridge_fit` from [degbridge_fit()].
#' @param contrast Contrasts or design columns, as for [degbridge_limma()]; `NULL`: every
#'   design column.
#' @param method,adjust.method,p.value,lfc As for [limma::decideTests()].
#' @inheritParams degbridge_limma
#' @return limma's `TestResults` (genes x contrasts of -1, 0, 1), for `summary()`.
#' @examplesIf degbridge_available()
#' f <- degbridge_fit(degbridge_airway(), design = ~ celltype + dex)
#' summary(degbridge_decide_tests(f, contrast = "dextreated"))
#' @export
degbridge_decide_tests <- function(f, contrast = NULL, method = "separate",
                                   adjust.method = "BH", p.value = 0.05, lfc = 0,
                                   robust = FALSE, trend = FALSE) {
  if (!inherits(f, "degbridge_fit")) stop("expected the result of degbridge_fit()", call. = FALSE)
  if (is.null(contrast)) contrast <- colnames(f$design)
  cs <- .degbridge_fit_contrasts(f, contrast, NULL)
  cm <- cs$cm
  if (is.null(cm)) {  # one design column
    cm <- matrix(0, nrow = ncol(f$design), ncol = 1,
                 dimnames = list(colnames(f$design), unlist(cs$spec$contrast_names)))
    cm[cs$cf, 1] <- 1
  }
  res <- degbridge_decide_fit(f$fit, cm, trend = trend || f$trend, robust = robust,
                              method = method, adjust.method = adjust.method,
                              p.value = p.value, lfc = lfc)
  .degbridge_warn(res$warnings, "limma")
  out <- res$results
  dimnames(out) <- list(f$genes, colnames(cm))
  methods::new("TestResults", out)
}

## Gene sets for a fit: a named list of gene IDs (matched to the fit's IDs), or "GO:BP",
## "GO:MF", "GO:CC" (org.Hs.eg.db's GO2ALLEGS: genes annotated to the term or a descendant,
## kept with min.size to max.size Entrez genes; the fit's IDs mapped to Entrez IDs with the
## ID type detected by degbridge in Python), as limma's ids2indices index.
.degbridge_index <- function(f, sets, min.size, max.size, species) {
  if (is.character(sets) && length(sets) == 1L) {
    ontology <- toupper(sets)
    if (!ontology %in% c("GO:BP", "GO:MF", "GO:CC"))
      stop("unknown gene sets '", sets, "': a named list of gene IDs, or one of GO:BP, ",
           "GO:MF, GO:CC", call. = FALSE)
    go <- degbridge_go_sets(substring(ontology, 4), species)
    keep <- go$sizes >= min.size & go$sizes <= max.size
    members <- split(go$universe[go$codes], factor(rep.int(go$ids, go$sizes), levels = go$ids))
    sets <- members[keep]
    keytype <- .degbridge_py("detect_keytype", as.list(f$genes))
    ids <- if (keytype == "ENSEMBL") sub("\\..*$", "", f$genes) else f$genes
    ids <- degbridge_entrez_of(ids, keytype, species)
    attr(sets, "mapping") <- c(keytype = keytype, genes = length(ids),
                               mapped = sum(!is.na(ids)))
  } else {
    if (!is.list(sets) || is.null(names(sets)))
      stop("gene sets are a named list of gene ID vectors, or \"GO:BP\", \"GO:MF\", \"GO:CC\"",
           call. = FALSE)
    ids <- f$genes
  }
  index <- limma::ids2indices(sets, ids)
  if (!length(index))
    stop("no gene of the ", length(sets), " gene sets is among the fit's ", length(f$genes),
         " genes (e.g. ", paste(utils::head(f$genes, 3), collapse = ", "), ")", call. = FALSE)
  if (!is.null(attr(sets, "mapping"))) {
    mp <- attr(sets, "mapping")
    message("gene sets: ", mp[["mapped"]], " of ", mp[["genes"]], " genes mapped (",
            mp[["keytype"]], " IDs to Entrez); ", length(index), " of ", length(sets),
            " sets tested")
  }
  index
}

.degbridge_one_contrast <- function(f, contrast, coef) {
  cs <- .degbridge_fit_contrasts(f, contrast, coef)
  if (length(cs$spec$contrast_names) != 1) stop("gene-set tests take one contrast", call. = FALSE)
  if (is.null(cs$cm)) cs$cf else cs$cm[, 1]
}

#' Gene-set tests on a kept limma fit: camera and fry
#'
#' limma's `camera()` and `fry()` on the log-expression and weights of the fit of
#' [degbridge_fit()] (voom's, for counts) and its design, for one contrast, as
#' `camera(v, index, design, contrast)` after `voom`. Gene sets are a named list of gene IDs
#' (matched to the fit's genes) or `"GO:BP"`, `"GO:MF"`, `"GO:CC"`: org.Hs.eg.db's GO sets
#' (each term with the genes of its descendants), the fit's Ensembl, symbol or Entrez IDs
#' mapped to Entrez IDs (needs the Bioconductor packages org.Hs.eg.db, GO.db, AnnotationDbi
#' and DBI).
#'
#' @param y A `degbridge_fit` from [degbridge_fit()].
#' @param index Gene sets: a named list of gene ID vectors, or `"GO:BP"`, `"GO:MF"`,
#'   `"GO:CC"`.
#' @param contrast,coef One contrast or design column, as for [degbridge_limma()].
#' @param inter.gene.cor,use.ranks,allow.neg.cor,trend.var,sort As for [limma::camera()].
#' @param standardize,robust As for [limma::fry()] (`sort` too).
#' @param min.size,max.size For GO sets: the sizes (Entrez genes) of the sets tested.
#' @param species For GO sets: `"human"` (org.Hs.eg.db) or `"mouse"` (org.Mm.eg.db).
#' @param ... Not used.
#' @return limma's table: one row per set, with `NGenes`, `Direction`, `PValue`, `FDR`...
#' @examplesIf degbridge_available()
#' f <- degbridge_fit(degbridge_airway(), design = ~ celltype + dex)
#' sets <- list(first = f$genes[1:50], spread = f$genes[seq(1, 5000, by = 50)])
#' limma::camera(f, sets, coef = "dextreated")
#' limma::fry(f, sets, coef = "dextreated")
#' @name camera.degbridge_fit
#' @exportS3Method limma::camera
camera.degbridge_fit <- function(y, index, contrast = NULL, coef = NULL,
                                 inter.gene.cor = 0.01, use.ranks = FALSE,
                                 allow.neg.cor = FALSE, trend.var = FALSE, sort = TRUE,
                                 min.size = 1, max.size = Inf, species = "human", ...) {
  sets <- .degbridge_index(y, index, min.size, max.size, species)
  ctr <- .degbridge_one_contrast(y, contrast, coef)
  res <- degbridge_camera(unname(y$E), y$weights, y$design, ctr, sets,
                          inter.gene.cor = inter.gene.cor, use.ranks = use.ranks,
                          allow.neg.cor = allow.neg.cor, trend.var = trend.var, sort = sort)
  .degbridge_warn(res$warnings, "limma")
  res$table
}

#' @rdname camera.degbridge_fit
#' @exportS3Method limma::fry
fry.degbridge_fit <- function(y, index, contrast = NULL, coef = NULL,
                              standardize = "posterior.sd", sort = "directional",
                              trend.var = FALSE, robust = FALSE, min.size = 1, max.size = Inf,
                              species = "human", ...) {
  sets <- .degbridge_index(y, index, min.size, max.size, species)
  ctr <- .degbridge_one_contrast(y, contrast, coef)
  corr <- if (is.null(y$block)) NULL else y$fit$correlation
  res <- degbridge_fry(unname(y$E), y$weights, y$design, ctr, sets, block = y$block,
                       correlation = corr, standardize = standardize, sort = sort,
                       trend.var = trend.var, robust = robust)
  .degbridge_warn(res$warnings, "limma")
  res$table
}
