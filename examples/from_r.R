## An R user: the R package degbridge on a SummarizedExperiment, results as data.frames.
##
##   make r-package                                   # once: R CMD INSTALL r_scripts
##   DEGBRIDGE_PYTHON=.venv/bin/python Rscript examples/from_r.R
##
## DEGBRIDGE_PYTHON (or options(degbridge.python = ...)) is the Python where degbridge is
## installed (e.g. the project's .venv): it checks and builds designs and contrasts, and runs
## degbridge_compare(); limma, edgeR and DESeq2 run in this R session.

library(degbridge)
degbridge_python()

## the airway counts bundled with degbridge, as a SummarizedExperiment (any works)
se <- degbridge_airway()

## limma-voom, edgeR's QL F-test and DESeq2's Wald test, with the same arguments
tab <- degbridge_limma(se, design = ~ celltype + dex, coef = "dextreated")
print(head(tab))
cat(sum(tab$adj.P.Val < 0.05), "genes with adj.P.Val < 0.05 (limma-voom)\n")
qlf <- degbridge_edger(se, design = ~ celltype + dex, coef = "dextreated")
cat(sum(qlf$FDR < 0.05), "genes with FDR < 0.05 (edgeR QL)\n")
if (requireNamespace("DESeq2", quietly = TRUE)) {
  res <- degbridge_deseq2(se, design = ~ celltype + dex, coef = "dextreated")
  cat(sum(res$padj < 0.05, na.rm = TRUE), "genes with padj < 0.05 (DESeq2)\n")
}

## the limma results beside the genes, in rowData
se <- degbridge_add_rowdata(se, tab, prefix = "dex_")
print(SummarizedExperiment::rowData(se)[rownames(tab)[1:3], ])

## the comparison runs in Python (scikit-learn); the most honest score comes first
cmp <- suppressWarnings(degbridge_compare(tab, models = c("linear", "ridge", "knn"), cv = 3))
print(cmp)
print(as.data.frame(cmp, table = "leakage")[, c("relation", "flagged")])
