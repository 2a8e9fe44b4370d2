"""AnnData in and out: pseudobulk sums, and results stored so that they survive ``.h5ad``.

Conventions (samples are ``obs``, genes are ``var``):

* one contrast: ``adata.var[f"{key}_{column}"]`` for ``logFC, AveExpr, t, P.Value, adj.P.Val,
  B`` (NaN for genes limma did not test, e.g. filtered out), and ``adata.uns[key]`` with
  ``params``, ``design``, ``contrast``, ``versions``...;
* several contrasts: ``adata.uns[key]["results"][name]`` (one DataFrame per contrast, indexed
  by gene) and ``adata.uns[key]["ftest"]``, ``adata.uns[key]["contrasts"]`` (the names);
* a comparison for target ``T``: ``adata.var[f"{key}_{T}_predicted"]``, ``..._oof``,
  ``..._split``, and ``adata.uns[key]["compare"][T]`` with the leaderboard, importances,
  leakage tables and params.

HDF5 does not allow ``/`` in names nor ``None`` values: keys are made safe (``/`` → ``÷``) and
``None`` values are left out, so what is stored is exactly what reads back.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ._checks import NonCounts, check_counts, get_matrix
from ._checks import check_anndata as _check_anndata
from .table import DETable

__all__ = ["annotate", "pseudobulk", "store_comparison", "store_limma", "write_h5ad"]


def _check_counts(X, layer: str | None, adata, chunk: int = 4_000_000) -> None:
    """Raw counts (the rule of :func:`degbridge._checks.check_counts`); say which layer to use
    otherwise. Checked in chunks of the stored values: a few MB however large the matrix."""
    where = f"layer {layer!r}" if layer else "X"

    def message(bad: NonCounts) -> str:
        if bad.kind == "missing":
            return f"{where} has missing values; pseudobulk needs raw counts"
        others = [name for name in adata.layers if name != layer]
        hint = (
            f"; the AnnData has layers {others}: pass layer='counts' (or whichever holds raw counts)"
            if others
            else ""
        )
        kind = "infinite" if bad.kind == "infinite" else "non-integer or negative"
        return (
            f"{where} holds {kind} values: normalised or log data, not raw "
            f"counts. Pseudobulk sums and voom need raw counts{hint}"
        )

    check_counts(X, message=message, chunk=chunk)


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
    indicator = sp.csr_matrix(
        (np.ones(n_cells), (codes, np.arange(n_cells))), shape=(n_groups, n_cells)
    )
    if not sp.issparse(X):
        step = max(1, block_nnz // max(n_genes, 1))
        for start in range(0, n_cells, step):
            stop = min(start + step, n_cells)
            out += indicator[:, start:stop] @ np.asarray(X[start:stop], dtype=np.float64)
        return out
    if X.format == "csc":
        bounds = _blocks(X.indptr, block_nnz)
        for start, stop in bounds:
            block = X[:, start:stop]
            out[:, start:stop] = (indicator @ block).toarray()
        return out
    X = X.tocsr() if X.format != "csr" else X
    for start, stop in _blocks(X.indptr, block_nnz):
        out += (indicator[:, start:stop] @ X[start:stop]).toarray()
    return out


def _blocks(indptr: np.ndarray, block_nnz: int) -> list[tuple[int, int]]:
    """Ranges of rows (CSR) or columns (CSC) holding about block_nnz stored values each."""
    n = len(indptr) - 1
    cuts = np.searchsorted(indptr, np.arange(block_nnz, indptr[-1], block_nnz), side="left")
    edges = np.unique(np.concatenate([[0], cuts, [n]]))
    return [(int(a), int(b)) for a, b in itertools.pairwise(edges) if b > a]


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
    densified or copied (peak memory is the cell matrix plus one block and the small result). Pseudobulk samples with fewer
    than ``min_cells`` cells are dropped and reported in ``uns["pseudobulk"]["dropped"]``.

    Parameters
    ----------
    adata
        Cells × genes, raw counts in ``X`` or ``layer`` (sparse or dense).
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
    """
    import anndata as ad

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
    X = get_matrix(adata, layer)
    _check_counts(X, layer, adata)
    keys = [sample_key] if groupby is None else [sample_key, groupby]
    obs = adata.obs[keys].astype(str)
    if adata.obs[keys].isna().any().any():
        msg = f"obs columns {keys} have missing values; every cell needs a sample (and group)"
        raise ValueError(msg)
    labels = obs[keys[0]] if groupby is None else obs[keys[0]] + "_" + obs[keys[1]]
    codes, uniques = pd.factorize(labels, sort=True)
    n_cells = np.bincount(codes, minlength=len(uniques))
    keep = n_cells >= min_cells
    dropped = {str(u): int(c) for u, c in zip(uniques, n_cells) if c < min_cells}
    if not keep.any():
        msg = (
            f"every pseudobulk sample has fewer than min_cells={min_cells} cells "
            f"(largest: {int(n_cells.max())}); lower min_cells"
        )
        raise ValueError(msg)
    values = _group_sums(X, codes, len(uniques))[keep]
    names = [str(u) for u, k in zip(uniques, keep) if k]
    first = pd.Series(np.arange(len(codes))).groupby(codes).first()
    constant = []
    for col in adata.obs.columns:
        per = adata.obs[col].groupby(codes, observed=True).nunique(dropna=False)
        if (per <= 1).all():
            constant.append(col)
    pb_obs = adata.obs.iloc[first.loc[np.flatnonzero(keep)].to_numpy()][constant].copy()
    pb_obs.index = pd.Index(names)
    for k in keys:
        pb_obs[k] = obs[k].iloc[first.loc[np.flatnonzero(keep)].to_numpy()].to_numpy()
    pb_obs["n_cells"] = n_cells[keep]
    out = ad.AnnData(X=values, obs=pb_obs, var=pd.DataFrame(index=adata.var_names.copy()))
    out.uns["pseudobulk"] = {
        "sample_key": sample_key,
        "min_cells": int(min_cells),
        "layer": layer or "X",
        "n_cells_total": len(codes),
        "dropped": dropped,
    }
    if groupby is not None:
        out.uns["pseudobulk"]["groupby"] = groupby
    return out


# ---------------------------------------------------------------------------------------
# storing results
# ---------------------------------------------------------------------------------------


def check_key(key, what: str = "key_added") -> str:
    """A key for ``adata.uns`` and a prefix of ``adata.var`` columns that survives ``.h5ad``.

    HDF5 group names cannot be empty nor hold ``/``; control characters are refused too.
    """
    if not isinstance(key, str):
        msg = f"{what} must be a string, not {type(key).__name__}"
        raise TypeError(msg)
    if not key.strip():
        msg = f"{what} must be a non-empty name, not {key!r}"
        raise ValueError(msg)
    if "/" in key:
        msg = f"{what}={key!r} contains '/', which .h5ad (HDF5) cannot store in a name; use e.g. {key.replace('/', '_')!r}"
        raise ValueError(msg)
    from .design import check_label

    return check_label(key, what)


def safe_key(name: str) -> str:
    """An HDF5-safe name: '/' is not allowed in group or dataset names."""
    return str(name).replace("/", "÷")


def h5ad_safe(value: Any) -> Any:
    """A copy of value that AnnData can write and reads back equal: no None, safe keys."""
    if isinstance(value, Mapping):
        return {safe_key(k): h5ad_safe(v) for k, v in value.items() if v is not None}
    if isinstance(value, pd.DataFrame):
        frame = value.copy()
        frame.columns = [safe_key(c) for c in frame.columns]
        for col in frame.columns:
            s = frame[col]
            if s.dtype == object or isinstance(s.dtype, pd.StringDtype):
                frame[col] = s.astype(object).where(s.notna(), "").astype(str)
        if frame.index.name is not None:
            frame.index.name = safe_key(frame.index.name)
        frame.index = frame.index.astype(str)
        return frame
    if isinstance(value, list | tuple):
        if all(isinstance(v, str) for v in value):
            return [str(v) for v in value]
        if all(isinstance(v, bool | np.bool_) for v in value):
            return np.asarray(value, dtype=bool)
        if all(isinstance(v, int | float | np.integer | np.floating) for v in value):
            return np.asarray(value, dtype=float)
        return [str(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _limma_params(meta: dict[str, Any]) -> dict[str, Any]:
    keep = (
        "method", "options", "design_formula", "factors", "versions", "n_genes_input",
        "n_genes_tested", "n_genes_filtered", "n_missing_values", "lib_size", "norm_factors",
        "sample_weights", "consensus_correlation", "df_prior", "dropped_all_zero", "input",
    )  # fmt: skip
    return {k: meta[k] for k in keep if k in meta and meta[k] is not None}


def store_limma(
    adata, result, *, key: str = "degbridge", extra: dict[str, Any] | None = None
) -> None:
    """Write run_limma results into ``adata.var`` / ``adata.uns[key]`` (all or nothing)."""
    from .limma import DEResults

    check_key(key)

    genes = adata.var_names
    var_updates: dict[str, np.ndarray] = {}
    if isinstance(result, DEResults):
        first = next(iter(result.values()))
        uns = {
            "contrasts": list(result),
            "results": {
                safe_key(n): h5ad_safe(pd.DataFrame(t).rename_axis("gene"))
                for n, t in result.items()
            },
            "contrast_vectors": h5ad_safe(first.meta["contrasts"].rename_axis("coefficient")),
        }
        if result.ftest is not None:
            uns["ftest"] = h5ad_safe(pd.DataFrame(result.ftest).rename_axis("gene"))
        meta = first.meta
    else:
        if not isinstance(result, DETable):
            msg = f"store_limma expects a DETable or DEResults, not {type(result).__name__}"
            raise TypeError(msg)
        table = result.reindex(genes)
        for col in table.columns:
            if pd.api.types.is_numeric_dtype(table[col]):
                var_updates[f"{key}_{col}"] = table[col].to_numpy(dtype=float)
        meta = result.meta
        uns = {"contrast": meta.get("contrast"), "contrast_vector": meta.get("contrast_vector")}
    uns["design"] = h5ad_safe(meta["design"].rename_axis("sample"))
    uns["params"] = h5ad_safe(_limma_params(meta))
    if extra:
        uns.update(h5ad_safe(extra))
    uns = h5ad_safe(uns)
    # everything is computed; now write (nothing is written when anything above fails)
    for col, values in var_updates.items():
        adata.var[col] = values
    previous = adata.uns.get(key, {})
    kept = (
        {"compare": previous["compare"]}
        if isinstance(previous, Mapping) and "compare" in previous
        else {}
    )
    adata.uns[key] = {**kept, **uns}


def store_comparison(adata, res, *, key: str = "degbridge") -> None:
    """Write a comparison's predictions into ``adata.var`` and tables into ``adata.uns[key]``."""
    from .handback import comparison_tables

    _check_anndata(adata)
    check_key(key, "key")
    genes = adata.var_names
    missing = set(res.predictions.index) - set(genes)
    if missing:
        msg = f"{len(missing)} genes of the comparison are not in adata.var_names, e.g. {sorted(missing)[:3]}"
        raise ValueError(msg)
    preds = res.predictions.reindex(genes)
    target = safe_key(res.target)
    var_updates = {
        f"{key}_{target}_predicted": preds["predicted"].to_numpy(dtype=float),
        f"{key}_{target}_oof": preds["oof"].to_numpy(dtype=float),
        f"{key}_{target}_split": pd.Categorical(
            preds["split"].fillna("not used"), categories=["train", "test", "not used"]
        ),
    }
    tables = {}
    for name, frame in comparison_tables(res).items():
        if name == "predictions":
            continue
        tables[name] = h5ad_safe(
            frame if name in ("leakage", "leakage_scores") else frame.reset_index(drop=True)
        )
    tables["params"] = h5ad_safe(res.params)
    tables["best"] = res.best.name
    entry = h5ad_safe(tables)
    for col, values in var_updates.items():
        adata.var[col] = values
    uns = dict(adata.uns.get(key, {}))
    compare = dict(uns.get("compare", {}))
    compare[target] = entry
    uns["compare"] = compare
    adata.uns[key] = uns


def annotate(adata, result, *, key: str = "degbridge"):
    """Store a run_limma result or a Comparison in an AnnData (see module docs); returns it."""
    from .comparison import Comparison

    _check_anndata(adata)
    if isinstance(result, Comparison):
        store_comparison(adata, result, key=key)
    else:
        store_limma(adata, result, key=key)
    return adata


def write_h5ad(adata, path, **kwargs):
    """``adata.write_h5ad(path)``, atomically: a failure leaves the old file (or none).

    AnnData writes in place, so an interrupted write would leave a truncated ``.h5ad``; this
    writes to a temporary name beside ``path`` and renames it when complete.
    """
    from ._io import atomic_path

    _check_anndata(adata)
    with atomic_path(path) as tmp:
        adata.write_h5ad(tmp, **kwargs)
    return path
