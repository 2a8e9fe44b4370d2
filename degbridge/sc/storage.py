"""AnnData storage of results: the one writer and reader of ``adata.uns[key]`` layouts.

degbridge writes into ``adata.uns[key]`` only (never ``adata.var`` columns), one entry per call,
read back with :mod:`degbridge.get`:

* one fit (:func:`store_limma`, by ``tl.de(key_added=...)``): ``kind`` = ``"degbridge
  limma"``, ``contrasts`` (exact names, in order), ``contrast_keys`` (their HDF5-safe keys,
  same order), ``results[contrast_key]`` (one DataFrame per contrast: the tested genes as
  index, the method's columns), ``contrast_vectors``, ``design``, ``params``, and ``ftest``
  (several contrasts) and ``pseudobulk`` when they apply;
* one fit per cell type (``tl.de(celltype_key=...)``): ``kind`` = :data:`CELLTYPE_KIND`,
  one long table and the tables of what was fitted and skipped (see :func:`degbridge.tl.de`);
* a comparison (:func:`store_comparison`, by ``tl.compare(key_added=...)``): ``kind`` =
  ``"degbridge compare"``, ``target``, ``best``, ``source`` (``key`` and ``contrast`` of the
  results it used), ``params`` and the tables of :data:`COMPARE_TABLES`.

HDF5 does not allow ``/`` in names nor ``None`` values: keys are made safe (``/`` → ``÷``,
:func:`safe_keys`) with the exact names stored beside them, and ``None`` values are left out
(:func:`h5ad_safe`), so what is stored is exactly what reads back. :func:`write_h5ad` writes
atomically.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .._checks import check_anndata as _check_anndata
from .._checks import check_label
from ..io.table import DETable

#: ``adata.uns[key]["kind"]`` of what :func:`store_limma` / :func:`store_comparison` write
LIMMA_KIND = "degbridge limma"


COMPARE_KIND = "degbridge compare"


#: the tables of a comparison stored by :func:`store_comparison`, and their row labels
COMPARE_TABLES = {
    "leaderboard": None,
    "predictions": "gene",
    "importances": None,
    "leakage": "feature",
    "leakage_scores": "scores",
    "preprocessing": None,
    "outliers": None,
    "cv_scores": None,
}


def check_key(key, what: str = "key_added") -> str:
    """A key for ``adata.uns`` that survives ``.h5ad``.

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
    return check_label(key, what)


def safe_key(name: str) -> str:
    """An HDF5-safe name: '/' is not allowed in group or dataset names."""
    return str(name).replace("/", "÷")


def safe_keys(names: list[str]) -> list[str]:
    """HDF5-safe, distinct keys for ``names`` (in order): ``/`` → ``÷``, then ``~2``, ``~3``...
    for names that would collide (``"a/b"`` and ``"a÷b"``). Stored beside the names, so the
    names read back exactly."""
    out: list[str] = []
    for name in names:
        key, n = safe_key(name), 1
        while key in out:
            n += 1
            key = f"{safe_key(name)}~{n}"
        out.append(key)
    return out


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


def _names(value) -> list[str]:
    """A list of strings as stored (a list before writing, an array after ``read_h5ad``)."""
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def _limma_params(meta: dict[str, Any]) -> dict[str, Any]:
    keep = (
        "method", "options", "design_formula", "factors", "versions", "n_genes_input",
        "n_genes_tested", "n_genes_filtered", "n_missing_values", "lib_size", "norm_factors",
        "sample_weights", "consensus_correlation", "df_prior", "dropped_all_zero", "input",
    )  # fmt: skip
    return {k: meta[k] for k in keep if k in meta and meta[k] is not None}


def store_limma(
    adata,
    result,
    *,
    key: str = "degbridge",
    extra: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
) -> None:
    """Write run_limma results into ``adata.uns[key]``, the same layout for 1..n contrasts.

    Written (replacing ``adata.uns[key]``; nothing is written when anything fails):
    ``kind`` (``"degbridge limma"``), ``contrasts`` (the exact names, in order),
    ``contrast_keys`` (their HDF5-safe keys, same order), ``results[contrast_key]`` (one
    DataFrame per contrast, indexed by gene, the tested genes in limma's order),
    ``contrast_vectors`` (coefficients × contrast keys), ``design``, ``params`` (``params``
    added), ``ftest`` (several contrasts, when limma computed it) and ``extra``'s entries.
    """
    from ..de.backend import DEResults

    check_key(key)
    if isinstance(result, DETable):
        tables = {str(result.meta.get("contrast", "contrast")): result}
        ftest = None
    elif isinstance(result, DEResults):
        tables, ftest = dict(result), result.ftest
    else:
        msg = f"store_limma expects a DETable or DEResults, not {type(result).__name__}"
        raise TypeError(msg)
    names = list(tables)
    keys = safe_keys(names)
    first = tables[names[0]]
    meta = first.meta
    vectors = meta["contrasts"].copy()
    vectors.columns = keys
    uns: dict[str, Any] = {
        "kind": LIMMA_KIND,
        "contrasts": names,
        "contrast_keys": keys,
        "results": {k: pd.DataFrame(tables[n]).rename_axis("gene") for n, k in zip(names, keys)},
        "contrast_vectors": vectors.rename_axis("coefficient"),
        "design": meta["design"].rename_axis("sample"),
        "params": {**_limma_params(meta), **(params or {})},
    }
    if ftest is not None:
        uns["ftest"] = (
            pd.DataFrame(ftest).rename(columns=dict(zip(names, keys))).rename_axis("gene")
        )
    uns.update(extra or {})
    adata.uns[key] = h5ad_safe(uns)


def stored(adata, key: str, kind: str, hint: str) -> Mapping:
    """``adata.uns[key]`` written by degbridge as ``kind``; the errors list what is stored."""
    _check_anndata(adata)
    check_key(key, "key")
    entry = adata.uns.get(key)
    if isinstance(entry, Mapping) and entry.get("kind") == kind:
        return entry
    found = [k for k, v in adata.uns.items() if isinstance(v, Mapping) and v.get("kind") == kind]
    where = f"{kind} results are stored under {found}" if found else f"no {kind} results are stored"
    if entry is None:
        msg = f"adata.uns has no {key!r}: run {hint} first ({where})"
    else:
        what = entry.get("kind") if isinstance(entry, Mapping) else None
        what = repr(what) if isinstance(what, str) else "something else (or an older layout)"
        msg = f"adata.uns[{key!r}] holds {what}, not {kind} results ({where}; run {hint})"
    raise ValueError(msg)


def stored_contrasts(adata, key: str = "degbridge") -> dict[str, str]:
    """The contrasts stored by :func:`store_limma`: ``{exact name: key in results}``."""
    hint = f"degbridge.tl.limma(adata, ..., key_added={key!r})"
    entry = stored(adata, key, LIMMA_KIND, hint)
    return dict(zip(_names(entry["contrasts"]), _names(entry["contrast_keys"])))


def stored_limma(adata, key: str = "degbridge", contrast: str | None = None) -> DETable:
    """One stored contrast's table (``contrast=None``: the only one), as a :class:`DETable`."""
    contrasts = stored_contrasts(adata, key)
    names = list(contrasts)
    if contrast is None:
        if len(names) > 1:
            msg = f"adata.uns[{key!r}] holds several contrasts {names}: pass contrast=..."
            raise ValueError(msg)
        contrast = names[0]
    if not isinstance(contrast, str) or contrast not in contrasts:
        msg = f"contrast {contrast!r} is not stored in adata.uns[{key!r}]; stored contrasts are {names}"
        raise ValueError(msg)
    entry = adata.uns[key]
    frame = pd.DataFrame(entry["results"][contrasts[contrast]]).copy()
    frame.index = frame.index.astype(str)
    frame.index.name = None
    design = pd.DataFrame(entry["design"]).copy()
    design.index.name = None
    meta = {"source": f"adata.uns[{key!r}]", "contrast": contrast, "design": design}
    return DETable(frame, meta=meta)


def store_comparison(adata, res, *, key_added: str, source: Mapping[str, Any]) -> None:
    """Write a comparison into ``adata.uns[key_added]`` (replacing it).

    Written: ``kind`` (``"degbridge compare"``), ``target``, ``best`` (the selected model's
    name), ``source`` (where the table came from: ``key``, ``contrast``), ``params`` and
    one DataFrame per table of :data:`COMPARE_TABLES` the comparison has (``predictions``
    indexed by gene, ``leakage`` by feature, ``leakage_scores`` by feature set).
    """
    check_key(key_added)
    missing = set(res.predictions.index) - set(adata.var_names)
    if missing:
        msg = f"{len(missing)} genes of the comparison are not in adata.var_names, e.g. {sorted(missing)[:3]}"
        raise ValueError(msg)
    entry: dict[str, Any] = {
        "kind": COMPARE_KIND,
        "target": res.target,
        "best": res.best.name,
        "source": dict(source),
        "params": res.params,
    }
    for name, index_name in COMPARE_TABLES.items():
        frame = getattr(res, name)
        if frame is None:
            continue
        frame = frame.rename_axis(index_name) if index_name else frame.reset_index(drop=True)
        entry[name] = frame
    adata.uns[key_added] = h5ad_safe(entry)


def write_h5ad(adata, path, **kwargs):
    """``adata.write_h5ad(path)``, atomically: a failure leaves the old file (or none).

    AnnData writes in place, so an interrupted write would leave a truncated ``.h5ad``; this
    writes to a temporary name beside ``path`` and renames it when complete.
    """
    from ..io.files import atomic_path

    _check_anndata(adata)
    with atomic_path(path) as tmp:
        adata.write_h5ad(tmp, **kwargs)
    return path


#: ``adata.uns[key]["kind"]`` written by ``tl.limma(celltype_key=...)`` (one long table)
CELLTYPE_KIND = "degbridge limma per cell type"


def celltype_entry(*, contrasts, levels, results, skipped, samples, fits, params) -> dict[str, Any]:
    """The ``adata.uns`` entry of ``tl.de(celltype_key=...)`` (``kind`` =
    :data:`CELLTYPE_KIND`), ``.h5ad``-safe: the long ``results`` table, ``cell_types``
    (fitted), ``skipped`` (``cell_type, reason``), ``samples`` (``used`` says why a sample was
    not), ``n_samples`` (pseudobulk samples used, fitted cell types × conditions), ``fits``
    and ``params``."""
    fitted = [f[0] for f in fits]
    n_samples = (
        samples[samples["used"] == "yes"]
        .groupby(["cell_type", "condition"])
        .size()
        .reindex(pd.MultiIndex.from_product([fitted, levels]), fill_value=0)
        .rename_axis(["cell_type", "condition"])
        .rename("n_samples")
        .reset_index()
    )
    entry = {
        "kind": CELLTYPE_KIND,
        "contrasts": contrasts,
        "cell_types": fitted,
        "results": results,
        "skipped": pd.DataFrame(skipped, columns=["cell_type", "reason"]),
        "samples": samples,
        "n_samples": n_samples,
        "fits": pd.DataFrame(fits, columns=["cell_type", "n_samples", "n_genes", "method_choice"]),
        "params": params,
    }
    return h5ad_safe(entry)
