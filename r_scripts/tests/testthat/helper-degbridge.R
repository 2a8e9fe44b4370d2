## Skip without degbridge's Python, unless DEGBRIDGE_TEST_REQUIRE_PYTHON is set (make test and
## CI set it: there the tests must run, never be skipped).
skip_if_no_degbridge <- function() {
  if (degbridge_available()) return(invisible(TRUE))
  if (nzchar(Sys.getenv("DEGBRIDGE_TEST_REQUIRE_PYTHON")))
    stop("DEGBRIDGE_TEST_REQUIRE_PYTHON is set but degbridge's Python is not usable: ",
         tryCatch({ degbridge_python(); "" }, error = conditionMessage))
  skip("no Python with degbridge (set DEGBRIDGE_PYTHON)")
}

## Negative-binomial counts, genes x samples, with gene and sample IDs; the first `de` genes
## change by `fold` in the samples where `up` is TRUE.
sim_counts <- function(n_genes, up, seed, de = 60, fold = 3) {
  set.seed(seed)
  mu <- stats::rgamma(n_genes, shape = 1.5, rate = 1 / 80)
  x <- matrix(stats::rnbinom(n_genes * length(up), mu = rep(mu, length(up)), size = 8),
              n_genes, length(up))
  x[seq_len(de), up] <- stats::rnbinom(de * sum(up), mu = rep(mu[seq_len(de)] * fold, sum(up)),
                                        size = 8)
  dimnames(x) <- list(sprintf("g%04d", seq_len(n_genes)), sprintf("s%02d", seq_along(up)))
  x
}

## The sample sheet of sim_counts(): group (ctl/trt) and batch, row names = sample IDs.
sim_sheet <- function(n = 8) {
  data.frame(group = factor(rep(c("ctl", "trt"), each = n / 2)),
             batch = factor(rep(paste0("b", seq_len(n / 2)), 2)),
             row.names = sprintf("s%02d", seq_len(n)))
}

## Two tables agree: the same genes (any order) and, for every column of `native`, each value
## to `tolerance` relative (the same NA pattern; text columns identical).
expect_same_table <- function(ours, native, tolerance = 1e-10) {
  expect_setequal(rownames(ours), rownames(native))
  expect_true(all(names(native) %in% names(ours)))
  ours <- ours[rownames(native), , drop = FALSE]
  for (col in names(native)) {
    a <- ours[[col]]
    b <- native[[col]]
    expect_identical(is.na(a), is.na(b), label = paste("NA pattern of", col))
    if (is.numeric(b)) {
      ok <- !is.na(b)
      worst <- max(c(0, abs(a[ok] - b[ok]) / pmax(abs(b[ok]), 1e-300)))
      expect_lte(worst, tolerance, label = paste("largest relative difference in", col))
    } else {
      expect_identical(as.character(a), as.character(b), label = col)
    }
  }
}

## Cells of 8 donors (4 ctrl, 4 stim) x 3 cell types (T, B, NK: a factor), 300 genes of
## Poisson counts in a sparse matrix; 20 genes up in stimulated B cells; NK has 4 cells in
## three donors (fewer than min_cells = 10).
sim_cells <- function(seed = 4) {
  set.seed(seed)
  donors <- sprintf("d%d", 1:8)
  condition <- stats::setNames(rep(c("ctrl", "stim"), each = 4), donors)
  rows <- list()
  for (ct in c("B", "T", "NK")) for (d in donors) {
    n <- if (ct == "NK" && d %in% c("d1", "d2", "d3")) 4L else sample(15:40, 1)
    rows[[length(rows) + 1L]] <- data.frame(cell_type = rep(ct, n), donor = d,
                                            condition = condition[[d]])
  }
  cells <- do.call(rbind, rows)
  cells$cell_type <- factor(cells$cell_type, levels = c("T", "B", "NK"))
  rownames(cells) <- sprintf("c%04d", seq_len(nrow(cells)))
  mu <- stats::rgamma(300, 2, 1)
  x <- matrix(stats::rpois(300 * nrow(cells), mu), 300, nrow(cells),
              dimnames = list(sprintf("g%03d", 1:300), rownames(cells)))
  stim <- cells$condition == "stim" & cells$cell_type == "B"
  x[1:20, stim] <- stats::rpois(20 * sum(stim), 3 * mu[1:20])
  SingleCellExperiment::SingleCellExperiment(
    assays = list(counts = Matrix::Matrix(x, sparse = TRUE)),
    colData = S4Vectors::DataFrame(cells))
}

