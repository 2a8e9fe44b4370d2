## A kept limma fit: new contrasts, decideTests and gene-set tests, against limma's calls.

up <- rep(c(FALSE, TRUE), each = 4)
counts <- sim_counts(1000, up, seed = 6)
sheet <- sim_sheet()
design <- stats::model.matrix(~ batch + group, data = sheet)
y <- edgeR::DGEList(counts = counts)
keep <- edgeR::filterByExpr(y, design = design)
y <- edgeR::calcNormFactors(y[keep, , keep.lib.sizes = FALSE])
v <- limma::voom(y, design)
native_fit <- limma::lmFit(v, design)

test_that("the fit is voom + lmFit once; tests and decideTests equal limma's", {
  skip_if_no_degbridge()
  f <- suppressMessages(degbridge_fit(counts, sheet, design = ~ batch + group))
  expect_s3_class(f, "degbridge_fit")
  expect_output(print(f), "degbridge_fit: [0-9]+ genes x 8 samples \\(voom")
  expect_equal(unname(f$fit$coefficients), unname(native_fit$coefficients), tolerance = 1e-12)
  expect_same_table(degbridge_test(f, coef = "grouptrt"),
                    limma::topTable(limma::eBayes(native_fit), coef = "grouptrt", number = Inf))
  cm <- limma::makeContrasts(batchb2 - batchb3, levels = make.names(colnames(design)))
  rownames(cm) <- colnames(design)
  native <- limma::topTable(limma::eBayes(limma::contrasts.fit(native_fit, cm)), coef = 1,
                            number = Inf)
  expect_same_table(degbridge_test(f, contrast = "batchb2 - batchb3"), native)
  dt <- degbridge_decide_tests(f, contrast = c("grouptrt", "batchb2"))
  expect_s4_class(dt, "TestResults")
  cm2 <- diag(ncol(design))[, c(5, 2)]
  dimnames(cm2) <- list(colnames(design), c("grouptrt", "batchb2"))
  native_dt <- limma::decideTests(limma::eBayes(limma::contrasts.fit(native_fit, cm2)))
  expect_equal(unclass(dt)[rownames(native_dt), ], unclass(native_dt)[, ], ignore_attr = TRUE)
  expect_error(degbridge_test(f, contrast = "groupfoo"), "groupfoo")
})

test_that("camera and fry on the fit equal limma's on voom's output", {
  skip_if_no_degbridge()
  f <- suppressMessages(degbridge_fit(counts, sheet, design = ~ batch + group))
  genes <- rownames(v)
  sets <- list(up = genes[1:40], mixed = genes[seq(1, length(genes), by = 7)],
               absent = c("nope1", "nope2"))
  index <- limma::ids2indices(sets, genes)
  native <- limma::camera(v, index, design, contrast = 5)
  ours <- limma::camera(f, sets, coef = "grouptrt")
  expect_same_table(ours[, c("NGenes", "PValue", "FDR")], native[, c("NGenes", "PValue", "FDR")])
  expect_identical(ours[rownames(native), "Direction"], native$Direction)
  native <- limma::fry(v, index, design, contrast = 5)
  ours <- limma::fry(f, sets, coef = "grouptrt")
  expect_same_table(ours[, c("NGenes", "PValue", "FDR")], native[, c("NGenes", "PValue", "FDR")])
  expect_error(limma::camera(f, list(s = c("x", "y")), coef = "grouptrt"),
               "no gene of the 1 gene sets is among the fit's")
})
