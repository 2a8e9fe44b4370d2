"""run_edger against edgeR in a native Rscript process, written as the edgeR User's Guide writes
it: QL, LRT, treat (on ``~ celltype + dex``) and the exact test (two groups by dex), airway
counts, every column of every gene ≤ 1e-10, in topTags order. Plus bad input."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import degbridge
from degbridge import DETable, read_table
from degbridge.de.edger import native_columns, run_edger

from .conftest import assert_same_table, read_full, run_rscript

NATIVE = r"""
counts <- as.matrix(read.delim("airway_counts.tsv", row.names = 1, check.names = FALSE))
s <- read.delim("airway_samples.tsv", row.names = 1, stringsAsFactors = TRUE)
design <- model.matrix(~ celltype + dex, data = s)
y <- DGEList(counts)
keep <- filterByExpr(y, design)
y <- y[keep, , keep.lib.sizes = FALSE]
y <- calcNormFactors(y)
y <- estimateDisp(y, design, robust = TRUE)
writeLines(sprintf("%.17g", c(y$common.dispersion, y$samples$norm.factors)), "ql_disp.txt")
fit <- glmQLFit(y, design, robust = TRUE)
write_full(topTags(glmQLFTest(fit, coef = "dextreated"), n = Inf)$table, "ql.tsv")
write_full(topTags(glmTreat(fit, coef = "dextreated", lfc = log2(1.5)), n = Inf)$table, "treat.tsv")
fit <- glmFit(y, design)
write_full(topTags(glmLRT(fit, coef = "dextreated"), n = Inf)$table, "lrt.tsv")

y <- DGEList(counts, group = s$dex)
keep <- filterByExpr(y)
y <- y[keep, , keep.lib.sizes = FALSE]
y <- calcNormFactors(y)
y <- estimateDisp(y)
write_full(topTags(exactTest(y), n = Inf)$table, "exact.tsv")
"""


@pytest.fixture(scope="module")
def native(tmp_path_factory, airway):
    d = tmp_path_factory.mktemp("native_edger")
    counts, samples = airway
    counts.astype(int).to_csv(d / "airway_counts.tsv", sep="\t")
    samples.to_csv(d / "airway_samples.tsv", sep="\t")
    run_rscript(NATIVE, d)
    return d


def _same(ours: DETable, theirs: pd.DataFrame) -> None:
    native = native_columns(ours)
    assert list(native.columns) == list(theirs.columns)
    assert_same_table(native, theirs)
    assert list(ours.index) == list(theirs.index)  # topTags order


@pytest.mark.r
def test_ql_airway(native, airway):
    counts, samples = airway
    ours = run_edger(counts, samples=samples, design="~ celltype + dex", coef="dextreated")
    theirs = read_full(native / "ql.tsv")
    assert theirs.shape == (15912, 5)
    _same(ours, theirs)
    assert list(ours.columns) == ["logFC", "AveExpr", "P.Value", "adj.P.Val", "F"]
    # the same names and order as read_table's documented edgeR mapping of the native table
    imported = read_table(native / "ql.tsv", kind="edger")
    assert list(imported.columns) == list(ours.columns)
    m = ours.meta
    assert m["kind"] == "edger" and m["method"] == "edgeR-QL" and m["test"] == "ql"
    assert m["column_map"] == {"logCPM": "AveExpr", "PValue": "P.Value", "FDR": "adj.P.Val"}
    assert m["n_genes_filtered"] == 38694 - 15912
    disp = [float(v) for v in (native / "ql_disp.txt").read_text().split()]
    assert m["dispersion"]["common"] == pytest.approx(disp[0], rel=1e-12)
    np.testing.assert_allclose(list(m["norm_factors"].values()), disp[1:], rtol=1e-12)
    assert list(m["norm_factors"]) == list(counts.columns)
    assert m["versions"]["edgeR"].startswith("3.")


@pytest.mark.r
def test_lrt_airway(native, airway):
    counts, samples = airway
    ours = run_edger(
        counts, samples=samples, design="~ celltype + dex", coef="dextreated", test="lrt"
    )
    _same(ours, read_full(native / "lrt.tsv"))
    assert "LR" in ours.columns and ours.meta["method"] == "edgeR-LRT"


@pytest.mark.r
def test_treat_airway(native, airway):
    counts, samples = airway
    ours = run_edger(
        counts,
        samples=samples,
        design="~ celltype + dex",
        contrast="dextreated",
        lfc=math.log2(1.5),
    )
    _same(ours, read_full(native / "treat.tsv"))
    assert ours.meta["method"] == "edgeR-QL treat"


@pytest.mark.r
def test_exact_two_groups(native, airway):
    counts, samples = airway
    ours = run_edger(counts, groups=samples["dex"], test="exact", robust=False)
    _same(ours, read_full(native / "exact.tsv"))
    assert ours.meta["contrast"] == "treated - control"
    # the reverse contrast flips the fold changes and keeps the P-values
    rev = run_edger(
        counts, groups=samples["dex"], test="exact", robust=False, contrast="control - treated"
    )
    rev = rev.loc[ours.index]
    np.testing.assert_allclose(rev["logFC"], -ours["logFC"], rtol=1e-12)
    np.testing.assert_allclose(rev["P.Value"], ours["P.Value"], rtol=1e-12)


@pytest.mark.r
def test_sparse_anndata_equals_dataframe(airway):
    import anndata as ad
    import scipy.sparse as sp

    counts, samples = airway
    small = counts.iloc[:3000]
    dense = run_edger(small, samples=samples, design="~ celltype + dex", coef="dextreated")
    adata = ad.AnnData(
        X=sp.csr_matrix(small.T.to_numpy()), obs=samples, var=pd.DataFrame(index=small.index)
    )
    sparse = run_edger(adata, design="~ celltype + dex", coef="dextreated")
    pd.testing.assert_frame_equal(pd.DataFrame(sparse), pd.DataFrame(dense), check_exact=True)
    assert sparse.meta["dropped_all_zero"] > 0


def test_non_counts_refused(airway):
    counts, samples = airway
    logged = np.log2(counts.iloc[:200] + 1.5)
    with pytest.raises(ValueError, match=r"run_edger needs raw counts.*non-integer"):
        run_edger(logged, samples=samples, design="~ celltype + dex", coef="dextreated")
    neg = counts.iloc[:200].copy()
    neg.iloc[3, 2] = -1
    with pytest.raises(ValueError, match=r"negative value\(s\), first at gene"):
        run_edger(neg, samples=samples, design="~ celltype + dex", coef="dextreated")


def test_exact_needs_two_groups(airway):
    counts, samples = airway
    with pytest.raises(ValueError, match="exactly two levels"):
        run_edger(counts.iloc[:200], groups=samples["celltype"], test="exact")
    with pytest.raises(ValueError, match="exactly two levels"):
        run_edger(counts.iloc[:200], samples=samples, design="~ dex", test="exact")
    with pytest.raises(ValueError, match="one group against the other"):
        run_edger(
            counts.iloc[:200], groups=samples["dex"], test="exact", contrast="2*treated - control"
        )
    with pytest.raises(ValueError, match="glmTreat"):
        run_edger(counts.iloc[:200], groups=samples["dex"], test="exact", lfc=1.0)


def test_bad_options(airway):
    counts, samples = airway
    with pytest.raises(ValueError, match="test must be one of"):
        run_edger(counts, groups=samples["dex"], test="wald")
    with pytest.raises(ValueError, match="normalize"):
        run_edger(counts, groups=samples["dex"], normalize="TPM")
    with pytest.raises(ValueError, match="lfc must be"):
        run_edger(counts, groups=samples["dex"], lfc=-1)


def test_lazy_export():
    assert degbridge.run_edger is run_edger
