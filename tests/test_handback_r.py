"""Hand-back to R through rpy2: data.frames and lists checked with R's own functions."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import degbridge
from degbridge import LeakageWarning, compare, read_table

pytestmark = pytest.mark.r


@pytest.fixture(scope="module")
def R():
    from degbridge import r

    return r.session().ro.r


def test_detable_to_r_data_frame(R, data_dir):
    tab = read_table(data_dir / "geo2r_GSE48452_top300.tsv")
    rdf = tab.to_r()
    assert list(R["class"](rdf)) == ["data.frame"]
    assert list(R["rownames"](rdf)) == list(tab.index)
    assert list(R["colnames"](rdf)) == [
        "logFC",
        "t",
        "P.Value",
        "adj.P.Val",
        "B",
        "Gene.symbol",
        "Gene.title",
    ]
    for col in ("logFC", "t", "P.Value", "adj.P.Val", "B"):
        values = np.array(R["[["](rdf, col))
        np.testing.assert_array_equal(values, tab[col].to_numpy())  # exact
    symbols = R["[["](rdf, "Gene.symbol")
    is_na = np.array(R["is.na"](symbols), dtype=bool)
    np.testing.assert_array_equal(is_na, tab["Gene.symbol"].isna().to_numpy())
    assert str(R["class"](symbols)[0]) == "character"


def test_nan_becomes_na(R):
    df = pd.DataFrame({"logFC": [1.0, np.nan], "n": [1, 2], "ok": [True, False]}, index=["a", "b"])
    rdf = degbridge.to_r(df)
    assert list(R["is.na"](R["[["](rdf, "logFC"))) == [False, True]
    assert str(R["class"](R["[["](rdf, "n"))[0]) == "integer"
    assert str(R["class"](R["[["](rdf, "ok"))[0]) == "logical"


def test_r_data_frame_accepted_as_table(R):
    rdf = R(
        """
        suppressPackageStartupMessages(library(limma))
        set.seed(1)
        E <- matrix(rnorm(600, 8), 100, 6, dimnames = list(sprintf("g%03d", 1:100), NULL))
        g <- factor(rep(c("a", "b"), each = 3))
        topTable(eBayes(lmFit(E, model.matrix(~ g))), coef = 2, number = Inf)
        """
    )
    tab = read_table(rdf)
    assert tab.shape == (100, 6)
    assert list(tab.columns) == ["logFC", "AveExpr", "t", "P.Value", "adj.P.Val", "B"]
    assert tab.meta["source"] == "R data.frame"
    np.testing.assert_array_equal(
        tab["logFC"].to_numpy(),
        np.array(R("topTable(eBayes(lmFit(E, model.matrix(~ g))), coef = 2, number = Inf)$logFC")),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LeakageWarning)
        res = compare(
            rdf, target="logFC", models=["linear"], cv=2, progress=False, permutation_repeats=0
        )
    assert res.params["n_genes"] == 100


def test_comparison_to_r_list(R, data_dir):
    tab = read_table(data_dir / "limma_voom_every10th.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LeakageWarning)
        res = compare(tab, target="B", models=["linear", "decision_tree"], cv=3, progress=False)
    rl = res.to_r()
    assert list(R["names"](rl)) == [
        "leaderboard", "predictions", "importances", "leakage", "preprocessing", "outliers",
        "cv_scores", "leakage_scores", "params",
    ]  # fmt: skip
    preds = R["[["](rl, "predictions")
    assert list(R["rownames"](preds)) == list(res.predictions.index)
    np.testing.assert_array_equal(
        np.array(R["[["](preds, "oof")), res.predictions["oof"].to_numpy()
    )
    board = R["[["](rl, "leaderboard")
    assert list(R["[["](board, "model")) == list(res.leaderboard["model"])
    np.testing.assert_array_equal(
        np.array(R["[["](board, "cv_r2_mean")), res.leaderboard["cv_r2_mean"].to_numpy()
    )
    leak = R["[["](rl, "leakage")
    assert list(R["rownames"](leak)) == list(res.leakage.index)
    params = R["[["](rl, "params")
    assert str(R["[["](params, "target")[0]) == "B"
    assert int(R["[["](params, "cv")[0]) == 3


def test_deresults_to_r(R):
    rng = np.random.default_rng(0)
    expr = pd.DataFrame(rng.normal(size=(50, 6)), index=[f"g{i}" for i in range(50)])
    res = degbridge.run_limma(expr, groups=list("aabbcc"), contrast=["b-a", "c-a"])
    rl = degbridge.to_r(res)
    assert list(R["names"](rl)) == ["b-a", "c-a", "F"]
    with pytest.raises(TypeError, match="to_r converts"):
        degbridge.to_r(42)
