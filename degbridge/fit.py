"""fit_limma: a limma fit kept as numbers, tested again for any contrast without refitting.

:func:`fit_limma` runs the fit stage of :func:`degbridge.run_limma` (the same input handling,
the same R code: ``.degbridge_fit`` in ``r_scripts/limma_de.R``) and keeps the fitted model on
the Python side as numpy arrays: coefficients, ``stdev.unscaled``, ``sigma``, ``df.residual``,
``cov.coefficients``, ``Amean``, the design, the genes kept, and the log-expression ``E`` with
its observation weights (voom's) for the gene-set tests. A :class:`LimmaFit` is therefore
picklable and can be shared between threads (every call into R holds degbridge's R lock).

:meth:`LimmaFit.test` rebuilds an ``MArrayLM`` in R from those numbers
(``r_scripts/limma_fit.R``) and runs the test stage of ``run_limma`` on it
(``contrasts.fit`` → ``eBayes``/``treat`` → ``topTable``/``topTreat``): voom is not run again.
:func:`decide_tests` is limma's ``decideTests``; the gene-set tests (camera, fry, roast,
mroast) are in :mod:`degbridge.genesets` and available as methods of the fit.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from ._params import DECIDE_METHODS, FilterMethod, Method, Normalize, SortBy, Weights, fill_docs
from .design import Design, coef_names, contrast_matrix
from .limma import (
    DEResults,
    LimmaOptions,
    _Contrasts,
    _frame,
    _meta,
    _named_matrix,
    _prepare,
    _r_fit_arguments,
    _r_test_arguments,
    _resolve_block,
    _results,
    _Run,
    _strings,
    _warn_run,
)
from .r import to_r
from .table import DETable

__all__ = [
    "ADJUST_METHODS",
    "DECIDE_METHODS",
    "DecideTests",
    "LimmaFit",
    "decide_tests",
    "fit_limma",
]

#: R's p.adjust methods (decideTests' methods: DECIDE_METHODS, declared in _params).
ADJUST_METHODS: tuple[str, ...] = (
    "BH",
    "BY",
    "fdr",
    "holm",
    "hochberg",
    "hommel",
    "bonferroni",
    "none",
)
#: topTable's sort.by values.
TOP_SORT: tuple[str, ...] = ("B", "P", "t", "logFC", "AveExpr", "F", "none")
_INTEGER_PARTS = ("pivot", "rank")
#: ``coef=``: design column names or 0-based positions, one or several.
Coef = str | int | Sequence[str | int]


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
    from . import r

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
    block_labels = _resolve_block(block, mat, samples)
    with r.R_LOCK:
        r.check_r()
        null = r.session().ri.NULL
        dmat = _named_matrix(r, des.matrix, None, des.columns)
        x = r.float_matrix(mat.values, has_nan=mat.n_missing > 0)
        args = _r_fit_arguments(r, opts, block_labels)
        out = r.to_dict(r.call("degbridge_limma_fit", x, dmat, **args))
        del x, args
        r_warnings = _strings(r, out["warnings"])
        keep = r.to_numpy(out["keep"]).astype(bool)
        info = {k: r.to_numpy(v) for k, v in r.to_dict(out["info"]).items()}
        parts = {k: _r_array(r, v) for k, v in r.to_dict(out["parts"]).items()}
        if out["E"] is null:
            E = np.array(mat.values[keep], dtype=np.float64)
        else:
            E = _r_array(r, out["E"])
        obs_weights = None if out["weights"] is null else _r_array(r, out["weights"])
        versions = r.versions()
        del dmat, out
    genes = [g for g, k in zip(mat.genes, keep) if k]
    none = _Contrasts(np.zeros((len(des.columns), 0)), [], [])
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


def _r_array(r, robj) -> np.ndarray:
    """An R vector or matrix as a numpy array of its shape."""
    values = r.to_numpy(robj)
    dim = r.session().ri.baseenv["dim"](robj)
    if dim is r.session().ri.NULL:
        return values
    return values.reshape(tuple(int(d) for d in dim), order="F")


@dataclass(frozen=True, eq=False)
class LimmaFit:
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
    def coefficient_names(self) -> list[str]:
        """The design's column names: what contrasts can name."""
        return list(self.design.columns)

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

    def __repr__(self) -> str:
        return (
            f"LimmaFit({self.meta['method']}, {len(self.genes)} genes × "
            f"{len(self.design.samples)} samples, coefficients {self.coefficient_names})"
        )

    # -- R -------------------------------------------------------------------------------

    def _r_fit(self, r, *, with_genes: bool = False):
        """The ``MArrayLM`` rebuilt in R (call under the R lock)."""
        ri = r.session().ri
        items = {}
        for key, value in self.parts.items():
            if key in _INTEGER_PARTS:
                items[key] = ri.IntSexpVector([int(v) for v in np.atleast_1d(value)])
            elif np.ndim(value) == 2:
                items[key] = r.float_matrix(value)
            else:
                items[key] = r.float_vector(value)
        dmat = _named_matrix(r, self.design.matrix, None, self.design.columns)
        genes = r.str_vector(self.genes) if with_genes else ri.NULL
        return r.call("degbridge_make_fit", r.list_to_r(items), dmat, genes)

    def to_r(self):
        """A real limma ``MArrayLM`` (gene IDs as row names), as ``lmFit`` returned it."""
        return to_r(self)

    # -- contrasts -------------------------------------------------------------------------

    def contrasts(self, contrast=None, *, coef: Coef | None = None) -> _Contrasts:
        """What to test, parsed against the fit's coefficients (ValueError naming them).

        ``coef`` is a name, a 0-based position, the common name of a spline/polynomial term's
        columns (``"ns(time, df = 3)"``) or a list of these (:func:`~degbridge.design.coef_names`).
        """
        if coef is not None:
            if contrast is not None:
                msg = "give either contrast= or coef=, not both"
                raise ValueError(msg)
            contrast = coef_names(coef, self.design)
        return _Contrasts(*contrast_matrix(contrast, self.design.columns))

    def _test_options(self, *, robust, trend, lfc, confint, sort_by) -> LimmaOptions:
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
        from . import r

        started = time.perf_counter()
        spec = self.contrasts(contrast, coef=coef)
        opts = self._test_options(
            robust=robust, trend=trend, lfc=lfc, confint=confint, sort_by=sort_by
        )
        des = self.design
        with r.R_LOCK:
            r.check_r()
            fit = self._r_fit(r)
            dmat = _named_matrix(r, des.matrix, None, des.columns)
            args = _r_test_arguments(r, des, spec, opts)
            out = r.to_dict(r.call("degbridge_limma_de", fit, dmat, **args))
            r_warnings = _strings(r, out["warnings"])
            info = {k: r.to_numpy(v) for k, v in r.to_dict(out["info"]).items()}
            frames = [_frame(r, rtab, self.genes) for rtab in out["tables"]]
            ftest = None
            if out["ftable"] is not r.session().ri.NULL:
                ftest = _frame(r, out["ftable"], self.genes)
            del fit, dmat, args, out
        meta = self._test_meta(spec, opts, info)
        meta["seconds"] = round(time.perf_counter() - started, 3)
        r.warn_r(r_warnings, stacklevel=2)
        return _results(_Run(frames, ftest, meta, r_warnings), des, spec, opts)

    def _test_meta(self, spec: _Contrasts, opts: LimmaOptions, info) -> dict[str, Any]:
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
        from . import r

        spec = self.contrasts(contrast, coef=coef)
        opts = self._test_options(robust=robust, trend=trend, lfc=0.0, confint=confint, sort_by="B")
        _check_choice("sort_by", sort_by, TOP_SORT)
        _check_choice("adjust_method", adjust_method, ADJUST_METHODS)
        p_value, lfc = _check_number("p_value", p_value, 0, 1), _check_number("lfc", lfc, 0, None)
        several = len(spec.names) > 1
        if several and sort_by == "B":
            sort_by = "F"
        if number is not None and (
            isinstance(number, bool) or not isinstance(number, int | np.integer) or number < 1
        ):
            msg = f"number must be a positive integer or None (all rows), not {number!r}"
            raise ValueError(msg)
        with r.R_LOCK:
            r.check_r()
            ri = r.session().ri
            args = _r_test_arguments(r, self.design, spec, opts)
            out = r.to_dict(
                r.call(
                    "degbridge_top_table",
                    self._r_fit(r),
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
            r_warnings = _strings(r, out["warnings"])
            rows = r.to_numpy(out["rows"]).astype(np.int64) - 1
            frame = _frame(r, out["table"], [self.genes[i] for i in rows])
            del args, out, ri
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

    def decide_tests(self, contrast=None, **kwargs) -> DecideTests:
        """:func:`decide_tests` on this fit."""
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
    from . import r

    with r.R_LOCK:
        return fit._r_fit(r, with_genes=True)


def _check_choice(name: str, value, allowed: Sequence[str]) -> None:
    if value not in allowed:
        msg = f"{name}={value!r} is not one of {list(allowed)}"
        raise ValueError(msg)


def _check_number(name: str, value, low: float, high: float | None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        msg = f"{name} must be a number, not {type(value).__name__}"
        raise TypeError(msg)
    value = float(value)
    if not np.isfinite(value) or value < low or (high is not None and value > high):
        bounds = f"between {low:g} and {high:g}" if high is not None else f"≥ {low:g}"
        msg = f"{name} must be {bounds}, not {value!r}"
        raise ValueError(msg)
    return value


# ---------------------------------------------------------------------------------------
# decideTests
# ---------------------------------------------------------------------------------------


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
    fit_or_tested: LimmaFit | DEResults | DETable,
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
        (:class:`~degbridge.limma.DEResults` or one DETable from ``run_limma``/``fit.test``;
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
    from . import r

    _check_choice("method", method, DECIDE_METHODS)
    _check_choice("adjust_method", adjust_method, ADJUST_METHODS)
    p_value = _check_number("p_value", p_value, 0, 1)
    lfc = _check_number("lfc", lfc, 0, None)
    if isinstance(fit_or_tested, LimmaFit):
        fit = fit_or_tested
        spec = fit.contrasts(list(fit.coefficient_names) if contrast is None else contrast)
        opts = fit._test_options(robust=robust, trend=trend, lfc=0.0, confint=False, sort_by="none")
        genes, names = fit.genes, spec.names
        with r.R_LOCK:
            r.check_r()
            cm = _named_matrix(r, spec.matrix, fit.design.columns, spec.names)
            out = r.to_dict(
                r.call(
                    "degbridge_decide_fit",
                    fit._r_fit(r),
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
        with r.R_LOCK:
            r.check_r()
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


def _decisions(r, out) -> tuple[np.ndarray, list[str]]:
    return _r_array(r, out["results"]).astype(np.int64), _strings(r, out["warnings"])


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
    return genes, list(tables), pmat, coefs
