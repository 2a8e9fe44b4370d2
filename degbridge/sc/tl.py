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
(pseudobulk, :func:`degbridge.pp.pseudobulk`), then runs voom on the pseudobulk samples; with
``celltype_key=`` as well, one pseudobulk and one fit per cell type (as muscat's ``pbDS``):

>>> db.tl.limma(cells, groupby="condition", sample_key="donor", celltype_key="cell_type",
...             contrast="treated - control", layer="counts")
>>> db.get.limma_df(cells, cell_type="B cells")

The same verbs run edgeR or DESeq2 instead of limma: ``method="edger"`` or ``"deseq2"``
(:func:`degbridge.run_edger`, :func:`degbridge.run_deseq2`), for one fit and per cell type.
:func:`de` is the general name (``tl.de(adata, method="edger", ...)``); :func:`limma` is the
same function under its first name:

>>> db.tl.de(cells, method="edger", groupby="condition", sample_key="donor",
...          celltype_key="cell_type", contrast="stim - ctrl")
>>> db.get.limma_df(cells, cell_type="B cells")  # logFC, AveExpr (logCPM), P.Value, adj.P.Val, F
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._exceptions import DataWarning, RError
from .._params import METHODS, OTHER_METHODS, caller_stacklevel, check_method_options, fill_docs
from .get import CELLTYPE_KIND
from .pseudobulk import (
    _check_anndata,
    check_key,
    h5ad_safe,
    pseudobulk,
    store_comparison,
    store_limma,
)
from .pseudobulk import _check_counts as _check_raw_counts
from .pseudobulk import stored_limma as _stored_limma

__all__ = ["DE_METHODS", "compare", "de", "limma"]

#: ``adjust=`` of the per-cell-type path
Adjust = Literal["per_cell_type", "global"]
ADJUST: tuple[str, ...] = ("per_cell_type", "global")
#: ``method=`` of :func:`de` / :func:`limma`: limma's ways (``run_limma``), then edgeR and DESeq2
DE_METHODS: tuple[str, ...] = METHODS + OTHER_METHODS


@fill_docs
def de(
    adata,
    *,
    groupby: str | None = None,
    contrast=None,
    design: str | None = None,
    layer: str | None = None,
    method: str | None = None,
    sample_key: str | None = None,
    celltype_key: str | None = None,
    min_cells: int = 10,
    min_samples: int = 2,
    adjust: Adjust = "per_cell_type",
    progress: bool = True,
    key_added: str = "degbridge",
    copy: bool = False,
    **options: Any,
):
    """Differential expression (limma, edgeR or DESeq2) on an AnnData, stored in
    ``adata.uns[key_added]``.

    :func:`limma` is this function under its first name (same arguments, same results).

    Parameters
    ----------
    adata
        Samples × genes (bulk, or pseudobulk already), or cells × genes with ``sample_key``.
    groupby
        ``obs`` column of the condition: design ``~ 0 + groupby``, contrasts over its levels.
    contrast
        E.g. ``"treated - control"``, a coefficient name with ``design=``, or a list
        (``method="deseq2"``: one contrast).
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
        ``"edger"``: :func:`degbridge.run_edger` (quasi-likelihood F-test by default);
        ``"deseq2"``: :func:`degbridge.run_deseq2` (Wald test by default), on raw counts. Their
        tables hold limma's column names where the package's column has one (edgeR:
        ``logFC, AveExpr`` (logCPM), ``P.Value, adj.P.Val`` (FDR), ``F`` or ``LR``; DESeq2:
        ``logFC`` (log2FoldChange), ``t`` (stat), ``P.Value, adj.P.Val`` (padj, missing for
        genes DESeq2 filtered out), ``baseMean, lfcSE``); the native names are in
        ``params["column_map"]``.
    sample_key
        Single-cell data: ``obs`` column of the biological sample; counts are summed per
        sample × ``groupby`` (:func:`degbridge.pp.pseudobulk`) before the fit.
    celltype_key
        Single-cell data with ``sample_key`` and ``groupby``: ``obs`` column of the cell type.
        Each cell type gets its own pseudobulk (sample × ``groupby`` sums of its cells) and its
        own fit, as muscat's ``pbDS``; see "Per cell type" below.
    min_cells
        With ``sample_key``: pseudobulk samples with fewer cells are dropped (and reported).
    min_samples
        With ``celltype_key``: a cell type is fitted only when every level of ``groupby`` has
        at least this many pseudobulk samples left after ``min_cells``; otherwise it is
        skipped, with the reason.
    adjust
        With ``celltype_key``: ``"per_cell_type"`` (the default): ``adj.P.Val`` is
        Benjamini-Hochberg within each cell type's table (what each fit returns);
        ``"global"``: Benjamini-Hochberg over the P-values of all cell types together, for
        each contrast (muscat's ``p_adj.glb``; R's ``p.adjust(p, "BH")``). Genes a fit left
        without ``adj.P.Val`` (DESeq2's independent filtering) stay without it and are not
        counted.
    progress
        With ``celltype_key``: a progress bar over the cell types (tqdm).
    key_added
        The ``adata.uns`` key written (replaced when present).
    copy
        Work on a copy and return it.
    **options
        Options of the method's function: :func:`degbridge.run_limma` for limma's methods
        (those below, ``sort_by``...), :func:`degbridge.run_edger` for ``"edger"``
        (``test``, ``robust``, ``lfc``, ``normalize``, ``filter``) and
        :func:`degbridge.run_deseq2` for ``"deseq2"`` (``test``, ``reduced``, ``shrink``,
        ``independent_filtering``, ``alpha``, ``cooks_cutoff``). An option the method does
        not have is refused (ValueError naming the option and the method), e.g. ``trend``,
        ``block`` or ``weights`` with edgeR or DESeq2; ``robust`` with edgeR is edgeR's own
        (``estimateDisp``/``glmQLFit``, on by default), not limma's ``eBayes(robust=)``.

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
    ``contrasts``, ``results`` (one table per contrast, also for one), ``params`` (the method
    and its options in ``params["options"]``, R package ``versions``; for edgeR/DESeq2 also
    ``column_map``, dispersions and, for DESeq2, ``size_factors`` and ``na_reasons``),
    ``design`` and, with ``sample_key``, ``pseudobulk`` (``samples`` with ``n_cells``,
    ``dropped``); see :mod:`degbridge.anndata`. Read the tables with
    :func:`degbridge.get.limma_df`. Nothing is written when anything fails.

    Per cell type
    -------------
    With ``celltype_key``, ``adata.uns[key_added]`` holds (every part ``.h5ad``-safe):
    ``kind`` (``"degbridge limma per cell type"``), ``results`` (one long table: ``cell_type,
    contrast, gene`` then the method's columns: limma's ``logFC, AveExpr, t, P.Value,
    adj.P.Val, B``, edgeR's or DESeq2's as above; each cell type's genes in the method's
    order), ``cell_types`` (those fitted), ``skipped``
    (``cell_type, reason``), ``samples`` (one row per sample × condition × cell type:
    ``n_cells`` and ``used``: kept for the fit or why not), ``n_samples`` (pseudobulk samples
    used, cell types × conditions), ``contrasts``, ``fits`` (samples, genes and method of
    each fit) and ``params`` (``method``, ``adjust``, ``min_cells``, ``min_samples``,
    ``versions``...). Pseudobulk samples with fewer than
    ``min_cells`` cells are dropped; a cell type with fewer than ``min_samples`` samples in a
    condition after that is skipped, and so is one whose fit fails for a reason of its data
    (too few residual degrees of freedom, or an R error: R's message is the reason). Skipped
    cell types raise one :class:`degbridge.DataWarning` listing them; when every cell type is
    skipped, a ValueError gives each reason. Read with ``degbridge.get.limma_df(adata,
    key=key_added, cell_type=...)``.
    """
    from ..de.backend import DEResults

    _check_anndata(adata)
    check_key(key_added)
    run = _method_function(method, options)
    if celltype_key is not None:
        entry = _limma_per_cell_type(
            adata,
            run=run,
            groupby=groupby,
            contrast=contrast,
            design=design,
            layer=layer,
            method=method,
            sample_key=sample_key,
            celltype_key=celltype_key,
            min_cells=min_cells,
            min_samples=min_samples,
            adjust=adjust,
            progress=progress,
            options=options,
        )
        adata = adata.copy() if copy else adata
        adata.uns[key_added] = entry
        return adata if copy else None
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
    kwargs = options if method in OTHER_METHODS else {"method": method, **options}
    result = run(data, groups=groupby, design=design, contrast=contrast, layer=data_layer, **kwargs)
    # run_limma chose its method (the one rule, _params.resolve_method) and says why
    first = next(iter(result.values())) if isinstance(result, DEResults) else result
    params = _method_params(method, first.meta)
    adata = adata.copy() if copy else adata
    store_limma(adata, result, key=key_added, extra=extra, params=params)
    return adata if copy else None


def limma(adata, **kwargs: Any):
    """:func:`de` under its first name: differential expression on an AnnData, stored in
    ``adata.uns[key_added]``; ``method="edger"``/``"deseq2"`` run edgeR/DESeq2 instead of
    limma. Same arguments and results as :func:`de` (see there).
    """
    return de(adata, **kwargs)


limma.__signature__ = inspect.signature(de)  # type: ignore[attr-defined]


def _method_function(method, options: dict[str, Any]) -> Callable:
    """``run_limma``, ``run_edger`` or ``run_deseq2`` for ``method``, after checking that each
    option in ``options`` is one of that method's and holds an allowed value (the options are
    declared once, in :data:`degbridge._params.METHOD_OPTIONS`; ValueError naming the option
    and the methods that have it otherwise: the command line's rule for ``--method``)."""
    from .. import de

    if method is not None and method not in DE_METHODS:
        msg = f"method must be one of {list(DE_METHODS)} (or None: chosen from the data), not {method!r}"
        raise ValueError(msg)
    check_method_options(method, options)
    return {"edger": de.edger.run_edger, "deseq2": de.deseq2.run_deseq2}.get(
        method, de.limma.run_limma
    )


def _method_params(method, meta: dict[str, Any]) -> dict[str, Any]:
    """What ``params`` records of the method beyond :func:`degbridge.anndata.store_limma`'s
    choice of ``meta`` (method name, options, versions, gene counts)."""
    if method not in OTHER_METHODS:
        return {"method_choice": meta["method_choice"]}
    keep = ("test", "column_map", "native_columns", "dispersion", "size_factors",
            "na_reasons", "filter_threshold")  # fmt: skip
    params = {k: meta[k] for k in keep if meta.get(k) is not None}
    params["method_choice"] = f"{method}: given"
    params["options"] = {**meta.get("options", {}), "method": method}
    return params


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
    from ..comparison import compare as _compare

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


# ---------------------------------------------------------------------------------------
# per cell type
# ---------------------------------------------------------------------------------------


def _limma_per_cell_type(
    adata,
    *,
    run: Callable,
    groupby,
    contrast,
    design,
    layer,
    method,
    sample_key,
    celltype_key,
    min_cells,
    min_samples,
    adjust,
    progress,
    options: dict[str, Any],
) -> dict[str, Any]:
    """What ``tl.de(celltype_key=...)`` stores: one pseudobulk and one fit per cell type."""
    from tqdm.auto import tqdm

    from .._checks import get_matrix
    from ..de.backend import DEResults
    from ..de.design import contrast_matrix

    levels = _check_per_cell_type(
        adata, groupby, design, sample_key, celltype_key, min_cells, min_samples, adjust
    )
    names = contrast_matrix(contrast, levels)[1]  # an unknown level fails here, once
    # option values were checked by _method_function, before any data is summed: a bad one is
    # not a reason to skip a cell type
    if method == "deseq2" and len(names) != 1:
        msg = f"method='deseq2' tests one contrast at a time; got {len(names)}: call it once per contrast (key_added= apart)"
        raise ValueError(msg)
    kwargs = dict(options) if method in OTHER_METHODS else {"method": method, **options}
    _check_raw_counts(get_matrix(adata, layer), layer, adata)
    cells = adata.obs[celltype_key]
    cell_types = _cell_types(cells)
    cells = cells.astype(str).to_numpy()
    samples = _sample_table(adata, celltype_key, sample_key, groupby, min_cells)
    tables, fits, skipped = [], [], []
    versions, column_map = None, {}
    bar = tqdm(cell_types, desc="cell types", unit="cell type", disable=not progress, leave=False)
    try:
        for cell_type in bar:
            bar.set_postfix_str(cell_type[:30], refresh=False)
            rows = samples["cell_type"] == cell_type
            reason = _too_few_samples(samples[rows], levels, groupby, min_cells, min_samples)
            if reason is not None:
                samples.loc[rows & (samples["used"] == "yes"), "used"] = "no: cell type skipped"
                skipped.append((cell_type, reason))
                continue
            sub = adata[np.flatnonzero(cells == cell_type)]
            pb = pseudobulk(sub, sample_key, groupby=groupby, layer=layer, min_cells=min_cells)
            try:
                result = run(pb, groups=groupby, contrast=contrast, **kwargs)
            except (ValueError, RError) as err:  # the data of this cell type: too few df, R
                samples.loc[rows & (samples["used"] == "yes"), "used"] = "no: fit failed"
                skipped.append((cell_type, f"fit failed: {err}"))
                continue
            if isinstance(result, DEResults):
                per_contrast = dict(result)
            else:
                per_contrast = {str(result.meta["contrast"]): result}
            for name, table in per_contrast.items():
                frame = pd.DataFrame(table).rename_axis("gene").reset_index()
                frame.insert(0, "contrast", name)
                frame.insert(0, "cell_type", cell_type)
                tables.append(frame)
            first = next(iter(per_contrast.values()))
            choice = first.meta.get("method_choice", f"{method}: given")
            fits.append((cell_type, len(pb), len(first), choice))
            versions = versions or first.meta.get("versions")
            column_map = first.meta.get("column_map", {})
    finally:
        bar.close()
    skipped_table = pd.DataFrame(skipped, columns=["cell_type", "reason"])
    if not tables:
        each = "; ".join(f"{c!r}: {r}" for c, r in skipped)
        msg = f"every cell type of {celltype_key!r} was skipped, so nothing was fitted: {each}"
        raise ValueError(msg)
    if skipped:
        each = "; ".join(f"{c!r}: {r}" for c, r in skipped)
        warnings.warn(
            f"{len(skipped)} of {len(cell_types)} cell types skipped (see "
            f"adata.uns[key_added]['skipped']): {each}",
            DataWarning,
            stacklevel=caller_stacklevel(),
        )
    results = pd.concat(tables, ignore_index=True)
    if adjust == "global":
        for name in names:
            # genes a fit left without adj.P.Val (DESeq2's independent filtering) stay so
            sel = ((results["contrast"] == name) & results["adj.P.Val"].notna()).to_numpy()
            results.loc[sel, "adj.P.Val"] = bh_adjust(results.loc[sel, "P.Value"].to_numpy())
    fitted = [c for c, *_ in fits]
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
        "contrasts": names,
        "cell_types": fitted,
        "results": results,
        "skipped": skipped_table,
        "samples": samples,
        "n_samples": n_samples,
        "fits": pd.DataFrame(fits, columns=["cell_type", "n_samples", "n_genes", "method_choice"]),
        "params": {
            "groupby": groupby,
            "sample_key": sample_key,
            "celltype_key": celltype_key,
            "layer": layer or "X",
            "min_cells": int(min_cells),
            "min_samples": int(min_samples),
            "adjust": adjust,
            "method": method or "auto",
            "options": {k: v for k, v in options.items() if _storable(v)},
            "levels": levels,
            "versions": versions,
            "column_map": column_map,
        },
    }
    return h5ad_safe(entry)


def _storable(value) -> bool:
    """An option value ``params`` can keep through ``.h5ad`` (a scalar or a string)."""
    return isinstance(value, str | bool | int | float | np.integer | np.floating)


def _obs_columns(adata) -> list[str]:
    return list(map(str, adata.obs.columns))


def _check_per_cell_type(
    adata, groupby, design, sample_key, celltype_key, min_cells, min_samples, adjust
) -> list[str]:
    """Check the per-cell-type arguments; the condition levels (sorted, as strings)."""
    keys = {"celltype_key": celltype_key, "sample_key": sample_key, "groupby": groupby}
    for what, key in keys.items():
        if key is None:
            msg = f"celltype_key= (DE per cell type) needs {what}= as well: an obs column; obs columns are {_obs_columns(adata)}"
            raise ValueError(msg)
        if not isinstance(key, str) or key not in adata.obs.columns:
            msg = f"{what}={key!r} is not an obs column; obs columns are {_obs_columns(adata)}"
            raise ValueError(msg)
    if len(set(keys.values())) < len(keys):
        msg = (
            f"celltype_key, sample_key and groupby must be three different obs columns, not {keys}"
        )
        raise ValueError(msg)
    if design is not None:
        msg = "with celltype_key= each cell type is fitted with ~ 0 + groupby: give groupby=, not design="
        raise ValueError(msg)
    for what, value in (("min_cells", min_cells), ("min_samples", min_samples)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            msg = f"{what} must be a positive integer, not {value!r}"
            raise ValueError(msg)
    if adjust not in ADJUST:
        msg = f"adjust must be one of {list(ADJUST)}, not {adjust!r}"
        raise ValueError(msg)
    missing = [k for k in keys.values() if adata.obs[k].isna().any()]
    if missing:
        msg = f"obs columns {missing} have missing values; every cell needs a cell type, sample and condition"
        raise ValueError(msg)
    levels = sorted(adata.obs[groupby].astype(str).unique())
    if len(levels) < 2:
        msg = f"groupby={groupby!r} has a single level {levels}: a comparison needs two"
        raise ValueError(msg)
    return levels


def _cell_types(cells: pd.Series) -> list[str]:
    """The cell types present: in category order for a categorical, else sorted."""
    if isinstance(cells.dtype, pd.CategoricalDtype):
        present = set(cells.astype(str))
        return [str(c) for c in cells.cat.categories if str(c) in present]
    return sorted(cells.astype(str).unique())


def _sample_table(adata, celltype_key, sample_key, groupby, min_cells) -> pd.DataFrame:
    """One row per cell type × sample × condition: cells, and whether the pseudobulk sample
    has enough of them (``used``: ``"yes"`` or why not)."""
    obs = adata.obs[[celltype_key, sample_key, groupby]].astype(str)
    obs.columns = ["cell_type", "sample", "condition"]
    table = obs.groupby(list(obs.columns), sort=True).size().rename("n_cells").reset_index()
    table["used"] = np.where(
        table["n_cells"] >= min_cells, "yes", f"no: fewer than min_cells={min_cells} cells"
    )
    return table


def _too_few_samples(rows: pd.DataFrame, levels, groupby, min_cells, min_samples) -> str | None:
    """Why a cell type cannot be fitted (a condition with too few samples), or None."""
    kept = rows.loc[rows["used"] == "yes", "condition"].value_counts()
    short = [(lev, int(kept.get(lev, 0))) for lev in levels if kept.get(lev, 0) < min_samples]
    if not short:
        return None
    each = ", ".join(f"{groupby}={lev!r} has {n}" for lev, n in short)
    return (
        f"too few samples with >= {min_cells} cells (min_samples={min_samples} per condition): "
        f"{each}"
    )


def bh_adjust(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted P-values, as R's ``p.adjust(p, "BH")`` (NaN kept, not
    counted)."""
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    q = p[ok]
    n = len(q)
    if n:
        order = np.argsort(-q, kind="stable")
        i = np.arange(n, 0, -1, dtype=float)
        adjusted = np.empty(n)
        adjusted[order] = np.minimum(1.0, np.minimum.accumulate(n / i * q[order]))
        out[ok] = adjusted
    return out
