"""fit_edger and fit_deseq2: fit once, test many times, numbers equal to native R.

The native side is written as the edgeR User's Guide and the DESeq2 vignette write it (a
formula design on the sample sheet, tests by coefficient name or factor levels); degbridge's
fits are made once and tested several times (coefficients, contrasts, treat, DESeq2's four
alternative hypotheses, results() options), also after a pickle round trip. Every column of
every gene agrees to 1e-10, in the native order and NA pattern. ``run_edger``/``run_deseq2``
give exactly what the fit's ``test`` gives.
"""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from degbridge import DESeq2Fit, EdgerFit, fit_deseq2, fit_edger, run_deseq2, run_edger
from degbridge.de import native_columns

from .conftest import assert_same_table, read_full, run_rscript

pytestmark = pytest.mark.r

EDGER = r"""
counts <- as.matrix(read.delim("counts.tsv", row.names = 1, check.names = FALSE))
s <- read.delim("samples.tsv", row.names = 1, stringsAsFactors = TRUE)
design <- model.matrix(~ celltype + dex, data = s)
y <- DGEList(counts)
keep <- filterByExpr(y, design)
y <- y[keep, , keep.lib.sizes = FALSE]
y <- calcNormFactors(y)
y <- estimateDisp(y, design, robust = TRUE)
fit <- glmQLFit(y, design, robust = TRUE)
write_full(topTags(glmQLFTest(fit, coef = "dextreated"), n = Inf)$table, "ql_dex.tsv")
cm <- makeContrasts(celltypeN61311 - celltypeN080611, levels = design)
write_full(topTags(glmQLFTest(fit, contrast = cm), n = Inf)$table, "ql_cells.tsv")
write_full(topTags(glmTreat(fit, coef = "dextreated", lfc = 1), n = Inf)$table, "ql_treat.tsv")
top <- topTags(glmQLFTest(fit, coef = "dextreated"), n = 25, sort.by = "logFC",
               p.value = 0.01, adjust.method = "holm")$table
write_full(top, "ql_top.tsv")
lfit <- glmFit(y, design)
write_full(topTags(glmLRT(lfit, coef = "celltypeN61311"), n = Inf)$table, "lrt_cell.tsv")
"""

DESEQ2 = r"""
suppressPackageStartupMessages(library(DESeq2))
counts <- as.matrix(read.delim("counts.tsv", row.names = 1, check.names = FALSE))
s <- read.delim("samples.tsv", row.names = 1, stringsAsFactors = TRUE)
dds <- DESeqDataSetFromMatrix(countData = counts, colData = s, design = ~ celltype + dex)
dds <- DESeq(dds)
name <- "dex_treated_vs_control"
write_full(as.data.frame(results(dds, name = name)), "wald.tsv")
for (alt in c("greaterAbs", "lessAbs", "greater", "less"))
  write_full(as.data.frame(results(dds, name = name, lfcThreshold = 0.5, altHypothesis = alt)),
             paste0("alt_", alt, ".tsv"))
write_full(as.data.frame(results(dds, contrast = c("celltype", "N61311", "N080611"))), "cells.tsv")
write_full(as.data.frame(results(dds, name = name, independentFiltering = FALSE, alpha = 0.05,
                                 cooksCutoff = FALSE)), "options.tsv")
"""


def _write_inputs(d, counts: pd.DataFrame, samples: pd.DataFrame) -> None:
    counts.astype(int).to_csv(d / "counts.tsv", sep="\t")
    samples.to_csv(d / "samples.tsv", sep="\t")


def _same(ours, native_file, *, order: bool = True) -> None:
    theirs = read_full(native_file)
    mine = native_columns(ours)
    assert list(mine.columns) == list(theirs.columns)
    assert_same_table(mine, theirs)
    if order:
        assert list(ours.index) == list(theirs.index)


# ---------------------------------------------------------------------------------------
# edgeR
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def edger_native(tmp_path_factory, airway):
    d = tmp_path_factory.mktemp("native_edger_fit")
    _write_inputs(d, *airway)
    run_rscript(EDGER, d)
    return d


@pytest.fixture(scope="module")
def ql_fit(airway) -> EdgerFit:
    counts, samples = airway
    return fit_edger(counts, samples=samples, design="~ celltype + dex")


def test_edger_fit_tests_many_contrasts_like_native(ql_fit, edger_native, airway):
    assert isinstance(ql_fit, EdgerFit) and ql_fit.test_kind == "ql"
    _same(ql_fit.test(coef="dextreated"), edger_native / "ql_dex.tsv")
    _same(ql_fit.test("celltypeN61311 - celltypeN080611"), edger_native / "ql_cells.tsv")
    treat = ql_fit.test(coef="dextreated", lfc=1.0)
    _same(treat, edger_native / "ql_treat.tsv")
    assert treat.meta["method"] == "edgeR-QL treat"
    # run_edger is the fit and one test: the very same numbers
    counts, samples = airway
    run = run_edger(counts, samples=samples, design="~ celltype + dex", coef="dextreated")
    pd.testing.assert_frame_equal(pd.DataFrame(run), pd.DataFrame(ql_fit.test(coef=4)))


def test_edger_top_table_is_top_tags(ql_fit, edger_native):
    top = ql_fit.top_table(
        coef="dextreated", number=25, sort_by="logFC", p_value=0.01, adjust_method="holm"
    )
    _same(top, edger_native / "ql_top.tsv")
    assert len(top) == 25


def test_edger_lrt_fit(airway, edger_native):
    counts, samples = airway
    fit = fit_edger(counts, samples=samples, design="~ celltype + dex", test="lrt")
    _same(fit.test(coef="celltypeN61311"), edger_native / "lrt_cell.tsv")


def test_edger_fit_survives_pickle_and_converts_to_r(ql_fit):
    again = pickle.loads(pickle.dumps(ql_fit))
    pd.testing.assert_frame_equal(
        pd.DataFrame(again.test(coef="dextreated")), pd.DataFrame(ql_fit.test(coef="dextreated"))
    )
    assert repr(again).startswith("EdgerFit(edgeR-QL, ")
    from degbridge import r

    robj = ql_fit.to_r()
    with r.R_LOCK:
        cls = list(r.to_numpy(r.session().ri.baseenv["class"](robj)))
        names = list(r.to_numpy(r.session().ri.baseenv["rownames"](robj)))
    assert cls == ["DGEGLM"]
    assert names == ql_fit.genes


def test_edger_fit_bad_input(ql_fit, airway):
    counts, samples = airway
    with pytest.raises(ValueError, match="lfc must be a number >= 0"):
        ql_fit.test(coef="dextreated", lfc=-1)
    with pytest.raises(ValueError, match="'nope' is not a design column"):
        ql_fit.test("nope")
    with pytest.raises(ValueError, match="top_table takes one contrast"):
        ql_fit.top_table(coef=["dextreated", "celltypeN61311"])
    with pytest.raises(ValueError, match="sort_by='B' is not one of"):
        ql_fit.top_table(coef="dextreated", sort_by="B")
    with pytest.raises(ValueError, match="test must be one of"):
        fit_edger(counts.iloc[:200], samples=samples, design="~ dex", test="wald")


def test_edger_exact_fit(airway):
    counts, samples = airway
    sub = counts.iloc[:3000]
    fit = fit_edger(sub, groups=samples["dex"], test="exact")
    run = run_edger(sub, groups=samples["dex"], test="exact")
    pd.testing.assert_frame_equal(pd.DataFrame(fit.test()), pd.DataFrame(run))
    other = fit.test("control - treated")
    np.testing.assert_allclose(
        other["logFC"].to_numpy(), -run.loc[other.index, "logFC"].to_numpy(), rtol=1e-12
    )
    with pytest.raises(ValueError, match="glmTreat"):
        fit.test(lfc=1.0)


# ---------------------------------------------------------------------------------------
# DESeq2
# ---------------------------------------------------------------------------------------


def _deseq2_or_skip():
    from degbridge import r

    if not r.package_installed("DESeq2"):
        pytest.skip("Debian's r-bioc-deseq2 is not installed")


@pytest.fixture(scope="module")
def airway_third(airway):
    """Every third airway gene (12,898, all-zero genes included): DESeq2's parity at a third of
    its time."""
    counts, samples = airway
    return counts.iloc[::3], samples


@pytest.fixture(scope="module")
def deseq2_native(tmp_path_factory, airway_third):
    _deseq2_or_skip()
    d = tmp_path_factory.mktemp("native_deseq2_fit")
    _write_inputs(d, *airway_third)
    run_rscript(DESEQ2, d, timeout=1200)
    return d


@pytest.fixture(scope="module")
def dds(airway_third) -> DESeq2Fit:
    _deseq2_or_skip()
    counts, samples = airway_third
    return fit_deseq2(counts, samples=samples, design="~ celltype + dex")


def test_deseq2_fit_results_like_native(dds, deseq2_native, airway_third):
    assert isinstance(dds, DESeq2Fit) and dds.test_kind == "Wald"
    wald = dds.test(coef="dextreated")
    _same(wald, deseq2_native / "wald.tsv")
    counts, samples = airway_third
    run = run_deseq2(counts, samples=samples, design="~ celltype + dex", coef="dextreated")
    pd.testing.assert_frame_equal(pd.DataFrame(run), pd.DataFrame(wald))
    _same(dds.test("celltypeN61311 - celltypeN080611"), deseq2_native / "cells.tsv")
    options = dds.test(
        coef="dextreated", independent_filtering=False, alpha=0.05, cooks_cutoff=False
    )
    _same(options, deseq2_native / "options.tsv")
    assert options.meta["na_reasons"]["independent_filtering"] == 0


@pytest.mark.parametrize("alt", ["greaterAbs", "lessAbs", "greater", "less"])
def test_deseq2_alt_hypothesis_like_native(dds, deseq2_native, alt):
    ours = dds.test(coef="dextreated", lfc_threshold=0.5, alt_hypothesis=alt)
    _same(ours, deseq2_native / f"alt_{alt}.tsv")
    assert ours.meta["options"]["alt_hypothesis"] == alt
    assert ours.meta["options"]["lfc_threshold"] == 0.5


def test_run_deseq2_takes_the_threshold_too(airway_third, deseq2_native):
    counts, samples = airway_third
    ours = run_deseq2(
        counts, samples=samples, design="~ celltype + dex", coef="dextreated",
        lfc_threshold=0.5, alt_hypothesis="lessAbs",
    )  # fmt: skip
    _same(ours, deseq2_native / "alt_lessAbs.tsv")


def test_deseq2_top_table_and_pickle(dds):
    again = pickle.loads(pickle.dumps(dds))
    full = again.test(coef="dextreated")
    top = again.top_table(coef="dextreated", number=30, p_value=0.05)
    expected = full.iloc[np.argsort(full["P.Value"].to_numpy(), kind="stable")]
    expected = expected[expected["adj.P.Val"].to_numpy() <= 0.05].iloc[:30]
    pd.testing.assert_frame_equal(pd.DataFrame(top), pd.DataFrame(expected))
    assert repr(again).startswith("DESeq2Fit(")


def test_deseq2_fit_bad_input(dds, airway_third):
    with pytest.raises(ValueError, match="alt_hypothesis must be one of"):
        dds.test(coef="dextreated", alt_hypothesis="two.sided")
    with pytest.raises(ValueError, match="lfc_threshold must be a number >= 0"):
        dds.test(coef="dextreated", lfc_threshold=-0.5)
    with pytest.raises(ValueError, match="leave shrink=None"):
        dds.test(coef="dextreated", lfc_threshold=1.0, shrink="normal")
    with pytest.raises(ValueError, match="one contrast at a time"):
        dds.test(["dextreated", "celltypeN61311"])
    counts, samples = airway_third
    with pytest.raises(ValueError, match=r"Wald test.*not 'LRT'"):
        run_deseq2(
            counts.iloc[:300], samples=samples, design="~ celltype + dex", coef="dextreated",
            test="LRT", reduced="~ celltype", lfc_threshold=1.0,
        )  # fmt: skip
