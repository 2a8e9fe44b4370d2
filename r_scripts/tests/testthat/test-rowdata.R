## Results into rowData(se) and back.

test_that("a table goes into rowData with a prefix and comes back unchanged", {
  skip_if_no_degbridge()
  up <- rep(c(FALSE, TRUE), each = 4)
  counts <- sim_counts(600, up, seed = 5)
  se <- SummarizedExperiment::SummarizedExperiment(
    assays = list(counts = counts), colData = sim_sheet(),
    rowData = S4Vectors::DataFrame(symbol = paste0("S", seq_len(nrow(counts)))))
  tab <- suppressMessages(degbridge_limma(se, design = ~ batch + group, coef = "grouptrt"))
  expect_lt(nrow(tab), nrow(se))  # filterByExpr left genes out
  se2 <- degbridge_add_rowdata(se, tab, prefix = "trt_")
  rd <- SummarizedExperiment::rowData(se2)
  expect_identical(names(rd), c("symbol", paste0("trt_", names(tab))))
  expect_identical(rd$symbol, SummarizedExperiment::rowData(se)$symbol)
  back <- as.data.frame(rd[, paste0("trt_", names(tab))])
  names(back) <- sub("^trt_", "", names(back))
  back <- back[!is.na(back$logFC), ]
  expect_identical(back[rownames(tab), ], tab[, names(tab)], ignore_attr = TRUE)
  expect_identical(attributes(back[rownames(tab), ])$names, names(tab))
  expect_true(all(is.na(rd[setdiff(rownames(se), rownames(tab)), "trt_logFC"])))

  expect_error(degbridge_add_rowdata(se2, tab, prefix = "trt_"),
               "already has the columns trt_logFC, .*overwrite = TRUE")
  expect_error(degbridge_add_rowdata(se2, tab, prefix = "sym", overwrite = NA),
               "overwrite must be TRUE or FALSE")
  swapped <- tab
  swapped$logFC <- -swapped$logFC
  se3 <- degbridge_add_rowdata(se2, swapped, prefix = "trt_", overwrite = TRUE)
  expect_identical(SummarizedExperiment::rowData(se3)[rownames(tab), "trt_logFC"], -tab$logFC)
  other <- tab
  rownames(other)[1] <- "not_a_gene"
  expect_error(degbridge_add_rowdata(se, other), "1 genes of the table are not rows of se")
})
