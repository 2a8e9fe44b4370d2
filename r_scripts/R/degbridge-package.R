#' degbridge: limma, edgeR and DESeq2 on Bioconductor objects, with designs checked in Python
#'
#' [degbridge_limma()], [degbridge_edger()] and [degbridge_deseq2()] run differential
#' expression on a matrix with a sample sheet, a `SummarizedExperiment`, a `DGEList`, an
#' `ExpressionSet` or a `SingleCellExperiment` (pseudobulk, per cell type), with the
#' same arguments; [degbridge_add_rowdata()] stores a result in `rowData`;
#' [degbridge_compare()] treats a DE table as a regression problem (scikit-learn, with a
#' leakage audit); [degbridge_read_h5ad()] reads results the Python package stored in an
#' `.h5ad` file. The Python package degbridge builds the designs and contrasts (the same
#' code as in Python, so both give the same numbers); [degbridge_python()] says which Python
#' is used and how to choose it.
#'
#' @keywords internal
"_PACKAGE"
