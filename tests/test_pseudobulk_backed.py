"""pseudobulk of an AnnData opened with ``read_h5ad(path, backed="r")``: streamed from the file.

Every result is compared with the in-memory path (np.array_equal) and with a closed-form sum
(a pandas groupby of the dense matrix); errors must be the in-memory ones; the memory test
checks the block mechanism (what is read at a time) and the tracemalloc peak.
"""

from __future__ import annotations

import tracemalloc

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import degbridge.sc.pseudobulk as dba
from degbridge import pseudobulk

FORMATS = ["csr", "csc", "dense"]
DTYPES = [np.float32, np.int64]


def _cells(n_cells=2500, n_genes=120, density=0.15, dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    X = sp.random(
        n_cells,
        n_genes,
        density=density,
        format="csr",
        random_state=seed,
        data_rvs=lambda k: rng.integers(1, 50, size=k),
    ).astype(dtype)
    obs = pd.DataFrame(
        {
            "donor": rng.choice([f"d{i}" for i in range(6)], n_cells),
            "cell_type": pd.Categorical(rng.choice(["B", "T", "NK"], n_cells, p=[0.5, 0.45, 0.05])),
            "batch": "b1",
        },
        index=[f"c{i}" for i in range(n_cells)],
    )
    var = pd.DataFrame(index=[f"G{j}" for j in range(n_genes)])
    return ad.AnnData(X=X, obs=obs, var=var)


def _as(adata, fmt):
    out = adata.copy()
    out.X = adata.X.toarray() if fmt == "dense" else adata.X.asformat(fmt)
    return out


def _backed(adata, tmp_path, name="cells.h5ad"):
    path = tmp_path / name
    adata.write_h5ad(path)
    return ad.read_h5ad(path, backed="r")


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of 3,000 stored values, so that small files are read in many blocks; records
    the blocks read."""
    seen = []
    blocks = dba._BackedMatrix.blocks

    def recording(self):
        for start, stop, block in blocks(self):
            seen.append((self.format, start, stop, block.shape))
            yield start, stop, block

    monkeypatch.setattr(dba, "BACKED_BLOCK_VALUES", 3000)
    monkeypatch.setattr(dba._BackedMatrix, "blocks", recording)
    return seen


def _closed_form(adata, keys):
    dense = pd.DataFrame(
        adata.X.toarray() if sp.issparse(adata.X) else np.asarray(adata.X),
        index=adata.obs_names,
        columns=adata.var_names,
    ).astype(np.float64)
    ref = dense.groupby([adata.obs[k].astype(str) for k in keys]).sum()
    if len(keys) > 1:
        ref.index = ["_".join(i) for i in ref.index]
    return ref


def _equals_closed_form(pb, cells, groupby):
    """``pb``'s samples and sums are the closed form's (the samples ``min_cells`` kept)."""
    keys = ["donor"] if groupby is None else ["donor", "cell_type"]
    ref = _closed_form(cells, keys)
    kept = [n for n in ref.index if n in set(pb.obs_names)]
    assert kept == list(pb.obs_names)
    assert np.array_equal(pb.X, ref.loc[kept].to_numpy())


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_backed_equals_in_memory_and_closed_form(tmp_path, small_blocks, fmt, dtype):
    cells = _as(_cells(dtype=dtype), fmt)
    backed = _backed(cells, tmp_path)
    assert backed.isbacked
    for groupby in (None, "cell_type"):
        mem = pseudobulk(cells, "donor", groupby=groupby, min_cells=30)
        small_blocks.clear()
        pb = pseudobulk(backed, "donor", groupby=groupby, min_cells=30)
        # streamed: many blocks of the file's own layout
        assert len(small_blocks) > 10
        assert {b[0] for b in small_blocks} == {fmt}
        assert np.array_equal(pb.X, mem.X)
        assert list(pb.obs_names) == list(mem.obs_names)
        pd.testing.assert_frame_equal(pb.obs, mem.obs)
        assert pb.uns["pseudobulk"] == mem.uns["pseudobulk"]
        _equals_closed_form(pb, cells, groupby)
    assert "NK" in str(pb.uns["pseudobulk"]["dropped"])  # min_cells drops some NK samples
    backed.file.close()


@pytest.mark.parametrize("fmt", FORMATS)
def test_backed_view_of_one_cell_type_is_streamed(tmp_path, small_blocks, fmt):
    cells = _as(_cells(), fmt)
    backed = _backed(cells, tmp_path)
    for sub in (
        lambda a: a[a.obs["cell_type"] == "T"],
        lambda a: a[a.obs["cell_type"] != "B", 10:90],
        lambda a: a[a.obs["cell_type"] == "NK"],  # sparse in the file: its rows only
    ):
        mem = pseudobulk(sub(cells), "donor", min_cells=1)
        small_blocks.clear()
        pb = pseudobulk(sub(backed), "donor", min_cells=1)
        assert small_blocks, "the view was not streamed"
        assert np.array_equal(pb.X, mem.X)
        assert list(pb.var_names) == list(mem.var_names)
        pd.testing.assert_frame_equal(pb.obs, mem.obs)
        ref = _closed_form(sub(cells), ["donor"])
        assert np.array_equal(pb.X, ref.to_numpy())
    backed.file.close()


def test_backed_view_that_reorders_cells_falls_back_to_anndata(tmp_path, small_blocks):
    cells = _cells()
    backed = _backed(cells, tmp_path)
    order = np.random.default_rng(1).permutation(cells.n_obs)
    pb = pseudobulk(backed[order], "donor", min_cells=1)
    assert not small_blocks  # anndata reads the reordered view into memory
    assert np.array_equal(pb.X, pseudobulk(cells[order], "donor", min_cells=1).X)
    backed.file.close()


def test_layers_of_a_backed_anndata_are_in_memory(tmp_path, small_blocks):
    cells = _cells()
    cells.layers["counts"] = cells.X.copy()
    cells.X = sp.csr_matrix(np.log1p(cells.X.toarray()))
    backed = _backed(cells, tmp_path)
    pb = pseudobulk(backed, "donor", layer="counts", min_cells=1)
    assert not small_blocks
    assert np.array_equal(pb.X, pseudobulk(cells, "donor", layer="counts", min_cells=1).X)
    backed.file.close()


@pytest.mark.parametrize("fmt", FORMATS)
def test_bad_value_in_a_late_block_gives_the_in_memory_error(tmp_path, small_blocks, fmt):
    cells = _cells()
    X = cells.X.tolil()
    X[2300, 7] = 2.5  # row 2300 of 2500: a late block for rows; gene 7: an early one for CSC
    X[2400, 100] = 0.5
    cells.X = X.tocsr()
    cells = _as(cells, fmt)
    backed = _backed(cells, tmp_path)
    with pytest.raises(ValueError) as mem:
        pseudobulk(cells, "donor")
    with pytest.raises(ValueError) as err:
        pseudobulk(backed, "donor")
    assert str(err.value) == str(mem.value)
    assert (
        "X holds non-integer or negative values (2 values; the first: cell 'c2300', "
        "gene 'G7' = 2.5)" in str(err.value)
    )
    assert len(small_blocks) > 10  # the check read every block
    backed.file.close()


def test_most_serious_kind_wins_across_blocks(tmp_path, small_blocks):
    cells = _cells()
    X = cells.X.tolil()
    X[10, 3] = 0.5  # early block: non-integer
    X[2200, 5] = np.nan  # late block: missing, reported even though found later
    X[2210, 6] = np.nan
    cells.X = X.tocsr()
    backed = _backed(cells, tmp_path)
    with pytest.raises(ValueError) as mem:
        pseudobulk(cells, "donor")
    with pytest.raises(ValueError) as err:
        pseudobulk(backed, "donor")
    assert str(err.value) == str(mem.value)
    assert "X has missing values (2 values; the first: cell 'c2200', gene 'G5' = nan)" in str(
        err.value
    )
    backed.file.close()


def test_counts_error_comes_before_obs_errors_as_in_memory(tmp_path, small_blocks):
    cells = _cells()
    cells.X = cells.X.copy()
    cells.X.data[-1] = -1.0
    backed = _backed(cells, tmp_path)
    for kwargs in ({"min_cells": 10_000},):
        with pytest.raises(ValueError) as mem:
            pseudobulk(cells, "donor", **kwargs)
        with pytest.raises(ValueError) as err:
            pseudobulk(backed, "donor", **kwargs)
        assert str(err.value) == str(mem.value)
        assert "non-integer or negative" in str(err.value)
    backed.file.close()
    good = _backed(_cells(), tmp_path, "good.h5ad")
    with pytest.raises(ValueError, match=r"every pseudobulk sample has fewer than min_cells=10000"):
        pseudobulk(good, "donor", min_cells=10_000)
    good.file.close()


def test_memory_stays_bounded_on_a_large_file(tmp_path):
    """200,000 cells × 2,000 genes, 100 counts per cell (20 M stored values, CSR 160 MB): the
    backed path reads blocks of at most BACKED_BLOCK_VALUES stored values (plus one cell) and
    its tracemalloc peak is a small fraction of the matrix."""
    n_cells, n_genes, per_cell = 200_000, 2_000, 100
    rng = np.random.default_rng(3)
    stride = n_genes // per_cell
    indices = (
        np.arange(per_cell, dtype=np.int32) * stride
        + rng.integers(0, stride, size=(n_cells, per_cell), dtype=np.int32)
    ).ravel()
    data = rng.integers(1, 20, size=n_cells * per_cell).astype(np.float32)
    indptr = np.arange(0, (n_cells + 1) * per_cell, per_cell, dtype=np.int64)
    X = sp.csr_matrix((data, indices, indptr), shape=(n_cells, n_genes))
    csr_bytes = data.nbytes + indices.nbytes + indptr.nbytes
    obs = pd.DataFrame(
        {"donor": pd.Categorical(rng.choice([f"d{i}" for i in range(20)], n_cells))},
        index=pd.RangeIndex(n_cells).astype(str),
    )
    cells = ad.AnnData(X=X, obs=obs, var=pd.DataFrame(index=[f"G{j}" for j in range(n_genes)]))
    path = tmp_path / "big.h5ad"
    cells.write_h5ad(path)
    expected = _closed_form_sparse(X, obs["donor"])
    del cells, X, data, indices
    backed = ad.read_h5ad(path, backed="r")
    matrix = dba._BackedMatrix.of(backed, None, dba.BACKED_BLOCK_VALUES)
    sizes = [block.nnz for _, _, block in matrix.blocks()]
    assert sum(sizes) == n_cells * per_cell
    assert max(sizes) <= dba.BACKED_BLOCK_VALUES + per_cell
    assert len(sizes) >= n_cells * per_cell // dba.BACKED_BLOCK_VALUES
    tracemalloc.start()
    pb = pseudobulk(backed, "donor", min_cells=1)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    backed.file.close()
    assert np.array_equal(pb.X, expected)
    assert peak < 0.3 * csr_bytes, f"peak {peak / 2**20:.0f} MiB, CSR {csr_bytes / 2**20:.0f} MiB"


def _closed_form_sparse(X, donors):
    """Per-donor sums by numpy alone: np.add.at over the stored values."""
    codes, _ = pd.factorize(donors.astype(str), sort=True)
    out = np.zeros((codes.max() + 1, X.shape[1]))
    rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
    np.add.at(out, (codes[rows], X.indices), X.data.astype(np.float64))
    return out


def test_sample_codes_and_constant_columns_match_pandas_groupby(tmp_path):
    """The per-cell bookkeeping works on small integer codes (categorical codes as stored):
    samples, cell counts, sums and the constant obs columns must be pandas' own, with unused
    categories, a non-categorical key, labels that coincide once joined, and missing values
    in a non-key column (a value for nunique(dropna=False))."""
    cells = _cells(n_cells=1500)
    rng = np.random.default_rng(5)
    donor = rng.choice(["a_b", "a", "x"], cells.n_obs)
    cells.obs["donor"] = pd.Categorical(donor, categories=["unused", "x", "a", "a_b"])
    # "a_b" + "c" and "a" + "b_c" are one sample "a_b_c"; a non-categorical (object) key
    cells.obs["part"] = np.where(donor == "a", "b_c", rng.choice(["c", "d"], cells.n_obs))
    cells.obs["level"] = np.where(donor == "x", np.nan, 0.0)  # constant in every sample
    cells.obs["noise"] = rng.integers(0, 3, cells.n_obs)  # not constant
    backed = _backed(cells, tmp_path)
    keys = ["donor", "part"]
    label = cells.obs["donor"].astype(str) + "_" + cells.obs["part"].astype(str)
    for adata in (cells, backed):
        pb = pseudobulk(adata, "donor", groupby="part", min_cells=1)
        sizes = label.value_counts().sort_index()
        assert list(pb.obs_names) == list(sizes.index)
        assert "a_b_c" in pb.obs_names
        assert pb.uns["pseudobulk"]["dropped"] == {}  # no sample of the unused category
        assert pb.obs["n_cells"].tolist() == sizes.tolist()
        ref = pd.DataFrame(cells.X.toarray(), dtype=np.float64).groupby(label.to_numpy()).sum()
        assert np.array_equal(pb.X, ref.loc[list(pb.obs_names)].to_numpy())
        per = cells.obs.groupby(label.to_numpy()).nunique(dropna=False)
        constant = [c for c in cells.obs.columns if (per[c] <= 1).all()]
        assert set(pb.obs.columns) - {"n_cells"} == set(constant) | set(keys)
        assert "level" in constant and "noise" not in constant and "batch" in constant
        first = pd.Series(np.arange(cells.n_obs)).groupby(label.to_numpy()).first()
        for k in keys:
            assert pb.obs[k].tolist() == cells.obs[k].astype(str).to_numpy()[first].tolist()
    backed.file.close()
