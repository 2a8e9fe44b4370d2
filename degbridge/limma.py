"""run_limma: R's limma on a matrix from Python, numbers identical to a native R session.

The design matrix and contrasts are built in Python (:mod:`degbridge.design`); R receives
numbers only: the expression matrix (one block copy into R memory), the numeric design and
contrast matrices, and a few flags. Gene and sample IDs stay in Python and are re-attached by
position. The R code is ``r_scripts/limma_de.R``, which R users can ``source()`` themselves.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, Literal

import numpy as np
import pandas as pd

from ._checks import NonCounts, check_counts, get_matrix, is_anndata
from ._exceptions import DataWarning
from ._params import (
    COUNT_METHODS,
    LIMMA_CONSTRAINTS,
    METHODS,
    NORMALIZE,
    FilterMethod,
    Method,
    Normalize,
    SortBy,
    Weights,
    check_param,
    fill_docs,
    resolve_method,
)
from .design import (
    Design,
    align_samples,
    check_design,
    check_label,
    coef_names,
    contrast_matrix,
    design_from_formula,
    design_from_groups,
    design_from_matrix,
)
from .r import to_r
from .table import DETable, read_matrix

__all__ = [
    "COUNT_METHODS",
    "LIMMA_CONSTRAINTS",
    "METHODS",
    "NORMALIZE",
    "DEResults",
    "LimmaOptions",
    "run_limma",
]

METHOD_NAMES = {"ls": "limma", "voom": "limma-voom", "trend": "limma-trend"}
#: Log-expression matrices with more values than CHUNK_ABOVE (160 MB) are fitted in gene chunks
#: of about CHUNK_VALUES values (8 MB): the same numbers as one lmFit, with a bounded copy in R.
CHUNK_ABOVE = 20_000_000
CHUNK_VALUES = 1_000_000


class DEResults(dict):
    """Several contrasts' tables: ``{contrast name: DETable}``, plus the F-test table.

    Attributes
    ----------
    ftest
        The moderated F-test over all contrasts (``topTable(fit, coef = all)``): one
        ``logFC`` column per contrast, ``AveExpr``, ``F``, ``P.Value``, ``adj.P.Val``.
        ``None`` with ``lfc > 0`` (``treat`` has no F-test).
    """

    def __init__(self, tables: Mapping[str, DETable], ftest: DETable | None):
        super().__init__(tables)
        self.ftest = ftest

    def __repr__(self) -> str:
        inner = ", ".join(f"{k!r}: DETable({v.shape[0]} genes)" for k, v in self.items())
        return f"DEResults({{{inner}}}, ftest={'yes' if self.ftest is not None else 'no'})"

    def to_r(self):
        """A named R list of data.frames, one per contrast, plus ``F`` (the F-test table)."""
        return to_r(self)


@to_r.register
def _(results: DEResults):
    items = dict(results)
    if results.ftest is not None:
        items["F"] = results.ftest  # no contrast is named F (refused with several contrasts)
    return to_r(items)


@dataclass
class _Matrix:
    # genes × samples float64; sparse input stays as given (samples × genes) until _densify,
    # which needs the method (all-zero genes are dropped first for filtered counts)
    values: Any
    genes: list[str]
    samples: list[str]
    obs: pd.DataFrame | None
    source: str
    named_samples: bool
    dropped_zero: list[str]
    n_missing: int = 0  # set by _check_values


@dataclass(frozen=True)
class _Contrasts:
    """What to test, as :func:`~degbridge.design.contrast_matrix` returns it."""

    matrix: np.ndarray  # design columns × contrasts
    names: list[str]
    coefs: list[int | None]  # the design column of each contrast that is one coefficient


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
    if coef is not None:
        if contrast is not None:
            msg = "give either contrast= or coef=, not both"
            raise ValueError(msg)
        contrast = coef
    mat, des, opts, choice = _prepare(
        expr, groups, samples, design, method, arguments, gene_ids, sample_ids, layer
    )
    if coef is not None:
        contrast = coef_names(coef, des)
    spec = _Contrasts(*contrast_matrix(contrast, des.columns))
    block_labels = _resolve_block(block, mat, samples)
    run = _limma_in_r(mat, des, spec, opts, block_labels)
    run.meta["method_choice"] = str(choice)
    _warn_run(run.r_warnings, mat, stacklevel=3)
    run.meta["seconds"] = round(time.perf_counter() - started, 3)
    return _results(run, des, spec, opts)


def _prepare(
    expr, groups, samples, design, method, arguments: dict[str, Any], gene_ids, sample_ids, layer
) -> tuple[_Matrix, Design, LimmaOptions, Any]:
    """The checked matrix, design and options of a run (``run_limma``, ``fit_limma``):
    ``(matrix, design, options, method choice)``; nothing reaches R."""
    LimmaOptions.check_arguments(method=method, **arguments)
    mat = _resolve_matrix(expr, gene_ids, sample_ids, layer)
    pseudobulk = is_anndata(expr) and "pseudobulk" in expr.uns
    choice = resolve_method(
        mat.values, method, counts="pseudobulk sums of raw counts" if pseudobulk else "raw counts"
    )
    opts = LimmaOptions.from_arguments(method=choice.method, **arguments)
    _densify(mat, drop_zero=opts.counts and opts.filter)
    _check_values(mat, opts)
    des = _resolve_design(mat, groups, samples, design)
    check_design(des)
    return mat, des, opts, choice


def _warn_run(r_warnings: list[str], mat: _Matrix, *, stacklevel: int) -> None:
    """R's warnings (once each) and the missing-value note, as Python warnings."""
    from . import r

    r.warn_r(r_warnings, "limma/edgeR", stacklevel=stacklevel)
    if mat.n_missing:
        warnings.warn(
            f"{mat.n_missing} missing values in the expression matrix; limma fits each gene on "
            "its observed values (fewer residual degrees of freedom for those genes)",
            DataWarning,
            stacklevel=stacklevel,
        )


# ---------------------------------------------------------------------------------------
# options
# ---------------------------------------------------------------------------------------


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


def _resolve_matrix(expr, gene_ids, sample_ids, layer) -> _Matrix:
    """The input as a :class:`_Matrix` (sparse input stays sparse: see :func:`_densify`)."""
    import scipy.sparse as sp

    dropped: list[str] = []
    obs = None
    if is_anndata(expr):
        X = get_matrix(expr, layer)
        genes = [str(g) for g in expr.var_names]
        samples = [str(s) for s in expr.obs_names]
        obs = expr.obs
        source = f"AnnData ({'layer ' + repr(layer) if layer else 'X'})"
        values = X if sp.issparse(X) else np.asarray(X, dtype=np.float64).T
        return _Matrix(values, genes, samples, obs, source, True, dropped)
    if layer is not None:
        msg = "layer= applies to AnnData input only"
        raise ValueError(msg)
    source = "DataFrame"
    if isinstance(expr, str | os.PathLike):
        source = f"file {str(expr)!r}"
        expr = read_matrix(expr)
    if isinstance(expr, pd.DataFrame):
        if gene_ids is not None or sample_ids is not None:
            msg = "gene_ids=/sample_ids= are for numpy input; a DataFrame carries its own names"
            raise ValueError(msg)
        non_numeric = [c for c in expr.columns if not pd.api.types.is_numeric_dtype(expr[c])]
        if non_numeric:
            hint = ""
            if len(non_numeric) == 1 and expr.columns[0] == non_numeric[0]:
                hint = f"; if it holds gene IDs, make it the index: df.set_index({str(non_numeric[0])!r})"
            msg = f"expression columns must be numeric; {[str(c) for c in non_numeric][:5]} are not{hint}"
            raise TypeError(msg)
        values = expr.to_numpy(dtype=np.float64)
        genes = [str(g) for g in expr.index]
        samples = [str(s) for s in expr.columns]
        named = not isinstance(expr.columns, pd.RangeIndex)
        return _Matrix(values, genes, samples, None, source, named, dropped)
    if sp.issparse(expr):
        values, genes = expr.T.tocsr(), _ids(gene_ids, expr.shape[0], "gene")
        samples = _ids(sample_ids, expr.shape[1], "sample")
        return _Matrix(
            values, genes, samples, None, "sparse matrix", sample_ids is not None, dropped
        )
    if isinstance(expr, np.ndarray):
        if expr.ndim != 2:
            msg = f"an expression matrix must be 2-D (genes × samples), not {expr.ndim}-D"
            raise ValueError(msg)
        if expr.dtype.kind not in "fiub":
            msg = f"an expression matrix must be numeric, not dtype {expr.dtype}"
            raise TypeError(msg)
        genes = _ids(gene_ids, expr.shape[0], "gene")
        samples = _ids(sample_ids, expr.shape[1], "sample")
        return _Matrix(
            np.asarray(expr, dtype=np.float64),
            genes,
            samples,
            None,
            "ndarray",
            sample_ids is not None,
            dropped,
        )
    msg = (
        "expr must be a genes × samples DataFrame, a numpy array, an AnnData or a file path, "
        f"not {type(expr).__name__}"
    )
    raise TypeError(msg)


def _ids(ids, n: int, what: str) -> list[str]:
    if ids is None:
        return [f"{what}{i + 1}" for i in range(n)]
    ids = [str(i) for i in ids]
    if len(ids) != n:
        msg = f"{what}_ids has {len(ids)} names but the matrix has {n} {what}s"
        raise ValueError(msg)
    return ids


def _densify(mat: _Matrix, *, drop_zero: bool) -> None:
    """Sparse input (samples × genes) → dense genes × samples, in place; dense is left as is."""
    import scipy.sparse as sp

    if sp.issparse(mat.values):
        mat.values, mat.genes, mat.dropped_zero = _sparse_to_dense(mat.values, mat.genes, drop_zero)


def _sparse_to_dense(X, genes: list[str], drop_zero: bool):
    """samples × genes sparse → genes × samples dense, dropping all-zero genes first.

    limma has no sparse path: the matrix it fits is dense. For counts filtered with
    filterByExpr (``drop_zero``), genes with no non-zero entry are removed on the sparse side
    (filterByExpr would drop them anyway: same result), so only expressed genes are densified.
    """
    import scipy.sparse as sp

    X = sp.csc_matrix(X)
    dropped: list[str] = []
    if drop_zero:
        column_of = np.repeat(np.arange(X.shape[1]), np.diff(X.indptr))
        expressed = np.bincount(column_of[X.data != 0], minlength=X.shape[1]) > 0
        dropped = [g for g, e in zip(genes, expressed) if not e]
        X = X[:, np.flatnonzero(expressed)]
        genes = [g for g, e in zip(genes, expressed) if e]
    values = np.asarray(X.toarray(), dtype=np.float64).T
    return values, genes, dropped


def _check_values(mat: _Matrix, opts: LimmaOptions) -> None:
    v = mat.values
    n_genes, n_samples = v.shape
    if n_genes == 0 or n_samples == 0:
        msg = f"the expression matrix is empty ({n_genes} genes × {n_samples} samples)"
        raise ValueError(msg)
    if n_genes < 2:
        msg = (
            f"the matrix has a single gene ({mat.genes[0]!r}); limma's empirical Bayes step "
            "borrows information across many genes"
        )
        raise ValueError(msg)
    for what, ids in (("gene", mat.genes), ("sample", mat.samples)):
        seen = pd.Index(ids)
        if seen.has_duplicates:
            dup = list(pd.unique(seen[seen.duplicated()]))
            msg = f"{len(dup)} {what} IDs occur more than once: {dup[:5]}"
            raise ValueError(msg)
    with np.errstate(invalid="ignore", over="ignore"):
        total = v.sum()
    # a finite sum means no NaN and no infinity (the common case, without a matrix-sized
    # temporary); an overflowing sum takes the long path
    if not np.isfinite(total):
        inf = np.isinf(v)
        if inf.any():
            msg = f"the matrix has {_located(mat, inf, 'infinite')} (log of zero?)"
            raise ValueError(msg)
    if opts.counts:
        _check_counts(mat, opts)
        return
    if np.isfinite(total):
        return
    nan = np.isnan(v)
    mat.n_missing = int(nan.sum())
    if nan.all(axis=1).any():
        bad = [mat.genes[i] for i in np.flatnonzero(nan.all(axis=1))[:5]]
        msg = f"{int(nan.all(axis=1).sum())} gene(s) have no values at all (all NA), e.g. {bad}"
        raise ValueError(msg)


def _located(mat: _Matrix, mask: np.ndarray, what: str) -> str:
    """'N <what> value(s), first at gene G, sample S' for a genes × samples mask."""
    return _at(mat, int(mask.sum()), tuple(np.argwhere(mask)[0]), what)


def _at(mat: _Matrix, count: int, index: tuple[int, ...], what: str, value=None) -> str:
    gi, si = index
    where = f"{count} {what} value(s), first at gene {mat.genes[gi]!r}, sample {mat.samples[si]!r}"
    return where if value is None else f"{where} = {value:g}"


def _check_counts(mat: _Matrix, opts: LimmaOptions) -> None:
    """Raw counts (the rule of :func:`degbridge._checks.check_counts`), and no all-zero
    genes unless they are filtered."""
    method = opts.method

    def message(bad: NonCounts) -> str:
        at = _at(mat, bad.count, bad.index, bad.kind, None if bad.kind == "missing" else bad.value)
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

    check_counts(mat.values, message=message)
    zero = ~mat.values.any(axis=1)
    if zero.any() and not opts.filter:
        bad = [mat.genes[i] for i in np.flatnonzero(zero)[:5]]
        msg = (
            f"{int(zero.sum())} gene(s) have zero counts in every sample (e.g. {bad}); they "
            "carry no information and distort voom's mean-variance trend: remove them or "
            "use filter='filterByExpr'"
        )
        raise ValueError(msg)


def _resolve_design(mat: _Matrix, groups, samples, design) -> Design:
    given = [x is not None for x in (groups, design)]
    if sum(given) != 1:
        msg = (
            "give exactly one of groups= (one label per sample) or design= (a formula with "
            "samples=, or a numeric design matrix)"
        )
        raise ValueError(msg)
    table = mat.obs
    if samples is not None:
        table = align_samples(samples, mat.samples, positional_ok=not mat.named_samples)
    if groups is not None:
        if isinstance(groups, str):
            if table is None:
                msg = f"groups={groups!r} names a column, but there is no sample table (samples=)"
                raise ValueError(msg)
            if groups not in table.columns:
                msg = f"groups={groups!r} is not a sample-table column; columns are {list(map(str, table.columns))}"
                raise ValueError(msg)
            groups = table[groups].reset_index(drop=True)
        return design_from_groups(groups, mat.samples)
    if isinstance(design, str):
        if table is None:
            msg = "a formula design needs a sample table: pass samples= (one row per sample)"
            raise ValueError(msg)
        return design_from_formula(design, table)
    return design_from_matrix(design, mat.samples)


def _resolve_block(block, mat: _Matrix, samples) -> list[str] | None:
    if block is None:
        return None
    table = mat.obs
    if samples is not None:
        table = align_samples(samples, mat.samples, positional_ok=not mat.named_samples)
    if isinstance(block, str):
        if table is None or block not in table.columns:
            cols = [] if table is None else list(map(str, table.columns))
            msg = f"block={block!r} is not a sample-table column; columns are {cols}"
            raise ValueError(msg)
        labels = table[block]
    else:
        labels = block
    labels = pd.Series(list(labels)) if not isinstance(labels, pd.Series) else labels
    if len(labels) != len(mat.samples):
        msg = f"block has {len(labels)} labels but there are {len(mat.samples)} samples"
        raise ValueError(msg)
    if labels.isna().any():
        msg = "block has missing labels"
        raise ValueError(msg)
    out = [check_label(v, "block label") for v in labels]
    if len(set(out)) == len(out):
        msg = "block has a different label for every sample: nothing is repeated within a block"
        raise ValueError(msg)
    return out


# ---------------------------------------------------------------------------------------
# R
# ---------------------------------------------------------------------------------------


def _limma_in_r(mat: _Matrix, des: Design, spec: _Contrasts, opts, block) -> _Run:
    """One call of ``degbridge_limma_de`` (fit, then test), and its results as Python objects."""
    from . import r

    # R is not thread-safe: hold the lock across every call and conversion of this run
    with r.R_LOCK:
        r.check_r()
        dmat = _named_matrix(r, des.matrix, None, des.columns)
        x, r_warnings, n_chunks = _r_input(r, mat, dmat, opts, block)
        args = {**_r_fit_arguments(r, opts, block), **_r_test_arguments(r, des, spec, opts)}
        out = r.to_dict(r.call("degbridge_limma_de", x, dmat, **args))
        del x, args
        r_warnings += _strings(r, out["warnings"])
        keep = r.to_numpy(out["keep"]).astype(bool)
        genes = [g for g, k in zip(mat.genes, keep) if k]
        info = {k: r.to_numpy(v) for k, v in r.to_dict(out["info"]).items()}
        meta = _meta(mat, des, spec, opts, block=block, keep=keep, info=info, versions=r.versions())
        if n_chunks is not None:
            meta["lmfit_chunks"] = n_chunks
        frames = [_frame(r, rtab, genes) for rtab in out["tables"]]
        ftest = None if out["ftable"] is r.session().ri.NULL else _frame(r, out["ftable"], genes)
        # drop every R object here, under the lock: their finalisers call into R too
        del dmat, out
    return _Run(frames, ftest, meta, r_warnings)


def _r_input(r, mat: _Matrix, dmat, opts: LimmaOptions, block: list[str] | None):
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
        r_warnings += _strings(r, piece["warnings"])
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


def _r_test_arguments(r, des: Design, spec: _Contrasts, opts: LimmaOptions) -> dict[str, Any]:
    """The test stage's arguments of ``degbridge_limma_de`` (as R objects)."""
    null = r.session().ri.NULL
    if len(spec.names) == 1 and spec.coefs[0] is not None:
        contrasts, coef = null, r.scalar(spec.coefs[0] + 1)
    else:
        contrasts, coef = _named_matrix(r, spec.matrix, des.columns, spec.names), null
    return {
        "contrasts": contrasts,
        "coef": coef,
        "robust": r.scalar(opts.robust),
        "trend": r.scalar(opts.trend),
        "lfc": r.scalar(opts.lfc),
        "confint": r.scalar(opts.confint),
    }


def _strings(r, rvector) -> list[str]:
    return [str(w) for w in r.to_numpy(rvector)]


def _named_matrix(r, m: np.ndarray, rownames, colnames):
    ri = r.session().ri
    rm = r.float_matrix(np.asarray(m, dtype=float))
    dimnames = ri.ListSexpVector(
        [ri.NULL if rownames is None else r.str_vector(rownames), r.str_vector(colnames)]
    )
    rm.do_slot_assign("dimnames", dimnames)
    return rm


def _frame(r, rtab, genes: list[str]) -> pd.DataFrame:
    parts = r.to_dict(r.call("degbridge_df_parts", rtab))
    names = [str(n) for n in r.to_numpy(parts["names"])]
    data = {n: r.to_numpy(c) for n, c in zip(names, parts["columns"])}
    return pd.DataFrame(data, index=pd.Index(genes, dtype=object, name=None))


# ---------------------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------------------


def _results(run: _Run, des: Design, spec: _Contrasts, opts: LimmaOptions) -> DETable | DEResults:
    """One sorted DETable per contrast (the table itself for one), plus the F-test."""
    tables = {}
    for k, (name, frame) in enumerate(zip(spec.names, run.frames)):
        vector = dict(zip(des.columns, spec.matrix[:, k].tolist()))
        tab = DETable(frame, meta=dict(run.meta, contrast=name, contrast_vector=vector))
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
    mat: _Matrix,
    des: Design,
    spec: _Contrasts,
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
        "contrasts": pd.DataFrame(spec.matrix, index=des.columns, columns=spec.names),
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
