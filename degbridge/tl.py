"""scverse-style tools on AnnData: results are written into the object.

>>> import degbridge as db
>>> db.tl.limma(adata, groupby="condition", contrast="treated - control", layer="counts")
>>> adata.var[["degbridge_logFC", "degbridge_adj.P.Val"]]
>>> db.tl.compare(adata, target="logFC")
>>> adata.uns["degbridge"]["compare"]["logFC"]["leaderboard"]

For single-cell data, ``sample_key=`` sums the raw counts of each sample (× group) first
(pseudobulk), then runs voom on the pseudobulk samples.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from .anndata import _check_anndata, check_key, pseudobulk, safe_key, store_comparison, store_limma
from .table import CANONICAL, DETable

__all__ = ["compare", "limma", "pseudobulk"]


def limma(
    adata,
    *,
    groupby: str | None = None,
    contrast=None,
    design: str | None = None,
    layer: str | None = None,
    method: str = "voom",
    sample_key: str | None = None,
    min_cells: int = 10,
    key_added: str = "degbridge",
    copy: bool = False,
    **options: Any,
):
    """Run limma on an AnnData and store the results in it.

    Parameters
    ----------
    adata
        Samples × genes (bulk, or pseudobulk already), or cells × genes with ``sample_key``.
    groupby
        ``obs`` column of the condition: design ``~ 0 + groupby``, contrasts over its levels.
    contrast
        E.g. ``"treated - control"``, a coefficient name with ``design=``, or a list.
    design
        A formula over ``obs`` columns instead of ``groupby`` (``"~ celltype + dex"``).
    layer
        Layer holding raw counts (or log-expression with ``method="ls"``); default ``X``.
    method
        ``"voom"`` (default), ``"trend"`` or ``"ls"``; see :func:`degbridge.run_limma`.
    sample_key
        Single-cell data: ``obs`` column of the biological sample; counts are summed per
        sample × ``groupby`` (:func:`degbridge.pseudobulk`) before limma.
    min_cells
        With ``sample_key``: pseudobulk samples with fewer cells are dropped (and reported).
    key_added
        Prefix of the ``adata.var`` columns and key of ``adata.uns``.
    copy
        Work on a copy and return it.
    **options
        Any other :func:`degbridge.run_limma` option (``filter``, ``robust``, ``lfc``,
        ``block``, ``weights``, ``confint``, ``normalize``, ``trend``, ``sort_by``...).

    Returns
    -------
    The AnnData when ``copy=True``, else None. Written: ``adata.var[f"{key_added}_logFC"]``
    etc. (one contrast) or ``adata.uns[key_added]["results"]`` (several), and
    ``adata.uns[key_added]`` with ``params``, ``design``, ``contrast`` and, with
    ``sample_key``, the pseudobulk ``samples`` table (``n_cells`` per sample).
    Nothing is written when anything fails.
    """
    from .limma import run_limma

    _check_anndata(adata)
    check_key(key_added)
    adata = adata.copy() if copy else adata
    if groupby is not None and groupby not in adata.obs.columns:
        msg = f"groupby={groupby!r} is not an obs column; obs columns are {list(map(str, adata.obs.columns))}"
        raise ValueError(msg)
    if (groupby is None) == (design is None):
        msg = "give groupby= (an obs column) or design= (a formula over obs columns), one of them"
        raise ValueError(msg)
    if contrast is None and groupby is not None:
        levels = sorted(map(str, adata.obs[groupby].unique()))
        msg = f"say which comparison to make, e.g. contrast='{levels[-1]} - {levels[0]}' (levels of {groupby!r}: {levels})"
        raise ValueError(msg)
    extra: dict[str, Any] = {}
    data = adata
    data_layer = layer
    if sample_key is not None:
        data = pseudobulk(adata, sample_key, groupby=groupby, layer=layer, min_cells=min_cells)
        data_layer = None
        extra["pseudobulk"] = {
            "samples": data.obs.copy(),
            **{k: v for k, v in data.uns["pseudobulk"].items() if k != "dropped"},
            "dropped": data.uns["pseudobulk"]["dropped"],
        }
    result = run_limma(
        data,
        groups=groupby,
        design=design,
        contrast=contrast,
        method=method,
        layer=data_layer,
        **options,
    )
    store_limma(adata, result, key=key_added, extra=extra or None)
    return adata if copy else None


def _stored_table(adata, key: str, contrast: str | None) -> DETable:
    uns = adata.uns.get(key)
    if uns is None:
        msg = (
            f"adata.uns has no {key!r}: run degbridge.tl.limma(adata, ..., key_added={key!r}) first"
        )
        raise ValueError(msg)
    if "results" in uns:
        names = list(uns.get("contrasts", []))
        if contrast is None:
            msg = f"adata.uns[{key!r}] holds several contrasts {names}: pass contrast=..."
            raise ValueError(msg)
        if contrast not in names:
            msg = f"contrast {contrast!r} is not stored; stored contrasts are {names}"
            raise ValueError(msg)
        frame = pd.DataFrame(uns["results"][safe_key(contrast)])
        frame.index.name = None
        return DETable(frame, meta={"source": f"adata.uns[{key!r}]", "contrast": contrast})
    cols = {c: f"{key}_{c}" for c in CANONICAL if f"{key}_{c}" in adata.var.columns}
    if not cols:
        msg = f"adata.var has no {key}_logFC, {key}_t... columns: run degbridge.tl.limma first"
        raise ValueError(msg)
    frame = adata.var[list(cols.values())].rename(columns={v: k for k, v in cols.items()})
    frame = frame.dropna(how="all")  # genes limma did not test (filtered)
    frame.index = frame.index.astype(str)
    return DETable(frame, meta={"source": f"adata.var ({key}_*)", "contrast": uns.get("contrast")})


def compare(
    adata,
    *,
    key: str = "degbridge",
    target: str = "logFC",
    contrast: str | None = None,
    var_features: Sequence[str] | None = None,
    copy: bool = False,
    **options: Any,
):
    """Compare regressors on the DE table stored by :func:`limma` and store the results.

    Parameters
    ----------
    adata
        An AnnData on which :func:`limma` ran with ``key_added=key``.
    key
        Where the DE results are (``adata.var[f"{key}_*"]``, ``adata.uns[key]``).
    target
        Column to predict (``"logFC"``, ``"B"``...).
    contrast
        Which stored contrast, when several were run.
    var_features
        ``adata.var`` columns to add as extra per-gene features (e.g. GC content, length).
    copy
        Work on a copy and return it.
    **options
        Any :func:`degbridge.compare` option (``models``, ``cv``, ``leakage``, ``n_jobs``...).

    Returns
    -------
    The :class:`~degbridge.Comparison` (and the AnnData first when ``copy=True``). Written:
    ``adata.var[f"{key}_{target}_predicted"]``, ``_oof``, ``_split`` and
    ``adata.uns[key]["compare"][target]`` (leaderboard, importances, leakage, params).
    """
    from .comparison import compare as _compare

    _check_anndata(adata)
    adata = adata.copy() if copy else adata
    table = _stored_table(adata, key, contrast)
    if var_features:
        missing = [c for c in var_features if c not in adata.var.columns]
        if missing:
            msg = f"var_features {missing} are not adata.var columns"
            raise ValueError(msg)
        extra = options.pop("extra", None)
        var_extra = adata.var[list(var_features)]
        var_extra.index = var_extra.index.astype(str)
        extras = {"var": var_extra}
        if isinstance(extra, dict):
            extras.update(extra)
        elif extra is not None:
            extras["extra"] = extra
        options["extra"] = extras
    res = _compare(table, target=target, **options)
    store_comparison(adata, res, key=key)
    return (adata, res) if copy else res
