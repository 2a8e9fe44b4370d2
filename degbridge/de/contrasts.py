"""Contrasts parsed in Python into numbers: ``"treated - control"``, ``"(A + B)/2 - C"``.

Nothing is evaluated: the text is tokenised and parsed here (:func:`parse_contrast`), and only
names of design columns are accepted (in backticks when they hold other characters).
:func:`contrast_matrix` turns one or several contrasts into the coefficients × contrasts
matrix that R receives.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence

import numpy as np

from .._checks import check_label

__all__ = ["RESERVED_CONTRAST_NAMES", "contrast_matrix", "parse_contrast"]

_CONTRAST_TOKEN = re.compile(
    r"""\s*(?:
        (?P<bq>`[^`]+`)
      | (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
      | (?P<name>[A-Za-z.][A-Za-z0-9._:]*)
      | (?P<op>[-+*/()])
    )""",
    re.VERBOSE,
)


class _Linear:
    """A linear form: coefficients over design columns plus a constant."""

    __slots__ = ("const", "vec")

    def __init__(self, vec: np.ndarray, const: float = 0.0):
        self.vec = vec
        self.const = const

    @property
    def is_const(self) -> bool:
        return not np.any(self.vec)


class _ContrastParser:
    def __init__(self, text: str, columns: list[str]):
        self.text = text
        self.columns = columns
        self.tokens = self._tokenize(text)
        self.i = 0

    def _err(self, what: str) -> ValueError:
        return ValueError(f"contrast {self.text!r}: {what}")

    def _tokenize(self, text: str):
        tokens, pos = [], 0
        stripped = text.rstrip()
        while pos < len(stripped):
            m = _CONTRAST_TOKEN.match(stripped, pos)
            if not m or m.end() == pos:
                bad = stripped[pos:].lstrip()[:20]
                msg = (
                    f"contrast {text!r}: unexpected text {bad!r}; a contrast combines design "
                    "column names with numbers and + - * / ( ) (use `backticks` around names "
                    "with other characters)"
                )
                raise ValueError(msg)
            kind = m.lastgroup
            tokens.append((kind, m.group(kind)))
            pos = m.end()
        return tokens

    def peek(self):
        return self.tokens[self.i] if self.i < len(self.tokens) else (None, None)

    def take(self):
        tok = self.peek()
        self.i += 1
        return tok

    def parse(self) -> np.ndarray:
        if not self.tokens:
            raise self._err("empty contrast")
        form = self.expr()
        if self.i != len(self.tokens):
            raise self._err(f"unexpected {self.peek()[1]!r}")
        if form.const != 0:
            raise self._err("a contrast cannot contain a constant term")
        if form.is_const:
            raise self._err("the contrast is zero for every coefficient")
        return form.vec

    def expr(self) -> _Linear:
        left = self.term()
        while self.peek()[1] in ("+", "-"):
            op = self.take()[1]
            right = self.term()
            sign = 1.0 if op == "+" else -1.0
            left = _Linear(left.vec + sign * right.vec, left.const + sign * right.const)
        return left

    def term(self) -> _Linear:
        left = self.unary()
        while self.peek()[1] in ("*", "/"):
            op = self.take()[1]
            right = self.unary()
            if op == "*":
                if left.is_const:
                    left = _Linear(right.vec * left.const, right.const * left.const)
                elif right.is_const:
                    left = _Linear(left.vec * right.const, left.const * right.const)
                else:
                    raise self._err("a product of two coefficients is not a linear contrast")
            else:
                if not right.is_const:
                    raise self._err("division by a coefficient is not a linear contrast")
                if right.const == 0:
                    raise self._err("division by zero")
                left = _Linear(left.vec / right.const, left.const / right.const)
        return left

    def unary(self) -> _Linear:
        _, value = self.peek()
        if value in ("+", "-"):
            self.take()
            inner = self.unary()
            sign = 1.0 if value == "+" else -1.0
            return _Linear(inner.vec * sign, inner.const * sign)
        return self.atom()

    def atom(self) -> _Linear:
        kind, value = self.take()
        p = len(self.columns)
        if kind == "num":
            return _Linear(np.zeros(p), float(value))
        if kind in ("name", "bq"):
            name = value[1:-1] if kind == "bq" else value
            if name not in self.columns:
                close = difflib.get_close_matches(name, self.columns, n=3)
                hint = f" (did you mean {close}?)" if close else ""
                raise self._err(
                    f"{name!r} is not a design column{hint}; valid names are {self.columns}"
                )
            vec = np.zeros(p)
            vec[self.columns.index(name)] = 1.0
            return _Linear(vec)
        if value == "(":
            inner = self.expr()
            if self.take()[1] != ")":
                raise self._err("missing ')'")
            return inner
        if value is None:
            raise self._err("unexpected end of the contrast")
        raise self._err(f"unexpected {value!r}")


def parse_contrast(contrast: str, columns: Sequence[str]) -> np.ndarray:
    """Parse a contrast expression into a numeric vector over ``columns``.

    ``"treated - control"``, ``"(A + B)/2 - C"``, ``"2*B - A - C"``, or a single column name
    (that coefficient). Names with characters other than letters, digits, ``.``, ``_`` and
    ``:`` go in backticks: ```T-cell` - `B-cell```. The expression must be linear, with no
    constant. Nothing is evaluated: the string is tokenised and parsed here.
    """
    if not isinstance(contrast, str):
        msg = f"a contrast must be a string, not {type(contrast).__name__}"
        raise TypeError(msg)
    columns = [str(c) for c in columns]
    if contrast in columns:  # a coefficient name, even one with odd characters
        vec = np.zeros(len(columns))
        vec[columns.index(contrast)] = 1.0
        return vec
    return _ContrastParser(contrast, columns).parse()


def contrast_matrix(
    contrast: str | Sequence[str] | Mapping[str, str] | np.ndarray | None,
    columns: Sequence[str],
) -> tuple[np.ndarray, list[str], list[int | None]]:
    """Contrasts as a ``n_coefficients × n_contrasts`` matrix, with names.

    Returns ``(matrix, names, coef_index)`` where ``coef_index[k]`` is the design column when
    contrast ``k`` is a single coefficient (limma then tests that coefficient directly).
    A mapping gives ``{name: expression}``; a numeric vector is used as is.
    """
    columns = [str(c) for c in columns]
    if contrast is None:
        msg = (
            "say what to test: contrast='treated - control' (design columns: "
            f"{columns}) or a coefficient name"
        )
        raise ValueError(msg)
    if isinstance(contrast, np.ndarray) and contrast.dtype.kind in "fiu":
        vec = contrast.astype(float)
        if vec.ndim == 1:
            vec = vec[:, None]
        if vec.shape[0] != len(columns):
            msg = f"a numeric contrast needs {len(columns)} entries (one per design column), not {vec.shape[0]}"
            raise ValueError(msg)
        names = [_vector_name(vec[:, k], columns) for k in range(vec.shape[1])]
        return vec, names, [None] * vec.shape[1]
    if isinstance(contrast, str):
        items = [(contrast, contrast)]
    elif isinstance(contrast, Mapping):
        items = [(str(k), v) for k, v in contrast.items()]
    else:
        items = [(c, c) for c in contrast]
    if not items:
        msg = "contrast is an empty list"
        raise ValueError(msg)
    vecs, names, coefs = [], [], []
    for name, expr in items:
        vec = parse_contrast(expr, columns)
        vecs.append(vec)
        names.append(" ".join(name.split()) if isinstance(name, str) else str(name))
        nz = np.flatnonzero(vec)
        coefs.append(int(nz[0]) if len(nz) == 1 and vec[nz[0]] == 1.0 else None)
    if len(set(names)) != len(names):
        msg = f"contrast names must be unique: {names}"
        raise ValueError(msg)
    for name in names:
        check_label(name, "contrast name")
    if len(names) > 1:
        clash = [n for n in names if n in RESERVED_CONTRAST_NAMES]
        if clash:
            msg = (
                f"contrast name {clash[0]!r} clashes with a column or table of the F-test over "
                f"several contrasts ({sorted(RESERVED_CONTRAST_NAMES)}); name it with a dict, "
                f"e.g. contrast={{'{clash[0]}_vs': ...}}"
            )
            raise ValueError(msg)
    return np.column_stack(vecs), names, coefs


#: Names a contrast cannot take when there are several: the F-test table has one logFC
#: column per contrast beside these columns, and the results hold the F-test as ``"F"``.
RESERVED_CONTRAST_NAMES = frozenset(
    {"logFC", "AveExpr", "t", "P.Value", "adj.P.Val", "B", "F", "CI.L", "CI.R", "df.total"}
)


def _vector_name(vec: np.ndarray, columns: list[str]) -> str:
    terms = []
    for c, name in zip(vec, columns):
        if c == 0:
            continue
        sign = "-" if c < 0 else "+"
        mag = abs(c)
        coef = "" if mag == 1 else f"{mag:g}*"
        terms.append(f"{sign} {coef}{name}")
    text = " ".join(terms)
    return text[2:] if text.startswith("+ ") else text
