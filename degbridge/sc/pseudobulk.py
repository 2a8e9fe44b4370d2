"""Pseudobulk: raw counts of cells summed per sample (× group), in memory or streamed.

:func:`pseudobulk` sums with a sparse indicator product over blocks of cells (the cell matrix
is never densified or copied); an AnnData opened with ``backed="r"`` is streamed from its file
in blocks (:class:`_BackedMatrix`), a dask array is summed block by block by dask
(:class:`_DaskMatrix`; :class:`Pseudobulks`: several cell types in one pass). Every value is
checked to be a raw count on the way, and the first offending cell and gene are named.
Results of the DE methods are stored by :mod:`degbridge.sc.storage`.
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from .._checks import COUNT_KINDS, NonCounts, find_non_counts, get_matrix
from .._checks import check_anndata as _check_anndata
from ._blockwise import LazyPass, cell_gene, indicator, is_dask_array, lazy_group_sums

__all__ = ["pseudobulk"]


def _counts_message(layer: str | None, adata, bad: NonCounts) -> str:
    """The error for values that are not raw counts; ``bad.index`` is (cell, gene) of ``adata``
    (or empty when the position is not known)."""
    where = f"layer {layer!r}" if layer else "X"
    if len(bad.index) == 2:
        cell, gene = adata.obs_names[bad.index[0]], adata.var_names[bad.index[1]]
        first = f" ({bad.count} values; the first: cell {str(cell)!r}, gene {str(gene)!r} = {bad.value:g})"
    else:
        first = f" ({bad.count} values)"
    if bad.kind == "missing":
        return f"{where} has missing values{first}; pseudobulk needs raw counts"
    others = [name for name in adata.layers if name != layer]
    hint = (
        f"; the AnnData has layers {others}: pass layer='counts' (or whichever holds raw counts)"
        if others
        else ""
    )
    kind = "infinite" if bad.kind == "infinite" else "non-integer or negative"
    return (
        f"{where} holds {kind} values{first}: normalised or log data, not raw "
        f"counts. Pseudobulk sums and voom need raw counts{hint}"
    )


def check_raw_counts(X, layer: str | None, adata, chunk: int = 4_000_000) -> None:
    """Raw counts (the rule of :func:`degbridge._checks.check_counts`); say which layer to use
    otherwise, and where the first offending value is. Checked in chunks of the stored
    values: a few MB however large the matrix; a dask array block by block by dask."""
    if is_dask_array(X):
        _, bad = _DaskMatrix(X).pass_over(None, 0)
        if bad is not None:
            raise ValueError(_counts_message(layer, adata, bad))
        return
    bad = find_non_counts(X, chunk=chunk)
    if bad is not None:
        bad = NonCounts(bad.kind, bad.count, cell_gene(X, bad.index), bad.value)
        raise ValueError(_counts_message(layer, adata, bad))


def check_adata_counts(adata, layer: str | None) -> None:
    """:func:`check_raw_counts` of ``adata``'s ``X`` or ``layer``, streamed from the file when
    ``adata`` is backed (``read_h5ad(path, backed="r")``)."""
    backed = _BackedMatrix.of(adata, layer, BACKED_BLOCK_VALUES)
    if backed is None:
        check_raw_counts(get_matrix(adata, layer), layer, adata)
        return
    _, problem = backed.pass_over(None, 0)
    if problem is not None:
        raise ValueError(_counts_message(layer, adata, problem))


def _group_sums(X, codes: np.ndarray, n_groups: int, block_nnz: int = 8_000_000) -> np.ndarray:
    """Sums of the rows of X (cells × genes) per group code, as a dense groups × genes array.

    Sparse input is summed one block of rows (CSR) or columns (CSC) at a time with a sparse
    indicator product: scipy converts index arrays of mismatched integer types before a
    product, which on the whole cell matrix would copy all its indices; per block it copies
    at most one block.
    """
    import scipy.sparse as sp

    n_cells, n_genes = X.shape
    out = np.zeros((n_groups, n_genes))
    if not sp.issparse(X):
        step = max(1, block_nnz // max(n_genes, 1))
        for start in range(0, n_cells, step):
            stop = min(start + step, n_cells)
            block = np.asarray(X[start:stop], dtype=np.float64)
            out += indicator(codes[start:stop], n_groups) @ block
        return out
    if X.format == "csc":
        whole = indicator(codes, n_groups, "csc")
        for start, stop in _blocks(X.indptr, block_nnz):
            out[:, start:stop] = (whole @ X[:, start:stop]).toarray()
        return out
    X = X.tocsr() if X.format != "csr" else X
    for start, stop in _blocks(X.indptr, block_nnz):
        out += (indicator(codes[start:stop], n_groups) @ X[start:stop]).toarray()
    return out


def _blocks(indptr: np.ndarray, block_nnz: int) -> list[tuple[int, int]]:
    """Ranges of rows (CSR) or columns (CSC) holding about block_nnz stored values each."""
    n = len(indptr) - 1
    cuts = np.searchsorted(indptr, np.arange(block_nnz, indptr[-1], block_nnz), side="left")
    edges = np.unique(np.concatenate([[0], cuts, [n]]))
    return [(int(a), int(b)) for a, b in itertools.pairwise(edges) if b > a]


# ---------------------------------------------------------------------------------------
# backed AnnData: the matrix streamed from the .h5ad file
# ---------------------------------------------------------------------------------------

#: stored values (sparse) or entries (dense) of a backed matrix held in memory at a time
BACKED_BLOCK_VALUES = 1_000_000
#: values checked at a time within a block (the count check makes float64 temporaries)
_CHECK_CHUNK = 250_000


def _positions(index, n: int) -> np.ndarray | None:
    """The positions an AnnData view's indexer selects, or None unless strictly increasing."""
    pos = np.arange(n)[index]
    if pos.ndim != 1 or (len(pos) > 1 and not (np.diff(pos) > 0).all()):
        return None
    return pos


class _BackedMatrix:
    """The ``X`` of an AnnData opened with ``read_h5ad(path, backed="r")``, read in blocks.

    CSR and dense ``X`` are read in blocks of rows (cells), CSC in blocks of columns (genes):
    each block is a contiguous range of the file's stored values, about
    :data:`BACKED_BLOCK_VALUES` of them. A view of a backed AnnData (cells and genes in file
    order, e.g. ``adata[adata.obs["cell_type"] == "B"]``) is read the same way, the view's
    cells and genes taken from each block in memory.
    """

    def __init__(self, dataset, rows: np.ndarray | None, cols: np.ndarray | None, block: int):
        self.dataset = dataset
        self.block = block
        self.format = getattr(dataset, "format", "dense")
        n_rows, n_cols = dataset.shape
        # the streamed (major) axis and the selection on each axis (None: all of it)
        if self.format == "csc":
            self.major, self.minor = cols, rows
            n_major, n_minor = n_cols, n_rows
        else:
            self.major, self.minor = rows, cols
            n_major, n_minor = n_rows, n_cols
        self.n_file_minor = n_minor
        self.n_major = n_major if self.major is None else len(self.major)
        self.shape = (
            len(rows) if rows is not None else n_rows,
            len(cols) if cols is not None else n_cols,
        )

    @classmethod
    def of(cls, adata, layer: str | None, block: int) -> _BackedMatrix | None:
        """The backed matrix of ``adata`` to pseudobulk, or None when it is in memory (layers
        of a backed AnnData are: anndata backs ``X`` only) or when a view reorders cells or
        genes (then ``adata.X`` reads the view into memory, as anndata does)."""
        if layer is not None or not getattr(adata, "isbacked", False):
            return None
        import h5py

        try:
            node = adata.file["X"]
        except KeyError:  # no X in the file: get_matrix says so
            return None
        if isinstance(node, h5py.Group):
            dataset = _sparse_dataset(node)
        elif isinstance(node, h5py.Dataset):
            dataset = node
        else:  # pragma: no cover - anndata stores X as one or the other
            return None
        rows = cols = None
        if adata.is_view:
            rows = _positions(adata._oidx, dataset.shape[0])
            cols = _positions(adata._vidx, dataset.shape[1])
            if rows is None or cols is None:
                return None
        return cls(dataset, rows, cols, block)

    def _read(self, lo: int, hi: int, take: np.ndarray | None):
        """Major elements lo:hi of the file (``take``: only those file positions)."""
        ds = self.dataset
        if self.format == "csc":
            return ds[:, lo:hi] if take is None else ds[:, take]
        if self.format == "csr":
            return ds[lo:hi] if take is None else ds[take]
        return ds[lo:hi] if take is None else ds[np.asarray(take)]

    def _plan(self) -> list[tuple[int, int, int, int, bool]]:
        """The blocks to read: ``(start, stop, lo, hi, contiguous)``, the view's major
        elements start:stop, file elements lo:hi, and whether to read all of lo:hi (else only
        the view's elements). The file's offsets (one per cell) are only held here, not
        while the blocks are read."""
        n_file = self.dataset.shape[1 if self.format == "csc" else 0]
        if self.format == "dense":
            cum = np.arange(n_file + 1, dtype=np.int64) * self.n_file_minor
        else:
            cum = np.asarray(self.dataset.group["indptr"][...], dtype=np.int64)
        major = self.major
        if major is None:
            return [(a, b, a, b, True) for a, b in _blocks(cum, self.block)]
        view_cum = np.concatenate([[0], np.cumsum(cum[major + 1] - cum[major])])
        plan = []
        for a, b in _blocks(view_cum, self.block):
            lo, hi = int(major[a]), int(major[b - 1]) + 1
            plan.append((a, b, lo, hi, bool(cum[hi] - cum[lo] <= 4 * self.block)))
        return plan

    def blocks(self):
        """``(start, stop, block)``: the view's major elements start:stop, in memory (CSR or
        dense rows × all selected genes; CSC all selected cells × columns)."""
        major, minor = self.major, self.minor
        for start, stop, lo, hi, contiguous in self._plan():
            if major is None:
                block = self._read(start, stop, None)
            else:
                want = major[start:stop]
                if contiguous:
                    block = self._read(lo, hi, None)
                    if len(want) != hi - lo:
                        local = want - lo
                        block = block[:, local] if self.format == "csc" else block[local]
                else:  # the view's cells are sparse in the file: read only them
                    block = self._read(lo, hi, want)
            if minor is not None:
                block = block[minor] if self.format == "csc" else block[:, minor]
            yield start, stop, block

    def locate(self, start: int, block, index: tuple[int, ...]) -> tuple[int, int]:
        """(cell, gene) in the view of a position ``find_non_counts`` gave in ``block``."""
        cell, gene = cell_gene(block, index)
        return (cell, gene + start) if self.format == "csc" else (cell + start, gene)

    def pass_over(self, codes: np.ndarray | None, n_groups: int):
        """One pass over the file: the group sums (``codes`` given) and the first values that
        are not counts, found as :func:`find_non_counts` finds them in memory (most serious
        kind first; its count; its first position in stored order). Sums stop at the first
        bad block; the check runs to the end, so the error is the in-memory one."""
        n_genes = self.shape[1]
        out = None if codes is None else np.zeros((n_groups, n_genes))
        # CSC blocks hold every cell: one cells → samples matrix; row blocks build their own
        whole = (
            indicator(codes, n_groups, "csc")
            if codes is not None and self.format == "csc"
            else None
        )
        found: dict[str, list] = {}  # kind → [count, (cell, gene), value]
        for start, stop, block in self.blocks():
            bad = find_non_counts(block, chunk=_CHECK_CHUNK)
            if bad is not None:
                entry = found.setdefault(
                    bad.kind, [0, self.locate(start, block, bad.index), bad.value]
                )
                entry[0] += bad.count
                out = None
            if out is None:
                continue
            if self.format == "dense":
                out += indicator(codes[start:stop], n_groups) @ np.asarray(block, np.float64)
                continue
            # sparse products in parts of about _CHECK_CHUNK stored values: scipy allocates
            # a product's output for as many values as its input before compacting it
            for a, b in _blocks(block.indptr, _CHECK_CHUNK):
                if self.format == "csc":
                    part, offset = whole @ block[:, a:b], start + a
                else:
                    part, offset = (
                        indicator(codes[start + a : start + b], n_groups) @ block[a:b],
                        0,
                    )
                part = part.tocoo()
                np.add.at(out, (part.row, part.col + offset), part.data)
        problem = None
        for kind in COUNT_KINDS:
            if kind in found:
                count, at, value = found[kind]
                problem = NonCounts(kind, count, at, value)
                break
        return out, problem


def _sparse_dataset(group):
    """anndata's backed sparse dataset for an HDF5 group (anndata ≥ 0.11: ``anndata.io``)."""
    try:
        from anndata.io import sparse_dataset
    except ImportError:  # anndata 0.10
        from anndata.experimental import sparse_dataset
    return sparse_dataset(group)


#: cells handled at a time by the per-cell bookkeeping (sample codes, first cells, constant
#: obs columns), so that its temporaries stay a few MB however many cells there are
_CELL_CHUNK = 1 << 18


def _small_int(n: int) -> np.dtype:
    """The smallest signed integer type holding 0..n (codes of n values)."""
    for dtype in (np.int8, np.int16, np.int32):
        if n <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    return np.dtype(np.int64)


def _value_codes(column: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Codes of a column's values (equal values, equal codes) and the values coded.

    A categorical column gives its own codes (no copy; -1 for a missing value); any other is
    factorised as pandas' ``nunique(dropna=False)`` does (a missing value is one more value),
    its codes in the smallest integer type.
    """
    if isinstance(column.dtype, pd.CategoricalDtype):
        return column.cat.codes.to_numpy(), column.cat.categories
    codes, uniques = pd.factorize(column, use_na_sentinel=False)
    return codes.astype(_small_int(len(uniques)), copy=False), pd.Index(uniques)


def _sample_codes(obs: pd.DataFrame, keys: list[str]):
    """Pseudobulk sample of each cell: the ``obs[keys]`` values as strings joined by ``_``,
    coded in sorted order of those labels (labels that coincide are one sample).

    Categorical columns are coded by their own codes (no copy), others factorised once; only
    the distinct combinations present become strings, so the cost per cell is one small
    integer (the smallest type that holds the samples), never a string or a 64-bit code.
    Returns the codes, the sorted labels, and per key its codes and string labels.
    """
    n = len(obs)
    key_codes, key_labels = [], []
    for key in keys:
        codes, values = _value_codes(obs[key])
        key_codes.append(codes)
        key_labels.append(np.asarray(values.astype(str), dtype=object))
    sizes = [len(lab) for lab in key_labels]
    shape = int(np.prod(sizes, dtype=np.int64))
    dtype = _small_int(shape)

    def combos(lo: int, hi: int) -> np.ndarray:
        """The combination code (key codes in mixed radix) of cells lo:hi."""
        out = key_codes[0][lo:hi].astype(dtype)
        for c, size in zip(key_codes[1:], sizes[1:]):
            out *= dtype.type(size)
            out += c[lo:hi]
        return out

    chunks = [(lo, min(lo + _CELL_CHUNK, n)) for lo in range(0, n, _CELL_CHUNK)]
    dense = shape <= max(4 * n, 1 << 20)  # a table over every combination is small
    # the combinations present (codes are never -1: missing values were refused)
    if dense:
        seen = np.zeros(shape, dtype=bool)
        for lo, hi in chunks:
            seen[combos(lo, hi)] = True
        present = np.flatnonzero(seen)
        del seen
    else:
        present = np.unique(np.concatenate([np.unique(combos(lo, hi)) for lo, hi in chunks]))
    parts, rest = [], present
    for size in reversed(sizes):
        parts.append(rest % size)
        rest = rest // size
    parts.reverse()
    labels = np.array(
        ["_".join(lab[c] for lab, c in zip(key_labels, cs)) for cs in zip(*parts)], dtype=object
    )
    small, uniques = pd.factorize(labels, sort=True)
    sample = np.empty(n, dtype=_small_int(len(uniques)))
    if dense:
        table = np.zeros(shape, dtype=sample.dtype)
        table[present] = small
        for lo, hi in chunks:
            sample[lo:hi] = table[combos(lo, hi)]
    else:
        for lo, hi in chunks:
            sample[lo:hi] = small[np.searchsorted(present, combos(lo, hi))]
    return sample, uniques, key_codes, key_labels


def _first_cells(codes: np.ndarray, n_groups: int) -> np.ndarray:
    """The position of the first cell of each code (-1: none)."""
    first = np.full(n_groups, -1, dtype=np.int64)
    for lo in range(0, len(codes), _CELL_CHUNK):
        u, at = np.unique(codes[lo : lo + _CELL_CHUNK], return_index=True)
        new = first[u] < 0
        first[u[new]] = at[new] + lo
    return first


def _constant_columns(obs: pd.DataFrame, codes: np.ndarray, first: np.ndarray) -> list[str]:
    """The ``obs`` columns with one value (missing counted as a value) within each code, as
    pandas' ``groupby(codes).nunique(dropna=False) <= 1``; compared cell by cell with each
    code's first cell, on the columns' codes."""
    constant = []
    for col in obs.columns:
        values, _ = _value_codes(obs[col])
        ref = values[first]
        if all(
            np.array_equal(values[lo : lo + _CELL_CHUNK], ref[codes[lo : lo + _CELL_CHUNK]])
            for lo in range(0, len(codes), _CELL_CHUNK)
        ):
            constant.append(col)
        del values
    return constant


# ---------------------------------------------------------------------------------------
# a dask array: summed and checked block by block by dask
# ---------------------------------------------------------------------------------------


class _DaskMatrix:
    """The cell matrix of an AnnData when it is a dask array (as anndata's lazy readers of
    ``.h5ad`` and ``.zarr`` give it): summed and checked in one pass, block by block, by
    dask's current scheduler (a running distributed client's workers, else threads); only
    the sums come back."""

    def __init__(self, X):
        self.X = X

    @classmethod
    def of(cls, adata, layer: str | None) -> _DaskMatrix | None:
        """The dask matrix of ``adata`` to pseudobulk, or None when it is not a dask array (a
        missing layer is left to :func:`degbridge._checks.get_matrix` to report)."""
        X = adata.X if layer is None else adata.layers.get(layer)
        return cls(X) if is_dask_array(X) else None

    def pass_over(self, codes: np.ndarray | None, n_groups: int):
        """The group sums (``codes`` given) and the values that are not counts, found as
        :func:`find_non_counts` finds them in memory (most serious kind first; its count; its
        first position in stored order), in one pass."""
        import dask

        if codes is None:
            graph = lazy_group_sums(self.X, None, [0])
            (problems,) = dask.compute(graph.problems)
            return None, graph.problem(problems)
        graph = lazy_group_sums(self.X, codes, [0, n_groups])
        problems, (sums,) = dask.compute(graph.problems, graph.sums)
        return sums, graph.problem(problems)


# ---------------------------------------------------------------------------------------
# the samples of a pseudobulk (from obs), then its sums
# ---------------------------------------------------------------------------------------


@dataclass
class PseudobulkSpec:
    """One pseudobulk but its sums, made from ``obs`` alone: each cell's pseudobulk sample
    (``codes``, into ``n_groups`` samples), the samples kept (``keep``: ``min_cells``), their
    ``obs`` and ``uns["pseudobulk"]``. :meth:`build` adds the sums; without its codes
    (:meth:`light`) it is small enough to send to a dask worker."""

    codes: np.ndarray | None
    n_groups: int
    keep: np.ndarray
    obs: pd.DataFrame
    var_names: pd.Index
    uns: dict

    def light(self) -> PseudobulkSpec:
        """This spec without the per-cell codes."""
        return replace(self, codes=None)

    def build(self, sums: np.ndarray):
        """The pseudobulk AnnData from the sums of every sample (``n_groups`` × genes)."""
        import anndata as ad

        out = ad.AnnData(
            X=sums[self.keep], obs=self.obs.copy(), var=pd.DataFrame(index=self.var_names.copy())
        )
        out.uns["pseudobulk"] = copy.deepcopy(self.uns)
        return out


def _spec(adata, sample_key, groupby, min_cells, before_error=None) -> PseudobulkSpec:
    """The pseudobulk samples of ``adata`` (its obs); ValueError for a cell without a sample
    and when no sample keeps ``min_cells`` cells (``before_error()`` runs first)."""
    obs = adata.obs  # once: each access of a view's obs builds a new frame
    keys = [sample_key] if groupby is None else [sample_key, groupby]
    if any(obs[key].isna().any() for key in keys):
        if before_error is not None:
            before_error()
        msg = f"obs columns {keys} have missing values; every cell needs a sample (and group)"
        raise ValueError(msg)
    codes, uniques, key_codes, key_labels = _sample_codes(obs, keys)
    n_cells = np.zeros(len(uniques), dtype=np.int64)
    for lo in range(0, len(codes), _CELL_CHUNK):
        n_cells += np.bincount(codes[lo : lo + _CELL_CHUNK], minlength=len(uniques))
    keep = n_cells >= min_cells
    dropped = {str(u): int(c) for u, c in zip(uniques, n_cells) if c < min_cells}
    if not keep.any():
        if before_error is not None:
            before_error()
        msg = (
            f"every pseudobulk sample has fewer than min_cells={min_cells} cells "
            f"(largest: {int(n_cells.max())}); lower min_cells"
        )
        raise ValueError(msg)
    names = [str(u) for u, k in zip(uniques, keep) if k]
    first = _first_cells(codes, len(uniques))
    constant = _constant_columns(obs, codes, first)
    first = first[keep]
    pb_obs = obs.iloc[first][constant].copy()
    pb_obs.index = pd.Index(names)
    for k, c, lab in zip(keys, key_codes, key_labels):
        pb_obs[k] = lab[c[first]]
    pb_obs["n_cells"] = n_cells[keep]
    uns = {
        "sample_key": sample_key,
        "min_cells": int(min_cells),
        "layer": None,  # set by the caller
        "n_cells_total": len(codes),
        "dropped": dropped,
    }
    if groupby is not None:
        uns["groupby"] = groupby
    return PseudobulkSpec(codes, len(uniques), keep, pb_obs, adata.var_names, uns)


def pseudobulk(
    adata,
    sample_key: str,
    *,
    groupby: str | None = None,
    layer: str | None = None,
    min_cells: int = 10,
):
    """Sum raw counts of cells per sample (× group) into a pseudobulk AnnData.

    The sum is a sparse indicator-matrix product over blocks of cells: the cell matrix is never
    densified or copied (peak memory is the cell matrix plus one block and the small result).
    Pseudobulk samples with fewer than ``min_cells`` cells are dropped and reported in
    ``uns["pseudobulk"]["dropped"]``.

    An AnnData opened with ``anndata.read_h5ad(path, backed="r")`` is streamed from the file:
    ``X`` (CSR or dense: blocks of cells; CSC: blocks of genes) is read about
    :data:`BACKED_BLOCK_VALUES` stored values at a time, checked and summed, and never loaded
    whole; views of it that keep file order (a subset of cells, e.g. one cell type) too.
    anndata backs ``X`` only: ``layer=`` of a backed AnnData is already in memory.

    A matrix that is a dask array (``X`` or the layer; e.g. read with anndata's
    ``anndata.experimental.read_elem_lazy`` from an ``.h5ad`` or ``.zarr`` store) is summed
    and checked block by block (its chunks) by dask's current scheduler, in one pass: with a
    running ``dask.distributed`` client, on its workers, which read their blocks themselves
    and send back only the sums. Sums are added in float64, so the result is the in-memory
    one bit for bit.

    The sums, sample order and errors of the backed and dask paths are those of the
    in-memory path.

    Parameters
    ----------
    adata
        Cells × genes, raw counts in ``X`` or ``layer`` (sparse or dense; in memory, backed or
        a dask array).
    sample_key
        ``obs`` column naming the biological sample (donor, replicate).
    groupby
        ``obs`` column of the condition/cell type to split each sample by.
    layer
        Layer with raw counts (default ``X``).
    min_cells
        Minimum cells per pseudobulk sample.

    Returns
    -------
    AnnData of pseudobulk samples × genes with dense float counts in ``X``; ``obs`` holds
    ``sample_key``, ``groupby``, ``n_cells`` and every ``obs`` column constant within each
    pseudobulk sample.

    Raises
    ------
    ValueError
        A key is not an ``obs`` column, ``min_cells`` is not a positive integer, the matrix is
        not raw counts (the message names the first offending cell and gene), a cell has no
        sample, or no sample keeps ``min_cells`` cells.
    """
    _check_anndata(adata)
    for key in (sample_key, groupby):
        if key is not None and key not in adata.obs.columns:
            msg = (
                f"{key!r} is not an obs column; obs columns are {list(map(str, adata.obs.columns))}"
            )
            raise ValueError(msg)
    if not isinstance(min_cells, int | np.integer) or min_cells < 1:
        msg = f"min_cells must be a positive integer, not {min_cells!r}"
        raise ValueError(msg)
    streamed = _BackedMatrix.of(adata, layer, BACKED_BLOCK_VALUES) or _DaskMatrix.of(adata, layer)

    def check_streamed() -> None:
        # a streamed matrix is checked while it is summed; before an error about obs, check
        # it alone so that the errors come in the in-memory order (counts first)
        if streamed is not None:
            _, problem = streamed.pass_over(None, 0)
            if problem is not None:
                raise ValueError(_counts_message(layer, adata, problem))

    if streamed is None:
        X = get_matrix(adata, layer)
        check_raw_counts(X, layer, adata)
    spec = _spec(adata, sample_key, groupby, min_cells, before_error=check_streamed)
    spec.uns["layer"] = layer or "X"
    if streamed is None:
        sums = _group_sums(X, spec.codes, spec.n_groups)
    else:
        sums, problem = streamed.pass_over(spec.codes, spec.n_groups)
        if problem is not None:
            raise ValueError(_counts_message(layer, adata, problem))
    return spec.build(sums)


class Pseudobulks:
    """The pseudobulks of several disjoint sets of cells of one AnnData (one per cell type),
    summed in one pass over its matrix when that is a dask array.

    Each set's pseudobulk is :func:`pseudobulk` of ``adata[cells]`` (same samples, obs,
    ``uns`` and sums), but the matrix is read once for all of them: every cell gets the code
    of its sample within its set, offset so that the sets' samples follow each other
    (``bounds``), and :func:`lazy_group_sums` adds the sums of each set apart, on the workers.
    The whole matrix is checked for raw counts on the way (:meth:`error` words what was
    found), as :func:`check_raw_counts` checks it in memory.
    """

    def __init__(self, adata, subsets: dict[str, np.ndarray], *, sample_key, groupby, layer,
                 min_cells):  # fmt: skip
        self.X = get_matrix(adata, layer)
        if not is_dask_array(self.X):
            msg = "Pseudobulks sums a dask array; use pseudobulk() for a matrix in memory"
            raise TypeError(msg)
        self.adata, self.layer = adata, layer
        specs = {}
        for name, cells in subsets.items():
            specs[name] = _spec(adata[cells], sample_key, groupby, min_cells)
            specs[name].uns["layer"] = layer or "X"
        self.bounds = [0, *np.cumsum([s.n_groups for s in specs.values()]).tolist()]
        self.codes = np.full(adata.n_obs, -1, dtype=_small_int(self.bounds[-1]))
        for (cells, spec), offset in zip(zip(subsets.values(), specs.values()), self.bounds):
            self.codes[cells] = spec.codes.astype(self.codes.dtype) + offset
        self.specs = {name: spec.light() for name, spec in specs.items()}

    def lazy(self) -> LazyPass:
        """The graph of the pass (:func:`lazy_group_sums`): its ``sums`` are those of the
        cell types in the order of ``specs``."""
        return lazy_group_sums(self.X, self.codes, self.bounds)

    def error(self, problem: NonCounts) -> ValueError:
        """The error for values that are not raw counts, as :func:`pseudobulk` words it."""
        return ValueError(_counts_message(self.layer, self.adata, problem))
