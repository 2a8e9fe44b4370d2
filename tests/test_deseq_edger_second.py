"""run_edger and run_deseq2 against native Rscript runs on a second real count set.

The Li et al. (2008) LNCaP prostate-cancer counts (4 control lanes, 3 androgen-treated lanes;
the goseq vignette's data, every 4th gene, all-zero genes included: see tests/data/README.md),
analysed in R as the edgeR User's Guide (QL, LRT, treat on ``~ group``; the exact test on a
grouped DGEList; all 12,377 genes) and the DESeq2 vignette (DESeqDataSetFromMatrix with a formula, DESeq,
results by name; the LRT with ``reduced = ~ 1``; lfcShrink; every 2nd gene) write it. Every column of every
gene within 1e-10 (relative), the row order and the NA pattern included.
"""

from __future__ import annotations

import math
import shutil

import numpy as np
import pandas as pd
import pytest

from degbridge import DETable
from degbridge.de.deseq2 import run_deseq2
from degbridge.de.edger import native_columns, run_edger

from .conftest import DATA, assert_same_table, read_full, run_rscript

pytestmark = pytest.mark.r

COUNTS = DATA / "li2008_lncap_counts_every4th.tsv.gz"

NATIVE_EDGER = r"""
counts <- as.matrix(read.delim("counts.tsv.gz", row.names = 1, check.names = FALSE))
s <- read.delim("samples.tsv", row.names = 1, stringsAsFactors = TRUE)
design <- model.matrix(~ group, data = s)
y <- DGEList(counts)
keep <- filterByExpr(y, design)
y <- y[keep, , keep.lib.sizes = FALSE]
y <- calcNormFactors(y)
y <- estimateDisp(y, design, robust = TRUE)
writeLines(sprintf("%.17g", c(y$common.dispersion, y$samples$norm.factors)), "ql_disp.txt")
fit <- glmQLFit(y, design, robust = TRUE)
write_full(topTags(glmQLFTest(fit, coef = 2), n = Inf)$table, "ql.tsv")
write_full(topTags(glmTreat(fit, coef = 2, lfc = log2(1.5)), n = Inf)$table, "ql_treat.tsv")
fit <- glmFit(y, design)
write_full(topTags(glmLRT(fit, coef = 2), n = Inf)$table, "lrt.tsv")
write_full(topTags(glmTreat(fit, coef = 2, lfc = 1), n = Inf)$table, "lrt_treat.tsv")

y <- DGEList(counts, group = s$group)
keep <- filterByExpr(y)
y <- y[keep, , keep.lib.sizes = FALSE]
y <- calcNormFactors(y)
y <- estimateDisp(y)
write_full(topTags(exactTest(y), n = Inf)$table, "exact.tsv")
"""

NATIVE_DESEQ2 = r"""
suppressPackageStartupMessages(library(DESeq2))
counts <- as.matrix(read.delim("counts.tsv.gz", row.names = 1, check.names = FALSE))
counts <- counts[seq(1, nrow(counts), by = 2), ]  # every 2nd gene: DESeq2 time
s <- read.delim("samples.tsv", row.names = 1, stringsAsFactors = TRUE)
dds <- DESeqDataSetFromMatrix(countData = counts, colData = s, design = ~ group)
dds <- DESeq(dds)
res <- results(dds, name = "group_Treated_vs_Control")
write_full(as.data.frame(res), "wald.tsv")
writeLines(sprintf("%.17g", sizeFactors(dds)), "size_factors.txt")
write_full(as.data.frame(results(dds, name = "group_Treated_vs_Control",
                                 independentFiltering = FALSE, alpha = 0.05)), "wald_nofilter.tsv")
write_full(as.data.frame(lfcShrink(dds, coef = "group_Treated_vs_Control", type = "normal")),
           "shrink.tsv")
dds <- DESeq(dds, test = "LRT", reduced = ~ 1)
write_full(as.data.frame(results(dds, name = "group_Treated_vs_Control")), "lrt.tsv")
"""


@pytest.fixture(scope="module")
def li2008():
    counts = pd.read_csv(COUNTS, sep="\t", index_col=0)
    counts.index = counts.index.astype(str)
    # the goseq vignette's grouping: lanes 1-4 untreated, lanes 5, 6 and 8 androgen-treated
    samples = pd.DataFrame({"group": ["Control"] * 4 + ["Treated"] * 3}, index=list(counts.columns))
    assert counts.shape == (12377, 7)
    return counts, samples


def _native(tmp_path_factory, li2008, name: str, code: str):
    d = tmp_path_factory.mktemp(name)
    shutil.copyfile(COUNTS, d / "counts.tsv.gz")  # R reads the same gzip file
    li2008[1].to_csv(d / "samples.tsv", sep="\t")
    run_rscript(code, d, timeout=1200)
    return d


@pytest.fixture(scope="module")
def native_edger(tmp_path_factory, li2008):
    return _native(tmp_path_factory, li2008, "li_edger", NATIVE_EDGER)


@pytest.fixture(scope="module")
def native_deseq2(tmp_path_factory, li2008):
    from degbridge import r

    if not r.package_installed("DESeq2"):
        pytest.skip("Debian's r-bioc-deseq2 is not installed")
    return _native(tmp_path_factory, li2008, "li_deseq2", NATIVE_DESEQ2)


def _same_toptags(ours: DETable, theirs: pd.DataFrame) -> None:
    native = native_columns(ours)
    assert list(native.columns) == list(theirs.columns)
    assert_same_table(native, theirs)
    assert list(ours.index) == list(theirs.index)  # topTags order


def _edger(li2008, **kw) -> DETable:
    counts, samples = li2008
    return run_edger(counts, samples=samples, design="~ group", coef="groupTreated", **kw)


def test_edger_ql(native_edger, li2008):
    ours = _edger(li2008)
    theirs = read_full(native_edger / "ql.tsv")
    assert 2000 < len(theirs) < 5732  # filterByExpr keeps part of the non-zero genes
    _same_toptags(ours, theirs)
    disp = [float(v) for v in (native_edger / "ql_disp.txt").read_text().split()]
    m = ours.meta
    assert m["dispersion"]["common"] == pytest.approx(disp[0], rel=1e-12)
    np.testing.assert_allclose(list(m["norm_factors"].values()), disp[1:], rtol=1e-12)
    assert m["n_genes_filtered"] == 12377 - len(theirs)


def test_edger_lrt(native_edger, li2008):
    ours = _edger(li2008, test="lrt")
    _same_toptags(ours, read_full(native_edger / "lrt.tsv"))
    assert ours.meta["method"] == "edgeR-LRT"


def test_edger_treat_ql_and_lrt(native_edger, li2008):
    ql = _edger(li2008, lfc=math.log2(1.5))
    _same_toptags(ql, read_full(native_edger / "ql_treat.tsv"))
    lrt = _edger(li2008, test="lrt", lfc=1.0)
    _same_toptags(lrt, read_full(native_edger / "lrt_treat.tsv"))
    assert lrt.meta["method"] == "edgeR-LRT treat"


def test_edger_exact(native_edger, li2008):
    counts, samples = li2008
    ours = run_edger(counts, groups=samples["group"], test="exact", robust=False)
    _same_toptags(ours, read_full(native_edger / "exact.tsv"))
    assert ours.meta["contrast"] == "Treated - Control"


def _half(li2008):
    """Every 2nd gene of the file for DESeq2 (6,189 genes, all-zero ones included): each DESeq
    run costs about half as much; the native script subsets the same way."""
    counts, samples = li2008
    return counts.iloc[::2], samples


def test_deseq2_wald(native_deseq2, li2008):
    counts, samples = _half(li2008)
    ours = run_deseq2(counts, samples=samples, design="~ group", coef="groupTreated")
    theirs = read_full(native_deseq2 / "wald.tsv")
    assert_same_table(native_columns(ours), theirs)
    assert list(ours.index) == list(theirs.index) == list(counts.index)  # results() order
    sf = [float(v) for v in (native_deseq2 / "size_factors.txt").read_text().split()]
    np.testing.assert_allclose(list(ours.meta["size_factors"].values()), sf, rtol=1e-12)
    reasons = ours.meta["na_reasons"]
    assert reasons["all_zero"] == int((theirs["baseMean"] == 0).sum()) > 0
    assert len(ours) == len(counts) == 6189
    assert reasons["independent_filtering"] == int(
        (theirs["pvalue"].notna() & theirs["padj"].isna()).sum()
    )


def test_deseq2_wald_options(native_deseq2, li2008):
    counts, samples = _half(li2008)
    ours = run_deseq2(
        counts,
        samples=samples,
        design="~ group",
        coef="groupTreated",
        independent_filtering=False,
        alpha=0.05,
    )
    assert_same_table(native_columns(ours), read_full(native_deseq2 / "wald_nofilter.tsv"))
    assert ours.meta["na_reasons"]["independent_filtering"] == 0
    shrunk = run_deseq2(
        counts, samples=samples, design="~ group", coef="groupTreated", shrink="normal"
    )
    assert_same_table(native_columns(shrunk), read_full(native_deseq2 / "shrink.tsv"))


def test_deseq2_lrt_reduced_intercept(native_deseq2, li2008):
    counts, samples = _half(li2008)
    ours = run_deseq2(
        counts,
        samples=samples,
        design="~ group",
        coef="groupTreated",
        test="LRT",
        reduced="~ 1",
    )
    theirs = read_full(native_deseq2 / "lrt.tsv")
    assert_same_table(native_columns(ours), theirs)
    assert "stat" in ours.columns and ours.meta["method"] == "DESeq2 LRT"
    # the same reduced model given as a numeric matrix (a column of ones)
    ones = np.ones((counts.shape[1], 1))
    by_matrix = run_deseq2(
        counts,
        samples=samples,
        design="~ group",
        coef="groupTreated",
        test="LRT",
        reduced=ones,
    )
    pd.testing.assert_frame_equal(pd.DataFrame(by_matrix), pd.DataFrame(ours), check_exact=True)
