"""compare() split into steps: same numbers as before, declared and picklable results, FitTask.

The leaderboard literals below were recorded from compare() before it was split into
engine/steps/result modules (commit db797a6); each is also checked against scikit-learn
refitted independently on the same split.
"""

from __future__ import annotations

import dataclasses
import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from degbridge import compare
from degbridge.comparison import Comparison
from degbridge.comparison.engine import FitTask, run_task
from degbridge.comparison.steps import pipeline

MODELS = ["mean", "linear", "ridge", "decision_tree"]

# recorded before the split: model -> (cv_r2_mean, cv_r2_sd, cv_mse_mean, test_r2, test_mse, test_mae)
RECORDED = {
    "linear": (
        0.9408328500409601,
        0.01327911777588864,
        0.040205405332183704,
        0.9364956231703372,
        0.04737199130958644,
        0.1912463458899948,
    ),
    "ridge": (
        0.9407479166872638,
        0.01268467959016191,
        0.04032315187719263,
        0.9347653964478289,
        0.048662678492961735,
        0.19343562249444357,
    ),
    "decision_tree": (
        0.8355259845960106,
        0.0329278963222505,
        0.11310910762453226,
        0.8111037293516946,
        0.14090985438006892,
        0.30697019819687177,
    ),
    "mean": (
        -0.003366604725846045,
        0.0026283084499078976,
        0.6974262357061182,
        -0.0022355431708280804,
        0.7476318296705221,
        0.6670668424841171,
    ),
}
COLUMNS = ["cv_r2_mean", "cv_r2_sd", "cv_mse_mean", "test_r2", "test_mse", "test_mae"]


def small_table(n=90, seed=7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ave = rng.normal(6, 2, n)
    noise = rng.normal(0, 1, n)
    logfc = 0.4 * ave + 0.5 * noise + rng.normal(0, 0.3, n)
    se = 0.2 + 0.1 * rng.uniform(size=n)
    return pd.DataFrame(
        {"logFC": logfc, "AveExpr": ave, "noise": noise, "t": logfc / se},
        index=pd.Index([f"g{i}" for i in range(n)], name="gene"),
    )


@pytest.fixture(scope="module")
def table():
    return small_table()


@pytest.fixture(scope="module")
def result(table):
    return compare(
        table,
        "logFC",
        models=MODELS,
        cv=3,
        random_state=0,
        leakage="keep",
        permutation_repeats=2,
        progress=False,
    )


def test_leaderboard_numbers_as_recorded_before_the_split(result):
    lb = result.leaderboard.set_index("model")
    assert list(lb.index) == ["linear", "ridge", "decision_tree", "mean"]
    assert result.best.name == "linear" and result.best.selected_on == "cv"
    for model, values in RECORDED.items():
        np.testing.assert_allclose(lb.loc[model, COLUMNS].to_numpy(float), values, rtol=1e-12)


def test_linear_scores_equal_independent_sklearn(result, table):
    """LinearRegression refitted with plain scikit-learn on the same split and folds."""
    preds = result.predictions
    X = table[result.features].to_numpy(float)
    y = table["logFC"].to_numpy(float)
    train = (preds["split"] == "train").to_numpy()
    test = ~train

    def fit(rows):
        pipe = make_pipeline(SimpleImputer(strategy="median"), StandardScaler(), LinearRegression())
        return pipe.fit(X[rows], y[rows])

    pred = fit(train).predict(X[test])
    lb = result.leaderboard.set_index("model").loc["linear"]
    assert lb["test_r2"] == pytest.approx(r2_score(y[test], pred), rel=1e-12)
    assert lb["test_mse"] == pytest.approx(mean_squared_error(y[test], pred), rel=1e-12)
    assert lb["test_mae"] == pytest.approx(mean_absolute_error(y[test], pred), rel=1e-12)
    fold = preds["fold"].to_numpy()
    scores = []
    for k in range(3):
        val = fold == k
        scores.append(r2_score(y[val], fit(train & ~val).predict(X[val])))
    assert lb["cv_r2_mean"] == pytest.approx(np.mean(scores), rel=1e-12)
    assert lb["cv_r2_sd"] == pytest.approx(np.std(scores), rel=1e-12)
    # the out-of-fold predictions of the best model are those fold fits' predictions
    oof = preds["oof"].to_numpy()
    for k in range(3):
        val = fold == k
        np.testing.assert_allclose(oof[val], fit(train & ~val).predict(X[val]), rtol=1e-12)


def test_comparison_declares_its_attributes():
    names = {f.name for f in dataclasses.fields(Comparison)}
    expected = {
        "target",
        "features",
        "leaderboard",
        "best",
        "importances",
        "leakage",
        "leakage_scores",
        "preprocessing",
        "outliers",
        "cv_scores",
        "oof",
        "models",
        "params",
        "fitted",
    }
    assert expected <= names
    assert "predictions" in Comparison.__dict__  # a cached property, built on first access


def test_predictions_built_once_on_first_access(result):
    assert result.predictions is result.predictions


def test_pickle_round_trip(result):
    fresh = compare(
        small_table(),
        "logFC",
        models=["linear"],
        cv=3,
        leakage="keep",
        permutation_repeats=0,
        progress=False,
    )
    assert "predictions" not in fresh.__dict__  # not built yet: pickling builds it
    back = pickle.loads(pickle.dumps(fresh))
    assert back.fitted is None  # the feature matrix is not pickled
    assert fresh.fitted is not None  # the original is untouched
    pd.testing.assert_frame_equal(back.predictions, fresh.predictions)
    pd.testing.assert_frame_equal(back.leaderboard, fresh.leaderboard)
    assert back.params == fresh.params and back.features == fresh.features
    X = small_table()[fresh.features].to_numpy(float)
    np.testing.assert_array_equal(back.best.predict(X), fresh.best.predict(X))
    assert repr(back) == repr(fresh)


def test_comparison_from_tables_keywords(result):
    """How a results folder is read back: tables by keyword, predictions assigned."""
    loaded = Comparison(
        target=result.target,
        features=result.features,
        leaderboard=result.leaderboard,
        best=result.best,
        importances=result.importances,
        leakage=result.leakage,
        leakage_scores=None,
        preprocessing=result.preprocessing,
        outliers=result.outliers,
        cv_scores=result.cv_scores,
        oof=None,
        models={},
        params=result.params,
    )
    assert loaded.predictions is None
    loaded.predictions = result.predictions
    assert loaded.predictions is result.predictions
    assert loaded.summary() == result.summary()


def test_fit_task_fold_equals_sklearn():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 3))
    y = X @ [1.0, -2.0, 0.5] + rng.normal(0, 0.1, 40)
    fit_idx, eval_idx = np.arange(30), np.arange(30, 40)
    template = make_pipeline(StandardScaler(), LinearRegression())
    task = FitTask("fold", "linear", template, X, y, fit_idx, eval_idx, fold=2)
    key, out = run_task(task)
    assert key == ("linear", 2)
    expected = LinearRegression().fit(X[fit_idx], y[fit_idx]).predict(X[eval_idx])
    np.testing.assert_allclose(out["pred"], expected, rtol=1e-10)
    assert "pipeline" not in out and out["fit_time"] >= 0


def test_fit_task_refit_and_failure():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(40, 2))
    y = X[:, 0] + rng.normal(0, 0.1, 40)
    rows = np.arange(30)
    task = FitTask(
        "refit",
        "linear",
        pipeline(LinearRegression(), outliers="report"),
        X,
        y,
        rows,
        np.arange(30, 40),
        perm_rows=np.arange(30, 40),
        perm_repeats=3,
        random_state=0,
    )
    key, out = run_task(task)
    assert key == ("linear", "refit")
    scaled = StandardScaler().fit(X[rows])
    coef = LinearRegression().fit(scaled.transform(X[rows]), y[rows]).coef_
    np.testing.assert_allclose(out["coef"], coef, rtol=1e-10)
    assert out["perm_mean"].shape == (2,) and out["perm_mean"][0] > out["perm_mean"][1]
    bad = dataclasses.replace(task, X=np.full((40, 2), np.nan))
    _, failed = run_task(bad)
    assert set(failed) == {"kind", "name", "error"} and failed["error"].startswith("ValueError")
