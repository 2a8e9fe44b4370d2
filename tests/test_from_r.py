"""R users through reticulate: r_scripts/degbridge.R end to end in a native Rscript."""

from __future__ import annotations

import shutil
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

from degbridge import LeakageWarning, compare, run_limma

from .conftest import read_full, run_rscript

pytestmark = pytest.mark.r

SCRIPT = r"""
library(reticulate)
use_python(Sys.getenv("DEGBRIDGE_PYTHON"), required = TRUE)
source(import("degbridge")$r_script_path("degbridge.R"))

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
err2 <- tryCatch(degbridge_limma(counts / 3, samples, design = ~ dex, coef = "dextreated"),
                 error = function(e) conditionMessage(e))
cat("ERROR2:", err2, "\n")
"""


@pytest.fixture(scope="module")
def from_r(tmp_path_factory):
    if shutil.which("Rscript") is None:
        pytest.skip("Rscript is not on PATH")
    check = subprocess.run(
        ["Rscript", "-e", "quit(status = !requireNamespace('reticulate', quietly = TRUE))"],
        capture_output=True,
    )
    if check.returncode:
        pytest.skip("R package reticulate is not installed (Debian: r-cran-reticulate)")
    import importlib.resources
    import os

    d = tmp_path_factory.mktemp("from_r")
    data = importlib.resources.files("degbridge").joinpath("data")
    os.environ["DEGBRIDGE_PYTHON"] = sys.executable
    os.environ["AIRWAY_COUNTS"] = str(data.joinpath("airway_counts.tsv.gz"))
    os.environ["AIRWAY_SAMPLES"] = str(data.joinpath("airway_samples.tsv"))
    try:
        out = run_rscript(SCRIPT, d)
    finally:
        for key in ("DEGBRIDGE_PYTHON", "AIRWAY_COUNTS", "AIRWAY_SAMPLES"):
            os.environ.pop(key, None)
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
    assert "ERROR2: method 'voom' needs raw integer counts, but gene ENSG" in out
    assert not (d / "PWNED").exists()
