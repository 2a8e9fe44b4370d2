## degbridge_deseq2 against DESeq2's own calls, written out here (a formula design).

up <- rep(c(FALSE, TRUE), each = 4)
counts <- sim_counts(800, up, seed = 3)
counts[5, ] <- 0L  # an all-zero gene: no P-value
sheet <- sim_sheet()

native_dds <- function(design, ...) {
  dds <- DESeq2::DESeqDataSetFromMatrix(counts, colData = sheet, design = design)
  DESeq2::DESeq(dds, quiet = TRUE, ...)
}

test_that("the Wald test equals DESeq2's own calls", {
  skip_if_no_degbridge()
  skip_if_not_installed("DESeq2")
  ours <- degbridge_deseq2(counts, sheet[c(2, 1, 4, 3, 6, 5, 8, 7), ],
                           design = ~ batch + group, coef = "grouptrt")
  dds <- suppressMessages(native_dds(~ batch + group))
  native <- as.data.frame(DESeq2::results(dds, name = "group_trt_vs_ctl"))
  expect_identical(rownames(ours), rownames(counts))  # results() keeps the gene order
  expect_identical(names(ours), names(native))
  expect_same_table(ours, native)
  expect_true(is.na(ours["g0005", "pvalue"]))

  thr <- degbridge_deseq2(counts, sheet, design = ~ batch + group, coef = "grouptrt",
                          lfc_threshold = 0.5, alt_hypothesis = "greater", alpha = 0.05)
  native <- as.data.frame(DESeq2::results(dds, name = "group_trt_vs_ctl", lfcThreshold = 0.5,
                                          altHypothesis = "greater", alpha = 0.05))
  expect_same_table(thr, native)
})

test_that("the likelihood-ratio test against a reduced formula equals DESeq2's", {
  skip_if_no_degbridge()
  skip_if_not_installed("DESeq2")
  ours <- degbridge_deseq2(counts, sheet, design = ~ batch + group, coef = "grouptrt",
                           test = "LRT", reduced = ~ batch)
  dds <- suppressMessages(native_dds(~ batch + group, test = "LRT", reduced = ~ batch))
  native <- as.data.frame(DESeq2::results(dds, name = "group_trt_vs_ctl"))
  expect_same_table(ours, native)
  expect_error(degbridge_deseq2(counts, sheet, design = ~ group, coef = "grouptrt",
                                test = "LRT", reduced = ~ batch),
               "must be nested in the full design")
  expect_error(degbridge_deseq2(counts, sheet, design = ~ group, coef = "grouptrt",
                                reduced = ~ 1),
               "reduced= is for test='LRT'")
  expect_error(degbridge_deseq2(counts, sheet, groups = "group",
                                contrast = c("trt - ctl", "ctl - trt")),
               "one contrast at a time")
})
