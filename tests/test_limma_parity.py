"""run_limma against limma in a native Rscript process: every column, every gene, ≤ 1e-10.

All native analyses run in one Rscript (session fixture) written the way a limma user writes
them (model.matrix, makeContrasts, topTable), independently of degbridge's own R file. Inputs
cross as binary doubles so both sides see the same bits.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import degbridge
from degbridge import DETable, run_limma

from .conftest import assert_same_table, read_full, read_matrix_bin, run_rscript, write_matrix_bin

pytestmark = pytest.mark.r

NATIVE = r"""
lab <- function(name) readLines(paste0(name, ".txt"))

## A: ls, two groups, contrast B-A
E <- read_matrix_bin("sim2"); rownames(E) <- lab("sim2_genes")
group <- factor(lab("sim2_groups"))
design <- model.matrix(~ 0 + group); colnames(design) <- levels(group)
cm <- makeContrasts(contrasts = "B-A", levels = design)
fit <- eBayes(contrasts.fit(lmFit(E, design), cm))
write_full(topTable(fit, coef = 1, number = Inf), "A.tsv")

## F: robust = TRUE on the same data
fit <- eBayes(contrasts.fit(lmFit(E, design), cm), robust = TRUE)
write_full(topTable(fit, coef = 1, number = Inf), "F.tsv")

## G: treat with lfc = 0.5
fit <- treat(contrasts.fit(lmFit(E, design), cm), lfc = 0.5)
write_full(topTreat(fit, coef = 1, number = Inf), "G.tsv")

## M: arrayWeights, confint
aw <- arrayWeights(E, design)
fit <- eBayes(contrasts.fit(lmFit(E, design, weights = aw), cm))
write_full(topTable(fit, coef = 1, number = Inf, confint = TRUE), "M.tsv")

## B: ls with a batch covariate, coefficient groupB
E <- read_matrix_bin("batch"); rownames(E) <- lab("batch_genes")
s <- read.delim("batch_samples.tsv", row.names = 1)
design <- model.matrix(~ batch + group, data = s)
fit <- eBayes(lmFit(E, design))
write_full(topTable(fit, coef = "groupB", number = Inf), "B.tsv")

## C: three groups, two contrasts and the F-test
E <- read_matrix_bin("sim3"); rownames(E) <- lab("sim3_genes")
group <- factor(lab("sim3_groups"))
design <- model.matrix(~ 0 + group); colnames(design) <- levels(group)
cm <- makeContrasts(contrasts = c("B-A", "C-(A+B)/2"), levels = design)
fit <- eBayes(contrasts.fit(lmFit(E, design), cm))
write_full(topTable(fit, coef = 1, number = Inf), "C1.tsv")
write_full(topTable(fit, coef = 2, number = Inf), "C2.tsv")
write_full(topTable(fit, number = Inf), "Cf.tsv")

## H: paired samples, duplicateCorrelation on subject blocks
E <- read_matrix_bin("paired"); rownames(E) <- lab("paired_genes")
s <- read.delim("paired_samples.tsv", row.names = 1)
design <- model.matrix(~ condition, data = s)
corfit <- duplicateCorrelation(E, design, block = s$subject)
fit <- eBayes(lmFit(E, design, block = s$subject, correlation = corfit$consensus.correlation))
write_full(topTable(fit, coef = "conditiontreated", number = Inf), "H.tsv")
writeLines(sprintf("%.17g", corfit$consensus.correlation), "H_cor.txt")

## I: trend = TRUE on log-expression with missing values
E <- read_matrix_bin("na"); rownames(E) <- lab("na_genes")
group <- factor(lab("na_groups"))
design <- model.matrix(~ group)
fit <- suppressWarnings(eBayes(lmFit(E, design), trend = TRUE))
write_full(topTable(fit, coef = 2, number = Inf), "I.tsv")

## J: a numeric design matrix as is (intercept, dose, group indicator)
E <- read_matrix_bin("sim2"); rownames(E) <- lab("sim2_genes")
design <- read_matrix_bin("numdesign"); colnames(design) <- lab("numdesign_cols")
fit <- eBayes(lmFit(E, design))
write_full(topTable(fit, coef = "dose", number = Inf), "J.tsv")

## D, E, L: airway counts, ~ celltype + dex
counts <- as.matrix(read.delim("airway_counts.tsv", row.names = 1, check.names = FALSE))
s <- read.delim("airway_samples.tsv", row.names = 1)
design <- model.matrix(~ celltype + dex, data = s)
dge <- DGEList(counts)
keep <- filterByExpr(dge, design = design)
dge <- calcNormFactors(dge[keep, , keep.lib.sizes = FALSE])
v <- voom(dge, design)
fit <- eBayes(lmFit(v, design))
write_full(topTable(fit, coef = "dextreated", number = Inf), "D.tsv")
logcpm <- cpm(dge, log = TRUE, prior.count = 3)
fit <- eBayes(lmFit(logcpm, design), trend = TRUE)
write_full(topTable(fit, coef = "dextreated", number = Inf), "E.tsv")
vq <- voomWithQualityWeights(dge, design)
fit <- eBayes(lmFit(vq, design))
write_full(topTable(fit, coef = "dextreated", number = Inf, confint = 0.9), "L.tsv")

## K: the ALL leukemia microarrays (Debian r-bioc-all): T-cell vs B-cell
if (requireNamespace("ALL", quietly = TRUE)) {
  suppressPackageStartupMessages(library(ALL)); data(ALL)
  E <- Biobase::exprs(ALL)
  cell <- factor(substr(as.character(ALL$BT), 1, 1))
  writeBin(as.vector(E), "all.bin", size = 8, endian = "little")
  writeLines(paste(nrow(E), ncol(E)), "all.dim")
  writeLines(rownames(E), "all_genes.txt"); writeLines(as.character(cell), "all_groups.txt")
  design <- model.matrix(~ 0 + cell); colnames(design) <- levels(cell)
  fit <- eBayes(contrasts.fit(lmFit(E, design), makeContrasts(contrasts = "T-B", levels = design)))
  write_full(topTable(fit, coef = 1, number = Inf), "K.tsv")
}
"""


def _labels(path, values):
    path.write_text("\n".join(map(str, values)) + "\n")


@pytest.fixture(scope="session")
def native(tmp_path_factory, airway):
    """Write every input, run the native Rscript once, return the folder and the inputs."""
    d = tmp_path_factory.mktemp("native_limma")
    rng = np.random.default_rng(20261125)
    inputs = {}

    # two groups, 3 vs 3, 1000 genes; 100 DE genes and 20 outlier-variance genes
    n = 1000
    genes = [f"g{i:04d}" for i in range(n)]
    E = rng.normal(8, 1, size=(n, 1)) + rng.normal(0, 0.3, size=(n, 6))
    E[:100, 3:] += rng.normal(1.5, 0.5, size=(100, 1))
    E[900:920] += rng.normal(0, 2.0, size=(20, 6))
    groups2 = ["A", "A", "A", "B", "B", "B"]
    inputs["sim2"] = (pd.DataFrame(E, index=genes, columns=[f"s{j}" for j in range(6)]), groups2)
    write_matrix_bin(E, d / "sim2")
    _labels(d / "sim2_genes.txt", genes)
    _labels(d / "sim2_groups.txt", groups2)

    # batch covariate: 8 samples, 2 batches crossed with 2 groups
    Eb = rng.normal(6, 1, size=(n, 1)) + rng.normal(0, 0.4, size=(n, 8))
    batch = ["b1", "b1", "b2", "b2", "b1", "b1", "b2", "b2"]
    group = ["A", "A", "A", "A", "B", "B", "B", "B"]
    Eb[:, [2, 3, 6, 7]] += rng.normal(0.8, 0.2, size=(n, 1))
    Eb[:80, 4:] += 1.2
    samples_b = pd.DataFrame({"batch": batch, "group": group}, index=[f"x{j}" for j in range(8)])
    inputs["batch"] = (pd.DataFrame(Eb, index=genes, columns=samples_b.index), samples_b)
    write_matrix_bin(Eb, d / "batch")
    _labels(d / "batch_genes.txt", genes)
    samples_b.to_csv(d / "batch_samples.tsv", sep="\t")

    # three groups, 3 each
    E3 = rng.normal(7, 1, size=(n, 1)) + rng.normal(0, 0.3, size=(n, 9))
    E3[:60, 3:6] += 1.0
    E3[60:120, 6:] -= 1.0
    groups3 = ["A"] * 3 + ["B"] * 3 + ["C"] * 3
    inputs["sim3"] = (pd.DataFrame(E3, index=genes, columns=[f"t{j}" for j in range(9)]), groups3)
    write_matrix_bin(E3, d / "sim3")
    _labels(d / "sim3_genes.txt", genes)
    _labels(d / "sim3_groups.txt", groups3)

    # paired: 5 subjects × (control, treated)
    subj_effect = rng.normal(0, 0.8, size=(n, 5))
    Ep = (
        rng.normal(5, 1, size=(n, 1))
        + np.repeat(subj_effect, 2, axis=1)
        + rng.normal(0, 0.3, size=(n, 10))
    )
    Ep[:50, 1::2] += 0.9
    samples_p = pd.DataFrame(
        {
            "subject": [f"p{k}" for k in range(5) for _ in range(2)],
            "condition": ["control", "treated"] * 5,
        },
        index=[f"y{j}" for j in range(10)],
    )
    inputs["paired"] = (pd.DataFrame(Ep, index=genes, columns=samples_p.index), samples_p)
    write_matrix_bin(Ep, d / "paired")
    _labels(d / "paired_genes.txt", genes)
    samples_p.to_csv(d / "paired_samples.tsv", sep="\t")

    # log-expression with 25 missing values
    En = E.copy()
    idx = rng.choice(E.size, size=25, replace=False)
    En.flat[idx] = np.nan
    inputs["na"] = (pd.DataFrame(En, index=genes, columns=[f"s{j}" for j in range(6)]), groups2)
    write_matrix_bin(En, d / "na")
    _labels(d / "na_genes.txt", genes)
    _labels(d / "na_groups.txt", groups2)

    # numeric design: intercept, dose, group indicator
    dose = np.array([0.0, 1.0, 2.5, 0.5, 1.5, 3.0])
    numdesign = pd.DataFrame(
        {"(Intercept)": 1.0, "dose": dose, "groupB": [0, 0, 0, 1, 1, 1.0]},
        index=[f"s{j}" for j in range(6)],
    )
    inputs["numdesign"] = numdesign
    write_matrix_bin(numdesign.to_numpy(), d / "numdesign")
    _labels(d / "numdesign_cols.txt", numdesign.columns)

    counts, samples = airway
    counts.astype(int).to_csv(d / "airway_counts.tsv", sep="\t")
    samples.to_csv(d / "airway_samples.tsv", sep="\t")

    run_rscript(NATIVE, d)
    return d, inputs


def _native(d, name) -> pd.DataFrame:
    return read_full(d / f"{name}.tsv")


def test_ls_two_groups(native):
    d, inputs = native
    expr, groups = inputs["sim2"]
    ours = run_limma(expr, groups=groups, contrast="B-A")
    theirs = _native(d, "A")
    assert list(ours.columns) == ["logFC", "AveExpr", "t", "P.Value", "adj.P.Val", "B"]
    assert_same_table(ours, theirs)
    assert list(ours.index) == list(theirs.index)  # topTable's order (by B)
    assert ours.meta["contrast"] == "B-A"
    assert ours.meta["contrast_vector"] == {"A": -1.0, "B": 1.0}


def test_robust(native):
    d, inputs = native
    expr, groups = inputs["sim2"]
    ours = run_limma(expr, groups=groups, contrast="B-A", robust=True)
    assert_same_table(ours, _native(d, "F"))
    assert ours.meta["options"]["robust"] is True


def test_treat_lfc(native):
    d, inputs = native
    expr, groups = inputs["sim2"]
    ours = run_limma(expr, groups=groups, contrast="B-A", lfc=0.5)
    theirs = _native(d, "G")
    assert "B" not in ours.columns
    assert_same_table(ours, theirs)
    assert list(ours.index) == list(theirs.index)  # topTreat's order (by P)


def test_array_weights_confint(native):
    d, inputs = native
    expr, groups = inputs["sim2"]
    ours = run_limma(expr, groups=groups, contrast="B-A", weights="arrayWeights", confint=True)
    theirs = _native(d, "M")
    assert list(ours.columns) == [
        "logFC",
        "CI.L",
        "CI.R",
        "AveExpr",
        "t",
        "P.Value",
        "adj.P.Val",
        "B",
    ]
    assert_same_table(ours, theirs)
    assert set(ours.meta["sample_weights"]) == set(expr.columns)


def test_batch_covariate_formula(native):
    d, inputs = native
    expr, samples = inputs["batch"]
    ours = run_limma(expr, samples=samples, design="~ batch + group", coef="groupB")
    assert ours.meta["design"].columns.tolist() == ["(Intercept)", "batchb2", "groupB"]
    assert_same_table(ours, _native(d, "B"))


def test_three_groups_two_contrasts_and_ftest(native):
    d, inputs = native
    expr, groups = inputs["sim3"]
    res = run_limma(expr, groups=groups, contrast=["B-A", "C-(A+B)/2"])
    assert isinstance(res, degbridge.DEResults)
    assert list(res) == ["B-A", "C-(A+B)/2"]
    assert_same_table(res["B-A"], _native(d, "C1"))
    assert_same_table(res["C-(A+B)/2"], _native(d, "C2"))
    theirs_f = _native(d, "Cf")
    assert list(res.ftest.columns) == ["B-A", "C-(A+B)/2", "AveExpr", "F", "P.Value", "adj.P.Val"]
    assert_same_table(res.ftest, theirs_f)
    assert res["C-(A+B)/2"].meta["contrast_vector"] == {"A": -0.5, "B": -0.5, "C": 1.0}


def test_block_duplicate_correlation(native):
    d, inputs = native
    expr, samples = inputs["paired"]
    ours = run_limma(
        expr, samples=samples, design="~ condition", coef="conditiontreated", block="subject"
    )
    assert_same_table(ours, _native(d, "H"))
    native_cor = float((d / "H_cor.txt").read_text())
    assert ours.meta["consensus_correlation"] == pytest.approx(native_cor, rel=1e-12)


def test_trend_with_missing_values(native):
    d, inputs = native
    expr, groups = inputs["na"]
    samples = pd.DataFrame({"group": groups}, index=expr.columns)
    with pytest.warns(degbridge.DataWarning, match="25 missing values"):
        ours = run_limma(expr, samples=samples, design="~ group", coef="groupB", trend=True)
    assert ours.meta["n_missing_values"] == 25
    assert_same_table(ours, _native(d, "I"))


def test_numeric_design_as_is(native):
    d, inputs = native
    expr, _ = inputs["sim2"]
    ours = run_limma(expr, design=inputs["numdesign"], coef="dose")
    assert_same_table(ours, _native(d, "J"))


def test_voom_tmm_airway(native, airway):
    d, _ = native
    counts, samples = airway
    ours = run_limma(
        counts, samples=samples, design="~ celltype + dex", coef="dextreated", method="voom"
    )
    theirs = _native(d, "D")
    assert ours.shape == theirs.shape == (15912, 6)
    assert_same_table(ours, theirs)
    assert list(ours.index) == list(theirs.index)
    assert ours.meta["method"] == "limma-voom"
    assert ours.meta["n_genes_filtered"] == 38694 - 15912
    assert ours.meta["versions"]["limma"].startswith("3.")


def test_limma_trend_airway(native, airway):
    d, _ = native
    counts, samples = airway
    ours = run_limma(
        counts, samples=samples, design="~ celltype + dex", coef="dextreated", method="trend"
    )
    assert_same_table(ours, _native(d, "E"))
    assert ours.meta["options"]["trend"] is True


def test_voom_quality_weights_confint(native, airway):
    d, _ = native
    counts, samples = airway
    ours = run_limma(
        counts,
        samples=samples,
        design="~ celltype + dex",
        coef="dextreated",
        method="voom",
        weights="quality",
        confint=0.9,
    )
    assert_same_table(ours, _native(d, "L"))


def test_all_microarray(native):
    d, _ = native
    if not (d / "K.tsv").exists():
        pytest.skip("Debian's r-bioc-all (the ALL data set) is not installed")
    E = read_matrix_bin(d / "all")
    genes = (d / "all_genes.txt").read_text().split()
    cells = (d / "all_groups.txt").read_text().split()
    ours = run_limma(E, gene_ids=genes, groups=cells, contrast="T-B")
    theirs = _native(d, "K")
    assert ours.shape == (12625, 6)
    assert_same_table(ours, theirs)
    assert list(ours.index[:100]) == list(theirs.index[:100])


def test_sparse_anndata_counts_equal_dense(airway):
    """Sparse AnnData counts give the same table as the dense DataFrame."""
    import anndata as ad
    import scipy.sparse as sp

    counts, samples = airway
    dense = run_limma(
        counts, samples=samples, design="~ celltype + dex", coef="dextreated", method="voom"
    )
    adata = ad.AnnData(
        X=sp.csr_matrix(counts.T.to_numpy()), obs=samples, var=pd.DataFrame(index=counts.index)
    )
    sparse = run_limma(adata, design="~ celltype + dex", coef="dextreated", method="voom")
    pd.testing.assert_frame_equal(pd.DataFrame(sparse), pd.DataFrame(dense), check_exact=True)
    assert sparse.meta["dropped_all_zero"] > 0
    assert isinstance(sparse, DETable)


def test_chunked_lmfit_equals_one_fit(native, monkeypatch):
    """Large log-expression matrices are fitted in gene chunks: the same numbers as native R."""
    import degbridge.de.limma as limma_mod

    d, inputs = native
    expr, groups = inputs["sim2"]
    whole = run_limma(expr, groups=groups, contrast="B-A", robust=True)
    monkeypatch.setattr(limma_mod, "CHUNK_ABOVE", 100)
    monkeypatch.setattr(limma_mod, "CHUNK_VALUES", 6 * 137)  # 137 genes per chunk: 8 chunks
    chunked = run_limma(expr, groups=groups, contrast="B-A", robust=True)
    assert chunked.meta["lmfit_chunks"] == 8 and "lmfit_chunks" not in whole.meta
    pd.testing.assert_frame_equal(pd.DataFrame(chunked), pd.DataFrame(whole), check_exact=True)
    assert_same_table(chunked, _native(d, "F"))
    expr_na, _ = inputs["na"]
    samples = pd.DataFrame({"group": groups}, index=expr_na.columns)
    with pytest.warns(degbridge.DataWarning):
        res = run_limma(expr_na, samples=samples, design="~ group", coef="groupB", trend=True)
    assert_same_table(res, _native(d, "I"))
