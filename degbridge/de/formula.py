"""Formula designs: ``"~ celltype + dex"`` over a sample table, checked before any library sees it.

formulaic evaluates Python inside formulas, and R's ``model.matrix`` evaluates R. Formulas are
therefore tokenised here first (:func:`validate_formula`): only column names of the sample
table, the operators ``~ + - : * ( )``, the numbers ``0`` and ``1``, the transform
``factor(column)`` and the bases ``ns(column, df = k)``, ``bs(column, df = k)``, ``poly(column,
k)`` (``k`` a positive integer) are accepted; the formula given to formulaic is rebuilt from
those tokens with placeholder variable names, so no user text reaches it, and only the
column's numbers and ``k`` reach R (``r_scripts/R/splines.R`` computes the bases). Columns are
named as R's ``model.matrix`` names them (:func:`design_from_formula`).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .design import Basis, Design

__all__ = ["ALLOWED_TRANSFORMS", "BASES", "design_from_formula", "validate_formula"]

ALLOWED_TRANSFORMS = ("factor", "ns", "bs", "poly")
#: Spline and polynomial bases in formulas: function → the name of its integer argument
#: (``df`` of ``splines::ns``/``splines::bs``, ``degree`` of ``stats::poly``), which may also
#: be given by position (``ns(time, 3)``, ``poly(time, 2)``).
BASES = {"ns": "df", "bs": "df", "poly": "degree"}
_R_RESERVED = frozenset(
    [
        "if",
        "else",
        "repeat",
        "while",
        "function",
        "for",
        "next",
        "break",
        "TRUE",
        "FALSE",
        "NULL",
        "Inf",
        "NaN",
        "NA",
        "NA_integer_",
        "NA_real_",
        "NA_character_",
        "NA_complex_",
        "in",
    ]
)


_FORMULA_TOKEN = re.compile(
    r"""\s*(?:
        (?P<bq>`[^`]+`)                       # backticked column name
      | (?P<name>[A-Za-z.][A-Za-z0-9._]*)     # column name or transform
      | (?P<num>\d+(?:\.\d*)?)                # a number (only 0 and 1 are valid)
      | (?P<op>[~+\-:*(),=])                  # operators (, and = inside ns/bs/poly)
    )""",
    re.VERBOSE,
)


def _tokenize_formula(formula: str) -> list[tuple[str, str, int]]:
    tokens = []
    pos = 0
    text = formula.rstrip()
    while pos < len(text):
        m = _FORMULA_TOKEN.match(text, pos)
        if not m or m.end() == pos:
            bad = text[pos:].lstrip()[:20]
            msg = (
                f"formula {formula!r}: unexpected text {bad!r} at position {pos}; a formula may "
                "contain sample-table column names, the operators ~ + - : * ( ), 0, 1, "
                "factor(column) and ns(column, df = k), bs(column, df = k), poly(column, k)"
            )
            raise ValueError(msg)
        kind = m.lastgroup
        tokens.append((kind, m.group(kind), m.start(kind)))
        pos = m.end()
    return tokens


def validate_formula(formula: str, columns: Sequence[str]) -> list[tuple[str, Any]]:
    """Check a formula against the sample table's column names; return its tokens.

    Each token is ``(kind, value)`` with kind ``"var"`` (a column name), ``"factor"`` (a
    column wrapped in ``factor()``), ``"basis"`` (a :class:`Basis`: ``ns(column, df = k)``,
    ``bs(column, df = k)``, ``poly(column, k)``), ``"num"`` (``0``/``1``) or ``"op"``.

    Raises
    ------
    TypeError
        If ``formula`` is not a string.
    ValueError
        On any character, function or name that is not allowed, naming it.
    """
    if not isinstance(formula, str):
        msg = f"formula must be a string such as '~ celltype + dex', not {type(formula).__name__}"
        raise TypeError(msg)
    columns = [str(c) for c in columns]
    raw = _tokenize_formula(formula)
    if not raw or raw[0][1] != "~":
        msg = f"formula {formula!r} must start with '~' (e.g. '~ celltype + dex')"
        raise ValueError(msg)
    out: list[tuple[str, Any]] = []
    i = 1
    depth = 0
    while i < len(raw):
        kind, value, pos = raw[i]
        nxt = raw[i + 1][1] if i + 1 < len(raw) else None
        if kind == "name" and nxt == "(":
            if value not in ALLOWED_TRANSFORMS:
                msg = (
                    f"formula {formula!r}: function {value!r} is not allowed; the functions "
                    "accepted are factor(column), ns(column, df = k), bs(column, df = k) and "
                    "poly(column, k)"
                )
                raise ValueError(msg)
            if value in BASES:
                basis, i = _basis_call(raw, i, columns, formula)
                out.append(("basis", basis))
                continue
            inner = raw[i + 2] if i + 2 < len(raw) else None
            close = raw[i + 3] if i + 3 < len(raw) else None
            if inner is None or inner[0] not in ("name", "bq") or close is None or close[1] != ")":
                msg = f"formula {formula!r}: factor() takes exactly one column name"
                raise ValueError(msg)
            col = _column_name(inner, columns, formula)
            out.append(("factor", col))
            i += 4
            continue
        if kind in ("name", "bq"):
            out.append(("var", _column_name((kind, value, pos), columns, formula)))
        elif kind == "num":
            if value not in ("0", "1"):
                msg = f"formula {formula!r}: number {value!r} is not allowed (only 0 and 1)"
                raise ValueError(msg)
            out.append(("num", value))
        else:
            if value == "~":
                msg = f"formula {formula!r}: only one '~' is allowed, at the start"
                raise ValueError(msg)
            if value in (",", "="):
                msg = (
                    f"formula {formula!r}: {value!r} at position {pos} is only allowed inside "
                    "ns(column, df = k), bs(column, df = k) or poly(column, k)"
                )
                raise ValueError(msg)
            depth += value == "("
            depth -= value == ")"
            if depth < 0:
                msg = f"formula {formula!r}: unbalanced ')'"
                raise ValueError(msg)
            out.append(("op", value))
        i += 1
    if depth:
        msg = f"formula {formula!r}: unbalanced '('"
        raise ValueError(msg)
    if not out:
        msg = f"formula {formula!r} has no terms"
        raise ValueError(msg)
    return out


def _basis_call(raw, i: int, columns: list[str], formula: str) -> tuple[Basis, int]:
    """Parse ``fn ( column , [arg =] k )`` starting at ``raw[i]``; return it and the next index.

    Only these token shapes are accepted: a column name (bare or backticked), then the integer
    ``k`` by position or as ``df =`` (``ns``, ``bs``) / ``degree =`` (``poly``).
    """
    fn = raw[i][1]
    arg = BASES[fn]
    usage = f"{fn}(column, {arg} = k) or {fn}(column, k), with k a positive integer"
    values = [t[1] for t in raw[i + 1 : i + 9]]
    kinds = [t[0] for t in raw[i + 1 : i + 9]]

    def bad(what: str) -> ValueError:
        return ValueError(f"formula {formula!r}: {what}; write {usage}")

    if len(kinds) < 5 or kinds[1] not in ("name", "bq") or values[2] != ",":
        raise bad(f"{fn}() takes a sample-table column and {arg}")
    column = _column_name(raw[i + 2], columns, formula)
    keyword = None
    if kinds[3] == "name" and len(values) > 4 and values[4] == "=":
        keyword = values[3]
        if keyword != arg:
            raise bad(f"{fn}() argument {keyword!r} is not supported (only {arg})")
        number = raw[i + 6] if len(values) > 5 else None
        end = i + 7
    else:
        number = raw[i + 4]
        end = i + 5
    if number is None or number[0] != "num":
        shown = "nothing" if number is None else repr(number[1])
        raise bad(f"{fn}() {arg} must be a positive integer, not {shown}")
    k = float(number[1])
    if not k.is_integer() or k < 1:
        raise bad(f"{fn}() {arg} must be a positive integer, not {number[1]!r}")
    if end >= len(raw) or raw[end][1] != ")":
        after = "the end of the formula" if end >= len(raw) else repr(raw[end][1])
        raise bad(f"{fn}() must close after {arg}, found {after}")
    k_int = int(k)
    shown_k = f"{arg} = {k_int}" if keyword else str(k_int)
    label = f"{fn}({_r_symbol(column)}, {shown_k})"
    return Basis(fn, column, k_int, label), end + 1


def _r_symbol(name: str) -> str:
    """A column name as R deparses a symbol: bare when syntactic, else in backticks."""
    syntactic = re.fullmatch(r"(?:[A-Za-z]|\.(?![0-9]))[A-Za-z0-9._]*", name)
    if syntactic and name not in _R_RESERVED:
        return name
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def _column_name(token, columns: list[str], formula: str) -> str:
    kind, value, _ = token
    name = value[1:-1] if kind == "bq" else value
    if name not in columns:
        close = difflib.get_close_matches(name, columns, n=3)
        hint = f" (did you mean {close}?)" if close else ""
        msg = (
            f"formula {formula!r}: {name!r} is not a column of the sample table{hint}; "
            f"columns are {columns}"
        )
        raise ValueError(msg)
    return name


def design_from_formula(formula: str, samples: pd.DataFrame) -> Design:
    """Build a design matrix from a formula over a sample table (rows = samples, in order).

    String, categorical and boolean columns are factors (levels sorted, or in category order;
    the first level is the reference); numeric columns are covariates unless wrapped in
    ``factor()``. Column names follow R's ``model.matrix``. Designs whose interactions lack
    their main effects are encoded with formulaic's full-rank rules, which can differ from R's.

    ``ns(time, df = k)``, ``bs(time, df = k)`` and ``poly(time, k)`` on a numeric column are
    computed by R (``splines::ns``, ``splines::bs``, ``stats::poly``: the numbers
    ``model.matrix`` would compute), so such formulas need R; ``k`` must be below the number
    of distinct values of the column (``bs`` also needs ``k ≥ 3``, its cubic degree).
    """
    import formulaic

    tokens = validate_formula(formula, samples.columns)
    data: dict[str, Any] = {}
    context: dict[str, Any] = {}
    display: dict[str, str] = {}
    placeholders: dict[tuple[str, Any], str] = {}
    factors: dict[str, list[str]] = {}
    parts: list[str] = []
    for kind, value in tokens:
        if kind == "basis":
            key = (kind, value)
            if key not in placeholders:
                ph = f"_v{len(placeholders)}"
                placeholders[key] = ph
                context[ph] = _basis_values(value, samples[value.column], formula)
                display[ph] = value.label
            parts.append(placeholders[key])
        elif kind in ("var", "factor"):
            key = (kind, value)
            if key not in placeholders:
                ph = f"_v{len(placeholders)}"
                placeholders[key] = ph
                series = samples[value]
                if series.isna().any():
                    bad = [str(s) for s in series.index[series.isna()][:5]]
                    msg = f"sample-table column {value!r} has missing values (samples {bad})"
                    raise ValueError(msg)
                col, levels = _encode_column(series, as_factor=kind == "factor")
                data[ph] = col
                display[ph] = f"factor({value})" if kind == "factor" else value
                if levels is not None:
                    factors[display[ph]] = levels
            parts.append(placeholders[key])
        else:
            parts.append(value)
    rebuilt = "~ " + " ".join(parts)
    frame = pd.DataFrame(data, index=samples.index)
    if not data:
        frame = pd.DataFrame(index=samples.index)
    try:
        mm = formulaic.model_matrix(
            rebuilt, frame, context=context, na_action="raise", ensure_full_rank=True
        )
    except Exception as err:  # formulaic's parse errors for e.g. '~ a + + b'
        msg = f"formula {formula!r} could not be encoded: {err}"
        raise ValueError(msg) from None
    bases = {ph for (kind, _), ph in placeholders.items() if kind == "basis"}
    names, groups = _r_names(mm, display, bases)
    _refuse_duplicate_columns(names, list(mm.columns), display, formula)
    matrix = np.asarray(mm, dtype=float)
    if matrix.ndim == 1:
        matrix = matrix[:, None]
    return Design(matrix, names, [str(s) for s in samples.index], formula, factors, groups)


def _basis_values(basis: Basis, series: pd.Series, formula: str):
    """The basis columns of ``fn(column, k)``, computed by R, as a formulaic factor."""
    from formulaic.materializers.types import FactorValues

    from .. import r

    dtype = series.dtype
    if (
        isinstance(dtype, pd.CategoricalDtype)
        or pd.api.types.is_bool_dtype(dtype)
        or not pd.api.types.is_numeric_dtype(dtype)
    ):
        msg = (
            f"formula {formula!r}: {basis.label} needs a numeric column, but sample-table "
            f"column {basis.column!r} has dtype {dtype} (e.g. {series.iloc[0]!r}); convert it "
            f"to numbers (hours, days...) first"
        )
        raise ValueError(msg)
    values = series.to_numpy(dtype=float)
    if not np.isfinite(values).all():
        bad = [str(s) for s in series.index[~np.isfinite(values)][:5]]
        msg = (
            f"sample-table column {basis.column!r} has missing or infinite values (samples "
            f"{bad}): {basis.label} needs a number for every sample"
        )
        raise ValueError(msg)
    distinct = np.unique(values)
    arg = BASES[basis.fn]
    if basis.df > len(distinct) - 1:
        shown = ", ".join(_num_label(v) for v in distinct[:10])
        more = ", ..." if len(distinct) > 10 else ""
        msg = (
            f"formula {formula!r}: {basis.label} asks for {arg} = {basis.df}, but column "
            f"{basis.column!r} has {len(distinct)} distinct values ({shown}{more}): {arg} must "
            f"be at most {len(distinct) - 1} (the number of distinct values minus 1)"
        )
        if basis.fn == "poly":
            msg += "; R's poly() would fail with \"'degree' must be less than number of unique points\""
        raise ValueError(msg)
    if basis.fn == "bs" and basis.df < 3:
        msg = (
            f"formula {formula!r}: {basis.label} asks for df = {basis.df}, but a cubic B-spline "
            f"basis has at least 3 columns (R's bs() would silently use df = 3); use df >= 3, or "
            f"ns() or poly() for fewer columns"
        )
        raise ValueError(msg)
    with r.R_LOCK:
        out = r.to_dict(
            r.call(
                "degbridge_basis", r.float_vector(values), r.scalar(basis.fn), r.scalar(basis.df)
            )
        )
        k = int(r.to_numpy(out["ncol"])[0])
        flat = r.to_numpy(out["basis"])
        del out
    columns = flat.reshape((len(values), k), order="F")
    return FactorValues(
        {str(j + 1): columns[:, j] for j in range(k)},
        kind="numerical",
        spans_intercept=False,
        format="{name}[{field}]",
    )


def _refuse_duplicate_columns(
    names: list[str], raw: list[str], display: dict[str, str], formula: str
) -> None:
    """Two design columns with one R name (factor ``g`` level ``b`` and a column ``gb``).

    R's ``model.matrix`` would give both the same name too, and a coefficient named ``gb``
    would then test whichever comes first: refuse, naming both sources.
    """
    seen: dict[str, str] = {}
    for name, col in zip(names, raw):
        source = col
        for ph, shown in display.items():
            source = re.sub(rf"\b{re.escape(ph)}\b", shown, source)
        if name in seen:
            msg = (
                f"formula {formula!r} gives two design columns named {name!r}: one from "
                f"{seen[name]!r} and one from {source!r}; rename a sample-table column (or a "
                "factor level) so the names differ"
            )
            raise ValueError(msg)
        seen[name] = source


def _encode_column(series: pd.Series, *, as_factor: bool) -> tuple[Any, list[str] | None]:
    """Data for formulaic and the factor levels (None for a numeric covariate)."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        cats = [str(c) for c in series.cat.categories if (series == c).any()]
        return pd.Categorical(series.astype(str), categories=cats), cats
    if pd.api.types.is_bool_dtype(series):
        vals = series.map({True: "TRUE", False: "FALSE"})
        cats = [c for c in ("FALSE", "TRUE") if (vals == c).any()]
        return pd.Categorical(vals, categories=cats), cats
    if pd.api.types.is_numeric_dtype(series):
        if not as_factor:
            return series.to_numpy(dtype=float), None
        uniq = sorted(pd.unique(series))  # numeric order, as R's factor() of numbers
        cats = [_num_label(u) for u in uniq]
        mapping = dict(zip(uniq, cats))
        return pd.Categorical([mapping[v] for v in series], categories=cats), cats
    vals = series.astype(str)
    cats = sorted(vals.unique())
    return pd.Categorical(vals, categories=cats), cats


def _num_label(v) -> str:
    f = float(v)
    return str(int(f)) if f.is_integer() else repr(f)


def _r_names(
    mm, display: dict[str, str], bases: set[str] = frozenset()
) -> tuple[list[str], dict[str, list[str]]]:
    """Translate formulaic column names into R model.matrix names.

    Returns the names and, for columns made from a spline/polynomial basis (placeholders in
    ``bases``), their groups: the name without the basis column number → the names.
    """
    names = []
    groups: dict[str, list[str]] = {}
    for struct in mm.model_spec.structure:
        factors = [str(f.expr) for f in struct.term.factors]
        if factors == ["1"] or str(struct.term) == "1":
            names.extend("(Intercept)" for _ in struct.columns)
            continue
        pattern = re.compile(
            "^" + ":".join(re.escape(f) + r"(?:\[(?:T\.)?(.*?)\])?" for f in factors) + "$"
        )
        for col in struct.columns:
            m = pattern.match(col)
            if not m:
                names.append(col)
                continue
            pieces = []
            common = []
            for f, level in zip(factors, m.groups()):
                pieces.append(display.get(f, f) + (level or ""))
                common.append(display.get(f, f) + ("" if f in bases else (level or "")))
            names.append(":".join(pieces))
            if any(f in bases for f in factors):
                groups.setdefault(":".join(common), []).append(names[-1])
    return names, groups
