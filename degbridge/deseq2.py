"""run_deseq2: R's DESeq2 (Wald and likelihood-ratio tests) on counts from Python.

Inputs are resolved as :func:`degbridge.run_limma` and :func:`degbridge.run_edger` resolve
them; the design is built in Python and crosses as a numeric model matrix, which DESeq2 takes
as ``DESeq(dds, full = matrix)`` (and ``reduced = matrix`` for the LRT). The R code is
``r_scripts/deseq2_de.R``.

Column names: ``log2FoldChange→logFC``, ``pvalue→P.Value``, ``padj→adj.P.Val`` and, for the
Wald test, ``stat→t`` (the mapping :func:`degbridge.read_table` documents for DESeq2 tables);
``baseMean`` and ``lfcSE`` are kept, and the LRT's ``stat`` (a chi-squared statistic, not a
signed t) keeps its name. ``meta["column_map"]`` records the native names
(:func:`degbridge.edger.native_columns` gives them back). Missing P-values stay missing, and
``meta["na_reasons"]`` counts why: all-zero genes, Cook's-distance outliers and genes removed
by independent filtering (P-value kept, ``adj.P.Val`` missing).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from ._exceptions import RNotAvailableError
from .design import Design, check_design, contrast_matrix, design_from_formula, design_from_matrix
from .edger import _counts_meta, _summary, canonical_table, count_matrix
from .limma import _Contrasts, _frame, _Matrix, _named_matrix, _resolve_design, _strings
from .table import DETable

__all__ = ["DESEQ2_APT", "run_deseq2"]

DESEQ2_APT = "apt-get install -y r-bioc-deseq2"


def run_deseq2(
    counts,
    *,
    samples: pd.DataFrame | None = None,
    design=None,
    groups=None,
    contrast: str | np.ndarray | None = None,
    coef: str | None = None,
    test: Literal["Wald", "LRT"] = "Wald",
    reduced=None,
    shrink: Literal["normal"] | None = None,
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
        (``"dextreated"``), an expression over design columns (``"treated - control"``) or a
        numeric vector; one contrast.
    test
        ``"Wald"`` (DESeq2's default) or ``"LRT"`` (full against ``reduced``).
    reduced
        The reduced model for ``test="LRT"``: a formula over ``samples`` columns
        (``"~ celltype"``) or a numeric matrix, with fewer columns than the full design.
    shrink
        ``"normal"``: ``lfcShrink(type = "normal")`` fold changes (Wald test only).
    independent_filtering, alpha, cooks_cutoff
        ``results(independentFiltering=, alpha=, cooksCutoff=)``.
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
    _check_options(test, reduced, shrink, alpha)
    if coef is not None:
        if contrast is not None:
            msg = "give either contrast= or coef=, not both"
            raise ValueError(msg)
        contrast = coef
    # all-zero genes stay: independent filtering's quantiles are taken over every gene
    mat = count_matrix(counts, gene_ids, sample_ids, layer, "run_deseq2", drop_zero=False)
    des = _resolve_design(mat, groups, samples, design)
    check_design(des)
    spec = _Contrasts(*contrast_matrix(contrast, des.columns))
    if len(spec.names) != 1:
        msg = f"run_deseq2 tests one contrast at a time; got {len(spec.names)}: {spec.names}"
        raise ValueError(msg)
    red = _reduced_matrix(reduced, mat, samples, des) if test == "LRT" else None
    out = _deseq2_in_r(
        mat, des, spec, red, test, shrink, independent_filtering, alpha, cooks_cutoff
    )
    from . import r

    r.warn_r(out["warnings"], "DESeq2", stacklevel=2)
    meta = out["meta"]
    meta["seconds"] = round(time.perf_counter() - started, 3)
    meta["contrast"] = spec.names[0]
    meta["contrast_vector"] = dict(zip(des.columns, spec.matrix[:, 0].tolist()))
    if test == "LRT":
        meta["keep_native"] = ("stat",)
    return canonical_table(out["frame"], "deseq2", meta)


def _check_options(test, reduced, shrink, alpha) -> None:
    if test not in ("Wald", "LRT"):
        msg = f"test must be 'Wald' or 'LRT', not {test!r}"
        raise ValueError(msg)
    if test == "LRT" and reduced is None:
        msg = "test='LRT' needs reduced= (a formula such as '~ celltype', or a numeric matrix)"
        raise ValueError(msg)
    if test == "Wald" and reduced is not None:
        msg = "reduced= is for test='LRT'; the Wald test has no reduced model"
        raise ValueError(msg)
    if shrink not in (None, "normal"):
        msg = f"shrink must be None or 'normal', not {shrink!r}"
        raise ValueError(msg)
    if shrink is not None and test == "LRT":
        msg = "shrink='normal' shrinks Wald-test fold changes; use it with test='Wald'"
        raise ValueError(msg)
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha < 1:
        msg = f"alpha must be a number between 0 and 1 (the FDR target of results()), not {alpha!r}"
        raise ValueError(msg)


def _reduced_matrix(reduced, mat: _Matrix, samples, full: Design) -> Design:
    """The reduced model as a numeric matrix, nested in (of lower rank than) the full one."""
    from .design import align_samples

    if isinstance(reduced, str):
        table = mat.obs
        if samples is not None:
            table = align_samples(samples, mat.samples, positional_ok=not mat.named_samples)
        if table is None:
            msg = "a formula reduced= needs a sample table: pass samples= (one row per sample)"
            raise ValueError(msg)
        red = design_from_formula(reduced, table)
    else:
        red = design_from_matrix(reduced, mat.samples)
    check_design(red)
    X, R = full.matrix, red.matrix
    rank_full = np.linalg.matrix_rank(X)
    if red.matrix.shape[1] >= X.shape[1] or np.linalg.matrix_rank(np.hstack([X, R])) > rank_full:
        msg = (
            f"reduced= {red.columns} must be nested in the full design {full.columns}: fewer "
            "columns, each a combination of the full design's"
        )
        raise ValueError(msg)
    return red


def _deseq2_in_r(mat, des, spec, red, test, shrink, independent_filtering, alpha, cooks_cutoff):
    from . import r

    with r.R_LOCK:
        r.check_r()
        if not r.package_installed("DESeq2"):
            msg = f"R is installed but lacks the package DESeq2: {DESEQ2_APT}"
            raise RNotAvailableError(msg)
        null = r.session().ri.NULL
        full = _named_matrix(r, des.matrix, None, des.columns)
        if spec.coefs[0] is not None:
            coef, contrast = r.scalar(spec.coefs[0] + 1), null
        else:
            coef, contrast = null, r.float_vector(spec.matrix[:, 0])
        reduced = null if red is None else _named_matrix(r, red.matrix, None, red.columns)
        x = r.float_matrix(mat.values, has_nan=False)
        res = r.to_dict(
            r.call(
                "degbridge_deseq2_de",
                x,
                full,
                coef=coef,
                contrast=contrast,
                test=r.scalar(test),
                reduced=reduced,
                shrink=r.scalar(shrink or "none"),
                independent_filtering=r.scalar(bool(independent_filtering)),
                alpha=r.scalar(float(alpha)),
                cooks_cutoff=r.scalar(bool(cooks_cutoff)),
            )
        )
        frame = _frame(r, res["table"], mat.genes)
        info = {k: r.to_numpy(v) for k, v in r.to_dict(res["info"]).items()}
        r_warnings = _strings(r, res["warnings"])
        versions = r.versions()
        del x, full, coef, contrast, reduced, res
    versions["DESeq2"] = str(info["deseq2"][0])
    meta = _deseq2_meta(mat, des, spec, frame, info, versions)
    meta["options"] = {
        "test": test,
        "reduced": None if red is None else (red.formula or red.columns),
        "shrink": shrink,
        "independent_filtering": bool(independent_filtering),
        "alpha": float(alpha),
        "cooks_cutoff": bool(cooks_cutoff),
    }
    meta["method"] = f"DESeq2 {test}" + (" (normal shrinkage)" if shrink else "")
    meta["test"] = test
    return {"frame": frame, "meta": meta, "warnings": r_warnings}


def _deseq2_meta(mat, des, spec, frame: pd.DataFrame, info, versions) -> dict[str, Any]:
    pvalue, padj = frame["pvalue"].to_numpy(), frame["padj"].to_numpy()
    all_zero = info["all_zero"].astype(bool)
    na_p = np.isnan(pvalue)
    reasons = {
        "all_zero": int(all_zero.sum()),
        "cooks_outlier": int((na_p & ~all_zero).sum()),
        "independent_filtering": int((~na_p & np.isnan(padj)).sum()),
    }
    threshold = float(info["filter_threshold"][0])
    meta: dict[str, Any] = {
        "source": "run_deseq2",
        "format": "DESeq2 results",
        **_counts_meta(mat, des, spec, versions),
        "n_genes_tested": int((~all_zero).sum()),
        "n_genes_filtered": 0,
        "size_factors": dict(zip(mat.samples, info["size_factors"].tolist())),
        "dispersion": {
            "final": _summary(info["dispersion"]),
            "fitted": _summary(info["dispersion_fit"]),
        },
        "na_reasons": reasons,
        "filter_threshold": None if np.isnan(threshold) else threshold,
    }
    return meta
