## SingleCellExperiment: pseudobulk sums (checked against rowsum), and the fits of the
## pseudobulk samples against limma's own calls, for all cells and per cell type.

## limma-voom on the pseudobulk of some cells, written out: sums with rowsum, ~ 0 + condition.
native_pseudobulk <- function(sce, cells, min_cells = 10) {
  x <- as.matrix(SummarizedExperiment::assay(sce, "counts"))[, cells, drop = FALSE]
  cd <- SummarizedExperiment::colData(sce)[cells, ]
  label <- paste(cd$donor, cd$condition, sep = "_")
  sums <- t(rowsum(t(x), label))
  n <- table(label)[colnames(sums)]
  sums <- sums[, n >= min_cells, drop = FALSE]
  list(counts = sums, condition = factor(sub("^.*_", "", colnames(sums))))
}

native_voom <- function(pb) {
  design <- stats::model.matrix(~ 0 + pb$condition)
  colnames(design) <- levels(pb$condition)
  y <- edgeR::DGEList(pb$counts)
  keep <- edgeR::filterByExpr(y, design = design)
  y <- edgeR::calcNormFactors(y[keep, , keep.lib.sizes = FALSE])
  fit <- limma::lmFit(limma::voom(y, design), design)
  fit <- limma::eBayes(limma::contrasts.fit(fit, c(-1, 1)))
  limma::topTable(fit, coef = 1, number = Inf)
}

test_that("pseudobulk sums the raw counts of each sample exactly", {
  sce <- sim_cells()
  pb <- degbridge:::.degbridge_pseudobulk(
    SummarizedExperiment::assay(sce, "counts"),
    as.data.frame(SummarizedExperiment::colData(sce)), "donor", "condition", 1, "test")
  native <- native_pseudobulk(sce, colnames(sce), min_cells = 1)
  expect_identical(colnames(pb$counts), sort(colnames(native$counts), method = "radix"))
  expect_identical(pb$counts, native$counts[, colnames(pb$counts)])
  expect_identical(pb$samples$n_cells, as.integer(table(paste(sce$donor, sce$condition,
                                                              sep = "_"))[colnames(pb$counts)]))
  expect_identical(pb$samples$condition, rep(c("ctrl", "stim"), each = 4))
  bad <- SummarizedExperiment::assay(sce, "counts")
  bad[3, 7] <- 0.5
  expect_error(degbridge:::.degbridge_pseudobulk(bad, as.data.frame(
    SummarizedExperiment::colData(sce)), "donor", NULL, 1, "test"),
    "cell c0007, gene g003 = 0.5")
})

test_that("a SingleCellExperiment with sample_key equals limma on the summed counts", {
  skip_if_no_degbridge()
  sce <- sim_cells()
  ours <- suppressMessages(degbridge_limma(sce, sample_key = "donor", groups = "condition",
                                           contrast = "stim - ctrl"))
  expect_same_table(ours, native_voom(native_pseudobulk(sce, colnames(sce))))
  expect_error(degbridge_limma(sce, sample_key = "donor", groups = c("a", "b"),
                               contrast = "b - a"), "groups must name a column")
})

test_that("per cell type: one fit each, as native limma on each cell type's pseudobulk", {
  skip_if_no_degbridge()
  sce <- sim_cells()
  expect_warning(
    long <- suppressMessages(degbridge_limma(sce, sample_key = "donor", groups = "condition",
                                             celltype_key = "cell_type",
                                             contrast = "stim - ctrl")),
    "1 of 3 cell types skipped.*'NK': too few samples")
  expect_identical(names(long)[1:3], c("cell_type", "contrast", "gene"))
  expect_identical(unique(long$cell_type), c("T", "B"))  # the factor's order; NK skipped
  for (ct in c("T", "B")) {
    rows <- long[long$cell_type == ct, ]
    tab <- rows[, -(1:3)]
    rownames(tab) <- rows$gene
    expect_same_table(tab, native_voom(native_pseudobulk(sce, colnames(sce)[sce$cell_type == ct])))
  }
  expect_identical(attr(long, "skipped")$cell_type, "NK")
  expect_identical(attr(long, "fits")$n_samples, c(8L, 8L))
  samples <- attr(long, "samples")
  expect_identical(samples$used[samples$cell_type == "NK" & samples$sample == "d1"],
                   "no: fewer than min_cells=10 cells")

  global <- suppressWarnings(suppressMessages(degbridge_limma(
    sce, sample_key = "donor", groups = "condition", celltype_key = "cell_type",
    contrast = "stim - ctrl", adjust = "global")))
  expect_equal(global$adj.P.Val, stats::p.adjust(long$P.Value, method = "BH"),
               tolerance = 1e-14)
  expect_error(suppressMessages(degbridge_limma(
    sce, sample_key = "donor", groups = "condition", celltype_key = "cell_type",
    contrast = "stim - ctrl", min_cells = 100)), "every cell type of cell_type was skipped")
  expect_error(degbridge_limma(sce, sample_key = "donor", groups = "condition",
                               celltype_key = "cell_type", contrast = "stim - none"),
               "none")
})

test_that("edgeR and DESeq2 run per cell type too", {
  skip_if_no_degbridge()
  skip_if_not_installed("DESeq2")
  sce <- sim_cells()
  for (fun in list(degbridge_edger, degbridge_deseq2)) {
    long <- suppressWarnings(suppressMessages(fun(sce, sample_key = "donor",
                                                  groups = "condition",
                                                  celltype_key = "cell_type",
                                                  contrast = "stim - ctrl")))
    expect_identical(unique(long$cell_type), c("T", "B"))
    expect_true(all(c("cell_type", "contrast", "gene") %in% names(long)))
  }
})
