"""edgeR from Python: ``run_edger`` (fit and test), ``fit_edger`` (fit once, test later).

Inputs go through :mod:`degbridge.de.backend`, exactly as for limma and DESeq2 (DataFrame,
numpy, AnnData dense or sparse, CSV/TSV; designs from groups, formulas or matrices; contrasts
parsed in Python). Only numbers cross to R (the count matrix, the design matrix, a contrast
matrix or a coefficient number); the R code is ``r_scripts/R/edger_de.R`` (a fit stage and a
test stage), shared with the R package ``degbridge``. Gene IDs are re-attached in Python by
row number.

:func:`fit_edger` keeps the fit (``glmQLFit``'s or ``glmFit``'s ``DGEGLM``, or for the exact
test the ``DGEList`` with its dispersions) as R's own serialised bytes in an
:class:`EdgerFit`: :meth:`EdgerFit.test` runs ``glmQLFTest``, ``glmLRT``, ``glmTreat`` or
``exactTest`` on it for any contrast without estimating the dispersions again, and gives the
numbers ``run_edger`` gives for the same contrast.

Column names: the table holds the canonical names wherever edgeR's column has one, through the
mapping :func:`degbridge.read_table` documents for edgeR tables (``logCPM→AveExpr``,
``PValue→P.Value``, ``FDR→adj.P.Val``; ``logFC``, ``F`` and ``LR`` are kept), so
``compare``, the report and ``to_r`` take it unchanged; ``meta["column_map"]`` records the
native names (:func:`native_columns` gives the table back under them).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._checks import NonCounts
from .._params import (
    ADJUST_METHODS,
    EDGER_CONSTRAINTS,
    EdgerTest,
    check_choice,
    check_number,
    check_param,
    fill_docs,
)
from ..io.table import DETable
from ..r import to_r
from .backend import (
    Contrasts,
    DEResults,
    Matrix,
    SerializedFit,
    canonical_table,
    check_contrast_or_coef,
    check_count_values,
    check_library_sizes,
    check_values,
    densify,
    design_meta,
    in_r,
    named_matrix,
    native_columns,
    one_or_many,
    r_contrast_arguments,
    r_frame,
    r_numbers,
    r_strings,
    resolve_design,
    resolve_matrix,
    serialized,
    summary,
    tested,
)
from .contrasts import contrast_matrix
from .design import Design, check_design

__all__ = [
    "EDGER_TESTS",
    "EdgerFit",
    "check_lfc",
    "exact_pair",
    "fit_edger",
    "native_columns",
    "run_edger",
]

EDGER_TESTS: tuple[str, ...] = EDGER_CONSTRAINTS["test"][0].values
_METHOD_NAMES = {"ql": "edgeR-QL", "lrt": "edgeR-LRT", "exact": "edgeR exact test"}
_FORMATS = {"ql": "glmQLFTest", "lrt": "glmLRT", "exact": "exactTest"}
#: topTags' sort.by
TOP_SORT: tuple[str, ...] = ("PValue", "logFC", "none")


@fill_docs
def run_edger(
    counts,
    *,
    groups=None,
    samples: pd.DataFrame | None = None,
    design=None,
    contrast: str | Sequence[str] | Mapping[str, str] | np.ndarray | None = None,
    coef: str | int | Sequence[str | int] | None = None,
    test: EdgerTest = "ql",
    robust: bool = True,
    lfc: float = 0.0,
    normalize: str | None = "TMM",
    filter: str | bool | None = "filterByExpr",
    gene_ids: Sequence[str] | None = None,
    sample_ids: Sequence[str] | None = None,
    layer: str | None = None,
) -> DETable | DEResults:
    """Differential expression of counts with R's edgeR, from Python.

    Parameters
    ----------
    counts
        Raw counts: a genes × samples :class:`pandas.DataFrame`, a numpy array with
        ``gene_ids=``/``sample_ids=``, an :class:`anndata.AnnData` (samples × genes, dense or
        sparse, ``X`` or ``layer=``), or a CSV/TSV path, as for :func:`degbridge.run_limma`.
    groups, samples, design
        The design, as for :func:`degbridge.run_limma`: ``groups=`` (``~ 0 + group``), a
        formula over ``samples`` columns, or a numeric design matrix. ``test="exact"`` needs
        ``groups=`` with exactly two groups.
    contrast, coef
        What to test: a design column (``"dextreated"``), an expression (``"B - A"``), a
        numeric vector, or a list/dict of these (one table each); ``coef`` also takes 0-based
        positions. For ``test="exact"`` a contrast of the two groups (``"treated -
        control"``); by default the second group against the first, as edgeR's ``exactTest``.
    test
        {edger.test}
    robust
        {edger.robust}
    lfc
        {edger.lfc}
    normalize
        {edger.normalize}
        ``None`` is ``"none"``.
    filter
        {edger.filter}
        ``None`` keeps every gene.
    gene_ids, sample_ids, layer
        As for :func:`degbridge.run_limma`.

    Returns
    -------
    A :class:`~degbridge.DETable` in ``topTags`` order (by P-value): ``logFC``, ``AveExpr``
    (edgeR's ``logCPM``), ``P.Value`` (``PValue``), ``adj.P.Val`` (``FDR``) and ``F``
    (QL) or ``LR`` (LRT); ``meta`` holds the method, test, dispersions (common, trended and
    tagwise summaries), normalisation factors, genes filtered, the column mapping and the R
    versions. A :class:`~degbridge.DEResults` (no F-test table) for several contrasts.

    Raises
    ------
    ValueError, TypeError
        Bad input (non-counts, an exact test without two groups...), naming the culprit.
    degbridge.RNotAvailableError
        R, rpy2 or edgeR missing.
    degbridge.RError
        edgeR itself failed (R's message).
    """
    started = time.perf_counter()
    opts = _options(test, robust, normalize, filter)
    lfc = check_lfc(lfc, opts.test)
    check_contrast_or_coef(contrast, coef)
    mat, des = _prepare(counts, groups, samples, design, gene_ids, sample_ids, layer, opts)
    spec, pair = _what_to_test(opts.test, des, contrast, coef, from_groups=groups is not None)
    with in_r() as r:
        robj, keep, info, r_warnings = _fit_in_r(r, mat, des, opts)
        genes = [g for g, k in zip(mat.genes, keep) if k]
        frames, more = _test_in_r(r, robj, genes, des, spec, lfc, pair)
        versions = r.versions()
        del robj
    r.warn_r(r_warnings + more, "edgeR", stacklevel=2)
    meta = _fit_meta(mat, des, opts, keep, info, versions)
    meta.update(source="run_edger", seconds=round(time.perf_counter() - started, 3))
    return _tables(frames, meta, des, spec, opts.test, lfc)


@fill_docs
def fit_edger(
    counts,
    *,
    groups=None,
    samples: pd.DataFrame | None = None,
    design=None,
    test: EdgerTest = "ql",
    robust: bool = True,
    normalize: str | None = "TMM",
    filter: str | bool | None = "filterByExpr",
    gene_ids: Sequence[str] | None = None,
    sample_ids: Sequence[str] | None = None,
    layer: str | None = None,
) -> EdgerFit:
    """Fit edgeR's model once (dispersions, ``glmQLFit``/``glmFit``); test any contrast later
    with :meth:`EdgerFit.test`.

    The input handling and the fit are those of :func:`run_edger` (same functions, same R
    code); ``run_edger(..., contrast=c, lfc=x)`` gives the same numbers as
    ``fit_edger(...).test(c, lfc=x)``.

    Parameters
    ----------
    counts
        Raw counts, as for :func:`run_edger`.
    groups, samples, design
        The design, as for :func:`run_edger`.
    test
        {edger.test}
        The fit is made for it: ``"ql"`` keeps ``glmQLFit``'s fit, ``"lrt"`` ``glmFit``'s,
        ``"exact"`` the ``DGEList`` with its dispersions.
    robust
        {edger.robust}
    normalize
        {edger.normalize}
    filter
        {edger.filter}
    gene_ids, sample_ids, layer
        As for :func:`degbridge.run_limma`.

    Returns
    -------
    EdgerFit
        The fit, kept as R's serialised object (picklable).
    """
    started = time.perf_counter()
    opts = _options(test, robust, normalize, filter)
    mat, des = _prepare(counts, groups, samples, design, gene_ids, sample_ids, layer, opts)
    if opts.test == "exact":
        _what_to_test("exact", des, None, None, from_groups=groups is not None)
    with in_r() as r:
        robj, keep, info, r_warnings = _fit_in_r(r, mat, des, opts)
        data = serialized(r, robj)
        versions = r.versions()
        del robj
    r.warn_r(r_warnings, "edgeR", stacklevel=2)
    meta = _fit_meta(mat, des, opts, keep, info, versions)
    meta.update(source="fit_edger", seconds_fit=round(time.perf_counter() - started, 3))
    genes = [g for g, k in zip(mat.genes, keep) if k]
    return EdgerFit(serialized=data, design=des, genes=genes, test_kind=opts.test, meta=meta)


@dataclass(frozen=True, eq=False, repr=False)
class EdgerFit(SerializedFit):
    """An edgeR fit kept as R's serialised object; build it with :func:`fit_edger`.

    Attributes
    ----------
    serialized
        R's ``serialize()`` of the fit: ``glmQLFit``'s or ``glmFit``'s ``DGEGLM``, or the
        ``DGEList`` with dispersions for the exact test.
    design
        The :class:`~degbridge.de.design.Design` fitted.
    genes
        The genes kept (after filterByExpr), in the fit's row order.
    test_kind
        ``"ql"``, ``"lrt"`` or ``"exact"``: the test the fit is for.
    meta
        Provenance, as in a ``run_edger`` table's ``meta`` (without the contrast).
    """

    serialized: bytes
    design: Design
    genes: list[str]
    test_kind: str
    meta: dict[str, Any]

    def test(
        self,
        contrast: str | Sequence[str] | Mapping[str, str] | np.ndarray | None = None,
        *,
        coef: str | int | Sequence[str | int] | None = None,
        lfc: float = 0.0,
    ) -> DETable | DEResults:
        """Test contrasts on the fit, as :func:`run_edger` tests them (no refit).

        Parameters
        ----------
        contrast, coef
            What to test, as for :func:`run_edger`.
        lfc
            {edger.lfc}

        Returns
        -------
        DETable or DEResults
            What ``run_edger`` returns for the same contrasts.
        """
        started = time.perf_counter()
        lfc = check_lfc(lfc, self.test_kind)
        spec, pair = self._tested(contrast, coef)
        with in_r() as r:
            robj = self.r_object(r)
            frames, r_warnings = _test_in_r(r, robj, self.genes, self.design, spec, lfc, pair)
            del robj
        r.warn_r(r_warnings, "edgeR", stacklevel=2)
        meta = dict(self.meta, seconds=round(time.perf_counter() - started, 3))
        return _tables(frames, meta, self.design, spec, self.test_kind, lfc)

    def top_table(
        self,
        contrast: str | np.ndarray | None = None,
        *,
        coef: str | int | None = None,
        lfc: float = 0.0,
        number: int | None = None,
        sort_by: str = "PValue",
        p_value: float = 1.0,
        adjust_method: str = "BH",
    ) -> DETable:
        """edgeR's ``topTags`` with its options, on one contrast of the fit.

        Parameters
        ----------
        contrast, coef
            One contrast, as for :meth:`test`.
        lfc
            {edger.lfc}
        number
            Number of rows (``None``: all that pass ``p_value``).
        sort_by
            ``"PValue"`` (the default), ``"logFC"`` or ``"none"``.
        p_value
            Keep rows with adjusted P-value ≤ ``p_value``.
        adjust_method
            R's ``p.adjust`` method.
        """
        lfc = check_lfc(lfc, self.test_kind)
        check_choice("sort_by", sort_by, TOP_SORT)
        check_choice("adjust_method", adjust_method, ADJUST_METHODS)
        p_value = check_number("p_value", p_value, 0, 1)
        n = _check_number_of_rows(number)
        spec, pair = self._tested(contrast, coef)
        if len(spec.names) != 1:
            msg = f"top_table takes one contrast, not {len(spec.names)} ({spec.names})"
            raise ValueError(msg)
        with in_r() as r:
            robj = self.r_object(r)
            args = _r_test_arguments(r, self.design, spec, lfc, pair)
            options = {
                "n": n,
                "adjust.method": adjust_method,
                "sort.by": sort_by,
                "p.value": p_value,
            }
            out = r.to_dict(
                r.call(
                    "degbridge_edger_top_tags",
                    robj,
                    **args,
                    **{k: r.scalar(v) for k, v in options.items()},
                )
            )
            r_warnings = r_strings(r, out["warnings"])
            rows = r.to_numpy(out["rows"]).astype(np.int64) - 1
            frame = r_frame(r, out["table"], [self.genes[i] for i in rows])
            del robj, args, out
        r.warn_r(r_warnings, "edgeR", stacklevel=2)
        meta = dict(self.meta, top_table={"number": number, "p_value": p_value,
                                          "adjust": adjust_method, "sort_by": sort_by})  # fmt: skip
        return _tables([frame], meta, self.design, spec, self.test_kind, lfc)

    def _tested(self, contrast, coef) -> tuple[Contrasts, list[int] | None]:
        if self.test_kind == "exact":
            return _what_to_test("exact", self.design, contrast, coef, from_groups=True)
        return self.contrasts(contrast, coef=coef), None


@to_r.register
def _(fit: EdgerFit):
    with in_r() as r:
        return r.call("degbridge_with_rownames", fit.r_object(r), r.str_vector(fit.genes))


# ---------------------------------------------------------------------------------------
# options and inputs
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Options:
    test: str
    robust: bool
    normalize: str
    filter: bool


def _options(test, robust, normalize, filter) -> _Options:
    """The fit's options, checked against their declarations (``_params.EDGER_CONSTRAINTS``)."""
    for name, value in (("test", test), ("robust", robust), ("normalize", normalize),
                        ("filter", filter)):  # fmt: skip
        check_param(name, value, EDGER_CONSTRAINTS[name])
    return _Options(test, robust, normalize or "none", filter not in (None, False))


def check_lfc(lfc, test: str) -> float:
    """edgeR's ``lfc`` (glmTreat's threshold): a number ≥ 0, and 0 for the exact test."""
    check_param("lfc", lfc, EDGER_CONSTRAINTS["lfc"])
    if lfc > 0 and test == "exact":
        msg = "lfc > 0 (glmTreat) needs a GLM fit: use test='ql' or test='lrt', not 'exact'"
        raise ValueError(msg)
    return float(lfc)


def _check_number_of_rows(number) -> float | int:
    if number is None:
        return float("inf")
    if isinstance(number, bool) or not isinstance(number, int | np.integer) or number < 1:
        msg = f"number must be a positive integer or None (all rows), not {number!r}"
        raise ValueError(msg)
    return int(number)


def _prepare(counts, groups, samples, design, gene_ids, sample_ids, layer, opts: _Options):
    """The checked count matrix and design (nothing reaches R)."""
    mat = resolve_matrix(counts, gene_ids, sample_ids, layer)
    densify(mat, drop_zero=opts.filter)
    check_count_values(mat, _counts_message("run_edger"))
    check_values(mat, counts=True)
    check_library_sizes(mat, "run_edger")
    des = resolve_design(mat, groups, samples, design)
    check_design(des)
    return mat, des


def _counts_message(caller: str):
    def message(bad: NonCounts, at: str) -> str:
        return (
            f"{caller} needs raw counts (finite non-negative integers) but the matrix has {at}; "
            "normalised or log data cannot be modelled as counts (use run_limma(method='ls')), "
            "estimated counts (salmon/tximport) can be rounded with numpy.round first"
        )

    return message


def _what_to_test(test: str, des: Design, contrast, coef, *, from_groups: bool):
    """What to test: ``(contrasts, None)``, or for the exact test ``(contrast, pair)``, the
    pair being the two groups' 1-based codes (``exactTest(pair = )``)."""
    if test != "exact":
        return tested(contrast, coef, des), None
    if not from_groups or len(des.columns) != 2:
        msg = (
            "test='exact' (edgeR's exactTest) compares two groups: pass groups= with exactly "
            f"two levels (this design has columns {des.columns}); use test='ql' or 'lrt' "
            "for other designs"
        )
        raise ValueError(msg)
    contrast = check_contrast_or_coef(contrast, coef)
    if contrast is None:
        contrast = f"{des.columns[1]} - {des.columns[0]}"
        matrix, names, coefs = np.array([[-1.0], [1.0]]), [contrast], [None]
    else:
        matrix, names, coefs = contrast_matrix(contrast, des.columns)
    return Contrasts(matrix, names, coefs), exact_pair(des.columns, matrix, contrast)


def exact_pair(columns: list[str], matrix: np.ndarray, contrast) -> list[int]:
    """``exactTest(pair = )``: the two groups' 1-based codes of a contrast of one group against
    the other (``matrix``: design columns × contrasts); ValueError for any other contrast."""
    vec = matrix[:, 0] if matrix.shape[1] == 1 else None
    if vec is None or sorted(vec.tolist()) != [-1.0, 1.0]:
        msg = (
            f"test='exact' tests one group against the other: contrast must be "
            f"'{columns[1]} - {columns[0]}' or '{columns[0]} - {columns[1]}', not {contrast!r}"
        )
        raise ValueError(msg)
    return [int(np.flatnonzero(vec < 0)[0]) + 1, int(np.flatnonzero(vec > 0)[0]) + 1]


# ---------------------------------------------------------------------------------------
# R
# ---------------------------------------------------------------------------------------


def _fit_in_r(r, mat: Matrix, des: Design, opts: _Options):
    """``degbridge_edger_fit``: ``(fit as an R object, keep, info, R warnings)``."""
    null = r.session().ri.NULL
    x = r.float_matrix(mat.values, has_nan=False)
    if opts.test == "exact":
        dmat = null
        group = r.session().ri.IntSexpVector((np.argmax(des.matrix, axis=1) + 1).tolist())
    else:
        dmat, group = named_matrix(r, des.matrix, None, des.columns), null
    out = r.to_dict(
        r.call(
            "degbridge_edger_fit",
            x,
            dmat,
            test=r.scalar(opts.test),
            normalize=r.scalar(opts.normalize),
            filter=r.scalar(opts.filter),
            robust=r.scalar(opts.robust),
            group=group,
        )
    )
    keep = r.to_numpy(out["keep"]).astype(bool)
    info = r_numbers(r, out["info"])
    return out["fit"], keep, info, r_strings(r, out["warnings"])


def _r_test_arguments(r, des: Design, spec: Contrasts, lfc: float, pair) -> dict[str, Any]:
    ri = r.session().ri
    if pair is not None:
        what = {"contrasts": ri.NULL, "coef": ri.NULL, "pair": ri.IntSexpVector(pair)}
    else:
        what = {**r_contrast_arguments(r, des, spec), "pair": ri.NULL}
    return {**what, "lfc": r.scalar(float(lfc))}


def _test_in_r(r, robj, genes: list[str], des: Design, spec: Contrasts, lfc: float, pair):
    """``degbridge_edger_test`` on a fit: one frame per contrast (indexed by gene, topTags
    order), and R's warnings."""
    args = _r_test_arguments(r, des, spec, lfc, pair)
    out = r.to_dict(r.call("degbridge_edger_test", robj, **args))
    frames = []
    for item in out["tables"]:
        part = r.to_dict(item)
        rows = r.to_numpy(part["rows"]) - 1
        frames.append(r_frame(r, part["table"], [genes[i] for i in rows]))
    return frames, r_strings(r, out["warnings"])


# ---------------------------------------------------------------------------------------
# tables
# ---------------------------------------------------------------------------------------


def _fit_meta(mat: Matrix, des: Design, opts: _Options, keep, info, versions) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "method": _METHOD_NAMES[opts.test],
        "test": opts.test,
        **design_meta(mat, des, versions),
        "options": {
            "test": opts.test,
            "robust": opts.robust,
            "normalize": opts.normalize,
            "filter": "filterByExpr" if opts.filter else None,
        },
        "n_genes_tested": int(keep.sum()),
        "n_genes_filtered": int((~keep).sum()) + len(mat.dropped_zero),
        "lib_size": dict(zip(mat.samples, info["lib_size"].tolist())),
        "norm_factors": dict(zip(mat.samples, info["norm_factors"].tolist())),
        "dispersion": {
            "common": float(info["common_dispersion"][0]),
            "trended": summary(info["trended_dispersion"]),
            "tagwise": summary(info["tagwise_dispersion"]),
        },
    }
    if mat.dropped_zero:
        meta["dropped_all_zero"] = len(mat.dropped_zero)
    if "df_prior" in info:
        meta["df_prior"] = float(np.median(info["df_prior"]))
        meta["var_prior"] = float(np.median(info["var_prior"]))
    return meta


def _tables(frames, meta: dict[str, Any], des: Design, spec: Contrasts, test: str, lfc: float):
    """One canonical table per contrast (the table itself for one)."""
    treat = lfc > 0
    meta = dict(
        meta,
        method=_METHOD_NAMES[test] + (" treat" if treat else ""),
        format=f"edgeR topTags ({'glmTreat' if treat else _FORMATS[test]})",
        contrasts=spec.frame(des),
        options={**meta["options"], "lfc": lfc},
    )
    tables = {}
    for k, (name, frame) in enumerate(zip(spec.names, frames)):
        table_meta = dict(meta, contrast=name, contrast_vector=spec.vector(des, k))
        tables[name] = canonical_table(frame, "edger", table_meta)
    return one_or_many(tables)
