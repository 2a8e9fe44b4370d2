"""run_edger: R's edgeR (quasi-likelihood, likelihood ratio, exact, treat) on counts from Python.

Inputs are resolved exactly as :func:`degbridge.run_limma` resolves them (the same functions:
DataFrame, numpy, AnnData dense or sparse, CSV/TSV; designs from groups, formulas or matrices;
contrasts parsed in Python). Only numbers cross to R (the count matrix, the design matrix, a
contrast vector or a coefficient number); the R code is ``r_scripts/edger_de.R``, which R
users can ``source()`` themselves. Gene IDs are re-attached in Python by row number.

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
from types import SimpleNamespace
from typing import Any, Literal

import numpy as np
import pandas as pd

from ._checks import NonCounts, check_counts
from ._params import check_param
from .design import Design, check_design, contrast_matrix
from .limma import (
    DEResults,
    _at,
    _check_values,
    _Contrasts,
    _densify,
    _frame,
    _Matrix,
    _named_matrix,
    _resolve_design,
    _resolve_matrix,
    _strings,
)
from .table import CANONICAL, DESEQ2_MAP, EDGER_MAP, DETable, _key

__all__ = ["EDGER_TESTS", "native_columns", "run_edger"]

EdgerTest = Literal["ql", "lrt", "exact"]
EDGER_TESTS: tuple[str, ...] = ("ql", "lrt", "exact")
_METHOD_NAMES = {"ql": "edgeR-QL", "lrt": "edgeR-LRT", "exact": "edgeR exact test"}
_MAPS = {"edger": EDGER_MAP, "deseq2": DESEQ2_MAP}


def run_edger(
    counts,
    *,
    groups=None,
    samples: pd.DataFrame | None = None,
    design=None,
    contrast: str | Sequence[str] | Mapping[str, str] | np.ndarray | None = None,
    coef: str | None = None,
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
        numeric vector, or a list/dict of these (one table each). For ``test="exact"`` a
        contrast of the two groups (``"treated - control"``); by default the second group
        against the first, as edgeR's ``exactTest``.
    test
        ``"ql"``: ``glmQLFit`` + ``glmQLFTest`` (the edgeR User's Guide's recommendation).
        ``"lrt"``: ``glmFit`` + ``glmLRT``. ``"exact"``: ``exactTest`` (two groups).
    robust
        ``estimateDisp(robust=)`` and, for ``"ql"``, ``glmQLFit(robust=)``.
    lfc
        With ``lfc > 0``, ``glmTreat`` against this log2 fold-change threshold (on the QL or
        the LRT fit); not with ``test="exact"``.
    normalize
        ``calcNormFactors`` method: ``"TMM"``, ``"TMMwsp"``, ``"RLE"``, ``"upperquartile"``
        or ``None``/``"none"``.
    filter
        ``"filterByExpr"`` (default, with the design) or ``None`` to keep every gene.
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
    opts = _edger_options(test, robust, lfc, normalize, filter)
    if coef is not None:
        if contrast is not None:
            msg = "give either contrast= or coef=, not both"
            raise ValueError(msg)
        contrast = coef
    mat = count_matrix(counts, gene_ids, sample_ids, layer, "run_edger", drop_zero=opts.filter)
    des = _resolve_design(mat, groups, samples, design)
    check_design(des)
    if opts.test == "exact":
        spec, group, pair = _exact_pair(des, contrast, from_groups=groups is not None)
    else:
        spec, group, pair = _Contrasts(*contrast_matrix(contrast, des.columns)), None, None
    out = _edger_in_r(mat, des, spec, opts, group, pair)
    from . import r

    r.warn_r(out["warnings"], "edgeR", stacklevel=2)
    out["meta"]["seconds"] = round(time.perf_counter() - started, 3)
    tables = {}
    for k, (name, frame) in enumerate(zip(spec.names, out["frames"])):
        vector = dict(zip(des.columns, spec.matrix[:, k].tolist()))
        meta = dict(out["meta"], contrast=name, contrast_vector=vector)
        tables[name] = canonical_table(frame, "edger", meta)
    if len(tables) == 1:
        return next(iter(tables.values()))
    return DEResults(tables, None)


# ---------------------------------------------------------------------------------------
# shared with run_deseq2: counts in, native tables out
# ---------------------------------------------------------------------------------------


def count_matrix(counts, gene_ids, sample_ids, layer, caller: str, *, drop_zero: bool) -> _Matrix:
    """The genes × samples count matrix, resolved as ``run_limma`` resolves its input.

    Raw counts by the one rule of :func:`degbridge._checks.check_counts`; empty matrices,
    duplicate IDs and infinite values refused by ``run_limma``'s checks. ``drop_zero`` drops
    all-zero genes of sparse input before densifying (only where filtering removes them anyway).
    """
    mat = _resolve_matrix(counts, gene_ids, sample_ids, layer)
    _densify(mat, drop_zero=drop_zero)

    def message(bad: NonCounts) -> str:
        value = None if bad.kind == "missing" else bad.value
        at = _at(mat, bad.count, bad.index, bad.kind, value)
        return (
            f"{caller} needs raw counts (finite non-negative integers) but the matrix has {at}; "
            "normalised or log data cannot be modelled as counts (use run_limma(method='ls')), "
            "estimated counts (salmon/tximport) can be rounded with numpy.round first"
        )

    check_counts(mat.values, message=message)
    # counts=False: the count rule ran above; this checks shape, duplicate IDs, infinities
    _check_values(mat, SimpleNamespace(counts=False))
    return mat


def canonical_table(frame: pd.DataFrame, kind: str, meta: dict[str, Any]) -> DETable:
    """A native edgeR/DESeq2 table under the canonical names :func:`read_table` maps to.

    Canonical columns come first (``CANONICAL`` order), then the others in native order;
    ``meta["column_map"]`` records ``{native: canonical}`` for the renamed ones.
    """
    mapping = {c: _MAPS[kind][_key(c)] for c in frame.columns if _key(c) in _MAPS[kind]}
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


def _counts_meta(mat: _Matrix, des: Design, spec: _Contrasts, versions: dict) -> dict[str, Any]:
    return {
        "input": mat.source,
        "design": des.to_frame(),
        "design_formula": des.formula,
        "factors": des.factors,
        "contrasts": pd.DataFrame(spec.matrix, index=des.columns, columns=spec.names),
        "n_genes_input": len(mat.genes) + len(mat.dropped_zero),
        "versions": versions,
    }


def _summary(values: np.ndarray) -> dict[str, float]:
    v = values[np.isfinite(values)]
    if not v.size:
        return {}
    q = np.quantile(v, [0.0, 0.25, 0.5, 0.75, 1.0])
    return dict(zip(("min", "q25", "median", "q75", "max"), q.tolist()))


# ---------------------------------------------------------------------------------------
# edgeR
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _EdgerOptions:
    test: str
    robust: bool
    lfc: float
    normalize: str
    filter: bool


def _edger_options(test, robust, lfc, normalize, filter) -> _EdgerOptions:
    if test not in EDGER_TESTS:
        msg = f"test must be one of {list(EDGER_TESTS)}, not {test!r}"
        raise ValueError(msg)
    check_param("normalize", normalize)
    check_param("filter", filter)
    if not isinstance(lfc, int | float) or not np.isfinite(lfc) or lfc < 0:
        msg = f"lfc must be a finite number ≥ 0 (a log2 fold-change threshold), not {lfc!r}"
        raise ValueError(msg)
    if lfc > 0 and test == "exact":
        msg = "lfc > 0 (glmTreat) needs a GLM fit: use test='ql' or test='lrt', not 'exact'"
        raise ValueError(msg)
    return _EdgerOptions(
        test=test,
        robust=bool(robust),
        lfc=float(lfc),
        normalize=normalize or "none",
        filter=filter not in (None, False),
    )


def _exact_pair(des: Design, contrast, *, from_groups: bool):
    """The two groups of an exact test: the contrast, each sample's group code, the pair."""
    if not from_groups or des.formula != "~0 + group" or len(des.columns) != 2:
        msg = (
            "test='exact' (edgeR's exactTest) compares two groups: pass groups= with exactly "
            f"two levels (this design has columns {des.columns}); use test='ql' or 'lrt' "
            "for other designs"
        )
        raise ValueError(msg)
    if contrast is None:
        contrast = f"{des.columns[1]} - {des.columns[0]}"
        matrix, names, coefs = np.array([[-1.0], [1.0]]), [contrast], [None]
    else:
        matrix, names, coefs = contrast_matrix(contrast, des.columns)
    vec = matrix[:, 0] if matrix.shape[1] == 1 else None
    if vec is None or sorted(vec.tolist()) != [-1.0, 1.0]:
        msg = (
            f"test='exact' tests one group against the other: contrast must be "
            f"'{des.columns[1]} - {des.columns[0]}' or '{des.columns[0]} - {des.columns[1]}', "
            f"not {contrast!r}"
        )
        raise ValueError(msg)
    group = (np.argmax(des.matrix, axis=1) + 1).astype(int)
    pair = [int(np.flatnonzero(vec < 0)[0]) + 1, int(np.flatnonzero(vec > 0)[0]) + 1]
    return _Contrasts(matrix, names, coefs), group, pair


def _edger_in_r(mat: _Matrix, des: Design, spec: _Contrasts, opts: _EdgerOptions, group, pair):
    from . import r

    with r.R_LOCK:
        r.check_r()
        null = r.session().ri.NULL
        if opts.test == "exact":
            dmat, contrasts, coef = null, null, null
        else:
            dmat = _named_matrix(r, des.matrix, None, des.columns)
            if len(spec.names) == 1 and spec.coefs[0] is not None:
                contrasts, coef = null, r.scalar(spec.coefs[0] + 1)
            else:
                contrasts, coef = _named_matrix(r, spec.matrix, des.columns, spec.names), null
        x = r.float_matrix(mat.values, has_nan=False)
        res = r.to_dict(
            r.call(
                "degbridge_edger_de",
                x,
                dmat,
                contrasts=contrasts,
                coef=coef,
                test=r.scalar(opts.test),
                normalize=r.scalar(opts.normalize),
                filter=r.scalar(opts.filter),
                robust=r.scalar(opts.robust),
                lfc=r.scalar(opts.lfc),
                group=null if group is None else r.session().ri.IntSexpVector(group.tolist()),
                pair=null if pair is None else r.session().ri.IntSexpVector(pair),
            )
        )
        keep = r.to_numpy(res["keep"]).astype(bool)
        info = {k: r.to_numpy(v) for k, v in r.to_dict(res["info"]).items()}
        frames = []
        for item in res["tables"]:
            part = r.to_dict(item)
            rows = r.to_numpy(part["rows"]) - 1
            frames.append(_frame(r, part["table"], [mat.genes[i] for i in rows]))
        r_warnings = _strings(r, res["warnings"])
        meta = _edger_meta(mat, des, spec, opts, keep, info, r.versions())
        del x, dmat, contrasts, coef, res
    return {"frames": frames, "meta": meta, "warnings": r_warnings}


def _edger_meta(mat, des, spec, opts: _EdgerOptions, keep, info, versions) -> dict[str, Any]:
    test = opts.test
    method = _METHOD_NAMES[test] + (" treat" if opts.lfc > 0 else "")
    fmt = {"ql": "glmQLFTest", "lrt": "glmLRT", "exact": "exactTest"}[test]
    meta: dict[str, Any] = {
        "source": "run_edger",
        "format": f"edgeR topTags ({'glmTreat' if opts.lfc > 0 else fmt})",
        "method": method,
        "test": test,
        **_counts_meta(mat, des, spec, versions),
        "options": {
            "test": test,
            "robust": opts.robust,
            "lfc": opts.lfc,
            "normalize": opts.normalize,
            "filter": "filterByExpr" if opts.filter else None,
        },
        "n_genes_tested": int(keep.sum()),
        "n_genes_filtered": int((~keep).sum()) + len(mat.dropped_zero),
        "lib_size": dict(zip(mat.samples, info["lib_size"].tolist())),
        "norm_factors": dict(zip(mat.samples, info["norm_factors"].tolist())),
        "dispersion": {
            "common": float(info["common_dispersion"][0]),
            "trended": _summary(info["trended_dispersion"]),
            "tagwise": _summary(info["tagwise_dispersion"]),
        },
    }
    if mat.dropped_zero:
        meta["dropped_all_zero"] = len(mat.dropped_zero)
    if "df_prior" in info:
        meta["df_prior"] = float(np.median(info["df_prior"]))
        meta["var_prior"] = float(np.median(info["var_prior"]))
    return meta
