"""compare(): predict a DE column from per-gene features with many regressors, honestly.

Workflow (each step a function of :mod:`degbridge.comparison.steps`)
------------------------------------------------------------------
1. Preprocess (identifiers and annotations dropped, missing targets dropped, outliers
   reported/clipped/dropped), all recorded in ``Comparison.preprocessing``.
2. Split genes 80/20, stratified by target quantiles.
3. Leakage audit on the training genes (``leakage=``).
4. For each model, a pipeline ``median imputation → [robust clipping] → standardisation →
   model`` is fitted on each of ``cv`` folds of the training genes (out-of-fold predictions
   and fold metrics), then refitted on all training genes and scored once on the test genes,
   with permutation importances on the test genes.
5. The best model is the one with the highest mean CV R² (never the test score).
6. With ``leakage="flag"``, the best model is scored again without the flagged features.

All fits are independent tasks run by :mod:`degbridge.comparison.engine` (joblib, dask, or
killable worker processes when ``time_limit`` is set).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from . import steps
from .engine import FitRunner
from .models import resolve_models
from .preprocess import prepare, sample_ids
from .result import BestModel, Comparison

__all__ = ["BestModel", "Comparison", "compare"]


def compare(
    table,
    target: str = "logFC",
    *,
    features: Sequence[str] | None = None,
    extra=None,
    provenance: Mapping[str, str] | None = None,
    cv_groups=None,
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
    max_fit_samples: int | None = 20000,
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
        (imputed); a table that matches no gene is an error. A value may be
        ``(frame, provenance)`` to declare where the table comes from: ``"external"``
        (annotation, another study: known without these samples), ``"same-samples"`` or
        ``"test"``. Undeclared tables are ``"same-samples"`` unless the frame says otherwise
        (``frame.attrs["provenance"]``, set by :func:`degbridge.gene_annotation`), or both it
        and ``table`` come from degbridge and share no sample.
    provenance
        ``{feature: "test" | "same-samples" | "external"}`` overriding the provenance of
        individual features. Table columns default to ``"test"`` for test outputs (``t``,
        P-values, ``B``...) and ``"same-samples"`` otherwise.
    cv_groups
        Keep groups of genes together in every split: a column name (e.g. a chromosome or
        cytoband column of an extra table; it is not used as a feature) or a Series of labels
        indexed by gene ID. The test genes are whole groups (``GroupShuffleSplit``) and so
        are the folds (``GroupKFold``). Paralogs, neighbours or co-regulated modules then
        cannot sit on both sides of a split. ``params["split"]`` says which scheme ran.
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
        ``"drop"`` removes them; ``"keep"`` skips the audit. Unless ``"keep"``, the best model
        is also scored on the external features only, and ``Comparison.leakage_scores``
        holds the three scores with the most honest one marked.
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
    max_fit_samples
        When the training genes number more than this, every built-in model but the mean
        baseline is fitted on this many random genes in each fit that has more (the refit on
        all training genes, and the fold fits when their genes exceed it too); the rows come
        from ``random_state``, so every model of a fit sees the same genes (SVR keeps its own
        smaller cap). Scores are still computed on every held-out gene; the leaderboard's
        ``note`` says how many training genes the refit used. The default (20,000) leaves a
        table of up to 25,000 genes (with ``test_size=0.2``) untouched and bounds the time of
        a 60,000-gene table (forests, boosting and the MLP take time in proportion to the
        genes: 100 s instead of 189 s on two cores, the same best model and CV R² to 5
        decimals, ``benchmarks/README.md``). ``None``: every gene, whatever the size. Models
        passed as estimators are fitted as given.
    progress
        Show a progress bar over the fits.

    Returns
    -------
    :class:`Comparison`
    """
    # the list of steps: check → prepare → split → audit → fit → select → leakage scores →
    # assemble
    _check_args(test_size, cv, leakage, outliers, time_limit, permutation_repeats, backend)
    svr_max_samples = _check_cap("svr_max_samples", svr_max_samples)
    max_fit_samples = _check_cap("max_fit_samples", max_fit_samples)
    permutation_max_samples = _check_cap("permutation_max_samples", permutation_max_samples)
    started = time.perf_counter()
    # arguments first (model names), then the data
    model_notes: dict[str, str] = {}
    estimators = resolve_models(
        models, random_state=random_state, svr_max_samples=svr_max_samples, notes=model_notes
    )
    prep = prepare(
        table, target, features=features, extra=extra, outliers=outliers,
        min_genes=2 * cv if cv else 10, provenance=provenance, cv_groups=cv_groups,
    )  # fmt: skip
    split = steps.split_genes(
        prep.y, prep.X.index, test_size=test_size, cv=cv, random_state=random_state,
        perm_max_samples=permutation_max_samples, groups=prep.groups,
        groups_source=prep.groups_source,
    )  # fmt: skip
    if max_fit_samples is not None and len(split.train_idx) > max_fit_samples:
        # the built-in models again, each fitted on at most max_fit_samples genes (on smaller
        # tables the pipelines stay the plain estimators)
        estimators = resolve_models(
            models, random_state=random_state, svr_max_samples=svr_max_samples,
            max_fit_samples=max_fit_samples,
        )  # fmt: skip
    leak, flagged = steps.audit_leakage(
        prep, split, target, leakage=leakage, random_state=random_state
    )
    steps.warn_shared_samples(prep.shared_samples)
    templates = {name: steps.pipeline(est, outliers) for name, est in estimators.items()}
    runner = FitRunner(
        split, random_state=random_state, permutation_repeats=permutation_repeats,
        n_jobs=n_jobs, backend=backend, client=client, time_limit=time_limit, progress=progress,
    )  # fmt: skip
    with runner:
        fitted = _fit_and_select(runner, templates, prep, split, cv, flagged, leakage, model_notes)
    if not cv:
        steps.warn_seed_selection()
    steps.warn_leakage(target, flagged, fitted.best, fitted.leak_scores, leakage, cv)
    arguments = {
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
        "max_fit_samples": max_fit_samples,
        "split": split.scheme,
        "provenance": {c: prep.provenance[c] for c in prep.X.columns},
        "shared_samples": dict(prep.shared_samples),
        "samples": sample_ids(table),
    }
    return _assemble(target, prep, split, fitted, leak, arguments, started, extra, cv)


@dataclass
class _Fitted:
    """The fits of every model, and what was selected from them."""

    results: dict[str, Any]
    board: Any
    cv_scores: Any
    oof: Any
    best: str
    leak_scores: Any


def _fit_and_select(runner, templates, prep, split, cv, flagged, leakage, notes) -> _Fitted:
    """Fit every model (folds, refits), rank them, and score the best one's feature sets."""
    X = prep.X.to_numpy(dtype=float)
    results = _fit(runner, templates, X, split)
    board, cv_scores, oof = steps.collate(results, split, notes=notes)
    board, best = steps.select(board, cv)
    if "pipeline" not in results[best].refit:  # the CV leader's refit failed: rare
        again = runner.run(
            {best: templates[best]}, X, kinds=("refit",), previous={best: results[best]},
            permutation_repeats=0, progress=False,
        )  # fmt: skip
        results[best].refit["pipeline"] = again[best].refit["pipeline"]
    leak_scores = None
    if leakage != "keep":
        sets = steps.feature_sets(list(prep.X.columns), flagged, prep.provenance)
        leak_scores = steps.feature_set_scores(runner, templates[best], prep.X, sets, board, best)
    return _Fitted(results, board, cv_scores, oof, best, leak_scores)


def _assemble(target, prep, split, fitted: _Fitted, leak, arguments, started, extra, cv):
    tables = {
        "leaderboard": fitted.board,
        "cv_scores": fitted.cv_scores,
        "oof": fitted.oof,
        "leakage": leak,
        "leakage_scores": fitted.leak_scores,
    }
    best = fitted.best
    best_model = BestModel(best, fitted.results[best].refit["pipeline"], "cv" if cv else "test")
    comparison = steps.assemble(
        target, prep, split, fitted.results, tables=tables, best=best_model,
        arguments=arguments, started=started,
    )  # fmt: skip
    comparison.extra = extra
    return comparison


def _fit(runner: FitRunner, templates: dict[str, Any], X: np.ndarray, split) -> dict:
    """Every model's fold fits and refit; only the selected model's pipeline leaves its worker.

    With cross-validation the fold fits run first; the refits follow, and only the CV leader's
    returns its fitted pipeline (the others' importances and test predictions are computed in
    their workers, their fitted forests never pickled to this process). Without CV (selection
    on the test set) or with a time limit (per model: folds and refit together), every refit
    returns its pipeline and :func:`~degbridge.comparison.steps.assemble` keeps the selected
    one only. The numbers are the same either way.
    """
    if not split.folds or runner.time_limit is not None:
        return runner.run(templates, X)
    folds = runner.run(templates, X, kinds=("fold",))
    leader = steps.rank_on_cv(folds, split)[:1]
    return runner.run(templates, X, kinds=("refit",), pipelines=leader, previous=folds)


def _check_cap(name: str, cap) -> int | None:
    """A row cap: None, or a whole number of genes >= 10 (an integral float, as R's numbers
    arrive through reticulate, is taken as its integer)."""
    if cap is None:
        return None
    if isinstance(cap, float | np.floating) and float(cap).is_integer():
        cap = int(cap)
    if isinstance(cap, bool) or not isinstance(cap, int | np.integer):
        msg = f"{name} must be a whole number of genes or None, not {cap!r}"
        raise TypeError(msg)
    if cap < 10:
        msg = f"{name} must be at least 10 genes, not {cap}"
        raise ValueError(msg)
    return int(cap)


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
