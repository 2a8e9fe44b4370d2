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
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from ._exceptions import DataWarning, RWarning
from .design import (
    Design,
    align_samples,
    check_design,
    check_label,
    contrast_matrix,
    design_from_formula,
    design_from_groups,
    design_from_matrix,
)
from .table import DETable, read_matrix

__all__ = ["DEResults", "run_limma"]

METHODS = ("ls", "voom", "trend")
NORMALIZE = ("TMM", "TMMwsp", "RLE", "upperquartile", "none")
COUNT_METHODS = ("voom", "trend")
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


@dataclass
class _Matrix:
    values: np.ndarray  # genes × samples float64
    genes: list[str]
    samples: list[str]
    obs: pd.DataFrame | None
    source: str
    named_samples: bool
    dropped_zero: list[str]
    n_missing: int = 0  # set by _check_values


def run_limma(
    expr,
    *,
    groups=None,
    samples: pd.DataFrame | None = None,
    design=None,
    contrast: str | Sequence[str] | Mapping[str, str] | np.ndarray | None = None,
    coef: str | None = None,
    method: Literal["ls", "voom", "trend"] = "ls",
    normalize: str | None = "TMM",
    filter: Literal["filterByExpr"] | bool | None = "filterByExpr",
    robust: bool = False,
    trend: bool = False,
    lfc: float = 0.0,
    block=None,
    weights: Literal["arrayWeights", "quality"] | None = None,
    confint: bool | float = False,
    prior_count: float = 3.0,
    sort_by: Literal["auto", "B", "P", "logFC", "t", "none"] = "auto",
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
        Same as a single coefficient name in ``contrast`` (limma's ``coef=``).
    method
        ``"ls"``: log-expression (microarrays, log-CPM...) through ``lmFit``. ``"voom"``:
        counts through edgeR normalisation and ``voom``. ``"trend"``: counts to log-CPM
        (``prior_count``) with ``eBayes(trend = TRUE)``.
    normalize
        edgeR ``calcNormFactors`` method for counts: ``"TMM"`` (default), ``"TMMwsp"``,
        ``"RLE"``, ``"upperquartile"`` or ``None``/``"none"``.
    filter
        ``"filterByExpr"`` (default) drops lowly expressed genes before normalising counts;
        ``None`` keeps every gene. Ignored for ``method="ls"``.
    robust, trend
        ``eBayes(robust=, trend=)``.
    lfc
        With ``lfc > 0``, test against this log2 fold-change threshold with ``treat`` and
        ``topTreat`` (no ``B`` column then).
    block
        Sample blocks (a sample-table column name or one label per sample) for
        ``duplicateCorrelation``: repeated measures or paired samples.
    weights
        ``"arrayWeights"`` (``method="ls"``) or ``"quality"`` (``voomWithQualityWeights``).
    confint
        Add ``CI.L``/``CI.R`` (``True`` for 95 %, or a level such as ``0.99``).
    prior_count
        Prior count of ``cpm(log = TRUE)`` for ``method="trend"``.
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
    started = time.perf_counter()
    opts = _check_options(method, normalize, filter, lfc, weights, confint, sort_by, prior_count)
    if coef is not None:
        if contrast is not None:
            msg = "give either contrast= or coef=, not both"
            raise ValueError(msg)
        contrast = coef
    mat = _resolve_matrix(
        expr, gene_ids, sample_ids, layer, drop_zero=method in COUNT_METHODS and opts["filter"]
    )
    _check_values(mat, method, opts["filter"])
    des = _resolve_design(mat, groups, samples, design)
    check_design(des)
    cmat, cnames, coefs = contrast_matrix(contrast, des.columns)
    block_labels = _resolve_block(block, mat, samples)

    from . import r

    # R is not thread-safe: hold the lock across every call and conversion of this run
    with r.R_LOCK:
        r.check_r()
        dmat = _named_matrix(r, des.matrix, None, des.columns)
        if len(cnames) == 1 and coefs[0] is not None:
            r_contrasts, r_coef = r.session().ri.NULL, r.scalar(coefs[0] + 1)
        else:
            r_contrasts, r_coef = _named_matrix(r, cmat, des.columns, cnames), r.session().ri.NULL
        ri = r.session().ri
        n_genes, n_samples = mat.values.shape
        chunked = (
            method == "ls"
            and opts["weights"] == "none"
            and block_labels is None
            and n_genes * n_samples > CHUNK_ABOVE
        )
        r_warnings: list[str] = []
        if chunked:
            # lmFit gene chunk by gene chunk (each gene is fitted on its own), joined in R,
            # then the empirical Bayes step on the whole: the same numbers, less memory
            step = max(1, CHUNK_VALUES // n_samples)
            fits = []
            for start in range(0, n_genes, step):
                part = r.float_matrix(mat.values[start : start + step], has_nan=mat.n_missing > 0)
                piece = r.to_dict(r.call("degbridge_lmfit_chunk", part, dmat))
                del part
                r_warnings += [str(w) for w in r.to_numpy(piece["warnings"])]
                fits.append(piece["fit"])
                del piece
            fit = r.call("degbridge_rbind_fits", ri.ListSexpVector(fits))
            del fits
            res = r.call(
                "degbridge_limma_test",
                fit,
                contrasts=r_contrasts,
                coef=r_coef,
                robust=r.scalar(bool(robust)),
                trend=r.scalar(bool(trend)),
                lfc=r.scalar(float(lfc)),
                confint=r.scalar(opts["confint"]),
            )
            del fit
        else:
            x = r.float_matrix(mat.values, has_nan=mat.n_missing > 0)
            res = r.call(
                "degbridge_limma_de",
                x,
                dmat,
                contrasts=r_contrasts,
                coef=r_coef,
                method=r.scalar(method),
                normalize=r.scalar(opts["normalize"]),
                filter=r.scalar(opts["filter"]),
                robust=r.scalar(bool(robust)),
                trend=r.scalar(bool(trend)),
                lfc=r.scalar(float(lfc)),
                block=ri.NULL if block_labels is None else r.str_vector(block_labels),
                weights=r.scalar(opts["weights"]),
                confint=r.scalar(opts["confint"]),
                **{"prior.count": r.scalar(float(prior_count))},
            )
            del x
        out = r.to_dict(res)
        r_warnings += [str(w) for w in r.to_numpy(out["warnings"])]
        for text in dict.fromkeys(r_warnings):
            warnings.warn(f"R (limma/edgeR): {text}", RWarning, stacklevel=2)
        keep = r.to_numpy(out["keep"]).astype(bool)
        genes = [g for g, k in zip(mat.genes, keep) if k]
        info = {k: r.to_numpy(v) for k, v in r.to_dict(out["info"]).items()}
        meta = _meta(
            mat, des, cmat, cnames, method, opts, robust, trend, lfc, block_labels, keep, info, r
        )
        if chunked:
            meta["lmfit_chunks"] = -(-n_genes // step)
        frames = [_frame(r, rtab, genes) for rtab in out["tables"]]
        fframe = None if out["ftable"] is ri.NULL else _frame(r, out["ftable"], genes)
        # drop every R object here, under the lock: their finalisers call into R too
        del dmat, r_contrasts, r_coef, res, out
        meta["seconds"] = round(time.perf_counter() - started, 3)

    tables = {}
    for k, frame in enumerate(frames):
        tab_meta = dict(
            meta, contrast=cnames[k], contrast_vector=dict(zip(des.columns, cmat[:, k].tolist()))
        )
        tables[cnames[k]] = _sorted(DETable(frame, meta=tab_meta), opts["sort_by"], treat=lfc > 0)
    if len(tables) == 1:
        return next(iter(tables.values()))
    ftest = None
    if fframe is not None:
        frame = fframe
        frame.columns = [*cnames, *frame.columns[len(cnames) :]]
        ftest = DETable(frame, meta=dict(meta, contrast=" ; ".join(cnames), test="moderated F"))
        if opts["sort_by"] != "none":
            ftest = ftest.iloc[np.argsort(ftest["P.Value"].to_numpy(), kind="stable")]
    return DEResults(tables, ftest)


# ---------------------------------------------------------------------------------------
# inputs
# ---------------------------------------------------------------------------------------


def _check_options(method, normalize, filt, lfc, weights, confint, sort_by, prior_count) -> dict:
    if method not in METHODS:
        msg = f"method must be one of {list(METHODS)}, not {method!r}"
        raise ValueError(msg)
    norm = "none" if normalize is None else normalize
    if norm not in NORMALIZE:
        msg = f"normalize must be one of {list(NORMALIZE)} or None, not {normalize!r}"
        raise ValueError(msg)
    if filt in ("filterByExpr", True):
        filt_flag = True
    elif filt in (None, False):
        filt_flag = False
    else:
        msg = f"filter must be 'filterByExpr' or None, not {filt!r}"
        raise ValueError(msg)
    if method == "ls":
        filt_flag = False
    if not isinstance(lfc, int | float) or not np.isfinite(lfc) or lfc < 0:
        msg = f"lfc must be a number >= 0, not {lfc!r}"
        raise ValueError(msg)
    w = "none" if weights is None else weights
    if w not in ("none", "arrayWeights", "quality"):
        msg = f"weights must be None, 'arrayWeights' or 'quality', not {weights!r}"
        raise ValueError(msg)
    if w == "arrayWeights" and method != "ls":
        msg = "weights='arrayWeights' is for method='ls'; with voom use weights='quality'"
        raise ValueError(msg)
    if w == "quality" and method != "voom":
        msg = "weights='quality' (voomWithQualityWeights) needs method='voom'"
        raise ValueError(msg)
    if isinstance(confint, bool):
        ci: bool | float = confint
    elif isinstance(confint, int | float) and 0 < confint < 1:
        ci = float(confint)
    else:
        msg = f"confint must be True/False or a level in (0, 1), not {confint!r}"
        raise ValueError(msg)
    if sort_by not in ("auto", "B", "P", "logFC", "t", "none"):
        msg = f"sort_by must be 'auto', 'B', 'P', 'logFC', 't' or 'none', not {sort_by!r}"
        raise ValueError(msg)
    if not prior_count > 0:
        msg = f"prior_count must be > 0, not {prior_count!r}"
        raise ValueError(msg)
    return {"normalize": norm, "filter": filt_flag, "weights": w, "confint": ci, "sort_by": sort_by}


def _is_anndata(obj) -> bool:
    return type(obj).__name__ == "AnnData" and hasattr(obj, "obs") and hasattr(obj, "var")


def _resolve_matrix(expr, gene_ids, sample_ids, layer, *, drop_zero: bool) -> _Matrix:
    import scipy.sparse as sp

    dropped: list[str] = []
    obs = None
    if _is_anndata(expr):
        if layer is not None and layer not in expr.layers:
            msg = f"layer {layer!r} is not in the AnnData; layers are {list(expr.layers)} (or layer=None for X)"
            raise ValueError(msg)
        X = expr.layers[layer] if layer is not None else expr.X
        if X is None:
            msg = "the AnnData has no X; pass layer=..."
            raise ValueError(msg)
        genes = [str(g) for g in expr.var_names]
        samples = [str(s) for s in expr.obs_names]
        obs = expr.obs
        source = f"AnnData ({'layer ' + repr(layer) if layer else 'X'})"
        if sp.issparse(X):
            values, genes, dropped = _sparse_to_dense(X, genes, drop_zero)
        else:
            values = np.asarray(X, dtype=np.float64).T
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
        values, genes, dropped = _sparse_to_dense(
            expr.T.tocsr(), _ids(gene_ids, expr.shape[0], "gene"), drop_zero
        )
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


def _check_values(mat: _Matrix, method: str, filt: bool) -> None:
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
    if np.isfinite(total):  # the common case, without a matrix-sized temporary
        # (a finite sum means no NaN and no infinity; an overflowing sum takes the long path)
        mat.n_missing = 0
        if method in COUNT_METHODS:
            _check_counts(mat, method, filt)
        return
    inf = np.isinf(v)
    if inf.any():
        msg = f"the matrix has {_located(mat, inf, 'infinite')} (log of zero?)"
        raise ValueError(msg)
    nan = np.isnan(v)
    mat.n_missing = int(nan.sum())
    if method in COUNT_METHODS:
        if nan.any():
            msg = f"method={method!r} needs complete counts but the matrix has {_located(mat, nan, 'missing')}"
            raise ValueError(msg)
        _check_counts(mat, method, filt)
    elif nan.all(axis=1).any():
        bad = [mat.genes[i] for i in np.flatnonzero(nan.all(axis=1))[:5]]
        msg = f"{int(nan.all(axis=1).sum())} gene(s) have no values at all (all NA), e.g. {bad}"
        raise ValueError(msg)


def _located(mat: _Matrix, mask: np.ndarray, what: str, *, value: bool = False) -> str:
    """'N <what> value(s), first at gene G, sample S [= v]' for a genes × samples mask."""
    gi, si = np.argwhere(mask)[0]
    where = f"{int(mask.sum())} {what} value(s), first at gene {mat.genes[gi]!r}, sample {mat.samples[si]!r}"
    return f"{where} = {mat.values[gi, si]:g}" if value else where


def _check_counts(mat: _Matrix, method: str, filt: bool) -> None:
    """Raw counts: non-negative integers, and no all-zero genes unless they are filtered."""
    v = mat.values
    neg = v < 0
    if neg.any():
        msg = (
            f"method={method!r} needs raw counts but the matrix has {_located(mat, neg, 'negative', value=True)}: "
            "this looks like normalised or log data; use method='ls' for log-expression"
        )
        raise ValueError(msg)
    frac = np.abs(v - np.round(v)) > 1e-8
    if frac.any():
        msg = (
            f"method={method!r} needs raw integer counts but the matrix has "
            f"{_located(mat, frac, 'non-integer', value=True)}: this looks like normalised or "
            "log data (use method='ls'); estimated counts (salmon/tximport) can be rounded with "
            "numpy.round first"
        )
        raise ValueError(msg)
    zero = ~v.any(axis=1)
    if zero.any() and not filt:
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
    mat, des, cmat, cnames, method, opts, robust, trend, lfc, block, keep, info, r
) -> dict[str, Any]:
    n_missing = mat.n_missing
    meta: dict[str, Any] = {
        "source": "run_limma",
        "input": mat.source,
        "kind": "limma",
        "format": "limma topTable" if lfc == 0 else "limma topTreat",
        "method": METHOD_NAMES[method],
        "design": des.to_frame(),
        "design_formula": des.formula,
        "factors": des.factors,
        "contrasts": pd.DataFrame(cmat, index=des.columns, columns=cnames),
        "options": {
            "method": method,
            "normalize": opts["normalize"] if method in COUNT_METHODS else None,
            "filter": "filterByExpr" if opts["filter"] else None,
            "robust": bool(robust),
            "trend": bool(trend) or method == "trend",
            "lfc": float(lfc),
            "block": block is not None,
            "weights": None if opts["weights"] == "none" else opts["weights"],
            "confint": opts["confint"],
        },
        "n_genes_input": len(mat.genes) + len(mat.dropped_zero),
        "n_genes_tested": int(keep.sum()),
        "n_genes_filtered": int((~keep).sum()) + len(mat.dropped_zero),
        "n_missing_values": n_missing,
        "versions": r.versions(),
    }
    if mat.dropped_zero:
        meta["dropped_all_zero"] = len(mat.dropped_zero)
    if block is not None:
        meta["block"] = block
    samples = mat.samples
    for key in ("lib_size", "norm_factors", "sample_weights"):
        if key in info:
            meta[key] = dict(zip(samples, info[key].tolist()))
    if "consensus_correlation" in info:
        meta["consensus_correlation"] = float(info["consensus_correlation"][0])
    if "df_prior" in info:
        dfp = info["df_prior"]
        meta["df_prior"] = float(dfp[0]) if dfp.size == 1 else float(np.median(dfp))
    if n_missing:
        warnings.warn(
            f"{n_missing} missing values in the expression matrix; limma fits each gene on its "
            "observed values (fewer residual degrees of freedom for those genes)",
            DataWarning,
            stacklevel=3,
        )
    return meta
