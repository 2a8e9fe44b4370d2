"""run_deseq2 against DESeq2 in a native Rscript process, written as the DESeq2 vignette writes
it (DESeqDataSetFromMatrix with a formula, DESeq, results by name): the Wald test and the LRT
with reduced ~ celltype on the airway counts, every column of every gene ≤ 1e-10, NA pattern
included. Plus the reasons for missing P-values and bad input."""

from __future__ import annotations

import numpy as np
import pytest

import degbridge
from degbridge import read_table
from degbridge.de.deseq2 import run_deseq2
from degbridge.de.edger import native_columns

from .conftest import assert_same_table, read_full, run_rscript

NATIVE = r"""
suppressPackageStartupMessages(library(DESeq2))
counts <- as.matrix(read.delim("airway_counts.tsv", row.names = 1, check.names = FALSE))
s <- read.delim("airway_samples.tsv", row.names = 1, stringsAsFactors = TRUE)
dds <- DESeqDataSetFromMatrix(countData = counts, colData = s, design = ~ celltype + dex)
dds <- DESeq(dds)
res <- results(dds, name = "dex_treated_vs_control")
write_full(as.data.frame(res), "wald.tsv")
writeLines(sprintf("%.17g", sizeFactors(dds)), "size_factors.txt")
writeLines(sprintf("%.17g", metadata(res)$filterThreshold), "threshold.txt")
shr <- lfcShrink(dds, coef = "dex_treated_vs_control", type = "normal")
write_full(as.data.frame(shr), "shrink.tsv")
dds <- DESeq(dds, test = "LRT", reduced = ~ celltype)
write_full(as.data.frame(results(dds, name = "dex_treated_vs_control")), "lrt.tsv")
"""

pytestmark = pytest.mark.r


def _deseq2_or_skip():
    from degbridge import r

    if not r.package_installed("DESeq2"):
        pytest.skip("Debian's r-bioc-deseq2 is not installed")


@pytest.fixture(scope="module")
def airway_sub(airway):
    """Every third airway gene (12,898 genes, all-zero ones included): the same parity checks
    as the whole matrix at a third of DESeq2's time (a full DESeq run takes about a minute
    here)."""
    counts, samples = airway
    return counts.iloc[::3], samples


@pytest.fixture(scope="module")
def native(tmp_path_factory, airway_sub):
    _deseq2_or_skip()
    d = tmp_path_factory.mktemp("native_deseq2")
    counts, samples = airway_sub
    counts.astype(int).to_csv(d / "airway_counts.tsv", sep="\t")
    samples.to_csv(d / "airway_samples.tsv", sep="\t")
    run_rscript(NATIVE, d, timeout=1200)
    return d


@pytest.fixture(scope="module")
def wald(airway_sub):
    _deseq2_or_skip()
    counts, samples = airway_sub
    return run_deseq2(counts, samples=samples, design="~ celltype + dex", coef="dextreated")


def test_wald_airway(native, wald, airway_sub):
    counts, _ = airway_sub
    theirs = read_full(native / "wald.tsv")
    ours = native_columns(wald)
    assert list(ours.columns) == list(theirs.columns)
    assert_same_table(ours, theirs)
    assert list(wald.index) == list(theirs.index) == list(counts.index)  # results() order
    assert list(wald.columns) == ["logFC", "t", "P.Value", "adj.P.Val", "baseMean", "lfcSE"]
    assert list(read_table(native / "wald.tsv", kind="deseq2").columns) == list(wald.columns)
    m = wald.meta
    sf = [float(v) for v in (native / "size_factors.txt").read_text().split()]
    np.testing.assert_allclose(list(m["size_factors"].values()), sf, rtol=1e-12)
    assert m["filter_threshold"] == pytest.approx(
        float((native / "threshold.txt").read_text()), rel=1e-12
    )
    assert m["versions"]["DESeq2"].startswith("1.")


def test_na_reasons_counted(native, wald):
    theirs = read_full(native / "wald.tsv")
    reasons = wald.meta["na_reasons"]
    zero = theirs["baseMean"] == 0
    na_p = theirs["pvalue"].isna()
    assert reasons["all_zero"] == int(zero.sum()) > 0
    assert reasons["cooks_outlier"] == int((na_p & ~zero).sum())
    assert reasons["independent_filtering"] == int((~na_p & theirs["padj"].isna()).sum()) > 0
    # missing values stay missing: nothing dropped
    assert len(wald) == len(theirs)
    assert int(wald["adj.P.Val"].isna().sum()) == sum(reasons.values())


def test_lrt_reduced_formula(native, airway_sub):
    counts, samples = airway_sub
    ours = run_deseq2(
        counts,
        samples=samples,
        design="~ celltype + dex",
        coef="dextreated",
        test="LRT",
        reduced="~ celltype",
    )
    assert_same_table(native_columns(ours), read_full(native / "lrt.tsv"))
    assert "stat" in ours.columns and "t" not in ours.columns  # a chi-squared, not a t
    assert ours.meta["method"] == "DESeq2 LRT"


def test_shrink_normal(native, airway_sub):
    counts, samples = airway_sub
    ours = run_deseq2(
        counts, samples=samples, design="~ celltype + dex", coef="dextreated", shrink="normal"
    )
    assert_same_table(native_columns(ours), read_full(native / "shrink.tsv"))


def test_independent_filtering_off(wald, airway_sub):
    counts, samples = airway_sub
    ours = run_deseq2(
        counts,
        samples=samples,
        design="~ celltype + dex",
        coef="dextreated",
        independent_filtering=False,
    )
    assert ours.meta["na_reasons"]["independent_filtering"] == 0
    np.testing.assert_allclose(ours["P.Value"], wald["P.Value"], rtol=1e-12)  # NaN == NaN
    assert ours["adj.P.Val"].notna().sum() > wald["adj.P.Val"].notna().sum()


def test_missing_deseq2_names_debian_package(monkeypatch, airway_sub):
    from degbridge import r

    monkeypatch.setattr(r, "package_installed", lambda name: name != "DESeq2")
    counts, samples = airway_sub
    with pytest.raises(degbridge.RNotAvailableError, match="r-bioc-deseq2"):
        run_deseq2(counts.iloc[:100], samples=samples, design="~ dex", coef="dextreated")


def test_bad_input(airway_sub):
    counts, samples = airway_sub
    small = counts.iloc[:300]
    with pytest.raises(ValueError, match="run_deseq2 needs raw counts"):
        run_deseq2(small / 3, samples=samples, design="~ dex", coef="dextreated")
    with pytest.raises(ValueError, match="needs reduced="):
        run_deseq2(small, samples=samples, design="~ celltype + dex", coef="dextreated", test="LRT")
    with pytest.raises(ValueError, match="must be nested"):
        run_deseq2(
            small,
            samples=samples,
            design="~ dex",
            coef="dextreated",
            test="LRT",
            reduced="~ celltype",
        )
    with pytest.raises(ValueError, match="test must be"):
        run_deseq2(small, samples=samples, design="~ dex", coef="dextreated", test="wald")
    with pytest.raises(ValueError, match="one contrast at a time"):
        run_deseq2(
            small, groups=samples["celltype"], contrast=["N061011 - N052611", "N61311 - N052611"]
        )


def test_lazy_export():
    assert degbridge.run_deseq2 is run_deseq2
