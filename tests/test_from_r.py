"""R users: the R package degbridge (r_scripts/) end to end in a native Rscript, against Python.

The R package's own tests (r_scripts/tests/testthat, run by R CMD check) compare its numbers
with limma, edgeR and DESeq2 called natively in the same R session; here its results are
compared with the Python API's on the same data, and the old entry point (sourcing
``degbridge.R``) is checked to attach the installed package.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from degbridge import LeakageWarning, compare, run_limma

from .conftest import read_full, run_rscript
from .r_package import PREAMBLE, install_r_package, r_package_environment

pytestmark = pytest.mark.r

SCRIPT = r"""
.libPaths(c(Sys.getenv("DEGBRIDGE_R_LIB"), .libPaths()))
library(reticulate)
use_python(Sys.getenv("DEGBRIDGE_PYTHON"), required = TRUE)
## the old entry point of R users: it attaches the installed R package
source(import("degbridge")$r_script_path("degbridge.R"))
stopifnot("package:degbridge" %in% search())

counts <- as.matrix(read.delim(gzfile(Sys.getenv("AIRWAY_COUNTS")), row.names = 1, check.names = FALSE))
samples <- read.delim(Sys.getenv("AIRWAY_SAMPLES"), row.names = 1)

tab <- degbridge_limma(counts, samples, design = ~ celltype + dex, coef = "dextreated")
stopifnot(is.data.frame(tab), nrow(tab) == 15912,
          identical(colnames(tab), c("logFC", "AveExpr", "t", "P.Value", "adj.P.Val", "B")),
          all(grepl("^ENSG", rownames(tab))), !anyNA(tab$logFC), !is.unsorted(-tab$B))
write_full(tab, "limma_from_r.tsv")

res <- withCallingHandlers(
  degbridge_compare(tab, target = "logFC", models = c("linear", "decision_tree"), cv = 3),
  warning = function(w) { cat("R WARNING:", conditionMessage(w), "\n"); invokeRestart("muffleWarning") })
stopifnot(is.list(res), is.data.frame(res$leaderboard), is.data.frame(res$predictions),
          identical(rownames(res$predictions)[1:3], rownames(tab)[1:3]),
          is.character(res$predictions$split), is.numeric(res$leaderboard$cv_r2_mean),
          res$best %in% c("linear", "decision_tree"), is.data.frame(res$leakage),
          all(c("t", "P.Value", "adj.P.Val", "B") %in% rownames(res$leakage)[res$leakage$flagged]))
write_full(res$leaderboard[, c("model", "cv_r2_mean", "test_r2")], "leaderboard_from_r.tsv")
write_full(res$predictions[, c("observed", "predicted", "oof")], "predictions_from_r.tsv")

err <- tryCatch(degbridge_limma(counts, samples, design = ~ dex, coef = "system('touch PWNED')"),
                error = function(e) conditionMessage(e))
cat("ERROR:", err, "\n")
err2 <- tryCatch(degbridge_limma(counts / 3, samples, design = ~ dex, coef = "dextreated",
                                 method = "voom"),
                 error = function(e) conditionMessage(e))
cat("ERROR2:", err2, "\n")
lsw <- character()
expressed <- counts[1:3000, ][apply(counts[1:3000, ], 1, min) > 10, ]  # no zero variances
tab_ls <- withCallingHandlers(
  degbridge_limma(expressed, samples, design = ~ dex, coef = "dextreated", method = "ls"),
  warning = function(w) { lsw <<- c(lsw, conditionMessage(w)); invokeRestart("muffleWarning") })
stopifnot(is.data.frame(tab_ls), nrow(tab_ls) == nrow(expressed))
cat("LS WARNINGS:", length(lsw), "\n")
cat("LS WARNING:", lsw, "\n")
logged <- withCallingHandlers(
  degbridge_limma(log2(expressed + 1), samples, design = ~ dex, coef = "dextreated",
                  method = "ls"),
  warning = function(w) stop("unexpected warning: ", conditionMessage(w)))
"""


@pytest.fixture(scope="module")
def r_lib(tmp_path_factory):
    return install_r_package(tmp_path_factory)


@pytest.fixture(scope="module")
def from_r(tmp_path_factory, r_lib):
    import importlib.resources

    d = tmp_path_factory.mktemp("from_r")
    data = importlib.resources.files("degbridge").joinpath("data")
    with r_package_environment(
        r_lib,
        AIRWAY_COUNTS=str(data.joinpath("airway_counts.tsv.gz")),
        AIRWAY_SAMPLES=str(data.joinpath("airway_samples.tsv")),
    ):
        out = run_rscript(SCRIPT, d)
    return d, out


def test_limma_from_r_equals_python(from_r, airway):
    d, _ = from_r
    counts, samples = airway
    ours = run_limma(
        counts, samples=samples, design="~ celltype + dex", coef="dextreated", method="voom"
    )
    theirs = read_full(d / "limma_from_r.tsv")
    assert list(theirs.index) == list(ours.index)
    pd.testing.assert_frame_equal(theirs, pd.DataFrame(ours), check_exact=True, check_names=False)


def test_compare_from_r_equals_python(from_r, airway):
    d, out = from_r
    counts, samples = airway
    tab = run_limma(
        counts, samples=samples, design="~ celltype + dex", coef="dextreated", method="voom"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LeakageWarning)
        res = compare(tab, target="logFC", models=["linear", "decision_tree"], cv=3, progress=False)
    board = read_full(d / "leaderboard_from_r.tsv")
    assert list(board["model"]) == list(res.leaderboard["model"])
    np.testing.assert_array_equal(
        board["cv_r2_mean"].to_numpy(), res.leaderboard["cv_r2_mean"].to_numpy()
    )
    np.testing.assert_array_equal(
        board["test_r2"].to_numpy(), res.leaderboard["test_r2"].to_numpy()
    )
    preds = read_full(d / "predictions_from_r.tsv")
    np.testing.assert_array_equal(preds["oof"].to_numpy(), res.predictions["oof"].to_numpy())
    assert "R WARNING: target 'logFC': features ['t', 'P.Value', 'adj.P.Val', 'B']" in out


def test_errors_reach_r_as_r_errors(from_r):
    d, out = from_r
    assert "ERROR: ValueError: contrast \"system('touch PWNED')\": unexpected text" in out
    assert "ERROR2: degbridge_limma: method 'voom' needs raw integer counts, but gene ENSG" in out
    assert not (d / "PWNED").exists()


def test_ls_on_raw_counts_warns_in_r_as_in_python(from_r):
    """degbridge_limma(method = "ls") on counts: one R warning, the words run_limma uses."""
    _, out = from_r
    assert "LS WARNINGS: 1 \n" in out
    assert (
        'LS WARNING: degbridge_limma: method = "ls" was given, but these look like raw counts '
        "(non-negative, above 50): lmFit expects log-expression. Log-transform them first"
    ) in out


# ---------------------------------------------------------------------------------------
# one sample-matching rule (issue 11, point 3): the R helper matches sheet rows by ID
# ---------------------------------------------------------------------------------------

GRP = ["ctl"] * 4 + ["trt"] * 4  # in matrix order (s0..s7)
BATCH = ["b1", "b2", "b3", "b4"] * 2
PERM = [5, 2, 7, 0, 4, 1, 6, 3]  # the sheets' row order (0-based), not the matrix's

SHUFFLED_SCRIPT = r"""
.libPaths(c(Sys.getenv("DEGBRIDGE_R_LIB"), .libPaths()))
library(reticulate)
use_python(Sys.getenv("DEGBRIDGE_PYTHON"), required = TRUE)
## the old entry point of R users: it attaches the installed R package
source(import("degbridge")$r_script_path("degbridge.R"))
stopifnot("package:degbridge" %in% search())
try_msg <- function(expr) tryCatch({ expr; "no error" }, error = function(e) conditionMessage(e))

x <- read_matrix_bin("expr")
dimnames(x) <- list(paste0("g", seq_len(nrow(x)) - 1L), paste0("s", seq_len(ncol(x)) - 1L))
grp <- c(rep("ctl", 4), rep("trt", 4))
batch <- rep(c("b1", "b2", "b3", "b4"), 2)
perm <- c(6, 3, 8, 1, 5, 2, 7, 4)

## the same sheet, shuffled, three ways of carrying the IDs
by_rownames <- data.frame(grp = grp, batch = batch)[perm, ]
rownames(by_rownames) <- colnames(x)[perm]
by_column <- data.frame(batch = batch[perm], sample = colnames(x)[perm], grp = grp[perm])
by_factor <- data.frame(sample = factor(colnames(x)[perm]), grp = factor(grp[perm]),
                        batch = factor(batch[perm]))
stopifnot(.row_names_info(by_column) < 0, .row_names_info(by_factor) < 0,
          is.factor(by_factor$sample))

for (name in c("by_rownames", "by_column", "by_factor")) {
  tab <- degbridge_limma(x, get(name), design = ~ grp, coef = "grptrt", method = "ls")
  write_full(tab, paste0("helper_", name, ".tsv"))
  blk <- degbridge_limma(x, get(name), design = ~ grp, coef = "grptrt", method = "ls",
                         block = "batch")
  write_full(blk, paste0("helper_block_", name, ".tsv"))
}

## no IDs at all: refused, unless match = "position" (sheet then in colnames(x) order)
no_ids <- data.frame(grp = grp, batch = batch)
cat("NOIDS:", try_msg(degbridge_limma(x, no_ids, design = ~ grp, coef = "grptrt",
                                       method = "ls")), "\n")
try_msg(write_full(degbridge_limma(x, no_ids, design = ~ grp, coef = "grptrt", method = "ls",
                                   match = "position"), "helper_position.tsv"))
## match = "position" never overrides IDs that do not match
cat("MISSING:", try_msg(degbridge_limma(x, by_column[-3, ], design = ~ grp, coef = "grptrt",
                                         method = "ls", match = "position")), "\n")
cat("MISSING_RN:", try_msg(degbridge_limma(x, by_rownames[-3, ], design = ~ grp, coef = "grptrt",
                                           method = "ls")), "\n")

## native limma on the right design
design <- model.matrix(~ factor(grp))
colnames(design) <- c("(Intercept)", "grptrt")
fit <- eBayes(lmFit(x, design))
write_full(topTable(fit, coef = "grptrt", number = Inf, sort.by = "none"), "native.tsv")
cor <- duplicateCorrelation(x, design, block = batch)$consensus.correlation
fit <- eBayes(lmFit(x, design, block = batch, correlation = cor))
write_full(topTable(fit, coef = "grptrt", number = Inf, sort.by = "none"), "native_block.tsv")
"""

SHEETS = ("by_rownames", "by_column", "by_factor")


def _shuffled_expr() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    values = rng.normal(8, 1, size=(300, 8))
    values[:60, 4:] += 1.7  # 60 genes up in trt: a swapped sheet flips their sign
    return pd.DataFrame(
        values,
        index=[f"g{i}" for i in range(300)],
        columns=[f"s{j}" for j in range(8)],
    )


@pytest.fixture(scope="module")
def shuffled_from_r(tmp_path_factory, r_lib):
    from .conftest import write_matrix_bin

    d = tmp_path_factory.mktemp("shuffled_from_r")
    write_matrix_bin(_shuffled_expr().to_numpy(), d / "expr")
    with r_package_environment(r_lib):
        out = run_rscript(SHUFFLED_SCRIPT, d)
    return d, out


def _python_sheet() -> pd.DataFrame:
    expr = _shuffled_expr()
    sheet = pd.DataFrame({"grp": GRP, "batch": BATCH}, index=expr.columns)
    return sheet.iloc[PERM]


@pytest.mark.parametrize("sheet", SHEETS)
def test_shuffled_sheet_from_r_equals_native_limma(shuffled_from_r, sheet):
    from .conftest import assert_same_table

    d, _ = shuffled_from_r
    native = read_full(d / "native.tsv")
    helper = read_full(d / f"helper_{sheet}.tsv")
    assert (helper.loc[[f"g{i}" for i in range(60)], "logFC"] > 0).mean() > 0.9
    assert_same_table(helper, native, rtol=1e-9, columns=["logFC", "AveExpr", "t", "P.Value", "B"])
    blk = read_full(d / f"helper_block_{sheet}.tsv")
    native_blk = read_full(d / "native_block.tsv")
    assert_same_table(blk, native_blk, rtol=1e-8, columns=["logFC", "t", "P.Value"])


@pytest.mark.parametrize("sheet", SHEETS)
def test_shuffled_sheet_from_r_equals_python(shuffled_from_r, sheet):
    from .conftest import assert_same_table

    d, _ = shuffled_from_r
    expr, samples = _shuffled_expr(), _python_sheet()
    ours = run_limma(expr, samples=samples, design="~ grp", coef="grptrt", method="ls")
    assert_same_table(pd.DataFrame(ours), read_full(d / f"helper_{sheet}.tsv"), rtol=1e-12)
    ours = run_limma(
        expr, samples=samples, design="~ grp", coef="grptrt", method="ls", block="batch"
    )
    assert_same_table(pd.DataFrame(ours), read_full(d / f"helper_block_{sheet}.tsv"), rtol=1e-12)


def test_sheet_without_ids_from_r(shuffled_from_r):
    from .conftest import assert_same_table

    d, out = shuffled_from_r
    assert "NOIDS: ValueError: the sample table has no sample IDs" in out
    assert 'match = "position"' in out
    assert_same_table(read_full(d / "helper_position.tsv"), read_full(d / "native.tsv"), rtol=1e-9)


def test_sample_missing_from_sheet_named_in_r(shuffled_from_r):
    _, out = shuffled_from_r
    # row 3 of the shuffled sheets is sample s7 (perm[3] = 8 in R)
    for key in ("MISSING", "MISSING_RN"):
        line = next(li for li in out.splitlines() if li.startswith(f"{key}:"))
        assert "do not match" in line
        assert "matrix samples not in the table ['s7']" in line


def test_sample_missing_from_sheet_named_in_python():
    expr = _shuffled_expr()
    sheet = _python_sheet().reset_index(names="sample")
    sheet["sample"] = sheet["sample"].astype("category")
    ours = run_limma(expr, samples=sheet, design="~ grp", coef="grptrt", method="ls")
    by_index = run_limma(expr, samples=_python_sheet(), design="~ grp", coef="grptrt", method="ls")
    pd.testing.assert_frame_equal(pd.DataFrame(ours), pd.DataFrame(by_index), check_exact=True)
    with pytest.raises(ValueError, match=r"not in the table \['s7'\].*") as err:
        run_limma(expr, samples=sheet.drop(index=2), design="~ grp", coef="grptrt", method="ls")
    assert "column 'sample'" in str(err.value)
    no_ids = sheet.drop(columns="sample").reset_index(drop=True)
    with pytest.raises(ValueError, match="the sample table has no sample IDs"):
        run_limma(expr, samples=no_ids, design="~ grp", coef="grptrt", method="ls")


# ---------------------------------------------------------------------------------------
# Bioconductor objects from R, the three methods, against the Python API
# ---------------------------------------------------------------------------------------

BIOC_SCRIPT = (
    PREAMBLE
    + r"""
se <- degbridge_airway()
stopifnot(is(se, "SummarizedExperiment"), identical(dim(se), c(38694L, 8L)),
          identical(levels(se$dex), c("control", "treated")))
tab <- suppressMessages(degbridge_limma(se, design = ~ celltype + dex, coef = "dextreated"))
write_full(tab, "se_limma.tsv")
sub <- se[1:4000, ]
write_full(degbridge_edger(sub, design = ~ celltype + dex, coef = "dextreated"), "edger.tsv")
write_full(degbridge_edger(sub, groups = "dex", test = "exact"), "edger_exact.tsv")
write_full(degbridge_deseq2(se[1:1500, ], design = ~ celltype + dex, coef = "dextreated"),
           "deseq2.tsv")
se2 <- degbridge_add_rowdata(se, tab, prefix = "dex_")
write_full(as.data.frame(SummarizedExperiment::rowData(se2)), "rowdata.tsv")
"""
)


@pytest.fixture(scope="module")
def bioc_from_r(tmp_path_factory, r_lib):
    d = tmp_path_factory.mktemp("bioc_from_r")
    with r_package_environment(r_lib):
        run_rscript(BIOC_SCRIPT, d)
    return d


def test_summarized_experiment_from_r_equals_python(bioc_from_r, airway):
    from .conftest import assert_same_table

    counts, samples = airway
    ours = run_limma(
        counts, samples=samples, design="~ celltype + dex", coef="dextreated", method="voom"
    )
    theirs = read_full(bioc_from_r / "se_limma.tsv")
    assert list(theirs.index) == list(ours.index)
    assert_same_table(pd.DataFrame(ours), theirs, rtol=1e-12)
    rowdata = read_full(bioc_from_r / "rowdata.tsv")
    assert list(rowdata.index) == list(counts.index)  # every gene of the SE, in its order
    tested = rowdata.dropna(subset=["dex_logFC"]).rename(columns=lambda c: c.removeprefix("dex_"))
    assert_same_table(pd.DataFrame(ours), tested, rtol=1e-12)
    assert rowdata["dex_logFC"].isna().sum() == len(counts) - len(ours)


def test_edger_and_deseq2_from_r_equal_python(bioc_from_r, airway):
    from degbridge import run_deseq2, run_edger

    from .conftest import assert_same_table

    counts, samples = airway
    edger_names = {"logCPM": "AveExpr", "PValue": "P.Value", "FDR": "adj.P.Val"}
    ours = run_edger(
        counts.iloc[:4000], samples=samples, design="~ celltype + dex", coef="dextreated"
    )
    theirs = read_full(bioc_from_r / "edger.tsv").rename(columns=edger_names)
    assert list(theirs.index) == list(ours.index)
    assert_same_table(pd.DataFrame(ours), theirs, rtol=1e-12)
    ours = run_edger(counts.iloc[:4000], groups=samples["dex"], test="exact")
    theirs = read_full(bioc_from_r / "edger_exact.tsv").rename(columns=edger_names)
    assert_same_table(pd.DataFrame(ours), theirs, rtol=1e-12)
    ours = run_deseq2(
        counts.iloc[:1500], samples=samples, design="~ celltype + dex", coef="dextreated"
    )
    theirs = read_full(bioc_from_r / "deseq2.tsv").rename(
        columns={"log2FoldChange": "logFC", "stat": "t", "pvalue": "P.Value", "padj": "adj.P.Val"}
    )
    assert list(theirs.index) == list(ours.index)
    assert_same_table(pd.DataFrame(ours), theirs, rtol=1e-12)
