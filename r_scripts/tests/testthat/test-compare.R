## degbridge_compare on the tables of limma, edgeR and DESeq2 (their own classes too), and
## the methods of its result.

up <- rep(c(FALSE, TRUE), each = 4)
counts <- sim_counts(900, up, seed = 7)
sheet <- sim_sheet()

test_that("compare takes a DESeqResults, and gives what its data.frame gives", {
  skip_if_no_degbridge()
  skip_if_not_installed("DESeq2")
  dds <- suppressMessages(
    DESeq2::DESeqDataSetFromMatrix(counts, colData = sheet, design = ~ batch + group))
  res <- DESeq2::results(DESeq2::DESeq(dds, quiet = TRUE), name = "group_trt_vs_ctl")
  expect_s4_class(res, "DESeqResults")
  cmp <- suppressWarnings(degbridge_compare(res, models = c("linear", "decision_tree"), cv = 3))
  expect_s3_class(cmp, "degbridge_comparison")
  expect_identical(cmp$target, "log2FoldChange")
  expect_setequal(cmp$leaderboard$model, c("linear", "decision_tree"))
  expect_true(cmp$best %in% c("linear", "decision_tree"))
  ## genes without a log2FoldChange (all zero) are dropped; the others are predicted
  tested <- rownames(res)[!is.na(res$log2FoldChange)]
  expect_setequal(rownames(cmp$predictions), tested)
  expect_true(all(c("stat", "pvalue") %in% rownames(cmp$leakage)[cmp$leakage$flagged]))
  same <- suppressWarnings(degbridge_compare(as.data.frame(res), target = "log2FoldChange",
                                             models = c("linear", "decision_tree"), cv = 3))
  expect_identical(same$leaderboard[, c("model", "cv_r2_mean", "test_r2")],
                   cmp$leaderboard[, c("model", "cv_r2_mean", "test_r2")])
})

test_that("compare takes edgeR's TopTags and degbridge's tables; its methods work", {
  skip_if_no_degbridge()
  y <- edgeR::DGEList(counts, group = sheet$group)
  y <- edgeR::calcNormFactors(y[edgeR::filterByExpr(y), , keep.lib.sizes = FALSE])
  tt <- edgeR::topTags(edgeR::exactTest(suppressMessages(edgeR::estimateDisp(y))), n = Inf)
  cmp <- suppressWarnings(degbridge_compare(tt, models = "linear", cv = 3))
  expect_identical(cmp$target, "logFC")
  expect_setequal(rownames(cmp$predictions), rownames(tt))

  tab <- suppressMessages(degbridge_limma(counts, sheet, design = ~ batch + group,
                                          coef = "grouptrt"))
  expect_warning(cmp <- degbridge_compare(tab, models = c("linear", "knn"), cv = 3),
                 "target 'logFC': features .* are transforms of the target")
  out <- capture.output(print(cmp))
  expect_match(out[2], "^target 'logFC': [0-9]+ genes")
  expect_match(out[3], "^most honest score \\(without flagged features")  # honest first
  expect_match(paste(out, collapse = "\n"), "model +cv_r2_mean")
  s <- summary(cmp)
  expect_s3_class(s, "summary.degbridge_comparison")
  expect_true(all(c("t", "P.Value", "adj.P.Val", "B") %in% s$flagged))
  expect_identical(rownames(s$honest), "without flagged features")
  expect_output(print(s), "most honest score")
  expect_identical(as.data.frame(cmp), cmp$leaderboard)
  expect_identical(as.data.frame(cmp, table = "leakage"), cmp$leakage)
  expect_error(as.data.frame(cmp, table = "nope"), "table must be one of leaderboard")
  grDevices::pdf(NULL)
  on.exit(grDevices::dev.off(), add = TRUE)
  expect_identical(plot(cmp), cmp)
  expect_identical(plot(cmp, which = "predictions"), cmp)
  expect_error(degbridge_compare(list(a = tab, b = tab)), "one table is needed")
  ## gene IDs in a column instead of the row names
  by_column <- data.frame(gene = rownames(tab), tab, row.names = NULL)
  same <- suppressWarnings(degbridge_compare(by_column, models = c("linear", "knn"), cv = 3))
  expect_identical(same$leaderboard[, c("model", "cv_r2_mean", "test_r2")],
                   cmp$leaderboard[, c("model", "cv_r2_mean", "test_r2")])
  repeated <- data.frame(gene = rownames(tab)[c(1, 1:50)], logFC = tab$logFC[c(1, 1:50)],
                         AveExpr = tab$AveExpr[c(1, 1:50)])
  expect_error(degbridge_compare(repeated), "repeated IDs, e.g. g")
  expect_error(degbridge_compare(tab, target = "nope", models = "linear"), "nope")
})
