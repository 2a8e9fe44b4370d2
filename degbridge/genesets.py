"""Gene-set tests on a limma fit: camera, fry, roast and mroast, with sets from a dict or GMT.

Sets are mapped to the fit's genes in Python (exact ID match) and cross to R as named lists of
integer row numbers, never as code; the mapping rate is reported in the result's ``attrs``
and logged. The R side (``r_scripts/limma_fit.R``) calls limma's own functions on the fit's
log-expression ``E``, its observation weights (voom's), design and contrast, as a native
session calls ``camera(v, index, design, contrast)``.

The fit is any :class:`degbridge.fit.LimmaFit` (this module does not import it: the fit's
methods call these functions).
"""

from __future__ import annotations

import logging
import os
import re
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._exceptions import DataWarning, RWarning

__all__ = ["GeneSets", "camera", "fry", "gene_sets", "mroast", "roast"]

logger = logging.getLogger("degbridge")

STANDARDIZE = ("none", "residual.sd", "posterior.sd", "p2")
FRY_SORT = ("directional", "mixed", "none")
SET_STATISTICS = ("mean", "floormean", "mean50", "msq")
ADJUST_METHODS = ("BH", "BY", "fdr", "holm", "hochberg", "hommel", "bonferroni", "none")


class GeneSets(dict):
    """``{set name: [gene IDs]}`` (order kept, duplicates within a set removed).

    Attributes
    ----------
    source
        Where the sets came from (``"dict"`` or the GMT path).
    """

    def __init__(self, sets: Mapping[str, list[str]], source: str):
        super().__init__(sets)
        self.source = source

    def __repr__(self) -> str:
        return f"GeneSets({len(self)} sets from {self.source})"


def gene_sets(
    source: Mapping[str, Iterable[str]] | str | os.PathLike,
    *,
    min_size: int = 1,
    max_size: int | None = None,
) -> GeneSets:
    """Gene sets from a dict ``{name: [gene IDs]}`` or a GMT file.

    Parameters
    ----------
    source
        A mapping of set names to gene IDs, or the path of a GMT file (one set per line:
        name, description, then gene IDs, tab-separated).
    min_size, max_size
        Keep sets with at least ``min_size`` and at most ``max_size`` distinct IDs (before
        mapping to a fit's genes).

    Returns
    -------
    GeneSets
    """
    if isinstance(min_size, bool) or not isinstance(min_size, int) or min_size < 1:
        msg = f"min_size must be a positive integer, not {min_size!r}"
        raise ValueError(msg)
    if max_size is not None and (
        isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < min_size
    ):
        msg = f"max_size must be an integer ≥ min_size ({min_size}) or None, not {max_size!r}"
        raise ValueError(msg)
    if isinstance(source, str | os.PathLike):
        raw, where = _read_gmt(Path(source)), str(source)
    elif isinstance(source, Mapping):
        raw, where = source, "dict"
    else:
        msg = f"gene sets come from a dict or a GMT file path, not {type(source).__name__}"
        raise TypeError(msg)
    sets: dict[str, list[str]] = {}
    for name, members in raw.items():
        if not isinstance(name, str) or not name:
            msg = f"gene set names must be non-empty strings, not {name!r}"
            raise TypeError(msg)
        if isinstance(members, str) or not isinstance(members, Iterable):
            msg = f"gene set {name!r} must be a list of gene IDs, not {type(members).__name__}"
            raise TypeError(msg)
        ids = list(dict.fromkeys(str(m) for m in members if m is not None and str(m) != ""))
        if len(ids) >= min_size and (max_size is None or len(ids) <= max_size):
            sets[name] = ids
    if not sets:
        msg = f"no gene set from {where} has between {min_size} and {max_size or 'any'} genes"
        raise ValueError(msg)
    return GeneSets(sets, where)


def _read_gmt(path: Path) -> dict[str, list[str]]:
    if not path.is_file():
        msg = f"GMT file {str(path)!r} does not exist"
        raise FileNotFoundError(msg)
    sets: dict[str, list[str]] = {}
    with path.open(encoding="utf-8-sig") as handle:
        for number, line in enumerate(handle, start=1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            fields = line.split("\t")
            if len(fields) < 3:
                msg = (
                    f"GMT file {str(path)!r}, line {number}: expected name, description and "
                    f"genes separated by tabs, found {len(fields)} field(s)"
                )
                raise ValueError(msg)
            name = fields[0].strip()
            if name in sets:
                msg = f"GMT file {str(path)!r}, line {number}: set {name!r} occurs twice"
                raise ValueError(msg)
            sets[name] = [f.strip() for f in fields[2:] if f.strip()]
    return sets


# ---------------------------------------------------------------------------------------
# mapping
# ---------------------------------------------------------------------------------------

_ID_PATTERNS = (
    ("Ensembl gene", re.compile(r"^ENS[A-Z]*G\d{6,}(\.\d+)?$")),
    ("Ensembl transcript", re.compile(r"^ENS[A-Z]*T\d{6,}(\.\d+)?$")),
    ("Entrez (numeric)", re.compile(r"^\d+$")),
    ("Affymetrix probe", re.compile(r"^[\w.\-]+_at$")),
    ("RefSeq", re.compile(r"^[NX][MR]_\d+(\.\d+)?$")),
    ("gene symbol", re.compile(r"^[A-Za-z][A-Za-z0-9\-.@]*$")),
)


def id_type(ids: Iterable[str]) -> str:
    """The most common ID type among (up to 2000 of) ``ids``, by pattern."""
    counts: dict[str, int] = {}
    for n, value in enumerate(ids):
        if n >= 2000:
            break
        kind = next((k for k, p in _ID_PATTERNS if p.match(str(value))), "other")
        counts[kind] = counts.get(kind, 0) + 1
    return max(counts, key=counts.get) if counts else "none"


def map_sets(sets: Mapping[str, list[str]], genes: list[str]) -> tuple[dict[str, np.ndarray], dict]:
    """Each set as 1-based row numbers of ``genes``; sets with no gene found are left out.

    Returns ``(index, report)``; ``report`` holds ``mapping_rate`` (distinct set IDs found
    among the genes / distinct set IDs), ``n_sets``, ``n_sets_mapped`` and ``empty_sets``.
    ValueError, naming the ID type on each side, when no set has any gene.
    """
    if isinstance(sets, str | os.PathLike) or not isinstance(sets, Mapping):
        sets = gene_sets(sets)
    position = {g: i for i, g in enumerate(genes)}
    index: dict[str, np.ndarray] = {}
    empty: list[str] = []
    all_ids: set[str] = set()
    for name, members in sets.items():
        all_ids.update(members)
        rows = [position[m] + 1 for m in dict.fromkeys(members) if m in position]
        if rows:
            index[str(name)] = np.asarray(rows, dtype=np.int64)
        else:
            empty.append(str(name))
    found = sum(1 for m in all_ids if m in position)
    if not index:
        members = [m for ids in sets.values() for m in ids]
        msg = (
            f"no gene of the {len(sets)} gene set(s) is among the fit's {len(genes)} genes: the "
            f"sets hold {id_type(members)} IDs (e.g. {members[:3]}), the fit "
            f"{id_type(genes)} IDs (e.g. {genes[:3]}); map the IDs first"
        )
        raise ValueError(msg)
    report = {
        "mapping_rate": found / len(all_ids) if all_ids else 0.0,
        "n_ids": len(all_ids),
        "n_ids_mapped": found,
        "n_sets": len(sets),
        "n_sets_mapped": len(index),
        "empty_sets": len(empty),
    }
    logger.info(
        "gene sets: %d of %d distinct IDs found among the fit's genes (%.1f%%); %d of %d sets "
        "tested",
        found,
        len(all_ids),
        100 * report["mapping_rate"],
        len(index),
        len(sets),
    )
    return index, report


# ---------------------------------------------------------------------------------------
# the tests
# ---------------------------------------------------------------------------------------


def camera(
    fit,
    sets,
    contrast=None,
    *,
    coef: str | None = None,
    inter_gene_cor: float | None = 0.01,
    use_ranks: bool = False,
    allow_neg_cor: bool = False,
    trend_var: bool = False,
    sort: bool = True,
) -> pd.DataFrame:
    """limma's ``camera``: competitive test of each set for one contrast of the fit.

    Parameters
    ----------
    fit
        A :class:`degbridge.fit.LimmaFit`.
    sets
        Gene sets: a dict ``{name: [gene IDs]}``, a GMT path or :func:`gene_sets`' result.
    contrast, coef
        One contrast or coefficient, as for :meth:`~degbridge.fit.LimmaFit.test`.
    inter_gene_cor
        The preset inter-gene correlation (limma's default 0.01), or ``None`` to estimate it
        for each set (then a ``Correlation`` column).
    use_ranks, allow_neg_cor, trend_var, sort
        As limma's ``use.ranks``, ``allow.neg.cor``, ``trend.var``, ``sort``.

    Returns
    -------
    pandas.DataFrame
        One row per set: ``NGenes``, ``Direction``, ``PValue``, ``FDR`` (and ``Correlation``)
        as limma returns them; ``attrs`` holds the mapping report and the contrast.
    """
    if inter_gene_cor is not None:
        inter_gene_cor = float(inter_gene_cor)
        if not -1 < inter_gene_cor < 1:
            msg = f"inter_gene_cor must be between -1 and 1 (or None), not {inter_gene_cor}"
            raise ValueError(msg)
    options = {
        "inter.gene.cor": inter_gene_cor,
        "use.ranks": bool(use_ranks),
        "allow.neg.cor": bool(allow_neg_cor),
        "trend.var": bool(trend_var),
        "sort": bool(sort),
    }
    return _run("degbridge_camera", fit, sets, contrast, coef, options, block=False)


def fry(
    fit,
    sets,
    contrast=None,
    *,
    coef: str | None = None,
    standardize: str = "posterior.sd",
    sort: str = "directional",
    trend_var: bool = False,
    robust: bool = False,
) -> pd.DataFrame:
    """limma's ``fry``: fast self-contained rotation test (the ``roast`` limit) per set.

    Parameters as for :func:`camera`; ``standardize`` (``"none"``, ``"residual.sd"``,
    ``"posterior.sd"``, ``"p2"``), ``sort`` (``"directional"``, ``"mixed"``, ``"none"``),
    ``trend_var`` and ``robust`` as in limma. The fit's block and consensus correlation, if
    any, are used.

    Returns
    -------
    pandas.DataFrame
        ``NGenes``, ``Direction``, ``PValue``, ``FDR``, ``PValue.Mixed``, ``FDR.Mixed``.
    """
    _choice("standardize", standardize, STANDARDIZE)
    _choice("sort", sort, FRY_SORT)
    options = {
        "standardize": standardize,
        "sort": sort,
        "trend.var": bool(trend_var),
        "robust": bool(robust),
    }
    return _run("degbridge_fry", fit, sets, contrast, coef, options, block=True)


def roast(
    fit,
    gene_set,
    contrast=None,
    *,
    coef: str | None = None,
    nrot: int = 1999,
    seed: int | None = None,
    set_statistic: str = "mean",
    trend_var: bool = False,
) -> pd.DataFrame:
    """limma's ``roast`` on one set: rotation test, ``nrot`` rotations after R's
    ``set.seed(seed)``.

    Parameters
    ----------
    gene_set
        A list of gene IDs, or a mapping with one set.
    seed
        R's random seed, set just before ``roast`` so results reproduce (and equal a native
        session calling ``set.seed(seed)`` first). Without it a DataWarning is raised: the
        p-values change from run to run.

    Returns
    -------
    pandas.DataFrame
        Rows ``Down``, ``Up``, ``UpOrDown``, ``Mixed``; columns ``Active.Prop``, ``P.Value``
        (roast's ``p.value``); ``attrs["NGenes"]``.
    """
    if isinstance(gene_set, Mapping):
        if len(gene_set) != 1:
            msg = f"roast tests one gene set; got {len(gene_set)} (use mroast for several)"
            raise ValueError(msg)
        sets = dict(gene_set)
    elif isinstance(gene_set, str) or not isinstance(gene_set, Iterable):
        msg = "roast's gene_set is a list of gene IDs (or a mapping with one set)"
        raise TypeError(msg)
    else:
        sets = {"set": list(gene_set)}
    options = _rotation_options(nrot, seed, set_statistic, trend_var)
    options["multi"] = False
    out = _run("degbridge_roast", fit, sets, contrast, coef, options, block=True)
    return out


def mroast(
    fit,
    sets,
    contrast=None,
    *,
    coef: str | None = None,
    nrot: int = 1999,
    seed: int | None = None,
    set_statistic: str = "mean",
    adjust_method: str = "BH",
    midp: bool = True,
    sort: str = "directional",
    trend_var: bool = False,
) -> pd.DataFrame:
    """limma's ``mroast``: ``roast`` for several sets, after R's ``set.seed(seed)``.

    Parameters as for :func:`roast` and :func:`fry` (``adjust_method``, ``midp`` as in
    limma).

    Returns
    -------
    pandas.DataFrame
        ``NGenes``, ``PropDown``, ``PropUp``, ``Direction``, ``PValue``, ``FDR``,
        ``PValue.Mixed``, ``FDR.Mixed``.
    """
    _choice("adjust_method", adjust_method, ADJUST_METHODS)
    _choice("sort", sort, FRY_SORT)
    options = _rotation_options(nrot, seed, set_statistic, trend_var)
    options.update(
        {"multi": True, "adjust.method": adjust_method, "midp": bool(midp), "sort": sort}
    )
    return _run("degbridge_roast", fit, sets, contrast, coef, options, block=True)


def _rotation_options(nrot, seed, set_statistic, trend_var) -> dict[str, Any]:
    if isinstance(nrot, bool) or not isinstance(nrot, int | np.integer) or nrot < 1:
        msg = f"nrot must be a positive integer, not {nrot!r}"
        raise ValueError(msg)
    if seed is None:
        warnings.warn(
            "roast/mroast without seed=: the rotations are random, so p-values change from run "
            "to run; pass seed= (R's set.seed) to reproduce them",
            DataWarning,
            stacklevel=4,
        )
    elif isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        msg = f"seed must be an integer, not {seed!r}"
        raise TypeError(msg)
    _choice("set_statistic", set_statistic, SET_STATISTICS)
    return {
        "seed": None if seed is None else int(seed),
        "nrot": int(nrot),
        "set.statistic": set_statistic,
        "trend.var": bool(trend_var),
    }


def _choice(name: str, value, allowed) -> None:
    if value not in allowed:
        msg = f"{name}={value!r} is not one of {list(allowed)}"
        raise ValueError(msg)


def _run(function: str, fit, sets, contrast, coef, options: dict, *, block: bool):
    """Map the sets, send E/weights/design/contrast/index, call ``function``, tidy the table."""
    from . import r

    spec = fit.contrasts(contrast, coef=coef)
    if len(spec.names) != 1:
        msg = f"gene-set tests take one contrast, not {len(spec.names)} ({spec.names})"
        raise ValueError(msg)
    if not isinstance(sets, GeneSets):
        sets = gene_sets(sets)
    index, report = map_sets(sets, fit.genes)
    with r.R_LOCK:
        r.check_r()
        ri = r.session().ri
        rindex = r.list_to_r({k: ri.IntSexpVector(v.tolist()) for k, v in index.items()})
        if spec.coefs[0] is not None:  # a single coefficient, as camera(..., contrast = j)
            rcontrast = r.scalar(int(spec.coefs[0]) + 1)
        else:
            rcontrast = r.float_vector(spec.matrix[:, 0])
        dmat = r.float_matrix(fit.design.matrix)
        weights = ri.NULL if fit.weights is None else r.float_matrix(fit.weights)
        extra = {}
        if block and fit.block is not None:
            extra["block"] = r.str_vector(fit.block)
            extra["correlation"] = r.float_vector(np.atleast_1d(fit.parts["correlation"]))
        args = {k: r.scalar(v) for k, v in options.items()}
        out = r.to_dict(
            r.call(
                function, r.float_matrix(fit.E), weights, dmat, rcontrast, rindex, **args, **extra
            )
        )
        r_warnings = [str(w) for w in r.to_numpy(out["warnings"])]
        table = r.frame_from_r(out["table"])
        del rindex, rcontrast, dmat, weights, extra, args, out
    for text in dict.fromkeys(r_warnings):
        warnings.warn(f"R (limma): {text}", RWarning, stacklevel=3)
    if function == "degbridge_roast" and not options["multi"]:
        table.attrs["NGenes"] = len(next(iter(index.values())))
    table.attrs.update(report)
    table.attrs["contrast"] = spec.names[0]
    return table
