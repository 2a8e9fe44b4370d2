"""Issue 13 on real data: the HSMM myoblast time course (Debian's r-bioc-hsmmsinglecell).

Two contrasts against the same 0 h cells share those cells' noise: predicting the 72 h-vs-0 h
logFC from the 24 h-vs-0 h logFC looks better than the biology allows. The comparison must
detect the shared samples, and the disjoint-reference design (``split_reference``) must give
the lower, honest score. Scores are checked against plain scikit-learn / scipy on the same
genes and folds. Then a model fitted on the 24 h table with annotation features (external)
predicts the 72 h table, with its baselines.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr
from sklearn.linear_model import LinearRegression
from sklearn.metrics import mean_squared_error, r2_score
from sklearn.model_selection import PredefinedSplit, cross_val_score

import degbridge
from degbridge import DegbridgeWarning, compare, split_reference

pytestmark = pytest.mark.r

KW = {"models": ["linear"], "cv": 5, "progress": False, "permutation_repeats": 0, "random_state": 0}


def _limma(expr, groups, samples, contrast):
    """limma ls on log2(FPKM + 1) of the given cells; limma's note about genes with zero
    variance in these sparse single-cell data is expected and silenced (only that one)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "R .*Zero sample variances", degbridge.RWarning)
        return degbridge.run_limma(
            expr[samples], groups=groups[samples], contrast=contrast, method="ls"
        )


@pytest.fixture(scope="module")
def hsmm():
    from degbridge import r
    from degbridge.datasets import hsmm

    if not r.package_installed("HSMMSingleCell"):
        pytest.skip("R package HSMMSingleCell missing (apt-get install r-bioc-hsmmsinglecell)")
    expr, cells, _ = hsmm()
    g = cells["time"]
    h0, h24, h72 = (list(g.index[g == t]) for t in ("h0", "h24", "h72"))
    half_a, half_b = split_reference(g, "h0", random_state=0)
    return {
        "n_h0": len(h0),
        "shared": (
            _limma(expr, g, h0 + h24, "h24 - h0"),
            _limma(expr, g, h0 + h72, "h72 - h0"),
        ),
        "disjoint": (
            _limma(expr, g, half_a + h24, "h24 - h0"),
            _limma(expr, g, half_b + h72, "h72 - h0"),
        ),
    }


def _sklearn_cv_r2(res, feature: pd.Series) -> float:
    """Mean CV R² of a plain LinearRegression on the comparison's training genes and folds."""
    pred = res.predictions
    train = pred[pred["split"] == "train"]
    X = feature.loc[train.index].to_numpy()[:, None]
    folds = PredefinedSplit(train["fold"].to_numpy())
    scores = cross_val_score(LinearRegression(), X, train["observed"], cv=folds, scoring="r2")
    return float(np.mean(scores))


def _oof_spearman(res) -> float:
    train = res.predictions[res.predictions["split"] == "train"]
    return float(spearmanr(train["observed"], train["oof"]).statistic)


def test_shared_baseline_inflates_the_score(hsmm):
    t24, t72 = hsmm["shared"]
    n_h0 = hsmm["n_h0"]
    assert n_h0 == 69
    with pytest.warns(DegbridgeWarning, match=rf"computed from {n_h0} of the same samples"):
        shared = compare(t72[["logFC"]], target="logFC", extra={"h24": t24[["logFC"]]}, **KW)
    assert shared.params["shared_samples"] == {"h24": n_h0}
    assert shared.params["provenance"] == {"h24_logFC": "same-samples"}

    d24, d72 = hsmm["disjoint"]
    assert not set(d24.meta["design"].index) & set(d72.meta["design"].index)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DegbridgeWarning)
        disjoint = compare(d72[["logFC"]], target="logFC", extra={"h24": d24[["logFC"]]}, **KW)
    assert disjoint.params["shared_samples"] == {"h24": 0}
    assert disjoint.params["provenance"] == {"h24_logFC": "external"}
    # an external feature: the disjoint comparison leads with the external-only score
    assert disjoint.honest_score.name == "external features only"
    assert shared.honest_score.name != "external features only"

    # each CV R² is a plain scikit-learn refit on the comparison's own folds
    cv = {}
    for label, res, other in (("shared", shared, t24), ("disjoint", disjoint, d24)):
        got = res.leaderboard.set_index("model").loc["linear", "cv_r2_mean"]
        expected = _sklearn_cv_r2(res, other["logFC"])
        assert got == pytest.approx(expected, rel=1e-9)
        cv[label] = got
    # the shared 0 h cells add apparent skill (measured 0.40 vs 0.25; Spearman 0.55 vs 0.37)
    assert cv["shared"] > cv["disjoint"] + 0.1
    assert cv["disjoint"] > 0.1  # the biology is still there
    assert _oof_spearman(shared) > _oof_spearman(disjoint) + 0.1


def test_annotation_model_from_24h_predicts_72h(hsmm):
    from degbridge import annotation_features, gene_annotation, r

    if not r.package_installed("org.Hs.eg.db"):
        pytest.skip("R package org.Hs.eg.db missing (apt-get install r-bioc-org.hs.eg.db)")
    d24, d72 = hsmm["disjoint"]
    ann = gene_annotation(d24.index)  # versioned Ensembl IDs
    assert ann.attrs["keytype"] == "ENSEMBL"
    assert ann.attrs["n_mapped"] > 0.7 * len(d24)
    feats = annotation_features(ann)
    res = compare(
        d24[["logFC"]],
        target="logFC",
        extra={"ann": feats},
        **{**KW, "models": ["linear", "hist_gradient_boosting"]},
    )
    assert set(res.params["provenance"].values()) == {"external"}
    with warnings.catch_warnings():
        warnings.simplefilter("error", DegbridgeWarning)  # disjoint cells: no shared samples
        tr = res.predict(d72)
    assert tr.overlap["shared_samples"] == 0
    assert tr.overlap["n_shared"] == len(d24.index.intersection(d72.index))
    preds = tr.predictions
    # the vectors are the two tables' own logFC
    np.testing.assert_array_equal(preds["observed"], d72.loc[preds.index, "logFC"])
    np.testing.assert_array_equal(preds["training_target"], d24.loc[preds.index, "logFC"])
    split = res.predictions["split"]
    train_mean = float(d24.loc[split.index[split == "train"], "logFC"].mean())
    # every score is scikit-learn's / scipy's on the returned vectors
    for genes, mask in (
        ("all shared", np.ones(len(preds), dtype=bool)),
        ("unseen (test genes)", (preds["split"] == "test").to_numpy()),
    ):
        part = preds[mask]
        obs = part["observed"].to_numpy()
        for predictor, p in (
            (tr.model, part["predicted"].to_numpy()),
            ("baseline: training table's target", part["training_target"].to_numpy()),
        ):
            row = tr.scores.loc[(genes, predictor)]
            assert row["n_genes"] == len(part)
            assert row["r2"] == pytest.approx(r2_score(obs, p), rel=1e-10)
            assert row["spearman"] == pytest.approx(spearmanr(obs, p).statistic, rel=1e-10)
            assert row["rmse"] == pytest.approx(np.sqrt(mean_squared_error(obs, p)), rel=1e-10)
        row = tr.scores.loc[(genes, "baseline: training mean")]
        assert row["r2"] == pytest.approx(r2_score(obs, np.full(len(obs), train_mean)), rel=1e-10)


def test_predict_across_shared_reference_warns(hsmm):
    t24, t72 = hsmm["shared"]
    res = compare(t24, target="logFC", features=["AveExpr"], **KW)
    with pytest.warns(DegbridgeWarning, match=r"computed from 69 of the training table's samples"):
        tr = res.predict(t72)
    assert tr.overlap["shared_samples"] == 69
