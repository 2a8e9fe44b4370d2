"""compare(): predict a DE column from per-gene features with many regressors, honestly.

Workflow
--------
1. Preprocess (identifiers and annotations dropped, missing targets dropped, outliers
   reported/clipped/dropped), all recorded in ``Comparison.preprocessing``.
2. Split genes 80/20, stratified by target quantiles.
3. Leakage audit on the training genes (``leakage=``).
4. For each model, a pipeline ``median imputation → [robust clipping] → standardisation →
   model`` is fitted on each of ``cv`` folds of the training genes (out-of-fold predictions
   and fold metrics), then refitted on all training genes and scored once on the test genes,
   with permutation importances on the test genes.
5. The best model is the one with the highest mean CV R² (never the test score).

All fits are independent tasks run through joblib (``n_jobs``; ``backend="dask"`` for a
dask.distributed cluster), or one model at a time in killable worker processes when
``time_limit`` is set. Each task runs with BLAS threads limited to one, so results are
identical whatever ``n_jobs`` is.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._exceptions import DegbridgeWarning, LeakageWarning
from .leakage import audit
from .models import model_label, resolve_models
from .preprocess import RobustClipper, prepare

__all__ = ["BestModel", "Comparison", "compare"]

METRICS = ("r2", "mse", "rmse", "mae")


@dataclass
class BestModel:
    """The selected model: its name and the pipeline fitted on the training genes."""

    name: str
    pipeline: Any
    selected_on: str

    def predict(self, X):
        return self.pipeline.predict(np.asarray(X, dtype=float))

    def __repr__(self) -> str:
        return f"BestModel(name={self.name!r}, selected_on={self.selected_on!r})"


class Comparison:
    """The result of :func:`compare`.

    Attributes
    ----------
    leaderboard
        One row per model: CV metrics (mean and sd over folds), test metrics, fit time,
        status and notes; sorted best first; ``best`` marks the selected model.
    best
        :class:`BestModel` (name, fitted pipeline, what it was selected on).
    predictions
        Per gene: ``observed``, ``predicted`` (best model refitted on the training genes),
        ``oof`` (its out-of-fold prediction, training genes only), ``split``, ``fold`` (CV
        fold of a training gene, -1 for test genes), ``residual`` (observed - predicted).
    importances
        Per model × feature: ``impurity`` (tree models), ``coef`` (standardised coefficient,
        linear models), ``perm_mean``/``perm_sd`` (permutation importance on the test genes,
        drop in R²).
    leakage
        Per feature: known relation to the target, data evidence, ``flagged`` and ``action``.
    leakage_scores
        The best model's scores with and without the flagged features.
    preprocessing
        What was dropped, imputed, clipped, and why.
    outliers
        Per column: number of genes with |robust z| > 3.5 and examples.
    cv_scores
        Per model × fold metrics.
    oof
        Out-of-fold predictions of every model (training genes × models).
    models
        Every model's pipeline refitted on the training genes.
    params
        The arguments, the split and versions.
    """

    def __init__(self, **parts):
        # parts computed on first access: {name: function returning the value}
        self._lazy = dict(parts.pop("_lazy", {}))
        for key, value in parts.items():
            setattr(self, key, value)

    def __getattr__(self, name: str):
        lazy = self.__dict__.get("_lazy", {})
        if name in lazy:
            value = lazy.pop(name)()
            setattr(self, name, value)
            return value
        msg = f"'Comparison' object has no attribute {name!r}"
        raise AttributeError(msg)

    def __getstate__(self):
        for name in list(self._lazy):
            getattr(self, name)  # resolve before pickling: functions do not pickle
        return self.__dict__

    def __repr__(self) -> str:
        lb = self.leaderboard
        ok = lb[lb["status"] == "ok"]
        head = ok[["model", "cv_r2_mean", "test_r2"]].head(3).to_string(index=False)
        return (
            f"Comparison(target={self.target!r}, genes={self.params['n_genes']}, "
            f"features={len(self.features)}, models={len(lb)}, best={self.best.name!r})\n{head}"
        )

    def summary(self) -> str:
        """A few lines: best model, its scores, leakage."""
        lb = self.leaderboard.set_index("model")
        row = lb.loc[self.best.name]
        lines = [
            f"target {self.target!r}: {self.params['n_genes']} genes, {len(self.features)} features, "
            f"{len(lb)} models",
            f"best: {self.best.name} (selected on {self.best.selected_on}) "
            f"CV R² {row['cv_r2_mean']:.3f} ± {row['cv_r2_sd']:.3f}, test R² {row['test_r2']:.3f}",
        ]
        flagged = list(self.leakage.index[self.leakage["flagged"]]) if len(self.leakage) else []
        if flagged:
            lines.append(f"leakage: {flagged} flagged ({self.params['leakage']})")
            if self.leakage_scores is not None and len(self.leakage_scores):
                ls = self.leakage_scores
                lines.append(
                    "  best model without them: CV R² "
                    f"{ls.loc['without flagged features', 'cv_r2_mean']:.3f} "
                    f"(with: {ls.loc['with flagged features', 'cv_r2_mean']:.3f})"
                )
        return "\n".join(lines)

    def to_r(self):
        """A named R list of data.frames (leaderboard, predictions, importances, leakage, params)."""
        from ..handback import comparison_to_r

        return comparison_to_r(self)

    def to_anndata(self, adata, *, key: str = "degbridge"):
        """Write predictions into ``adata.var`` and tables into ``adata.uns[key]``."""
        from ..anndata import store_comparison

        store_comparison(adata, self, key=key)
        return adata

    def write(self, folder, *, report: bool = True, table=None):
        """Write TSVs (and report.html, and the DE table when given) into a folder, atomically."""
        from ..handback import write_comparison

        return write_comparison(self, folder, report=report, table=table)

    def report(self, path, *, table=None):
        """Write the HTML report to ``path``."""
        from ..report import write_report

        return write_report(path, comparison=self, table=table)


def compare(
    table,
    target: str = "logFC",
    *,
    features: Sequence[str] | None = None,
    extra=None,
    models: str | Sequence[str] | Mapping[str, Any] = "default",
    test_size: float = 0.2,
    cv: int | None = 5,
    random_state: int = 0,
    n_jobs: int | None = None,
    backend: Literal["loky", "threading", "dask"] | None = None,
    client=None,
    leakage: Literal["flag", "drop", "keep"] = "flag",
    outliers: Literal["report", "clip", "drop"] = "report",
    time_limit: float | None = None,
    permutation_repeats: int = 5,
    permutation_max_samples: int | None = 2000,
    svr_max_samples: int | None = 5000,
    progress: bool = True,
) -> Comparison:
    """Compare regressors that predict a DE column from the other per-gene columns.

    Parameters
    ----------
    table
        A :class:`~degbridge.DETable`, a DataFrame with gene IDs as index (or an ID column),
        or an R data.frame (rpy2).
    target
        The column to predict: ``"logFC"``, ``"B"`` or any numeric column.
    features
        Feature columns; default every numeric column but the target (identifiers,
        annotations and constant columns are dropped and reported).
    extra
        Per-gene feature tables joined by gene ID: a DataFrame, a list, or ``{prefix: frame}``
        (columns become ``"<prefix>_<column>"``). Unmatched genes get missing values
        (imputed); a table that matches no gene is an error.
    models
        ``"seed"`` (the six of the original workflow), ``"default"`` (13 models, see
        :data:`degbridge.MODELS`), a list of names, a comma-separated string, or
        ``{name: estimator}``.
    test_size
        Fraction of genes held out for the final test (stratified by target quantiles).
    cv
        Folds for cross-validation on the training genes. ``None`` is the seed's exact
        workflow: one split, no CV, the best model chosen on the test set (a warning says so).
    random_state
        Seed for the split, folds, models and permutations: same seed, same numbers.
    n_jobs
        Parallel fits (joblib); ``-1`` for all cores.
    backend, client
        ``backend="dask"`` runs the fits on a dask.distributed ``client`` (or a temporary
        ``LocalCluster`` with ``n_jobs`` workers when none is given or running).
    leakage
        ``"flag"`` keeps same-test features but reports the best model's score without them;
        ``"drop"`` removes them; ``"keep"`` skips the audit.
    outliers
        ``"report"`` (default), ``"clip"`` (features clipped to median ± 3.5 robust SD inside
        each pipeline) or ``"drop"`` (genes with an outlier removed before the split).
    time_limit
        Seconds per model (all its folds and the refit). A model over the limit is stopped
        (its worker process killed) and marked ``"timed out"``.
    permutation_repeats
        Repeats of permutation importance on the test genes (0 to skip it).
    permutation_max_samples
        Test genes used for permutation importance (a random subset when there are more).
    svr_max_samples
        SVR is fitted on at most this many (random) training genes; ``None`` for all. SVR's
        fit time grows with the square of the number of genes.
    progress
        Show a progress bar over the fits.

    Returns
    -------
    :class:`Comparison`
    """
    _check_args(test_size, cv, leakage, outliers, time_limit, permutation_repeats, backend)
    from sklearn.model_selection import train_test_split

    started = time.perf_counter()
    # arguments first (model names), then the data
    model_notes: dict[str, str] = {}
    estimators = resolve_models(
        models, random_state=random_state, svr_max_samples=svr_max_samples, notes=model_notes
    )
    min_genes = 2 * cv if cv else 10
    prep = prepare(
        table, target, features=features, extra=extra, outliers=outliers, min_genes=min_genes
    )
    X, y = prep.X, prep.y
    genes = np.asarray(X.index)
    n = len(y)
    idx = np.arange(n)
    # stratify by target quantiles; each split must be able to hold one gene of every bin
    n_test = int(np.ceil(test_size * n))
    bins = min(10, n_test, n - n_test)
    train_idx, test_idx = train_test_split(
        idx,
        test_size=test_size,
        random_state=random_state,
        stratify=_strata(y.to_numpy(), n_bins=bins, min_count=2),
    )
    train_idx, test_idx = np.sort(train_idx), np.sort(test_idx)
    if cv and len(train_idx) < 2 * cv:
        msg = f"{len(train_idx)} training genes are too few for cv={cv} (need at least {2 * cv})"
        raise ValueError(msg)
    folds = _folds(y.to_numpy()[train_idx], cv, random_state) if cv else []

    # leakage audit on the training genes
    if leakage == "keep":
        leak = pd.DataFrame(
            columns=[
                "relation",
                "known",
                "spearman",
                "tree_r2",
                "pair",
                "pair_r2",
                "flagged",
                "evidence",
                "action",
            ]
        )
        leak.index.name = "feature"
    else:
        leak = audit(X.iloc[train_idx], y.iloc[train_idx], target, random_state=random_state)
        leak["action"] = np.where(
            leak["flagged"], "dropped" if leakage == "drop" else "kept, flagged", "kept"
        )
    flagged = list(leak.index[leak["flagged"]]) if len(leak) else []
    if leakage == "drop" and flagged:
        X = X.drop(columns=flagged)
        prep.note(
            "drop column", ", ".join(flagged), None, "leakage='drop': transforms of the target"
        )
        if X.shape[1] == 0:
            msg = (
                f"no features left after leakage dropping: {flagged} are all transforms of the "
                f"target {target!r}. Add independent per-gene features with extra= (expression "
                "summaries from degbridge.expression_features, other omics, annotations) or use "
                "leakage='flag'"
            )
            raise ValueError(msg)
    feature_names = list(X.columns)
    Xv = X.to_numpy(dtype=float)
    yv = y.to_numpy(dtype=float)

    templates = {name: _pipeline(est, outliers) for name, est in estimators.items()}
    perm_rows = _perm_rows(test_idx, permutation_max_samples, random_state)

    stack = contextlib.ExitStack()
    # one backend for every fit of this comparison (one LocalCluster at most for dask)
    bk, jobs = (
        stack.enter_context(_backend_context(backend, client, n_jobs))
        if time_limit is None
        else (None, n_jobs)
    )

    def run(models, matrix, repeats=permutation_repeats, show=progress):
        return _run_all(
            models, matrix, yv, train_idx, test_idx, folds, perm_rows,
            permutation_repeats=repeats, random_state=random_state, n_jobs=jobs,
            backend=bk, time_limit=time_limit, progress=show,
        )  # fmt: skip

    with stack, warnings.catch_warnings():
        # loky restarts a worker whose memory grew by > 300 MB (its leak guard) and says so;
        # the jobs are unaffected, the message only alarms users
        warnings.filterwarnings(
            "ignore", message="A worker stopped while some jobs were given", category=UserWarning
        )
        results = run(templates, Xv)
        board, cv_scores, oof = _collate(results, yv, train_idx, test_idx, folds, genes)
        for name, text in model_notes.items():
            at = board["model"] == name
            board.loc[at, "note"] = [f"{n}; {text}" if n else text for n in board.loc[at, "note"]]
        ok = board[board["status"] == "ok"]
        if ok.empty:
            msg = "every model failed or timed out: " + "; ".join(
                f"{m}: {s}" for m, s in zip(board["model"], board["status"])
            )
            raise RuntimeError(msg)
        selected_on = "cv" if cv else "test"
        key = "cv_r2_mean" if cv else "test_r2"
        best_name = str(ok.sort_values(key, ascending=False, kind="stable").iloc[0]["model"])
        board = _rank(board, key, best_name)
        leak_scores = None
        if leakage == "flag" and flagged:
            leak_scores = _without_flagged(
                templates[best_name], X, yv, flagged, train_idx, test_idx, folds, board, best_name,
                run=lambda models, matrix: run(models, matrix, repeats=0, show=False),
            )  # fmt: skip

    if not cv:
        warnings.warn(
            "cv=None reproduces the seed workflow: the best model is chosen on the test set, so "
            "its test score is optimistic. Use cv=5 to select on cross-validation.",
            DegbridgeWarning,
            stacklevel=2,
        )
    best_pipe = results[best_name]["refit"]["pipeline"]
    test_pred = results[best_name]["refit"]["pred"]
    best_oof = oof[best_name].reindex(genes).to_numpy() if cv else None

    def predictions():
        # built on first access: the in-sample predictions of the training genes cost a
        # prediction pass over most genes, which a comparison alone does not need
        preds_all = np.empty(n)
        preds_all[test_idx] = test_pred
        preds_all[train_idx] = best_pipe.predict(Xv[train_idx])
        frame = pd.DataFrame(
            {
                "observed": yv,
                "predicted": preds_all,
                "oof": best_oof if best_oof is not None else np.nan,
                "split": np.where(np.isin(idx, test_idx), "test", "train"),
            },
            index=pd.Index(genes, name="gene"),
        )
        fold_of = np.full(n, -1)
        for k, (_, va) in enumerate(folds):
            fold_of[train_idx[va]] = k
        frame["fold"] = fold_of  # CV fold of each training gene; -1 for test genes
        frame["residual"] = frame["observed"] - frame["predicted"]
        return frame

    importances = _importances(results, feature_names)

    if leak_scores is not None:
        _warn_leakage(target, flagged, best_name, leak_scores, cv)
    elif leakage == "drop" and flagged:
        warnings.warn(
            f"target {target!r}: dropped {flagged}, transforms of the target from the same test",
            LeakageWarning,
            stacklevel=2,
        )

    import sklearn

    params = {
        "target": target,
        "features": feature_names,
        "models": list(templates),
        "test_size": test_size,
        "cv": cv,
        "random_state": random_state,
        "n_jobs": n_jobs,
        "backend": backend or "loky",
        "leakage": leakage,
        "outliers": outliers,
        "time_limit": time_limit,
        "permutation_repeats": permutation_repeats,
        "svr_max_samples": svr_max_samples,
        "n_genes": int(n),
        "n_train": len(train_idx),
        "n_test": len(test_idx),
        "selected_on": selected_on,
        "scikit_learn": sklearn.__version__,
        "seconds": round(time.perf_counter() - started, 3),
    }
    return Comparison(
        target=target,
        features=feature_names,
        leaderboard=board,
        best=BestModel(best_name, best_pipe, selected_on),
        _lazy={"predictions": predictions},
        importances=importances,
        leakage=leak,
        leakage_scores=leak_scores,
        preprocessing=pd.DataFrame(prep.report, columns=["step", "column", "n", "detail"]),
        outliers=prep.outliers,
        cv_scores=cv_scores,
        oof=oof,
        models={
            m: r["refit"]["pipeline"]
            for m, r in results.items()
            if r["refit"] and r["status"] == "ok"
        },
        params=params,
    )


# ---------------------------------------------------------------------------------------


def _check_args(test_size, cv, leakage, outliers, time_limit, permutation_repeats, backend) -> None:
    if not (isinstance(test_size, float | int) and 0 < test_size < 1):
        msg = f"test_size must be a fraction between 0 and 1, not {test_size!r}"
        raise ValueError(msg)
    if cv is not None and (not isinstance(cv, int | np.integer) or isinstance(cv, bool) or cv < 2):
        msg = f"cv must be an integer >= 2 (folds) or None (single split), not {cv!r}"
        raise ValueError(msg)
    if leakage not in ("flag", "drop", "keep"):
        msg = f"leakage must be 'flag', 'drop' or 'keep', not {leakage!r}"
        raise ValueError(msg)
    if outliers not in ("report", "clip", "drop"):
        msg = f"outliers must be 'report', 'clip' or 'drop', not {outliers!r}"
        raise ValueError(msg)
    if time_limit is not None and not (isinstance(time_limit, int | float) and time_limit > 0):
        msg = f"time_limit must be a positive number of seconds or None, not {time_limit!r}"
        raise ValueError(msg)
    if not isinstance(permutation_repeats, int) or permutation_repeats < 0:
        msg = f"permutation_repeats must be an integer >= 0, not {permutation_repeats!r}"
        raise ValueError(msg)
    if backend not in (None, "loky", "threading", "dask"):
        msg = f"backend must be None, 'loky', 'threading' or 'dask', not {backend!r}"
        raise ValueError(msg)


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


def _pipeline(estimator, outliers: str):
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    steps = [("impute", SimpleImputer(strategy="median"))]
    if outliers == "clip":
        steps.append(("clip", RobustClipper()))
    steps += [("scale", StandardScaler()), ("model", estimator)]
    return Pipeline(steps)


def _perm_rows(test_idx: np.ndarray, max_samples: int | None, random_state) -> np.ndarray:
    if max_samples is None or len(test_idx) <= max_samples:
        return test_idx
    rng = np.random.default_rng(random_state)
    return np.sort(rng.choice(test_idx, size=max_samples, replace=False))


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


def _task(kind, name, template, X, y, fit_idx, eval_idx, perm_rows, perm_repeats, random_state):
    """One fit. kind 'fold': predict the validation fold; 'refit': predict every gene."""
    from sklearn.base import clone

    with _one_blas_thread(), warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)  # e.g. MLP/Lasso convergence chatter
        try:
            from sklearn.exceptions import ConvergenceWarning

            warnings.simplefilter("ignore", category=ConvergenceWarning)
            pipe = clone(template)
            t0 = time.perf_counter()
            pipe.fit(X[fit_idx], y[fit_idx])
            fit_time = time.perf_counter() - t0
            if kind == "fold":
                return {
                    "kind": kind,
                    "name": name,
                    "pred": pipe.predict(X[eval_idx]),
                    "fit_time": fit_time,
                }
            # the test genes only; the selected model alone predicts the training genes, later
            out = {
                "kind": kind,
                "name": name,
                "pred": pipe.predict(X[eval_idx]),
                "fit_time": fit_time,
                "pipeline": pipe,
            }
            out.update(_model_importances(pipe))
            if perm_repeats:
                from sklearn.inspection import permutation_importance

                perm = permutation_importance(
                    pipe, X[perm_rows], y[perm_rows], n_repeats=perm_repeats,
                    random_state=random_state, scoring="r2", n_jobs=1,
                )  # fmt: skip
                out["perm_mean"] = perm.importances_mean
                out["perm_sd"] = perm.importances_std
            return out
        except Exception as err:  # a model that cannot fit this data is reported, not fatal
            return {"kind": kind, "name": name, "error": f"{type(err).__name__}: {err}"}


_CONTROLLER = None


def _one_blas_thread():
    """Limit BLAS/OpenMP to one thread for a fit (identical numbers whatever n_jobs is).

    One threadpoolctl controller per process: building one scans every loaded library, which
    cost each fit a few milliseconds.
    """
    global _CONTROLLER
    if _CONTROLLER is None:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1)


def _model_importances(pipe) -> dict[str, Any]:
    model = pipe.named_steps["model"]
    inner = getattr(model, "estimator_", model)
    out: dict[str, Any] = {}
    if hasattr(inner, "feature_importances_"):
        out["impurity"] = np.asarray(inner.feature_importances_, dtype=float)
    coef = getattr(inner, "coef_", None)
    if coef is not None and np.ndim(coef) == 1:
        out["coef"] = np.asarray(coef, dtype=float)
    if hasattr(model, "n_fit_samples_"):
        out["n_fit_samples"] = int(model.n_fit_samples_)
    return out


def _task_list(templates, X, y, train_idx, test_idx, folds, perm_rows, perm_repeats, random_state):
    tasks = []
    for name, template in templates.items():
        for k, (tr, va) in enumerate(folds):
            tasks.append(
                (
                    (name, k),
                    (
                        "fold",
                        name,
                        template,
                        X,
                        y,
                        train_idx[tr],
                        train_idx[va],
                        None,
                        0,
                        random_state,
                    ),
                )
            )
        tasks.append(
            (
                (name, "refit"),
                (
                    "refit",
                    name,
                    template,
                    X,
                    y,
                    train_idx,
                    test_idx,
                    perm_rows,
                    perm_repeats,
                    random_state,
                ),
            )
        )
    return tasks


def _run_all(templates, X, y, train_idx, test_idx, folds, perm_rows, *, permutation_repeats, random_state,
             n_jobs, backend, time_limit, progress) -> dict[str, dict]:  # fmt: skip
    """Run every model's fold fits and refit; ``backend`` is None (joblib's current) or a name."""
    from tqdm.auto import tqdm

    tasks = _task_list(
        templates, X, y, train_idx, test_idx, folds, perm_rows, permutation_repeats, random_state
    )
    outputs: dict[tuple, dict] = {}
    status = dict.fromkeys(templates, "ok")
    bar = tqdm(
        total=len(tasks), desc="fitting models", unit="fit", disable=not progress, leave=False
    )
    try:
        if time_limit is not None:
            _run_with_time_limit(tasks, templates, outputs, status, n_jobs, time_limit, bar)
        else:
            from joblib import Parallel, delayed

            parallel = Parallel(n_jobs=n_jobs, backend=backend, return_as="generator_unordered")
            for out in parallel(delayed(_keyed)(key, args) for key, args in tasks):
                outputs[out[0]] = out[1]
                bar.update(1)
    finally:
        bar.close()
    results: dict[str, dict] = {}
    for name in templates:
        fold_out = [outputs.get((name, k)) for k in range(len(folds))]
        refit = outputs.get((name, "refit"))
        errors = [o["error"] for o in [*fold_out, refit] if o is not None and "error" in o]
        st = status[name]
        if st == "ok" and errors:
            st = f"failed: {errors[0]}"
        if st == "ok" and (refit is None or any(o is None for o in fold_out)):
            st = "failed: missing results"
        results[name] = {"folds": fold_out, "refit": refit if st == "ok" else None, "status": st}
    return results


def _keyed(key, args):
    return key, _task(*args)


@contextlib.contextmanager
def _backend_context(backend, client, n_jobs):
    if backend != "dask":
        yield backend, n_jobs
        return
    try:
        from dask.distributed import Client, LocalCluster, get_client
    except ImportError as err:
        msg = "backend='dask' needs dask.distributed: pip install 'degbridge[dask]'"
        raise ImportError(msg) from err
    import joblib

    own = None
    if client is None:
        try:
            client = get_client()
        except ValueError:
            workers = n_jobs if n_jobs and n_jobs > 0 else 2
            cluster = LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
            )
            own = client = Client(cluster)
    try:
        with joblib.parallel_config(backend="dask", client=client):
            yield None, -1  # Parallel inherits the configured dask backend
    finally:
        if own is not None:
            cluster = own.cluster
            own.close()
            cluster.close()


def _run_with_time_limit(tasks, templates, outputs, status, n_jobs, time_limit, bar) -> None:
    """One model at a time in worker processes; a model over its time is killed and marked.

    Uses a private loky executor, never the process-wide reusable one that joblib's Parallel
    shares (killing or configuring that one would break later Parallel calls).
    """
    from joblib import cpu_count
    from joblib.externals.loky import ProcessPoolExecutor

    workers = cpu_count() if n_jobs == -1 else max(1, n_jobs or 1)
    by_model: dict[str, list] = {}
    for key, args in tasks:
        by_model.setdefault(key[0], []).append((key, args))
    executor = None
    try:
        for name in templates:
            if executor is None:
                executor = ProcessPoolExecutor(max_workers=workers)
            futures = {executor.submit(_keyed, key, args): key for key, args in by_model[name]}
            deadline = time.monotonic() + time_limit
            pending = set(futures)
            while pending:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                done, pending = concurrent.futures.wait(
                    pending, timeout=remaining, return_when="FIRST_COMPLETED"
                )
                for fut in done:
                    key, out = fut.result()
                    outputs[key] = out
                    bar.update(1)
            if pending:
                executor.shutdown(wait=True, kill_workers=True)  # returns once the workers are dead
                executor = None
                status[name] = f"timed out after {time_limit:g} s"
                bar.update(len(pending))
    finally:
        if executor is not None:
            executor.shutdown(wait=True)


def _collate(results, y, train_idx, test_idx, folds, genes):
    rows, fold_rows = [], []
    oof = pd.DataFrame(index=pd.Index(genes[train_idx], name="gene"))
    for name, res in results.items():
        row: dict[str, Any] = {
            "model": name,
            "description": model_label(name),
            "status": res["status"],
        }
        if res["status"] == "ok":
            if folds:
                pred = np.full(len(train_idx), np.nan)
                per_fold = []
                for k, ((_, va), out) in enumerate(zip(folds, res["folds"])):
                    pred[va] = out["pred"]
                    m = metrics(y[train_idx[va]], out["pred"])
                    per_fold.append(m)
                    fold_rows.append({"model": name, "fold": k, **m, "fit_time": out["fit_time"]})
                oof[name] = pred
                for met in METRICS:
                    vals = np.array([f[met] for f in per_fold])
                    row[f"cv_{met}_mean"] = float(vals.mean())
                    row[f"cv_{met}_sd"] = float(vals.std())
            refit = res["refit"]
            test_m = metrics(y[test_idx], refit["pred"])
            row.update({f"test_{k}": v for k, v in test_m.items()})
            row["fit_time"] = float(sum(o["fit_time"] for o in res["folds"]) + refit["fit_time"])
            notes = []
            if "n_fit_samples" in refit and refit["n_fit_samples"] < len(train_idx):
                notes.append(
                    f"fitted on a random {refit['n_fit_samples']} of {len(train_idx)} training genes"
                )
            row["note"] = "; ".join(notes)
        rows.append(row)
    columns = ["model", "description"]
    columns += [f"cv_{m}_{s}" for m in METRICS for s in ("mean", "sd")]
    columns += [f"test_{m}" for m in METRICS] + ["fit_time", "status", "note"]
    board = pd.DataFrame(rows).reindex(columns=columns)
    cv_scores = pd.DataFrame(fold_rows, columns=["model", "fold", *METRICS, "fit_time"])
    return board, cv_scores, oof


def _rank(board: pd.DataFrame, key: str, best: str) -> pd.DataFrame:
    ok = board["status"] == "ok"
    ordered = pd.concat(
        [board[ok].sort_values(key, ascending=False, kind="stable"), board[~ok]], ignore_index=True
    )
    ordered.insert(0, "rank", np.arange(1, len(ordered) + 1))
    ordered["best"] = ordered["model"] == best
    return ordered


def _importances(results, feature_names) -> pd.DataFrame:
    frames = []
    for name, res in results.items():
        refit = res["refit"]
        if not refit:
            continue
        n = len(feature_names)
        frames.append(
            pd.DataFrame(
                {
                    "model": name,
                    "feature": feature_names,
                    "impurity": refit.get("impurity", np.full(n, np.nan)),
                    "coef": refit.get("coef", np.full(n, np.nan)),
                    "abs_coef": np.abs(refit.get("coef", np.full(n, np.nan))),
                    "perm_mean": refit.get("perm_mean", np.full(n, np.nan)),
                    "perm_sd": refit.get("perm_sd", np.full(n, np.nan)),
                }
            )
        )
    cols = ["model", "feature", "impurity", "coef", "abs_coef", "perm_mean", "perm_sd"]
    return pd.concat(frames, ignore_index=True)[cols] if frames else pd.DataFrame(columns=cols)


def _without_flagged(
    template, X, y, flagged, train_idx, test_idx, folds, board, best, run
) -> pd.DataFrame:
    """The best model's CV and test scores with and without the flagged features.

    The refits without them go through the same task runner as the comparison (``run``),
    so they are parallel and limited in time in the same way.
    """
    row = board.set_index("model").loc[best]
    with_scores = {
        "n_features": X.shape[1],
        "cv_r2_mean": row.get("cv_r2_mean", np.nan),
        "cv_r2_sd": row.get("cv_r2_sd", np.nan),
        "test_r2": row["test_r2"],
    }
    rest = [c for c in X.columns if c not in flagged]
    without: dict[str, Any] = {
        "n_features": len(rest),
        "cv_r2_mean": np.nan,
        "cv_r2_sd": np.nan,
        "test_r2": np.nan,
    }
    if rest:
        Xr = X[rest].to_numpy(dtype=float)
        results = run({best: template}, Xr)
        sub, _, _ = _collate(results, y, train_idx, test_idx, folds, np.asarray(X.index))
        sub_row = sub.iloc[0]
        if sub_row["status"] == "ok":
            for key in ("cv_r2_mean", "cv_r2_sd", "test_r2"):
                without[key] = sub_row.get(key, np.nan)
    frame = pd.DataFrame(
        [with_scores, without], index=["with flagged features", "without flagged features"]
    )
    frame.insert(0, "model", best)
    return frame


def _warn_leakage(target, flagged, best, scores, cv) -> None:
    key = "cv_r2_mean" if cv else "test_r2"
    label = "CV R²" if cv else "test R²"
    w = scores.loc["with flagged features", key]
    wo = scores.loc["without flagged features", key]
    wo_text = f"{wo:.3f}" if np.isfinite(wo) else "n/a (no other features)"
    warnings.warn(
        f"target {target!r}: features {flagged} are transforms of the target (same test) or "
        f"determine it. The best model ({best}) reaches {label} {w:.3f} with them and {wo_text} "
        "without: that part of the score is algebra, not biology. Use leakage='drop', or add "
        "independent per-gene features with extra=.",
        LeakageWarning,
        stacklevel=3,
    )
