## degbridge_edger against edgeR's own calls (the edgeR User's Guide recipes), written out here.

up <- rep(c(FALSE, TRUE), each = 4)
counts <- sim_counts(1200, up, seed = 2)
sheet <- sim_sheet()

test_that("the quasi-likelihood F-test equals edgeR's own calls", {
  skip_if_no_degbridge()
  ours <- degbridge_edger(counts, sheet[8:1, ], design = ~ batch + group, coef = "grouptrt")
  design <- stats::model.matrix(~ batch + group, data = sheet)
  y <- edgeR::DGEList(counts = counts)
  keep <- edgeR::filterByExpr(y, design = design)
  y <- edgeR::calcNormFactors(y[keep, , keep.lib.sizes = FALSE])
  y <- edgeR::estimateDisp(y, design, robust = TRUE)
  fit <- edgeR::glmQLFit(y, design, robust = TRUE)
  native <- edgeR::topTags(edgeR::glmQLFTest(fit, coef = "grouptrt"), n = Inf)$table
  expect_identical(names(ours), c("logFC", "logCPM", "F", "PValue", "FDR"))
  expect_identical(rownames(ours), rownames(native))  # topTags' order
  expect_same_table(ours, native)
  treat <- degbridge_edger(counts, sheet, design = ~ batch + group, coef = "grouptrt",
                           lfc = 1)
  expect_same_table(treat, edgeR::topTags(edgeR::glmTreat(fit, coef = "grouptrt", lfc = 1),
                                          n = Inf)$table)
})

test_that("the likelihood-ratio test of a contrast equals glmLRT", {
  skip_if_no_degbridge()
  ours <- degbridge_edger(counts, sheet, groups = "group", test = "lrt",
                          contrast = c("trt - ctl", "ctl - trt"), robust = FALSE,
                          normalize = "RLE")
  expect_named(ours, c("trt - ctl", "ctl - trt"))
  design <- stats::model.matrix(~ 0 + group, data = sheet)
  y <- edgeR::DGEList(counts = counts)
  keep <- edgeR::filterByExpr(y, design = design)
  y <- edgeR::calcNormFactors(y[keep, , keep.lib.sizes = FALSE], method = "RLE")
  fit <- edgeR::glmFit(edgeR::estimateDisp(y, design), design)
  native <- edgeR::topTags(edgeR::glmLRT(fit, contrast = c(-1, 1)), n = Inf)$table
  expect_same_table(ours[["trt - ctl"]], native)
  expect_equal(ours[["ctl - trt"]][rownames(native), "logFC"], -native$logFC, tolerance = 1e-12)
})

test_that("the exact test equals exactTest, from a DGEList's groups", {
  skip_if_no_degbridge()
  y <- edgeR::DGEList(counts = counts, group = sheet$group)
  ours <- degbridge_edger(y, groups = "group", test = "exact")
  native_y <- edgeR::DGEList(counts = counts, group = sheet$group)
  keep <- edgeR::filterByExpr(native_y)
  native_y <- edgeR::calcNormFactors(native_y[keep, , keep.lib.sizes = FALSE])
  native_y <- suppressMessages(edgeR::estimateDisp(native_y, robust = TRUE))
  native <- edgeR::topTags(edgeR::exactTest(native_y, pair = c("ctl", "trt")), n = Inf)$table
  expect_same_table(ours, native)
  flipped <- degbridge_edger(y, groups = "group", test = "exact", contrast = "ctl - trt")
  expect_equal(flipped[rownames(native), "logFC"], -native$logFC, tolerance = 1e-12)
  expect_error(degbridge_edger(y, groups = "group", test = "exact", lfc = 1),
               "glmTreat\\) needs a GLM fit")
  expect_error(degbridge_edger(counts, sheet, design = ~ batch + group, test = "exact"),
               "compares two groups")
  expect_error(degbridge_edger(counts, sheet, design = ~ group, coef = "grouptrt",
                               normalize = "quantile"), "normalize must be one of")
  expect_error(degbridge_edger(counts + 0.5, sheet, design = ~ group, coef = "grouptrt"),
               "needs raw integer counts")
})
