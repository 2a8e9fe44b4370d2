"""pseudobulk of an AnnData whose matrix is a dask array (anndata's lazy readers of .h5ad and
.zarr): summed and checked block by block, one pass.

Every result is compared with the in-memory path (np.array_equal, equal obs and uns) and with a
closed-form sum (a pandas groupby of the dense matrix); count errors must be the in-memory
messages word for word (the first offending cell and gene in the matrix's stored order); on a
distributed cluster the blocks must be summed by the workers (task stream).
"""

from __future__ import annotations

import logging
import warnings

import anndata as ad
import h5py
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

pytest.importorskip("dask")
import dask
import dask.array as da
from anndata.experimental import read_elem_lazy
from anndata.io import read_elem

from degbridge import pseudobulk
from degbridge.sc._blockwise import combine_problems, is_dask_array, lazy_group_sums
from degbridge.sc.pseudobulk import Pseudobulks

from .test_pseudobulk_backed import _equals_closed_form

FORMATS = ["csr", "csc", "dense"]


def _cells(n_cells=3000, n_genes=90, density=0.15, dtype=np.float32, seed=0, fmt="csr"):
    rng = np.random.default_rng(seed)
    X = sp.random(
        n_cells, n_genes, density=density, format="csr", random_state=seed,
        data_rvs=lambda k: rng.integers(1, 60, size=k),
    ).astype(dtype)  # fmt: skip
    X = X.toarray() if fmt == "dense" else X.asformat(fmt)
    obs = pd.DataFrame(
        {
            "donor": rng.choice([f"d{i}" for i in range(6)], n_cells),
            "condition": rng.choice(["ctrl", "stim"], n_cells),
            "cell_type": pd.Categorical(rng.choice(["B", "T", "NK"], n_cells, p=[0.5, 0.45, 0.05])),
            "batch": "b1",
        },
        index=[f"c{i}" for i in range(n_cells)],
    )
    return ad.AnnData(X=X, obs=obs, var=pd.DataFrame(index=[f"G{j}" for j in range(n_genes)]))


def _chunks(fmt, n_cells, n_genes):
    # uneven chunks; CSC is chunked along genes (the only way anndata reads it lazily)
    return (-1, 17) if fmt == "csc" else (701, -1)


def _lazy(adata, path, fmt, layer=None):
    """``adata`` written to ``path`` (.h5ad or .zarr) and read back with X (or the layer) a
    dask array, obs and var in memory."""
    chunks = _chunks(fmt, *adata.shape)
    if path.suffix == ".zarr":
        import zarr

        with (
            ad.settings.override(zarr_write_format=3, auto_shard_zarr_v3=False),
            warnings.catch_warnings(),
        ):
            # zarr's note on anndata's consolidated metadata, not ours
            warnings.filterwarnings("ignore", "Consolidated metadata", UserWarning)
            adata.write_zarr(path)
        group = zarr.open_group(path, mode="r")
    else:
        adata.write_h5ad(path)
        group = h5py.File(path, "r")
    node = group["X"] if layer is None else group["layers"][layer]
    matrix = read_elem_lazy(node, chunks=chunks)
    obs, var = read_elem(group["obs"]), read_elem(group["var"])
    if layer is None:
        return ad.AnnData(X=matrix, obs=obs, var=var)
    return ad.AnnData(obs=obs, var=var, layers={layer: matrix})


def _same(pb, mem):
    assert np.array_equal(pb.X, mem.X)
    assert list(pb.obs_names) == list(mem.obs_names)
    pd.testing.assert_frame_equal(pb.obs, mem.obs)
    assert pb.uns["pseudobulk"] == mem.uns["pseudobulk"]
    assert list(pb.var_names) == list(mem.var_names)


@pytest.mark.parametrize("suffix", [".h5ad", ".zarr"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_lazy_file_equals_in_memory_and_closed_form(tmp_path, suffix, fmt):
    cells = _cells(fmt=fmt)
    lazy = _lazy(cells, tmp_path / f"cells{suffix}", fmt)
    assert is_dask_array(lazy.X)
    assert max(lazy.X.numblocks) > 3  # several blocks, the last one short
    for groupby in (None, "cell_type"):
        mem = pseudobulk(cells, "donor", groupby=groupby, min_cells=30)
        pb = pseudobulk(lazy, "donor", groupby=groupby, min_cells=30)
        _same(pb, mem)
        _equals_closed_form(pb, cells, groupby)
    assert "NK" in str(pb.uns["pseudobulk"]["dropped"])  # min_cells dropped some NK samples
    assert is_dask_array(lazy.X)  # nothing was loaded into the AnnData


@pytest.mark.parametrize("dtype", [np.float32, np.int64])
def test_sums_are_exact_beyond_float32_precision(dtype):
    """Counts whose sums pass 2**24 (float32's last exact integer): the float64 sums of the
    blocks are exact, so any order of additions gives the same sums."""
    n = 3000
    dense = np.full((n, 3), 16_785, dtype=dtype)  # 3000 × 16,785 > 2**24
    if dtype == np.int64:
        dense[::7, 1] = 2**24 + 1  # not a float32
    X = sp.csr_matrix(dense)
    obs = pd.DataFrame({"donor": ["d0"] * n}, index=[f"c{i}" for i in range(n)])
    mem = ad.AnnData(X=X, obs=obs)
    lazy = ad.AnnData(X=da.from_array(X, chunks=(333, 3), asarray=False), obs=obs)
    pb = pseudobulk(lazy, "donor")
    exact = dense.astype(np.int64).sum(axis=0).astype(np.float64)  # integers: exact
    assert np.array_equal(pb.X[0], exact)
    assert np.array_equal(pb.X, pseudobulk(mem, "donor").X)


def test_view_of_one_cell_type_and_a_layer(tmp_path):
    cells = _cells()
    cells.layers["counts"] = cells.X.copy()
    cells.X = cells.X.log1p()  # X is not counts: the layer is
    lazy = _lazy(cells, tmp_path / "cells.h5ad", "csr", layer="counts")
    assert lazy.X is None
    t_cells = (cells.obs["cell_type"] == "T").to_numpy()
    view = lazy[t_cells]
    assert is_dask_array(view.layers["counts"])  # anndata's DaskArrayView
    mem = pseudobulk(cells[t_cells], "donor", groupby="condition", layer="counts")
    _same(pseudobulk(view, "donor", groupby="condition", layer="counts"), mem)
    assert mem.uns["pseudobulk"]["layer"] == "counts"


def test_several_cell_types_in_one_pass_equal_each_pseudobulk(tmp_path):
    cells = _cells(n_cells=4000)
    lazy = _lazy(cells, tmp_path / "cells.h5ad", "csr")
    types = cells.obs["cell_type"].astype(str).to_numpy()
    subsets = {ct: np.flatnonzero(types == ct) for ct in ("T", "B", "NK")}
    kw = {"sample_key": "donor", "groupby": "condition", "min_cells": 5}
    pbs = Pseudobulks(lazy, subsets, layer=None, **kw)
    graph = pbs.lazy()
    assert len(graph.problems) == lazy.X.numblocks[0]
    problems, sums = dask.compute(graph.problems, graph.sums)
    assert graph.problem(problems) is None
    assert list(pbs.specs) == ["T", "B", "NK"]
    for (ct, cells_ct), sums_ct in zip(subsets.items(), sums):
        mem = pseudobulk(cells[cells_ct], **kw)
        spec = pbs.specs[ct]
        assert spec.codes is None  # the per-cell codes are not kept per cell type
        _same(spec.build(sums_ct), mem)


@pytest.mark.parametrize("n_types", [7, 8])
def test_more_pseudobulk_samples_than_a_small_integer_holds(n_types):
    """7 x 20 = 140 and 8 x 20 = 160 samples in one pass: past int8's 127 (the codes of the
    cells must widen, not wrap around or overflow)."""
    n = 4000
    donors = [f"d{(i // n_types) % 20:02d}" for i in range(n)]
    obs = pd.DataFrame(
        {
            "cell_type": [f"t{i % n_types}" for i in range(n)],
            "donor": donors,
            "condition": np.where(np.array(donors) < "d10", "ctrl", "stim"),
        },
        index=[f"c{i}" for i in range(n)],
    )
    rng = np.random.default_rng(1)
    X = sp.random(
        n, 40, density=0.3, format="csr", random_state=1,
        data_rvs=lambda k: rng.integers(1, 9, size=k),
    ).astype(np.float32)  # fmt: skip
    cells = ad.AnnData(X=X, obs=obs, var=pd.DataFrame(index=[f"G{j}" for j in range(40)]))
    lazy = ad.AnnData(X=da.from_array(X, chunks=(900, -1)), obs=obs, var=cells.var)
    subsets = {f"t{k}": np.arange(k, n, n_types) for k in range(n_types)}
    kw = {"sample_key": "donor", "groupby": "condition", "min_cells": 5}
    pbs = Pseudobulks(lazy, subsets, layer=None, **kw)
    assert pbs.bounds[-1] == 20 * n_types
    graph = pbs.lazy()
    problems, sums = dask.compute(graph.problems, graph.sums)
    assert graph.problem(problems) is None
    for (ct, cells_ct), sums_ct in zip(subsets.items(), sums):
        _same(pbs.specs[ct].build(sums_ct), pseudobulk(cells[cells_ct], **kw))


def _with_bad_values(cells, fmt):
    """Non-counts in several blocks: a negative value early, a NaN (the most serious kind) in
    two later places, a fraction near the end."""
    X = cells.X.toarray() if fmt != "dense" else np.array(cells.X)
    X = X.astype(np.float64)
    X[2950, 5] = 0.5
    X[1900, 60] = np.nan
    X[2200, 3] = np.nan
    X[40, 10] = -1
    out = cells.copy()
    out.X = X if fmt == "dense" else sp.csr_matrix(X).asformat(fmt)
    return out


@pytest.mark.parametrize("fmt", FORMATS)
def test_count_errors_are_the_in_memory_errors(tmp_path, fmt):
    bad = _with_bad_values(_cells(fmt=fmt), fmt)
    lazy = _lazy(bad, tmp_path / "bad.h5ad", fmt)
    with pytest.raises(ValueError) as mem:
        pseudobulk(bad, "donor")
    with pytest.raises(ValueError) as ours:
        pseudobulk(lazy, "donor")
    assert str(ours.value) == str(mem.value)
    # the most serious kind, both of them, and the first in stored order (cells, or genes
    # for CSC)
    first = "c2200', gene 'G3'" if fmt == "csc" else "c1900', gene 'G60'"
    assert f"X has missing values (2 values; the first: cell '{first}" in str(ours.value)
    # counts before obs: the in-memory order of errors
    bad.obs.loc["c7", "donor"] = np.nan
    lazy.obs.loc["c7", "donor"] = np.nan
    for adata in (bad, lazy):
        with pytest.raises(ValueError, match="X has missing values"):
            pseudobulk(adata, "donor")


def test_combined_problem_counts_only_the_most_serious_kind():
    from degbridge._checks import NonCounts

    blocks = [
        NonCounts("negative", 3, (5, 1), -2.0),
        None,
        NonCounts("infinite", 1, (90, 4), np.inf),
        NonCounts("infinite", 2, (40, 7), np.inf),
    ]
    assert combine_problems(blocks) == NonCounts("infinite", 3, (40, 7), np.inf)
    assert combine_problems(blocks, column_major=True) == NonCounts("infinite", 3, (90, 4), np.inf)
    assert combine_problems([None, None]) is None


def test_on_a_distributed_cluster_the_workers_sum_the_blocks(tmp_path):
    distributed = pytest.importorskip("distributed")
    cells = _cells()
    lazy = _lazy(cells, tmp_path / "cells.h5ad", "csr")
    mem = pseudobulk(cells, "donor", groupby="condition")
    logging.getLogger("distributed").setLevel(logging.ERROR)
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            scheduler_kwargs={"dashboard_address": ":0"},  # not 8787: another cluster's
        ) as cluster,
        distributed.Client(cluster) as client,
        distributed.get_task_stream(client) as stream,
    ):
        pb = pseudobulk(lazy, "donor", groupby="condition")
        workers = set(client.scheduler_info()["workers"])
    _same(pb, mem)
    names = [t["key"] if isinstance(t["key"], str) else t["key"][0] for t in stream.data]
    passes = [t for t, name in zip(stream.data, names) if name.startswith("block_pass")]
    assert len(passes) == lazy.X.numblocks[0]  # one task per block, run by the workers
    assert {t["worker"] for t in passes} <= workers


@pytest.mark.parametrize("suffix", [".h5ad", ".zarr"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_open_cells_reads_blocks_along_the_stored_axis(tmp_path, monkeypatch, suffix, fmt):
    """sc.read.open_cells (the celltypes command's reader): blocks of about BLOCK_VALUES
    stored values, of cells for CSR and dense, of genes for CSC (anndata reads a sparse matrix
    lazily only along its major axis); the pseudobulk equals the in-memory one."""
    from degbridge.sc import read

    cells = _cells(n_cells=3000, fmt=fmt)
    path = tmp_path / f"cells{suffix}"
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Writing zarr v2", UserWarning)  # anndata's note
        cells.write_h5ad(path) if suffix == ".h5ad" else cells.write_zarr(path)
    monkeypatch.setattr(read, "BLOCK_VALUES", 5_000)
    stored = cells.X.nnz if sp.issparse(cells.X) else cells.n_obs * cells.n_vars
    with read.open_cells(path, lazy=True) as lazy:
        assert is_dask_array(lazy.X)
        rows, cols = lazy.X.numblocks
        if fmt == "csc":  # 450 stored values a gene: blocks of 11 genes
            assert rows == 1 and cols > 1
            assert max(lazy.X.chunks[1]) * stored / cells.n_vars <= 5_000
        else:
            assert cols == 1 and rows > 1
            assert max(lazy.X.chunks[0]) * stored / cells.n_obs <= 5_000
        kw = {"sample_key": "donor", "groupby": "condition", "min_cells": 5}
        _same(pseudobulk(lazy, **kw), pseudobulk(cells, **kw))


def _arrays_of_size(node, size: int) -> int:
    """How many numpy arrays of ``size`` elements a graph (its tasks' arguments) holds."""
    if isinstance(node, np.ndarray):
        return int(node.size == size)
    if isinstance(node, list | tuple):
        return sum(_arrays_of_size(n, size) for n in node)
    if isinstance(node, dict):
        return sum(_arrays_of_size(n, size) for n in node.values())
    parts = [getattr(node, a) for a in ("args", "kwargs", "value") if hasattr(node, a)]
    return sum(_arrays_of_size(p, size) for p in parts if not callable(p))


def test_blocks_of_genes_share_one_copy_of_the_codes():
    """With several blocks of genes (CSC) every block holds every cell: the cells' codes are
    one node of the graph that each block's task reads, not a copy per block."""
    cells = _cells(n_cells=2000, fmt="csc")
    lazy = da.from_array(cells.X, chunks=(-1, 10))
    codes = np.zeros(cells.n_obs, dtype=np.int64)
    graph = dict(lazy_group_sums(lazy, codes, [0, 1]).sums[0].__dask_graph__())
    assert lazy.numblocks == (1, 9)
    assert _arrays_of_size(graph, 2000) == 1
