## degbridge: GO gene sets from Bioconductor's org.*.eg.db / GO.db (degbridge.gene_sets("GO:BP")).
##
## A GO term's set is every Entrez gene annotated to the term or to one of its descendants:
## the content of org.Hs.egGO2ALLEGS (what limma's goana and GO users test). It is read with
## one SQL query on the package's own tables (go_bp_all, go_mf_all, go_cc_all), which hold
## exactly that map: the same pairs as AnnotationDbi::as.list(org.Hs.egGO2ALLEGS) for the
## ontology (checked by degbridge's tests) in seconds instead of a minute.
##
## Every argument is data: the ontology and species are checked against fixed lists (here and
## in Python), IDs cross as a character vector. No user text reaches the SQL or R code.

.degbridge_org_package <- function(species) {
  pkg <- switch(species, human = "org.Hs.eg.db", mouse = "org.Mm.eg.db",
                stop("unsupported species: ", species))
  if (!requireNamespace(pkg, quietly = TRUE))
    stop("the R annotation package ", pkg, " is not installed")
  pkg
}

## The GO sets of one ontology ("BP", "MF" or "CC") as compact numbers:
##   ids      GO IDs, sorted;  terms  their names (GO.db);  sizes  genes per set
##   universe the Entrez IDs annotated to any term of the ontology, sorted
##   codes    1-based positions in universe, set after set (sizes[1] codes, then sizes[2]...)
degbridge_go_sets <- function(ontology, species = "human") {
  pkg <- .degbridge_org_package(species)
  table <- switch(ontology, BP = "go_bp_all", MF = "go_mf_all", CC = "go_cc_all",
                  stop("unsupported ontology: ", ontology))
  sql <- switch(table,
    go_bp_all = "SELECT DISTINCT g.gene_id, a.go_id FROM genes AS g JOIN go_bp_all AS a ON g._id = a._id",
    go_mf_all = "SELECT DISTINCT g.gene_id, a.go_id FROM genes AS g JOIN go_mf_all AS a ON g._id = a._id",
    go_cc_all = "SELECT DISTINCT g.gene_id, a.go_id FROM genes AS g JOIN go_cc_all AS a ON g._id = a._id")
  db <- getExportedValue(pkg, pkg)
  pairs <- DBI::dbGetQuery(AnnotationDbi::dbconn(db), sql)
  ids <- sort(unique(pairs$go_id))
  universe <- sort(unique(as.character(pairs$gene_id)))
  set <- match(pairs$go_id, ids)
  code <- match(as.character(pairs$gene_id), universe)
  o <- order(set, code)
  if (!requireNamespace("GO.db", quietly = TRUE))
    stop("the R package GO.db is not installed")
  terms <- suppressMessages(unname(AnnotationDbi::Term(ids)))
  list(ids = ids, terms = as.character(terms), universe = universe,
       codes = as.integer(code[o]), sizes = tabulate(set, nbins = length(ids)),
       versions = list(org = as.character(utils::packageVersion(pkg)),
                       GO = as.character(utils::packageVersion("GO.db"))))
}

## Entrez ID of each of ids (NA where none): keytype is ENSEMBL, SYMBOL or ENTREZID (checked
## in Python). Several Entrez IDs for one key: the first, as mapIds' default multiVals.
degbridge_entrez_of <- function(ids, keytype, species = "human") {
  pkg <- .degbridge_org_package(species)
  db <- getExportedValue(pkg, pkg)
  ids <- as.character(ids)
  if (keytype == "ENTREZID")
    return(ifelse(ids %in% AnnotationDbi::keys(db, keytype = "ENTREZID"), ids, NA_character_))
  out <- rep(NA_character_, length(ids))
  valid <- ids %in% AnnotationDbi::keys(db, keytype = keytype)
  if (any(valid))
    out[valid] <- suppressMessages(unname(AnnotationDbi::mapIds(
      db, keys = ids[valid], column = "ENTREZID", keytype = keytype, multiVals = "first")))
  out
}

## Gene sets as limma's index: a named list of integer row vectors, from the rows of all sets
## one after the other (rows), the number of rows of each set (lengths) and the set names.
degbridge_index_list <- function(rows, lengths, names) {
  set <- rep.int(seq_along(lengths), as.integer(lengths))
  index <- split(as.integer(rows), factor(set, levels = seq_along(lengths)))
  names(index) <- as.character(names)
  index
}
