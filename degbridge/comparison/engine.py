"""The execution engine of :func:`~degbridge.compare`: independent fits, run in parallel.

Every fit is one :class:`FitTask` (a model's fit on one CV fold, or its refit on all training
genes). :class:`FitRunner` runs a set of models' tasks through joblib (loky, threading, or a
dask.distributed cluster), or one model at a time in killable worker processes when a time
limit is set. Each task limits BLAS/OpenMP to one thread, so numbers are identical whatever
``n_jobs`` is.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import time
import warnings
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

__all__ = ["FitRunner", "FitTask", "Split", "run_task"]


@dataclass(frozen=True)
class Split:
    """Genes split into training and test genes, and the CV folds of the training genes.

    Attributes
    ----------
    genes
        Gene IDs, in the order of the rows of every matrix.
    y
        Target values.
    train_idx, test_idx
        Sorted positions of the training and test genes.
    folds
        ``(fit, validate)`` positions *within* ``train_idx``, one pair per fold (empty when
        there is no cross-validation).
    perm_rows
        Positions of the test genes used for permutation importance.
    scheme
        How the genes were split, in words (random and stratified, or grouped).
    """

    genes: np.ndarray
    y: np.ndarray
    train_idx: np.ndarray
    test_idx: np.ndarray
    folds: list[tuple[np.ndarray, np.ndarray]]
    perm_rows: np.ndarray
    scheme: str = "random genes, stratified by target quantiles"

    @property
    def n(self) -> int:
        return len(self.y)


@dataclass(frozen=True)
class FitTask:
    """One fit: a clone of ``template`` fitted on rows ``fit_idx`` of ``X``.

    ``kind="fold"`` predicts the validation rows ``eval_idx``; ``kind="refit"`` predicts the
    test rows and adds the model's own importances and, when ``perm_repeats`` > 0,
    permutation importances on rows ``perm_rows``, all computed in the worker. A refit returns
    its fitted pipeline only when ``keep_pipeline`` (a fitted forest is hundreds of MB: it is
    not pickled back to the parent process unless it is the selected model).
    """

    kind: Literal["fold", "refit"]
    model: str
    template: Any
    X: np.ndarray
    y: np.ndarray
    fit_idx: np.ndarray
    eval_idx: np.ndarray
    fold: int | None = None
    perm_rows: np.ndarray | None = None
    perm_repeats: int = 0
    random_state: int | None = None
    keep_pipeline: bool = True

    @property
    def key(self) -> tuple[str, int | str]:
        """``(model, fold number)`` or ``(model, "refit")``."""
        return (self.model, "refit" if self.kind == "refit" else self.fold)


def tasks_for(
    templates: Mapping[str, Any],
    X: np.ndarray,
    split: Split,
    *,
    perm_repeats: int,
    random_state,
    kinds: tuple[str, ...] = ("fold", "refit"),
    pipelines: Collection[str] | None = None,
) -> list[FitTask]:
    """Every model's fold fits, then its refit on all training genes, the longest first.

    ``kinds`` limits the tasks to fold fits or refits; ``pipelines`` names the models whose
    refit returns its fitted pipeline (None: every model). The order of the tasks (expected
    longest first, so that no long fit starts last) changes no number: every task is
    independent and seeded.
    """
    common = {"X": X, "y": split.y, "random_state": random_state}
    tasks = []
    for name, template in templates.items():
        if "fold" in kinds:
            for k, (tr, va) in enumerate(split.folds):
                fit_idx, eval_idx = split.train_idx[tr], split.train_idx[va]
                tasks.append(
                    FitTask(
                        "fold", name, template, fit_idx=fit_idx, eval_idx=eval_idx, fold=k, **common
                    )
                )
        if "refit" in kinds:
            tasks.append(
                FitTask(
                    "refit",
                    name,
                    template,
                    fit_idx=split.train_idx,
                    eval_idx=split.test_idx,
                    perm_rows=split.perm_rows,
                    perm_repeats=perm_repeats,
                    keep_pipeline=pipelines is None or name in pipelines,
                    **common,
                )
            )
    return sorted(tasks, key=lambda t: (_cost_rank(t.template), t.kind != "refit"))


#: Estimators by expected fit time on a DE table, the longest first (a scheduling hint only).
_SLOW = (
    "RandomForestRegressor",
    "MLPRegressor",
    "ExtraTreesRegressor",
    "GradientBoostingRegressor",
    "ElasticNetCV",
    "HistGradientBoostingRegressor",
    "LassoCV",
    "SubsampledRegressor",
    "SVR",
)


def _cost_rank(template) -> int:
    steps = getattr(template, "steps", None)
    est = steps[-1][1] if steps else template
    if type(est).__name__ == "SubsampledRegressor" and est.estimator is not None:
        est = est.estimator  # ranked by the model it fits
    name = type(est).__name__
    return _SLOW.index(name) if name in _SLOW else len(_SLOW)


def run_task(task: FitTask) -> tuple[tuple, dict[str, Any]]:
    """Run one fit; returns ``(task.key, output)``. A model that fails is reported, not fatal.

    The output holds ``pred`` (predictions of the ``eval_idx`` rows) and ``fit_time``; a refit
    also holds ``pipeline`` and the importances; a failure holds ``error`` only.
    """
    from sklearn.base import clone
    from sklearn.exceptions import ConvergenceWarning

    out: dict[str, Any] = {"kind": task.kind, "name": task.model}
    with _one_blas_thread(), warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)  # e.g. MLP/Lasso convergence chatter
        warnings.simplefilter("ignore", category=ConvergenceWarning)
        try:
            pipe = clone(task.template)
            t0 = time.perf_counter()
            pipe.fit(task.X[task.fit_idx], task.y[task.fit_idx])
            out["fit_time"] = time.perf_counter() - t0
            # a refit predicts the test genes only; the selected model alone predicts the
            # training genes, later (Comparison.predictions)
            out["pred"] = pipe.predict(task.X[task.eval_idx])
            if task.kind == "refit":
                if task.keep_pipeline:
                    out["pipeline"] = pipe
                out.update(_model_importances(pipe))
                out.update(_permutation_importances(pipe, task))
        except Exception as err:  # a model that cannot fit this data is reported, not fatal
            return task.key, {
                "kind": task.kind,
                "name": task.model,
                "error": f"{type(err).__name__}: {err}",
            }
    return task.key, out


def _permutation_importances(pipe, task: FitTask) -> dict[str, np.ndarray]:
    if not task.perm_repeats:
        return {}
    from sklearn.inspection import permutation_importance

    rows = task.perm_rows
    perm = permutation_importance(
        pipe,
        task.X[rows],
        task.y[rows],
        n_repeats=task.perm_repeats,
        random_state=task.random_state,
        scoring="r2",
        n_jobs=1,
    )
    return {"perm_mean": perm.importances_mean, "perm_sd": perm.importances_std}


def _model_importances(pipe) -> dict[str, Any]:
    """Impurity importances (trees), coefficients (linear models), subsample size (SVR)."""
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


@dataclass
class ModelResult:
    """A model's outputs: one per fold (None when missing), its refit (None unless ok), status."""

    folds: list[dict[str, Any] | None]
    refit: dict[str, Any] | None
    status: str


@dataclass
class FitRunner:
    """Runs models' fits with the options of one comparison.

    Use as a context manager: one backend serves every fit of the comparison (at most one
    temporary dask ``LocalCluster``), and loky's worker-restart notice is silenced.
    """

    split: Split
    random_state: Any = None
    permutation_repeats: int = 5
    n_jobs: int | None = None
    backend: Literal["loky", "threading", "dask"] | None = None
    client: Any = None
    time_limit: float | None = None
    progress: bool = True
    _stack: contextlib.ExitStack = field(
        default_factory=contextlib.ExitStack, init=False, repr=False
    )
    _backend: str | None = field(default=None, init=False, repr=False)
    _jobs: int | None = field(default=None, init=False, repr=False)

    def __enter__(self) -> FitRunner:
        stack = self._stack.__enter__()
        if self.time_limit is None:
            context = backend_context(self.backend, self.client, self.n_jobs)
            self._backend, self._jobs = stack.enter_context(context)
        else:  # private killable workers, see _run_with_time_limit
            self._backend, self._jobs = None, self.n_jobs
        stack.enter_context(warnings.catch_warnings())
        # loky restarts a worker whose memory grew by > 300 MB (its leak guard) and says so;
        # the jobs are unaffected, the message only alarms users
        warnings.filterwarnings(
            "ignore", message="A worker stopped while some jobs were given", category=UserWarning
        )
        return self

    def __exit__(self, *exc) -> bool | None:
        return self._stack.__exit__(*exc)

    def run(
        self,
        templates: Mapping[str, Any],
        X: np.ndarray,
        *,
        permutation_repeats: int | None = None,
        progress: bool | None = None,
        kinds: tuple[str, ...] = ("fold", "refit"),
        pipelines: Collection[str] | None = None,
        previous: Mapping[str, ModelResult] | None = None,
    ) -> dict[str, ModelResult]:
        """Fit every model of ``templates`` on every fold and refit it; results by model name.

        ``kinds=("fold",)`` runs the fold fits only (the results then have no refit);
        ``kinds=("refit",)`` with ``previous`` (those results) adds the refits of the models
        whose folds all succeeded. ``pipelines`` names the models whose refit returns its
        fitted pipeline (None: every model; the others' pipelines stay in the workers).
        """
        from tqdm.auto import tqdm

        repeats = self.permutation_repeats if permutation_repeats is None else permutation_repeats
        show = self.progress if progress is None else progress
        todo = dict(templates)
        outputs: dict[tuple, dict] = {}
        status = dict.fromkeys(templates, "ok")
        for name, res in (previous or {}).items():
            outputs.update({(name, k): out for k, out in enumerate(res.folds) if out is not None})
            if res.status != "ok":  # its folds failed or timed out: no refit
                status[name] = res.status
                todo.pop(name, None)
        tasks = tasks_for(
            todo, X, self.split, perm_repeats=repeats, random_state=self.random_state,
            kinds=kinds, pipelines=pipelines,
        )  # fmt: skip
        bar = tqdm(
            total=len(tasks), desc="fitting models", unit="fit", disable=not show, leave=False
        )
        try:
            if self.time_limit is not None:
                # one model at a time, in the given order (as the time limits are per model)
                at = {name: i for i, name in enumerate(templates)}
                tasks.sort(key=lambda t: (at[t.model], t.kind == "refit", t.fold or 0))
                _run_with_time_limit(tasks, outputs, status, self._jobs, self.time_limit, bar)
            else:
                _run_parallel(tasks, outputs, self._jobs, self._backend, bar)
        finally:
            bar.close()
        return {
            name: _model_result(
                name, outputs, status[name], len(self.split.folds), refit="refit" in kinds
            )
            for name in templates
        }


def _model_result(
    name: str, outputs: dict[tuple, dict], status: str, n_folds: int, *, refit: bool = True
) -> ModelResult:
    """A model's outputs; ``refit=False``: its fold fits only (status "ok" without a refit)."""
    fold_out = [outputs.get((name, k)) for k in range(n_folds)]
    refit_out = outputs.get((name, "refit")) if refit else None
    errors = [o["error"] for o in [*fold_out, refit_out] if o is not None and "error" in o]
    if status == "ok" and errors:
        status = f"failed: {errors[0]}"
    if status == "ok" and ((refit and refit_out is None) or any(o is None for o in fold_out)):
        status = "failed: missing results"
    return ModelResult(fold_out, refit_out if status == "ok" else None, status)


def _run_parallel(tasks: list[FitTask], outputs: dict, n_jobs, backend, bar) -> None:
    """Every task through joblib's Parallel; ``backend`` None means joblib's current one."""
    from joblib import Parallel, delayed

    parallel = Parallel(n_jobs=n_jobs, backend=backend, return_as="generator_unordered")
    for key, out in parallel(delayed(run_task)(task) for task in tasks):
        outputs[key] = out
        bar.update(1)


@contextlib.contextmanager
def backend_context(backend, client, n_jobs) -> Iterator[tuple[str | None, int | None]]:
    """Yield the ``(backend, n_jobs)`` to give joblib's Parallel.

    For ``backend="dask"``: the given client, else the running one, else a temporary
    ``LocalCluster`` with ``n_jobs`` workers, closed on exit.
    """
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


def _run_with_time_limit(
    tasks: list[FitTask], outputs: dict, status: dict, n_jobs, time_limit, bar
) -> None:
    """One model at a time in worker processes; a model over its time is killed and marked.

    Uses a private loky executor, never the process-wide reusable one that joblib's Parallel
    shares (killing or configuring that one would break later Parallel calls).
    """
    from joblib import cpu_count
    from joblib.externals.loky import ProcessPoolExecutor

    workers = cpu_count() if n_jobs == -1 else max(1, n_jobs or 1)
    by_model: dict[str, list[FitTask]] = {}
    for task in tasks:
        by_model.setdefault(task.model, []).append(task)
    executor = None
    try:
        for name, model_tasks in by_model.items():
            if executor is None:
                executor = ProcessPoolExecutor(max_workers=workers)
            pending = _wait_until(
                executor, model_tasks, time.monotonic() + time_limit, outputs, bar
            )
            if pending:
                executor.shutdown(wait=True, kill_workers=True)  # returns once the workers are dead
                executor = None
                status[name] = f"timed out after {time_limit:g} s"
                bar.update(len(pending))
    finally:
        if executor is not None:
            executor.shutdown(wait=True)


def _wait_until(executor, tasks: list[FitTask], deadline: float, outputs: dict, bar) -> set:
    """Submit ``tasks``, collect their outputs until ``deadline``; returns the unfinished ones."""
    pending = {executor.submit(run_task, task) for task in tasks}
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
    return pending
