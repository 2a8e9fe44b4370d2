"""compare(): metrics against scikit-learn, CV-based selection, OOF, reproducibility, inputs."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import degbridge
import degbridge.comparison
from degbridge import DegbridgeWarning, LeakageWarning, compare

FAST = ["mean", "linear", "ridge", "decision_tree", "knn"]


def de_table(n=600, seed=0) -> pd.DataFrame:
    """A limma-like table: t = logFC / SE, P from t, B monotone in |t|, plus AveExpr."""
    rng = np.random.default_rng(seed)
    ave = rng.normal(6, 2, n)
    se = 0.15 + 0.5 * np.exp(-(ave - 2) / 3) * rng.uniform(0.8, 1.2, n)
    logfc = rng.normal(0, 1, n) * (rng.uniform(size=n) < 0.3) + rng.normal(0, 0.2, n)
    t = logfc / se
    p = 2 * stats.t.sf(np.abs(t), df=8)
    adj = np.minimum(1, p * n / stats.rankdata(p))
    b = np.log(0.01) + 0.5 * t**2 / (1 + 0.02 * t**2)
    return pd.DataFrame(
        {"logFC": logfc, "AveExpr": ave, "t": t, "P.Value": p, "adj.P.Val": adj, "B": b},
        index=pd.Index([f"G{i:05d}" for i in range(n)], name="gene"),
    )


@pytest.fixture(scope="module")
def table():
    return de_table()


@pytest.fixture(scope="module")
def result(table):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LeakageWarning)
        return compare(table, target="logFC", models=FAST, cv=4, random_state=3, progress=False)


def test_leaderboard_shape_and_best(result):
    lb = result.leaderboard
    assert lb["model"].iloc[0] == result.best.name
    assert lb["best"].sum() == 1 and lb.loc[lb["best"], "model"].item() == result.best.name
    assert set(lb["model"]) == set(FAST)
    assert (lb["status"] == "ok").all()
    for col in (
        "cv_r2_mean",
        "cv_r2_sd",
        "cv_rmse_mean",
        "cv_mae_mean",
        "test_r2",
        "test_mse",
        "test_rmse",
        "test_mae",
        "fit_time",
    ):
        assert lb[col].notna().all(), col
    np.testing.assert_allclose(lb["test_rmse"], np.sqrt(lb["test_mse"]), rtol=1e-12)
    assert result.best.selected_on == "cv"


def test_test_metrics_equal_independent_sklearn(result, table):
    """Fit the same pipeline with plain scikit-learn on the same split: same test metrics."""
    preds = result.predictions
    train = preds.index[preds["split"] == "train"]
    test = preds.index[preds["split"] == "test"]
    feats = result.features
    pipe = make_pipeline(SimpleImputer(strategy="median"), StandardScaler(), LinearRegression())
    pipe.fit(table.loc[train, feats].to_numpy(), table.loc[train, "logFC"].to_numpy())
    pred = pipe.predict(table.loc[test, feats].to_numpy())
    y = table.loc[test, "logFC"].to_numpy()
    row = result.leaderboard.set_index("model").loc["linear"]
    assert row["test_r2"] == pytest.approx(r2_score(y, pred), rel=1e-12)
    assert row["test_mse"] == pytest.approx(mean_squared_error(y, pred), rel=1e-12)
    assert row["test_mae"] == pytest.approx(mean_absolute_error(y, pred), rel=1e-12)
    assert len(test) == pytest.approx(0.2 * len(table), abs=1)


def test_cv_metrics_and_oof_equal_independent_refits(result, table):
    """Refit each CV fold with plain scikit-learn: OOF predictions and fold R² agree."""
    preds = result.predictions
    train = preds[preds["split"] == "train"]
    feats = result.features
    r2s = []
    oof = pd.Series(np.nan, index=train.index)
    for k in range(4):
        fit_genes = train.index[train["fold"] != k]
        val_genes = train.index[train["fold"] == k]
        pipe = make_pipeline(SimpleImputer(strategy="median"), StandardScaler(), LinearRegression())
        pipe.fit(table.loc[fit_genes, feats].to_numpy(), table.loc[fit_genes, "logFC"].to_numpy())
        p = pipe.predict(table.loc[val_genes, feats].to_numpy())
        oof[val_genes] = p
        r2s.append(r2_score(table.loc[val_genes, "logFC"], p))
    row = result.leaderboard.set_index("model").loc["linear"]
    assert row["cv_r2_mean"] == pytest.approx(np.mean(r2s), rel=1e-12)
    assert row["cv_r2_sd"] == pytest.approx(np.std(r2s), rel=1e-12)
    np.testing.assert_allclose(result.oof["linear"].loc[oof.index], oof, rtol=1e-12, atol=1e-12)


def test_oof_covers_each_training_gene_once(result):
    preds = result.predictions
    train = preds[preds["split"] == "train"]
    test = preds[preds["split"] == "test"]
    assert train["oof"].notna().all() and test["oof"].isna().all()
    assert sorted(train["fold"].value_counts().index) == [0, 1, 2, 3]
    assert (test["fold"] == -1).all()
    assert set(result.oof.index) == set(train.index)
    assert result.oof.notna().all().all()
    # the best model's OOF column is the one reported in predictions
    np.testing.assert_array_equal(result.oof[result.best.name].loc[train.index], train["oof"])
    assert result.cv_scores.groupby("model").size().eq(4).all()


def test_best_is_chosen_on_cv_not_test(table):
    """Find a seed where CV and test disagree; compare must follow CV."""
    for seed in range(30):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", LeakageWarning)
            res = compare(
                table.iloc[:160], target="logFC", models=["linear", "ridge", "knn", "decision_tree"],
                cv=3, random_state=seed, progress=False, permutation_repeats=0,
            )  # fmt: skip
        lb = res.leaderboard.set_index("model")
        by_cv, by_test = lb["cv_r2_mean"].idxmax(), lb["test_r2"].idxmax()
        if by_cv != by_test:
            assert res.best.name == by_cv
            assert res.leaderboard.iloc[0]["model"] == by_cv
            return
    pytest.fail("no seed made CV and test disagree; the test cannot check the selection rule")


def test_importances_full_table(result, table):
    imp = result.importances
    assert len(imp) == len(FAST) * len(result.features)
    trees = imp[imp["model"] == "decision_tree"]
    assert trees["impurity"].notna().all() and trees["impurity"].sum() == pytest.approx(1.0)
    lin = imp[imp["model"] == "linear"].set_index("feature")
    # only the selected model's pipeline is kept (issue 17): refit linear independently
    train = result.predictions.index[result.predictions["split"] == "train"]
    X = StandardScaler().fit_transform(table.loc[train, lin.index].to_numpy())
    coef = LinearRegression().fit(X, table.loc[train, "logFC"].to_numpy()).coef_
    np.testing.assert_allclose(lin["coef"].to_numpy(), coef, rtol=1e-9)
    assert imp["perm_mean"].notna().all() and (imp["perm_sd"] >= 0).all()
    assert imp[imp["model"] == "knn"]["impurity"].isna().all()


def test_reproducible_and_n_jobs_invariant(table):
    kw = {
        "target": "B",
        "models": ["linear", "random_forest", "knn"],
        "cv": 3,
        "random_state": 7,
        "progress": False,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LeakageWarning)
        a = compare(table, n_jobs=1, **kw)
        b = compare(table, n_jobs=1, **kw)
        c = compare(table, n_jobs=2, **kw)
    for other in (b, c):
        pd.testing.assert_frame_equal(
            a.leaderboard.drop(columns="fit_time"),
            other.leaderboard.drop(columns="fit_time"),
            check_exact=True,
        )
        pd.testing.assert_frame_equal(a.predictions, other.predictions, check_exact=True)
        pd.testing.assert_frame_equal(a.importances, other.importances, check_exact=True)
        pd.testing.assert_frame_equal(a.leakage, other.leakage, check_exact=True)


def test_seed_workflow_cv_none(table):
    with (
        pytest.warns(DegbridgeWarning, match="cv=None reproduces the seed workflow"),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore", LeakageWarning)
        res = compare(
            table, target="logFC", models="seed", cv=None, progress=False, permutation_repeats=0
        )
    assert list(res.leaderboard.sort_values("model")["model"]) == sorted(
        degbridge.comparison.SEED_MODELS
    )
    assert res.best.selected_on == "test"
    assert res.leaderboard["cv_r2_mean"].isna().all()
    assert res.predictions["oof"].isna().all()
    assert res.best.name == res.leaderboard.set_index("model")["test_r2"].idxmax()


def test_svr_subsample_is_reported(table):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LeakageWarning)
        res = compare(
            table,
            target="logFC",
            models=["svr"],
            cv=2,
            svr_max_samples=100,
            progress=False,
            permutation_repeats=0,
        )
    note = res.leaderboard.set_index("model").loc["svr", "note"]
    assert note == "fitted on a random 100 of 480 training genes"


def test_max_fit_samples_fits_each_model_on_the_same_random_genes(table):
    """Every built-in model but the mean sees max_fit_samples genes; numbers equal sklearn's."""
    from sklearn.tree import DecisionTreeRegressor

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LeakageWarning)
        res = compare(
            table, target="logFC", models=["mean", "decision_tree", "knn", "svr"], cv=3,
            random_state=5, max_fit_samples=150, svr_max_samples=100, progress=False,
            permutation_repeats=0, leakage="keep",
        )  # fmt: skip
    lb = res.leaderboard.set_index("model")
    n_train = 480
    assert lb.loc["mean", "note"] == ""
    assert lb.loc["decision_tree", "note"] == f"fitted on a random 150 of {n_train} training genes"
    assert lb.loc["knn", "note"] == f"fitted on a random 150 of {n_train} training genes"
    assert lb.loc["svr", "note"] == f"fitted on a random 100 of {n_train} training genes"
    assert res.params["max_fit_samples"] == 150
    # the refit, by hand: scaler on every training gene, the tree on 150 of them
    preds = res.predictions
    train = preds.index[preds["split"] == "train"]
    test = preds.index[preds["split"] == "test"]
    X = table.loc[train, res.features].to_numpy()
    y = table.loc[train, "logFC"].to_numpy()
    scaler = StandardScaler().fit(X)
    rows = np.sort(np.random.default_rng(5).choice(len(train), size=150, replace=False))
    tree = DecisionTreeRegressor(random_state=5).fit(scaler.transform(X)[rows], y[rows])
    pred = tree.predict(scaler.transform(table.loc[test, res.features].to_numpy()))
    want = r2_score(table.loc[test, "logFC"], pred)
    assert lb.loc["decision_tree", "test_r2"] == pytest.approx(want, rel=1e-12)
    # k-nearest neighbours saw the same 150 genes
    from sklearn.neighbors import KNeighborsRegressor

    knn = KNeighborsRegressor(n_neighbors=5).fit(scaler.transform(X)[rows], y[rows])
    pred = knn.predict(scaler.transform(table.loc[test, res.features].to_numpy()))
    want = r2_score(table.loc[test, "logFC"], pred)
    assert lb.loc["knn", "test_r2"] == pytest.approx(want, rel=1e-12)
    # without the cap, the same call fits on every gene (a different, larger-sample score)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LeakageWarning)
        full = compare(
            table, target="logFC", models=["decision_tree"], cv=3, random_state=5,
            progress=False, permutation_repeats=0, leakage="keep",
        )  # fmt: skip
    assert full.leaderboard["note"].iloc[0] == ""
    assert full.leaderboard["test_r2"].iloc[0] != lb.loc["decision_tree", "test_r2"]
    # below the default cap (20,000) the pipeline ends in the plain estimator, as before
    assert res.params["max_fit_samples"] == 150
    assert full.params["max_fit_samples"] == 20000
    assert type(full.best.pipeline[-1]) is DecisionTreeRegressor
    assert res.best.name != "mean"
    assert type(res.best.pipeline[-1]).__name__ == "SubsampledRegressor"
    assert "models fitted on 150 random training genes of 480 (max_fit_samples" in res.summary()
    assert "max_fit_samples" not in full.summary()
    # the wrapper answers like the model it fitted
    from degbridge.comparison import make_model

    X, y = np.arange(200.0).reshape(100, 2) % 7, np.arange(100.0)
    tree = make_model("decision_tree", random_state=0, max_fit_samples=50).fit(X, y)
    np.testing.assert_array_equal(tree.feature_importances_, tree.estimator_.feature_importances_)
    lin = make_model("linear", max_fit_samples=50).fit(X, y)
    np.testing.assert_array_equal(lin.coef_, lin.estimator_.coef_)
    assert not hasattr(make_model("linear", max_fit_samples=50), "coef_")  # not fitted yet


@pytest.mark.parametrize(
    ("cap", "err"),
    [(5, ValueError), (0, ValueError), (2.5, TypeError), (True, TypeError), ("100", TypeError)],
)
def test_max_fit_samples_refuses_bad_values(table, cap, err):
    with pytest.raises(err, match="max_fit_samples"):
        compare(table, target="logFC", models=["linear"], max_fit_samples=cap, progress=False)


def test_max_fit_samples_takes_whole_floats_and_numpy_integers(table):
    """R's numbers arrive as floats through reticulate: 150.0 is 150; params stay plain ints."""
    kw = {"target": "logFC", "models": ["knn"], "cv": 2, "progress": False, "leakage": "keep",
          "permutation_repeats": 0}  # fmt: skip
    a = compare(table, max_fit_samples=150.0, **kw)
    b = compare(table, max_fit_samples=np.int64(150), **kw)
    assert a.params["max_fit_samples"] == 150 and type(a.params["max_fit_samples"]) is int
    assert type(b.params["max_fit_samples"]) is int
    pd.testing.assert_frame_equal(
        a.leaderboard.drop(columns="fit_time"), b.leaderboard.drop(columns="fit_time")
    )
    assert a.leaderboard["note"].iloc[0] == "fitted on a random 150 of 480 training genes"


def test_custom_estimators_and_names(table):
    from sklearn.linear_model import HuberRegressor

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LeakageWarning)
        res = compare(
            table,
            models={"huber": HuberRegressor(), "lin": "linear"},
            cv=2,
            progress=False,
            permutation_repeats=0,
        )
        res2 = compare(
            table, models="LinearRegression,knn", cv=2, progress=False, permutation_repeats=0
        )
    assert set(res.leaderboard["model"]) == {"huber", "lin"}
    assert set(res2.leaderboard["model"]) == {"linear", "knn"}


def test_extra_features_joined_by_gene_id(table):
    rng = np.random.default_rng(1)
    other = pd.DataFrame({"methylation": rng.normal(size=400)}, index=table.index[100:500])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LeakageWarning)
        res = compare(
            table,
            target="logFC",
            extra={"omics": other},
            models=["linear"],
            cv=2,
            progress=False,
            permutation_repeats=0,
        )
    assert "omics_methylation" in res.features
    rows = res.preprocessing[res.preprocessing["step"] == "join extra"]
    assert rows["n"].item() == 400
    assert "400 of 600 genes matched" in rows["detail"].item()
    imputed = res.preprocessing[
        (res.preprocessing["step"] == "impute")
        & (res.preprocessing["column"] == "omics_methylation")
    ]
    assert imputed["n"].item() == 200


def test_time_limit_stops_a_slow_model(table):
    from sklearn.ensemble import GradientBoostingRegressor

    slow = GradientBoostingRegressor(n_estimators=200000, max_depth=8, random_state=0)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LeakageWarning)
        res = compare(
            table,
            models={"linear": LinearRegression(), "slow": slow},
            cv=2,
            time_limit=20,  # a fresh worker's start-up counts too: room for a loaded machine
            n_jobs=2,
            progress=False,
            permutation_repeats=0,
        )
    status = res.leaderboard.set_index("model")["status"]
    assert status["slow"] == "timed out after 20 s"
    assert status["linear"] == "ok"
    assert res.best.name == "linear"
    assert time.perf_counter() - started < 90  # the slow model was stopped, not awaited


def test_progress_bar(table, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LeakageWarning)
        compare(table, models=["linear"], cv=2, progress=True, permutation_repeats=0)
    assert "fitting models" in capsys.readouterr().err


def test_outlier_policies(table):
    t = table.copy()
    t.loc[t.index[:5], "AveExpr"] = 500.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LeakageWarning)
        rep = compare(t, models=["linear"], cv=2, progress=False, permutation_repeats=0)
        drop = compare(
            t, models=["linear"], cv=2, outliers="drop", progress=False, permutation_repeats=0
        )
        clip = compare(
            t, models=["linear"], cv=2, outliers="clip", progress=False, permutation_repeats=0
        )
    ave = rep.outliers.set_index("column").loc["AveExpr"]
    assert ave["n_outliers"] >= 5
    assert "G00000" in ave["examples"]
    assert rep.params["n_genes"] == 600
    assert drop.params["n_genes"] < 600
    assert "clip" in list(clip.models["linear"].named_steps)


@pytest.mark.slow
def test_dask_backend_local_cluster(table):
    pytest.importorskip("dask.distributed")
    kw = {
        "models": ["linear", "decision_tree"],
        "cv": 2,
        "random_state": 0,
        "progress": False,
        "permutation_repeats": 2,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LeakageWarning)
        warnings.simplefilter("ignore", ResourceWarning)
        local = compare(table, **kw)
        dask = compare(table, backend="dask", n_jobs=2, **kw)
    pd.testing.assert_frame_equal(local.predictions, dask.predictions, check_exact=True)
    pd.testing.assert_frame_equal(
        local.leaderboard.drop(columns="fit_time"),
        dask.leaderboard.drop(columns="fit_time"),
        check_exact=True,
    )
    assert dask.params["backend"] == "dask"


# ---------------------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        (
            {"target": "logfc"},
            ValueError,
            r"target 'logfc' is not a column; numeric columns are \['logFC', 'AveExpr'",
        ),
        ({"target": "symbol"}, TypeError, r"target 'symbol' is not numeric"),
        ({"features": ["t", "nope"]}, ValueError, r"features \['nope'\] are not columns"),
        (
            {"models": ["linear", "xgboost"]},
            ValueError,
            r"unknown model 'xgboost'; built-in models are",
        ),
        ({"cv": 1}, ValueError, "cv must be an integer >= 2"),
        ({"leakage": "ignore"}, ValueError, "leakage must be 'flag', 'drop' or 'keep'"),
        ({"test_size": 1.5}, ValueError, "test_size must be a fraction"),
    ],
)
def test_bad_arguments(table, kwargs, exc, match):
    t = table.assign(symbol=[f"S{i}" for i in range(len(table))])
    with pytest.raises(exc, match=match):
        compare(t, progress=False, **kwargs)


def test_too_few_genes(table):
    with pytest.raises(
        ValueError, match=r"only 8 genes with a target value; this comparison needs at least 10"
    ):
        compare(table.iloc[:8], cv=5, progress=False)


def test_constant_target(table):
    with pytest.raises(ValueError, match=r"target 'logFC' is constant"):
        compare(table.assign(logFC=1.0), progress=False)


def test_no_features_left_after_leakage_drop(table):
    t = table[["logFC", "t", "P.Value", "adj.P.Val", "B"]]
    with pytest.raises(
        ValueError,
        match=r"no features left after leakage dropping: \['t', 'P.Value', 'adj.P.Val', 'B'\].*extra=",
    ):
        compare(t, target="logFC", leakage="drop", progress=False)


def test_extra_matching_no_gene(table):
    other = pd.DataFrame({"x": [1.0, 2.0]}, index=["ENSG1", "ENSG2"])
    with pytest.raises(
        ValueError,
        match=r"extra table 'extra' matches no gene ID of the table \(0 of 600 table genes, 2 extra genes",
    ):
        compare(table, extra=other, progress=False)


def test_missing_target_genes_dropped_and_reported(table):
    t = table.copy()
    t.loc[t.index[:7], "logFC"] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LeakageWarning)
        res = compare(t, models=["linear"], cv=2, progress=False, permutation_repeats=0)
    row = res.preprocessing[res.preprocessing["step"] == "drop genes"]
    assert row["n"].item() == 7 and row["column"].item() == "logFC"
    assert res.params["n_genes"] == 593


def test_annotation_columns_dropped_and_reported(data_dir):
    tab = degbridge.read_table(data_dir / "geo2r_GSE48452_top300.tsv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LeakageWarning)
        res = compare(
            tab, target="logFC", models=["linear"], cv=2, progress=False, permutation_repeats=0
        )
    dropped = res.preprocessing[res.preprocessing["step"] == "drop column"]
    assert set(dropped["column"]) == {"Gene.symbol", "Gene.title"}
    assert res.features == ["t", "P.Value", "adj.P.Val", "B"]
