## .h5ad files written by the Python package (tl.de, tl.compare, write_h5ad), read with hdf5r;
## their numbers equal what the R package computes on the same data.

## Python code run by degbridge's Python in a process of its own (never inside this R
## session: the Python package runs R through rpy2, which must not embed this R again).
py_write <- function(lines) {
  script <- tempfile(fileext = ".py")
  writeLines(lines, script)
  out <- system2(reticulate::py_config()$python, script, stdout = TRUE, stderr = TRUE)
  status <- attr(out, "status")
  if (!is.null(status) && status != 0) stop("Python failed:\n", paste(out, collapse = "\n"))
  invisible(out)
}

test_that("bulk results and a comparison read back as the R package computes them", {
  skip_if_no_degbridge()
  skip_if_not_installed("hdf5r")
  file <- tempfile(fileext = ".h5ad")
  py_write(c(
    "import warnings",
    "import anndata as ad",
    "import degbridge as db",
    "from degbridge.datasets import airway",
    "warnings.simplefilter('ignore')",
    "counts, samples = airway()",
    "a = ad.AnnData(counts.T.iloc[:, :3000].copy(), obs=samples)",
    "db.tl.de(a, design='~ celltype + dex', contrast='dextreated', method='voom')",
    "db.tl.de(a, groupby='dex', contrast=['treated - control', 'control/2 - treated/2'],",
    "         key_added='two', method='voom')",
    "db.tl.compare(a, models=['linear', 'knn'], cv=3, progress=False)",
    sprintf("db.write_h5ad(a, %s)", deparse(file))))
  se <- degbridge_airway()[1:3000, ]
  ours <- suppressMessages(degbridge_limma(se, design = ~ celltype + dex, coef = "dextreated"))
  back <- degbridge_read_h5ad(file, contrast = "dextreated")
  expect_identical(rownames(back), rownames(ours))
  expect_same_table(back, ours)

  two <- suppressMessages(degbridge_limma(se, groups = "dex",
                                          contrast = c("treated - control",
                                                       "control/2 - treated/2")))
  long <- degbridge_read_h5ad(file, key = "two")
  expect_identical(names(long)[1:2], c("gene", "contrast"))
  expect_identical(unique(long$contrast), c("treated - control", "control/2 - treated/2"))
  for (name in unique(long$contrast)) {
    rows <- long[long$contrast == name, -(1:2)]
    rownames(rows) <- long$gene[long$contrast == name]
    expect_same_table(rows, two[[name]])
  }
  expect_same_table(degbridge_read_h5ad(file, key = "two", contrast = "control/2 - treated/2"),
                    two[["control/2 - treated/2"]])

  board <- degbridge_read_h5ad_compare(file)
  cmp <- suppressWarnings(degbridge_compare(ours, models = c("linear", "knn"), cv = 3))
  expect_identical(board$model, cmp$leaderboard$model)
  expect_equal(board$cv_r2_mean, cmp$leaderboard$cv_r2_mean, tolerance = 1e-12)
  leakage <- degbridge_read_h5ad_compare(file, table = "leakage")
  expect_identical(rownames(leakage), rownames(cmp$leakage))
  expect_identical(as.logical(leakage$flagged), cmp$leakage$flagged)
  expect_setequal(rownames(degbridge_read_h5ad_compare(file, table = "predictions")),
                  rownames(ours))

  expect_error(degbridge_read_h5ad(file, key = "nope"),
               "uns\\['nope'\\] is no degbridge entry; DE results are stored under 'degbridge', 'two'")
  expect_error(degbridge_read_h5ad(file, key = "degbridge_compare"),
               "holds 'degbridge compare', not DE results")
  expect_error(degbridge_read_h5ad(file, contrast = "x"),
               "contrast 'x' is not stored in uns\\['degbridge'\\]; stored contrasts are 'dextreated'")
  expect_error(degbridge_read_h5ad_compare(file, table = "nope"), "its tables are 'leaderboard'")
  expect_error(degbridge_read_h5ad(tempfile()), "no such file")
})

test_that("per-cell-type results read back as the R package computes them", {
  skip_if_no_degbridge()
  skip_if_not_installed("hdf5r")
  sce <- sim_cells()
  dir <- tempfile()
  dir.create(dir)
  counts <- as.matrix(SummarizedExperiment::assay(sce, "counts"))
  utils::write.table(t(counts), file.path(dir, "counts.tsv"), sep = "\t", quote = FALSE)
  obs <- as.data.frame(SummarizedExperiment::colData(sce))
  utils::write.table(obs, file.path(dir, "obs.tsv"), sep = "\t", quote = FALSE)
  file <- file.path(dir, "cells.h5ad")
  py_write(c(
    "import warnings",
    "import anndata as ad, pandas as pd",
    "import degbridge as db",
    "warnings.simplefilter('ignore')",
    sprintf("X = pd.read_csv(%s, sep='\\t', index_col=0)", deparse(file.path(dir, "counts.tsv"))),
    sprintf("obs = pd.read_csv(%s, sep='\\t', index_col=0, dtype=str)",
            deparse(file.path(dir, "obs.tsv"))),
    "cells = ad.AnnData(X.astype(float), obs=obs.loc[X.index])",
    "db.tl.de(cells, groupby='condition', sample_key='donor', celltype_key='cell_type',",
    "         contrast='stim - ctrl', progress=False)",
    sprintf("db.write_h5ad(cells, %s)", deparse(file))))
  ours <- suppressWarnings(suppressMessages(degbridge_limma(
    sce, sample_key = "donor", groups = "condition", celltype_key = "cell_type",
    contrast = "stim - ctrl")))
  back <- degbridge_read_h5ad(file)
  expect_identical(names(back), names(ours))
  expect_setequal(unique(back$cell_type), c("B", "T"))
  for (ct in c("B", "T")) {
    mine <- ours[ours$cell_type == ct, ]
    theirs <- back[back$cell_type == ct, ]
    rownames(mine) <- mine$gene
    rownames(theirs) <- theirs$gene
    expect_identical(theirs$gene, mine$gene)
    expect_same_table(theirs[, -(1:3)], mine[, -(1:3)])
  }
  one <- degbridge_read_h5ad(file, cell_type = "B")
  expect_identical(unique(one$cell_type), "B")
  expect_error(degbridge_read_h5ad(file, cell_type = "NK"),
               "fitted cell types are 'B', 'T'; skipped: 'NK': too few samples")
})
