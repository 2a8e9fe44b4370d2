## degbridge: numbers behind degbridge.pl's R-computed figures (MDS, voom trend).
## Only numbers cross: matrices and vectors in, plain numeric vectors out. Nothing here
## evaluates a string. Sourceable from plain R.

## limma's plotMDS coordinates for a genes x samples matrix (log-expression), or for counts
## through an edgeR DGEList (plotMDS then uses log-CPM, prior.count 2, as limma does).
degbridge_plot_mds <- function(x, top = 500L, gene.selection = "pairwise", counts = FALSE,
                               dim.plot = c(1L, 2L)) {
  stopifnot(is.matrix(x), is.numeric(x))
  obj <- if (isTRUE(counts)) edgeR::DGEList(counts = x) else x
  m <- limma::plotMDS(obj, top = as.integer(top), gene.selection = gene.selection,
                      dim.plot = as.integer(dim.plot), plot = FALSE)
  list(x = as.numeric(m$x), y = as.numeric(m$y),
       var_explained = as.numeric(m$var.explained))
}

## voom's mean-variance trend: the points (sx, sy) and the lowess line that voom draws with
## plot = TRUE, from voom(..., save.plot = TRUE) on a DGEList (optionally filterByExpr, then
## calcNormFactors with `normalize`), as degbridge_limma_de runs it.
degbridge_plot_voom <- function(counts, design, normalize = "TMM", filter = TRUE) {
  stopifnot(is.matrix(counts), is.numeric(counts), is.matrix(design),
            nrow(design) == ncol(counts))
  dge <- edgeR::DGEList(counts = counts)
  keep <- rep(TRUE, nrow(counts))
  if (isTRUE(filter)) {
    keep <- edgeR::filterByExpr(dge, design = design)
    dge <- dge[keep, , keep.lib.sizes = FALSE]
  }
  dge <- edgeR::calcNormFactors(dge, method = normalize)
  v <- limma::voom(dge, design, save.plot = TRUE)
  list(sx = as.numeric(v$voom.xy$x), sy = as.numeric(v$voom.xy$y),
       line_x = as.numeric(v$voom.line$x), line_y = as.numeric(v$voom.line$y),
       keep = as.logical(keep))
}
