"""Benchmark ``tl.de(..., celltype_key=, backend="dask")`` against the serial path (issue 24).

1. Two local workers against serial. Simulated cells (see :func:`simulate`: reads drawn from
   lognormal gene profiles per cell type and donor, 5 % of each cell type's genes doubled or
   halved in "stim"): 40,000 cells × 24,000 genes, 16 cell types of unequal sizes, 10 + 10
   donors, 3,000 reads per cell (106 M stored values), written to an ``.h5ad``; limma-voom
   (the default method) per cell type, ``min_cells=10``. Each run in a fresh subprocess,
   rounds interleaved, medians:

   * serial: ``tl.de(adata, celltype_key=...)`` with R already started in the process (its
     start-up timed apart), on ``X`` in memory, then on ``X`` read lazily from the ``.h5ad``
     (a dask array, summed by dask's threads); the fits' share timed;
   * dask, cluster started: a ``LocalCluster(n_workers=2, threads_per_worker=1)`` and R on
     its workers started and timed apart, then ``tl.de(..., backend="dask", client=client)``
     on ``X`` in memory and lazy (summed on the workers);
   * dask, the default: ``tl.de(..., backend="dask")`` with ``client=None``, timed whole
     (starting the temporary cluster and R on its workers, the fits, closing the cluster);
   * a control without dask: fits of a 24,000 × 20 pseudobulk in one process alone and in
     two processes at once (what 2 processes can gain on this machine).

   Every results table (and the ``fits`` and ``samples`` tables) is checked identical to the
   serial in-memory one (``pd.testing.assert_frame_equal(check_exact=True)``). Memory: the
   peak RSS (``VmHWM``, reset before the call) of the serial process, of each worker and of
   the client process (which holds the LocalCluster's scheduler) during each call.

2. A cost model: the lazy ``.h5ad`` on the 2 workers at three sizes (50,000 / 200,000 /
   800,000 cells; genes, cell types and samples varied so that the terms separate) and the
   largest again in blocks of 20,000 cells, with dask's task stream and the workers' RSS
   sampled: the client's plan, cell positions and pseudobulk samples, graph and its
   submission; the summing's CPU per stored value and per task and its wall time per task;
   each fit; one fit of 30,000 genes × 100 samples on a worker; R's start-up; memory per
   worker while summing and fitting; bytes moved. Then extrapolated on paper to 10 M cells ×
   30,000 genes × 50 cell types on N workers (assumptions printed: :data:`TARGET`).

Measured 2026-12-05 (2 cores, quiet before each run, the run's own load 1.6-2.4; 13 rounds
in three runs): 2 workers ÷ serial, both started, 1.59× in memory (rounds 1.38-1.76; 6 of
13 rounds ≥ 1.6×), 1.36-1.47× on the lazy ``.h5ad``; 1.36-1.50× counting the cluster's and
R's start-up; the serial parts cap it at 1.72× and the fits run 1.15-1.30× slower on the
workers than in the serial process (two plain R processes: 1.02×). Each worker's peak
394 MiB in memory, 465 MiB lazy (176 MiB with R started), the serial process +384 MiB above
its data. 10 M cells: the summing is scheduler-bound in anndata's default blocks of 1,000
cells (601,550 tasks, ~17 min whatever N); in blocks of 20,000 cells ~7 min on 2 workers,
~1.6 min on 64. See benchmarks/README.md.

    python benchmarks/bench_dask.py [--quick] [--rounds N] [--skip-speedup] [--skip-cost]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import gib, machine, mib

KW = {"groupby": "condition", "sample_key": "donor", "celltype_key": "cell_type",
      "contrast": "stim - ctrl", "progress": False}  # fmt: skip
WORKERS = 2
#: cells per block of the lazy .h5ad: anndata's default for CSR, and a variant
DEFAULT_CHUNK = 1_000
VARIANT_CHUNK = 20_000


@dataclass(frozen=True)
class Size:
    """Simulated cells: ``cells`` over ``types`` cell types and ``donors`` donors per
    condition, ``genes`` genes, ``reads`` reads per cell (Poisson)."""

    cells: int
    genes: int
    types: int
    donors: int
    reads: int

    def label(self) -> str:
        return (f"{self.cells:,} cells × {self.genes:,} genes, {self.types} cell types, "
                f"{2 * self.donors} samples")  # fmt: skip


SPEEDUP = Size(40_000, 24_000, 16, 10, 3_000)
SPEEDUP_QUICK = Size(6_000, 3_000, 12, 4, 1_500)
COST = (
    Size(50_000, 6_000, 16, 10, 250),
    Size(200_000, 24_000, 8, 10, 250),
    Size(800_000, 12_000, 12, 20, 250),
)
COST_QUICK = (
    Size(8_000, 1_000, 6, 4, 200),
    Size(16_000, 3_000, 4, 4, 200),
    Size(32_000, 2_000, 5, 6, 200),
)
#: one fit at the target's size (genes, samples), measured on a worker (--quick: smaller)
TARGET_FIT = (30_000, 100)
TARGET_FIT_QUICK = (5_000, 20)
#: the control of part 1: fits of this size (genes, samples), alone and two processes at once
CONTROL_SIZE = (24_000, 20)
CONTROL_FITS = 6
#: the extrapolation's target and its assumptions
TARGET = {
    "cells": 10_000_000,
    "genes": 30_000,
    "types": 50,
    "samples": 100,  # 50 donors × 2 conditions, every cell type in every sample
    "values_per_cell": 2_000,  # stored (non-zero) values per cell
    "bandwidth": 1e9,  # bytes per second between the client and the workers
}


# ---------------------------------------------------------------------------------------
# the cells
# ---------------------------------------------------------------------------------------


def simulate(size: Size, pool: int = 30, seed: int = 0):
    """Cells × genes (CSR float32 counts) with obs ``cell_type``, ``donor``, ``condition``.

    Each cell type has its gene profile (a common lognormal profile times a lognormal
    factor per cell type; cell types of decreasing sizes), each donor a lognormal factor
    per gene, and in "stim" donors 5 % of each cell type's genes are doubled or halved.
    For each cell type × donor, ``pool`` cells draw Poisson(``reads``) reads from that
    profile and the cell type's cells of that donor are drawn from them (generating every
    cell would take minutes at 800,000 cells; the sums cost the same). The cells of a
    donor are shuffled: each block of cells holds most cell types, as in an atlas stored
    donor by donor.
    """
    import anndata as ad

    rng = np.random.default_rng(seed)
    n_genes = size.genes
    base = rng.lognormal(0.0, 0.7, n_genes)
    weights = 1.0 / (1.0 + np.arange(size.types) / 16.0)
    per_type = np.maximum(
        15, np.round(size.cells * weights / weights.sum() / (2 * size.donors))
    ).astype(int)
    profiles = [base * rng.lognormal(0.0, 0.5, n_genes) for _ in range(size.types)]
    changed = [rng.choice(n_genes, n_genes // 20, replace=False) for _ in range(size.types)]
    blocks, obs = [], []
    for d in range(2 * size.donors):
        stim = d >= size.donors
        donor = rng.lognormal(0.0, 0.15, n_genes)
        parts, labels = [], []
        for t in range(size.types):
            p = profiles[t] * donor
            if stim:
                p[changed[t]] *= np.where(np.arange(len(changed[t])) % 2 == 0, 2.0, 0.5)
            p /= p.sum()
            m = int(per_type[t])
            q = min(m, pool)
            depth = rng.poisson(size.reads, q)
            genes = rng.choice(n_genes, size=int(depth.sum()), p=p)
            rows = np.repeat(np.arange(q), depth)
            block = sp.csr_matrix(
                (np.ones(len(genes), np.float32), (rows, genes)), shape=(q, n_genes)
            )
            parts.append(block[rng.integers(0, q, m)] if q < m else block)
            labels += [t] * m
        order = rng.permutation(len(labels))
        blocks.append(sp.vstack(parts, format="csr")[order])
        obs.append(pd.DataFrame({"t": np.asarray(labels)[order], "d": d, "stim": stim}))
    X = sp.vstack(blocks, format="csr")
    X.sum_duplicates()
    frame = pd.concat(obs, ignore_index=True)
    obs = pd.DataFrame(
        {
            "cell_type": pd.Categorical([f"type{t:02d}" for t in frame["t"]]),
            "donor": pd.Categorical([f"donor{d:03d}" for d in frame["d"]]),
            "condition": pd.Categorical(np.where(frame["stim"], "stim", "ctrl")),
        },
        index=[f"cell{i}" for i in range(len(frame))],
    )
    var = pd.DataFrame(index=[f"gene{j:05d}" for j in range(n_genes)])
    return ad.AnnData(X=X, obs=obs, var=var)


def write_cells(size: Size, path: Path, seed: int = 0) -> dict:
    """Simulate ``size`` into the ``.h5ad`` at ``path``; its shape and stored values."""
    t0 = time.perf_counter()
    adata = simulate(size, seed=seed)
    adata.write_h5ad(path)
    info = {"cells": adata.n_obs, "genes": adata.n_vars, "values": int(adata.X.nnz),
            "csr": int(adata.X.data.nbytes + adata.X.indices.nbytes + adata.X.indptr.nbytes),
            "seconds": time.perf_counter() - t0}  # fmt: skip
    del adata
    return info


_OPEN: list = []


def open_lazy(path: Path, chunk: int = 1_000):
    """The ``.h5ad`` with ``X`` a dask array (anndata's ``read_elem_lazy``) in blocks of
    ``chunk`` cells (its default: 1,000), ``obs`` and ``var`` in memory."""
    import anndata as ad
    import h5py
    from anndata.experimental import read_elem_lazy
    from anndata.io import read_elem

    f = h5py.File(path, "r")
    _OPEN.append(f)  # open while X is read (until the process ends)
    return ad.AnnData(
        X=read_elem_lazy(f["X"], chunks=(chunk, -1)),
        obs=read_elem(f["obs"]),
        var=read_elem(f["var"]),
    )


# ---------------------------------------------------------------------------------------
# memory of a process (run in the children and, by client.run, in the workers)
# ---------------------------------------------------------------------------------------


def memory() -> dict[str, int]:
    """This process's resident memory now (``rss``) and its peak (``hwm``), in bytes."""
    out = {}
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(("VmRSS:", "VmHWM:")):
                out["rss" if line.startswith("VmRSS") else "hwm"] = int(line.split()[1]) * 1024
    return out


def reset_peak() -> None:
    """Reset this process's peak RSS (``VmHWM``) to its current RSS."""
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")


class Sampler:
    """Sample the RSS of some processes (by pid) every ``interval`` seconds:
    ``samples[pid]`` is a list of ``(time.time(), rss)``."""

    def __init__(self, pids: list[int], interval: float = 0.05):
        import psutil

        self.procs = {pid: psutil.Process(pid) for pid in pids}
        self.samples: dict[int, list[tuple[float, int]]] = {pid: [] for pid in pids}
        self.interval = interval
        self._stop = threading.Event()

    def __enter__(self):
        self._sample()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        for pid, proc in self.procs.items():
            with contextlib.suppress(Exception):  # a worker that just died
                self.samples[pid].append((time.time(), proc.memory_info().rss))

    def _run(self):
        while not self._stop.is_set():
            time.sleep(self.interval)
            self._sample()

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def peak(self, pid: int, start: float, stop: float) -> int:
        inside = [rss for t, rss in self.samples[pid] if start <= t <= stop]
        return max(inside) if inside else 0

    def before(self, pid: int, start: float) -> int:
        earlier = [rss for t, rss in self.samples[pid] if t <= start]
        return earlier[-1] if earlier else 0


# ---------------------------------------------------------------------------------------
# the children: each run in a fresh process (``--child MODE``)
# ---------------------------------------------------------------------------------------


def _save(adata, out: Path) -> None:
    entry = adata.uns["degbridge"]
    pd.to_pickle({"results": entry["results"], "fits": pd.DataFrame(entry["fits"]),
                  "samples": pd.DataFrame(entry["samples"])}, out)  # fmt: skip


def _timed_call(fn) -> dict:
    """Time ``fn()`` and the process's peak RSS during it."""
    reset_peak()
    before = memory()["rss"]
    t0 = time.perf_counter()
    fn()
    took = time.perf_counter() - t0
    return {"time": took, "before": before, "peak": memory()["hwm"]}


def child_serial(path: Path, out: Path) -> dict:
    import anndata as ad

    from degbridge import tl
    from degbridge.sc import _celltype

    # the fits' share of the serial call: each call of the fit of one pseudobulk timed
    fitting = []
    fit = _celltype.fit_pseudobulk

    def timed_fit(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return fit(*args, **kwargs)
        finally:
            fitting.append(time.perf_counter() - t0)

    _celltype.fit_pseudobulk = timed_fit
    adata = ad.read_h5ad(path)
    t0 = time.perf_counter()
    from degbridge.r import session

    session()
    res = {"r_start": time.perf_counter() - t0}
    res["memory"] = _timed_call(lambda: tl.de(adata, **KW))
    res["memory"]["fit_compute"] = sum(fitting)
    _save(adata, out.with_suffix(".memory.pkl"))
    fitting.clear()
    lazy = open_lazy(path)
    res["lazy"] = _timed_call(lambda: tl.de(lazy, **KW))
    res["lazy"]["fit_compute"] = sum(fitting)
    _save(lazy, out.with_suffix(".lazy.pkl"))
    return res


def child_fits(path: Path, out: Path) -> dict:
    """The control: :data:`CONTROL_FITS` fits of one simulated pseudobulk of
    :data:`CONTROL_SIZE` (genes, samples) in this process's R, after one untimed fit."""
    from degbridge.r import session

    session()
    genes, samples = CONTROL_SIZE
    target_fit(genes, samples)
    times = [target_fit(genes, samples)["seconds"] for _ in range(CONTROL_FITS)]
    return {"per_fit": statistics.mean(times)}


def _local_cluster():
    import distributed

    from degbridge.sc import _dask

    cluster = distributed.LocalCluster(
        n_workers=WORKERS, threads_per_worker=1, processes=True, dashboard_address=None,
        scheduler_kwargs=_dask.QUIET_SCHEDULER,
    )  # fmt: skip
    client = distributed.Client(cluster)
    client.wait_for_workers(WORKERS)
    return cluster, client


def _fit_tasks(stream: list[dict]) -> list[dict]:
    """The fits' tasks of a task stream: worker, compute start and stop, index sent."""
    fits = []
    for task in stream:
        key = str(task["key"])
        if key.startswith("degbridge-fit-"):
            (span,) = [s for s in task["startstops"] if s["action"] == "compute"]
            fits.append({"worker": task["worker"], "start": span["start"], "stop": span["stop"],
                         "k": int(key.rsplit("-", 1)[1]), "nbytes": task.get("nbytes", 0)})  # fmt: skip
    return fits


def child_dask(path: Path, out: Path) -> dict:
    import anndata as ad
    import distributed

    from degbridge import tl
    from degbridge.sc import _dask

    adata = ad.read_h5ad(path)
    t0 = time.perf_counter()
    cluster, client = _local_cluster()
    res = {"cluster_start": time.perf_counter() - t0}
    t0 = time.perf_counter()
    _dask.start_r(client)  # what tl.de does first: the StartR plugin on every worker
    res["r_start"] = time.perf_counter() - t0
    status = client.run(_dask.worker_status)
    res["r_start_workers"] = [s["seconds"] for s in status.values()]
    res["workers_after_r"] = [m["rss"] for m in client.run(memory).values()]
    lazy = open_lazy(path)
    with cluster, client:
        for name, data in (("memory", adata), ("lazy", lazy)):
            client.run(reset_peak)
            with distributed.get_task_stream(client) as stream:
                res[name] = _timed_call(
                    lambda data=data: tl.de(data, backend="dask", client=client, **KW)
                )
            res[name]["workers"] = [m["hwm"] for m in client.run(memory).values()]
            fits = _fit_tasks(stream.data)
            res[name]["fit_compute"] = sum(f["stop"] - f["start"] for f in fits)
            res[name]["fits_per_worker"] = sorted(
                sum(f["worker"] == w for f in fits) for w in {f["worker"] for f in fits}
            )
            _save(data, out.with_suffix(f".{name}.pkl"))
    return res


def child_default(path: Path, out: Path) -> dict:
    import anndata as ad

    from degbridge import tl

    adata = ad.read_h5ad(path)
    res = {"memory": _timed_call(lambda: tl.de(adata, backend="dask", **KW))}
    _save(adata, out.with_suffix(".memory.pkl"))
    return res


def _cost_run(client, pids: list[int], path: Path, chunk: int) -> dict:
    """One call of ``tl.de(backend="dask")`` on the lazy ``.h5ad`` at ``path`` (blocks of
    ``chunk`` cells): the client's steps timed apart first, then the whole call with dask's
    task stream and the workers' RSS sampled."""
    import distributed
    import h5py

    from degbridge import tl
    from degbridge.sc import _celltype

    lazy = open_lazy(path, chunk)
    with h5py.File(path, "r") as f:
        values = int(f["X"]["data"].shape[0])
    one: dict = {"cells": lazy.n_obs, "genes": lazy.n_vars, "values": values, "chunk": chunk,
                 "blocks": int(lazy.X.numblocks[0])}  # fmt: skip
    # the client's steps, timed apart (tl.de does the same again below)
    arguments = {k: v for k, v in KW.items() if k != "progress"}
    t = time.perf_counter()
    plan = _celltype.make_plan(
        lazy, design=None, layer=None, method=None, min_cells=10, min_samples=2,
        adjust="per_cell_type", options={}, **arguments,
    )  # fmt: skip
    one["plan"] = time.perf_counter() - t
    t = time.perf_counter()
    pbs = plan.pseudobulks(lazy, plan.cell_types)
    one["specs"] = time.perf_counter() - t
    t = time.perf_counter()
    graph = pbs.lazy()
    one["graph"] = time.perf_counter() - t
    one["types"] = len(plan.cell_types)
    one["codes_bytes"] = int(pbs.codes.nbytes)
    one["groups"] = int(pbs.bounds[-1])
    one["sums_bytes"] = int(pbs.bounds[-1]) * lazy.n_vars * 8
    del plan, pbs, graph
    # the whole call
    reset_peak()
    client_before = memory()["rss"]
    with Sampler(pids) as sampler, distributed.get_task_stream(client) as stream:
        started = time.time()
        tl.de(lazy, backend="dask", client=client, **KW)
        stopped = time.time()
    one["total"] = stopped - started
    one["client_extra"] = memory()["hwm"] - client_before
    fits = _fit_tasks(stream.data)
    summing = []
    by_name: dict[str, list[float]] = {}
    for task in stream.data:
        if str(task["key"]).startswith("degbridge-fit-"):
            continue
        spans = [s for s in task["startstops"] if s["action"] == "compute"]
        summing += spans
        key = task["key"][0] if isinstance(task["key"], tuple) else str(task["key"])
        name = by_name.setdefault(key.split("-", 1)[0], [0, 0.0])
        name[0] += 1
        name[1] += sum(s["stop"] - s["start"] for s in spans)
    one["by_name"] = by_name
    one["tasks"] = len(summing)
    one["sum_compute"] = sum(s["stop"] - s["start"] for s in summing)
    sum_start = min(s["start"] for s in summing)
    sum_stop = max(s["stop"] for s in summing)
    one["sum_wall"] = sum_stop - sum_start
    one["before_work"] = sum_start - started
    fit_start = min(f["start"] for f in fits)
    fit_stop = max(f["stop"] for f in fits)
    one["gap"] = fit_start - sum_stop
    one["fit_wall"] = fit_stop - fit_start
    one["tail"] = stopped - fit_stop
    entry = lazy.uns.pop("degbridge")
    table = pd.DataFrame(entry["fits"])
    by_k = sorted(fits, key=lambda f: f["k"])
    one["fits"] = [
        {"samples": int(row.iloc[1]), "genes": int(row.iloc[2]),
         "seconds": f["stop"] - f["start"], "nbytes": int(f["nbytes"])}
        for (_, row), f in zip(table.iterrows(), by_k)
    ]  # fmt: skip
    one["result_rows"] = len(entry["results"])
    one["result_bytes"] = len(pickle.dumps(entry["results"], protocol=5))
    one["workers"] = [
        {"before": sampler.before(pid, started),
         "summing": sampler.peak(pid, sum_start, sum_stop),
         "fitting": sampler.peak(pid, fit_start, fit_stop)}
        for pid in pids
    ]  # fmt: skip
    del lazy
    _OPEN.pop().close()
    return one


def target_fit(genes: int, samples: int, seed: int = 0) -> dict:
    """Run on a worker: the fit ``tl.de`` makes of one cell type (limma-voom, the default) on a
    simulated pseudobulk of ``samples`` × ``genes`` (deep libraries: 2-4 M reads per
    sample); its time, peak RSS above the RSS before it and genes kept."""
    import anndata as ad

    from degbridge import run_limma

    rng = np.random.default_rng(seed)
    p = rng.lognormal(0.0, 0.7, genes)
    p /= p.sum()
    lib = rng.uniform(2e6, 4e6, samples)
    X = rng.poisson(lib[:, None] * p[None, :] * rng.lognormal(0.0, 0.15, (samples, genes)))
    obs = pd.DataFrame({"condition": np.where(np.arange(samples) < samples // 2, "ctrl", "stim")},
                       index=[f"s{i}" for i in range(samples)])  # fmt: skip
    pb = ad.AnnData(X=X.astype(np.float64), obs=obs,
                    var=pd.DataFrame(index=[f"g{j}" for j in range(genes)]))  # fmt: skip
    del X
    reset_peak()
    before = memory()["rss"]
    t0 = time.perf_counter()
    table = run_limma(pb, groups="condition", contrast="stim - ctrl", method=None)
    took = time.perf_counter() - t0
    return {"genes": genes, "samples": samples, "kept": len(table), "seconds": took,
            "extra": memory()["hwm"] - before, "before": before}  # fmt: skip


def child_cost(paths: list[Path], out: Path, quick: bool = False) -> dict:
    """Every size on one LocalCluster (:func:`_cost_run`), then the largest again in blocks
    of :data:`VARIANT_CHUNK` cells; the cluster's and R's start-up."""
    from degbridge.sc import _dask

    t0 = time.perf_counter()
    cluster, client = _local_cluster()
    res: dict = {"cluster_start": time.perf_counter() - t0}
    with cluster, client:
        t0 = time.perf_counter()
        _dask.start_r(client)
        res["r_start"] = time.perf_counter() - t0
        status = client.run(_dask.worker_status)
        res["r_start_workers"] = [s["seconds"] for s in status.values()]
        res["workers_after_r"] = [m["rss"] for m in client.run(memory).values()]
        pids = list(client.run(os.getpid).values())
        res["sizes"] = [_cost_run(client, pids, path, DEFAULT_CHUNK) for path in paths]
        res["variant"] = _cost_run(client, pids, paths[-1], VARIANT_CHUNK)
        genes, samples = TARGET_FIT_QUICK if quick else TARGET_FIT
        res["target_fit"] = client.submit(target_fit, genes, samples, pure=False).result()
    return res


CHILDREN = {
    "serial": child_serial,
    "dask": child_dask,
    "default": child_default,
    "cost": child_cost,
    "fits": child_fits,
}


def start_child(mode: str, paths: list[Path], out: Path, quick: bool = False):
    """Start ``mode``'s child in a fresh process (see :func:`finish_child`)."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", mode, "--out", str(out),
           *(["--quick"] if quick else []), *map(str, paths)]  # fmt: skip
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish_child(proc, mode: str) -> dict:
    """What a child started by :func:`start_child` measured."""
    stdout, stderr = proc.communicate()
    if proc.returncode != 0:
        sys.stderr.write(stderr[-5000:])
        msg = f"the {mode} run failed (exit {proc.returncode})"
        raise RuntimeError(msg)
    return json.loads(stdout.strip().splitlines()[-1])


def run_child(mode: str, paths: list[Path], out: Path, quick: bool = False) -> dict:
    """Run ``mode``'s child in a fresh process; what it measured."""
    return finish_child(start_child(mode, paths, out, quick), mode)


# ---------------------------------------------------------------------------------------
# 1. two workers against serial
# ---------------------------------------------------------------------------------------


def _same(got: dict, reference: dict) -> None:
    pd.testing.assert_frame_equal(got["results"], reference["results"], check_exact=True)
    pd.testing.assert_frame_equal(got["fits"], reference["fits"], check_exact=True)
    pd.testing.assert_frame_equal(got["samples"], reference["samples"], check_exact=True)


def _load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def speedup(quick: bool, rounds: int, tmp: Path) -> None:
    size = SPEEDUP_QUICK if quick else SPEEDUP
    path = tmp / "cells.h5ad"
    info = write_cells(size, path)
    print(
        f"\n1. 2 dask workers vs serial: {size.label()}, {size.reads:,} reads per cell; "
        f"{info['values']:,} stored values (CSR {mib(info['csr'])}); limma-voom per cell type; "
        f"{rounds} round(s), each run in a fresh process; load (1/5/15 min) {_load()}",
        flush=True,
    )
    modes = ("serial", "dask", "default")
    runs: dict[str, list[dict]] = {m: [] for m in modes}
    reference = None
    compared = 0
    control: dict[str, list[float]] = {"alone": [], "pair": []}
    for _ in range(rounds):
        for mode in modes:
            out = tmp / mode
            runs[mode].append(run_child(mode, [path], out))
            for kind in ("memory", "lazy"):
                file = out.with_suffix(f".{kind}.pkl")
                if file.exists():
                    got = pd.read_pickle(file)
                    file.unlink()
                    if reference is None:
                        reference = got
                    else:
                        _same(got, reference)
                        compared += 1
        # the control: the same kind of fits, no dask, one process alone and two at once
        control["alone"].append(run_child("fits", [path], tmp / "fits")["per_fit"])
        pair = [start_child("fits", [path], tmp / f"fits{i}") for i in range(2)]
        control["pair"] += [finish_child(proc, "fits")["per_fit"] for proc in pair]
        print(f"   round done, load {_load()}", flush=True)

    def med(mode, *keys):
        values = []
        for run in runs[mode]:
            value = run
            for key in keys:
                value = value[key]
            values.append(value)
        return statistics.median(values)

    serial_r = med("serial", "r_start")
    s_mem, s_lazy = med("serial", "memory", "time"), med("serial", "lazy", "time")
    start_cluster, start_r = med("dask", "cluster_start"), med("dask", "r_start")
    d_mem, d_lazy = med("dask", "memory", "time"), med("dask", "lazy", "time")
    default = med("default", "memory", "time")
    r_workers = statistics.median(x for run in runs["dask"] for x in run["r_start_workers"])
    print(f"   serial, R started ({serial_r:.1f} s apart)          in memory {s_mem:6.1f} s   "
          f"lazy .h5ad {s_lazy:6.1f} s (summed by dask threads)")  # fmt: skip
    print(f"   dask, 2 workers started (cluster {start_cluster:.1f} s + R on the workers "
          f"{start_r:.1f} s apart; R's start in each worker {r_workers:.1f} s)")  # fmt: skip
    print(f"                                            in memory {d_mem:6.1f} s   "
          f"lazy .h5ad {d_lazy:6.1f} s (summed on the workers)")  # fmt: skip
    per_round = [r["memory"]["time"] / d["memory"]["time"]
                 for r, d in zip(runs["serial"], runs["dask"])]  # fmt: skip
    print(f"   speed-up, both started: in memory {s_mem / d_mem:4.2f}× (rounds "
          f"{', '.join(f'{x:.2f}' for x in per_round)}), lazy {s_lazy / d_lazy:4.2f}× "
          f"(target ≥ 1.6×)")  # fmt: skip
    cold_serial = serial_r + s_mem
    cold_dask = start_cluster + start_r + d_mem
    print(f"   speed-up with start-up: serial R start + call {cold_serial:.1f} s ÷ dask cluster "
          f"+ R + call {cold_dask:.1f} s = {cold_serial / cold_dask:4.2f}×")  # fmt: skip
    print(f"   the default tl.de(backend='dask') (client=None: starts a LocalCluster of 2 "
          f"workers and their R, fits, closes it): {default:.1f} s, in memory; "
          f"speed-up {cold_serial / default:4.2f}× against serial with R's start")  # fmt: skip
    for kind, s_call, d_call in (("memory", s_mem, d_mem), ("lazy", s_lazy, d_lazy)):
        s_fits, d_fits = med("serial", kind, "fit_compute"), med("dask", kind, "fit_compute")
        ideal = s_call - s_fits / 2
        per_worker = runs["dask"][-1][kind]["fits_per_worker"]
        print(f"   {kind:6s}: serial = fits {s_fits:.1f} s + the rest (plan, sums, tables) "
              f"{s_call - s_fits:.1f} s; the rest + half the fits = {ideal:.1f} s, a speed-up "
              f"of at most {s_call / ideal:4.2f}× on 2 workers; on the workers the fits took "
              f"{d_fits:.1f} s of compute ({d_fits / s_fits:4.2f}× serial; fits per worker "
              f"{per_worker}), busy {d_fits / (2 * d_call):.0%} of the call")  # fmt: skip
    alone, pair = statistics.median(control["alone"]), statistics.median(control["pair"])
    print(f"   control, no dask: a fit of {CONTROL_SIZE[0]:,} genes × {CONTROL_SIZE[1]} samples "
          f"takes {alone:.2f} s in one process alone, {pair:.2f} s in each of two processes at "
          f"once ({pair / alone:4.2f}×): two processes on this machine do "
          f"{2 * alone / pair:4.2f}× the work of one")  # fmt: skip
    print("   memory (peak RSS during the call; VmHWM reset before it):")
    for kind in ("memory", "lazy"):
        s_peak, s_before = med("serial", kind, "peak"), med("serial", kind, "before")
        workers = [statistics.median(run[kind]["workers"][i] for run in runs["dask"])
                   for i in range(WORKERS)]  # fmt: skip
        after_r = [statistics.median(run["workers_after_r"][i] for run in runs["dask"])
                   for i in range(WORKERS)]  # fmt: skip
        c_peak, c_before = med("dask", kind, "peak"), med("dask", kind, "before")
        print(f"     {kind:6s}: serial process {mib(s_peak)} (before {mib(s_before)}); each "
              f"worker {', '.join(mib(w) for w in workers)} (after R's start "
              f"{', '.join(mib(w) for w in after_r)}); client process with the scheduler "
              f"{mib(c_peak)} (before {mib(c_before)}); worker peak ÷ serial peak "
              f"{max(workers) / s_peak:4.2f}×")  # fmt: skip
    print(
        f"   results tables identical to the serial in-memory run (check_exact): yes, "
        f"{compared} runs compared"
    )


# ---------------------------------------------------------------------------------------
# 2. the cost model
# ---------------------------------------------------------------------------------------


def _slope(x, y) -> float:
    """Least-squares slope of ``y = s × x`` (through the origin)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    return float((x * y).sum() / (x * x).sum())


def _fit(columns, y) -> np.ndarray:
    """Least-squares coefficients of ``y`` on ``columns``."""
    return np.linalg.lstsq(np.column_stack(columns), np.asarray(y, float), rcond=None)[0]


def _tasks(blocks: int, types: int) -> int:
    """The summing graph's tasks: per block, its read, its sums, its check and one piece per
    cell type (each block holds every cell type); per cell type a tree of additions
    (8 at a time) and the dense sums."""
    tree = 0
    level = blocks
    while level > 8:
        level = math.ceil(level / 8)
        tree += level
    return blocks * (3 + types) + types * (tree + 1)


def _print_run(label: str, row: dict) -> None:
    fits = row["fits"]
    w = row["workers"]
    print(
        f"   {label}: {row['values']:,} stored values, {row['blocks']:,} blocks of "
        f"{row['chunk']:,} cells, {row['tasks']:,} summing tasks ({_tasks(row['blocks'], row['types']):,} "
        f"by the formula)\n"
        f"     total {row['total']:.1f} s = client before the first task "
        f"{row['before_work']:.1f} s (timed apart: plan {row['plan']:.2f} s, positions and "
        f"samples {row['specs']:.2f} s, graph {row['graph']:.2f} s) + summing "
        f"{row['sum_wall']:.1f} s (CPU {row['sum_compute']:.1f} s) + fits "
        f"{row['fit_wall']:.1f} s (starting {row['gap']:+.2f} s after the summing; "
        f"{len(fits)} fits of {statistics.mean(f['seconds'] for f in fits):.2f} s, "
        f"{statistics.mean(f['genes'] for f in fits):,.0f} genes kept on average) + after "
        f"the fits {row['tail']:.2f} s\n"
        f"     worker RSS before {', '.join(mib(x['before']) for x in w)}; peak summing "
        f"{', '.join(mib(x['summing']) for x in w)}; fitting "
        f"{', '.join(mib(x['fitting']) for x in w)}; client peak +{mib(row['client_extra'])}\n"
        f"     bytes: codes into the graph {row['codes_bytes'] / 2**20:.1f} MiB, sums "
        f"{mib(row['sums_bytes'])} (workers → client, then into the fit tasks), results "
        f"{mib(row['result_bytes'])} ({row['result_rows']:,} rows)",
        flush=True,
    )


def cost_model(quick: bool, tmp: Path) -> None:
    sizes = COST_QUICK if quick else COST
    paths = []
    for i, size in enumerate(sizes):
        paths.append(tmp / f"cost{i}.h5ad")
        write_cells(size, paths[-1], seed=i + 1)
    print(
        "\n2. cost model: the lazy .h5ad on 2 dask workers (one LocalCluster, one call per "
        "size, dask's task stream, worker RSS sampled every 0.05 s); load (1/5/15 min) "
        f"{_load()}",
        flush=True,
    )
    res = run_child("cost", paths, tmp / "cost", quick=quick)
    for path in paths:
        path.unlink()
    print(f"   load after {_load()}")
    rows = res["sizes"]
    for size, row in zip(sizes, rows):
        _print_run(size.label(), row)
    _print_run(f"variant: the last size in blocks of {VARIANT_CHUNK:,} cells", res["variant"])

    # the terms: least squares over the three sizes (and the variant where blocks matter)
    variant = res["variant"]
    runs = [*rows, variant]
    cells = [r["cells"] for r in rows]
    types = [r["types"] for r in rows]
    tasks = [r["tasks"] for r in runs]
    plan_per_cell = _slope(cells, [r["plan"] for r in rows])
    specs = _fit([cells, np.multiply(cells, types)], [r["specs"] for r in rows])
    graph_per_task = _slope(tasks, [r["graph"] for r in runs])
    submit_per_task = _slope(
        tasks, [r["before_work"] - r["plan"] - r["specs"] - r["graph"] for r in runs]
    )
    cpu_value, cpu_task = _fit([[r["values"] for r in runs], tasks],
                               [r["sum_compute"] for r in runs])  # fmt: skip
    wait_per_task = rows[-1]["sum_wall"] / rows[-1]["tasks"]
    fits = [f for r in rows for f in r["fits"]]
    f0, f1 = _fit(
        [np.ones(len(fits)), [f["genes"] * f["samples"] for f in fits]],
        [f["seconds"] for f in fits],
    )
    tail_per_row = _slope([r["result_rows"] for r in rows], [r["tail"] for r in rows])
    row_bytes = _slope([r["result_rows"] for r in rows], [r["result_bytes"] for r in rows])
    r_base = statistics.median(res["workers_after_r"])
    tf = res["target_fit"]
    block_bytes = [r["values"] / r["blocks"] * 8 for r in runs]
    sum_mem = _fit(
        [np.ones(len(runs)), block_bytes],
        [max(x["summing"] - x["before"] for x in r["workers"]) for r in runs],
    )
    client_per_cell = _slope(cells, [r["client_extra"] for r in rows])
    r_start = statistics.median(res["r_start_workers"])

    def summing(values, n_tasks, n):
        return max((cpu_value * values + cpu_task * n_tasks) / n, wait_per_task * n_tasks)

    print(
        "   terms (least squares over the runs above):\n"
        f"     client: plan {plan_per_cell * 1e9:.0f} ns per cell; positions and samples "
        f"{specs[0] * 1e9:.0f} ns per cell + {specs[1] * 1e9:.0f} ns per cell × cell type; "
        f"graph {graph_per_task * 1e6:.0f} µs and its submission {submit_per_task * 1e6:.0f} "
        f"µs per task\n"
        f"     summing, on the workers: CPU {cpu_value * 1e9:.1f} ns per stored value + "
        f"{cpu_task * 1e3:.2f} ms per task (reading the .h5ad included); wall at least "
        f"{wait_per_task * 1e3:.2f} ms per task (the largest run in blocks of "
        f"{DEFAULT_CHUNK:,} cells: the workers waited for tasks, the scheduler sharing their 2 "
        f"cores); wall = max(CPU ÷ workers, tasks × that)"
    )
    for label, r in (*((f"{r['cells']:,} cells", r) for r in rows), ("variant", variant)):
        top = sorted(r["by_name"].items(), key=lambda kv: -kv[1][1])[:4]
        print(f"       {label:>15s}: predicted {summing(r['values'], r['tasks'], WORKERS):5.1f} "
              f"s, measured {r['sum_wall']:5.1f} s; CPU by task: "
              + ", ".join(f"{name} {n:,}× {t:.1f} s" for name, (n, t) in top))  # fmt: skip
    print(
        f"     fit: {f0:.2f} s + {f1 * 1e9:.2f} ns × genes kept × samples; R start "
        f"{r_start:.1f} s per worker (in parallel); cluster start {res['cluster_start']:.1f} "
        f"s; after the fits {tail_per_row * 1e6:.1f} µs per result row\n"
        f"     one fit of {tf['genes']:,} genes × {tf['samples']} samples measured on a worker: "
        f"{tf['seconds']:.1f} s (the line above predicts "
        f"{f0 + f1 * tf['kept'] * tf['samples']:.1f} s), {tf['kept']:,} genes kept, RSS "
        f"+{mib(tf['extra'])} (above {mib(tf['before'])})\n"
        f"     memory: worker {mib(r_base)} with R started; summing +{mib(sum_mem[0])} + "
        f"{sum_mem[1]:.1f} × a block's CSR bytes; client +{client_per_cell:.0f} B per cell; "
        f"results {row_bytes:.0f} B per row"
    )

    # the extrapolation
    t = TARGET
    values = t["cells"] * t["values_per_cell"]
    samples_genes = t["samples"] * t["genes"]
    sums = t["types"] * samples_genes * 8
    codes = t["cells"] * (2 if t["types"] * t["samples"] < 2**15 else 4)
    # the measured fit, scaled linearly in genes × samples when it was smaller (--quick)
    scale = t["genes"] * t["samples"] / (tf["genes"] * tf["samples"])
    kept = round(tf["kept"] * t["genes"] / tf["genes"])
    results = t["types"] * kept * row_bytes
    moved = codes + 2 * sums + results
    # a negative coefficient (the noise of a small term) counts as nothing
    client_obs = (plan_per_cell + max(0.0, specs[0])) * t["cells"]
    client_obs += max(0.0, specs[1]) * t["cells"] * t["types"]
    one_fit = tf["seconds"] * scale
    # a worker's peak while fitting: its RSS before the measured fit (R and what earlier
    # work left) plus the fit's own growth, scaled
    fit_peak = tf["before"] + tf["extra"] * scale
    tail = tail_per_row * t["types"] * kept
    measured = "" if scale == 1 else f", its time and memory scaled {scale:g}× (--quick)"
    print(
        f"   extrapolated to {t['cells']:,} cells × {t['genes']:,} genes × {t['types']} cell "
        f"types on N workers, assuming {t['samples']} samples (every cell type in every "
        f"sample), {t['values_per_cell']:,} stored values per cell ({values:.1e}), "
        f"{kept:,} genes kept per fit (the fit above{measured}), {t['bandwidth'] / 1e9:g} GB/s "
        "between client and "
        f"workers, the cluster up; per-task costs of this 2-core machine:\n"
        f"     client, serial: plan, positions and samples {client_obs:.0f} s; one fit "
        f"{one_fit:.1f} s; bytes moved {gib(moved)} (codes into the graph {mib(codes)}, sums "
        f"{gib(sums)} to the client and back into the fits, results {mib(results)}) = "
        f"{moved / t['bandwidth']:.0f} s; after the fits {tail:.0f} s; R start {r_start:.1f} "
        f"s; client memory +{gib(client_per_cell * t['cells'])}"
    )
    for chunk in (DEFAULT_CHUNK, VARIANT_CHUNK):
        blocks = math.ceil(t["cells"] / chunk)
        n_tasks = _tasks(blocks, t["types"])
        block = chunk * t["values_per_cell"] * 8
        client = client_obs + (graph_per_task + submit_per_task) * n_tasks
        print(
            f"     blocks of {chunk:,} cells: {blocks:,} blocks, {n_tasks:,} summing tasks "
            f"(client: graph and submission {(graph_per_task + submit_per_task) * n_tasks:.0f} "
            f"s; wall floor {wait_per_task * n_tasks:.0f} s); memory per worker ≤ "
            f"max(fitting {mib(fit_peak)}, summing: R {mib(r_base)} + "
            f"{mib(sum_mem[0] + sum_mem[1] * block)}) + the sums held ÷ N (all computed before "
            f"the first fit, fetched one by one as the fits are sent)\n"
            "          N  summing   fits   total   memory/worker   largest part"
        )
        for n in (1, 2, 8, 32, 64, 128):
            parts = {
                "client": client,
                "summing": summing(values, n_tasks, n),
                "fits": math.ceil(t["types"] / n) * one_fit,
                "transfer": moved / t["bandwidth"],
                "R start": r_start,
                "after the fits": tail,
            }
            mem = max(fit_peak, r_base + sum_mem[0] + sum_mem[1] * block) + sums / n
            print(
                f"       {n:4d} {parts['summing'] / 60:5.1f} min {parts['fits'] / 60:4.1f} min "
                f"{sum(parts.values()) / 60:5.1f} min  {gib(mem):>13s}   "
                f"{max(parts, key=parts.get)}"
            )


# ---------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, one round")
    parser.add_argument("--rounds", type=int, default=None, help="rounds of part 1 (3)")
    parser.add_argument("--skip-speedup", action="store_true")
    parser.add_argument("--skip-cost", action="store_true")
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("paths", nargs="*", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        from degbridge import DataWarning

        # a skipped cell type (its fit failed) stops the run: every cell type must be fitted
        warnings.simplefilter("ignore")
        warnings.simplefilter("error", DataWarning)
        import logging

        logging.getLogger("distributed").setLevel(logging.ERROR)
        if args.child == "cost":
            result = child_cost(args.paths, args.out, args.quick)
        else:
            result = CHILDREN[args.child](args.paths[0], args.out)
        print(json.dumps(result))
        return
    print(machine())
    rounds = args.rounds or (1 if args.quick else 3)
    with tempfile.TemporaryDirectory(prefix="bench-dask-") as tmp:
        if not args.skip_speedup:
            speedup(args.quick, rounds, Path(tmp))
        if not args.skip_cost:
            cost_model(args.quick, Path(tmp))


if __name__ == "__main__":
    main()
