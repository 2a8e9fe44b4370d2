"""The named steps of :func:`~degbridge.compare`, in the order it runs them.

split → audit → fit (:class:`~degbridge.comparison.engine.FitRunner`) → collate and select →
leakage scores → assemble. Each step takes and returns plain values; none keeps state.
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np
import pandas as pd

from .._exceptions import DegbridgeWarning, LeakageWarning
from .engine import FitRunner, ModelResult, Split
from .leakage import AUDIT_COLUMNS, audit
from .models import model_label
from .preprocess import UNGROUPED, Prepared, RobustClipper
from .result import BestModel, Comparison, FittedData

__all__ = [
    "METRICS",
    "assemble",
    "audit_leakage",
    "collate",
    "feature_set_scores",
    "feature_sets",
    "metrics",
    "pipeline",
    "select",
    "split_genes",
    "warn_shared_samples",
]

METRICS = ("r2", "mse", "rmse", "mae")


# -- split --------------------------------------------------------------------------------


def split_genes(
    y: pd.Series,
    genes,
    *,
    test_size: float,
    cv: int | None,
    random_state,
    perm_max_samples,
    groups: pd.Series | None = None,
    groups_source: str | None = None,
) -> Split:
    """Training/test genes stratified by target quantiles, and CV folds of the training genes.

    With ``groups`` (one label per gene), no group is split: the test genes are whole groups
    (``GroupShuffleSplit``) and so are the folds (``GroupKFold``, shuffled).
    """
    if groups is not None:
        return _grouped_split(
            y, genes, groups, groups_source, test_size=test_size, cv=cv,
            random_state=random_state, perm_max_samples=perm_max_samples,
        )  # fmt: skip
    from sklearn.model_selection import train_test_split

    yv = y.to_numpy(dtype=float)
    n = len(yv)
    # stratify by target quantiles; each split must be able to hold one gene of every bin
    n_test = int(np.ceil(test_size * n))
    bins = min(10, n_test, n - n_test)
    train_idx, test_idx = train_test_split(
        np.arange(n),
        test_size=test_size,
        random_state=random_state,
        stratify=_strata(y.to_numpy(), n_bins=bins, min_count=2),
    )
    train_idx, test_idx = np.sort(train_idx), np.sort(test_idx)
    if cv and len(train_idx) < 2 * cv:
        msg = f"{len(train_idx)} training genes are too few for cv={cv} (need at least {2 * cv})"
        raise ValueError(msg)
    folds = _folds(y.to_numpy()[train_idx], cv, random_state) if cv else []
    perm_rows = _perm_rows(test_idx, perm_max_samples, random_state)
    return Split(np.asarray(genes), yv, train_idx, test_idx, folds, perm_rows)


def _grouped_split(
    y, genes, groups, source, *, test_size, cv, random_state, perm_max_samples
) -> Split:
    from sklearn.model_selection import GroupKFold, GroupShuffleSplit

    yv = y.to_numpy(dtype=float)
    labels = groups.to_numpy()
    n_groups = len(np.unique(labels))
    if n_groups < (cv or 1) + 1:
        msg = (
            f"cv_groups has {n_groups} groups: too few for a grouped test split and "
            f"{cv or 0} folds (need at least {(cv or 1) + 1})"
        )
        raise ValueError(msg)
    splitter = GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=random_state)
    train_idx, test_idx = next(splitter.split(np.zeros(len(yv)), groups=labels))
    train_idx, test_idx = np.sort(train_idx), np.sort(test_idx)
    folds: list[tuple[np.ndarray, np.ndarray]] = []
    if cv:
        train_groups = labels[train_idx]
        if len(np.unique(train_groups)) < cv:
            msg = (
                f"the training genes hold {len(np.unique(train_groups))} groups, fewer than cv={cv}"
            )
            raise ValueError(msg)
        kfold = GroupKFold(n_splits=cv, shuffle=True, random_state=random_state)
        folds = list(kfold.split(np.zeros(len(train_idx)), groups=train_groups))
    perm_rows = _perm_rows(test_idx, perm_max_samples, random_state)
    alone = int(sum(str(g).startswith(UNGROUPED) for g in np.unique(labels)))
    counted = f"{n_groups - alone} groups" + (f" + {alone} genes without a label" if alone else "")
    scheme = f"grouped by {source} ({counted}): GroupShuffleSplit test genes" + (
        f", GroupKFold({cv}) folds" if cv else ""
    )
    return Split(np.asarray(genes), yv, train_idx, test_idx, folds, perm_rows, scheme)


def _strata(y: np.ndarray, n_bins: int, min_count: int) -> np.ndarray | None:
    """Quantile bins of y with at least min_count genes each (None if impossible)."""
    for bins in range(n_bins, 1, -1):
        labels = pd.qcut(y, q=bins, labels=False, duplicates="drop")
        counts = np.bincount(labels)
        if len(counts) > 1 and counts.min() >= min_count:
            return labels
    return None


def _folds(y_train: np.ndarray, cv: int, random_state) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified (by target quantiles) K folds over positions in the training set."""
    from sklearn.model_selection import KFold, StratifiedKFold

    strata = _strata(y_train, n_bins=10, min_count=cv)
    if strata is not None:
        splitter = StratifiedKFold(n_splits=cv, shuffle=True, random_state=random_state)
        return [(tr, va) for tr, va in splitter.split(np.zeros(len(y_train)), strata)]
    splitter = KFold(n_splits=cv, shuffle=True, random_state=random_state)
    return list(splitter.split(np.zeros(len(y_train))))


def _perm_rows(test_idx: np.ndarray, max_samples: int | None, random_state) -> np.ndarray:
    if max_samples is None or len(test_idx) <= max_samples:
        return test_idx
    rng = np.random.default_rng(random_state)
    return np.sort(rng.choice(test_idx, size=max_samples, replace=False))


# -- audit --------------------------------------------------------------------------------


def audit_leakage(
    prep: Prepared, split: Split, target: str, *, leakage: str, random_state
) -> tuple[pd.DataFrame, list[str]]:
    """Audit the features on the training genes; ``leakage="drop"`` removes the flagged ones.

    Returns the audit table and the flagged features; drops from ``prep.X`` (noted in the
    preprocessing report) when asked.
    """
    if leakage == "keep":
        leak = pd.DataFrame(columns=[*AUDIT_COLUMNS, "action"])
        leak.index.name = "feature"
        return leak, []
    rows = split.train_idx
    leak = audit(prep.X.iloc[rows], prep.y.iloc[rows], target, random_state=random_state)
    action = "dropped" if leakage == "drop" else "kept, flagged"
    leak["action"] = np.where(leak["flagged"], action, "kept")
    flagged = list(leak.index[leak["flagged"]]) if len(leak) else []
    if leakage == "drop" and flagged:
        prep.X = prep.X.drop(columns=flagged)
        reason = "leakage='drop': transforms of the target"
        prep.note("drop column", ", ".join(flagged), None, reason)
        if prep.X.shape[1] == 0:
            msg = (
                f"no features left after leakage dropping: {flagged} are all transforms of the "
                f"target {target!r}. Add independent per-gene features with extra= (expression "
                "summaries from degbridge.expression_features, other omics, annotations) or use "
                "leakage='flag'"
            )
            raise ValueError(msg)
    return leak, flagged


# -- fit ----------------------------------------------------------------------------------


def pipeline(estimator, outliers: str):
    """``median imputation → [robust clipping] → standardisation → estimator``."""
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    steps = [("impute", SimpleImputer(strategy="median"))]
    if outliers == "clip":
        steps.append(("clip", RobustClipper()))
    steps += [("scale", StandardScaler()), ("model", estimator)]
    return Pipeline(steps)


# -- collate and select -------------------------------------------------------------------


def metrics(y_true, y_pred) -> dict[str, float]:
    """R², MSE, RMSE and MAE with scikit-learn's own functions."""
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    mse = float(mean_squared_error(y_true, y_pred))
    return {
        "r2": float(r2_score(y_true, y_pred)),
        "mse": mse,
        "rmse": float(np.sqrt(mse)),
        "mae": float(mean_absolute_error(y_true, y_pred)),
    }


def collate(
    results: dict[str, ModelResult], split: Split, notes: dict[str, str] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The leaderboard (unranked), the per-fold scores and the out-of-fold predictions.

    ``notes`` ({model: text}) are appended to the models' notes.
    """
    rows, fold_rows = [], []
    oof = pd.DataFrame(index=pd.Index(split.genes[split.train_idx], name="gene"))
    for name, res in results.items():
        row: dict[str, Any] = {
            "model": name,
            "description": model_label(name),
            "status": res.status,
        }
        if res.status == "ok":
            if split.folds:
                oof[name], cv_row, per_fold = _cv_scores(res, split)
                row.update(cv_row)
                fold_rows += [{"model": name, **f} for f in per_fold]
            row.update(_test_scores(res, split))
        rows.append(row)
    columns = ["model", "description"]
    columns += [f"cv_{m}_{s}" for m in METRICS for s in ("mean", "sd")]
    columns += [f"test_{m}" for m in METRICS] + ["fit_time", "status", "note"]
    board = pd.DataFrame(rows).reindex(columns=columns)
    for name, text in (notes or {}).items():
        at = board["model"] == name
        board.loc[at, "note"] = [f"{n}; {text}" if n else text for n in board.loc[at, "note"]]
    cv_scores = pd.DataFrame(fold_rows, columns=["model", "fold", *METRICS, "fit_time"])
    return board, cv_scores, oof


def _cv_scores(res: ModelResult, split: Split) -> tuple[np.ndarray, dict[str, float], list[dict]]:
    """A model's out-of-fold predictions, its mean/sd CV metrics, and its per-fold rows."""
    pred = np.full(len(split.train_idx), np.nan)
    per_fold = []
    for k, ((_, va), out) in enumerate(zip(split.folds, res.folds)):
        pred[va] = out["pred"]
        m = metrics(split.y[split.train_idx[va]], out["pred"])
        per_fold.append({"fold": k, **m, "fit_time": out["fit_time"]})
    row = {}
    for met in METRICS:
        vals = np.array([f[met] for f in per_fold])
        row[f"cv_{met}_mean"] = float(vals.mean())
        row[f"cv_{met}_sd"] = float(vals.std())
    return pred, row, per_fold


def _test_scores(res: ModelResult, split: Split) -> dict[str, Any]:
    """Test metrics of the refit, total fit time and the model's note."""
    refit = res.refit
    row: dict[str, Any] = {
        f"test_{k}": v for k, v in metrics(split.y[split.test_idx], refit["pred"]).items()
    }
    row["fit_time"] = float(sum(o["fit_time"] for o in res.folds) + refit["fit_time"])
    n_train = len(split.train_idx)
    notes = []
    if "n_fit_samples" in refit and refit["n_fit_samples"] < n_train:
        notes.append(f"fitted on a random {refit['n_fit_samples']} of {n_train} training genes")
    row["note"] = "; ".join(notes)
    return row


def rank_on_cv(folds: dict[str, ModelResult], split: Split) -> list[str]:
    """Models whose folds all succeeded, by mean CV R², the best first (as :func:`select`).

    Used between the fold fits and the refits, so that only the model :func:`select` will
    pick (unless its refit fails) returns its fitted pipeline.
    """
    means = {
        name: _cv_scores(res, split)[1]["cv_r2_mean"]
        for name, res in folds.items()
        if res.status == "ok"
    }
    return sorted(means, key=lambda name: (not np.isfinite(means[name]), -means[name]))


def select(board: pd.DataFrame, cv: int | None) -> tuple[pd.DataFrame, str]:
    """Rank the models on mean CV R² (on test R² without CV); the ranked board and the best.

    Raises RuntimeError when every model failed or timed out.
    """
    ok = board[board["status"] == "ok"]
    if ok.empty:
        msg = "every model failed or timed out: " + "; ".join(
            f"{m}: {s}" for m, s in zip(board["model"], board["status"])
        )
        raise RuntimeError(msg)
    key = "cv_r2_mean" if cv else "test_r2"
    best = str(ok.sort_values(key, ascending=False, kind="stable").iloc[0]["model"])
    ordered = pd.concat(
        [ok.sort_values(key, ascending=False, kind="stable"), board[board["status"] != "ok"]],
        ignore_index=True,
    )
    ordered.insert(0, "rank", np.arange(1, len(ordered) + 1))
    ordered["best"] = ordered["model"] == best
    return ordered, best


# -- leakage scores -----------------------------------------------------------------------


#: The feature sets scored by :func:`feature_set_scores`, from the least to the most honest.
ALL, WITHOUT_FLAGGED, EXTERNAL = (
    "all features",
    "without flagged features",
    "external features only",
)


def feature_sets(
    features: list[str], flagged: list[str], provenance: dict[str, str]
) -> dict[str, list[str]]:
    """All features; without the flagged ones; the external ones only (never flagged ones)."""
    return {
        ALL: list(features),
        WITHOUT_FLAGGED: [c for c in features if c not in flagged],
        EXTERNAL: [c for c in features if provenance.get(c) == "external" and c not in flagged],
    }


def feature_set_scores(
    runner: FitRunner, template, X: pd.DataFrame, sets: dict[str, list[str]], board, best: str
) -> pd.DataFrame:
    """The best model's CV and test scores on each feature set, and which one leads.

    ``all features`` is read off the leaderboard; the other sets are refitted through the
    comparison's own ``runner`` (parallel and time-limited in the same way). A set without
    features has no score. ``honest`` marks the most honest set that has a score: external
    features only, else without flagged features, else all features.
    """
    row = board.set_index("model").loc[best]
    rows = []
    done: dict[tuple[str, ...], dict[str, Any]] = {}
    for label, cols in sets.items():
        scores: dict[str, Any] = {"n_features": len(cols), "cv_r2_mean": np.nan,
                                  "cv_r2_sd": np.nan, "test_r2": np.nan}  # fmt: skip
        if label == ALL or list(cols) == list(X.columns):
            scores.update({k: row.get(k, np.nan) for k in ("cv_r2_mean", "cv_r2_sd", "test_r2")})
        elif cols and tuple(cols) in done:
            scores.update(done[tuple(cols)])
        elif cols:
            results = runner.run(
                {best: template},
                X[cols].to_numpy(dtype=float),
                permutation_repeats=0,
                progress=False,
                pipelines=(),
            )
            sub_row = collate(results, runner.split)[0].iloc[0]
            if sub_row["status"] == "ok":
                got = {k: sub_row.get(k, np.nan) for k in ("cv_r2_mean", "cv_r2_sd", "test_r2")}
                scores.update(got)
                done[tuple(cols)] = got
        rows.append({"feature_set": label, **scores, "features": ", ".join(cols)})
    frame = pd.DataFrame(rows).set_index("feature_set")
    frame.index.name = None
    frame.insert(0, "model", best)
    key = "cv_r2_mean" if frame["cv_r2_mean"].notna().any() else "test_r2"
    scored = [lab for lab in (EXTERNAL, WITHOUT_FLAGGED, ALL) if np.isfinite(frame.loc[lab, key])]
    frame["honest"] = frame.index == (scored[0] if scored else ALL)
    return frame


def warn_shared_samples(shared: dict[str, int]) -> None:
    """Say when an extra DE table was computed from some of the table's own samples."""
    for prefix, n in shared.items():
        if n:
            warnings.warn(
                f"extra table {prefix!r} was computed from {n} of the same samples as the table: "
                "the two tests share those samples' noise (a shared reference group makes two "
                "contrasts agree more than their biology does), so its features count as "
                "same-samples. For an honest estimate, test the contrasts on disjoint reference "
                "samples (degbridge.split_reference).",
                DegbridgeWarning,
                stacklevel=3,
            )


def warn_seed_selection() -> None:
    """Say that ``cv=None`` selects on the test set (warns at the caller of ``compare``)."""
    warnings.warn(
        "cv=None reproduces the seed workflow: the best model is chosen on the test set, so "
        "its test score is optimistic. Use cv=5 to select on cross-validation.",
        DegbridgeWarning,
        stacklevel=3,
    )


def warn_leakage(
    target: str, flagged: list[str], best: str, scores: pd.DataFrame | None, leakage: str, cv
) -> None:
    """Say which features leak and what they add (warns at the caller of ``compare``)."""
    if not flagged:
        return
    if leakage == "drop" or scores is None:
        text = f"target {target!r}: dropped {flagged}, transforms of the target from the same test"
        warnings.warn(text, LeakageWarning, stacklevel=3)
        return
    key = "cv_r2_mean" if cv else "test_r2"
    label = "CV R²" if cv else "test R²"
    w = scores.loc[ALL, key]
    wo = scores.loc[WITHOUT_FLAGGED, key]
    wo_text = f"{wo:.3f}" if np.isfinite(wo) else "n/a (no other features)"
    warnings.warn(
        f"target {target!r}: features {flagged} are transforms of the target (same test) or "
        f"determine it. The best model ({best}) reaches {label} {w:.3f} with them and {wo_text} "
        "without: that part of the score is algebra, not biology. Use leakage='drop', or add "
        "independent per-gene features with extra=.",
        LeakageWarning,
        stacklevel=3,
    )


# -- assemble -----------------------------------------------------------------------------


def importances(results: dict[str, ModelResult], feature_names: list[str]) -> pd.DataFrame:
    """Per model × feature: impurity, coefficient, permutation importance (NaN when absent)."""
    cols = ["model", "feature", "impurity", "coef", "abs_coef", "perm_mean", "perm_sd"]
    missing = np.full(len(feature_names), np.nan)
    frames = []
    for name, res in results.items():
        refit = res.refit
        if not refit:
            continue
        frame = pd.DataFrame({"model": name, "feature": feature_names})
        for col in ("impurity", "coef", "perm_mean", "perm_sd"):
            frame[col] = refit.get(col, missing)
        frame["abs_coef"] = np.abs(frame["coef"])
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)[cols] if frames else pd.DataFrame(columns=cols)


def assemble(
    target: str,
    prep: Prepared,
    split: Split,
    results: dict[str, ModelResult],
    *,
    tables: dict[str, Any],
    best: BestModel,
    arguments: dict[str, Any],
    started: float,
) -> Comparison:
    """The :class:`Comparison`.

    ``tables`` holds ``leaderboard``, ``cv_scores``, ``oof``, ``leakage`` and
    ``leakage_scores``; ``arguments`` the arguments of ``compare`` recorded in ``params``.
    """
    import sklearn

    feature_names = list(prep.X.columns)
    params = {
        "target": target,
        "features": feature_names,
        **arguments,
        "n_genes": int(split.n),
        "n_train": len(split.train_idx),
        "n_test": len(split.test_idx),
        "selected_on": best.selected_on,
        "scikit_learn": sklearn.__version__,
        "seconds": round(time.perf_counter() - started, 3),
    }
    return Comparison(
        target=target,
        features=feature_names,
        best=best,
        importances=importances(results, feature_names),
        preprocessing=pd.DataFrame(prep.report, columns=["step", "column", "n", "detail"]),
        outliers=prep.outliers,
        models={best.name: best.pipeline},
        params=params,
        fitted=FittedData(split, prep.X.to_numpy(dtype=float), results[best.name].refit["pred"]),
        **tables,
    )
