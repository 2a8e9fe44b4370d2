## An R user: degbridge through reticulate, results as ordinary data.frames.
##
##   DEGBRIDGE_PYTHON=/path/to/python Rscript examples/from_r.R
##
## DEGBRIDGE_PYTHON is the Python where degbridge is installed (e.g. the project's .venv).

library(reticulate)
use_python(Sys.getenv("DEGBRIDGE_PYTHON", unset = Sys.which("python3")), required = TRUE)
db <- import("degbridge")
source(db$r_script_path("degbridge.R"))        # degbridge_limma(), degbridge_compare()

## the airway counts bundled with degbridge (any genes x samples count matrix works)
data_dir <- file.path(dirname(db$`__file__`), "data")
counts <- as.matrix(read.delim(gzfile(file.path(data_dir, "airway_counts.tsv.gz")),
                               row.names = 1, check.names = FALSE))
samples <- read.delim(file.path(data_dir, "airway_samples.tsv"), row.names = 1)

## limma-voom runs in this R session; the design is checked and built by degbridge
tab <- degbridge_limma(counts, samples, design = ~ celltype + dex, coef = "dextreated")
print(head(tab))
cat(sum(tab$adj.P.Val < 0.05), "genes with adj.P.Val < 0.05\n")

## the comparison runs in Python (scikit-learn); tables come back as data.frames
res <- suppressWarnings(degbridge_compare(tab, target = "logFC",
                                          models = c("linear", "ridge", "knn"), cv = 3))
print(res$leaderboard[, c("model", "cv_r2_mean", "cv_r2_sd", "test_r2")])
print(res$leakage[, c("relation", "flagged")])
cat(res$summary, "\n")
