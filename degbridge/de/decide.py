"""limma's ``decideTests``: which genes are up, down or neither in each contrast.

:func:`decide_tests` takes a :class:`~degbridge.LimmaFit` (every method of ``decideTests``,
tested on the fit) or tables already tested (``DEResults`` or one DETable: ``"separate"`` and
``"global"`` on their P-values). The R code is ``degbridge_decide_fit`` and
``degbridge_decide_p`` in ``r_scripts/R/limma_fit.R``.
"""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
import pandas as pd

from .._exceptions import DataWarning
from .._params import ADJUST_METHODS, DECIDE_METHODS, caller_stacklevel, check_choice, check_number
from ..io.table import DETable
from .backend import DEFit, DEResults, in_r, named_matrix, r_array, r_strings

__all__ = ["DecideTests", "decide_tests"]


class DecideTests(pd.DataFrame):
    """limma's ``decideTests`` result: genes × contrasts of -1 (down), 0, 1 (up).

    :meth:`summary` counts them per contrast, as ``summary(decideTests(...))`` in R.
    ``attrs`` holds the method, adjustment, ``p_value`` and ``lfc``.
    """

    @property
    def _constructor(self):
        return DecideTests

    def summary(self) -> pd.DataFrame:
        """``Down``, ``NotSig``, ``Up`` counts (rows) per contrast (columns)."""
        values = self.to_numpy()
        counts = {
            col: [int((values[:, k] == v).sum()) for v in (-1, 0, 1)]
            for k, col in enumerate(self.columns)
        }
        return pd.DataFrame(counts, index=pd.Index(["Down", "NotSig", "Up"]))


def decide_tests(
    fit_or_tested: DEFit | DEResults | DETable,
    contrast=None,
    *,
    method: Literal["separate", "global", "hierarchical", "nestedF"] = "separate",
    adjust_method: str = "BH",
    p_value: float = 0.05,
    lfc: float = 0.0,
    robust: bool = False,
    trend: bool = False,
) -> DecideTests:
    """limma's ``decideTests``: which genes are up (1), down (-1) or neither (0) per contrast.

    Parameters
    ----------
    fit_or_tested
        A :class:`LimmaFit` (then ``contrast=`` says what to test, default every design
        coefficient, as ``decideTests(eBayes(fit))``), or tables already tested
        (:class:`~degbridge.DEResults` or one DETable from ``run_limma``/``fit.test``;
        methods ``"separate"`` and ``"global"``, through ``decideTests`` on the p-values).
    contrast
        For a fit: contrasts as for :meth:`LimmaFit.test`.
    method
        ``"separate"`` (each contrast adjusted on its own), ``"global"`` (all at once),
        ``"hierarchical"`` (genes by the F-test, then contrasts), ``"nestedF"`` (these two on a
        fit only).
    adjust_method
        R's ``p.adjust`` method (``"BH"``, ``"BY"``, ``"holm"``, ``"bonferroni"``,
        ``"none"``...).
    p_value
        Cut-off for the adjusted p-values.
    lfc
        Minimum ``|logFC|`` to call a gene (as ``decideTests``' ``lfc``).
    robust, trend
        ``eBayes`` options (a fit only).

    Returns
    -------
    DecideTests
        A genes × contrasts DataFrame of -1/0/1, with ``summary()``.
    """
    check_choice("method", method, DECIDE_METHODS)
    check_choice("adjust_method", adjust_method, ADJUST_METHODS)
    p_value = check_number("p_value", p_value, 0, 1)
    lfc = check_number("lfc", lfc, 0, None)
    if isinstance(fit_or_tested, DEFit):
        fit = _limma_fit(fit_or_tested)
        spec = fit.contrasts(list(fit.coefficient_names) if contrast is None else contrast)
        opts = fit.test_options(robust=robust, trend=trend, lfc=0.0, confint=False, sort_by="none")
        genes, names = fit.genes, spec.names
        with in_r() as r:
            cm = named_matrix(r, spec.matrix, fit.design.columns, spec.names)
            out = r.to_dict(
                r.call(
                    "degbridge_decide_fit",
                    fit.r_object(r),
                    cm,
                    trend=r.scalar(opts.trend),
                    robust=r.scalar(opts.robust),
                    method=r.scalar(method),
                    **{
                        "adjust.method": r.scalar(adjust_method),
                        "p.value": r.scalar(p_value),
                        "lfc": r.scalar(lfc),
                    },
                )
            )
            values, r_warnings = _decisions(r, out)
            del cm, out
    else:
        genes, names, pmat, coefs = _tested(fit_or_tested, method, contrast)
        with in_r() as r:
            out = r.to_dict(
                r.call(
                    "degbridge_decide_p",
                    r.float_matrix(pmat),
                    r.float_matrix(coefs),
                    method=r.scalar(method),
                    **{
                        "adjust.method": r.scalar(adjust_method),
                        "p.value": r.scalar(p_value),
                        "lfc": r.scalar(lfc),
                    },
                )
            )
            values, r_warnings = _decisions(r, out)
            del out
    r.warn_r(r_warnings, stacklevel=2)
    result = DecideTests(values, index=pd.Index(genes, dtype=object), columns=list(names))
    result.attrs.update(method=method, adjust_method=adjust_method, p_value=p_value, lfc=lfc)
    return result


def _limma_fit(fit: DEFit) -> DEFit:
    """The fit itself when it is limma's (decideTests tests it again); TypeError otherwise."""
    if not hasattr(fit, "test_options"):
        msg = (
            f"decide_tests tests a LimmaFit again (limma's decideTests), not a "
            f"{type(fit).__name__}; pass that fit's tested tables instead (fit.test(...))"
        )
        raise TypeError(msg)
    return fit


def _decisions(r, out) -> tuple[np.ndarray, list[str]]:
    return r_array(r, out["results"]).astype(np.int64), r_strings(r, out["warnings"])


def _tested(tested, method: str, contrast):
    """Genes, names, p-value and logFC matrices (genes × contrasts)."""
    if contrast is not None:
        msg = "contrast= is for a LimmaFit; tested tables already hold their contrasts"
        raise ValueError(msg)
    if method in ("hierarchical", "nestedF"):
        # hierarchical: decideTests.MArrayLM screens genes by the F-test; on p-values alone
        # (decideTests.default) limma 3.54 fails when given them ("object 'ngenes' not found")
        msg = f"method={method!r} needs the fit (F-test and t-statistics): pass the LimmaFit"
        raise ValueError(msg)
    if isinstance(tested, DEResults):
        tables = dict(tested)
    elif isinstance(tested, DETable):
        tables = {str(tested.meta.get("contrast", "contrast")): tested}
    else:
        msg = f"decide_tests takes a LimmaFit, DEResults or DETable, not {type(tested).__name__}"
        raise TypeError(msg)
    first = next(iter(tables.values()))
    genes = list(first.index)
    for name, tab in tables.items():
        missing = {"P.Value", "logFC"} - set(tab.columns)
        if missing:
            msg = f"table {name!r} has no {sorted(missing)} column(s)"
            raise ValueError(msg)
        if set(tab.index) != set(genes) or len(tab.index) != len(genes):
            msg = f"table {name!r} does not hold the same genes as the first table"
            raise ValueError(msg)
    pmat = np.column_stack([t["P.Value"].reindex(genes).to_numpy(float) for t in tables.values()])
    coefs = np.column_stack([t["logFC"].reindex(genes).to_numpy(float) for t in tables.values()])
    untested = np.isnan(pmat).any(axis=1) | np.isnan(coefs).any(axis=1)
    if untested.all():
        msg = "no gene has a P-value and a logFC in every table: nothing to decide"
        raise ValueError(msg)
    if untested.any():
        # DESeq2 leaves all-zero genes and Cook's-distance outliers without a P-value;
        # decideTests needs one for every gene, so those genes are not called either way
        reasons = first.meta.get("na_reasons")
        why = f" (DESeq2's reasons: {reasons})" if reasons else ""
        warnings.warn(
            f"decide_tests: {int(untested.sum())} gene(s) without a P-value or logFC (e.g. "
            f"{str(genes[int(np.flatnonzero(untested)[0])])!r}) are left out{why}",
            DataWarning,
            stacklevel=caller_stacklevel(),
        )
        keep = ~untested
        genes = [g for g, k in zip(genes, keep) if k]
        pmat, coefs = pmat[keep], coefs[keep]
    return genes, list(tables), pmat, coefs
