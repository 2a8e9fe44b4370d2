"""The one path every DE method takes: input, checks, design, what to test, R, tables.

limma (:mod:`degbridge.de.limma`), edgeR (:mod:`degbridge.de.edger`) and DESeq2
(:mod:`degbridge.de.deseq2`) are peers over this module; none imports another.

* **Input** — :func:`resolve_matrix` turns a genes × samples DataFrame, a numpy or scipy
  matrix with IDs, an AnnData (samples × genes, ``X`` or a layer, dense or sparse, ``obs`` as
  the sample table) or a CSV/TSV path into a :class:`Matrix`. The plots and the expression
  features read matrices through it too.
* **Checks** — :func:`check_values` (shape, duplicate IDs, infinities, missing values) and,
  for counts, :func:`check_count_values` (the one count rule of
  :func:`degbridge._checks.check_counts`, located at gene and sample).
* **Design and what to test** — :func:`resolve_design` (``groups=``, a formula over the
  sample table, or a numeric matrix), :func:`resolve_block`, :func:`check_contrast_or_coef`
  and :func:`tested` (contrasts and ``coef=`` parsed in Python into a :class:`Contrasts`).
* **R** — :func:`in_r` (the lock held, R checked), :func:`named_matrix`, :func:`r_frame`,
  :func:`r_strings`, :func:`r_numbers`, :func:`r_array`, :func:`r_contrast_arguments`.
  Only numbers cross: gene IDs are re-attached here, by position.
* **Tables** — :func:`canonical_table` (a native table under the canonical column names),
  :func:`native_columns`, :class:`DEResults`, :func:`one_or_many`, :func:`design_meta`.
* **Fits** — :class:`DEFit`, the shape of every method's fit (``fit_limma``, ``fit_edger``,
  ``fit_deseq2``): fit once, ``test`` any contrast later without refitting; and
  :class:`SerializedFit`, a fit kept as the R object's own serialised bytes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._checks import NonCounts, check_counts, check_label, get_matrix, is_anndata
from ..io.matrix_reader import read_matrix
from ..io.table import CANONICAL, DETable, column_key, table_mapping
from ..r import to_r
from .contrasts import contrast_matrix
from .design import Design, align_samples, coef_names, design_from_groups, design_from_matrix
from .formula import design_from_formula

__all__ = [
    "Contrasts",
    "DEFit",
    "DEResults",
    "Matrix",
    "SerializedFit",
    "canonical_table",
    "check_contrast_or_coef",
    "check_count_values",
    "check_library_sizes",
    "check_values",
    "densify",
    "design_meta",
    "in_r",
    "named_matrix",
    "native_columns",
    "one_or_many",
    "r_array",
    "r_contrast_arguments",
    "r_frame",
    "r_numbers",
    "r_strings",
    "resolve_block",
    "resolve_design",
    "resolve_matrix",
    "sample_table",
    "summary",
    "tested",
]


# ---------------------------------------------------------------------------------------
# input
# ---------------------------------------------------------------------------------------


@dataclass
class Matrix:
    """An input matrix with its IDs, genes × samples.

    ``values`` is a genes × samples float64 array; sparse input stays as given (samples ×
    genes) until :func:`densify`, which drops all-zero genes first where filtering would
    remove them anyway.
    """

    values: Any
    genes: list[str]
    samples: list[str]
    obs: pd.DataFrame | None
    source: str
    named_samples: bool
    dropped_zero: list[str]
    n_missing: int = 0  # set by check_values


def resolve_matrix(expr, gene_ids=None, sample_ids=None, layer=None) -> Matrix:
    """The input as a :class:`Matrix` (sparse input stays sparse: see :func:`densify`).

    Parameters
    ----------
    expr
        A genes × samples DataFrame (gene IDs as index), a numpy array or scipy sparse
        matrix (genes × samples) with ``gene_ids``/``sample_ids``, an AnnData (samples ×
        genes; ``X`` or ``layer``) or the path of a CSV/TSV matrix.
    gene_ids, sample_ids
        Names for a numpy or scipy matrix (default ``gene1...``, ``sample1...``).
    layer
        The AnnData layer (default ``X``).
    """
    import scipy.sparse as sp

    dropped: list[str] = []
    if is_anndata(expr):
        X = get_matrix(expr, layer)
        genes = [str(g) for g in expr.var_names]
        samples = [str(s) for s in expr.obs_names]
        source = f"AnnData ({'layer ' + repr(layer) if layer else 'X'})"
        values = X if sp.issparse(X) else np.asarray(X, dtype=np.float64).T
        return Matrix(values, genes, samples, expr.obs, source, True, dropped)
    if layer is not None:
        msg = "layer= applies to AnnData input only"
        raise ValueError(msg)
    source = "DataFrame"
    if isinstance(expr, str | os.PathLike):
        source = f"file {str(expr)!r}"
        expr = read_matrix(expr)
    if isinstance(expr, pd.DataFrame):
        return _from_frame(expr, gene_ids, sample_ids, source)
    if sp.issparse(expr):
        values, genes = expr.T.tocsr(), _ids(gene_ids, expr.shape[0], "gene")
        samples = _ids(sample_ids, expr.shape[1], "sample")
        return Matrix(
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
        values = np.asarray(expr, dtype=np.float64)
        return Matrix(values, genes, samples, None, "ndarray", sample_ids is not None, dropped)
    msg = (
        "expr must be a genes × samples DataFrame, a numpy array, an AnnData or a file path, "
        f"not {type(expr).__name__}"
    )
    raise TypeError(msg)


def _from_frame(expr: pd.DataFrame, gene_ids, sample_ids, source: str) -> Matrix:
    if gene_ids is not None or sample_ids is not None:
        msg = "gene_ids=/sample_ids= are for numpy input; a DataFrame carries its own names"
        raise ValueError(msg)
    for what, ids in (("sample", expr.columns), ("gene", expr.index)):
        if ids.has_duplicates:  # before the column checks: expr[name] is then a frame
            dup = [str(d) for d in pd.unique(ids[ids.duplicated()])]
            msg = f"{len(dup)} {what} IDs occur more than once: {dup[:5]}"
            raise ValueError(msg)
    non_numeric = [c for c in expr.columns if not pd.api.types.is_numeric_dtype(expr[c])]
    if non_numeric:
        hint = ""
        if len(non_numeric) == 1 and expr.columns[0] == non_numeric[0]:
            hint = (
                f"; if it holds gene IDs, make it the index: df.set_index({str(non_numeric[0])!r})"
            )
        msg = (
            f"expression columns must be numeric; {[str(c) for c in non_numeric][:5]} are not{hint}"
        )
        raise TypeError(msg)
    values = expr.to_numpy(dtype=np.float64)
    genes = [str(g) for g in expr.index]
    samples = [str(s) for s in expr.columns]
    named = not isinstance(expr.columns, pd.RangeIndex)
    return Matrix(values, genes, samples, None, source, named, [])


def _ids(ids, n: int, what: str) -> list[str]:
    if ids is None:
        return [f"{what}{i + 1}" for i in range(n)]
    ids = [str(i) for i in ids]
    if len(ids) != n:
        msg = f"{what}_ids has {len(ids)} names but the matrix has {n} {what}s"
        raise ValueError(msg)
    return ids


def densify(mat: Matrix, *, drop_zero: bool) -> None:
    """Sparse input (samples × genes) → dense genes × samples, in place; dense is left as is.

    R's methods have no sparse path: the matrix they fit is dense. With ``drop_zero`` (counts
    that are filtered: filterByExpr would drop them anyway, same result), genes with no
    non-zero entry are removed on the sparse side, so only expressed genes are densified.
    """
    import scipy.sparse as sp

    if not sp.issparse(mat.values):
        return
    X = sp.csc_matrix(mat.values)
    genes, dropped = mat.genes, []
    if drop_zero:
        column_of = np.repeat(np.arange(X.shape[1]), np.diff(X.indptr))
        expressed = np.bincount(column_of[X.data != 0], minlength=X.shape[1]) > 0
        dropped = [g for g, e in zip(genes, expressed) if not e]
        X = X[:, np.flatnonzero(expressed)]
        genes = [g for g, e in zip(genes, expressed) if e]
    mat.values = np.asarray(X.toarray(), dtype=np.float64).T
    mat.genes, mat.dropped_zero = genes, dropped


# ---------------------------------------------------------------------------------------
# checks
# ---------------------------------------------------------------------------------------


def check_values(mat: Matrix, *, counts: bool) -> None:
    """The matrix every method can fit: not empty, two genes or more, unique IDs, no
    infinite value, not one value everywhere. For log-expression (``counts=False``) missing
    values are counted (``mat.n_missing``; limma fits each gene on its observed values) and
    genes with none refused; counts are checked by :func:`check_count_values` and
    :func:`check_library_sizes`."""
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
    if np.isfinite(total):
        _check_not_constant(mat)
        return
    inf = np.isinf(v)
    if inf.any():
        msg = f"the matrix has {located(mat, inf, 'infinite')} (log of zero?)"
        raise ValueError(msg)
    if counts:
        return
    nan = np.isnan(v)
    mat.n_missing = int(nan.sum())
    if nan.all(axis=1).any():
        bad = [mat.genes[i] for i in np.flatnonzero(nan.all(axis=1))[:5]]
        msg = f"{int(nan.all(axis=1).sum())} gene(s) have no values at all (all NA), e.g. {bad}"
        raise ValueError(msg)
    _check_not_constant(mat)


def _check_not_constant(mat: Matrix) -> None:
    """A matrix holding one value everywhere has nothing to test (limma's voom fails on it
    with "Need at least two genes", lmFit gives no variance at all)."""
    with np.errstate(invalid="ignore"):
        low, high = np.nanmin(mat.values), np.nanmax(mat.values)
    if low == high:
        msg = (
            f"every value of the matrix is {low:g} ({len(mat.genes)} genes × "
            f"{len(mat.samples)} samples): nothing varies between genes or samples"
        )
        raise ValueError(msg)


def check_library_sizes(mat: Matrix, who: str) -> None:
    """Counts: every sample has some (a library size of 0 breaks every normalisation)."""
    empty = ~mat.values.any(axis=0)
    if empty.any():
        names = [mat.samples[j] for j in np.flatnonzero(empty)]
        msg = (
            f"{who}: {len(names)} sample(s) have no counts at all (library size 0): "
            f"{names[:5]}; remove them (every normalisation divides by a sample's library size)"
        )
        raise ValueError(msg)


def located(mat: Matrix, mask: np.ndarray, what: str) -> str:
    """'N <what> value(s), first at gene G, sample S' for a genes × samples mask."""
    return at(mat, int(mask.sum()), tuple(np.argwhere(mask)[0]), what)


def at(mat: Matrix, count: int, index: tuple[int, ...], what: str, value=None) -> str:
    """'N <what> value(s), first at gene G, sample S[ = value]'."""
    gi, si = index
    where = f"{count} {what} value(s), first at gene {mat.genes[gi]!r}, sample {mat.samples[si]!r}"
    return where if value is None else f"{where} = {value:g}"


def check_count_values(mat: Matrix, message: Callable[[NonCounts, str], str]) -> None:
    """Raw counts by the one rule of :func:`degbridge._checks.check_counts`.

    ``message(bad, where)`` words the error in the method's terms; ``where`` locates the
    first offending value (``"2 negative value(s), first at gene 'g3', sample 's1' = -1"``).
    """

    def worded(bad: NonCounts) -> str:
        value = None if bad.kind == "missing" else bad.value
        return message(bad, at(mat, bad.count, bad.index, bad.kind, value))

    check_counts(mat.values, message=worded)


# ---------------------------------------------------------------------------------------
# design and what to test
# ---------------------------------------------------------------------------------------


def sample_table(mat: Matrix, samples: pd.DataFrame | None) -> pd.DataFrame | None:
    """The sample table in the matrix's sample order: ``samples`` aligned, or AnnData's obs."""
    if samples is None:
        return mat.obs
    return align_samples(samples, mat.samples, positional_ok=not mat.named_samples)


def resolve_design(mat: Matrix, groups, samples, design) -> Design:
    """The design of ``groups=`` (``~ 0 + group``), a formula over the sample table or a
    numeric matrix (exactly one of ``groups`` and ``design``)."""
    given = [x is not None for x in (groups, design)]
    if sum(given) != 1:
        msg = (
            "give exactly one of groups= (one label per sample) or design= (a formula with "
            "samples=, or a numeric design matrix)"
        )
        raise ValueError(msg)
    table = sample_table(mat, samples)
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


def resolve_block(block, mat: Matrix, samples) -> list[str] | None:
    """Block labels per sample (a sample-table column or one label per sample), or None."""
    if block is None:
        return None
    table = sample_table(mat, samples)
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


@dataclass(frozen=True)
class Contrasts:
    """What to test, as :func:`~degbridge.de.design.contrast_matrix` returns it."""

    matrix: np.ndarray  # design columns × contrasts
    names: list[str]
    coefs: list[int | None]  # the design column of each contrast that is one coefficient

    def vector(self, design: Design, k: int = 0) -> dict[str, float]:
        """Contrast ``k`` as ``{design column: weight}``."""
        return dict(zip(design.columns, self.matrix[:, k].tolist()))

    def frame(self, design: Design) -> pd.DataFrame:
        """Design columns × contrasts."""
        return pd.DataFrame(self.matrix, index=design.columns, columns=self.names)


def check_contrast_or_coef(contrast, coef):
    """What to test before the design is known: ``contrast`` or ``coef``, not both."""
    if coef is not None and contrast is not None:
        msg = "give either contrast= or coef=, not both"
        raise ValueError(msg)
    return coef if coef is not None else contrast


def tested(contrast, coef, design: Design) -> Contrasts:
    """``contrast=`` or ``coef=`` (names, 0-based positions, a spline term's name: see
    :func:`~degbridge.de.design.coef_names`) parsed against the design's columns."""
    check_contrast_or_coef(contrast, coef)
    if coef is not None:
        contrast = coef_names(coef, design)
    return Contrasts(*contrast_matrix(contrast, design.columns))


# ---------------------------------------------------------------------------------------
# R
# ---------------------------------------------------------------------------------------


@contextmanager
def in_r() -> Iterator[Any]:
    """``with in_r() as r:`` — degbridge's R lock held and R checked (started if needed).

    R is not thread-safe: hold the lock across every call and conversion, and drop every
    R object before leaving (their finalisers call into R too).
    """
    from .. import r

    with r.R_LOCK:
        r.check_r()
        yield r


def named_matrix(r, m: np.ndarray, rownames, colnames):
    """A numeric R matrix with dimnames (``rownames`` may be None)."""
    ri = r.session().ri
    rm = r.float_matrix(np.asarray(m, dtype=float))
    dimnames = ri.ListSexpVector(
        [ri.NULL if rownames is None else r.str_vector(rownames), r.str_vector(colnames)]
    )
    rm.do_slot_assign("dimnames", dimnames)
    return rm


def r_frame(r, rtab, genes: Sequence[str]) -> pd.DataFrame:
    """An R data.frame as a DataFrame indexed by ``genes`` (its rows, in order)."""
    parts = r.to_dict(r.call("degbridge_df_parts", rtab))
    names = [str(n) for n in r.to_numpy(parts["names"])]
    data = {n: r.to_numpy(c) for n, c in zip(names, parts["columns"])}
    return pd.DataFrame(data, index=pd.Index(list(genes), dtype=object, name=None))


def r_strings(r, rvector) -> list[str]:
    """An R character vector as a list of str."""
    return [str(w) for w in r.to_numpy(rvector)]


def r_numbers(r, rlist) -> dict[str, np.ndarray]:
    """A named R list of vectors as ``{name: numpy array}``."""
    return {k: r.to_numpy(v) for k, v in r.to_dict(rlist).items()}


def r_array(r, robj) -> np.ndarray:
    """An R vector or matrix as a numpy array of its shape."""
    values = r.to_numpy(robj)
    dim = r.session().ri.baseenv["dim"](robj)
    if dim is r.session().ri.NULL:
        return values
    return values.reshape(tuple(int(d) for d in dim), order="F")


def r_contrast_arguments(r, design: Design, spec: Contrasts) -> dict[str, Any]:
    """``contrasts``/``coef`` for the R functions: one coefficient by number (1-based: the
    method tests it directly), else the named contrast matrix."""
    null = r.session().ri.NULL
    if len(spec.names) == 1 and spec.coefs[0] is not None:
        return {"contrasts": null, "coef": r.scalar(spec.coefs[0] + 1)}
    return {"contrasts": named_matrix(r, spec.matrix, design.columns, spec.names), "coef": null}


# ---------------------------------------------------------------------------------------
# tables
# ---------------------------------------------------------------------------------------


class DEResults(dict):
    """Several contrasts' tables: ``{contrast name: DETable}``, plus the F-test table.

    Attributes
    ----------
    ftest
        The moderated F-test over all contrasts (``topTable(fit, coef = all)``): one
        ``logFC`` column per contrast, ``AveExpr``, ``F``, ``P.Value``, ``adj.P.Val``.
        ``None`` with ``lfc > 0`` (``treat`` has no F-test) and for edgeR and DESeq2.
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


def one_or_many(tables: dict[str, DETable], ftest: DETable | None = None):
    """The table itself for one contrast, a :class:`DEResults` for several."""
    if len(tables) == 1:
        return next(iter(tables.values()))
    return DEResults(tables, ftest)


def canonical_table(frame: pd.DataFrame, kind: str, meta: dict[str, Any]) -> DETable:
    """A native edgeR/DESeq2 table under the canonical names :func:`read_table` maps to.

    Canonical columns come first (``CANONICAL`` order), then the others in native order;
    ``meta["column_map"]`` records ``{native: canonical}`` for the renamed ones, and
    ``meta["missing"]`` the number of missing values per column.
    """
    known = table_mapping(kind)
    mapping = {c: known[column_key(c)] for c in frame.columns if column_key(c) in known}
    keep = meta.pop("keep_native", ())
    mapping = {a: b for a, b in mapping.items() if a != b and a not in keep}
    renamed = frame.rename(columns=mapping)
    order = [c for c in CANONICAL if c in renamed.columns]
    order += [c for c in renamed.columns if c not in order]
    meta = dict(meta, kind=kind, column_map=mapping, native_columns=list(frame.columns))
    meta["missing"] = {c: int(renamed[c].isna().sum()) for c in order}
    return DETable(renamed[order], meta=meta)


def native_columns(table: DETable) -> pd.DataFrame:
    """The table under the package's own column names (``logCPM``, ``PValue``, ``padj``...),
    in the package's column order, from ``meta["column_map"]`` and ``meta["native_columns"]``.
    """
    back = {b: a for a, b in table.meta.get("column_map", {}).items()}
    frame = pd.DataFrame(table).rename(columns=back)
    order = table.meta.get("native_columns") or list(frame.columns)
    return frame[[c for c in order if c in frame.columns]]


def design_meta(mat: Matrix, des: Design, versions: dict[str, str]) -> dict[str, Any]:
    """What every method's ``meta`` records of its input and design."""
    return {
        "input": mat.source,
        "design": des.to_frame(),
        "design_formula": des.formula,
        "factors": des.factors,
        "n_genes_input": len(mat.genes) + len(mat.dropped_zero),
        "versions": versions,
    }


def summary(values: np.ndarray) -> dict[str, float]:
    """Quantiles (min, q25, median, q75, max) of the finite values; ``{}`` without any."""
    v = values[np.isfinite(values)]
    if not v.size:
        return {}
    q = np.quantile(v, [0.0, 0.25, 0.5, 0.75, 1.0])
    return dict(zip(("min", "q25", "median", "q75", "max"), q.tolist()))


# ---------------------------------------------------------------------------------------
# fits
# ---------------------------------------------------------------------------------------


class DEFit:
    """What every method's fit has: fit once, test any contrast later without refitting.

    Subclasses (:class:`~degbridge.LimmaFit`, :class:`~degbridge.EdgerFit`,
    :class:`~degbridge.DESeq2Fit`) are frozen dataclasses with at least ``design``
    (:class:`~degbridge.de.design.Design`), ``genes`` (the genes kept, in the fit's row
    order) and ``meta`` (provenance, as in a table's ``meta`` without the contrast); they
    implement ``test`` and ``top_table`` and register their R conversion with
    :func:`degbridge.r.to_r`. Fits are picklable and safe to share between threads (their
    arrays do not change after the fit; every call into R holds degbridge's R lock).
    """

    design: Design
    genes: list[str]
    meta: dict[str, Any]

    @property
    def coefficient_names(self) -> list[str]:
        """The design's column names: what contrasts can name."""
        return list(self.design.columns)

    def contrasts(self, contrast=None, *, coef=None) -> Contrasts:
        """What to test, parsed against the fit's coefficients (ValueError naming them).

        ``coef`` is a name, a 0-based position, the common name of a spline/polynomial term's
        columns (``"ns(time, df = 3)"``) or a list of these
        (:func:`~degbridge.de.design.coef_names`).
        """
        return tested(contrast, coef, self.design)

    def to_r(self):
        """The fit as the R object the method returned (gene IDs as row names)."""
        return to_r(self)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.meta['method']}, {len(self.genes)} genes × "
            f"{len(self.design.samples)} samples, coefficients {self.coefficient_names})"
        )


class SerializedFit(DEFit):
    """A fit kept as the R object's own bytes (R's ``serialize``): exact, picklable, and
    rebuilt in R (``unserialize``) for each test, so no R object outlives a call."""

    serialized: bytes

    def r_object(self, r):
        """The fit as an R object again (call under the R lock: :func:`in_r`)."""
        return r.call("degbridge_unserialize", r.raw_vector(self.serialized))


def serialized(r, robj) -> bytes:
    """An R object's bytes (R's ``serialize``; call under the R lock)."""
    return r.to_bytes(r.call("degbridge_serialize", robj))
