## degbridge: per-gene features from Bioconductor annotation (org.Hs.eg.db, GO.db,
## geneLenDataBase), known before any experiment. Arguments are data: a character vector of
## IDs and a key type that Python validated against a fixed list.

degbridge_annotation_packages <- function(species) {
  pkg <- switch(species, human = "org.Hs.eg.db", stop("unsupported species: ", species))
  if (!requireNamespace(pkg, quietly = TRUE))
    stop("the R annotation package ", pkg, " is not installed")
  pkg
}

## Per-ID annotation. ids: character vector; keytype: ENSEMBL, ENTREZID or SYMBOL.
## Returns plain vectors aligned with ids (NA where an ID does not map).
degbridge_gene_annotation <- function(ids, keytype, species = "human", tx_length = TRUE) {
  pkg <- degbridge_annotation_packages(species)
  db <- getExportedValue(pkg, pkg)
  suppressPackageStartupMessages(requireNamespace("AnnotationDbi", quietly = TRUE))
  ids <- as.character(ids)
  entrez <- if (keytype == "ENTREZID") {
    ifelse(ids %in% AnnotationDbi::keys(db, keytype = "ENTREZID"), ids, NA_character_)
  } else {
    suppressMessages(unname(AnnotationDbi::mapIds(db, keys = ids, column = "ENTREZID",
                                                  keytype = keytype, multiVals = "first")))
  }
  first_of <- function(table, key, value) {
    table <- table[!duplicated(table[[key]]), , drop = FALSE]
    table[[value]][match(entrez, table[[key]])]
  }
  env <- asNamespace(pkg)
  bimap <- function(name) getExportedValue(pkg, paste0(sub("\\.db$", "", pkg), name))
  genes <- AnnotationDbi::toTable(bimap("GENENAME"))
  symbols <- AnnotationDbi::toTable(bimap("SYMBOL"))
  chr <- AnnotationDbi::toTable(bimap("CHR"))
  start <- AnnotationDbi::toTable(bimap("CHRLOC"))
  end <- AnnotationDbi::toTable(bimap("CHRLOCEND"))
  go <- AnnotationDbi::toTable(bimap("GO"))
  # genomic span: first location of each gene on its main chromosome (CHRLOC is signed by strand)
  loc <- merge(start[!duplicated(start$gene_id), c("gene_id", "start_location", "Chromosome")],
               end[!duplicated(end$gene_id), c("gene_id", "end_location")], by = "gene_id")
  loc$span <- abs(loc$end_location) - abs(loc$start_location) + 1
  loc$strand <- sign(loc$start_location)
  gt <- AnnotationDbi::select(db, keys = unique(stats::na.omit(entrez)), columns = "GENETYPE",
                              keytype = "ENTREZID")
  n_go <- function(ont) {
    g <- go[go$Ontology == ont, c("gene_id", "go_id")]
    g <- g[!duplicated(g), , drop = FALSE]
    counts <- table(g$gene_id)
    out <- as.numeric(counts[entrez])
    out[is.na(out) & !is.na(entrez)] <- 0
    out
  }
  res <- list(
    entrez = entrez,
    symbol = first_of(symbols, "gene_id", "symbol"),
    name = first_of(genes, "gene_id", "gene_name"),
    chromosome = first_of(chr, "gene_id", "chromosome"),
    gene_type = suppressMessages(gt$GENETYPE[match(entrez, gt$ENTREZID)]),
    span = loc$span[match(entrez, loc$gene_id)],
    strand = loc$strand[match(entrez, loc$gene_id)],
    start = abs(loc$start_location[match(entrez, loc$gene_id)]),
    n_go_bp = n_go("BP"),
    n_go_mf = n_go("MF"),
    n_go_cc = n_go("CC"),
    versions = list(org = as.character(utils::packageVersion(pkg)),
                    AnnotationDbi = as.character(utils::packageVersion("AnnotationDbi")))
  )
  if (tx_length && nzchar(system.file(package = "geneLenDataBase"))) {
    # median transcript length per Entrez gene (hg19 UCSC known genes, geneLenDataBase)
    e <- new.env()
    utils::data("hg19.knownGene.LENGTH", package = "geneLenDataBase", envir = e)
    len <- e$hg19.knownGene.LENGTH
    med <- tapply(len$Length, as.character(len$Gene), stats::median)
    res$tx_length <- as.numeric(med[entrez])
    res$versions$geneLenDataBase <- as.character(utils::packageVersion("geneLenDataBase"))
  }
  res
}
