"""Issue 13: provenance and the three scores, grouped CV, prediction across tables, shared
samples. Numbers are checked against scikit-learn refits on the same genes and folds."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression
from sklearn.metrics import r2_score
from sklearn.model_selection import GroupKFold, PredefinedSplit, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import degbridge
from degbridge import DegbridgeWarning, compare, split_reference

from ..conftest import random_expr

KW = {"models": ["linear"], "cv": 3, "progress": False, "permutation_repeats": 0, "random_state": 0}


def _tables(n=600, seed=0):
    """A DE-like table (logFC, AveExpr, t) and an external per-gene table that explains part
    of logFC; gene IDs G0..G{n-1}."""
    rng = np.random.default_rng(seed)
    genes = [f"G{i}" for i in range(n)]
    ext = pd.DataFrame(
        {"length": rng.normal(size=n), "gc": rng.normal(size=n), "chrom": rng.integers(1, 23, n)},
        index=genes,
    )
    logfc = 0.8 * ext["length"] + rng.normal(0, 0.6, n)
    se = rng.uniform(0.2, 0.6, n)
    table = pd.DataFrame(
        {"logFC": logfc, "AveExpr": rng.normal(6, 1, n), "t": logfc / se}, index=genes
    )
    return table, ext


def _sklearn_cv(res, X: pd.DataFrame) -> float:
    """Mean CV R² of a standardised linear model on the comparison's own training genes and
    folds, with plain scikit-learn."""
    pred = res.predictions
    train = pred[pred["split"] == "train"]
    folds = PredefinedSplit(train["fold"].to_numpy())
    pipe = make_pipeline(StandardScaler(), LinearRegression())
    scores = cross_val_score(pipe, X.loc[train.index], train["observed"], cv=folds, scoring="r2")
    return float(np.mean(scores))


def test_three_scores_lead_with_external():
    table, ext = _tables()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", degbridge.LeakageWarning)
        res = compare(
            table, target="logFC", extra={"ann": (ext[["length", "gc"]], "external")}, **KW
        )
    prov = res.params["provenance"]
    assert prov == {"AveExpr": "same-samples", "t": "test", "ann_length": "external",
                    "ann_gc": "external"}  # fmt: skip
    scores = res.leakage_scores
    assert list(scores.index) == [
        "all features",
        "without flagged features",
        "external features only",
    ]
    assert scores.loc["external features only", "n_features"] == 2
    assert scores.loc["external features only", "features"] == "ann_length, ann_gc"
    assert list(scores.index[scores["honest"]]) == ["external features only"]
    assert res.honest_score.name == "external features only"
    # the external-only score is a plain scikit-learn refit on the same folds
    X = pd.concat([table, ext.add_prefix("ann_")], axis=1)
    expected = _sklearn_cv(res, X[["ann_length", "ann_gc"]])
    assert scores.loc["external features only", "cv_r2_mean"] == pytest.approx(expected, rel=1e-10)
    # and it is far below the all-features score, which reads logFC off t
    assert scores.loc["all features", "cv_r2_mean"] > 0.9 > expected > 0.5  # truth: 0.64
    text = res.summary()
    assert text.splitlines()[1].startswith("most honest score (external features only, 2 features)")


def test_annotation_attrs_make_a_table_external():
    table, ext = _tables()
    feats = ext[["length"]].copy()
    feats.attrs["provenance"] = "external"  # what gene_annotation/annotation_features set
    res = compare(table.drop(columns="t"), target="logFC", extra={"ann": feats}, **KW)
    assert res.params["provenance"]["ann_length"] == "external"
    undeclared = compare(
        table.drop(columns="t"), target="logFC", extra={"x": ext[["length"]]}, **KW
    )
    assert undeclared.params["provenance"]["x_length"] == "same-samples"
    assert undeclared.honest_score.name == "without flagged features"


def test_provenance_argument_and_bad_values():
    table, _ = _tables()
    res = compare(table.drop(columns="t"), target="logFC", provenance={"AveExpr": "external"}, **KW)
    assert res.params["provenance"]["AveExpr"] == "external"
    with pytest.raises(ValueError, match=r"provenance names \['nope'\], which are not features"):
        compare(table, target="logFC", provenance={"nope": "external"}, **KW)
    with pytest.raises(ValueError, match=r"provenance values must be one of"):
        compare(table, target="logFC", provenance={"AveExpr": "outside"}, **KW)
    with pytest.raises(ValueError, match=r"extra table 'a': give a frame or \(frame, provenance\)"):
        compare(table, target="logFC", extra={"a": (table[["AveExpr"]], "elsewhere")}, **KW)


def test_grouped_cv_keeps_groups_together_and_matches_sklearn():
    table, ext = _tables(n=800, seed=3)
    data = table.drop(columns="t").join(ext[["length", "chrom"]])
    res = compare(data, target="logFC", cv_groups="chrom", **KW)
    assert "chrom" not in res.features  # the grouping column is not a feature
    assert res.params["split"].startswith("grouped by column 'chrom' (22 groups)")
    pred = res.predictions.join(ext["chrom"])
    train, test = pred[pred["split"] == "train"], pred[pred["split"] == "test"]
    assert not set(train["chrom"]) & set(test["chrom"])  # no chromosome on both sides
    by_fold = train.groupby("chrom")["fold"].nunique()
    assert (by_fold == 1).all()  # each chromosome in one fold
    # the folds are scikit-learn's GroupKFold on the training genes, and the CV score is
    # a plain refit on them
    kfold = GroupKFold(n_splits=3, shuffle=True, random_state=0)
    expected_fold = np.full(len(train), -1)
    for k, (_, va) in enumerate(kfold.split(train, groups=train["chrom"].astype(str))):
        expected_fold[va] = k
    np.testing.assert_array_equal(train["fold"].to_numpy(), expected_fold)
    lb = res.leaderboard.set_index("model")
    expected = _sklearn_cv(res, data[["AveExpr", "length"]])
    assert lb.loc["linear", "cv_r2_mean"] == pytest.approx(expected, rel=1e-10)
    assert "grouped by column 'chrom'" in res.summary()


def test_grouped_cv_from_labels_and_errors():
    table, ext = _tables(n=300, seed=1)
    labels = ext["chrom"].astype(str).iloc[:250]  # 50 genes without a label
    res = compare(table.drop(columns="t"), target="logFC", cv_groups=labels, **KW)
    assert res.params["split"].startswith("grouped by cv_groups")
    assert "one group each" in " ".join(res.preprocessing["detail"])
    with pytest.raises(ValueError, match=r"cv_groups='nope' is not a column"):
        compare(table, target="logFC", cv_groups="nope", **KW)
    with pytest.raises(ValueError, match="single group"):
        compare(table, target="logFC", cv_groups=pd.Series("a", index=table.index), **KW)
    with pytest.raises(ValueError, match="matches no gene ID"):
        compare(table, target="logFC", cv_groups=pd.Series(["a", "b"], index=["x", "y"]), **KW)


def test_predict_another_table_with_baselines():
    table, ext = _tables(n=600, seed=5)
    rng = np.random.default_rng(9)
    # a second study: same genes' biology (length), new noise; 100 genes of it unseen
    other = pd.DataFrame(
        {"logFC": 0.8 * ext["length"] + rng.normal(0, 0.6, 600)}, index=ext.index
    ).iloc[100:]
    res = compare(table[["logFC"]], target="logFC",
                  extra={"ann": (ext[["length", "gc"]], "external")}, **KW)  # fmt: skip
    tr = res.predict(other)
    assert tr.overlap["n_shared"] == 500 and tr.overlap["n_other"] == 500
    preds = tr.predictions
    assert len(preds) == 500
    # each number is what scikit-learn / numpy give on the same vectors
    unseen = preds[preds["split"] == "test"]
    assert tr.overlap["n_shared_test"] == len(unseen) > 50
    got = tr.scores.loc[("unseen (test genes)", "linear")]
    assert got["r2"] == pytest.approx(r2_score(unseen["observed"], unseen["predicted"]))
    base = tr.scores.loc[("unseen (test genes)", "baseline: training table's target")]
    assert base["r2"] == pytest.approx(r2_score(unseen["observed"], unseen["training_target"]))
    X = ext.loc[unseen.index, ["length", "gc"]].to_numpy()
    np.testing.assert_allclose(unseen["predicted"], res.best.predict(X))
    assert got["r2"] > base["r2"]  # the model beats copying a noisy study
    assert "shared genes" in tr.summary()


def test_predict_errors():
    table, ext = _tables(n=200, seed=6)
    res = compare(
        table[["logFC"]], target="logFC", extra={"ann": (ext[["length"]], "external")}, **KW
    )
    with pytest.raises(ValueError, match=r"no genes shared: the training table has 200 genes"):
        res.predict(pd.DataFrame({"logFC": [1.0, 2.0]}, index=["x", "y"]))
    with pytest.raises(ValueError, match=r"no target column 'B'"):
        res.predict(table, target="B")
    with pytest.raises(ValueError, match=r"lacks the model's features \['ann_length'\]"):
        res.predict(table, extra={})


def test_split_reference():
    groups = pd.Series(["h0"] * 9 + ["h24"] * 3, index=[f"c{i}" for i in range(12)])
    a, b = split_reference(groups, "h0", random_state=1)
    assert len(a) == 5 and len(b) == 4 and not set(a) & set(b)
    assert set(a) | set(b) == {f"c{i}" for i in range(9)}
    assert split_reference(groups, "h0", random_state=1) == (a, b)
    with pytest.raises(ValueError, match=r"reference 'h24' has 3 samples"):
        split_reference(groups, "h24")
    with pytest.raises(TypeError, match="pandas Series"):
        split_reference(["h0"] * 5, "h0")


@pytest.mark.r
def test_shared_samples_between_degbridge_tables_are_detected():
    expr = random_expr(300, 12, 7)
    groups = pd.Series(["A"] * 6 + ["B"] * 3 + ["C"] * 3, index=expr.columns)
    tb = degbridge.run_limma(expr[list(groups.index[:9])], groups=groups.iloc[:9],
                             contrast="B - A")  # fmt: skip
    shared_c = list(groups.index[:6]) + list(groups.index[9:])
    tc = degbridge.run_limma(expr[shared_c], groups=groups[shared_c], contrast="C - A")
    with pytest.warns(DegbridgeWarning, match=r"computed from 6 of the same samples"):
        res = compare(tc[["logFC"]], target="logFC", extra={"b": tb[["logFC"]]}, **KW)
    assert res.params["shared_samples"] == {"b": 6}
    assert res.params["provenance"]["b_logFC"] == "same-samples"
    a1, a2 = split_reference(groups, "A", random_state=0)
    tb2 = degbridge.run_limma(expr[a1 + list(groups.index[6:9])],
                              groups=groups[a1 + list(groups.index[6:9])], contrast="B - A")  # fmt: skip
    tc2 = degbridge.run_limma(expr[a2 + list(groups.index[9:])],
                              groups=groups[a2 + list(groups.index[9:])], contrast="C - A")  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error", DegbridgeWarning)
        res2 = compare(tc2[["logFC"]], target="logFC", extra={"b": tb2[["logFC"]]}, **KW)  # fmt: skip
    assert res2.params["shared_samples"] == {"b": 0}
    assert res2.params["provenance"]["b_logFC"] == "external"
