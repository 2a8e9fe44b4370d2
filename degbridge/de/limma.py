"""limma from Python: ``run_limma`` (fit and test), ``fit_limma`` (fit once, test later).

The design matrix and contrasts are built in Python (:mod:`degbridge.de.design`); R receives
numbers only: the expression matrix (one block copy into R memory), the numeric design and
contrast matrices, and a few flags. Gene and sample IDs stay in Python and are re-attached by
position. Input, checks, design and tables go through :mod:`degbridge.de.backend`, as for
edgeR and DESeq2. The R code is ``r_scripts/R/limma_de.R`` (fit and test stages) and
``r_scripts/R/limma_fit.R`` (a kept fit rebuilt), shared with the R package ``degbridge``.

:func:`fit_limma` runs the fit stage of :func:`run_limma` (the same input handling, the same R
code) and keeps the fitted model on the Python side as numpy arrays: coefficients,
``stdev.unscaled``, ``sigma``, ``df.residual``, ``cov.coefficients``, ``Amean``, the design,
the genes kept, and the log-expression ``E`` with its observation weights (voom's) for the
gene-set tests. A :class:`LimmaFit` is therefore picklable and can be shared between threads.
:meth:`LimmaFit.test` rebuilds an ``MArrayLM`` in R from those numbers and runs the test stage
of ``run_limma`` on it (``contrasts.fit`` → ``eBayes``/``treat`` → ``topTable``/``topTreat``):
voom is not run again. :func:`degbridge.decide_tests` is limma's ``decideTests``; the gene-set
tests (camera, fry, roast, mroast) are in :mod:`degbridge.de.genesets` and available as
methods of the fit.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._checks import NonCounts, is_anndata
from .._exceptions import DataWarning
from .._params import (
    ADJUST_METHODS,
    COUNT_METHODS,
    LIMMA_CONSTRAINTS,
    METHODS,
    NORMALIZE,
    FilterMethod,
    Method,
    Normalize,
    SortBy,
    Weights,
    check_choice,
    check_number,
    check_param,
    fill_docs,
    resolve_method,
)
from ..io.table import DETable
from ..r import to_r
from .backend import (
    Contrasts,
    DEFit,
    DEResults,
    Matrix,
    check_contrast_or_coef,
    check_count_values,
    check_library_sizes,
    check_values,
    densify,
    in_r,
    named_matrix,
    r_array,
    r_contrast_arguments,
    r_frame,
    r_numbers,
    r_strings,
    resolve_block,
    resolve_design,
    resolve_matrix,
    tested,
)
from .design import Design, check_design

__all__ = [
    "COUNT_METHODS",
    "LIMMA_CONSTRAINTS",
    "METHODS",
    "NORMALIZE",
    "DEResults",
    "LimmaFit",
    "LimmaOptions",
    "fit_limma",
    "run_limma",
]

METHOD_NAMES = {"ls": "limma", "voom": "limma-voom", "trend": "limma-trend"}
#: Log-expression matrices with more values than CHUNK_ABOVE (160 MB) are fitted in gene chunks
#: of about CHUNK_VALUES values (8 MB): the same numbers as one lmFit, with a bounded copy in R.
CHUNK_ABOVE = 20_000_000
CHUNK_VALUES = 1_000_000
#: topTable's sort.by values.
TOP_SORT: tuple[str, ...] = ("B", "P", "t", "logFC", "AveExpr", "F", "none")
_INTEGER_PARTS = ("pivot", "rank")
#: ``coef=``: design column names or 0-based positions, one or several.
Coef = str | int | Sequence[str | int]


@dataclass
class _Run:
    """What comes back from R, as Python objects."""

    frames: list[pd.DataFrame]  # one per contrast, indexed by the tested genes
    ftest: pd.DataFrame | None
    meta: dict[str, Any]
    r_warnings: list[str]


@fill_docs
def run_limma(
    expr,
    *,
    groups=None,
    samples: pd.DataFrame | None = None,
    design=None,
    contrast: str | Sequence[str] | Mapping[str, str] | np.ndarray | None = None,
    coef: str | int | Sequence[str | int] | None = None,
    method: Method | None = None,
    normalize: Normalize | None = "TMM",
    filter: FilterMethod | bool | None = "filterByExpr",
    robust: bool = False,
    trend: bool = False,
    lfc: float = 0.0,
    block=None,
    weights: Weights | None = None,
    confint: bool | float = False,
    prior_count: float = 3.0,
    sort_by: SortBy = "auto",
    gene_ids: Sequence[str] | None = None,
    sample_ids: Sequence[str] | None = None,
    layer: str | None = None,
) -> DETable | DEResults:
    """Differential expression with R's limma, from Python.

    Parameters
    ----------
    expr
        A genes × samples :class:`pandas.DataFrame` (gene IDs as index); a 2-D numpy array
        (genes × samples) with ``gene_ids=``/``sample_ids=``; an :class:`anndata.AnnData`
        (samples × genes; ``X`` or ``layer=``, dense or sparse; ``obs`` is the sample table);
        or the path of a CSV/TSV matrix (gene IDs in the first column).
    groups
        One label per sample (or the name of a sample-table/``obs`` column): design
        ``~ 0 + group`` with one column per level, named by the level, so contrasts read
        ``"treated - control"``.
    samples
        Sample table (one row per sample; matched to the matrix by row names or by a column
        holding the sample IDs) for a formula ``design``.
    design
        A formula over ``samples`` columns (``"~ celltype + dex"``; column names, ``+ : * - ( )``,
        ``0``/``1``, ``factor(col)`` only), or a numeric design matrix (DataFrame or array)
        used as is.
    contrast
        What to test: a design column name (``"dextreated"``), an expression over design
        columns (``"treated - control"``, ``"(A + B)/2 - C"``), a numeric vector, or a list/dict
        of these (one table each, plus the F-test).
    coef
        limma's ``coef=``: a design column name, a 0-based column position, the common name
        of a spline/polynomial term's columns (``"ns(time, df = 3)"``), or a list of these:
        several coefficients give one table each plus the moderated F-test over all of them
        (``DEResults.ftest``, as ``topTable(fit, coef = 2:4)``; ``coef=[1, 2, 3]`` is R's
        ``coef = 2:4``).
    method
        {method}
        ``None`` (the default) applies that rule (:func:`degbridge._params.resolve_method`):
        the choice is logged (logger ``"degbridge"``, level INFO) and recorded in
        ``meta["options"]["method"]`` and ``meta["method_choice"]`` (``"voom: raw counts
        detected (non-negative integers)"``, ``"ls: log-expression detected (...)"``, or
        ``"voom: given"`` for a given method).
    normalize
        {normalize}
        ``None`` is ``"none"``.
    filter
        {filter}
        ``"filterByExpr"`` (the default) or ``True`` filters, ``None`` or ``False`` keeps every
        gene.
    robust
        {robust}
    trend
        {trend}
    lfc
        {lfc}
    block
        {block}
        Or one label per sample.
    weights
        {weights}
    confint
        {confint}
        ``True``, or another level such as ``0.99``.
    prior_count
        {prior_count}
    sort_by
        Row order: ``"auto"`` is limma's default (``B`` for ``topTable``, ``P`` for ``treat``
        and the F-test); ``"none"`` keeps the input gene order. Sorting is stable.
    gene_ids, sample_ids
        Names for a numpy matrix.
    layer
        AnnData layer holding the values (default ``X``).

    Returns
    -------
    One :class:`~degbridge.DETable` (``logFC, AveExpr, t, P.Value, adj.P.Val, B``; ``CI.L``
    and ``CI.R`` with ``confint``) for every tested gene, or a :class:`DEResults` for several
    contrasts. ``meta`` holds the design matrix, contrast vector, method, options, genes
    filtered, normalisation factors and the R/limma/edgeR versions.

    Raises
    ------
    ValueError, TypeError
        Bad input, naming the argument, sample or gene at fault.
    degbridge.RNotAvailableError
        R, rpy2 or limma/edgeR/statmod missing (with the install commands).
    degbridge.RError
        limma itself failed (R's message); the R session stays usable.
    """
    # long only by its docstring: the body is the named steps (options, matrix, design and
    # contrasts, R, tables)
    started = time.perf_counter()
    arguments = {
        "normalize": normalize,
        "filter": filter,
        "robust": robust,
        "trend": trend,
        "lfc": lfc,
        "weights": weights,
        "confint": confint,
        "prior_count": prior_count,
        "sort_by": sort_by,
    }
    LimmaOptions.check_arguments(method=method, **arguments)  # before reading any data
    check_contrast_or_coef(contrast, coef)
    mat, des, opts, choice = _prepare(
        expr, groups, samples, design, method, arguments, gene_ids, sample_ids, layer
    )
    spec = tested(contrast, coef, des)
    block_labels = resolve_block(block, mat, samples)
    run = _limma_in_r(mat, des, spec, opts, block_labels)
    run.meta["method_choice"] = str(choice)
    _warn_run(run.r_warnings, mat, stacklevel=3)
    run.meta["seconds"] = round(time.perf_counter() - started, 3)
    return _results(run, des, spec, opts)


def _prepare(
    expr, groups, samples, design, method, arguments: dict[str, Any], gene_ids, sample_ids, layer
) -> tuple[Matrix, Design, LimmaOptions, Any]:
    """The checked matrix, design and options of a run (``run_limma``, ``fit_limma``):
    ``(matrix, design, options, method choice)``; nothing reaches R."""
    LimmaOptions.check_arguments(method=method, **arguments)
    mat = resolve_matrix(expr, gene_ids, sample_ids, layer)
    pseudobulk = is_anndata(expr) and "pseudobulk" in expr.uns
    choice = resolve_method(
        mat.values, method, counts="pseudobulk sums of raw counts" if pseudobulk else "raw counts"
    )
    opts = LimmaOptions.from_arguments(method=choice.method, **arguments)
    densify(mat, drop_zero=opts.counts and opts.filter)
    check_values(mat, counts=opts.counts)
    if opts.counts:
        _check_counts(mat, opts)
        check_library_sizes(mat, f"method={opts.method!r}")
    des = resolve_design(mat, groups, samples, design)
    check_design(des)
    return mat, des, opts, choice


def _warn_run(r_warnings: list[str], mat: Matrix, *, stacklevel: int) -> None:
    """R's warnings (once each) and the missing-value note, as Python warnings."""
    from .. import r

    r.warn_r(r_warnings, "limma/edgeR", stacklevel=stacklevel)
    if mat.n_missing:
        warnings.warn(
            f"{mat.n_missing} missing values in the expression matrix; limma fits each gene on "
            "its observed values (fewer residual degrees of freedom for those genes)",
            DataWarning,
            stacklevel=stacklevel,
        )


@dataclass(frozen=True)
class LimmaOptions:
    """run_limma's analysis options, checked once and in canonical form.

    ``normalize`` and ``weights`` are ``"none"`` rather than ``None`` (as R receives them);
    ``filter`` is whether filterByExpr runs (never for ``method="ls"``). Build it with
    :meth:`from_arguments`, which checks the values against :data:`LIMMA_CONSTRAINTS`.
    """

    method: Method = "ls"
    normalize: Normalize = "TMM"
    filter: bool = True
    robust: bool = False
    trend: bool = False
    lfc: float = 0.0
    weights: Literal["none", "arrayWeights", "quality"] = "none"
    confint: bool | float = False
    prior_count: float = 3.0
    sort_by: SortBy = "auto"

    def __post_init__(self) -> None:
        if self.filter and not self.counts:  # filterByExpr is for counts only
            object.__setattr__(self, "filter", False)

    @staticmethod
    def check_arguments(**arguments: Any) -> None:
        """Check each option's value against :data:`LIMMA_CONSTRAINTS` (ValueError naming the
        option); ``method=None`` (chosen from the data later) passes."""
        for name in LIMMA_CONSTRAINTS:
            if name in arguments and not (name == "method" and arguments[name] is None):
                check_param(name, arguments[name])

    @classmethod
    def from_arguments(cls, **arguments: Any) -> LimmaOptions:
        """Check ``run_limma``'s option arguments (ValueError naming the option) and build.

        ``method`` must be resolved already (:func:`degbridge._params.resolve_method`).
        """
        if arguments.get("method", "") is None:
            msg = "LimmaOptions needs a resolved method, not None (see resolve_method)"
            raise ValueError(msg)
        for name in LIMMA_CONSTRAINTS:
            if name in arguments:
                check_param(name, arguments[name])
        args = {**{f.name: f.default for f in fields(cls)}, **arguments}
        method, weights = args["method"], args["weights"] or "none"
        if weights == "arrayWeights" and method != "ls":
            msg = "weights='arrayWeights' is for method='ls'; with voom use weights='quality'"
            raise ValueError(msg)
        if weights == "quality" and method != "voom":
            msg = "weights='quality' (voomWithQualityWeights) needs method='voom'"
            raise ValueError(msg)
        confint = args["confint"]
        return cls(
            method=method,
            normalize=args["normalize"] or "none",
            filter=args["filter"] not in (None, False),
            robust=bool(args["robust"]),
            trend=bool(args["trend"]),
            lfc=float(args["lfc"]),
            weights=weights,
            confint=confint if isinstance(confint, bool) else float(confint),
            prior_count=float(args["prior_count"]),
            sort_by=args["sort_by"],
        )

    @property
    def counts(self) -> bool:
        """Whether the method takes raw counts."""
        return self.method in COUNT_METHODS

    @property
    def treat(self) -> bool:
        """Whether the test is against a fold-change threshold (``treat``)."""
        return self.lfc > 0

    def as_meta(self, *, block: bool) -> dict[str, Any]:
        """The options as recorded in a table's ``meta["options"]``."""
        return {
            "method": self.method,
            "normalize": self.normalize if self.counts else None,
            "filter": "filterByExpr" if self.filter else None,
            "robust": self.robust,
            "trend": self.trend or self.method == "trend",
            "lfc": self.lfc,
            "block": block,
            "weights": None if self.weights == "none" else self.weights,
            "confint": self.confint,
        }


# ---------------------------------------------------------------------------------------
# inputs
# ---------------------------------------------------------------------------------------


def _check_counts(mat: Matrix, opts: LimmaOptions) -> None:
    """Raw counts (the rule of :func:`degbridge._checks.check_counts`), and no all-zero
    genes unless they are filtered."""
    method = opts.method

    def message(bad: NonCounts, at: str) -> str:
        if bad.kind == "missing":
            return f"method={method!r} needs complete counts but the matrix has {at}"
        if bad.kind == "negative":
            return (
                f"method={method!r} needs raw counts but the matrix has {at}: this looks like "
                "normalised or log data; use method='ls' for log-expression"
            )
        return (
            f"method={method!r} needs raw integer counts but the matrix has {at}: this looks "
            "like normalised or log data (use method='ls'); estimated counts (salmon/tximport) "
            "can be rounded with numpy.round first"
        )

    check_count_values(mat, message)
    zero = ~mat.values.any(axis=1)
    if zero.any() and not opts.filter:
        bad = [mat.genes[i] for i in np.flatnonzero(zero)[:5]]
        msg = (
            f"{int(zero.sum())} gene(s) have zero counts in every sample (e.g. {bad}); they "
            "carry no information and distort voom's mean-variance trend: remove them or "
            "use filter='filterByExpr'"
        )
        raise ValueError(msg)


# ---------------------------------------------------------------------------------------
# R
# ---------------------------------------------------------------------------------------


def _limma_in_r(mat: Matrix, des: Design, spec: Contrasts, opts, block) -> _Run:
    """One call of ``degbridge_limma_de`` (fit, then test), and its results as Python objects."""
    # R is not thread-safe: hold the lock across every call and conversion of this run
    with in_r() as r:
        dmat = named_matrix(r, des.matrix, None, des.columns)
        x, r_warnings, n_chunks = _r_input(r, mat, dmat, opts, block)
        args = {**_r_fit_arguments(r, opts, block), **_r_test_arguments(r, des, spec, opts)}
        out = r.to_dict(r.call("degbridge_limma_de", x, dmat, **args))
        del x, args
        r_warnings += r_strings(r, out["warnings"])
        keep = r.to_numpy(out["keep"]).astype(bool)
        genes = [g for g, k in zip(mat.genes, keep) if k]
        info = r_numbers(r, out["info"])
        meta = _meta(mat, des, spec, opts, block=block, keep=keep, info=info, versions=r.versions())
        if n_chunks is not None:
            meta["lmfit_chunks"] = n_chunks
        frames = [r_frame(r, rtab, genes) for rtab in out["tables"]]
        ftest = None if out["ftable"] is r.session().ri.NULL else r_frame(r, out["ftable"], genes)
        # drop every R object here, under the lock: their finalisers call into R too
        del dmat, out
    return _Run(frames, ftest, meta, r_warnings)


def _r_input(r, mat: Matrix, dmat, opts: LimmaOptions, block: list[str] | None):
    """What ``degbridge_limma_de`` fits: ``(x, R warnings, number of chunks or None)``.

    ``x`` is the matrix copied whole into R; or, for large log-expression matrices, the
    ``lmFit`` of gene chunks joined in R, which ``degbridge_limma_de`` then only tests. limma
    fits each gene on its own, so the numbers are the same, with a bounded copy in R (not with
    array weights or ``duplicateCorrelation``, which pool all genes).
    """
    n_genes, n_samples = mat.values.shape
    has_nan = mat.n_missing > 0
    pooled = opts.method != "ls" or opts.weights != "none" or block is not None
    if pooled or n_genes * n_samples <= CHUNK_ABOVE:
        return r.float_matrix(mat.values, has_nan=has_nan), [], None
    step = max(1, CHUNK_VALUES // n_samples)
    fits, r_warnings = [], []
    for start in range(0, n_genes, step):
        part = r.float_matrix(mat.values[start : start + step], has_nan=has_nan)
        piece = r.to_dict(r.call("degbridge_lmfit_chunk", part, dmat))
        del part
        r_warnings += r_strings(r, piece["warnings"])
        fits.append(piece["fit"])
        del piece
    fit = r.call("degbridge_rbind_fits", r.session().ri.ListSexpVector(fits))
    n_chunks = len(fits)
    del fits
    return fit, r_warnings, n_chunks


def _r_fit_arguments(r, opts: LimmaOptions, block: list[str] | None) -> dict[str, Any]:
    """The fit stage's arguments of ``degbridge_limma_de`` (as R objects)."""
    return {
        "method": r.scalar(opts.method),
        "normalize": r.scalar(opts.normalize),
        "filter": r.scalar(opts.filter),
        "trend": r.scalar(opts.trend),
        "block": r.session().ri.NULL if block is None else r.str_vector(block),
        "weights": r.scalar(opts.weights),
        "prior.count": r.scalar(opts.prior_count),
    }


def _r_test_arguments(r, des: Design, spec: Contrasts, opts: LimmaOptions) -> dict[str, Any]:
    """The test stage's arguments of ``degbridge_limma_de`` (as R objects)."""
    return {
        **r_contrast_arguments(r, des, spec),
        "robust": r.scalar(opts.robust),
        "trend": r.scalar(opts.trend),
        "lfc": r.scalar(opts.lfc),
        "confint": r.scalar(opts.confint),
    }


# ---------------------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------------------


def _results(run: _Run, des: Design, spec: Contrasts, opts: LimmaOptions) -> DETable | DEResults:
    """One sorted DETable per contrast (the table itself for one), plus the F-test."""
    tables = {}
    for k, (name, frame) in enumerate(zip(spec.names, run.frames)):
        meta = dict(run.meta, contrast=name, contrast_vector=spec.vector(des, k))
        tab = DETable(frame, meta=meta)
        tables[name] = _sorted(tab, opts.sort_by, treat=opts.treat)
    if len(tables) == 1:
        return next(iter(tables.values()))
    ftest = None
    if run.ftest is not None:
        frame = run.ftest
        frame.columns = [*spec.names, *frame.columns[len(spec.names) :]]
        meta = dict(run.meta, contrast=" ; ".join(spec.names), test="moderated F")
        ftest = DETable(frame, meta=meta)
        if opts.sort_by != "none":
            ftest = ftest.iloc[np.argsort(ftest["P.Value"].to_numpy(), kind="stable")]
    return DEResults(tables, ftest)


def _sorted(tab: DETable, sort_by: str, *, treat: bool) -> DETable:
    key = sort_by
    if key == "auto":
        key = "P" if treat else "B"
    if key == "none":
        return tab
    if key == "B" and "B" not in tab.columns:
        key = "P"
    if key == "P":
        order = np.argsort(tab["P.Value"].to_numpy(), kind="stable")
    elif key == "B":
        order = np.argsort(-tab["B"].to_numpy(), kind="stable")
    elif key == "logFC":
        order = np.argsort(-np.abs(tab["logFC"].to_numpy()), kind="stable")
    else:
        order = np.argsort(-np.abs(tab["t"].to_numpy()), kind="stable")
    out = tab.iloc[order]
    out.meta["sort_by"] = key
    return out


def _meta(
    mat: Matrix,
    des: Design,
    spec: Contrasts,
    opts: LimmaOptions,
    *,
    block: list[str] | None,
    keep: np.ndarray,
    info: dict[str, np.ndarray],
    versions: dict[str, str],
) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "source": "run_limma",
        "input": mat.source,
        "kind": "limma",
        "format": "limma topTreat" if opts.treat else "limma topTable",
        "method": METHOD_NAMES[opts.method],
        "design": des.to_frame(),
        "design_formula": des.formula,
        "factors": des.factors,
        "contrasts": spec.frame(des),
        "options": opts.as_meta(block=block is not None),
        "n_genes_input": len(mat.genes) + len(mat.dropped_zero),
        "n_genes_tested": int(keep.sum()),
        "n_genes_filtered": int((~keep).sum()) + len(mat.dropped_zero),
        "n_missing_values": mat.n_missing,
        "versions": versions,
    }
    if mat.dropped_zero:
        meta["dropped_all_zero"] = len(mat.dropped_zero)
    if block is not None:
        meta["block"] = block
    for key in ("lib_size", "norm_factors", "sample_weights"):
        if key in info:
            meta[key] = dict(zip(mat.samples, info[key].tolist()))
    if "consensus_correlation" in info:
        meta["consensus_correlation"] = float(info["consensus_correlation"][0])
    if "df_prior" in info:
        dfp = info["df_prior"]
        meta["df_prior"] = float(dfp[0]) if dfp.size == 1 else float(np.median(dfp))
    return meta


# ---------------------------------------------------------------------------------------
# a fit kept as numbers
# ---------------------------------------------------------------------------------------


@fill_docs
def fit_limma(
    expr,
    *,
    groups=None,
    samples: pd.DataFrame | None = None,
    design=None,
    method: Method | None = None,
    normalize: Normalize | None = "TMM",
    filter: FilterMethod | bool | None = "filterByExpr",
    block=None,
    weights: Weights | None = None,
    prior_count: float = 3.0,
    gene_ids: Sequence[str] | None = None,
    sample_ids: Sequence[str] | None = None,
    layer: str | None = None,
) -> LimmaFit:
    """Fit limma's linear model once; test any contrast later with :meth:`LimmaFit.test`.

    The input handling and the fit are those of :func:`degbridge.run_limma` (same functions,
    same R code); ``run_limma(..., contrast=c)`` gives the same numbers as
    ``fit_limma(...).test(c)``.

    Parameters
    ----------
    expr
        A genes × samples DataFrame, a numpy array with ``gene_ids=``/``sample_ids=``, an
        AnnData (samples × genes) or a CSV/TSV path, as for :func:`degbridge.run_limma`.
    groups, samples, design
        The design, as for :func:`degbridge.run_limma`.
    method
        {method}
    normalize
        {normalize}
    filter
        {filter}
    block
        {block}
    weights
        {weights}
    prior_count
        {prior_count}
    gene_ids, sample_ids, layer
        As for :func:`degbridge.run_limma`.

    Returns
    -------
    LimmaFit
        The fitted model as numbers.

    Raises
    ------
    ValueError, TypeError
        Bad input, naming the argument, sample or gene at fault.
    degbridge.RError
        limma itself failed (R's message).
    """
    started = time.perf_counter()
    arguments = {
        "normalize": normalize,
        "filter": filter,
        "weights": weights,
        "prior_count": prior_count,
    }
    mat, des, opts, choice = _prepare(
        expr, groups, samples, design, method, arguments, gene_ids, sample_ids, layer
    )
    block_labels = resolve_block(block, mat, samples)
    with in_r() as r:
        null = r.session().ri.NULL
        dmat = named_matrix(r, des.matrix, None, des.columns)
        x = r.float_matrix(mat.values, has_nan=mat.n_missing > 0)
        args = _r_fit_arguments(r, opts, block_labels)
        out = r.to_dict(r.call("degbridge_limma_fit", x, dmat, **args))
        del x, args
        r_warnings = r_strings(r, out["warnings"])
        keep = r.to_numpy(out["keep"]).astype(bool)
        info = r_numbers(r, out["info"])
        parts = {k: r_array(r, v) for k, v in r.to_dict(out["parts"]).items()}
        if out["E"] is null:
            E = np.array(mat.values[keep], dtype=np.float64)
        else:
            E = r_array(r, out["E"])
        obs_weights = None if out["weights"] is null else r_array(r, out["weights"])
        versions = r.versions()
        del dmat, out
    genes = [g for g, k in zip(mat.genes, keep) if k]
    none = Contrasts(np.zeros((len(des.columns), 0)), [], [])
    meta = _meta(mat, des, none, opts, block=block_labels, keep=keep, info=info, versions=versions)
    meta.pop("contrasts", None)
    meta["source"] = "fit_limma"
    meta["method_choice"] = str(choice)
    meta["seconds_fit"] = round(time.perf_counter() - started, 3)
    _warn_run(r_warnings, mat, stacklevel=3)
    return LimmaFit(
        parts=parts,
        design=des,
        genes=genes,
        E=E,
        weights=obs_weights,
        block=block_labels,
        options=opts,
        meta=meta,
    )


@dataclass(frozen=True, eq=False, repr=False)
class LimmaFit(DEFit):
    """A limma fit (``lmFit``'s ``MArrayLM``) kept as numbers on the Python side.

    Build it with :func:`fit_limma`. Picklable; thread-safe (the arrays are not changed after
    the fit, and every call into R holds degbridge's R lock).

    Attributes
    ----------
    parts
        The ``MArrayLM`` components as numpy arrays, under limma's names
        (``coefficients``, ``stdev.unscaled``, ``sigma``, ``df.residual``,
        ``cov.coefficients``, ``pivot``, ``rank``, ``Amean``, and ``correlation`` with a block).
    design
        The :class:`~degbridge.design.Design` fitted.
    genes
        The genes kept (after filterByExpr for counts), in the row order of every array.
    E
        The log-expression fitted (voom's / log-CPM / the input for ``"ls"``), genes × samples.
    weights
        The observation weights ``lmFit`` used (voom's, or array weights expanded), genes ×
        samples, or ``None``.
    block
        Block labels per sample (``duplicateCorrelation``), or ``None``.
    options
        The fit's :class:`~degbridge.limma.LimmaOptions`.
    meta
        Provenance, as in a ``run_limma`` table's ``meta`` (without the contrasts).
    """

    parts: dict[str, np.ndarray]
    design: Design
    genes: list[str]
    E: np.ndarray
    weights: np.ndarray | None
    block: list[str] | None
    options: LimmaOptions
    meta: dict[str, Any]

    # -- the numbers, labelled -----------------------------------------------------------

    @property
    def coefficients(self) -> pd.DataFrame:
        """Genes × coefficients."""
        return self._labelled("coefficients")

    @property
    def stdev_unscaled(self) -> pd.DataFrame:
        """Genes × coefficients (``stdev.unscaled``)."""
        return self._labelled("stdev.unscaled")

    @property
    def sigma(self) -> pd.Series:
        """Residual standard deviation per gene."""
        return pd.Series(self.parts["sigma"], index=pd.Index(self.genes), name="sigma")

    @property
    def df_residual(self) -> pd.Series:
        """Residual degrees of freedom per gene (``df.residual``)."""
        return pd.Series(self.parts["df.residual"], index=pd.Index(self.genes), name="df.residual")

    @property
    def amean(self) -> pd.Series:
        """Average log-expression per gene (``Amean``)."""
        return pd.Series(self.parts["Amean"], index=pd.Index(self.genes), name="Amean")

    def expression(self) -> pd.DataFrame:
        """``E`` as a genes × samples DataFrame."""
        return pd.DataFrame(self.E, index=pd.Index(self.genes), columns=self.design.samples)

    def _labelled(self, key: str) -> pd.DataFrame:
        return pd.DataFrame(
            self.parts[key], index=pd.Index(self.genes), columns=self.design.columns
        )

    # -- R -------------------------------------------------------------------------------

    def r_object(self, r, *, with_genes: bool = False):
        """The ``MArrayLM`` rebuilt in R (call under the R lock: :func:`~degbridge.de.backend.in_r`)."""
        ri = r.session().ri
        items = {}
        for key, value in self.parts.items():
            if key in _INTEGER_PARTS:
                items[key] = ri.IntSexpVector([int(v) for v in np.atleast_1d(value)])
            elif np.ndim(value) == 2:
                items[key] = r.float_matrix(value)
            else:
                items[key] = r.float_vector(value)
        dmat = named_matrix(r, self.design.matrix, None, self.design.columns)
        genes = r.str_vector(self.genes) if with_genes else ri.NULL
        return r.call("degbridge_make_fit", r.list_to_r(items), dmat, genes)

    def to_r(self):
        """A real limma ``MArrayLM`` (gene IDs as row names), as ``lmFit`` returned it."""
        return to_r(self)

    # -- contrasts -------------------------------------------------------------------------

    def test_options(self, *, robust, trend, lfc, confint, sort_by) -> LimmaOptions:
        """The fit's options with these test options, checked (ValueError naming one)."""
        arguments = {
            "robust": robust,
            "trend": trend,
            "lfc": lfc,
            "confint": confint,
            "sort_by": sort_by,
        }
        LimmaOptions.check_arguments(**arguments)
        checked = LimmaOptions.from_arguments(method=self.options.method, **arguments)
        return replace(
            self.options,
            robust=checked.robust,
            trend=checked.trend or self.options.method == "trend",
            lfc=checked.lfc,
            confint=checked.confint,
            sort_by=checked.sort_by,
        )

    def test(
        self,
        contrast: str | Sequence[str] | Mapping[str, str] | np.ndarray | None = None,
        *,
        coef: Coef | None = None,
        robust: bool = False,
        trend: bool = False,
        lfc: float = 0.0,
        confint: bool | float = False,
        sort_by: SortBy = "auto",
    ) -> DETable | DEResults:
        """Test contrasts on the fit, as :func:`degbridge.run_limma` tests them (no refit).

        Parameters
        ----------
        contrast, coef
            What to test, as for :func:`degbridge.run_limma`; names must be design columns
            (:attr:`coefficient_names`). ``coef`` may also be 0-based positions or the common
            name of a spline/polynomial term's columns (``"ns(time, df = 3)"``); several
            coefficients give one table each plus the moderated F-test (``.ftest``).
        robust, trend, lfc, confint, sort_by
            As for :func:`degbridge.run_limma` (``lfc > 0`` is ``treat``). ``trend`` is
            always on for a ``method="trend"`` fit.

        Returns
        -------
        DETable or DEResults
            What ``run_limma`` returns for the same contrasts.
        """
        started = time.perf_counter()
        spec = self.contrasts(contrast, coef=coef)
        opts = self.test_options(
            robust=robust, trend=trend, lfc=lfc, confint=confint, sort_by=sort_by
        )
        des = self.design
        with in_r() as r:
            fit = self.r_object(r)
            dmat = named_matrix(r, des.matrix, None, des.columns)
            args = _r_test_arguments(r, des, spec, opts)
            out = r.to_dict(r.call("degbridge_limma_de", fit, dmat, **args))
            r_warnings = r_strings(r, out["warnings"])
            info = r_numbers(r, out["info"])
            frames = [r_frame(r, rtab, self.genes) for rtab in out["tables"]]
            ftest = None
            if out["ftable"] is not r.session().ri.NULL:
                ftest = r_frame(r, out["ftable"], self.genes)
            del fit, dmat, args, out
        meta = self._test_meta(spec, opts, info)
        meta["seconds"] = round(time.perf_counter() - started, 3)
        r.warn_r(r_warnings, stacklevel=2)
        return _results(_Run(frames, ftest, meta, r_warnings), des, spec, opts)

    def _test_meta(self, spec: Contrasts, opts: LimmaOptions, info) -> dict[str, Any]:
        meta = dict(self.meta)
        meta["format"] = "limma topTreat" if opts.treat else "limma topTable"
        meta["contrasts"] = pd.DataFrame(spec.matrix, index=self.design.columns, columns=spec.names)
        meta["options"] = opts.as_meta(block=self.block is not None)
        if "df_prior" in info:
            dfp = info["df_prior"]
            meta["df_prior"] = float(dfp[0]) if dfp.size == 1 else float(np.median(dfp))
        return meta

    def top_table(
        self,
        contrast: str | Sequence[str] | Mapping[str, str] | np.ndarray | None = None,
        *,
        coef: Coef | None = None,
        number: int | None = None,
        sort_by: str = "B",
        p_value: float = 1.0,
        lfc: float = 0.0,
        adjust_method: str = "BH",
        robust: bool = False,
        trend: bool = False,
        confint: bool | float = False,
    ) -> DETable:
        """limma's ``topTable`` with its options, on contrasts of the fit.

        Parameters
        ----------
        contrast, coef
            One contrast (its table) or several (the moderated F table, as ``topTable`` with
            several coefficients: ``coef=[1, 2, 3]`` (0-based) or ``coef="ns(time, df = 3)"``
            is R's ``topTable(fit, coef = 2:4)``).
        number
            Number of rows (``None``: all that pass the filters).
        sort_by
            One of ``"B"``, ``"P"``, ``"t"``, ``"logFC"``, ``"AveExpr"``, ``"none"`` (``"F"``
            for several contrasts, where ``"B"`` becomes ``"F"`` as in limma).
        p_value
            Keep rows with adjusted p-value ≤ ``p_value``.
        lfc
            Keep rows with ``|logFC| ≥ lfc`` (a filter, as in ``topTable``; for a test against
            a threshold use :meth:`test` with ``lfc=``, limma's ``treat``).
        adjust_method
            R's ``p.adjust`` method.
        robust, trend
            ``eBayes`` options.
        confint
            Confidence intervals (one contrast only).
        """
        spec = self.contrasts(contrast, coef=coef)
        opts = self.test_options(robust=robust, trend=trend, lfc=0.0, confint=confint, sort_by="B")
        check_choice("sort_by", sort_by, TOP_SORT)
        check_choice("adjust_method", adjust_method, ADJUST_METHODS)
        p_value, lfc = check_number("p_value", p_value, 0, 1), check_number("lfc", lfc, 0, None)
        several = len(spec.names) > 1
        if several and sort_by == "B":
            sort_by = "F"
        if number is not None and (
            isinstance(number, bool) or not isinstance(number, int | np.integer) or number < 1
        ):
            msg = f"number must be a positive integer or None (all rows), not {number!r}"
            raise ValueError(msg)
        with in_r() as r:
            args = _r_test_arguments(r, self.design, spec, opts)
            out = r.to_dict(
                r.call(
                    "degbridge_top_table",
                    self.r_object(r),
                    contrasts=args["contrasts"],
                    coef=args["coef"],
                    trend=r.scalar(opts.trend),
                    robust=r.scalar(opts.robust),
                    number=r.scalar(float("inf") if number is None else int(number)),
                    **{
                        "sort.by": r.scalar(sort_by),
                        "p.value": r.scalar(p_value),
                        "lfc": r.scalar(lfc),
                        "adjust.method": r.scalar(adjust_method),
                        "confint": r.scalar(opts.confint),
                    },
                )
            )
            r_warnings = r_strings(r, out["warnings"])
            rows = r.to_numpy(out["rows"]).astype(np.int64) - 1
            frame = r_frame(r, out["table"], [self.genes[i] for i in rows])
            del args, out
        r.warn_r(r_warnings, stacklevel=2)
        if several:
            frame.columns = [*spec.names, *frame.columns[len(spec.names) :]]
        meta = self._test_meta(spec, opts, {})
        meta.update(
            contrast=" ; ".join(spec.names),
            sort_by=sort_by,
            top_table={"number": number, "p_value": p_value, "lfc": lfc, "adjust": adjust_method},
        )
        if several:
            meta["test"] = "moderated F"
        return DETable(frame, meta=meta)

    # -- decisions and gene sets ---------------------------------------------------------

    def decide_tests(self, contrast=None, **kwargs):
        """:func:`degbridge.decide_tests` on this fit."""
        from .decide import decide_tests

        return decide_tests(self, contrast, **kwargs)

    def camera(self, sets, contrast=None, **kwargs) -> pd.DataFrame:
        """:func:`degbridge.genesets.camera` on this fit."""
        from .genesets import camera

        return camera(self, sets, contrast, **kwargs)

    def fry(self, sets, contrast=None, **kwargs) -> pd.DataFrame:
        """:func:`degbridge.genesets.fry` on this fit."""
        from .genesets import fry

        return fry(self, sets, contrast, **kwargs)

    def roast(self, gene_set, contrast=None, **kwargs) -> pd.DataFrame:
        """:func:`degbridge.genesets.roast` on this fit."""
        from .genesets import roast

        return roast(self, gene_set, contrast, **kwargs)

    def mroast(self, sets, contrast=None, **kwargs) -> pd.DataFrame:
        """:func:`degbridge.genesets.mroast` on this fit."""
        from .genesets import mroast

        return mroast(self, sets, contrast, **kwargs)


@to_r.register
def _(fit: LimmaFit):
    with in_r() as r:
        return fit.r_object(r, with_genes=True)
