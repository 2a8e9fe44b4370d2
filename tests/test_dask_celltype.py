"""tl.de(celltype_key=..., backend="dask"): each cell type fitted on a dask worker with its own R.

Every stored entry is compared with the serial run's (exactly: the same fits of the same
pseudobulks); the cells are tests/test_tl_celltype.py's simulation from the real airway
libraries (five cell types, two of them skipped for too few samples). Failures are real: a
worker process killed by SIGKILL in the middle of a fit (once, or every time), an R error of
one cell type's data (a pseudobulk sample of empty cells), a worker whose R cannot start
(``R_HOME`` pointing to no R), a scheduler address where nothing listens.
"""

from __future__ import annotations

import functools
import logging
import os
import signal
import sys
from pathlib import Path

import anndata as ad
import h5py
import numpy as np
import pandas as pd
import pytest

distributed = pytest.importorskip("distributed")
import cloudpickle  # noqa: E402
import dask  # noqa: E402
from anndata.experimental import read_elem_lazy  # noqa: E402
from anndata.io import read_elem  # noqa: E402

from degbridge import DataWarning, RNotAvailableError, RWarning, tl  # noqa: E402
from degbridge.de.limma import run_limma  # noqa: E402
from degbridge.sc import _celltype, _dask  # noqa: E402
from degbridge.sc._blockwise import is_dask_array  # noqa: E402

from .test_tl_celltype import simulate  # noqa: E402

pytestmark = [pytest.mark.r, pytest.mark.slow]

# the runs below that kill their worker are defined here: send them by value, not by name
cloudpickle.register_pickle_by_value(sys.modules[__name__])

KW = {"groupby": "condition", "sample_key": "donor", "celltype_key": "cell_type",
      "contrast": "stim - ctrl", "progress": False}  # fmt: skip
PARTS = ("skipped", "samples", "n_samples", "fits")


@pytest.fixture(scope="module")
def cells(airway):
    adata, _ = simulate(airway, n_genes=1500)
    return adata


@pytest.fixture(scope="module")
def serial(cells):
    adata = cells.copy()
    with pytest.warns(DataWarning, match=r"2 of 5 cell types skipped"):
        tl.de(adata, **KW)
    return adata.uns["degbridge"]


@pytest.fixture(scope="module")
def lazy(cells, tmp_path_factory):
    """The cells written to .h5ad and read back with X a dask array of 7 blocks."""
    path = tmp_path_factory.mktemp("lazy") / "cells.h5ad"
    cells.write_h5ad(path)
    f = h5py.File(path, "r")
    out = ad.AnnData(X=read_elem_lazy(f["X"], chunks=(180, -1)), obs=read_elem(f["obs"]),
                     var=read_elem(f["var"]))  # fmt: skip
    assert out.X.numblocks[0] == 7
    yield out
    f.close()


@pytest.fixture(scope="module")
def client():
    logging.getLogger("distributed").setLevel(logging.CRITICAL)
    settings = {
        # a fit whose worker dies twice is given up (the default is 3: slower to test)
        "distributed.scheduler.allowed-failures": 1,
        # LocalCluster closes a worker's nanny for good when the worker was gone (between
        # two of its restarts) this long after an earlier death: these tests kill workers
        # within seconds of each other, which would leave a one-worker cluster
        "distributed.deploy.lost-worker-timeout": "10 minutes",
    }
    with dask.config.set(settings):
        cluster = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
            scheduler_kwargs=_dask.QUIET_SCHEDULER,
        )  # fmt: skip
        with cluster, distributed.Client(cluster) as c:
            yield c


def _same_entry(ours, theirs):
    """The stored entries are equal: same keys, tables equal to the last bit."""
    assert set(ours) == set(theirs)
    pd.testing.assert_frame_equal(ours["results"], theirs["results"], check_exact=True)
    for part in PARTS:
        pd.testing.assert_frame_equal(pd.DataFrame(ours[part]), pd.DataFrame(theirs[part]))
    for key in set(ours) - {"results", *PARTS}:
        assert ours[key] == theirs[key] or list(ours[key]) == list(theirs[key]), key


def _fit(adata, **kw):
    """The entry ``tl.de`` stores (written into a copy of an AnnData in memory, into a lazy
    one itself and taken out again)."""
    if not is_dask_array(adata.X):
        adata = adata.copy()
    with pytest.warns(DataWarning, match=r"2 of 5 cell types skipped"):
        tl.de(adata, **{**KW, **kw})
    return adata.uns.pop("degbridge")


def test_on_workers_equals_serial_in_memory_and_lazy(cells, lazy, serial, client):
    before = client.run(_dask.worker_status)
    _same_entry(_fit(cells, backend="dask", client=client), serial)
    first = client.run(_dask.worker_status)
    _same_entry(_fit(lazy, backend="dask", client=client), serial)
    # serial with a running client: dask sums a lazy X on its workers, the fits run here
    _same_entry(_fit(lazy), serial)
    after = client.run(_dask.worker_status)
    pids = client.run(os.getpid)
    # R was started once per worker process, by the plugin in the worker's main thread, and
    # not again by the fits: 3 cell types per run, fitted on the workers
    for addr, status in after.items():
        assert status["problem"] is None and status["thread"] == "MainThread"
        assert status["pid"] == pids[addr]
        assert {**status, "fits": 0} == {**first[addr], "fits": 0}

    def fits(status):
        return sum(s.get("fits", 0) for s in status.values())

    assert fits(first) - fits(before) == 3
    assert fits(after) - fits(first) == 3


def test_progress_bars_follow_the_tasks(lazy, client, capsys, monkeypatch):
    import tqdm.auto

    steps = []

    class Recorded(tqdm.auto.tqdm):
        def update(self, n=1):
            if not self.disable:
                steps.append((self.desc, self.n + n))
            return super().update(n)

    monkeypatch.setattr(tqdm.auto, "tqdm", Recorded)
    two = lazy[lazy.obs["cell_type"].isin(["T", "B"]).to_numpy()]
    blocks = two.X.numblocks[0]
    assert blocks > 2
    tl.de(two, backend="dask", client=client, copy=True, **{**KW, "progress": True})
    assert [n for desc, n in steps if desc == "summing cells"] == list(range(1, blocks + 1))
    assert [n for desc, n in steps if desc == "cell types"] == [1, 2]  # one step per fit
    err = capsys.readouterr().err
    assert "summing cells" in err and "cell types" in err
    tl.de(two, backend="dask", client=client, copy=True, **KW)
    assert capsys.readouterr().err == ""


def _dies_fitting(pb, *, victim: str, marker: str, once: bool, **kwargs):
    """run_limma, but the worker fitting ``victim`` is killed (SIGKILL) in the middle of the
    fit: the first time only (``once``, a marker file remembers), or every time."""
    path = Path(marker)
    if set(pb.obs["cell_type"]) == {victim} and not (once and path.exists()):
        with path.open("a") as handle:
            handle.write(f"{os.getpid()}\n")
        os.kill(os.getpid(), signal.SIGKILL)
    return run_limma(pb, **kwargs)


def _per_cell_type(adata, run, client):
    arguments = {k: v for k, v in KW.items() if k != "progress"}
    kw = {"design": None, "layer": None, "method": None, "min_cells": 10, "min_samples": 2,
          "adjust": "per_cell_type", "options": {}, **arguments}  # fmt: skip
    with pytest.warns(DataWarning, match=r"cell types skipped"):
        return _dask.per_cell_type(adata, run=run, progress=False, client=client, **kw)


def test_a_worker_killed_mid_run_has_its_cell_type_rerun(cells, lazy, serial, client, tmp_path):
    client.wait_for_workers(2, timeout=60)
    pids = set(client.run(os.getpid).values())
    marker = tmp_path / "killed"
    run = functools.partial(_dies_fitting, victim="T", marker=str(marker), once=True)
    for adata in (cells, lazy):
        marker.unlink(missing_ok=True)
        entry = _per_cell_type(adata, run, client)
        (killed,) = (int(p) for p in marker.read_text().split())  # killed once
        assert killed in pids
        _same_entry(entry, serial)  # nothing lost, nothing twice
        assert list(entry["cell_types"]) == ["B", "Mono", "T"]
        client.wait_for_workers(2, timeout=60)  # the nanny restarted it, with its own R
        pids = set(client.run(os.getpid).values())
        assert killed not in pids
        assert all(s["problem"] is None for s in client.run(_dask.worker_status).values())


def test_a_fit_that_keeps_killing_its_workers_is_skipped(cells, serial, client, tmp_path):
    client.wait_for_workers(2, timeout=60)
    marker = tmp_path / "killed"
    run = functools.partial(_dies_fitting, victim="Mono", marker=str(marker), once=False)
    entry = _per_cell_type(cells, run, client)
    assert len(marker.read_text().split()) == 2  # allowed-failures=1: two deaths
    skipped = pd.DataFrame(entry["skipped"]).set_index("cell_type")["reason"]
    assert skipped["Mono"] == (
        "fit failed: the dask workers fitting it died 2 times (a crash in R, or out of "
        "memory; see the workers' logs)"
    )
    assert list(entry["cell_types"]) == ["B", "T"]
    expected = serial["results"][serial["results"]["cell_type"] != "Mono"]
    pd.testing.assert_frame_equal(
        entry["results"].reset_index(drop=True), expected.reset_index(drop=True),
        check_exact=True,
    )  # fmt: skip
    client.wait_for_workers(2, timeout=60)


def test_an_r_error_in_one_cell_type_skips_it_with_r_message(cells, client):
    """DESeq2 on a cell type where every gene has a zero in some pseudobulk sample: its size
    factors (geometric means) cannot be computed, an error raised in R on the worker."""
    adata = cells[cells.obs["cell_type"].isin(["T", "B"]).to_numpy()].copy()
    b = (adata.obs["cell_type"] == "B").to_numpy()
    donor = adata.obs["donor"].to_numpy()
    X = adata.X.tolil()
    for row in np.flatnonzero(b & (donor == "SRR1039508")):
        X[row, 1:] = 0  # only gene 0 left in this sample
    for row in np.flatnonzero(b & (donor == "SRR1039509")):
        X[row, 0] = 0  # and gene 0 zero in this one
    adata.X = X.tocsr()
    serial = adata.copy()
    kw = {**KW, "method": "deseq2"}
    message = (
        r"'B': fit failed: R error in degbridge_deseq2_fit: every gene contains at least one zero"
    )
    with pytest.warns(DataWarning, match=message):
        tl.de(serial, **kw)
    with pytest.warns(DataWarning, match=message):
        tl.de(adata, backend="dask", client=client, **kw)
    _same_entry(adata.uns["degbridge"], serial.uns["degbridge"])
    assert list(adata.uns["degbridge"]["cell_types"]) == ["T"]


def test_count_error_found_by_the_workers_is_the_in_memory_error(cells, lazy, client, tmp_path):
    bad = cells.copy()
    X = bad.X.tolil()
    X[1100, 77] = 0.5
    X[40, 3] = -2
    bad.X = X.tocsr()
    with pytest.raises(ValueError) as expected:
        tl.de(bad.copy(), **KW)
    path = tmp_path / "bad.h5ad"
    bad.write_h5ad(path)
    with h5py.File(path, "r") as f:
        lazy_bad = ad.AnnData(X=read_elem_lazy(f["X"], chunks=(180, -1)), obs=lazy.obs,
                              var=lazy.var)  # fmt: skip
        with pytest.raises(ValueError) as ours:
            tl.de(lazy_bad, backend="dask", client=client, **KW)
    assert str(ours.value) == str(expected.value)
    assert "cell 'cell40', gene" in str(ours.value)
    assert "degbridge" not in lazy_bad.uns


def test_a_worker_without_r_gets_no_fit(cells, serial):
    """One worker whose R cannot start (R_HOME pointing to no R): one warning naming it,
    every cell type fitted on the other; with no worker able to start R, one error."""
    no_r = {"R_HOME": "/nonexistent/R"}
    options = {"nthreads": 1, "dashboard": False}
    spec = {
        "with-r": {"cls": distributed.Nanny, "options": options},
        "without-r": {"cls": distributed.Nanny, "options": {**options, "env": no_r}},
    }
    scheduler = {"cls": distributed.Scheduler,
                 "options": {"dashboard": False, **_dask.QUIET_SCHEDULER}}  # fmt: skip
    with (
        distributed.SpecCluster(scheduler=scheduler, workers=spec) as cluster,
        distributed.Client(cluster) as c,
    ):
        c.wait_for_workers(2, timeout=60)
        adata = cells.copy()
        with (
            pytest.warns(RWarning, match=r"R cannot start on 1 of the 2 dask workers \(tcp://.*: R_HOME='/nonexistent/R' is not an R installation"),
            pytest.warns(DataWarning, match=r"2 of 5 cell types skipped"),
        ):  # fmt: skip
            tl.de(adata, backend="dask", client=c, **KW)
        _same_entry(adata.uns["degbridge"], serial)
        status = c.run(_dask.worker_status)
        assert sorted(s["fits"] for s in status.values()) == [0, 3]
        assert {s["problem"] is None for s in status.values() if s["fits"]} == {True}
    with (
        distributed.LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None,
                                 scheduler_kwargs=_dask.QUIET_SCHEDULER, env=no_r) as cluster,
        distributed.Client(cluster) as c,
    ):  # fmt: skip
        adata = cells.copy()
        with pytest.raises(RNotAvailableError, match=r"R cannot start on the dask workers, so nothing can be fitted: 1 of the 1 dask workers \(tcp://.*R_HOME="):  # fmt: skip
            tl.de(adata, backend="dask", client=c, **KW)
        assert "degbridge" not in adata.uns


def test_an_unreachable_scheduler_is_one_clear_error(cells, monkeypatch):
    monkeypatch.setattr(_dask, "CONNECT_TIMEOUT", 1.0)
    adata = cells.copy()
    with pytest.raises(ConnectionError, match=r"cannot reach the dask scheduler at 'tcp://127.0.0.1:1' within 1 s .*is it running"):  # fmt: skip
        tl.de(adata, backend="dask", client="tcp://127.0.0.1:1", **KW)
    assert "degbridge" not in adata.uns
    # a bad argument is found before any connection is tried
    with pytest.raises(ValueError, match=r"min_samples must be a positive integer"):
        tl.de(adata, backend="dask", client="tcp://127.0.0.1:1", **{**KW, "min_samples": 0})


def test_an_unaligned_array_crosses_into_r():
    """An array unpickled on a worker may sit at an odd address; rpy2 takes only aligned
    buffers, so such a matrix is copied (its values and layout unchanged)."""
    from degbridge import r

    raw = np.frombuffer(bytearray(8 * 6 + 1), dtype="f8", offset=1, count=6)
    a = raw.reshape(3, 2, order="F")
    a[:] = [[1.5, -2.0], [np.nan, 4.25], [5.0, 6.0]]
    assert not a.flags.aligned and a.flags.f_contiguous
    vec = r.float_matrix(a)
    assert list(vec.do_slot("dim")) == [3, 2]
    values = np.asarray(vec)
    np.testing.assert_array_equal(values.reshape(3, 2, order="F"), a)


def test_backend_arguments(cells):
    with pytest.raises(ValueError, match=r"backend must be one of \['serial', 'dask'\], not 'spark'"):  # fmt: skip
        tl.de(cells, backend="spark", **KW)
    with pytest.raises(ValueError, match=r"client= is the dask cluster of backend='dask'"):
        tl.de(cells, client="tcp://127.0.0.1:1", **KW)
    one = {k: v for k, v in KW.items() if k != "celltype_key"}
    with pytest.raises(ValueError, match=r"backend='dask' fits each cell type on a dask worker: it needs celltype_key="):  # fmt: skip
        tl.de(cells, backend="dask", **one)
    with pytest.raises(TypeError, match=r"client must be a dask.distributed Client or a scheduler address, not int"):  # fmt: skip
        tl.de(cells, backend="dask", client=8786, **KW)


def test_the_serial_and_dask_paths_share_their_steps():
    """The dask path is the serial path's plan, fit and assembly, not a copy of them."""
    assert _dask.make_plan is _celltype.make_plan
    assert _dask.fit_pseudobulk is _celltype.fit_pseudobulk
    assert _dask.assemble is _celltype.assemble
