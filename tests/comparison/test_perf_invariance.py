"""compare()'s memory/speed engineering (issue 17) changes no number.

``tests/data/compare_default_recorded.json.gz`` holds a default comparison (13 models, 5-fold
CV, out-of-fold predictions, permutation importances, leakage scores) of every 8th gene of
``limma_voom_every10th.csv``, recorded with the code *before* the fold fits and refits were
split into two phases and the other models' fitted pipelines left in the workers (commit
64282d2, ``n_jobs=None``; the same file came out with ``n_jobs=2``). Every number must still
be the same; the selected model is also checked against scikit-learn fitted independently.
"""

from __future__ import annotations

import gzip
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import degbridge
from degbridge import compare
from degbridge.comparison import engine

DATA = Path(__file__).resolve().parents[1] / "data"
RTOL = 1e-12


def recorded() -> dict:
    with gzip.open(DATA / "compare_default_recorded.json.gz", "rt", encoding="utf-8") as fh:
        return json.load(fh)


def table() -> pd.DataFrame:
    path = DATA / "limma_voom_every10th.csv"
    return pd.read_csv(path, index_col=0, float_precision="round_trip").iloc[::8]


def quiet_compare(t, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", degbridge.DegbridgeWarning)  # leakage: t is flagged
        return compare(t, progress=False, **kw)


@pytest.fixture(scope="module")
def default():
    return quiet_compare(table(), target="logFC")


def as_frame(stored: dict) -> pd.DataFrame:
    frame = pd.DataFrame(stored["data"], columns=stored["columns"])
    return frame.set_index(stored["columns"][0])


def assert_same(got: pd.DataFrame, stored: dict, name: str) -> None:
    want = as_frame(stored)
    got = got.reset_index()
    got = got.set_index(got.columns[0])
    assert list(map(str, got.columns)) == list(want.columns), name
    assert list(map(str, got.index)) == list(map(str, want.index)), name
    for col in want.columns:
        w, g = want[col], got[col]
        if pd.api.types.is_numeric_dtype(w) and not pd.api.types.is_bool_dtype(w):
            np.testing.assert_allclose(
                g.to_numpy(dtype=float), w.to_numpy(dtype=float), rtol=RTOL, atol=0,
                err_msg=f"{name}.{col}",
            )  # fmt: skip
        else:
            assert [None if pd.isna(v) else v for v in g] == list(w), f"{name}.{col}"


def test_default_comparison_numbers_unchanged(default):
    rec = recorded()
    assert default.best.name == rec["best"]
    assert_same(default.leaderboard.drop(columns=["fit_time"]), rec["leaderboard"], "leaderboard")
    assert_same(default.cv_scores.drop(columns=["fit_time"]), rec["cv_scores"], "cv_scores")
    assert_same(default.oof, rec["oof"], "oof")
    assert_same(default.predictions, rec["predictions"], "predictions")
    assert_same(default.importances, rec["importances"], "importances")
    assert_same(default.leakage_scores, rec["leakage_scores"], "leakage_scores")


def test_only_the_selected_pipeline_is_kept_and_predicts(default):
    best = default.best.name
    assert list(default.models) == [best]
    assert default.models[best] is default.best.pipeline
    # the selected model (k-nearest neighbours on this table), fitted by scikit-learn alone
    assert best == "knn"
    pred = default.predictions
    train = pred.index[pred["split"] == "train"]
    t = table()
    plain = make_pipeline(
        SimpleImputer(strategy="median"), StandardScaler(), KNeighborsRegressor(n_neighbors=5)
    ).fit(t.loc[train, default.features].to_numpy(), t.loc[train, "logFC"].to_numpy())
    want = plain.predict(t.loc[pred.index, default.features].to_numpy())
    np.testing.assert_allclose(pred["predicted"].to_numpy(), want, rtol=RTOL, atol=1e-15)
    # Comparison.predict (another study's table: same genes, another logFC) uses it
    other = t.assign(logFC=t["logFC"] * 0.5 + 0.1)
    tr = default.predict(other)
    np.testing.assert_allclose(
        tr.predictions["predicted"].to_numpy(),
        plain.predict(other.loc[tr.predictions.index, default.features].to_numpy()),
        rtol=RTOL, atol=1e-15,
    )  # fmt: skip


def test_refits_leave_other_pipelines_in_the_workers(monkeypatch):
    """Through loky (2 workers): only the CV leader's refit pickles its pipeline back."""
    seen = []
    real = engine._run_parallel

    def spy(tasks, outputs, n_jobs, backend, bar):
        real(tasks, outputs, n_jobs, backend, bar)
        seen.append({k: "pipeline" in v for k, v in outputs.items() if k[1] == "refit"})

    monkeypatch.setattr(engine, "_run_parallel", spy)
    t = table()
    res = quiet_compare(
        t, target="logFC", models=["linear", "random_forest", "knn"], cv=3, n_jobs=2,
        leakage="keep", permutation_repeats=2,
    )  # fmt: skip
    refits = seen[-1]
    assert set(refits) == {("linear", "refit"), ("random_forest", "refit"), ("knn", "refit")}
    assert [k[0] for k, shipped in refits.items() if shipped] == [res.best.name]
    assert list(res.models) == [res.best.name]
    # the same numbers as every pipeline shipped back (n_jobs=1, time_limit: one phase)
    one_phase = quiet_compare(
        t, target="logFC", models=["linear", "random_forest", "knn"], cv=3, n_jobs=1,
        leakage="keep", permutation_repeats=2, time_limit=600,
    )  # fmt: skip
    cols = ["model", "cv_r2_mean", "cv_r2_sd", "test_r2", "test_mae"]
    pd.testing.assert_frame_equal(
        res.leaderboard[cols], one_phase.leaderboard[cols], check_exact=True
    )
    pd.testing.assert_frame_equal(res.importances, one_phase.importances, check_exact=True)
    assert list(one_phase.models) == [one_phase.best.name]
    # a linear model's standardised coefficients, independently
    lin = res.importances.set_index(["model", "feature"]).loc["linear", "coef"]
    pred = res.predictions
    train = pred.index[pred["split"] == "train"]
    X = StandardScaler().fit_transform(t.loc[train, res.features].to_numpy())
    coef = LinearRegression().fit(X, t.loc[train, "logFC"].to_numpy()).coef_
    np.testing.assert_allclose(lin.to_numpy(), coef, rtol=1e-9)


def test_refit_failure_of_the_cv_leader_still_yields_a_pipeline(monkeypatch):
    """If the CV leader's refit fails, the next model is selected and its pipeline fetched."""
    real = engine.run_task

    def failing(task):
        if task.model == "linear" and task.kind == "refit":
            return task.key, {"kind": "refit", "name": "linear", "error": "ValueError: boom"}
        return real(task)

    monkeypatch.setattr(engine, "run_task", failing)
    t = table()
    # force linear to lead on CV: a feature that is the target itself
    t = t.assign(copy=t["logFC"])
    res = quiet_compare(
        t, target="logFC", models=["linear", "knn", "mean"], cv=3, leakage="keep",
        permutation_repeats=0,
    )  # fmt: skip
    lb = res.leaderboard.set_index("model")
    assert lb.loc["linear", "status"].startswith("failed: ValueError: boom")
    assert res.best.name == "knn"
    assert list(res.models) == ["knn"]
    assert res.best.pipeline is not None
    test = res.predictions[res.predictions["split"] == "test"]
    np.testing.assert_allclose(
        res.best.predict(t.loc[test.index, res.features]), test["predicted"].to_numpy(), rtol=RTOL
    )
