"""The allowed values of limma's options, declared once.

Each ``Literal`` type below *is* the declaration: the tuples (``METHODS``...) are read from it
with :func:`typing.get_args`, and :data:`LIMMA_CONSTRAINTS` (in the style of scikit-learn's
``_parameter_constraints``) says for every option what it accepts. The type hints of
``run_limma``, the checks and their error messages (:func:`check_param`) and the CLI's
``choices=`` all read from here, so they cannot drift apart.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Real
from typing import Any, Literal, get_args

__all__ = [
    "COUNT_METHODS",
    "LIMMA_CONSTRAINTS",
    "METHODS",
    "NORMALIZE",
    "SORT_BY",
    "WEIGHTS",
    "Interval",
    "Method",
    "Normalize",
    "Options",
    "SortBy",
    "Weights",
    "check_param",
]

Method = Literal["ls", "voom", "trend"]
Normalize = Literal["TMM", "TMMwsp", "RLE", "upperquartile", "none"]
FilterMethod = Literal["filterByExpr"]
Weights = Literal["arrayWeights", "quality"]
SortBy = Literal["auto", "B", "P", "logFC", "t", "none"]

METHODS: tuple[str, ...] = get_args(Method)
NORMALIZE: tuple[str, ...] = get_args(Normalize)
FILTERS: tuple[str, ...] = get_args(FilterMethod)
WEIGHTS: tuple[str, ...] = get_args(Weights)
SORT_BY: tuple[str, ...] = get_args(SortBy)
#: methods that take raw counts (edgeR normalisation first)
COUNT_METHODS: tuple[str, ...] = ("voom", "trend")


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
