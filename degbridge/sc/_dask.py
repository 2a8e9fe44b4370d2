"""``tl.de(..., celltype_key=, backend="dask")``: every cell type's fit on a dask worker, each
worker with its own R.

* R starts once per worker, when the worker joins (:class:`StartR`, a worker plugin; a
  worker restarted after a crash starts its own). Only a worker whose R started offers the
  resource :data:`R_RESOURCE`, and every fit asks for it: a worker without R never gets a
  fit (one warning names it; when no worker has R, one error says why).
* The pseudobulks: a cell matrix that is a dask array (anndata's lazy readers) is read once,
  by the workers, each block summed and checked where it is read; the per-cell-type sums
  stay on the workers until their fits take them. A matrix in memory is summed here, one
  cell type at a time, while the workers fit the cell types already sent.
* A worker that dies has its tasks rerun elsewhere by dask; a fit whose workers keep dying
  (a crash in R, memory) is skipped with that reason after dask's
  ``distributed.scheduler.allowed-failures``. Every cell type gives exactly one outcome.
* The plan, the fit of one pseudobulk and the stored entry are the serial path's
  (:mod:`degbridge.sc._celltype`): the results are those of the serial run.

dask is an optional dependency: ``pip install 'degbridge[dask]'``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .._checks import get_matrix
from .._exceptions import RNotAvailableError, RWarning
from .._params import caller_stacklevel
from ._blockwise import DASK_HINT, is_dask_array
from ._celltype import (
    Outcome,
    Plan,
    assemble,
    cell_type_pseudobulks,
    fit_pseudobulk,
    make_plan,
    too_few_samples,
)

try:
    import dask
    import distributed
    from distributed.diagnostics.plugin import WorkerPlugin
except ImportError as _err:  # pragma: no cover - tested in a venv without dask
    msg = f"backend='dask' needs dask.distributed: {DASK_HINT}"
    raise ImportError(msg) from _err

__all__ = [
    "CONNECT_TIMEOUT",
    "R_RESOURCE",
    "StartR",
    "connect",
    "per_cell_type",
    "start_r",
    "worker_status",
]

logger = logging.getLogger("degbridge")

#: the worker resource a fit asks for: offered (one) by every worker whose R started
R_RESOURCE = "degbridge-R"
#: seconds to wait for a scheduler given by its address (and for its first worker)
CONNECT_TIMEOUT = 10.0

#: seconds between looks, while fits run, at whether some worker still offers R
WATCH_INTERVAL = 5.0
#: a run stops when no worker has offered R for this long (they died and were not replaced)
NO_R_GRACE = 120.0
#: no dashboard, and the scheduler's HTTP server (metrics) on a free port rather than on 8787,
#: which another cluster of this machine may hold
QUIET_SCHEDULER = {"dashboard_address": ":0"}

#: in each worker process: how its R started (see :func:`worker_status`)
_STATUS: dict[str, Any] = {}
_STATUS_LOCK = threading.Lock()


# ---------------------------------------------------------------------------------------
# R on the workers
# ---------------------------------------------------------------------------------------


def _r_home_problem() -> str | None:
    """Why ``R_HOME`` cannot be R's home, if it is set: embedded R aborts the whole process
    on a bad ``R_HOME`` (rpy2 takes it as given), which would leave a worker dying and
    restarting for ever instead of saying what is wrong."""
    home = os.environ.get("R_HOME")
    if home is None or (Path(home) / "bin" / "R").is_file():
        return None
    return f"R_HOME={home!r} is not an R installation (no bin/R in it)"


def _start_r_here() -> str | None:
    """Start degbridge's R session in this process once; None, or why R cannot start."""
    from ..r import session

    with _STATUS_LOCK:
        if "problem" in _STATUS:
            return _STATUS["problem"]
        main = threading.current_thread() is threading.main_thread()
        before = signal.getsignal(signal.SIGINT) if main else None
        started = time.perf_counter()
        try:
            problem = _r_home_problem()
            if problem is None:
                session()
        except RNotAvailableError as err:
            problem = str(err)
        finally:
            # R's start-up installs its own SIGINT handler; give the worker back its own
            if before is not None:
                signal.signal(signal.SIGINT, before)
        _STATUS.update(
            pid=os.getpid(), problem=problem, seconds=round(time.perf_counter() - started, 2),
            thread=threading.current_thread().name, fits=0,
        )  # fmt: skip
        return problem


def worker_status() -> dict[str, Any]:
    """How R started in this worker process: ``problem`` (None: R runs), ``pid``, ``seconds``,
    ``thread`` (the worker's main thread when started by :class:`StartR`) and ``fits`` (cell
    types fitted here). Empty before :class:`StartR` ran (``client.run(worker_status)``)."""
    with _STATUS_LOCK:
        return dict(_STATUS)


class StartR(WorkerPlugin):
    """Start degbridge's R (R, limma, edgeR, degbridge's R files) once in every worker, when
    it joins; a worker where R started offers one :data:`R_RESOURCE`, which every fit asks
    for. A worker without R logs why and gets no fit."""

    name = "degbridge-start-r"
    idempotent = True

    async def setup(self, worker):
        problem = _start_r_here()
        if problem is not None:
            logger.warning("degbridge: R cannot start on this worker: %s", problem)
            return
        await worker.set_resources(**{R_RESOURCE: 1})
        _offer_to_waiting_tasks(worker)


def _offer_to_waiting_tasks(worker) -> None:
    """Have the scheduler give this worker the tasks waiting for its new resource.

    The scheduler looks for a worker for its waiting (``no-worker``) tasks when a worker
    joins or resumes, not when a worker's resources change (dask/distributed#6575). A worker
    joins without :data:`R_RESOURCE` and offers it once :class:`StartR` has started R: fits
    left waiting meanwhile (every worker with R had died) would wait for ever. Pausing and
    resuming the worker has the scheduler look again. A worker paused for memory is left
    alone: it is looked at when it resumes.
    """
    from distributed.core import Status

    if worker.status == Status.running:
        worker.status = Status.paused
        worker.status = Status.running


def start_r(client) -> list[str]:
    """Start R on every worker of ``client`` (and on those that join later); the addresses
    of the workers with R.

    Raises
    ------
    RNotAvailableError
        No worker could start R (the message gives a worker's reason).
    RuntimeError
        The cluster has no worker within :data:`CONNECT_TIMEOUT` seconds.
    """
    try:
        client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
    except TimeoutError:
        msg = (
            f"the dask cluster at {client.scheduler.address} has no workers (waited "
            f"{CONNECT_TIMEOUT:g} s): start some (dask worker ADDRESS) or use local workers"
        )
        raise RuntimeError(msg) from None
    client.register_plugin(StartR())
    status = client.run(worker_status)
    bad = {addr: s.get("problem") or "its R did not start" for addr, s in status.items()
           if s.get("problem") is not None or "problem" not in s}  # fmt: skip
    good = sorted(set(status) - set(bad))
    if bad:
        addr, why = next(iter(sorted(bad.items())))
        where = f"{len(bad)} of the {len(status)} dask workers ({addr}: {why})"
        if not good:
            msg = f"R cannot start on the dask workers, so nothing can be fitted: {where}"
            raise RNotAvailableError(msg)
        warnings.warn(
            f"R cannot start on {where}; the cell types are fitted on the other {len(good)}",
            RWarning,
            stacklevel=caller_stacklevel(),
        )
    return good


# ---------------------------------------------------------------------------------------
# the cluster
# ---------------------------------------------------------------------------------------


@contextlib.contextmanager
def connect(client=None, *, n_workers: int | None = None) -> Iterator[distributed.Client]:
    """The dask client to use: ``client`` itself (a ``distributed.Client``), a new client of
    the scheduler at the address ``client`` (a string, e.g. ``"tcp://10.0.0.5:8786"``),
    the running client, or else a temporary ``LocalCluster`` of ``n_workers`` processes
    (default: one per core) with one thread each. What is created here is closed on exit.

    Raises
    ------
    ConnectionError
        No scheduler answers at that address within :data:`CONNECT_TIMEOUT` seconds.
    """
    if isinstance(client, distributed.Client):
        yield client
        return
    if client is not None and not isinstance(client, str):
        msg = f"client must be a dask.distributed Client or a scheduler address, not {type(client).__name__}"
        raise TypeError(msg)
    if isinstance(client, str):
        try:
            own = distributed.Client(client, timeout=CONNECT_TIMEOUT)
        except OSError as err:
            msg = (
                f"cannot reach the dask scheduler at {client!r} within {CONNECT_TIMEOUT:g} s "
                f"({err}); is it running (dask scheduler), and is the address right?"
            )
            raise ConnectionError(msg) from None
        with own:
            yield own
        return
    try:
        running = distributed.get_client()
    except ValueError:  # no client is running
        running = None
    if running is not None:
        yield running
        return
    workers = n_workers if n_workers else (os.cpu_count() or 1)
    with (
        distributed.LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            scheduler_kwargs=QUIET_SCHEDULER,
        ) as cluster,
        distributed.Client(cluster) as own,
    ):
        yield own


# ---------------------------------------------------------------------------------------
# the fits
# ---------------------------------------------------------------------------------------


def _fit_on_worker(pb, cell_type: str, plan: Plan, run: Callable):
    """On a worker: the fit of a pseudobulk, and the warnings raised meanwhile (given again
    to the caller)."""
    problem = _start_r_here()  # started by StartR when the worker joined: here a no-op
    if problem is not None:
        raise RNotAvailableError(problem)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        outcome = fit_pseudobulk(pb, cell_type, plan, run)
    with _STATUS_LOCK:
        _STATUS["fits"] = _STATUS.get("fits", 0) + 1
    return outcome, [(w.category, str(w.message)) for w in caught]


def _outcome(future, cell_type: str) -> Outcome:
    """A finished fit's outcome (its warnings given again here); a fit whose workers kept
    dying is skipped with that reason; any other error is raised."""
    if future.status == "finished":
        outcome, caught = future.result()
        for category, message in caught:
            warnings.warn(message, category, stacklevel=caller_stacklevel())
        return outcome
    error = future.exception() if future.status == "error" else None
    if isinstance(error, distributed.KilledWorker):
        reason = (
            f"fit failed: the dask workers fitting it died {error.allowed_failures + 1} "
            "times (a crash in R, or out of memory; see the workers' logs)"
        )
        return Outcome(cell_type, reason=reason, used="no: fit failed")
    return future.result()  # raises the task's own error (or CancelledError)


def per_cell_type(
    adata, *, run: Callable, progress: bool, client=None, n_workers: int | None = None,
    **arguments,
) -> dict[str, Any]:  # fmt: skip
    """What ``tl.de(celltype_key=..., backend="dask")`` stores: the serial path's entry, each
    cell type's fit run on a dask worker (see the module's description)."""
    plan = make_plan(adata, **arguments)
    with connect(client, n_workers=n_workers) as dask_client:
        workers = start_r(dask_client)
        outcomes = _Run(dask_client, adata, plan, run, progress, len(workers)).outcomes()
    return assemble(plan, [outcomes[c] for c in plan.cell_types])


def _workers_with_r(client) -> list[str]:
    """The workers offering :data:`R_RESOURCE` now."""
    workers = client.scheduler_info()["workers"]
    return [addr for addr, w in workers.items() if w.get("resources", {}).get(R_RESOURCE)]


def _large_graph_allowed(nbytes: int):
    """dask's warning about a large graph, raised above ``nbytes`` (data degbridge puts in the
    graph on purpose: there, dask can run its tasks again after a worker died)."""
    setting = "distributed.admin.large-graph-warning-threshold"
    threshold = max(dask.utils.parse_bytes(dask.config.get(setting)), 2 * nbytes + 2**20)
    return dask.config.set({setting: threshold})


class _Run:
    """One run of the fits on a cluster: its progress bars, the fits sent and not yet back
    (cancelled if it stops early)."""

    def __init__(self, client, adata, plan: Plan, run: Callable, progress: bool, workers: int):
        self.client, self.adata, self.plan, self.run = client, adata, plan, run
        self.progress = progress
        self.pending: dict[str, tuple[Any, str]] = {}  # key → (fit's future, cell type)
        self.token = uuid.uuid4().hex[:8]
        # fits sent ahead of their outcomes: every worker busy, one waiting each, and no
        # more pseudobulks waiting in the scheduler's memory than that
        self.ahead = 2 * max(workers, 1)

    def outcomes(self) -> dict[str, Outcome]:
        from tqdm.auto import tqdm

        plan = self.plan
        out: dict[str, Outcome] = {}
        for cell_type in plan.cell_types:
            skipped = too_few_samples(cell_type, plan)
            if skipped is not None:
                out[cell_type] = skipped
        todo = [c for c in plan.cell_types if c not in out]
        dask_matrix = is_dask_array(get_matrix(self.adata, plan.layer))
        bar = tqdm(
            total=len(plan.cell_types), desc="cell types", unit="cell type",
            disable=not self.progress, leave=False, initial=len(out),
        )  # fmt: skip
        try:
            slim = plan.for_workers()
            sent = self._summed_on_workers(todo) if dask_matrix else self._summed_here(todo)
            for k, (cell_type, pb) in enumerate(sent):
                self._collect(out, bar, wait=len(self.pending) >= self.ahead)
                future = self._submit(k, pb, cell_type, slim)
                self.pending[future.key] = (future, cell_type)
            while self.pending:
                self._collect(out, bar, wait=True)
        finally:
            bar.close()
            self.client.cancel([future for future, _ in self.pending.values()])
            self.pending.clear()
        return out

    def _submit(self, k: int, pb, cell_type: str, plan: Plan):
        """Send one fit, its pseudobulk inside the task: dask can run a task again elsewhere
        when the worker holding its outcome dies, not one whose inputs it has forgotten."""
        with _large_graph_allowed(pb.X.nbytes):
            return self.client.submit(
                _fit_on_worker, pb, cell_type, plan, self.run,
                key=f"degbridge-fit-{self.token}-{k}", resources={R_RESOURCE: 1}, pure=False,
            )  # fmt: skip

    def _collect(self, out: dict[str, Outcome], bar, *, wait: bool) -> None:
        """The outcomes of the fits done (``wait``: at least one, waiting for it while some
        worker can fit; RuntimeError when none has been able to for :data:`NO_R_GRACE`
        seconds, as when the workers died and were not replaced)."""
        futures = [future for future, _ in self.pending.values()]
        finished = [future for future in futures if future.done()]
        without_r = None
        while wait and futures and not finished:
            try:
                waited = distributed.wait(
                    futures, timeout=WATCH_INTERVAL, return_when="FIRST_COMPLETED"
                )
                finished = list(waited.done)
            except TimeoutError:
                if _workers_with_r(self.client):
                    without_r = None
                elif without_r is None:
                    without_r = time.monotonic()
                elif time.monotonic() - without_r > NO_R_GRACE:
                    msg = (
                        f"no dask worker able to fit is left (none has offered R for "
                        f"{NO_R_GRACE:g} s: the workers died and were not replaced?); "
                        f"{len(futures)} cell types were not fitted"
                    )
                    raise RuntimeError(msg) from None
        for future in finished:
            _, cell_type = self.pending.pop(future.key)
            out[cell_type] = _outcome(future, cell_type)
            bar.set_postfix_str(cell_type[:30], refresh=False)
            bar.update(1)

    def _summed_here(self, todo: list[str]):
        """The pseudobulks summed in this process, one cell type at a time."""
        yield from cell_type_pseudobulks(self.adata, self.plan, todo)

    def _summed_on_workers(self, todo: list[str]):
        """The pseudobulks of a dask matrix: one pass by the workers; each cell type's sums
        fetched when its fit is sent."""
        from tqdm.auto import tqdm

        pbs = self.plan.pseudobulks(self.adata, todo)
        graph = pbs.lazy()
        with _large_graph_allowed(pbs.codes.nbytes):
            futures = self.client.compute([*graph.problems, *graph.sums])
        problems, sums = futures[: len(graph.problems)], futures[len(graph.problems) :]
        del futures
        with tqdm(
            total=len(problems), desc="summing cells", unit="block", disable=not self.progress,
            leave=False,
        ) as bar:  # fmt: skip
            for _ in distributed.as_completed(problems):
                bar.update(1)
        problem = graph.problem(self.client.gather(problems))
        if problem is not None:
            raise pbs.error(problem)
        for cell_type, spec in pbs.specs.items():
            yield cell_type, spec.build(sums.pop(0).result())
