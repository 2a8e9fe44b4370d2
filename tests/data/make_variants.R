## Regenerates the R-written variants of the real tables in this folder (see README.md).
## Run from this folder with: Rscript make_variants.R
tt <- read.csv("limma_voom_top200.csv", row.names = 1, check.names = FALSE)

# write.table() with its defaults: space-separated, strings quoted, row names without a header
write.table(tt, "toptable_write_table.txt")

# tab-separated, nothing quoted (header one field shorter than the rows)
write.table(tt, "toptable_unquoted.tsv", sep = "\t", quote = FALSE)

# every value quoted, numbers included (as spreadsheet exports do)
tq <- tt
tq[] <- lapply(tt, function(x) sprintf("%.15g", x))
write.csv(tq, "toptable_all_quoted.csv")

# an old-style GEO2R export: the sample-group string on the first line, upper-case exponents,
# gzip-compressed
geo <- readLines("geo2r_GSE48452_top300.tsv")
geo <- gsub("([0-9])e([-+][0-9])", "\\1E\\2", geo)
con <- gzfile("geo2r_old_groupline.tsv.gz", "w")
writeLines(c('"0000000000000011111111111111XXXX"', geo), con)
close(con)
