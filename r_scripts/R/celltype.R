## celltype_key: one pseudobulk and one fit per cell type, as degbridge.tl.de(celltype_key =)
## in Python (and muscat's pbDS): cell types with too few samples per group are skipped with
## the reason, so is one whose fit fails for a reason of its data; one long table; BH within
## each cell type or over all of them (adjust = "global").

.degbridge_per_cell_type <- function(x, cells, run, groupby, sample_key, celltype_key,
                                     contrast, design, min_cells, min_samples, adjust,
                                     columns, who) {
  cells <- .degbridge_sheet(cells)
  keys <- list(celltype_key = celltype_key, sample_key = sample_key, groups = groupby)
  for (what in names(keys)) {
    key <- keys[[what]]
    if (is.null(key))
      stop(who, ": celltype_key (DE per cell type) needs ", what, " as well: a column of ",
           "the cells' sheet", call. = FALSE)
    if (!is.character(key) || length(key) != 1L || is.null(cells) || !key %in% names(cells))
      stop(who, ": ", what, " = ", deparse(key), " is not a column of the cells' sheet",
           if (!is.null(cells)) paste0("; its columns are ", paste(names(cells), collapse = ", ")),
           call. = FALSE)
  }
  if (anyDuplicated(unlist(keys)))
    stop(who, ": celltype_key, sample_key and groups must be three different columns",
         call. = FALSE)
  if (!is.null(design))
    stop(who, ": with celltype_key each cell type is fitted with ~ 0 + groups: give groups ",
         "(a column), not design", call. = FALSE)
  .degbridge_check_count_number(min_cells, "min_cells", who)
  .degbridge_check_count_number(min_samples, "min_samples", who)
  missing <- unlist(keys)[vapply(unlist(keys), function(k) anyNA(cells[[k]]), logical(1))]
  if (length(missing))
    stop(who, ": columns ", paste(missing, collapse = ", "), " have missing values; every ",
         "cell needs a cell type, sample and group", call. = FALSE)
  if (nrow(cells) != ncol(x))
    stop(who, ": the cells' sheet has ", nrow(cells), " rows for ", ncol(x), " cells",
         call. = FALSE)
  levels <- sort(unique(as.character(cells[[groupby]])), method = "radix")
  if (length(levels) < 2L)
    stop(who, ": groups column ", groupby, " has a single level (", levels, "): a comparison ",
         "needs two", call. = FALSE)
  if (is.null(contrast))
    stop(who, ": say which comparison to make, e.g. contrast = \"", levels[length(levels)],
         " - ", levels[1], "\" (levels of ", groupby, ": ", paste(levels, collapse = ", "), ")",
         call. = FALSE)
  tested <- unlist(.degbridge_py("contrast_names", as.list(contrast), as.list(levels)))
  if (identical(who, "degbridge_deseq2") && length(tested) != 1L)
    stop(who, ": DESeq2 tests one contrast at a time; got ", length(tested), call. = FALSE)
  .degbridge_check_cell_counts(x, who)
  type <- cells[[celltype_key]]
  cell_types <- if (is.factor(type)) levels(droplevels(type))
                else sort(unique(as.character(type)), method = "radix")
  type <- as.character(type)
  samples_used <- .degbridge_sample_table(type, cells[[sample_key]], cells[[groupby]], min_cells)
  results <- list()
  fits <- list()
  skipped <- character()
  for (ct in cell_types) {
    rows <- samples_used[samples_used$cell_type == ct, , drop = FALSE]
    reason <- .degbridge_too_few(rows, levels, groupby, min_cells, min_samples)
    used <- "no: cell type skipped"
    if (is.null(reason)) {
      sel <- which(type == ct)
      out <- tryCatch({
        pb <- .degbridge_pseudobulk(x[, sel, drop = FALSE], cells[sel, , drop = FALSE],
                                    sample_key, groupby, min_cells, who)
        counts <- .degbridge_matrix(pb$counts, TRUE, who)
        list(fit = run(counts, pb$samples, groupby), n = ncol(counts))
      }, error = function(e) e)
      if (inherits(out, "error")) {
        reason <- paste0("fit failed: ", conditionMessage(out))
        used <- "no: fit failed"
      }
    }
    if (!is.null(reason)) {
      skipped[ct] <- reason
      samples_used$used[samples_used$cell_type == ct & samples_used$used == "yes"] <- used
      next
    }
    for (name in names(out$fit$tables)) {
      tab <- out$fit$tables[[name]]
      results[[length(results) + 1L]] <- data.frame(
        cell_type = rep(ct, nrow(tab)), contrast = rep(name, nrow(tab)), gene = rownames(tab),
        tab, row.names = NULL, check.names = FALSE, stringsAsFactors = FALSE)
    }
    first <- out$fit$tables[[1]]
    choice <- if (is.null(out$fit$method_choice)) paste0(sub("^degbridge_", "", who), ": given")
              else out$fit$method_choice
    fits[[length(fits) + 1L]] <- data.frame(cell_type = ct, n_samples = out$n,
                                            n_genes = nrow(first), method_choice = choice)
  }
  skipped_df <- data.frame(cell_type = names(skipped), reason = unname(skipped))
  each <- paste0("'", names(skipped), "': ", skipped, collapse = "; ")
  if (!length(results))
    stop(who, ": every cell type of ", celltype_key, " was skipped, so nothing was fitted: ",
         each, call. = FALSE)
  if (length(skipped))
    warning(who, ": ", length(skipped), " of ", length(cell_types), " cell types skipped ",
            "(see attr(result, \"skipped\")): ", each, call. = FALSE)
  long <- do.call(rbind, results)
  if (adjust == "global") {
    for (name in tested) {
      sel <- long$contrast == name & !is.na(long[[columns[2]]])
      long[[columns[2]]][sel] <- stats::p.adjust(long[[columns[1]]][sel], method = "BH")
    }
  }
  attr(long, "skipped") <- skipped_df
  attr(long, "samples") <- samples_used
  attr(long, "fits") <- do.call(rbind, fits)
  long
}

## One row per cell type x sample x group: the cells, and whether the pseudobulk sample has
## enough of them (used: "yes" or why not).
.degbridge_sample_table <- function(type, sample, group, min_cells) {
  key <- data.frame(cell_type = type, sample = as.character(sample),
                    condition = as.character(group))
  id <- paste(key$cell_type, key$sample, key$condition, sep = "\r")
  first <- !duplicated(id)
  table <- key[first, , drop = FALSE]
  table$n_cells <- as.integer(tabulate(match(id, id[first]), nbins = sum(first)))
  table <- table[order(table$cell_type, table$sample, table$condition, method = "radix"), ,
                 drop = FALSE]
  table$used <- ifelse(table$n_cells >= min_cells, "yes",
                       paste0("no: fewer than min_cells=", min_cells, " cells"))
  rownames(table) <- NULL
  table
}

## Why a cell type cannot be fitted (a group with too few samples), or NULL.
.degbridge_too_few <- function(rows, levels, groupby, min_cells, min_samples) {
  kept <- table(factor(rows$condition[rows$used == "yes"], levels = levels))
  short <- kept[kept < min_samples]
  if (!length(short)) return(NULL)
  paste0("too few samples with >= ", min_cells, " cells (min_samples=", min_samples,
         " per condition): ", paste0(groupby, "='", names(short), "' has ", as.integer(short),
                                     collapse = ", "))
}
