"""The R package's kept limma fit in a native Rscript, against the Python API.

degbridge_fit / degbridge_test / degbridge_decide_tests and limma's camera() / fry() on a
degbridge_fit (the R package's S3 methods), called from plain R on airway, give the numbers of
the Python API (fit_limma, LimmaFit.test, decide_tests, camera, fry), which tests/test_fit.py
and tests/test_genesets_go.py check against limma's User's Guide code (and the R package's own
tests, r_scripts/tests/testthat/test-fit.R, against limma called natively).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from degbridge import decide_tests, fit_limma, gene_sets

from .conftest import assert_same_table, read_full, run_rscript
from .r_package import PREAMBLE, install_r_package, r_package_environment

pytestmark = pytest.mark.r

SCRIPT = (
    PREAMBLE
    + r"""
read_gmt <- function(path) {
  lines <- strsplit(readLines(path), "\t")
  sets <- lapply(lines, function(x) x[-(1:2)])
  names(sets) <- vapply(lines, function(x) x[1], "")
  sets
}

counts <- as.matrix(read.delim("airway_counts.tsv", row.names = 1, check.names = FALSE))
samples <- read.delim("airway_samples.tsv", row.names = 1)
f <- suppressMessages(degbridge_fit(counts, samples, design = ~ celltype + dex))
stopifnot(inherits(f, "degbridge_fit"), is(f$fit, "MArrayLM"), nrow(f$E) == length(f$genes),
          identical(dim(f$weights), dim(f$E)))
print(f)
write_full(degbridge_test(f, coef = "dextreated"), "test_coef.tsv")
write_full(degbridge_test(f, contrast = "celltypeN080611 - celltypeN061011"), "test_contrast.tsv")
dt <- degbridge_decide_tests(f, contrast = c("dextreated", "celltypeN080611"))
stopifnot(is(dt, "TestResults"))
write.table(data.frame(gene = rownames(dt), unclass(dt), check.names = FALSE), "decide.tsv",
            sep = "\t", quote = FALSE, row.names = FALSE)
sets <- read_gmt("sets.gmt")
write_full(limma::camera(f, sets, coef = "dextreated"), "camera.tsv")
write_full(limma::fry(f, sets, coef = "dextreated"), "fry.tsv")
write_full(suppressMessages(limma::camera(f, "GO:CC", coef = "dextreated", min.size = 10,
                                          max.size = 500)), "camera_cc.tsv")
err <- tryCatch(degbridge_test(f, contrast = "dexfoo"), error = function(e) conditionMessage(e))
cat("ERROR:", err, "\n")
err2 <- tryCatch(limma::camera(f, list(s = c("7157", "672")), coef = "dextreated"),
                 error = function(e) conditionMessage(e))
cat("ERROR2:", err2, "\n")
"""
)


@pytest.fixture(scope="module")
def from_r(tmp_path_factory, airway):
    lib = install_r_package(tmp_path_factory)
    d = tmp_path_factory.mktemp("r_helper_fit")
    counts, samples = airway
    counts.astype(int).to_csv(d / "airway_counts.tsv", sep="\t")
    samples.to_csv(d / "airway_samples.tsv", sep="\t")
    rng = np.random.default_rng(23)
    genes = np.asarray(counts.index, dtype=object)
    sets = {
        f"random_{k}": list(rng.choice(genes, int(rng.integers(5, 200)), replace=False))
        for k in range(15)
    }
    (d / "sets.gmt").write_text(
        "".join(f"{k}\tdrawn\t" + "\t".join(v) + "\n" for k, v in sets.items())
    )
    with r_package_environment(lib):
        out = run_rscript(SCRIPT, d)
    return d, out, sets


@pytest.fixture(scope="module")
def fit(airway):
    counts, samples = airway
    return fit_limma(counts, samples=samples, design="~ celltype + dex")


def _same_by_set(ours: pd.DataFrame, theirs: pd.DataFrame) -> None:
    assert sorted(ours.index) == sorted(theirs.index)
    numeric = [c for c in theirs.columns if pd.api.types.is_numeric_dtype(theirs[c])]
    assert_same_table(ours, theirs, rtol=1e-10, columns=numeric)
    assert list(ours.loc[theirs.index, "Direction"]) == list(theirs["Direction"])


def test_fit_and_new_contrasts_from_r(from_r, fit):
    d, out, _ = from_r
    assert "degbridge_fit: 15912 genes x 8 samples (voom" in out
    for name, contrast in (
        ("coef", "dextreated"),
        ("contrast", "celltypeN080611 - celltypeN061011"),
    ):
        ours = fit.test(contrast)
        theirs = read_full(d / f"test_{name}.tsv")
        assert list(theirs.index) == list(ours.index)  # same order (by B)
        assert_same_table(pd.DataFrame(ours), theirs, rtol=1e-10)


def test_decide_tests_from_r(from_r, fit):
    d, _, _ = from_r
    ours = decide_tests(fit, ["dextreated", "celltypeN080611"])
    theirs = pd.read_csv(d / "decide.tsv", sep="\t", index_col=0).rename_axis(None)
    assert list(theirs.index) == list(ours.index)
    np.testing.assert_array_equal(theirs.to_numpy(), ours.to_numpy())
    assert ours.summary().loc["Up", "dextreated"] > 0


def test_camera_fry_from_r(from_r, fit):
    d, _, sets = from_r
    _same_by_set(fit.camera(sets, coef="dextreated"), read_full(d / "camera.tsv"))
    _same_by_set(fit.fry(sets, coef="dextreated"), read_full(d / "fry.tsv"))
    cc = gene_sets("GO:CC", min_size=10, max_size=500)
    _same_by_set(fit.camera(cc, coef="dextreated"), read_full(d / "camera_cc.tsv"))


def test_errors_from_r(from_r):
    _, out, _ = from_r
    assert "ERROR: ValueError:" in out and "dexfoo" in out
    assert "ERROR2: no gene of the 1 gene sets is among the fit's 15912 genes" in out
