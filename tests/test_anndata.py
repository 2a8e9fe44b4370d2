"""AnnData: tl.limma / tl.compare write in place, survive .h5ad, pseudobulk sums are exact."""

from __future__ import annotations

import warnings

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import degbridge
from degbridge import LeakageWarning, get, pseudobulk, run_limma, tl

CANON = ["logFC", "AveExpr", "t", "P.Value", "adj.P.Val", "B"]


@pytest.fixture
def bulk(airway):
    counts, samples = airway
    keep = counts.sum(axis=1) > 0
    return ad.AnnData(
        X=sp.csr_matrix(counts[keep].T.to_numpy()),
        obs=samples.copy(),
        var=pd.DataFrame(index=counts.index[keep]),
        layers={"counts": sp.csr_matrix(counts[keep].T.to_numpy())},
    )


def _single_cell(seed=0, n_genes=300, cells_per=(40, 60, 3)):
    """Cells from 6 donors (3 control, 3 treated); one donor × state has only 3 cells."""
    rng = np.random.default_rng(seed)
    rows, donors, conds = [], [], []
    base = rng.gamma(2.0, 1.0, n_genes)
    for d in range(6):
        cond = "treated" if d >= 3 else "control"
        n = cells_per[d % 2] if d != 5 else cells_per[2]
        effect = np.where(np.arange(n_genes) < 30, 3.0, 1.0) if cond == "treated" else 1.0
        rows.append(rng.poisson(base * effect * rng.uniform(0.5, 1.5), size=(n, n_genes)))
        donors += [f"d{d}"] * n
        conds += [cond] * n
    X = sp.csr_matrix(np.vstack(rows).astype(float))
    obs = pd.DataFrame(
        {"donor": donors, "condition": conds}, index=[f"c{i}" for i in range(X.shape[0])]
    )
    return ad.AnnData(X=X, obs=obs, var=pd.DataFrame(index=[f"G{i}" for i in range(n_genes)]))


# ---------------------------------------------------------------------------------------
# pseudobulk (no R needed)
# ---------------------------------------------------------------------------------------


def test_pseudobulk_sums_equal_dense_reference():
    sc = _single_cell()
    pb = pseudobulk(sc, "donor", groupby="condition", min_cells=5)
    dense = pd.DataFrame(sc.X.toarray(), index=sc.obs_names, columns=sc.var_names)
    ref = dense.groupby([sc.obs["donor"], sc.obs["condition"]]).sum()
    ref.index = [f"{d}_{c}" for d, c in ref.index]
    kept = [n for n in ref.index if n != "d5_treated"]
    np.testing.assert_array_equal(pb.X, ref.loc[kept].to_numpy())
    assert list(pb.obs_names) == kept
    assert list(pb.obs["n_cells"]) == [40, 60, 40, 60, 40]
    assert pb.uns["pseudobulk"]["dropped"] == {"d5_treated": 3}
    assert list(pb.obs["condition"]) == ["control"] * 3 + ["treated"] * 2


def test_pseudobulk_csc_and_dense_inputs_agree():
    sc = _single_cell()
    a = pseudobulk(sc, "donor", min_cells=1)
    sc_csc = sc.copy()
    sc_csc.X = sp.csc_matrix(sc.X)
    b = pseudobulk(sc_csc, "donor", min_cells=1)
    sc_dense = sc.copy()
    sc_dense.X = sc.X.toarray()
    c = pseudobulk(sc_dense, "donor", min_cells=1)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.X, c.X)


def test_pseudobulk_bad_inputs():
    sc = _single_cell()
    with pytest.raises(
        ValueError,
        match=r"'patient' is not an obs column; obs columns are \['donor', 'condition'\]",
    ):
        pseudobulk(sc, "patient")
    with pytest.raises(ValueError, match=r"layer 'raw' is not in the AnnData"):
        pseudobulk(sc, "donor", layer="raw")
    with pytest.raises(
        ValueError,
        match=r"every pseudobulk sample has fewer than min_cells=100 cells \(largest: 60\)",
    ):
        pseudobulk(sc, "donor", min_cells=100)
    lognorm = sc.copy()
    lognorm.layers["counts"] = sc.X.copy()
    lognorm.X = sp.csr_matrix(np.log1p(sc.X.toarray()))
    with pytest.raises(
        ValueError, match=r"X holds non-integer or negative values.*pass layer='counts'"
    ):
        pseudobulk(lognorm, "donor")
    assert pseudobulk(lognorm, "donor", layer="counts").shape == (5, 300)  # d5 (3 cells) dropped


# ---------------------------------------------------------------------------------------
# tl.limma / tl.compare (R)
# ---------------------------------------------------------------------------------------


@pytest.mark.r
def test_tl_limma_writes_uns(bulk, airway):
    counts, samples = airway
    ref = run_limma(
        counts, samples=samples, design="~ celltype + dex", coef="dextreated", method="voom"
    )
    # method=None: the counts layer is detected as raw counts, so voom
    tl.limma(bulk, design="~ celltype + dex", contrast="dextreated", layer="counts", key_added="de")
    got = get.limma_df(bulk, key="de", contrast="dextreated")
    assert list(got["gene"]) == list(ref.index)  # tested genes only, limma's order
    for col in CANON:
        np.testing.assert_array_equal(got[col].to_numpy(), ref[col].to_numpy())
    assert not any(c.startswith("de_") for c in bulk.var.columns)  # uns only
    uns = bulk.uns["de"]
    assert uns["contrasts"] == ["dextreated"]
    assert list(uns["design"].columns) == list(ref.meta["design"].columns)
    assert uns["params"]["method"] == "limma-voom"
    assert uns["params"]["method_choice"].startswith("voom: raw counts detected")
    assert uns["params"]["versions"]["limma"] == ref.meta["versions"]["limma"]


@pytest.mark.r
def test_h5ad_round_trip_value_by_value(bulk, tmp_path):
    tl.limma(bulk, groupby="dex", contrast="treated - control", layer="counts")
    options = {"target": "logFC", "models": ["linear", "decision_tree"], "cv": 3}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LeakageWarning)
        assert tl.compare(bulk, **options, progress=False) is None
        # the same comparison by hand, on the stored table (seeded: same numbers)
        table = get.limma_df(bulk, contrast="treated - control").set_index("gene")
        res = degbridge.compare(table, **options, progress=False)
    path = tmp_path / "airway.h5ad"
    bulk.write_h5ad(path)
    back = ad.read_h5ad(path)
    pd.testing.assert_frame_equal(back.var, bulk.var, check_exact=True)
    _assert_same_uns(back.uns["degbridge"], bulk.uns["degbridge"])
    _assert_same_uns(back.uns["degbridge_compare"], bulk.uns["degbridge_compare"])
    stored = back.uns["degbridge_compare"]
    assert stored["best"] == res.best.name
    np.testing.assert_array_equal(
        stored["leaderboard"]["cv_r2_mean"].to_numpy(), res.leaderboard["cv_r2_mean"].to_numpy()
    )
    pred = get.compare_df(back, table="predictions").set_index("gene")
    assert list(pred.index) == list(res.predictions.index)
    np.testing.assert_array_equal(
        pred["predicted"].to_numpy(), res.predictions["predicted"].to_numpy()
    )


def _assert_same_uns(a, b, path="uns"):
    assert set(a) == set(b), f"{path}: keys differ: {set(a) ^ set(b)}"
    for key in a:
        x, y = a[key], b[key]
        where = f"{path}[{key!r}]"
        if isinstance(y, dict):
            _assert_same_uns(x, y, where)
        elif isinstance(y, pd.DataFrame):
            pd.testing.assert_frame_equal(x, y, check_exact=True, obj=where)
        elif isinstance(y, np.ndarray):
            np.testing.assert_array_equal(x, y, err_msg=where)
        elif isinstance(y, list):
            assert list(x) == y, where
        else:
            assert x == y, where


@pytest.mark.r
def test_several_contrasts_in_uns(tmp_path):
    rng = np.random.default_rng(2)
    X = rng.poisson(30, size=(9, 200)).astype(float)
    adata = ad.AnnData(
        X=X, obs=pd.DataFrame({"g": list("aaabbbccc")}, index=[f"s{i}" for i in range(9)])
    )
    adata.var_names = [f"G{i}" for i in range(200)]
    tl.limma(adata, groupby="g", contrast=["b-a", "(b+c)/2-a"], filter=None)
    uns = adata.uns["degbridge"]
    assert uns["contrasts"] == ["b-a", "(b+c)/2-a"]
    assert set(uns["results"]) == {"b-a", "(b+c)÷2-a"}  # '/' is not allowed in HDF5 names
    assert uns["contrast_keys"] == ["b-a", "(b+c)÷2-a"]  # the mapping back to the names
    assert "ftest" in uns
    adata.write_h5ad(tmp_path / "x.h5ad")
    back = ad.read_h5ad(tmp_path / "x.h5ad")
    _assert_same_uns(back.uns["degbridge"], uns)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LeakageWarning)
        tl.compare(
            adata,
            contrast="(b+c)/2-a",
            models=["linear"],
            cv=2,
            progress=False,
            permutation_repeats=0,
        )
    assert adata.uns["degbridge_compare"]["params"]["n_genes"] == 200
    assert adata.uns["degbridge_compare"]["source"] == {"key": "degbridge", "contrast": "(b+c)/2-a"}
    with pytest.raises(
        ValueError, match=r"holds several contrasts \['b-a', '\(b\+c\)/2-a'\]: pass contrast="
    ):
        tl.compare(adata, models=["linear"], progress=False)


@pytest.mark.r
def test_tl_limma_pseudobulk_single_cell():
    sc = _single_cell(n_genes=400)
    tl.limma(
        sc,
        groupby="condition",
        contrast="treated - control",
        sample_key="donor",
        min_cells=5,
        filter=None,
    )
    uns = sc.uns["degbridge"]
    assert list(uns["pseudobulk"]["samples"]["n_cells"]) == [40, 60, 40, 60, 40]
    assert uns["pseudobulk"]["dropped"] == {"d5_treated": 3}
    got = get.limma_df(sc, contrast="treated - control").set_index("gene")
    top = got["adj.P.Val"].nsmallest(30).index
    assert len(set(top) & {f"G{i}" for i in range(30)}) >= 25  # the planted DE genes
    # the same as running voom on the pseudobulk by hand
    pb = pseudobulk(sc, "donor", groupby="condition", min_cells=5)
    ref = run_limma(
        pb, groups="condition", contrast="treated - control", method="voom", filter=None
    )
    np.testing.assert_array_equal(got["logFC"].loc[ref.index].to_numpy(), ref["logFC"].to_numpy())
    assert sc.uns["degbridge"]["params"]["method_choice"].startswith("voom: pseudobulk")


@pytest.mark.r
def test_tl_bad_inputs_write_nothing(bulk):
    before_var = bulk.var.copy()
    with pytest.raises(
        ValueError,
        match=r"groupby='treatment' is not an obs column; obs columns are \['celltype', 'dex'\]",
    ):
        tl.limma(bulk, groupby="treatment", contrast="b-a")
    with pytest.raises(
        ValueError, match=r"layer 'raw' is not in the AnnData; layers are \['counts'\]"
    ):
        tl.limma(bulk, groupby="dex", contrast="treated-control", layer="raw")
    with pytest.raises(
        ValueError, match=r"say which comparison to make, e.g. contrast='treated - control'"
    ):
        tl.limma(bulk, groupby="dex")
    lognorm = bulk.copy()
    lognorm.X = sp.csr_matrix(np.log1p(lognorm.X.toarray()))
    with pytest.raises(ValueError, match=r"needs raw integer counts.*use method='ls'"):
        tl.limma(lognorm, groupby="dex", contrast="treated - control", method="voom")
    with pytest.raises(ValueError, match=r"'treat' is not a design column"):
        tl.limma(bulk, groupby="dex", contrast="treat - control", layer="counts")
    pd.testing.assert_frame_equal(bulk.var, before_var)
    assert "degbridge" not in bulk.uns
    with pytest.raises(ValueError, match=r"adata.uns has no 'degbridge': run degbridge.tl.limma"):
        tl.compare(bulk)


@pytest.mark.r
def test_tl_compare_var_features(bulk):
    tl.limma(bulk, groupby="dex", contrast="treated - control", layer="counts")
    feats = degbridge.expression_features(bulk, groups="dex", layer="counts")
    bulk.var["frac_zero"] = feats["frac_zero"]
    bulk.var["within_sd"] = feats["within_sd"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LeakageWarning)
        tl.compare(
            bulk,
            target="logFC",
            var_features=["frac_zero", "within_sd"],
            models=["linear"],
            cv=2,
            progress=False,
        )
    assert {"var_frac_zero", "var_within_sd"} <= set(
        bulk.uns["degbridge_compare"]["params"]["features"]
    )
    leakage = get.compare_df(bulk, table="leakage").set_index("feature")
    assert not leakage.loc[["var_frac_zero", "var_within_sd"], "flagged"].any()
