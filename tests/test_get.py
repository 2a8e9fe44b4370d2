"""degbridge.get and the scverse conventions of degbridge.tl.

One storage layout for 1..n contrasts (the same reader code for both), exact contrast names
(``/`` included) through ``.h5ad``, errors that name what is stored, ``copy=`` and
``key_added=`` semantics, and the ``method=None`` rule (counts → voom, else ls).
"""

from __future__ import annotations

import logging
import warnings

import anndata as ad
import numpy as np
import pandas as pd
import pytest

import degbridge
from degbridge import DETable, LeakageWarning, get, run_limma, tl

pytestmark = pytest.mark.r

CANON = ["logFC", "AveExpr", "t", "P.Value", "adj.P.Val", "B"]
THREE = ["b-a", "c-a", "(b+c)/2-a"]


def _counts(seed=2, n_genes=200) -> ad.AnnData:
    rng = np.random.default_rng(seed)
    X = rng.poisson(30, size=(9, n_genes)).astype(float)
    X[3:6, :20] *= 3  # b differs from a on 20 genes
    adata = ad.AnnData(
        X=X, obs=pd.DataFrame({"g": list("aaabbbccc")}, index=[f"s{i}" for i in range(9)])
    )
    adata.var_names = [f"G{i}" for i in range(n_genes)]
    return adata


def _quiet_compare(adata, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LeakageWarning)
        return tl.compare(
            adata, models=["linear"], cv=2, progress=False, permutation_repeats=0, **kwargs
        )


@pytest.fixture(scope="module")
def three():
    """tl.limma with three contrasts, then tl.compare on one of them."""
    adata = _counts()
    tl.limma(adata, groupby="g", contrast=THREE, filter=None)
    _quiet_compare(adata, contrast="b-a")
    return adata


def _read_all(adata, key="degbridge") -> dict[str, pd.DataFrame]:
    """The reader code, written once: it must not care how many contrasts there are."""
    df = get.limma_df(adata, key=key)
    return {
        name: part.drop(columns="contrast").set_index("gene")
        for name, part in df.groupby("contrast", sort=False)
    }


def test_one_layout_for_one_and_three_contrasts(three):
    one = tl.limma(_counts(), groupby="g", contrast="b-a", filter=None, copy=True)
    for adata, names in ((one, ["b-a"]), (three, THREE)):
        tables = _read_all(adata)
        assert list(tables) == names
        ref = run_limma(
            _counts(),
            groups="g",
            contrast=names if len(names) > 1 else names[0],
            method="voom",  # what tl.limma detects for counts
            filter=None,
        )
        refs = {names[0]: ref} if isinstance(ref, DETable) else ref
        for name in names:
            got = tables[name]
            assert list(got.columns) == CANON
            assert list(got.index) == list(refs[name].index)  # limma's order
            np.testing.assert_array_equal(got.to_numpy(), refs[name][CANON].to_numpy())
            # one contrast by name: the same rows, without the contrast column
            single = get.limma_df(adata, contrast=name)
            assert list(single.columns) == ["gene", *CANON]
            pd.testing.assert_frame_equal(single.set_index("gene"), got, check_exact=True)
    # the same keys in adata.uns, plus the F-test for several contrasts; nothing in var
    assert set(three.uns["degbridge"]) == set(one.uns["degbridge"]) | {"ftest"}
    assert list(one.var.columns) == list(three.var.columns) == []
    # the planted difference is found: b-a's smallest p-values are the first 20 genes
    top = tables["b-a"]["P.Value"].nsmallest(20).index
    assert len(set(top) & {f"G{i}" for i in range(20)}) >= 18


def test_names_with_slash_round_trip_h5ad(tmp_path):
    adata = _counts()
    names = {"b/a": "b-a", "b÷a": "b - a", "(b+c)/2 vs a": "(b+c)/2-a"}  # two map to "b÷a"
    tl.limma(adata, groupby="g", contrast=names, filter=None)
    _quiet_compare(adata, contrast="b/a", key_added="cmp")
    path = tmp_path / "names.h5ad"
    degbridge.write_h5ad(adata, path)
    back = ad.read_h5ad(path)
    assert list(back.uns["degbridge"]["contrast_keys"]) == ["b÷a", "b÷a~2", "(b+c)÷2 vs a"]
    assert list(_read_all(back)) == list(names)
    for name in names:
        pd.testing.assert_frame_equal(
            get.limma_df(back, contrast=name), get.limma_df(adata, contrast=name), check_exact=True
        )
    # "b/a" and "b÷a" test the same thing: identical tables under distinct keys
    pd.testing.assert_frame_equal(
        get.limma_df(back, contrast="b/a"), get.limma_df(back, contrast="b÷a")
    )
    assert back.uns["cmp"]["source"] == {"key": "degbridge", "contrast": "b/a"}
    for table in ("leaderboard", "predictions", "leakage"):
        pd.testing.assert_frame_equal(
            get.compare_df(back, key="cmp", table=table),
            get.compare_df(adata, key="cmp", table=table),
            check_exact=True,
        )
    # a comparison run on the read-back object reads the exact name too
    _quiet_compare(back, contrast="(b+c)/2 vs a", key_added="cmp2")
    pred = get.compare_df(back, key="cmp2", table="predictions").set_index("gene")
    ref = get.limma_df(adata, contrast="(b+c)/2 vs a").set_index("gene")
    np.testing.assert_array_equal(pred["observed"].to_numpy(), ref["logFC"].loc[pred.index])


def test_get_errors_name_what_is_stored(three):
    with pytest.raises(
        ValueError,
        match=r"adata.uns has no 'de': run degbridge.tl.limma\(adata, ..., key_added='de'\) "
        r"first \(degbridge limma results are stored under \['degbridge'\]\)",
    ):
        get.limma_df(three, key="de")
    with pytest.raises(
        ValueError,
        match=r"adata.uns\['degbridge_compare'\] holds 'degbridge compare', not degbridge limma "
        r"results \(degbridge limma results are stored under \['degbridge'\]",
    ):
        get.limma_df(three, key="degbridge_compare")
    stored = r"stored contrasts are \['b-a', 'c-a', '\(b\+c\)/2-a'\]"
    with pytest.raises(ValueError, match=rf"contrast 'b - a' is not stored .*; {stored}"):
        get.limma_df(three, contrast="b - a")
    with pytest.raises(ValueError, match=rf"contrast 'x' is not stored .*; {stored}"):
        get.limma_df(three, contrast=["b-a", "x"])
    with pytest.raises(ValueError, match=rf"contrast=\[\] names no contrast; {stored}"):
        get.limma_df(three, contrast=[])
    with pytest.raises(TypeError, match=r"contrast must be a contrast name"):
        get.limma_df(three, contrast=3)
    with pytest.raises(TypeError, match=r"expected an AnnData"):
        get.limma_df(pd.DataFrame())
    with pytest.raises(ValueError, match=r"key='a/b' contains '/'"):
        get.limma_df(three, key="a/b")
    with pytest.raises(
        ValueError,
        match=r"holds 'degbridge limma', not degbridge compare results \(degbridge compare "
        r"results are stored under \['degbridge_compare'\]",
    ):
        get.compare_df(three, key="degbridge")
    with pytest.raises(ValueError, match=r"table='leaks' is not stored .*its tables are \["):
        get.compare_df(three, table="leaks")
    with pytest.raises(ValueError, match=r"holds several contrasts .*: pass contrast="):
        _quiet_compare(three.copy())


def test_copy_returns_the_anndata_else_none():
    adata = _counts()
    out = tl.limma(adata, groupby="g", contrast="b-a", filter=None, copy=True)
    assert isinstance(out, ad.AnnData)
    assert out is not adata
    assert "degbridge" not in adata.uns  # the original is untouched
    assert tl.limma(adata, groupby="g", contrast="b-a", filter=None) is None
    pd.testing.assert_frame_equal(get.limma_df(adata), get.limma_df(out), check_exact=True)

    cmp = _quiet_compare(out, copy=True)
    assert isinstance(cmp, ad.AnnData)
    assert "degbridge_compare" in cmp.uns
    assert "degbridge_compare" not in out.uns
    assert _quiet_compare(out) is None
    pd.testing.assert_frame_equal(
        get.compare_df(out, table="leaderboard").drop(columns="fit_time"),
        get.compare_df(cmp, table="leaderboard").drop(columns="fit_time"),
    )


def test_key_added_separates_reads_and_writes():
    adata = _counts()
    tl.limma(adata, groupby="g", contrast="b-a", filter=None, key_added="de_b")
    tl.limma(adata, groupby="g", contrast="c-a", filter=None, key_added="de_c")
    before = get.limma_df(adata, key="de_c")
    _quiet_compare(adata, key="de_c", key_added="cmp")
    assert adata.uns["cmp"]["source"] == {"key": "de_c", "contrast": "c-a"}
    # the comparison predicted c-a's logFC, and did not touch the limma results it read
    pred = get.compare_df(adata, key="cmp", table="predictions").set_index("gene")
    observed = before.set_index("gene")["logFC"].loc[pred.index]
    np.testing.assert_array_equal(pred["observed"].to_numpy(), observed.to_numpy())
    pd.testing.assert_frame_equal(get.limma_df(adata, key="de_c"), before, check_exact=True)
    assert get.limma_df(adata, key="de_b")["contrast"].unique().tolist() == ["b-a"]
    # default key_added: f"{key}_compare"
    _quiet_compare(adata, key="de_b")
    assert adata.uns["de_b_compare"]["source"]["key"] == "de_b"
    # re-running limma replaces its own key only
    tl.limma(adata, groupby="g", contrast="c-a", filter=None, key_added="de_c")
    assert {"de_b", "de_c", "cmp", "de_b_compare"} <= set(adata.uns)
    with pytest.raises(ValueError, match=r"key_added='de_c' is where the limma results are read"):
        _quiet_compare(adata, key="de_c", key_added="de_c")


def test_method_none_detects_log_expression(caplog):
    counts = _counts()
    logexpr = counts.copy()
    logexpr.X = np.log2(counts.X / counts.X.sum(axis=1, keepdims=True) * 1e6 + 1)
    with caplog.at_level(logging.INFO, logger="degbridge"):
        tl.limma(logexpr, groupby="g", contrast="b-a")
    assert "method='ls' (log-expression detected" in caplog.text
    params = logexpr.uns["degbridge"]["params"]
    assert params["method_choice"].startswith("ls: log-expression detected")
    assert params["method"] == "limma"
    ref = run_limma(logexpr, groups="g", contrast="b-a", method="ls")
    got = get.limma_df(logexpr, contrast="b-a").set_index("gene")
    np.testing.assert_array_equal(got[CANON].to_numpy(), ref[CANON].to_numpy())
    # raw counts: voom; a given method is recorded as given
    tl.limma(counts, groupby="g", contrast="b-a", filter=None)
    assert counts.uns["degbridge"]["params"]["method"] == "limma-voom"
    tl.limma(counts, groupby="g", contrast="b-a", filter=None, method="trend")
    assert counts.uns["degbridge"]["params"]["method_choice"] == "trend: given"
