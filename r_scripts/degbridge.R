## degbridge for R users, through reticulate.
##
##   library(reticulate)
##   use_python("/path/to/python")            # the Python where degbridge is installed
##   source(import("degbridge")$r_script_path("degbridge.R"))   # or source("r_scripts/degbridge.R")
##
##   tab <- degbridge_limma(counts, samples, design = ~ celltype + dex, coef = "dextreated")
##   res <- degbridge_compare(tab, target = "logFC")
##   res$leaderboard; res$predictions; res$importances; res$leakage
##
## Sample-sheet rows are matched to colnames(x) by ID, never by position: by the sheet's row
## names, or by a column (text, factor or integer) holding exactly colnames(x). A sheet with
## automatic row names and no such column is refused unless match = "position" is given.
## Designs and contrasts are checked and built by degbridge in Python (the same code as
## degbridge.run_limma); limma then runs here, in this R session, with the R code that
## degbridge itself uses (limma_de.R). Results are ordinary data.frames with gene IDs as row
## names. Everything crosses reticulate as plain vectors and lists: Debian's reticulate 1.28
## corrupts numpy 2 / pandas 2 objects, plain lists convert cleanly.
##
## degbridge_limma(x, samples, design, groups, contrast, coef, method, normalize, filter,
##                 robust, trend, lfc, block, weights, confint, prior.count, match):
## x is a genes x samples matrix (gene IDs as row names, sample IDs as column names); design
## a formula over sample-sheet columns or a numeric design matrix; groups one label per
## sample; contrast an expression over design columns (or several); coef a design column.
## method = NULL (the default) chooses "voom" or "ls" by the rule of degbridge.run_limma
## (.degbridge_choose_method below); the choice is reported with message() and recorded as
## attr(result, "method_choice"). filter is TRUE/FALSE; block is a sample-sheet column name or
## one label per sample; weights is "none" (the default), "arrayWeights" or "quality"; confint
## is TRUE/FALSE or a level. The other options, described as in Python:
## <limma options: from degbridge._params.LIMMA_DOCS by render_r_docs(); do not edit>
##   method       How the values are modelled: "voom" (raw counts: edgeR normalisation, then
##                voom), "trend" (raw counts to log-CPM, then eBayes with trend) or "ls"
##                (log-expression such as microarrays or log-CPM, through lmFit); by default
##                chosen from the data: "voom" when every value is a finite non-negative integer
##                (within 1e-8), that is raw counts, and "ls" otherwise. The choice is logged,
##                with the reason.
##   normalize    edgeR normalisation of counts (calcNormFactors method): "TMM", "TMMwsp",
##                "RLE", "upperquartile" or "none"; "TMM" by default, ignored for "ls".
##   filter       Drop lowly expressed genes with edgeR's filterByExpr before normalising counts
##                (on by default; never for "ls").
##   robust       Robust empirical Bayes (eBayes robust option): genes with outlying variances
##                do not distort the prior variance; off by default.
##   trend        Let the prior variance depend on the average expression (eBayes trend option),
##                for log-expression whose variance changes with the mean; always on for
##                "trend".
##   lfc          Log2 fold-change threshold: above 0, genes are tested for a change larger than
##                it with treat and topTreat (no B column then); 0, the default, tests for any
##                change.
##   block        Sample-table column of blocks (repeated measures, paired samples):
##                duplicateCorrelation estimates the correlation within blocks and the fit uses
##                it.
##   weights      Sample weights: "arrayWeights" (limma arrayWeights, with "ls") or "quality"
##                (voomWithQualityWeights, with "voom"); none by default.
##   confint      Add CI.L and CI.R columns: a 95% confidence interval for logFC; off by
##                default.
##   prior.count  Prior count added before taking log-CPM for "trend" (edgeR cpm with log); 3 by
##                default.
## </limma options>

.degbridge <- new.env(parent = emptyenv())

.degbridge_modules <- function() {
  if (is.null(.degbridge$bridge)) {
    if (!requireNamespace("reticulate", quietly = TRUE))
      stop("degbridge from R needs the reticulate package (Debian: apt-get install r-cran-reticulate)")
    .degbridge$bridge <- reticulate::import("degbridge._reticulate", convert = TRUE)
    .degbridge$params <- reticulate::import("degbridge._params", convert = TRUE)
    env <- new.env(parent = globalenv())
    for (f in c("limma_de.R", "limma_fit.R", "genesets.R"))
      sys.source(.degbridge$bridge$r_script_path(f), envir = env)
    .degbridge$limma <- env
  }
  .degbridge
}

## Rebuild a data.frame from frame_payload(): typed columns, NA, row names.
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

## Columns of a data.frame as plain lists (factors as text, with their levels kept apart).
.degbridge_columns <- function(df) {
  if (is.null(df)) return(NULL)
  df <- as.data.frame(df, stringsAsFactors = FALSE)
  lapply(df, function(x) as.list(if (is.factor(x)) as.character(x) else x))
}

.degbridge_levels <- function(df) {
  if (is.null(df)) return(NULL)
  lv <- lapply(as.data.frame(df), function(x) if (is.factor(x)) as.list(levels(x)) else NULL)
  lv[!vapply(lv, is.null, logical(1))]
}

## method = NULL: the one method rule (raw counts -> voom, else ls), said in a message;
## a given method is checked against Python's allowed values (degbridge._params).
.degbridge_resolve_method <- function(m, x, method, who) {
  if (is.null(method)) {
    choice <- .degbridge_choose_method(x)
    message(who, ": method = \"", choice$method, "\" (", choice$why, ")")
    return(list(method = choice$method, choice = paste0(choice$method, ": ", choice$why)))
  }
  if (!is.character(method) || length(method) != 1) stop("method must be one string or NULL")
  m$params$check_param("method", method)
  if (identical(method, "ls")) .degbridge_warn_not_log(x, who)
  list(method = method, choice = paste0(method, ": given"))
}

## method = "ls" given on values that are not log-expression: non-negative (missing values
## aside) with the largest above 50 (degbridge._params.LS_LOG_MAX: log2 expression stays
## below ~20; counts, CPM and un-logged intensities exceed it). The rule of run_limma.
.degbridge_warn_not_log <- function(x, who) {
  if (!is.numeric(x) || !length(x) || all(is.na(x))) return(invisible())
  r <- suppressWarnings(range(x, na.rm = TRUE))
  if (r[1] < 0 || !(r[2] > 50)) return(invisible())
  what <- if (.degbridge_choose_method(x)$method == "voom") "raw counts" else "values not on a log scale"
  warning(who, ": method = \"ls\" was given, but these look like ", what,
          " (non-negative, above 50): lmFit expects log-expression. Log-transform them first ",
          "(e.g. log2(x + 1) for intensities), or for raw counts use method = \"voom\" or ",
          "\"trend\".", call. = FALSE)
}

## The method default rule of degbridge.run_limma (degbridge._params.resolve_method), here
## in R so that the matrix need not cross to Python: raw counts (every value a finite
## non-negative integer within 1e-8) -> "voom", anything else (missing values included) ->
## "ls". Returns list(method, why) with the words Python records.
.degbridge_count_tolerance <- 1e-8
.degbridge_choose_method <- function(x) {
  counts <- length(x) > 0 && !anyNA(x) && all(is.finite(x)) && all(x >= 0) &&
    all(abs(x - round(x)) <= .degbridge_count_tolerance)
  if (counts) list(method = "voom", why = "raw counts detected (non-negative integers)")
  else list(method = "ls", why = "log-expression detected (not all non-negative integers)")
}

.degbridge_check_matrix <- function(x, method) {
  if (!is.numeric(x)) stop("x must be a numeric matrix (genes x samples)")
  if (is.null(rownames(x))) stop("x needs gene IDs as row names")
  if (is.null(colnames(x))) stop("x needs sample IDs as column names")
  if (anyDuplicated(rownames(x))) stop("duplicated gene IDs, e.g. ", rownames(x)[anyDuplicated(rownames(x))])
  bad <- which(is.infinite(x), arr.ind = TRUE)
  if (nrow(bad)) stop(nrow(bad), " infinite value(s), first at gene ", rownames(x)[bad[1, 1]],
                      ", sample ", colnames(x)[bad[1, 2]])
  if (method != "ls") {
    nas <- which(is.na(x), arr.ind = TRUE)
    if (nrow(nas)) stop("method '", method, "' needs complete counts; ", nrow(nas), " missing, first at gene ",
                        rownames(x)[nas[1, 1]], ", sample ", colnames(x)[nas[1, 2]])
    frac <- which(x < 0 | abs(x - round(x)) > 1e-8, arr.ind = TRUE)
    if (nrow(frac)) stop("method '", method, "' needs raw integer counts, but gene ", rownames(x)[frac[1, 1]],
                         ", sample ", colnames(x)[frac[1, 2]], " is ", x[frac[1, 1], frac[1, 2]],
                         ": normalised or log data? (use method = \"ls\")")
  }
}

## The design (and contrasts) checked and built in Python (degbridge.de.design, the code of the
## Python API), from the sample sheet, a formula, groups or a numeric design matrix.
## design_only: no contrast yet (a fit). Returns the spec, the sheet in colnames(x) order, the
## design matrix D, and the contrast matrix cm or the single coefficient cf.
.degbridge_build <- function(m, x, samples, design, groups, contrast, match,
                             design_only = FALSE) {
  ## Rows are matched to samples in Python (degbridge.de.design.align_samples, the rule the
  ## Python API and the CLI use): by row names, or by a column holding exactly colnames(x).
  ## Automatic row names (1..n) are no IDs, so they are not sent.
  rn <- NULL
  if (!is.null(samples)) {
    samples <- as.data.frame(samples, stringsAsFactors = FALSE)
    if (.row_names_info(samples) > 0) rn <- as.list(as.character(rownames(samples)))
  }
  formula <- NULL
  dm <- NULL
  dcols <- NULL
  if (inherits(design, "formula")) {
    formula <- paste(deparse(design, width.cutoff = 500L), collapse = " ")
  } else if (is.character(design)) {
    formula <- design
  } else if (is.matrix(design)) {
    dm <- as.list(as.double(design))
    dcols <- as.list(colnames(design))
  }
  glevels <- if (is.factor(groups)) list(.groups = as.list(levels(groups))) else NULL
  spec <- m$bridge$limma_inputs(
    sample_ids = as.list(colnames(x)),
    samples = .degbridge_columns(samples),
    levels = c(.degbridge_levels(samples), glevels),
    formula = formula,
    groups = if (is.null(groups)) NULL else as.list(as.character(groups)),
    design_matrix = dm,
    design_colnames = dcols,
    contrast = if (is.null(contrast)) NULL else as.list(contrast),
    sample_rownames = rn,
    samples_nrow = if (is.null(samples)) NULL else nrow(samples),
    match = match,
    design_only = design_only
  )
  if (!is.null(samples)) samples <- samples[as.integer(unlist(spec$order)) + 1L, , drop = FALSE]
  D <- matrix(as.double(unlist(spec$design)), nrow = spec$nrow,
              dimnames = list(NULL, unlist(spec$colnames)))
  c(list(spec = spec, samples = samples, D = D), .degbridge_contrasts(spec))
}

## The contrast matrix (design columns x contrasts) or the single design column tested.
.degbridge_contrasts <- function(spec) {
  if (length(spec$contrast_names) == 0) return(list(cm = NULL, cf = NULL))
  if (!is.null(spec$coef)) return(list(cm = NULL, cf = spec$coef))
  list(cm = matrix(as.double(unlist(spec$contrasts)), nrow = spec$ncol,
                   dimnames = list(unlist(spec$colnames), unlist(spec$contrast_names))),
       cf = NULL)
}

degbridge_limma <- function(x, samples = NULL, design = NULL, groups = NULL, contrast = NULL,
                            coef = NULL, method = NULL, normalize = "TMM",
                            filter = TRUE, robust = FALSE, trend = FALSE, lfc = 0, block = NULL,
                            weights = c("none", "arrayWeights", "quality"), confint = FALSE,
                            prior.count = 3, match = c("ids", "position")) {
  match <- match.arg(match)
  weights <- match.arg(weights)
  m <- .degbridge_modules()
  x <- as.matrix(x)
  storage.mode(x) <- "double"
  resolved <- .degbridge_resolve_method(m, x, method, "degbridge_limma")
  method <- resolved$method
  method_choice <- resolved$choice
  .degbridge_check_matrix(x, method)
  if (!is.null(coef)) {
    if (!is.null(contrast)) stop("give contrast or coef, not both")
    contrast <- coef
  }
  built <- .degbridge_build(m, x, samples, design, groups, contrast, match)
  spec <- built$spec
  samples <- built$samples
  D <- built$D
  cm <- built$cm
  cf <- built$cf
  if (is.character(block) && length(block) == 1 && !is.null(samples)) block <- samples[[block]]
  res <- m$limma$degbridge_limma_de(unname(x), D, contrasts = cm, coef = cf, method = method,
                                    normalize = normalize, filter = filter, robust = robust,
                                    trend = trend, lfc = lfc,
                                    block = if (is.null(block)) NULL else as.character(block),
                                    weights = weights, confint = confint, prior.count = prior.count)
  for (w in unique(res$warnings)) warning("R (limma/edgeR): ", w, call. = FALSE)
  .degbridge_tables(res, rownames(x)[res$keep], spec, method_choice)
}

## limma's tables with gene IDs as row names, sorted by B (or P.Value with treat); one
## data.frame for one contrast, else a named list (and the moderated F table as $F).
.degbridge_tables <- function(res, genes, spec, method_choice) {
  order_table <- function(tt) {
    rownames(tt) <- genes
    key <- if ("B" %in% names(tt)) -tt$B else tt$P.Value
    tt[order(key, method = "radix"), , drop = FALSE]
  }
  tables <- lapply(res$tables, order_table)
  names(tables) <- unlist(spec$contrast_names)
  if (length(tables) == 1) {
    tab <- tables[[1]]
    attr(tab, "method_choice") <- method_choice
    return(tab)
  }
  if (!is.null(res$ftable)) {
    ft <- res$ftable
    rownames(ft) <- genes
    tables$F <- ft[order(ft$P.Value, method = "radix"), , drop = FALSE]
  }
  attr(tables, "method_choice") <- method_choice
  tables
}

## ---------------------------------------------------------------------------------------
## A fit kept, tested again for new contrasts (degbridge.fit_limma / LimmaFit in Python)
##
##   f <- degbridge_fit(counts, samples, design = ~ celltype + dex)     # voom + lmFit once
##   degbridge_test(f, coef = "dextreated")                              # no refit
##   degbridge_test(f, contrast = "celltypeN080611 - celltypeN061011")
##   summary(degbridge_decide_tests(f, contrast = c("dextreated", "celltypeN080611")))
##   degbridge_camera(f, "GO:BP", coef = "dextreated", min.size = 10, max.size = 500)
##   degbridge_camera(f, list(set1 = c("ENSG...", ...)), coef = "dextreated")
##
## degbridge_fit takes the arguments of degbridge_limma that concern the fit (x, samples,
## design, groups, method, normalize, filter, block, weights, prior.count, match) and returns
## a "degbridge_fit" list: fit (limma's MArrayLM, gene IDs as row names), design, E and
## weights (what voom gave lmFit: the gene-set tests use them), genes, trend, method_choice.
## ---------------------------------------------------------------------------------------

degbridge_fit <- function(x, samples = NULL, design = NULL, groups = NULL, method = NULL,
                          normalize = "TMM", filter = TRUE, block = NULL,
                          weights = c("none", "arrayWeights", "quality"), prior.count = 3,
                          match = c("ids", "position")) {
  match <- match.arg(match)
  weights <- match.arg(weights)
  m <- .degbridge_modules()
  x <- as.matrix(x)
  storage.mode(x) <- "double"
  resolved <- .degbridge_resolve_method(m, x, method, "degbridge_fit")
  method <- resolved$method
  method_choice <- resolved$choice
  .degbridge_check_matrix(x, method)
  built <- .degbridge_build(m, x, samples, design, groups, NULL, match, design_only = TRUE)
  D <- built$D
  if (is.character(block) && length(block) == 1 && !is.null(built$samples))
    block <- built$samples[[block]]
  res <- m$limma$degbridge_limma_fit(unname(x), D, method = method, normalize = normalize,
                                     filter = filter,
                                     block = if (is.null(block)) NULL else as.character(block),
                                     weights = weights, prior.count = prior.count)
  for (w in unique(res$warnings)) warning("R (limma/edgeR): ", w, call. = FALSE)
  genes <- rownames(x)[res$keep]
  E <- if (is.null(res$E)) unname(x) else res$E
  dimnames(E) <- list(genes, colnames(x))
  w <- res$weights
  if (!is.null(w)) dimnames(w) <- dimnames(E)
  structure(list(fit = m$limma$degbridge_make_fit(res$parts, D, genes), design = D, E = E,
                 weights = w, genes = genes, samples = colnames(x), trend = isTRUE(res$trend),
                 block = if (is.null(block)) NULL else as.character(block),
                 method_choice = method_choice),
            class = "degbridge_fit")
}

print.degbridge_fit <- function(x, ...) {
  cat("degbridge_fit: ", length(x$genes), " genes x ", length(x$samples), " samples (",
      x$method_choice, "); coefficients: ", paste(colnames(x$design), collapse = ", "), "\n",
      sep = "")
  invisible(x)
}

## Contrasts of a fit, parsed and checked in Python against the design's columns.
.degbridge_fit_contrasts <- function(f, contrast, coef) {
  if (!inherits(f, "degbridge_fit")) stop("expected the result of degbridge_fit()")
  if (!is.null(coef)) {
    if (!is.null(contrast)) stop("give contrast or coef, not both")
    contrast <- coef
  }
  if (is.null(contrast)) stop("say what to test: contrast = or coef = (design columns: ",
                              paste(colnames(f$design), collapse = ", "), ")")
  m <- .degbridge_modules()
  spec <- m$bridge$limma_inputs(sample_ids = as.list(f$samples),
                                design_matrix = as.list(as.double(f$design)),
                                design_colnames = as.list(colnames(f$design)),
                                contrast = as.list(contrast))
  c(list(spec = spec), .degbridge_contrasts(spec))
}

## New contrasts on the fit, without refitting: contrasts.fit -> eBayes/treat -> topTable, as
## degbridge_limma tests them (the same R code). Returns what degbridge_limma returns.
degbridge_test <- function(f, contrast = NULL, coef = NULL, robust = FALSE, trend = FALSE,
                           lfc = 0, confint = FALSE) {
  cs <- .degbridge_fit_contrasts(f, contrast, coef)
  m <- .degbridge_modules()
  res <- m$limma$degbridge_limma_de(f$fit, f$design, contrasts = cs$cm, coef = cs$cf,
                                    robust = robust, trend = trend || f$trend, lfc = lfc,
                                    confint = confint)
  for (w in unique(res$warnings)) warning("R (limma): ", w, call. = FALSE)
  .degbridge_tables(res, f$genes, cs$spec, f$method_choice)
}

## limma's decideTests on contrasts of the fit (all design columns by default): a TestResults
## matrix (genes x contrasts of -1/0/1) for summary().
degbridge_decide_tests <- function(f, contrast = NULL, method = "separate",
                                   adjust.method = "BH", p.value = 0.05, lfc = 0,
                                   robust = FALSE, trend = FALSE) {
  if (is.null(contrast)) contrast <- colnames(f$design)
  cs <- .degbridge_fit_contrasts(f, contrast, NULL)
  cm <- cs$cm
  if (is.null(cm)) {  # one design column
    cm <- matrix(0, nrow = ncol(f$design), ncol = 1,
                 dimnames = list(colnames(f$design), unlist(cs$spec$contrast_names)))
    cm[cs$cf, 1] <- 1
  }
  m <- .degbridge_modules()
  res <- m$limma$degbridge_decide_fit(f$fit, cm, trend = trend || f$trend, robust = robust,
                                      method = method, adjust.method = adjust.method,
                                      p.value = p.value, lfc = lfc)
  for (w in unique(res$warnings)) warning("R (limma): ", w, call. = FALSE)
  out <- res$results
  dimnames(out) <- list(f$genes, colnames(cm))
  methods::new("TestResults", out)
}

## Gene sets for a fit: a named list of gene IDs (matched to the fit's IDs), or "GO:BP",
## "GO:MF", "GO:CC" (org.Hs.eg.db's GO2ALLEGS: genes annotated to the term or a descendant,
## kept with min.size to max.size Entrez genes; the fit's IDs mapped to Entrez IDs with the ID
## type detected by degbridge), as limma's ids2indices index.
.degbridge_index <- function(f, sets, min.size, max.size, species) {
  m <- .degbridge_modules()
  if (is.character(sets) && length(sets) == 1) {
    ontology <- toupper(sets)
    if (!ontology %in% c("GO:BP", "GO:MF", "GO:CC"))
      stop("unknown gene sets '", sets, "': a named list of gene IDs, or one of GO:BP, GO:MF, GO:CC")
    go <- m$limma$degbridge_go_sets(substring(ontology, 4), species)
    keep <- go$sizes >= min.size & go$sizes <= max.size
    members <- split(go$universe[go$codes], factor(rep.int(go$ids, go$sizes), levels = go$ids))
    sets <- members[keep]
    keytype <- reticulate::import("degbridge.features.annotation")$detect_keytype(as.list(f$genes))
    ids <- if (keytype == "ENSEMBL") sub("\\..*$", "", f$genes) else f$genes
    ids <- m$limma$degbridge_entrez_of(ids, keytype, species)
    attr(sets, "mapping") <- c(keytype = keytype, genes = length(ids),
                               mapped = sum(!is.na(ids)))
  } else {
    if (!is.list(sets) || is.null(names(sets)))
      stop("gene sets are a named list of gene ID vectors, or \"GO:BP\", \"GO:MF\", \"GO:CC\"")
    ids <- f$genes
  }
  index <- limma::ids2indices(sets, ids)
  if (!length(index))
    stop("no gene of the ", length(sets), " gene sets is among the fit's ", length(f$genes),
         " genes (e.g. ", paste(utils::head(f$genes, 3), collapse = ", "), ")")
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
  if (length(cs$spec$contrast_names) != 1) stop("gene-set tests take one contrast")
  if (is.null(cs$cm)) cs$cf else cs$cm[, 1]
}

## limma's camera on the fit's E and weights (voom's), as camera(v, index, design, contrast).
degbridge_camera <- function(f, sets, contrast = NULL, coef = NULL, inter.gene.cor = 0.01,
                             use.ranks = FALSE, allow.neg.cor = FALSE, trend.var = FALSE,
                             sort = TRUE, min.size = 1, max.size = Inf, species = "human") {
  index <- .degbridge_index(f, sets, min.size, max.size, species)
  ctr <- .degbridge_one_contrast(f, contrast, coef)
  m <- .degbridge_modules()
  res <- m$limma$degbridge_camera(unname(f$E), f$weights, f$design, ctr, index,
                                  inter.gene.cor = inter.gene.cor, use.ranks = use.ranks,
                                  allow.neg.cor = allow.neg.cor, trend.var = trend.var,
                                  sort = sort)
  for (w in unique(res$warnings)) warning("R (limma): ", w, call. = FALSE)
  res$table
}

## limma's fry on the fit (its block and consensus correlation, if any).
degbridge_fry <- function(f, sets, contrast = NULL, coef = NULL, standardize = "posterior.sd",
                          sort = "directional", trend.var = FALSE, robust = FALSE,
                          min.size = 1, max.size = Inf, species = "human") {
  index <- .degbridge_index(f, sets, min.size, max.size, species)
  ctr <- .degbridge_one_contrast(f, contrast, coef)
  m <- .degbridge_modules()
  corr <- if (is.null(f$block)) NULL else f$fit$correlation
  res <- m$limma$degbridge_fry(unname(f$E), f$weights, f$design, ctr, index, block = f$block,
                               correlation = corr, standardize = standardize, sort = sort,
                               trend.var = trend.var, robust = robust)
  for (w in unique(res$warnings)) warning("R (limma): ", w, call. = FALSE)
  res$table
}

degbridge_compare <- function(table, target = "logFC", ...) {
  m <- .degbridge_modules()
  table <- as.data.frame(table)
  cols <- lapply(table, function(x) as.list(if (is.factor(x)) as.character(x) else x))
  opts <- list(...)
  out <- do.call(m$bridge$compare_payload,
                 c(list(columns = cols, rownames = as.list(rownames(table)), target = target), opts))
  res <- list()
  for (name in c("leaderboard", "predictions", "importances", "leakage", "leakage_scores",
                 "preprocessing", "outliers", "cv_scores")) {
    if (!is.null(out[[name]])) res[[name]] <- .degbridge_frame(out[[name]])
  }
  for (w in unlist(out$warnings)) warning(w, call. = FALSE)
  res$params <- out$params
  res$best <- out$best
  res$summary <- out$summary
  res
}
