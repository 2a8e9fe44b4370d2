"""Every method's options declared once: allowed values, the method default rule, descriptions.

Each ``Literal`` type below *is* the declaration: the tuples (``METHODS``...) are read from it
with :func:`typing.get_args`, and :data:`LIMMA_CONSTRAINTS` (in the style of scikit-learn's
``_parameter_constraints``) says for every option what it accepts. The type hints of
``run_limma``, the checks and their error messages (:func:`check_param`) and the CLI's
``choices=`` all read from here, so they cannot drift apart.

:func:`resolve_method` is the one rule for ``method=None`` (raw counts → ``"voom"``, else
``"ls"``), used by ``run_limma``, ``tl.limma`` and the CLI; the R package
(``r_scripts/R/limma.R``) applies the same rule in R (a test checks they agree).
:data:`EDGER_CONSTRAINTS` and :data:`DESEQ2_CONSTRAINTS` declare edgeR's and DESeq2's options
the same way, and :data:`METHOD_OPTIONS` which options each method takes
(:func:`check_method_options` routes ``tl.de``'s and the R package's options).

:data:`LIMMA_DOCS`, :data:`EDGER_DOCS` and :data:`DESEQ2_DOCS` hold one description per option,
used by the docstrings (:func:`fill_docs`), the CLI's help (:func:`cli_help`) and the R
package's roxygen ``@param`` entries (a test checks each starts with exactly that text).
"""

from __future__ import annotations

import logging
import math
import re
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from numbers import Real
from typing import Any, Literal, TypeVar, get_args

from ._checks import looks_like_counts

__all__ = [
    "ADJUST_METHODS",
    "ALT_HYPOTHESES",
    "COUNT_METHODS",
    "DECIDE_METHODS",
    "DESEQ2_CONSTRAINTS",
    "DESEQ2_DOCS",
    "DESEQ2_TESTS",
    "EDGER_CONSTRAINTS",
    "EDGER_DOCS",
    "EDGER_TESTS",
    "LEAKAGE",
    "LIMMA_CONSTRAINTS",
    "LIMMA_DOCS",
    "METHODS",
    "METHOD_OPTIONS",
    "NORMALIZE",
    "OUTLIERS",
    "SORT_BY",
    "WEIGHTS",
    "Interval",
    "Leakage",
    "Method",
    "MethodChoice",
    "Normalize",
    "Options",
    "Outliers",
    "SortBy",
    "Weights",
    "check_choice",
    "check_method_options",
    "check_number",
    "check_param",
    "cli_help",
    "fill_docs",
    "method_family",
    "resolve_method",
]

logger = logging.getLogger("degbridge")

Method = Literal["ls", "voom", "trend"]
Normalize = Literal["TMM", "TMMwsp", "RLE", "upperquartile", "none"]
FilterMethod = Literal["filterByExpr"]
Weights = Literal["arrayWeights", "quality"]
SortBy = Literal["auto", "B", "P", "logFC", "t", "none"]
#: compare's handling of same-test features and of outlying targets
Leakage = Literal["flag", "drop", "keep"]
Outliers = Literal["report", "clip", "drop"]
#: limma's decideTests methods (decide_tests, the command line's --decide)
DecideMethod = Literal["separate", "global", "hierarchical", "nestedF"]
#: edgeR's tests (run_edger, fit_edger) and DESeq2's (run_deseq2, fit_deseq2)
EdgerTest = Literal["ql", "lrt", "exact"]
DESeq2Test = Literal["Wald", "LRT"]
#: DESeq2's altHypothesis of results(): which side of lfcThreshold is tested
AltHypothesis = Literal["greaterAbs", "lessAbs", "greater", "less"]
Shrink = Literal["normal"]

METHODS: tuple[str, ...] = get_args(Method)
#: Count methods of other packages the command line also runs (``--method edger|deseq2``).
OTHER_METHODS: tuple[str, ...] = ("edger", "deseq2")
NORMALIZE: tuple[str, ...] = get_args(Normalize)
FILTERS: tuple[str, ...] = get_args(FilterMethod)
WEIGHTS: tuple[str, ...] = get_args(Weights)
SORT_BY: tuple[str, ...] = get_args(SortBy)
LEAKAGE: tuple[str, ...] = get_args(Leakage)
OUTLIERS: tuple[str, ...] = get_args(Outliers)
DECIDE_METHODS: tuple[str, ...] = get_args(DecideMethod)
#: R's p.adjust methods (decideTests, topTable, topTags)
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
#: methods that take raw counts (edgeR normalisation first)
COUNT_METHODS: tuple[str, ...] = ("voom", "trend")
EDGER_TESTS: tuple[str, ...] = get_args(EdgerTest)
DESEQ2_TESTS: tuple[str, ...] = get_args(DESeq2Test)
ALT_HYPOTHESES: tuple[str, ...] = get_args(AltHypothesis)


@dataclass(frozen=True)
class Options:
    """One of a finite set of strings."""

    values: tuple[str, ...]

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str) and value in self.values

    def __str__(self) -> str:
        if len(self.values) == 1:
            return repr(self.values[0])
        return f"one of {list(self.values)}"


@dataclass(frozen=True)
class Interval:
    """A real number (not a bool) between ``low`` and ``high``; ``closed`` says which ends count."""

    low: float
    high: float
    closed: Literal["left", "right", "both", "neither"]
    wording: str  # how messages say it: "a number >= 0", "a level in (0, 1)"

    def accepts(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, Real) or math.isnan(value):
            return False
        above = value >= self.low if self.closed in ("left", "both") else value > self.low
        below = value <= self.high if self.closed in ("right", "both") else value < self.high
        return above and below

    def __str__(self) -> str:
        return self.wording


#: what each option accepts: a value is valid when any entry of its tuple accepts it
#: (``bool`` and ``None`` stand for themselves)
LIMMA_CONSTRAINTS: dict[str, tuple[Options | Interval | type | None, ...]] = {
    "method": (Options(METHODS),),
    "normalize": (Options(NORMALIZE), None),
    "filter": (Options(FILTERS), bool, None),
    "weights": (Options(WEIGHTS), None),
    "lfc": (Interval(0.0, math.inf, "left", "a number >= 0"),),
    "confint": (bool, Interval(0.0, 1.0, "neither", "a level in (0, 1)")),
    "prior_count": (Interval(0.0, math.inf, "neither", "a number > 0"),),
    "sort_by": (Options(SORT_BY),),
}


@dataclass(frozen=True)
class Kinds:
    """A value of one of some Python types (a formula or a matrix, say)."""

    types: tuple[type, ...]
    wording: str

    def accepts(self, value: Any) -> bool:
        return isinstance(value, self.types) and not isinstance(value, bool)

    def __str__(self) -> str:
        return self.wording


def _matrix_types() -> tuple[type, ...]:
    import numpy as np
    import pandas as pd

    return (np.ndarray, pd.DataFrame)


_THRESHOLD = Interval(0.0, math.inf, "left", "a number >= 0")

#: edgeR's options (run_edger, fit_edger and its test, tl.de(method="edger"))
EDGER_CONSTRAINTS: dict[str, tuple[Options | Interval | type | None, ...]] = {
    "test": (Options(EDGER_TESTS),),
    "robust": (bool,),
    "lfc": (_THRESHOLD,),
    "normalize": (Options(NORMALIZE), None),
    "filter": (Options(FILTERS), bool, None),
}

#: DESeq2's options (run_deseq2, fit_deseq2 and its test, tl.de(method="deseq2"))
DESEQ2_CONSTRAINTS: dict[str, tuple[Options | Interval | Kinds | type | None, ...]] = {
    "test": (Options(DESEQ2_TESTS),),
    "reduced": (Kinds((str, *_matrix_types()), "a formula or a numeric matrix"), None),
    "shrink": (Options(get_args(Shrink)), None),
    "lfc_threshold": (_THRESHOLD,),
    "alt_hypothesis": (Options(ALT_HYPOTHESES),),
    "independent_filtering": (bool,),
    "alpha": (
        Interval(0.0, 1.0, "neither", "a number between 0 and 1 (the FDR target of results())"),
    ),
    "cooks_cutoff": (bool,),
}

#: The options of each method family that tl.de and the R/CLI faces pass on, in the order
#: the docs list them. limma's are run_limma's (its analysis options, the block and sorting).
METHOD_OPTIONS: dict[str, tuple[str, ...]] = {
    "limma": ("normalize", "filter", "robust", "trend", "lfc", "block", "weights", "confint",
              "prior_count", "sort_by"),
    "edger": tuple(EDGER_CONSTRAINTS),
    "deseq2": tuple(DESEQ2_CONSTRAINTS),
}  # fmt: skip
_CONSTRAINTS = {
    "limma": LIMMA_CONSTRAINTS,
    "edger": EDGER_CONSTRAINTS,
    "deseq2": DESEQ2_CONSTRAINTS,
}


def method_family(method: str | None) -> str:
    """``"limma"`` (``None``, ``"ls"``, ``"voom"``, ``"trend"``), ``"edger"`` or ``"deseq2"``."""
    return method if method in OTHER_METHODS else "limma"


def check_method_options(method: str | None, options: dict[str, Any]) -> None:
    """Refuse an option the method does not have (ValueError naming the methods that have it)
    and check each value against the method's declared constraints (ValueError naming it)."""
    family = method_family(method)
    accepted = METHOD_OPTIONS[family]
    for name in options:
        if name in accepted:
            continue
        label = (
            "limma (method=None, 'voom', 'trend' or 'ls')" if family == "limma" else repr(method)
        )
        owners = [m for m, names in METHOD_OPTIONS.items() if name in names]
        if owners:
            others = " and ".join("limma" if m == "limma" else f"method={m!r}" for m in owners)
            msg = (
                f"{name}= applies to {others}, not to method={method!r}; the options of "
                f"{label} are {sorted(accepted)}"
            )
        else:
            msg = (
                f"{name}= is not an option of method={method!r}; its options are {sorted(accepted)}"
            )
        raise ValueError(msg)
    constraints = _CONSTRAINTS[family]
    for name, value in options.items():
        if name in constraints:
            check_param(name, value, constraints[name])


def _accepts(constraint, value: Any) -> bool:
    if constraint is None:
        return value is None
    if constraint is bool:
        return isinstance(value, bool)
    return constraint.accepts(value)


def _describe(constraints: Sequence) -> str:
    words = ["True/False" if c is bool else "None" if c is None else str(c) for c in constraints]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def check_param(name: str, value: Any, constraints: Sequence | None = None) -> None:
    """Raise ValueError naming ``name`` unless one of its constraints accepts ``value``.

    ``constraints`` defaults to ``LIMMA_CONSTRAINTS[name]``.
    """
    allowed = LIMMA_CONSTRAINTS[name] if constraints is None else constraints
    if not any(_accepts(c, value) for c in allowed):
        msg = f"{name} must be {_describe(allowed)}, not {value!r}"
        raise ValueError(msg)


def check_choice(name: str, value, allowed: Sequence[str]) -> None:
    """Raise ValueError naming ``name`` unless ``value`` is one of ``allowed``."""
    if value not in allowed:
        msg = f"{name}={value!r} is not one of {list(allowed)}"
        raise ValueError(msg)


def check_number(name: str, value, low: float, high: float | None) -> float:
    """``value`` as a float between ``low`` and ``high`` (``None``: no upper bound); TypeError
    for a non-number, ValueError naming ``name`` outside the bounds."""
    if isinstance(value, bool) or not isinstance(value, Real):
        msg = f"{name} must be a number, not {type(value).__name__}"
        raise TypeError(msg)
    value = float(value)
    if not math.isfinite(value) or value < low or (high is not None and value > high):
        bounds = f"between {low:g} and {high:g}" if high is not None else f"≥ {low:g}"
        msg = f"{name} must be {bounds}, not {value!r}"
        raise ValueError(msg)
    return value


# ---------------------------------------------------------------------------------------
# the method default rule
# ---------------------------------------------------------------------------------------

#: why ``method=None`` chose ``"ls"`` (the R helper uses the same words)
LOG_EXPRESSION_WHY = "log-expression detected (not all non-negative integers)"


@dataclass(frozen=True)
class MethodChoice:
    """The method used and why: ``str()`` is ``"voom: raw counts detected (...)"``,
    ``"ls: log-expression detected (...)"`` or ``"trend: given"``.

    ``data`` is what was detected (``"integer counts"`` or ``"log-expression"``), ``None``
    when the method was given.
    """

    method: str
    why: str
    data: str | None = None

    def __str__(self) -> str:
        return f"{self.method}: {self.why}"

    @property
    def summary(self) -> str:
        """Short form for progress lines: ``"voom (integer counts detected)"``."""
        return f"{self.method} ({self.data + ' detected' if self.data else self.why})"


def resolve_method(
    values,
    method: str | None,
    *,
    counts: str = "raw counts",
    caller: str = "run_limma",
    log: bool = True,
) -> MethodChoice:
    """The one ``method`` default rule: a given method is checked and kept; ``None`` becomes
    ``"voom"`` for raw counts (every value a finite non-negative integer within
    ``degbridge._checks.COUNT_TOLERANCE``, see :func:`degbridge._checks.looks_like_counts`) and ``"ls"``
    otherwise (log-expression; missing values included).

    ``values`` is the matrix (any orientation; dense, DataFrame or scipy sparse). ``counts``
    names the counts in the reason (``"pseudobulk sums of raw counts"``); a detected choice is
    logged at INFO (logger ``"degbridge"``) as ``"<caller>: method='voom' (<why>)"`` unless
    ``log=False``.
    """
    if method is not None:
        check_param("method", method)
        if method == "ls":
            _warn_if_not_log(values, counts, caller)
        return MethodChoice(method, "given")
    if looks_like_counts(values):
        choice = MethodChoice(
            "voom", f"{counts} detected (non-negative integers)", "integer counts"
        )
    else:
        choice = MethodChoice("ls", LOG_EXPRESSION_WHY, "log-expression")
    if log:
        logger.info("%s: method=%r (%s)", caller, choice.method, choice.why)
    return choice


#: Above this, non-negative values given to method="ls" are not log-expression (log2
#: expression stays below ~20; raw counts, CPM and un-logged intensities exceed it). The R
#: package applies the same rule (``.degbridge_warn_not_log`` in r_scripts/R/limma.R).
LS_LOG_MAX = 50


def _warn_if_not_log(values, counts: str, caller: str) -> None:
    """Warn when method="ls" is given values that are not on a log scale.

    Non-negative values (missing and infinite ones aside) whose largest exceeds
    :data:`LS_LOG_MAX`: raw or estimated counts, CPM, un-logged intensities. Rounded log values
    and log-CPM stay below it. The message holds no number, so that a loop (one fit per cell
    type) warns once at the user's line.
    """
    import warnings

    import numpy as np
    import scipy.sparse as sp

    data = values.data if sp.issparse(values) else np.asarray(values)
    if data.size == 0 or data.dtype.kind not in "biuf":
        return
    with warnings.catch_warnings():  # an all-missing matrix: nan, no warning of numpy's
        warnings.simplefilter("ignore", RuntimeWarning)
        # reductions, no copy (the 60,000 x 500 path keeps its memory); -inf counts as negative
        if not np.nanmin(data) >= 0 or not np.nanmax(data) > LS_LOG_MAX:
            return
    what = counts if looks_like_counts(values) else "values not on a log scale"
    from ._exceptions import DataWarning

    warnings.warn(
        f"{caller}: method='ls' was given, but these look like {what} (non-negative, "
        f"above {LS_LOG_MAX}): lmFit expects log-expression. Log-transform them first (e.g. "
        "log2(x + 1) for intensities), or for raw counts use method='voom' or 'trend'.",
        DataWarning,
        stacklevel=caller_stacklevel(),
    )


def caller_stacklevel() -> int:
    """The ``stacklevel`` that points a warning at the first caller outside degbridge; call it
    in the function that warns (``warnings.warn(..., stacklevel=caller_stacklevel())``)."""
    import inspect
    import os

    package = os.path.dirname(os.path.abspath(__file__)) + os.sep
    frame, level = inspect.currentframe(), 0
    frame = frame.f_back if frame is not None else None  # the function that warns: level 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        frame, level = frame.f_back, level + 1
    return max(level, 1) + 1


# ---------------------------------------------------------------------------------------
# shared descriptions
# ---------------------------------------------------------------------------------------


def _quoted(values: Sequence[str]) -> str:
    words = [f'"{v}"' for v in values]
    return ", ".join(words[:-1]) + " or " + words[-1]


#: one description per limma option, in plain text (no markup, no Python- or R-only words),
#: shared by run_limma, tl.limma, the CLI (first sentence) and the R helper's header
LIMMA_DOCS: dict[str, str] = {
    "method": (
        'How the values are modelled: "voom" (raw counts: edgeR normalisation, then voom), '
        '"trend" (raw counts to log-CPM, then eBayes with trend) or "ls" (log-expression such '
        'as microarrays or log-CPM, through lmFit); by default chosen from the data: "voom" '
        "when every value is a finite non-negative integer (within 1e-8), "
        'that is raw counts, and "ls" otherwise. The choice is logged, with the reason.'
    ),
    "normalize": (
        f"edgeR normalisation of counts (calcNormFactors method): {_quoted(NORMALIZE)}; "
        f'"{NORMALIZE[0]}" by default, ignored for "ls".'
    ),
    "filter": (
        "Drop lowly expressed genes with edgeR's filterByExpr before normalising counts (on "
        'by default; never for "ls").'
    ),
    "robust": (
        "Robust empirical Bayes (eBayes robust option): genes with outlying variances do not "
        "distort the prior variance; off by default."
    ),
    "trend": (
        "Let the prior variance depend on the average expression (eBayes trend option), for "
        'log-expression whose variance changes with the mean; always on for "trend".'
    ),
    "lfc": (
        "Log2 fold-change threshold: above 0, genes are tested for a change larger than it "
        "with treat and topTreat (no B column then); 0, the default, tests for any change."
    ),
    "block": (
        "Sample-table column of blocks (repeated measures, paired samples): "
        "duplicateCorrelation estimates the correlation within blocks and the fit uses it."
    ),
    "weights": (
        f'Sample weights: "{WEIGHTS[0]}" (limma arrayWeights, with "ls") or "{WEIGHTS[1]}" '
        '(voomWithQualityWeights, with "voom"); none by default.'
    ),
    "confint": ("Add CI.L and CI.R columns: a 95% confidence interval for logFC; off by default."),
    "prior_count": (
        'Prior count added before taking log-CPM for "trend" (edgeR cpm with log); 3 by default.'
    ),
}

#: one description per edgeR option (run_edger, fit_edger, tl.de(method="edger"))
EDGER_DOCS: dict[str, str] = {
    "test": (
        '"ql": glmQLFit then glmQLFTest, the quasi-likelihood F-test of the edgeR User\'s '
        'Guide (the default); "lrt": glmFit then glmLRT, the likelihood-ratio test; "exact": '
        "exactTest between two groups (groups= with two levels)."
    ),
    "robust": (
        "Robust dispersion and quasi-likelihood estimates (estimateDisp and glmQLFit robust "
        "option); on by default."
    ),
    "lfc": (
        "Log2 fold-change threshold: above 0, glmTreat tests for a change larger than it (on "
        'the "ql" or "lrt" fit); 0, the default, tests for any change.'
    ),
    "normalize": (
        f"Normalisation (calcNormFactors method): {_quoted(NORMALIZE)}; "
        f'"{NORMALIZE[0]}" by default.'
    ),
    "filter": (
        "Drop lowly expressed genes with filterByExpr (with the design) before normalising "
        "(on by default)."
    ),
}

#: one description per DESeq2 option (run_deseq2, fit_deseq2, tl.de(method="deseq2"))
DESEQ2_DOCS: dict[str, str] = {
    "test": (
        '"Wald" (DESeq2\'s default) or "LRT", the likelihood-ratio test of the full design '
        "against reduced."
    ),
    "reduced": (
        'The reduced model of test="LRT": a formula over the sample table (such as '
        '"~ celltype") or a numeric matrix, nested in the full design.'
    ),
    "shrink": (
        '"normal": fold changes shrunk by lfcShrink(type = "normal") (Wald test only); none '
        "by default."
    ),
    "lfc_threshold": (
        "results() lfcThreshold: test the log2 fold change against this threshold (Wald test "
        "only); 0 by default."
    ),
    "alt_hypothesis": (
        f"results() altHypothesis, the side of lfc_threshold tested: {_quoted(ALT_HYPOTHESES)} "
        f'("{ALT_HYPOTHESES[0]}" by default: |logFC| above the threshold).'
    ),
    "independent_filtering": (
        "results() independentFiltering: adjusted P-values on the genes whose mean count "
        "passes the filter that maximises discoveries (on by default)."
    ),
    "alpha": "results() alpha: the FDR target of independent filtering; 0.1 by default.",
    "cooks_cutoff": (
        "results() cooksCutoff: genes with a Cook's distance outlier get no P-value (on by "
        "default)."
    ),
}

#: every method's descriptions, for fill_docs placeholders ``{edger.test}``
DOCS: dict[str, dict[str, str]] = {"limma": {}, "edger": EDGER_DOCS, "deseq2": DESEQ2_DOCS}
DOCS["limma"] = LIMMA_DOCS

#: the R helper's argument names where they differ from Python's
R_NAMES = {"prior_count": "prior.count"}

_Func = TypeVar("_Func", bound=Callable[..., Any])
_PLACEHOLDER = re.compile(r"^(?P<indent>[ \t]*)\{(?P<name>[\w.]+)\}[ \t]*$", re.M)


def fill_docs(func: _Func) -> _Func:
    """Decorator: replace every docstring line that is only ``{option}`` by
    ``LIMMA_DOCS[option]`` (``{edger.option}``: ``EDGER_DOCS[option]``, ``{deseq2.option}``:
    ``DESEQ2_DOCS[option]``), wrapped at that line's indentation (numpydoc layout kept).

    An unknown placeholder raises KeyError at import, so a typo cannot ship.
    """
    if func.__doc__ is not None:  # python -OO strips docstrings

        def fill(match: re.Match) -> str:
            indent = match["indent"]
            family, _, name = match["name"].rpartition(".")
            return textwrap.fill(
                DOCS[family or "limma"][name],
                width=96,
                initial_indent=indent,
                subsequent_indent=indent,
                break_on_hyphens=False,
            )

        func.__doc__ = _PLACEHOLDER.sub(fill, func.__doc__)
    return func


def first_sentence(text: str) -> str:
    """Up to the first ``". "`` (or the whole text)."""
    end = text.find(". ")
    return text if end < 0 else text[: end + 1]


def cli_help(name: str) -> str:
    """The CLI's ``help=`` for an option: the first sentence of its description (``%``
    escaped for argparse)."""
    return first_sentence(LIMMA_DOCS[name]).replace("%", "%%")
