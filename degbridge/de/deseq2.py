"""DESeq2 from Python: ``run_deseq2`` (fit and test), ``fit_deseq2`` (fit once, test later).

Inputs go through :mod:`degbridge.de.backend`, as for limma and edgeR; the design is built in
Python and crosses as a numeric model matrix, which DESeq2 takes as ``DESeq(dds, full =
matrix)`` (and ``reduced = matrix`` for the LRT). The R code is ``r_scripts/R/deseq2_de.R`` (a
fit stage, ``DESeq``, and a test stage, ``results``).

:func:`fit_deseq2` keeps the ``DESeqDataSet`` that ``DESeq()`` returned as R's own serialised
bytes in a :class:`DESeq2Fit`: :meth:`DESeq2Fit.test` calls ``results()`` on it for any
coefficient or contrast, with ``lfcThreshold``/``altHypothesis``, independent filtering and
Cook's cutoff, without estimating size factors and dispersions again.

Column names: ``log2FoldChange→logFC``, ``pvalue→P.Value``, ``padj→adj.P.Val`` and, for the
Wald test, ``stat→t`` (the mapping :func:`degbridge.read_table` documents for DESeq2 tables);
``baseMean`` and ``lfcSE`` are kept, and the LRT's ``stat`` (a chi-squared statistic, not a
signed t) keeps its name. ``meta["column_map"]`` records the native names
(:func:`degbridge.de.backend.native_columns` gives them back). Missing P-values stay missing,
and ``meta["na_reasons"]`` counts why: all-zero genes, Cook's-distance outliers and genes
removed by independent filtering (P-value kept, ``adj.P.Val`` missing).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._checks import R_INTEGER_MAX, NonCounts
from .._exceptions import RNotAvailableError
from .._params import DESEQ2_CONSTRAINTS, AltHypothesis, DESeq2Test, check_param, fill_docs
from ..io.table import DETable
from ..r import to_r
from .backend import (
    Contrasts,
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
    r_frame,
    r_numbers,
    r_strings,
    resolve_design,
    resolve_matrix,
    sample_table,
    serialized,
    summary,
    tested,
)
from .design import Design, check_design, design_from_matrix
from .formula import design_from_formula

__all__ = [
    "DESEQ2_APT",
    "DESeq2Fit",
    "check_fit_options",
    "check_nested",
    "fit_deseq2",
    "results_options",
    "run_deseq2",
]

DESEQ2_APT = "apt-get install -y r-bioc-deseq2"


@fill_docs
def run_deseq2(
    counts,
    *,
    samples: pd.DataFrame | None = None,
    design=None,
    groups=None,
    contrast: str | np.ndarray | None = None,
    coef: str | int | None = None,
    test: DESeq2Test = "Wald",
    reduced=None,
    shrink: str | None = None,
    lfc_threshold: float = 0.0,
    alt_hypothesis: AltHypothesis = "greaterAbs",
    independent_filtering: bool = True,
    alpha: float = 0.1,
    cooks_cutoff: bool = True,
    gene_ids: Sequence[str] | None = None,
    sample_ids: Sequence[str] | None = None,
    layer: str | None = None,
) -> DETable:
    """Differential expression of counts with R's DESeq2, from Python.

    Parameters
    ----------
    counts
        Raw counts, as for :func:`degbridge.run_edger` (DataFrame, numpy, AnnData dense or
        sparse, CSV/TSV path).
    samples, design, groups
        The design, as for :func:`degbridge.run_limma`: a formula over ``samples`` columns
        (``"~ celltype + dex"``), a numeric design matrix, or ``groups=``.
    contrast, coef
        What the fold change (and, for the Wald test, the test) is about: a design column
        (``"dextreated"``, or its 0-based position with ``coef``), an expression over design
        columns (``"treated - control"``) or a numeric vector; one contrast.
    test
        {deseq2.test}
    reduced
        {deseq2.reduced}
    shrink
        {deseq2.shrink}
    lfc_threshold
        {deseq2.lfc_threshold}
    alt_hypothesis
        {deseq2.alt_hypothesis}
    independent_filtering
        {deseq2.independent_filtering}
    alpha
        {deseq2.alpha}
    cooks_cutoff
        {deseq2.cooks_cutoff}
    gene_ids, sample_ids, layer
        As for :func:`degbridge.run_limma`.

    Returns
    -------
    A :class:`~degbridge.DETable` in the input gene order (as ``results()`` returns it):
    ``logFC``, ``t`` (Wald) or ``stat`` (LRT), ``P.Value``, ``adj.P.Val``, ``baseMean``,
    ``lfcSE``. ``meta`` holds the size factors, dispersion summaries, the counts of missing
    P-values by reason (``na_reasons``), the independent-filtering threshold and versions.

    Raises
    ------
    ValueError, TypeError
        Bad input, naming the culprit.
    degbridge.RNotAvailableError
        R, rpy2 or DESeq2 missing (the message names ``r-bioc-deseq2``).
    degbridge.RError
        DESeq2 itself failed (R's message).
    """
    started = time.perf_counter()
    check_fit_options(test, reduced)
    options = results_options(
        test,
        shrink=shrink,
        lfc_threshold=lfc_threshold,
        alt_hypothesis=alt_hypothesis,
        independent_filtering=independent_filtering,
        alpha=alpha,
        cooks_cutoff=cooks_cutoff,
    )
    check_contrast_or_coef(contrast, coef)
    mat, des, red = _prepare(
        counts, groups, samples, design, reduced, test, gene_ids, sample_ids, layer
    )
    spec = _one_contrast(tested(contrast, coef, des))
    with in_r() as r:
        _check_deseq2(r)
        robj, info, r_warnings = _fit_in_r(r, mat, des, test, red)
        frame, more, filter_threshold = _test_in_r(r, robj, mat.genes, des, spec, options)
        versions = r.versions()
        del robj
    r.warn_r(r_warnings + more, "DESeq2", stacklevel=2)
    meta = _fit_meta(mat, des, test, red, info, versions)
    meta.update(source="run_deseq2", seconds=round(time.perf_counter() - started, 3))
    return _table(frame, meta, des, spec, options, filter_threshold)


@fill_docs
def fit_deseq2(
    counts,
    *,
    samples: pd.DataFrame | None = None,
    design=None,
    groups=None,
    test: DESeq2Test = "Wald",
    reduced=None,
    gene_ids: Sequence[str] | None = None,
    sample_ids: Sequence[str] | None = None,
    layer: str | None = None,
) -> DESeq2Fit:
    """Run ``DESeq()`` once (size factors, dispersions, the GLM); call ``results()`` for any
    coefficient or contrast later with :meth:`DESeq2Fit.test`.

    The input handling and the fit are those of :func:`run_deseq2` (same functions, same R
    code); ``run_deseq2(..., coef=c, lfc_threshold=x)`` gives the same numbers as
    ``fit_deseq2(...).test(coef=c, lfc_threshold=x)``.

    Parameters
    ----------
    counts
        Raw counts, as for :func:`run_deseq2`.
    samples, design, groups
        The design, as for :func:`run_deseq2`.
    test
        {deseq2.test}
    reduced
        {deseq2.reduced}
    gene_ids, sample_ids, layer
        As for :func:`degbridge.run_limma`.

    Returns
    -------
    DESeq2Fit
        The ``DESeqDataSet``, kept as R's serialised object (picklable).
    """
    started = time.perf_counter()
    check_fit_options(test, reduced)
    mat, des, red = _prepare(
        counts, groups, samples, design, reduced, test, gene_ids, sample_ids, layer
    )
    with in_r() as r:
        _check_deseq2(r)
        robj, info, r_warnings = _fit_in_r(r, mat, des, test, red)
        data = serialized(r, robj)
        versions = r.versions()
        del robj
    r.warn_r(r_warnings, "DESeq2", stacklevel=2)
    meta = _fit_meta(mat, des, test, red, info, versions)
    meta.update(source="fit_deseq2", seconds_fit=round(time.perf_counter() - started, 3))
    return DESeq2Fit(serialized=data, design=des, genes=list(mat.genes), test_kind=test, meta=meta)


@dataclass(frozen=True, eq=False, repr=False)
class DESeq2Fit(SerializedFit):
    """A DESeq2 fit (the ``DESeqDataSet`` after ``DESeq()``) kept as R's serialised object;
    build it with :func:`fit_deseq2`.

    Attributes
    ----------
    serialized
        R's ``serialize()`` of the ``DESeqDataSet``.
    design
        The :class:`~degbridge.de.design.Design` fitted (DESeq2's ``full`` model matrix).
    genes
        Every gene of the input, in its order (DESeq2 keeps them all; all-zero genes get no
        P-value).
    test_kind
        ``"Wald"`` or ``"LRT"``: the test ``DESeq()`` ran.
    meta
        Provenance, as in a ``run_deseq2`` table's ``meta`` (without the contrast).
    """

    serialized: bytes
    design: Design
    genes: list[str]
    test_kind: str
    meta: dict[str, Any]

    def test(
        self,
        contrast: str | np.ndarray | None = None,
        *,
        coef: str | int | None = None,
        lfc_threshold: float = 0.0,
        alt_hypothesis: AltHypothesis = "greaterAbs",
        independent_filtering: bool = True,
        alpha: float = 0.1,
        cooks_cutoff: bool = True,
        shrink: str | None = None,
    ) -> DETable:
        """``results()`` for one coefficient or contrast of the fit (no refit).

        Parameters
        ----------
        contrast, coef
            What to test, as for :func:`run_deseq2` (``coef`` is DESeq2's ``name``: a design
            column, or its 0-based position).
        lfc_threshold
            {deseq2.lfc_threshold}
        alt_hypothesis
            {deseq2.alt_hypothesis}
        independent_filtering
            {deseq2.independent_filtering}
        alpha
            {deseq2.alpha}
        cooks_cutoff
            {deseq2.cooks_cutoff}
        shrink
            {deseq2.shrink}

        Returns
        -------
        DETable
            What ``run_deseq2`` returns for the same arguments.
        """
        started = time.perf_counter()
        options = results_options(
            self.test_kind, shrink=shrink, lfc_threshold=lfc_threshold,
            alt_hypothesis=alt_hypothesis, independent_filtering=independent_filtering,
            alpha=alpha, cooks_cutoff=cooks_cutoff,
        )  # fmt: skip
        spec = _one_contrast(self.contrasts(contrast, coef=coef))
        with in_r() as r:
            robj = self.r_object(r)
            frame, r_warnings, threshold = _test_in_r(
                r, robj, self.genes, self.design, spec, options
            )
            del robj
        r.warn_r(r_warnings, "DESeq2", stacklevel=2)
        meta = dict(self.meta, seconds=round(time.perf_counter() - started, 3))
        return _table(frame, meta, self.design, spec, options, threshold)

    def top_table(
        self,
        contrast: str | np.ndarray | None = None,
        *,
        coef: str | int | None = None,
        number: int | None = None,
        p_value: float = 1.0,
        **options: Any,
    ) -> DETable:
        """The ``results()`` table ordered by P-value (as ``res[order(res$pvalue), ]``),
        the first ``number`` rows with ``adj.P.Val`` ≤ ``p_value`` (genes without an
        adjusted P-value are left out when ``p_value < 1``); ``options`` as for :meth:`test`.
        """
        from .._params import check_number

        p_value = check_number("p_value", p_value, 0, 1)
        if number is not None and (
            isinstance(number, bool) or not isinstance(number, int | np.integer) or number < 1
        ):
            msg = f"number must be a positive integer or None (all rows), not {number!r}"
            raise ValueError(msg)
        table = self.test(contrast, coef=coef, **options)
        # R's order(): increasing, stable, missing P-values last
        order = np.argsort(table["P.Value"].to_numpy(), kind="stable")
        table = table.iloc[order]
        if p_value < 1:
            table = table[table["adj.P.Val"].to_numpy() <= p_value]
        if number is not None:
            table = table.iloc[: int(number)]
        table.meta["top_table"] = {"number": number, "p_value": p_value, "sort_by": "P.Value"}
        return table


@to_r.register
def _(fit: DESeq2Fit):
    with in_r() as r:
        return r.call("degbridge_with_rownames", fit.r_object(r), r.str_vector(fit.genes))


# ---------------------------------------------------------------------------------------
# options and inputs
# ---------------------------------------------------------------------------------------


def check_fit_options(test, reduced) -> None:
    """``test`` and ``reduced`` of ``DESeq()``: declared values, and a reduced model with the LRT only."""
    check_param("test", test, DESEQ2_CONSTRAINTS["test"])
    check_param("reduced", reduced, DESEQ2_CONSTRAINTS["reduced"])
    if test == "LRT" and reduced is None:
        msg = "test='LRT' needs reduced= (a formula such as '~ celltype', or a numeric matrix)"
        raise ValueError(msg)
    if test == "Wald" and reduced is not None:
        msg = "reduced= is for test='LRT'; the Wald test has no reduced model"
        raise ValueError(msg)


def results_options(
    test: str,
    *,
    shrink: str | None = None,
    lfc_threshold: float = 0.0,
    alt_hypothesis: str = "greaterAbs",
    independent_filtering: bool = True,
    alpha: float = 0.1,
    cooks_cutoff: bool = True,
) -> dict[str, Any]:
    """``results()``'s options, checked against ``_params.DESEQ2_CONSTRAINTS`` and with each
    other (a threshold with the Wald test only, not shrunken); the defaults are DESeq2's."""
    options = {
        "shrink": shrink,
        "lfc_threshold": lfc_threshold,
        "alt_hypothesis": alt_hypothesis,
        "independent_filtering": independent_filtering,
        "alpha": alpha,
        "cooks_cutoff": cooks_cutoff,
    }
    for name, value in options.items():
        check_param(name, value, DESEQ2_CONSTRAINTS[name])
    if shrink is not None and test == "LRT":
        msg = "shrink='normal' shrinks Wald-test fold changes; use it with test='Wald'"
        raise ValueError(msg)
    threshold = lfc_threshold > 0 or alt_hypothesis != "greaterAbs"
    if threshold and test == "LRT":
        msg = (
            "lfc_threshold/alt_hypothesis test the fold change against a threshold with the "
            "Wald test (DESeq2's results()); use them with test='Wald', not 'LRT'"
        )
        raise ValueError(msg)
    if threshold and shrink is not None:
        msg = (
            "shrink='normal' with lfc_threshold/alt_hypothesis: DESeq2 tests a threshold on "
            "unshrunken Wald fold changes; leave shrink=None"
        )
        raise ValueError(msg)
    options["lfc_threshold"] = float(lfc_threshold)
    options["alpha"] = float(alpha)
    return options


def _prepare(counts, groups, samples, design, reduced, test, gene_ids, sample_ids, layer):
    """The checked count matrix, full design and reduced design (nothing reaches R).

    All-zero genes stay: independent filtering's quantiles are taken over every gene.
    """
    mat = resolve_matrix(counts, gene_ids, sample_ids, layer)
    densify(mat, drop_zero=False)
    check_count_values(mat, _counts_message)
    check_values(mat, counts=True)
    check_library_sizes(mat, "run_deseq2")
    _check_integer_range(mat)
    des = resolve_design(mat, groups, samples, design)
    check_design(des)
    red = _reduced_matrix(reduced, mat, samples, des) if test == "LRT" else None
    return mat, des, red


def _check_integer_range(mat: Matrix) -> None:
    if mat.values.size and mat.values.max() > R_INTEGER_MAX:
        gi, si = np.unravel_index(np.argmax(mat.values), mat.values.shape)
        n = int((mat.values > R_INTEGER_MAX).sum())
        msg = (
            f"run_deseq2: {n} count(s) exceed R's integer range ({R_INTEGER_MAX:,}), in which "
            f"DESeq2 stores counts; the largest is {mat.values[gi, si]:.0f} at gene "
            f"{mat.genes[gi]!r}, sample {mat.samples[si]!r} (edgeR and limma-voom take them)"
        )
        raise ValueError(msg)


def _counts_message(bad: NonCounts, at: str) -> str:
    return (
        f"run_deseq2 needs raw counts (finite non-negative integers) but the matrix has {at}; "
        "normalised or log data cannot be modelled as counts (use run_limma(method='ls')), "
        "estimated counts (salmon/tximport) can be rounded with numpy.round first"
    )


def _one_contrast(spec: Contrasts) -> Contrasts:
    if len(spec.names) != 1:
        msg = f"run_deseq2 tests one contrast at a time; got {len(spec.names)}: {spec.names}"
        raise ValueError(msg)
    return spec


def _reduced_matrix(reduced, mat: Matrix, samples, full: Design) -> Design:
    """The reduced model as a numeric matrix, nested in (of lower rank than) the full one."""
    if isinstance(reduced, str):
        table = sample_table(mat, samples)
        if table is None:
            msg = "a formula reduced= needs a sample table: pass samples= (one row per sample)"
            raise ValueError(msg)
        red = design_from_formula(reduced, table)
    else:
        red = design_from_matrix(reduced, mat.samples)
    check_nested(red, full)
    return red


def check_nested(red: Design, full: Design) -> None:
    """The LRT's reduced model: a valid design nested in (of lower rank than) the full one."""
    check_design(red)
    X, R = full.matrix, red.matrix
    rank_full = np.linalg.matrix_rank(X)
    if R.shape[1] >= X.shape[1] or np.linalg.matrix_rank(np.hstack([X, R])) > rank_full:
        msg = (
            f"reduced= {red.columns} must be nested in the full design {full.columns}: fewer "
            "columns, each a combination of the full design's"
        )
        raise ValueError(msg)


# ---------------------------------------------------------------------------------------
# R
# ---------------------------------------------------------------------------------------


def _check_deseq2(r) -> None:
    if not r.package_installed("DESeq2"):
        msg = f"R is installed but lacks the package DESeq2: {DESEQ2_APT}"
        raise RNotAvailableError(msg)


def _fit_in_r(r, mat: Matrix, des: Design, test: str, red: Design | None):
    """``degbridge_deseq2_fit``: ``(the DESeqDataSet, info, R warnings)``."""
    full = named_matrix(r, des.matrix, None, des.columns)
    reduced = r.session().ri.NULL if red is None else named_matrix(r, red.matrix, None, red.columns)
    x = r.float_matrix(mat.values, has_nan=False)
    out = r.to_dict(r.call("degbridge_deseq2_fit", x, full, test=r.scalar(test), reduced=reduced))
    return out["fit"], r_numbers(r, out["info"]), r_strings(r, out["warnings"])


def _test_in_r(r, robj, genes: list[str], des: Design, spec: Contrasts, options: dict[str, Any]):
    """``degbridge_deseq2_test``: ``(results() as a frame by gene, R warnings, filter
    threshold)``."""
    null = r.session().ri.NULL
    if spec.coefs[0] is not None:
        coef, contrast = r.scalar(spec.coefs[0] + 1), null
    else:
        coef, contrast = null, r.float_vector(spec.matrix[:, 0])
    args = {k: r.scalar(v if k != "shrink" else (v or "none")) for k, v in options.items()}
    out = r.to_dict(r.call("degbridge_deseq2_test", robj, coef=coef, contrast=contrast, **args))
    frame = r_frame(r, out["table"], genes)
    threshold = float(r_numbers(r, out["info"])["filter_threshold"][0])
    return frame, r_strings(r, out["warnings"]), threshold


# ---------------------------------------------------------------------------------------
# tables
# ---------------------------------------------------------------------------------------


def _fit_meta(mat: Matrix, des: Design, test: str, red, info, versions) -> dict[str, Any]:
    versions = {**versions, "DESeq2": str(info["deseq2"][0])}
    all_zero = info["all_zero"].astype(bool)
    return {
        "method": f"DESeq2 {test}",
        "test": test,
        **design_meta(mat, des, versions),
        "n_genes_tested": int((~all_zero).sum()),
        "n_genes_filtered": 0,
        "size_factors": dict(zip(mat.samples, info["size_factors"].tolist())),
        "dispersion": {
            "final": summary(info["dispersion"]),
            "fitted": summary(info["dispersion_fit"]),
        },
        "options": {"test": test, "reduced": None if red is None else (red.formula or red.columns)},
    }


def _table(frame, meta, des: Design, spec: Contrasts, options, filter_threshold) -> DETable:
    """The canonical table of one ``results()`` call, with why P-values are missing."""
    test = meta["test"]
    meta = dict(meta)
    all_zero = frame["baseMean"].to_numpy() == 0  # DESeq2's allZero: no count in any sample
    pvalue, padj = frame["pvalue"].to_numpy(), frame["padj"].to_numpy()
    na_p = np.isnan(pvalue)
    meta.update(
        format="DESeq2 results",
        method=f"DESeq2 {test}" + (" (normal shrinkage)" if options["shrink"] else ""),
        contrasts=spec.frame(des),
        contrast=spec.names[0],
        contrast_vector=spec.vector(des),
        options={**meta["options"], **options},
        na_reasons={
            "all_zero": int(all_zero.sum()),
            "cooks_outlier": int((na_p & ~all_zero).sum()),
            "independent_filtering": int((~na_p & np.isnan(padj)).sum()),
        },
        filter_threshold=None if np.isnan(filter_threshold) else filter_threshold,
    )
    if test == "LRT":
        meta["keep_native"] = ("stat",)
    return canonical_table(frame, "deseq2", meta)
