"""scverse-style tools on AnnData: results are written into ``adata.uns``, read with ``get``.

>>> import degbridge as db
>>> db.tl.limma(adata, groupby="condition", contrast="treated - control", layer="counts")
>>> db.get.limma_df(adata)  # gene, contrast, logFC, AveExpr, t, P.Value, adj.P.Val, B
>>> db.tl.compare(adata, target="logFC")  # reads uns["degbridge"], writes uns["degbridge_compare"]
>>> db.get.compare_df(adata, table="leaderboard")

Like ``scanpy.tl.rank_genes_groups``: every writer takes ``key_added=`` (the ``adata.uns`` key
it replaces) and ``copy=`` (``True``: work on a copy and return it; else write in place and
return ``None``). The layout is the same for one contrast or several (see
:mod:`degbridge.anndata`), and survives ``.h5ad`` (:func:`degbridge.write_h5ad`).

For single-cell data, ``sample_key=`` sums the raw counts of each sample (× group) first
(pseudobulk, :func:`degbridge.pp.pseudobulk`), then runs voom on the pseudobulk samples.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._params import fill_docs
from .anndata import _check_anndata, check_key, pseudobulk, store_comparison, store_limma
from .anndata import stored_limma as _stored_limma

__all__ = ["compare", "limma"]


@fill_docs
def limma(
    adata,
    *,
    groupby: str | None = None,
    contrast=None,
    design: str | None = None,
    layer: str | None = None,
    method: str | None = None,
    sample_key: str | None = None,
    min_cells: int = 10,
    key_added: str = "degbridge",
    copy: bool = False,
    **options: Any,
):
    """Run limma on an AnnData and store the results in ``adata.uns[key_added]``.

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
        Layer holding raw counts or log-expression; default ``X``.
    method
        {method}
        ``None`` (the default) applies that rule to ``X``/``layer`` (with ``sample_key``, to
        the pseudobulk sums, which are raw counts): the choice is logged (logger
        ``"degbridge"``, level INFO) and recorded in
        ``adata.uns[key_added]["params"]["method_choice"]``, as by :func:`degbridge.run_limma`.
    sample_key
        Single-cell data: ``obs`` column of the biological sample; counts are summed per
        sample × ``groupby`` (:func:`degbridge.pp.pseudobulk`) before limma.
    min_cells
        With ``sample_key``: pseudobulk samples with fewer cells are dropped (and reported).
    key_added
        The ``adata.uns`` key written (replaced when present).
    copy
        Work on a copy and return it.
    **options
        Any other :func:`degbridge.run_limma` option (those below, ``sort_by``...).

    Other Parameters
    ----------------
    normalize
        {normalize}
    filter
        {filter}
        ``None`` keeps every gene.
    robust
        {robust}
    trend
        {trend}
    lfc
        {lfc}
    block
        {block}
        Here an ``obs`` column, or one label per sample.
    weights
        {weights}
    confint
        {confint}
        Or a level such as ``0.99``.
    prior_count
        {prior_count}

    Returns
    -------
    The AnnData when ``copy=True``, else None. Written: ``adata.uns[key_added]`` with
    ``contrasts``, ``results`` (one table per contrast, also for one), ``params``, ``design``
    and, with ``sample_key``, ``pseudobulk`` (``samples`` with ``n_cells``, ``dropped``); see
    :mod:`degbridge.anndata`. Read the tables with :func:`degbridge.get.limma_df`. Nothing is
    written when anything fails.
    """
    from .limma import DEResults, run_limma

    _check_anndata(adata)
    check_key(key_added)
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
    data, data_layer = adata, layer
    if sample_key is not None:
        data = pseudobulk(adata, sample_key, groupby=groupby, layer=layer, min_cells=min_cells)
        data_layer = None
        extra["pseudobulk"] = {"samples": data.obs.copy(), **data.uns["pseudobulk"]}
    result = run_limma(
        data,
        groups=groupby,
        design=design,
        contrast=contrast,
        method=method,
        layer=data_layer,
        **options,
    )
    # run_limma chose the method (the one rule, _params.resolve_method) and says why
    first = next(iter(result.values())) if isinstance(result, DEResults) else result
    params = {"method_choice": first.meta["method_choice"]}
    adata = adata.copy() if copy else adata
    store_limma(adata, result, key=key_added, extra=extra, params=params)
    return adata if copy else None


def compare(
    adata,
    *,
    key: str = "degbridge",
    key_added: str | None = None,
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
        Where the limma results are read (``adata.uns[key]``).
    key_added
        The ``adata.uns`` key written (replaced when present); default ``f"{key}_compare"``.
        Must differ from ``key``.
    target
        Column to predict (``"logFC"``, ``"B"``...).
    contrast
        Which stored contrast; ``None`` is the only one (an error names them when several
        are stored).
    var_features
        ``adata.var`` columns to add as extra per-gene features (e.g. GC content, length).
    copy
        Work on a copy and return it.
    **options
        Any :func:`degbridge.compare` option (``models``, ``cv``, ``leakage``, ``n_jobs``...).

    Returns
    -------
    The AnnData when ``copy=True``, else None. Written: ``adata.uns[key_added]`` with
    ``target``, ``best``, ``source`` (``key``, ``contrast``), ``params`` and the comparison's
    tables (``leaderboard``, ``predictions`` per gene, ``importances``, ``leakage``...); read
    them with :func:`degbridge.get.compare_df`. For the fitted models themselves (not
    storable in ``.h5ad``), call :func:`degbridge.compare` on
    ``degbridge.get.limma_df(adata, contrast=...)``.
    """
    from .comparison import compare as _compare

    _check_anndata(adata)
    check_key(key, "key")
    key_added = f"{key}_compare" if key_added is None else key_added
    check_key(key_added)
    if key_added == key:
        msg = f"key_added={key_added!r} is where the limma results are read (key=): choose another key_added"
        raise ValueError(msg)
    table = _stored_limma(adata, key, contrast)
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
    adata = adata.copy() if copy else adata
    source = {"key": key, "contrast": table.meta["contrast"]}
    store_comparison(adata, res, key_added=key_added, source=source)
    return adata if copy else None
