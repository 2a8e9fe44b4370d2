"""Pseudobulk sums and count checks one block of cells at a time: in memory, or on the
workers of a dask cluster for a cell matrix that is a dask array.

The pieces work on one block (a scipy sparse matrix or a numpy array) and know nothing of
dask: :func:`indicator` (the groups × cells matrix whose product with a block sums its
cells per group), :func:`cell_gene` (where a value found by
:func:`degbridge._checks.find_non_counts` sits). :func:`lazy_group_sums` builds the dask
graph of one pass over a dask array (anndata's lazy readers of ``.h5ad`` and ``.zarr``
give one, with scipy sparse chunks): every block is summed per group and checked on the
worker that reads it, the sums of each range of groups (one cell type) are added in a tree
and only the sums leave the workers. dask is imported only there (it is an optional
dependency: ``pip install 'degbridge[dask]'``).

Sums are added in float64: for counts (integers) they are exact whatever the order of the
additions, so a dask pass gives the in-memory sums bit for bit.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from functools import reduce

import numpy as np

from .._checks import COUNT_KINDS, NonCounts, find_non_counts

__all__ = [
    "DASK_HINT",
    "LazyPass",
    "cell_gene",
    "combine_problems",
    "indicator",
    "is_dask_array",
    "lazy_group_sums",
]

#: how to get dask
DASK_HINT = "pip install 'degbridge[dask]'"
#: values checked at a time within a block (the count check makes float64 temporaries)
CHECK_CHUNK = 250_000
#: partial sums added per task of the tree that adds the blocks' sums
SPLIT_EVERY = 8


def is_dask_array(x) -> bool:
    """Whether ``x`` is a dask array (anndata's views of one included), checked by type
    without importing dask."""
    return hasattr(x, "to_delayed") and any(
        cls.__module__ == "dask.array.core" and cls.__name__ == "Array" for cls in type(x).__mro__
    )


def indicator(codes: np.ndarray, n_groups: int, fmt: str = "csr"):
    """Groups × cells sparse matrix of ones: ``indicator @ X`` sums the cells of each group.

    A code of -1 puts its cell in no group. Built as CSC (at most one value per cell: its
    group) straight from the codes; ``fmt="csr"`` for a product with cell rows (CSR or
    dense), ``"csc"`` with CSC blocks (no conversion of the block). 32-bit indices when they
    fit, as scipy's own.
    """
    import scipy.sparse as sp

    codes = np.asarray(codes)
    n_cells = len(codes)
    index = np.int32 if max(n_cells, n_groups) < np.iinfo(np.int32).max else np.int64
    member = codes >= 0
    if member.all():
        indptr = np.arange(n_cells + 1, dtype=index)
        rows = codes.astype(index)
    else:
        indptr = np.zeros(n_cells + 1, dtype=index)
        np.cumsum(member, out=indptr[1:])
        rows = codes[member].astype(index)
    csc = sp.csc_matrix((np.ones(len(rows)), rows, indptr), shape=(n_groups, n_cells))
    return csc if fmt == "csc" else csc.tocsr()


def cell_gene(X, index: tuple[int, ...]) -> tuple[int, ...]:
    """(cell, gene) of a position found by :func:`find_non_counts` in X (for sparse X, a
    position in its stored values); ``()`` when the format does not say."""
    import scipy.sparse as sp

    if not sp.issparse(X):
        return index if len(index) == 2 else ()
    (pos,) = index
    if X.format in ("csr", "csc"):
        major = int(np.searchsorted(X.indptr, pos, side="right") - 1)
        minor = int(X.indices[pos])
        return (major, minor) if X.format == "csr" else (minor, major)
    if X.format == "coo":
        return (int(X.row[pos]), int(X.col[pos]))
    return ()


def combine_problems(problems, *, column_major: bool = False) -> NonCounts | None:
    """The non-counts of a whole matrix from those of its blocks (each as
    :func:`find_non_counts` reports it, its index a (cell, gene) of the whole matrix or
    ``()``): the most serious kind found, how many values of that kind in all, and the first
    one in the matrix's stored order (by cell then gene; by gene then cell for CSC,
    ``column_major``). A block reporting a less serious kind holds none of the most serious
    one, so the counts add up exactly."""
    found = [p for p in problems if p is not None]
    for kind in COUNT_KINDS:
        mine = [p for p in found if p.kind == kind]
        if not mine:
            continue
        count = sum(p.count for p in mine)
        located = [p for p in mine if len(p.index) == 2]
        if not located:
            return NonCounts(kind, count, (), mine[0].value)
        first = min(located, key=lambda p: p.index[::-1] if column_major else p.index)
        return NonCounts(kind, count, first.index, first.value)
    return None


# ---------------------------------------------------------------------------------------
# one block, on a worker
# ---------------------------------------------------------------------------------------


def _block_problem(block, row0: int, col0: int) -> NonCounts | None:
    """The non-counts of one block, at (cell, gene) positions of the whole matrix."""
    bad = find_non_counts(block, chunk=CHECK_CHUNK)
    if bad is None:
        return None
    at = cell_gene(block, bad.index)
    if len(at) == 2:
        at = (at[0] + row0, at[1] + col0)
    return NonCounts(bad.kind, bad.count, at, bad.value)


def block_pass(block, codes, ranges, n_groups: int, row0: int, col0: int, check: bool):
    """One block of cells: its sums per group for each range of groups present
    (``{k: groups ranges[k] × the block's genes}``, sparse for a sparse block, float64) and,
    with ``check``, its values that are not counts."""
    import scipy.sparse as sp

    problem = _block_problem(block, row0, col0) if check else None
    if not ranges:
        return {}, problem
    sparse = sp.issparse(block)
    fmt = "csc" if sparse and block.format == "csc" else "csr"
    if not sparse:
        block = np.asarray(block, dtype=np.float64)
    sums = indicator(codes, n_groups, fmt) @ block
    if sparse:
        sums = sums.tocsr()
    pieces = {}
    for k, (lo, hi) in ranges.items():
        pieces[k] = sums if (lo, hi) == (0, n_groups) else sums[lo:hi]
    return pieces, problem


def _piece(result, k: int):
    return result[0][k]


def _problem(result):
    return result[1]


def _add(*parts):
    """The sum of partial sums (sparse or dense, float64)."""
    import scipy.sparse as sp

    dense = [p for p in parts if not sp.issparse(p)]
    sparse = [p for p in parts if sp.issparse(p)]
    if not dense:
        return reduce(operator.add, sparse)
    out = np.array(dense[0], dtype=np.float64, copy=True)
    for p in dense[1:]:
        out += p
    for p in sparse:
        out += p.toarray()
    return out


def _dense(shape: tuple[int, int], *parts) -> np.ndarray:
    """Partial sums (or none: zeros) added, as a dense float64 array."""
    import scipy.sparse as sp

    if not parts:
        return np.zeros(shape)
    total = _add(*parts)
    return np.asarray(total.toarray() if sp.issparse(total) else total, dtype=np.float64)


def _hstack(*parts) -> np.ndarray:
    return np.hstack(parts)


# ---------------------------------------------------------------------------------------
# the graph of one pass
# ---------------------------------------------------------------------------------------


def _dask():
    try:
        import dask
    except ImportError as err:  # pragma: no cover - a dask array implies dask
        msg = f"summing a dask array needs dask: {DASK_HINT}"
        raise ImportError(msg) from err
    return dask


@dataclass
class LazyPass:
    """The graph of one pass over a dask array (see :func:`lazy_group_sums`): ``problems``,
    one dask Delayed per block (its values that are not counts, or None), and ``sums``, one
    per range of groups (its groups × genes float64 sums). :meth:`problem` combines the
    computed ``problems``."""

    problems: list
    sums: list
    column_major: bool

    def problem(self, problems) -> NonCounts | None:
        """The non-counts of the whole matrix from the computed ``problems``."""
        return combine_problems(problems, column_major=self.column_major)


def lazy_group_sums(
    X, codes: np.ndarray | None, bounds: list[int], *, check: bool = True
) -> LazyPass:
    """The graph of one pass over a dask array ``X`` (cells × genes): sums of its cells per
    group and its values that are not counts.

    Each block (chunk) of ``X`` is read by one task, which sums its cells per group (one
    sparse product) and checks its values; the sums of each range of groups present in it
    go on to a tree of additions (:data:`SPLIT_EVERY` at a time) that ends in one dense
    array per range. With a distributed scheduler every block is read, summed and checked on
    the worker that runs its task: only sums travel. The cells' codes travel inside the
    graph (a few bytes per cell), so that dask can run any task of the pass again when a
    worker dies: data scattered to the workers has no such lineage (and dask keeps one copy
    of it).

    Parameters
    ----------
    X
        A 2-D dask array (chunks of scipy sparse matrices or numpy arrays, chunked along
        cells, genes or both).
    codes
        The group of each cell (-1: none); None for the check alone.
    bounds
        Edges of ranges of groups (``[0, n]``: one range of every group; one range per cell
        type): the sums of each range are added apart and come back as their own array.
    check
        Also find the values that are not counts.
    """
    import scipy.sparse as sp

    dask = _dask()
    delayed = dask.delayed
    if X.ndim != 2:
        msg = f"the cell matrix must be 2-D (cells × genes), not {X.ndim}-D"
        raise ValueError(msg)
    rows = np.concatenate([[0], np.cumsum(X.chunks[0])]).astype(np.int64)
    cols = np.concatenate([[0], np.cumsum(X.chunks[1])]).astype(np.int64)
    n_groups = bounds[-1]
    column_major = sp.issparse(X._meta) and X._meta.format == "csc"
    blocks = X.to_delayed()
    n_ranges = len(bounds) - 1 if codes is not None else 0
    # which ranges of groups (cell types) have cells in which block of rows: a piece of the
    # graph only for those
    present = []
    block_codes = []
    shared = len(cols) > 2  # several blocks of genes read the same cells' codes
    for i in range(len(rows) - 1):
        part = None if codes is None else np.asarray(codes[rows[i] : rows[i + 1]])
        # in the graph once, not once per block of genes (CSC: each block holds every cell)
        block_codes.append(delayed(part) if shared and part is not None else part)
        if part is None or not n_ranges:
            present.append({})
            continue
        which = np.searchsorted(bounds, part[part >= 0], side="right") - 1
        here = np.flatnonzero(np.bincount(which, minlength=n_ranges))
        present.append({int(k): (bounds[k], bounds[k + 1]) for k in here})
    pieces: list[list[list]] = [[[] for _ in range(len(cols) - 1)] for _ in range(n_ranges)]
    problems = []
    for i in range(len(rows) - 1):
        for j in range(len(cols) - 1):
            result = delayed(block_pass, pure=False)(
                blocks[i, j], block_codes[i], present[i], n_groups, int(rows[i]), int(cols[j]),
                check,
            )  # fmt: skip
            if check:
                problems.append(delayed(_problem, pure=False)(result))
            for k in present[i]:
                pieces[k][j].append(delayed(_piece, pure=False)(result, k))
    sums = []
    for k in range(n_ranges):
        shape_k = bounds[k + 1] - bounds[k]
        columns = []
        for j in range(len(cols) - 1):
            level = pieces[k][j]
            while len(level) > SPLIT_EVERY:
                level = [
                    delayed(_add, pure=False)(*level[a : a + SPLIT_EVERY])
                    for a in range(0, len(level), SPLIT_EVERY)
                ]
            columns.append(
                delayed(_dense, pure=False)((shape_k, int(cols[j + 1] - cols[j])), *level)
            )
        sums.append(columns[0] if len(columns) == 1 else delayed(_hstack, pure=False)(*columns))
    return LazyPass(problems, sums, column_major)
