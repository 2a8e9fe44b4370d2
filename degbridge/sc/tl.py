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
from collections.abc import Callable, Sequence
from typing import Any, Literal

from .._checks import check_anndata as _check_anndata
from .._params import METHODS, OTHER_METHODS, check_method_options, fill_docs
from ._celltype import Adjust, per_cell_type
from .pseudobulk import pseudobulk
from .storage import check_key, store_comparison, store_limma
from .storage import stored_limma as _stored_limma

__all__ = ["BACKENDS", "DE_METHODS", "compare", "de", "limma"]

#: ``method=`` of :func:`de` / :func:`limma`: limma's ways (``run_limma``), then edgeR and DESeq2
DE_METHODS: tuple[str, ...] = METHODS + OTHER_METHODS

#: ``backend=`` of :func:`de` with ``celltype_key``: where the cell types are fitted
Backend = Literal["serial", "dask"]
BACKENDS: tuple[str, ...] = ("serial", "dask")


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
    backend: Backend = "serial",
    client=None,
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
    backend
        With ``celltype_key``: ``"serial"`` (the default) fits the cell types one after
        another in this process's R; ``"dask"`` fits each on a worker of a dask cluster
        (``client``), every worker with its own R, started once when the worker joins (see
        "On a dask cluster" below). The results are the same.
    client
        With ``backend="dask"``: a ``dask.distributed.Client``, or a scheduler's address
        (``"tcp://host:8786"``; :class:`ConnectionError` when it does not answer within 10
        s); ``None`` uses the running client, or else starts a temporary ``LocalCluster``
        of one single-threaded worker process per core, closed at the end.
    progress
        With ``celltype_key``: a progress bar over the cell types (tqdm); on a cluster
        whose matrix is a dask array, one over its blocks first.
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
    fit_cell_types = _cell_type_backend(backend, client, celltype_key)
    if celltype_key is not None:
        entry = fit_cell_types(
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
            **({"client": client} if backend == "dask" else {}),
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


def _cell_type_backend(backend, client, celltype_key) -> Callable:
    """The function fitting every cell type for ``backend`` (after checking ``backend`` and
    ``client``); ImportError naming the extra to install when dask is missing."""
    if backend not in BACKENDS:
        msg = f"backend must be one of {list(BACKENDS)}, not {backend!r}"
        raise ValueError(msg)
    if backend == "serial":
        if client is not None:
            msg = "client= is the dask cluster of backend='dask'; add backend='dask' (or drop client=)"
            raise ValueError(msg)
        return per_cell_type
    if celltype_key is None:
        msg = (
            "backend='dask' fits each cell type on a dask worker: it needs celltype_key= (one "
            "fit runs here; a dask X is summed by dask's current scheduler without it)"
        )
        raise ValueError(msg)
    from ._dask import per_cell_type as on_dask

    return on_dask


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
