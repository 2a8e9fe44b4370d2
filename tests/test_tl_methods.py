"""tl.de / tl.limma with method="edger" and "deseq2": one fit and per cell type.

Each stored table must equal run_edger / run_deseq2 called directly on the same pseudobulk
(pp.pseudobulk), column by column and gene order included; one cell type's edgeR QL table must
equal a native Rscript written as the edgeR User's Guide writes it (pseudobulk summed by hand
in numpy, rtol 1e-10). Options that only limma has are refused, naming the option and the
method; DESeq2's missing P-values stay missing through .h5ad.

The cells are drawn (Poisson) from the airway libraries (one donor each) scaled by a profile
per cell type; genes G_ZERO are never expressed in B cells (DESeq2: all-zero, P-value NA) and
genes G_LOW barely (independent filtering: adj.P.Val NA).
"""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy.stats import false_discovery_control

from degbridge import DataWarning, get, pp, tl, write_h5ad
from degbridge.de.deseq2 import run_deseq2
from degbridge.de.edger import run_edger

from .conftest import assert_same_table, read_full, run_rscript, write_matrix_bin

pytestmark = pytest.mark.r

STIM = {"SRR1039508", "SRR1039512", "SRR1039517", "SRR1039521"}
CONTRAST = "stim - ctrl"
KW = {"groupby": "condition", "sample_key": "donor", "contrast": CONTRAST}
CELLS = {"T": 40, "B": 25, "pDC": 3}  # cells per donor; pDC falls below min_cells=10
G_ZERO = np.arange(400, 420)
G_LOW = np.arange(420, 500)
EDGER_COLUMNS = ["logFC", "AveExpr", "P.Value", "adj.P.Val", "F"]
DESEQ2_COLUMNS = ["logFC", "t", "P.Value", "adj.P.Val", "baseMean", "lfcSE"]
RUN = {"edger": run_edger, "deseq2": run_deseq2}


@pytest.fixture(scope="module")
def cells(airway):
    counts, _ = airway
    rng = np.random.default_rng(7)
    top = counts.sum(axis=1).sort_values(ascending=False).index[:600]
    lib = counts.loc[top]
    n_genes = len(top)
    profiles = {ct: rng.lognormal(0.0, 0.6, n_genes) for ct in CELLS}
    profiles["B"][G_ZERO] = 0.0
    for ct in CELLS:
        profiles[ct][G_LOW] *= 1e-4
    de = rng.choice(np.arange(100, 400), 40, replace=False)
    blocks, obs = [], []
    for donor in lib.columns:
        stim = donor in STIM
        for ct, n in CELLS.items():
            p = lib[donor].to_numpy(dtype=float) * profiles[ct]
            if stim:
                p[de] *= 3.0
            p /= p.sum()
            blocks.append(rng.poisson(np.outer(rng.poisson(1500, size=n), p)))
            obs += [(donor, "stim" if stim else "ctrl", ct)] * n
    obs = pd.DataFrame(obs, columns=["donor", "condition", "cell_type"])
    obs.index = [f"c{i}" for i in range(len(obs))]
    X = sp.csr_matrix(np.vstack(blocks).astype(np.float64))
    return ad.AnnData(X=X, obs=obs, var=pd.DataFrame(index=np.asarray(top, dtype=str)))


def _subset(cells, cell_type):
    return cells[(cells.obs["cell_type"] == cell_type).to_numpy()].copy()


@pytest.fixture(scope="module")
def direct(cells):
    """run_edger / run_deseq2 on pp.pseudobulk of each fitted cell type: the reference."""
    out = {}
    for ct in ("T", "B"):
        pb = pp.pseudobulk(_subset(cells, ct), "donor", groupby="condition", min_cells=10)
        for method, run in RUN.items():
            out[method, ct] = run(pb, groups="condition", contrast=CONTRAST)
    return out


@pytest.fixture(scope="module")
def per_cell_type(cells):
    """tl.de(celltype_key=...) with each method: {method: AnnData}."""
    out = {}
    for method in RUN:
        adata = cells.copy()
        with pytest.warns(DataWarning, match=r"1 of 3 cell types skipped.*'pDC'"):
            tl.de(adata, method=method, celltype_key="cell_type", progress=False, **KW)
        out[method] = adata
    return out


def _same_as_direct(ours: pd.DataFrame, theirs: pd.DataFrame) -> None:
    """Every column, value and gene order of the stored table equals the direct call's."""
    expected = pd.DataFrame(theirs).rename_axis("gene").reset_index()
    pd.testing.assert_frame_equal(ours.reset_index(drop=True), expected, check_exact=True)


@pytest.fixture(scope="module")
def single(cells):
    """tl.limma(method=...) on the B cells with sample_key (one pseudobulk, one fit)."""
    out = {}
    for method in RUN:
        out[method] = _subset(cells, "B")
        tl.limma(out[method], method=method, **KW)  # tl.limma and tl.de are one function
    return out


@pytest.mark.parametrize("method", ["edger", "deseq2"])
def test_one_fit_equals_the_direct_call(single, direct, method):
    b = single[method]
    ours = get.limma_df(b, contrast=CONTRAST)
    _same_as_direct(ours, direct[method, "B"])
    assert list(ours.columns)[1:] == (EDGER_COLUMNS if method == "edger" else DESEQ2_COLUMNS)
    params = b.uns["degbridge"]["params"]
    meta = direct[method, "B"].meta
    assert params["options"]["method"] == method
    assert params["method"] == meta["method"]  # "edgeR-QL", "DESeq2 Wald"
    assert dict(params["column_map"]) == meta["column_map"]
    assert dict(params["versions"]) == meta["versions"]
    assert params["versions"]["edgeR" if method == "edger" else "DESeq2"]
    pd.testing.assert_frame_equal(
        pd.DataFrame(b.uns["degbridge"]["pseudobulk"]["samples"])[["n_cells"]],
        pp.pseudobulk(b, "donor", groupby="condition").obs[["n_cells"]],
    )


@pytest.mark.parametrize("method", ["edger", "deseq2"])
def test_each_cell_type_equals_the_direct_call(per_cell_type, direct, method):
    adata = per_cell_type[method]
    assert list(adata.uns["degbridge"]["cell_types"]) == ["B", "T"]  # sorted
    columns = EDGER_COLUMNS if method == "edger" else DESEQ2_COLUMNS
    for ct in ("T", "B"):
        ours = get.limma_df(adata, cell_type=ct)
        assert list(ours.columns) == ["cell_type", "contrast", "gene", *columns]
        pd.testing.assert_frame_equal(get.de_df(adata, cell_type=ct), ours)
        assert set(ours["cell_type"]) == {ct} and set(ours["contrast"]) == {CONTRAST}
        _same_as_direct(ours.drop(columns=["cell_type", "contrast"]), direct[method, ct])
    params = adata.uns["degbridge"]["params"]
    assert params["method"] == method
    assert params["versions"]["edgeR" if method == "edger" else "DESeq2"]
    fits = pd.DataFrame(adata.uns["degbridge"]["fits"])
    assert list(fits["method_choice"]) == [f"{method}: given"] * 2


def test_deseq2_missing_p_values_are_kept(per_cell_type, direct):
    b = get.limma_df(per_cell_type["deseq2"], cell_type="B").set_index("gene")
    zero = b.index[G_ZERO]
    assert b.loc[zero, ["t", "P.Value", "adj.P.Val"]].isna().all().all()  # all-zero in B
    filtered = b["P.Value"].notna() & b["adj.P.Val"].isna()  # independent filtering
    reasons = direct["deseq2", "B"].meta["na_reasons"]
    assert reasons["all_zero"] >= len(G_ZERO)  # and most G_LOW genes
    assert b["P.Value"].isna().sum() == reasons["all_zero"] + reasons["cooks_outlier"]
    assert filtered.sum() == reasons["independent_filtering"]


NATIVE = r"""
x <- read_matrix_bin("T")
rownames(x) <- readLines("genes.txt")
group <- factor(readLines("T.groups"))
design <- model.matrix(~ 0 + group)
colnames(design) <- levels(group)
y <- DGEList(counts = x)
keep <- filterByExpr(y, design = design)
y <- y[keep, , keep.lib.sizes = FALSE]
y <- calcNormFactors(y)
y <- estimateDisp(y, design, robust = TRUE)
fit <- glmQLFit(y, design, robust = TRUE)
con <- makeContrasts(stim - ctrl, levels = design)
res <- glmQLFTest(fit, contrast = con)
write_full(topTags(res, n = Inf)$table, "T.tsv")
"""


def test_one_cell_type_equals_a_native_edger_ql_run(cells, per_cell_type, tmp_path):
    X, obs = cells.X.toarray(), cells.obs
    cols, groups = [], []
    for donor in sorted(obs["donor"].unique()):  # the pseudobulk summed by hand
        sel = ((obs["cell_type"] == "T") & (obs["donor"] == donor)).to_numpy()
        cols.append(X[sel].sum(axis=0))
        groups.append(obs.loc[sel, "condition"].iloc[0])
    write_matrix_bin(np.column_stack(cols), tmp_path / "T")
    (tmp_path / "T.groups").write_text("\n".join(groups) + "\n")
    (tmp_path / "genes.txt").write_text("\n".join(cells.var_names) + "\n")
    run_rscript(NATIVE, tmp_path)
    theirs = read_full(tmp_path / "T.tsv").rename(
        columns={"logCPM": "AveExpr", "PValue": "P.Value", "FDR": "adj.P.Val"}
    )
    ours = get.limma_df(per_cell_type["edger"], cell_type="T").set_index("gene")
    assert list(ours.index) == list(theirs.index)  # topTags order
    assert_same_table(ours, theirs, rtol=1e-10, columns=EDGER_COLUMNS)


def test_global_adjustment_keeps_deseq2_missing_values(cells, per_cell_type):
    adata = cells.copy()
    with pytest.warns(DataWarning):
        tl.de(adata, method="deseq2", celltype_key="cell_type", adjust="global",
              progress=False, **KW)  # fmt: skip
    ours = get.limma_df(adata)
    per = get.limma_df(per_cell_type["deseq2"])
    np.testing.assert_array_equal(ours["P.Value"], per["P.Value"])
    had = per["adj.P.Val"].notna().to_numpy()
    assert np.array_equal(ours["adj.P.Val"].notna().to_numpy(), had)
    expected = false_discovery_control(per.loc[had, "P.Value"].to_numpy(), method="bh")
    np.testing.assert_allclose(ours.loc[had, "adj.P.Val"], expected, rtol=1e-12)


def test_round_trip_h5ad_with_missing_p_values(per_cell_type, single, direct, tmp_path):
    for name, adata in [*per_cell_type.items(), ("one", single["deseq2"])]:
        key = "degbridge"
        back = ad.read_h5ad(write_h5ad(adata, tmp_path / f"{name}.h5ad"))
        a, b = get.limma_df(adata, key=key), get.limma_df(back, key=key)
        pd.testing.assert_frame_equal(a, b, check_dtype=False)
        if name != "edger":
            assert b["P.Value"].isna().sum() >= len(G_ZERO)
            assert b["adj.P.Val"].isna().sum() >= len(G_ZERO)
        params = back.uns[key]["params"]
        assert params["versions"]["R"].startswith("R version")
    # read back, the stored table is the direct call's (NA where DESeq2 gave NA)
    back = ad.read_h5ad(tmp_path / "one.h5ad")
    _same_as_direct(get.limma_df(back, contrast=CONTRAST), direct["deseq2", "B"])


def test_limma_only_options_are_refused(cells):
    adata = cells.copy()
    cases = [
        ("edger", {"trend": True}, r"trend= applies to limma, not to method='edger'"),
        ("edger", {"block": "donor"}, r"block= applies to limma, not to method='edger'"),
        ("edger", {"weights": "quality"}, r"weights= applies to limma, not to method='edger'"),
        (
            "deseq2",
            {"robust": True},
            r"robust= applies to limma and method='edger', not to method='deseq2'",
        ),
        (
            "deseq2",
            {"lfc": 1.0},
            r"lfc= applies to limma and method='edger', not to method='deseq2'",
        ),
        ("deseq2", {"filter": None}, r"filter= applies to limma and method='edger', not"),
        ("deseq2", {"prior_count": 1}, r"prior_count= applies to limma, not to method='deseq2'"),
        (
            "voom",
            {"test": "lrt"},
            r"test= applies to method='edger' and method='deseq2', not to method='voom'",
        ),
        (
            "edger",
            {"shrink": "normal"},
            r"shrink= applies to method='deseq2', not to method='edger'",
        ),
        ("edger", {"colour": 1}, r"colour= is not an option of method='edger'; its options are \["),
    ]
    for method, options, message in cases:
        for celltype_key in (None, "cell_type"):
            with pytest.raises(ValueError, match=message):
                tl.de(adata, method=method, celltype_key=celltype_key, **KW, **options)
            with pytest.raises(ValueError, match=message):
                tl.limma(adata, method=method, celltype_key=celltype_key, **KW, **options)
    # bad values of the method's own options: refused once, before any cell type is fitted
    with pytest.raises(ValueError, match=r"test must be one of \['ql', 'lrt', 'exact'\]"):
        tl.de(adata, method="edger", celltype_key="cell_type", test="wald", **KW)
    with pytest.raises(ValueError, match=r"test='LRT' needs reduced="):
        tl.de(adata, method="deseq2", celltype_key="cell_type", test="LRT", **KW)
    with pytest.raises(ValueError, match=r"method='deseq2' tests one contrast at a time; got 2"):
        tl.de(adata, method="deseq2", celltype_key="cell_type",
              **{**KW, "contrast": [CONTRAST, "ctrl - stim"]})  # fmt: skip
    with pytest.raises(ValueError, match=r"method must be one of \['ls', 'voom', 'trend', 'edger', 'deseq2'\]"):  # fmt: skip
        tl.de(adata, method="edgeR", **KW)
    assert "degbridge" not in adata.uns  # nothing written
