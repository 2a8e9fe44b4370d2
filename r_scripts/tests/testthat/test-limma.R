## degbridge_limma against limma's own calls, written out here (the limma User's Guide
## recipes), in this R session.

up <- rep(c(FALSE, TRUE), each = 4)
counts <- sim_counts(1500, up, seed = 1)
sheet <- sim_sheet()

native_voom <- function(counts, sheet, coef = "grouptrt") {
  design <- stats::model.matrix(~ batch + group, data = sheet[colnames(counts), ])
  y <- edgeR::DGEList(counts = counts)
  keep <- edgeR::filterByExpr(y, design = design)
  y <- y[keep, , keep.lib.sizes = FALSE]
  y <- edgeR::calcNormFactors(y, method = "TMM")
  v <- limma::voom(y, design)
  fit <- limma::eBayes(limma::lmFit(v, design))
  limma::topTable(fit, coef = coef, number = Inf)
}

test_that("voom on a matrix and a sample sheet equals limma's own calls", {
  skip_if_no_degbridge()
  expect_message(
    ours <- degbridge_limma(counts, sheet, design = ~ batch + group, coef = "grouptrt"),
    "method = \"voom\" \\(raw counts detected")
  native <- native_voom(counts, sheet)
  expect_s3_class(ours, "data.frame")
  expect_identical(names(ours), c("logFC", "AveExpr", "t", "P.Value", "adj.P.Val", "B"))
  expect_false(is.unsorted(-ours$B))
  expect_same_table(ours, native)
  expect_identical(attr(ours, "method_choice"),
                   "voom: raw counts detected (non-negative integers)")
  expect_gt(mean(ours[sprintf("g%04d", 1:60), "logFC"] > 0, na.rm = TRUE), 0.9)
})

test_that("a sample sheet in another order is matched by ID, never by position", {
  skip_if_no_degbridge()
  reference <- suppressMessages(degbridge_limma(counts, sheet, design = ~ batch + group,
                                                coef = "grouptrt"))
  perm <- c(6, 3, 8, 1, 5, 2, 7, 4)
  by_rownames <- sheet[perm, ]
  by_column <- data.frame(sample = rownames(sheet)[perm], group = sheet$group[perm],
                          batch = sheet$batch[perm])
  by_factor <- transform(by_column, sample = factor(sample))
  for (shuffled in list(by_rownames, by_column, by_factor)) {
    ours <- suppressMessages(degbridge_limma(counts, shuffled, design = ~ batch + group,
                                             coef = "grouptrt"))
    expect_identical(ours, reference)
  }
  expect_same_table(reference, native_voom(counts, sheet))
  no_ids <- sheet[perm, ]
  rownames(no_ids) <- NULL
  expect_error(suppressMessages(degbridge_limma(counts, no_ids, design = ~ group,
                                                coef = "grouptrt")),
               "no sample IDs.*match = \"position\"")
  positional <- sheet
  rownames(positional) <- NULL
  expect_identical(suppressMessages(degbridge_limma(counts, positional,
                                                    design = ~ batch + group,
                                                    coef = "grouptrt", match = "position")),
                   reference)
  expect_error(suppressMessages(degbridge_limma(counts, by_rownames[-3, ], design = ~ group,
                                                coef = "grouptrt")),
               "not in the table \\['s08'\\]")
})

test_that("SummarizedExperiment, DGEList and ExpressionSet inputs give the same numbers", {
  skip_if_no_degbridge()
  reference <- suppressMessages(degbridge_limma(counts, sheet, design = ~ batch + group,
                                                coef = "grouptrt"))
  se <- SummarizedExperiment::SummarizedExperiment(
    assays = list(other = counts + 0.5, counts = counts), colData = sheet)
  expect_identical(suppressMessages(degbridge_limma(se, design = ~ batch + group,
                                                    coef = "grouptrt")), reference)
  expect_identical(suppressMessages(degbridge_limma(se, design = ~ batch + group,
                                                    coef = "grouptrt", assay = 2)), reference)
  expect_error(degbridge_limma(se, design = ~ group, coef = "grouptrt", assay = "logcounts"),
               "not an assay.*'other', 'counts'")
  y <- edgeR::DGEList(counts = counts, samples = sheet)
  expect_identical(suppressMessages(degbridge_limma(y, design = ~ batch + group,
                                                    coef = "grouptrt")), reference)

  logged <- log2(counts + 1)
  eset <- Biobase::ExpressionSet(logged, phenoData = Biobase::AnnotatedDataFrame(sheet))
  expect_message(ours <- degbridge_limma(eset, design = ~ batch + group, coef = "grouptrt"),
                 "method = \"ls\"")
  design <- stats::model.matrix(~ batch + group, data = sheet)
  native <- limma::topTable(limma::eBayes(limma::lmFit(logged, design)), coef = "grouptrt",
                            number = Inf)
  expect_same_table(ours, native)
})

test_that("several contrasts give one table each and the moderated F-test", {
  skip_if_no_degbridge()
  logged <- log2(counts + 1)
  ours <- degbridge_limma(logged, sheet, groups = "group", method = "ls", robust = TRUE,
                          contrast = c("trt - ctl", "(trt + ctl)/2 - ctl"))
  expect_named(ours, c("trt - ctl", "(trt + ctl)/2 - ctl", "F"))
  design <- stats::model.matrix(~ 0 + group, data = sheet)
  colnames(design) <- c("ctl", "trt")
  cm <- limma::makeContrasts(trt - ctl, (trt + ctl) / 2 - ctl, levels = design)
  fit <- limma::eBayes(limma::contrasts.fit(limma::lmFit(logged, design), cm), robust = TRUE)
  for (k in 1:2)
    expect_same_table(ours[[k]], limma::topTable(fit, coef = k, number = Inf))
  expect_same_table(ours$F, limma::topTable(fit, coef = 1:2, number = Inf))
  ## one label per sample instead of a column name: the same design
  by_labels <- degbridge_limma(logged, sheet, groups = sheet$group, method = "ls",
                               robust = TRUE, contrast = c("trt - ctl", "(trt + ctl)/2 - ctl"))
  expect_identical(by_labels, ours)
})

test_that("treat, block and limma-trend equal their native calls", {
  skip_if_no_degbridge()
  logged <- log2(counts + 1)
  design <- stats::model.matrix(~ group, data = sheet)
  ours <- degbridge_limma(logged, sheet, design = ~ group, coef = "grouptrt", method = "ls",
                          lfc = 0.5)
  expect_false("B" %in% names(ours))
  native <- limma::topTreat(limma::treat(limma::lmFit(logged, design), lfc = 0.5),
                            coef = "grouptrt", number = Inf)
  expect_same_table(ours, native)

  ours <- degbridge_limma(logged, sheet, design = ~ group, coef = "grouptrt", method = "ls",
                          block = "batch")
  cor <- limma::duplicateCorrelation(logged, design, block = sheet$batch)$consensus.correlation
  fit <- limma::eBayes(limma::lmFit(logged, design, block = sheet$batch, correlation = cor))
  expect_same_table(ours, limma::topTable(fit, coef = "grouptrt", number = Inf))

  ours <- degbridge_limma(counts, sheet, design = ~ group, coef = "grouptrt",
                          method = "trend", filter = FALSE)
  y <- edgeR::calcNormFactors(edgeR::DGEList(counts))
  fit <- limma::eBayes(limma::lmFit(edgeR::cpm(y, log = TRUE, prior.count = 3), design),
                       trend = TRUE)
  expect_same_table(ours, limma::topTable(fit, coef = "grouptrt", number = Inf))
})

test_that("formulas and contrasts are data, checked in Python, never evaluated", {
  skip_if_no_degbridge()
  scratch <- tempfile()
  dir.create(scratch)
  old <- setwd(scratch)
  on.exit(setwd(old), add = TRUE)
  expect_error(suppressMessages(degbridge_limma(counts, sheet, design = ~ group,
                                                contrast = "system('touch PWNED')")),
               "unexpected text")
  expect_error(suppressMessages(degbridge_limma(counts, sheet,
                                                design = "~ group + system('touch PWNED')",
                                                coef = "grouptrt")), "system")
  expect_false(file.exists("PWNED"))
  expect_error(degbridge_limma(counts, sheet, design = ~ group, coef = "grouptrt",
                               method = "deseq"),
               "^ValueError: method must be one of \\['ls', 'voom', 'trend'\\]")
  expect_error(degbridge_limma(counts / 3, sheet, design = ~ group, coef = "grouptrt",
                               method = "voom"),
               "method 'voom' needs raw integer counts, but gene g")
  expect_warning(degbridge_limma(counts[1:200, ] + 60, sheet, design = ~ group,
                                 coef = "grouptrt", method = "ls"),
                 "look like raw counts")
  expect_error(degbridge_limma(counts, sheet, design = ~ group, coef = "grouptrt",
                               contrast = "trt - ctl"), "not both")
})
