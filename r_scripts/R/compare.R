## degbridge_compare(): degbridge.compare (scikit-learn, in Python) on a DE table from R, and
## the S3 class of its result.

## The tables a comparison holds, in the order print/as.data.frame know them.
.degbridge_compare_tables <- c("leaderboard", "predictions", "importances", "leakage",
                               "leakage_scores", "preprocessing", "outliers", "cv_scores")

## A DE table as a data.frame with gene IDs as row names: a data.frame (limma's topTable, a
## table of degbridge_limma/edger/deseq2; IDs as row names or in a gene/ID column), DESeq2's
## DESeqResults, edgeR's TopTags or DGELRT, or any S4 DataFrame.
.degbridge_table <- function(table) {
  if (inherits(table, "TopTags")) table <- table$table
  else if (inherits(table, "DGELRT") || inherits(table, "DGEExact"))
    table <- table$table
  else if (methods::is(table, "DataFrame")) table <- as.data.frame(table, optional = TRUE)
  if (is.list(table) && !is.data.frame(table) &&
      all(vapply(table, is.data.frame, logical(1))))
    stop("one table is needed; this is a list of ", length(table), " (",
         paste(names(table), collapse = ", "), "): pick one, e.g. tables[[\"",
         names(table)[1], "\"]]", call. = FALSE)
  if (!is.data.frame(table))
    stop("the table must be a data.frame (limma's topTable or a degbridge table), a ",
         "DESeqResults or an edgeR TopTags, not a ", class(table)[1], call. = FALSE)
  if (.row_names_info(table) <= 0) {
    id <- match(c("gene", "id"), tolower(names(table)))
    id <- id[!is.na(id)][1]
    if (is.na(id))
      stop("the table has no gene IDs (row names, or a gene or ID column)", call. = FALSE)
    genes <- as.character(table[[id]])
    if (anyNA(genes) || anyDuplicated(genes))
      stop("column ", names(table)[id], " does not hold one gene ID per row (missing or ",
           "repeated IDs, e.g. ", genes[is.na(genes) | duplicated(genes)][1], ")",
           call. = FALSE)
    table <- table[-id]
    rownames(table) <- genes
  }
  table
}

#' Predict a column of a DE table from the other per-gene columns
#'
#' Runs `degbridge.compare` (Python, scikit-learn) on a differential-expression table:
#' several regressors predict `target` (the fold change by default) from the other numeric
#' per-gene columns, with cross-validation on training genes, a held-out test set,
#' permutation importances and a leakage audit (features computed by the same test as the
#' target, such as `t` or the P-value, are flagged). The score reported first is the most
#' honest one: the best model without the flagged features (or on external features only),
#' as in Python.
#'
#' @param table A DE table with gene IDs as row names: a `data.frame` (limma's `topTable`,
#'   or a table of [degbridge_limma()], [degbridge_edger()] or [degbridge_deseq2()]),
#'   DESeq2's `DESeqResults`, or edgeR's `TopTags`.
#' @param target The column to predict; `NULL` (the default): `logFC`, or DESeq2's
#'   `log2FoldChange`.
#' @param ... Options of `degbridge.compare`: `models` (e.g. `c("linear", "knn")`, or
#'   `"default"`: 13 models), `cv` (folds), `test_size`, `random_state`, `n_jobs`,
#'   `leakage` (`"flag"`, `"drop"`, `"keep"`), `outliers`, `features`, `time_limit`...
#' @return A `degbridge_comparison`: a list of data.frames (`leaderboard`, one row per
#'   model, best first; `predictions`, per gene: `observed`, `predicted`, `oof`, `split`,
#'   `fold`, `residual`; `importances`; `leakage`, per feature; `leakage_scores`, the best
#'   model's scores on each feature set, `honest` marking the one reported first;
#'   `preprocessing`; `outliers`; `cv_scores`), and `target`, `best`, `params` and
#'   `summary` (Python's text). It has `print()`, `summary()`, `as.data.frame()` (any of
#'   its tables) and `plot()` methods.
#' @seealso [plot.degbridge_comparison()]
#' @examplesIf degbridge_available()
#' tab <- degbridge_limma(degbridge_airway(), design = ~ celltype + dex, coef = "dextreated")
#' res <- degbridge_compare(tab, models = c("linear", "knn"), cv = 3)
#' res
#' head(as.data.frame(res, table = "leakage"))
#' plot(res)
#' @export
degbridge_compare <- function(table, target = NULL, ...) {
  table <- .degbridge_table(table)
  if (is.null(target)) {
    target <- intersect(c("logFC", "log2FoldChange"), names(table))[1]
    if (is.na(target))
      stop("degbridge_compare: no logFC or log2FoldChange column; say which column to ",
           "predict with target = (columns: ", paste(names(table), collapse = ", "), ")",
           call. = FALSE)
  }
  if (!is.character(target) || length(target) != 1L)
    stop("target must be one column name", call. = FALSE)
  columns <- lapply(table, .degbridge_py_list)
  rows <- as.list(rownames(table))
  options <- list(...)
  for (name in names(options)) {
    v <- options[[name]]
    if (length(v) > 1L || name == "features") options[[name]] <- as.list(v)
  }
  out <- do.call(.degbridge_py, c(list("compare_payload", columns = columns, rownames = rows,
                                       target = target), options))
  res <- list()
  for (name in .degbridge_compare_tables)
    if (!is.null(out[[name]])) res[[name]] <- .degbridge_frame(out[[name]])
  for (w in unlist(out$warnings)) warning(w, call. = FALSE)
  res$target <- target
  res$best <- out$best
  res$params <- out$params
  res$summary <- out$summary
  structure(res, class = "degbridge_comparison")
}

## The most honest score: the leakage_scores row marked honest (NULL without an audit).
.degbridge_honest <- function(x) {
  s <- x$leakage_scores
  if (is.null(s) || !nrow(s) || !"honest" %in% names(s)) return(NULL)
  row <- s[as.logical(s$honest), , drop = FALSE]
  if (nrow(row)) row[1, , drop = FALSE] else NULL
}

#' @export
print.degbridge_comparison <- function(x, ...) {
  cat("degbridge_comparison\n", x$summary, "\n\n", sep = "")
  lb <- x$leaderboard
  cols <- intersect(c("model", "cv_r2_mean", "cv_r2_sd", "test_r2", "status"), names(lb))
  print(utils::head(lb[, cols, drop = FALSE], 5L), row.names = FALSE, digits = 3)
  if (nrow(lb) > 5L) cat("... ", nrow(lb) - 5L, " more models: x$leaderboard\n", sep = "")
  invisible(x)
}

#' @export
summary.degbridge_comparison <- function(object, ...) {
  lb <- object$leaderboard
  flagged <- if (!is.null(object$leakage) && "flagged" %in% names(object$leakage))
    rownames(object$leakage)[as.logical(object$leakage$flagged)] else character()
  structure(list(text = object$summary, target = object$target, best = object$best,
                 honest = .degbridge_honest(object), flagged = flagged,
                 leaderboard = lb[, intersect(c("model", "cv_r2_mean", "cv_r2_sd", "test_r2"),
                                              names(lb)), drop = FALSE]),
            class = "summary.degbridge_comparison")
}

#' @export
print.summary.degbridge_comparison <- function(x, ...) {
  cat(x$text, "\n", sep = "")
  invisible(x)
}

#' @export
as.data.frame.degbridge_comparison <- function(x, row.names = NULL, optional = FALSE, ...,
                                               table = "leaderboard") {
  have <- intersect(.degbridge_compare_tables, names(x))
  if (!is.character(table) || length(table) != 1L || !table %in% have)
    stop("table must be one of ", paste(have, collapse = ", "), call. = FALSE)
  out <- x[[table]]
  if (!is.null(row.names)) rownames(out) <- row.names
  out
}

#' Plot a comparison: the leaderboard, and predicted against observed
#'
#' Base graphics. `"leaderboard"`: each model's mean cross-validated R-squared (with one
#' standard deviation over the folds) and its test R-squared, best first; a dashed line at
#' the most honest score (the best model without the features flagged by the leakage audit).
#' `"predictions"`: the best model's predictions against the observed target, the test genes
#' in front, with the line of equality.
#'
#' @param x A `degbridge_comparison` from [degbridge_compare()].
#' @param which `"leaderboard"`, `"predictions"` or both (side by side).
#' @param ... Passed to the plotting functions ([graphics::plot.default()]).
#' @return `x`, invisibly.
#' @examplesIf degbridge_available()
#' tab <- degbridge_limma(degbridge_airway(), design = ~ celltype + dex, coef = "dextreated")
#' res <- degbridge_compare(tab, models = c("linear", "knn"), cv = 3)
#' plot(res, which = "predictions")
#' @export
plot.degbridge_comparison <- function(x, which = c("leaderboard", "predictions"), ...) {
  which <- match.arg(which, several.ok = TRUE)
  if (length(which) > 1L) {
    old <- graphics::par(mfrow = c(1L, length(which)))
    on.exit(graphics::par(old), add = TRUE)
  }
  if ("leaderboard" %in% which) .degbridge_plot_leaderboard(x, ...)
  if ("predictions" %in% which) .degbridge_plot_predictions(x, ...)
  invisible(x)
}

.degbridge_plot_leaderboard <- function(x, ...) {
  lb <- x$leaderboard
  lb <- lb[is.finite(lb$cv_r2_mean) | is.finite(lb$test_r2), , drop = FALSE]
  n <- nrow(lb)
  y <- rev(seq_len(n))
  sd <- ifelse(is.finite(lb$cv_r2_sd), lb$cv_r2_sd, 0)
  honest <- .degbridge_honest(x)
  values <- c(lb$cv_r2_mean - sd, lb$cv_r2_mean + sd, lb$test_r2,
              if (!is.null(honest)) honest$cv_r2_mean, 0)
  xlim <- range(values[is.finite(values)])
  graphics::plot(lb$cv_r2_mean, y, xlim = xlim, ylim = c(0.5, n + 0.5), yaxt = "n", pch = 19,
                 xlab = "R-squared", ylab = "",
                 main = paste0("Predicting ", x$target, ": models"), ...)
  graphics::segments(lb$cv_r2_mean - sd, y, lb$cv_r2_mean + sd, y)
  graphics::points(lb$test_r2, y, pch = 4)
  graphics::axis(2, at = y, labels = lb$model, las = 1, cex.axis = 0.8)
  graphics::abline(v = 0, col = "grey")
  legend <- c("CV mean (+/- sd)", "test")
  if (!is.null(honest) && is.finite(honest$cv_r2_mean)) {
    graphics::abline(v = honest$cv_r2_mean, lty = 2)
    legend <- c(legend, paste0("most honest (", rownames(honest), ")"))
  }
  graphics::legend("bottomright", legend = legend, pch = c(19, 4, NA)[seq_along(legend)],
                   lty = c(NA, NA, 2)[seq_along(legend)], bty = "n", cex = 0.8)
}

.degbridge_plot_predictions <- function(x, ...) {
  p <- x$predictions
  test <- p$split == "test"
  o <- order(test)  # test genes drawn last, in front
  lim <- range(c(p$observed, p$predicted), finite = TRUE)
  graphics::plot(p$observed[o], p$predicted[o], xlim = lim, ylim = lim,
                 col = ifelse(test[o], "black", "grey70"), pch = 20, cex = 0.5,
                 xlab = paste("observed", x$target), ylab = paste("predicted", x$target),
                 main = paste0(x$best, ": predicted vs observed"), ...)
  graphics::abline(0, 1, lty = 2)
  graphics::legend("topleft", legend = c("training genes", "test genes"),
                   col = c("grey70", "black"), pch = 20, bty = "n", cex = 0.8)
}
