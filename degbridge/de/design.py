"""Design matrices and contrasts, built in Python so that R only ever receives numbers.

* :func:`design_from_groups` — one label per sample → ``~ 0 + group``, one column per level
  (named by the level, as in ``colnames(design) <- levels(group)`` in limma's guide).
* :func:`design_from_formula` — a formula over a sample table (``"~ celltype + dex"``),
  encoded by formulaic with treatment contrasts; columns are named as R's ``model.matrix``
  names them (``(Intercept)``, ``celltypeN61311``, ``dextreated``, ``dextreated:age``).
  Time courses: ``ns(time, df = 3)``, ``bs(time, df = 3)`` and ``poly(time, 2)`` on a numeric
  column, alone or in interactions (``~ group * ns(time, df = 3)``); the basis is computed by
  R (``splines::ns``, ``splines::bs``, ``stats::poly``, ``r_scripts/splines.R``) from the
  column's numbers and the integer df/degree, and the columns are named as ``model.matrix``
  names them (``ns(time, df = 3)1``, ``groupB:ns(time, df = 3)2``).
* :func:`coef_names` — ``coef=`` values (names, 0-based positions, or the label of a whole
  spline/polynomial term such as ``"ns(time, df = 3)"``) → design column names.
* :func:`parse_contrast` — ``"treated - control"``, ``"(A + B)/2 - C"`` or a coefficient
  name → a numeric vector over the design columns.

Security: formulaic evaluates Python inside formulas, and R's ``model.matrix`` and
``makeContrasts`` evaluate R. Formulas are therefore tokenised here first: only column names of
the sample table, the operators ``~ + - : * ( )``, the numbers ``0`` and ``1``, the
transform ``factor(column)`` and the bases ``ns(column, df = k)``, ``bs(column, df = k)``,
``poly(column, k)`` (``k`` a positive integer) are accepted; the formula given to formulaic is
rebuilt from those tokens with placeholder variable names, so no user text reaches it, and
only the column's numbers and ``k`` reach R. Contrasts are parsed here
into numbers; only names of design columns are accepted.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._checks import check_label

__all__ = [
    "Design",
    "coef_names",
    "contrast_matrix",
    "design_from_formula",
    "design_from_groups",
    "design_from_matrix",
    "parse_contrast",
    "validate_formula",
]

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


@dataclass(frozen=True)
class Basis:
    """A spline/polynomial term of a formula: ``fn(column, df)`` as R deparses it.

    Attributes
    ----------
    fn
        ``"ns"``, ``"bs"`` or ``"poly"``.
    column
        The sample-table column.
    df
        ``df`` of ``ns``/``bs``, ``degree`` of ``poly``.
    label
        The term as R's ``model.matrix`` writes it (``"ns(time, df = 3)"``, ``"poly(time, 2)"``):
        the design columns are this label followed by ``1``, ``2``, ...
    """

    fn: str
    column: str
    df: int
    label: str


@dataclass
class Design:
    """A numeric design matrix with R-style column names.

    Attributes
    ----------
    matrix
        ``n_samples × n_coefficients`` float array.
    columns
        Coefficient names (``model.matrix`` style).
    samples
        Sample IDs, in the row order of ``matrix``.
    formula
        The formula, when the design came from one (``"~0 + group"`` for groups).
    factors
        For each factor in the design, its levels in order (the first is the reference).
    bases
        For each spline/polynomial term of a formula, its design columns, by the columns'
        common name (``"ns(time, df = 3)"`` → its three columns; ``"groupB:ns(time, df = 3)"``
        → the three interaction columns of level ``B``): what ``coef=`` accepts to name them
        all (the moderated F-test of the time effect).
    """

    matrix: np.ndarray
    columns: list[str]
    samples: list[str]
    formula: str | None = None
    factors: dict[str, list[str]] = field(default_factory=dict)
    bases: dict[str, list[str]] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """The design as a samples × coefficients DataFrame."""
        return pd.DataFrame(self.matrix, index=pd.Index(self.samples), columns=self.columns)


# ---------------------------------------------------------------------------------------
# groups
# ---------------------------------------------------------------------------------------


def design_from_groups(
    groups: Sequence | pd.Series | pd.Categorical, samples: Sequence[str]
) -> Design:
    """``~ 0 + group``: one indicator column per group level, named by the level.

    ``groups`` is one label per sample (aligned by name when it is a Series indexed by sample
    IDs). Levels are in sorted order, or in category order for a categorical.
    """
    samples = [str(s) for s in samples]
    labels = _align_vector(groups, samples, "groups")
    if labels.isna().any():
        bad = [samples[i] for i in np.flatnonzero(labels.isna().to_numpy())[:5]]
        msg = f"groups has missing labels for samples {bad}"
        raise ValueError(msg)
    if isinstance(labels.dtype, pd.CategoricalDtype):
        levels = [str(c) for c in labels.cat.categories if (labels == c).any()]
        labels = labels.astype(str)
    else:
        labels = labels.astype(str)
        levels = sorted(labels.unique())
    if len(levels) < 2:
        msg = f"groups has a single level {levels}: a comparison needs at least two groups"
        raise ValueError(msg)
    sizes = labels.value_counts()
    if (sizes == 1).all():
        msg = (
            f"groups has no replication: every group ({', '.join(levels)}) has a single sample, "
            "so limma cannot estimate the variance"
        )
        raise ValueError(msg)
    matrix = np.column_stack([(labels == lev).to_numpy(dtype=float) for lev in levels])
    return Design(matrix, list(levels), samples, "~0 + group", {"group": list(levels)})


def _align_vector(values, samples: list[str], what: str) -> pd.Series:
    if isinstance(values, pd.Series) and not isinstance(values.index, pd.RangeIndex):
        index = values.index.astype(str)
        if set(index) == set(samples) and len(index) == len(samples):
            aligned = pd.Series(values.array, index=index).loc[samples]
            return aligned.reset_index(drop=True)
        missing = sorted(set(samples) - set(index))[:5]
        extra = sorted(set(index) - set(samples))[:5]
        msg = (
            f"{what} is indexed by names that do not match the samples: "
            f"missing {missing}, unknown {extra}"
        )
        raise ValueError(msg)
    values = pd.Series(
        pd.Categorical(values) if isinstance(values, pd.Categorical) else list(values)
    )
    if len(values) != len(samples):
        msg = f"{what} has {len(values)} labels but there are {len(samples)} samples"
        raise ValueError(msg)
    return values


# ---------------------------------------------------------------------------------------
# sample tables
# ---------------------------------------------------------------------------------------


def _id_candidates(samples: pd.DataFrame) -> list[tuple[str, list[str]]]:
    """Where a sample table may hold sample IDs: its index (unless automatic), then columns.

    ID columns are text, categorical (R factors) or integer; a default ``RangeIndex`` (R's
    automatic row names ``1..n``) is no ID.
    """
    found = []
    if not isinstance(samples.index, pd.RangeIndex):
        found.append(("row names", [str(i) for i in samples.index]))
    for col in samples.columns:
        vals = samples[col]
        dtype = vals.dtype
        if (
            pd.api.types.is_object_dtype(dtype)
            or pd.api.types.is_string_dtype(dtype)
            or isinstance(dtype, pd.CategoricalDtype)
            or (pd.api.types.is_integer_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype))
        ):
            found.append((f"column {str(col)!r}", [str(v) for v in vals]))
    return found


def sample_order(
    samples: pd.DataFrame,
    sample_ids: Sequence[str],
    *,
    positional_ok: bool,
    position_hint: str = "",
) -> list[int]:
    """Row positions of a sample table in the order of ``sample_ids`` (see :func:`align_samples`)."""
    if not isinstance(samples, pd.DataFrame):
        msg = (
            f"samples must be a pandas DataFrame (one row per sample), not {type(samples).__name__}"
        )
        raise TypeError(msg)
    ids = [str(s) for s in sample_ids]
    target = set(ids)
    candidates = _id_candidates(samples)
    matches = []
    for source, values in candidates:
        if len(values) == len(ids) and set(values) == target:
            where = {v: i for i, v in enumerate(values)}
            matches.append((source, [where[s] for s in ids]))
    if matches:
        source, order = matches[0]
        for other, other_order in matches[1:]:
            if other_order != order:
                msg = (
                    f"the sample table's {source} and its {other} both hold the matrix's "
                    "sample names, but in different row orders: they disagree on which row is "
                    "which sample; fix the sheet or drop one of them"
                )
                raise ValueError(msg)
        return order
    overlap = [len(target.intersection(values)) for _, values in candidates]
    if positional_ok and not any(overlap):
        if len(samples) != len(ids):
            msg = (
                f"the sample table has {len(samples)} rows but the matrix has {len(ids)} "
                "samples (the table has no sample IDs, so its rows can only be taken in order)"
            )
            raise ValueError(msg)
        return list(range(len(ids)))
    if not any(overlap) and isinstance(samples.index, pd.RangeIndex):
        msg = (
            "the sample table has no sample IDs: its row names are automatic (1..n) and none "
            f"of its columns {[str(c) for c in samples.columns][:10]} holds any of the "
            f"matrix's sample names {ids[:5]}{'...' if len(ids) > 5 else ''}, so its rows "
            "cannot be matched to the samples; put the sample IDs in the row names or in a "
            f"column{position_hint}"
        )
        raise ValueError(msg)
    best = max(range(len(candidates)), key=lambda i: overlap[i])  # first of the best
    source, values = candidates[best]
    missing = [s for s in ids if s not in set(values)][:5]
    extra = sorted(set(values) - target)[:5]
    counts: dict[str, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    dups = [v for v, k in counts.items() if k > 1 and v in target][:5]
    tried = ", ".join(s for s, _ in candidates)
    detail = f"matrix samples not in the table {missing}, table rows not in the matrix {extra}"
    if dups:
        detail += f", sample IDs on more than one row {dups}"
    if len(values) != len(ids):
        detail += f" ({len(values)} rows for {len(ids)} samples)"
    msg = (
        "the sample table's IDs do not match the matrix's sample names: neither its row names "
        f"nor any column holds exactly them (tried {tried}); closest is its {source}: {detail}"
    )
    raise ValueError(msg)


def align_samples(
    samples: pd.DataFrame,
    sample_ids: Sequence[str],
    *,
    positional_ok: bool,
    position_hint: str = "",
) -> pd.DataFrame:
    """Reorder a sample table to ``sample_ids``, matching rows by sample ID.

    The one sample-matching rule of degbridge (Python API, command line, R helper): a table
    row belongs to a sample when the table's index, or one of its text, factor (categorical)
    or integer columns, holds exactly the matrix's sample names (each once, in any order). If
    the index and a column both do, they must agree. Rows are taken by position only when
    ``positional_ok`` and nothing in the table holds any of the sample names.

    Parameters
    ----------
    samples
        One row per sample; a default ``RangeIndex`` counts as no IDs.
    sample_ids
        The matrix's sample names, in matrix order.
    positional_ok
        Allow rows in order when the table has no IDs: the matrix has no sample names, or the
        user asked for it (``match = "position"`` in the R helper).
    position_hint
        Appended to the "no sample IDs" error (how the caller can ask for position).

    Returns
    -------
    The table's rows in ``sample_ids`` order, indexed by ``sample_ids``.

    Raises
    ------
    ValueError
        When no ID source matches: the message names the samples missing on each side (first
        few) and the sources tried.
    """
    order = sample_order(
        samples, sample_ids, positional_ok=positional_ok, position_hint=position_hint
    )
    out = samples.iloc[order].copy()
    out.index = [str(s) for s in sample_ids]
    return out


# ---------------------------------------------------------------------------------------
# formulas
# ---------------------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------------------
# numeric designs
# ---------------------------------------------------------------------------------------


def design_from_matrix(
    design, samples: Sequence[str], columns: Sequence[str] | None = None
) -> Design:
    """Use a numeric design matrix as given (a DataFrame or a 2-D array)."""
    samples = [str(s) for s in samples]
    if isinstance(design, pd.DataFrame):
        index = [str(i) for i in design.index]
        if set(index) == set(samples) and len(index) == len(samples):
            design = design.set_axis(index, axis=0).loc[samples]
        elif not isinstance(design.index, pd.RangeIndex):
            msg = "the design matrix's row names do not match the matrix's sample names"
            raise ValueError(msg)
        names = [str(c) for c in design.columns]
        non_num = [c for c in design.columns if not pd.api.types.is_numeric_dtype(design[c])]
        if non_num:
            msg = f"design matrix columns must be numeric; {non_num} are not"
            raise TypeError(msg)
        matrix = design.to_numpy(dtype=float)
    else:
        matrix = np.asarray(design, dtype=float)
        if matrix.ndim != 2:
            msg = f"a design matrix must be 2-D, not {matrix.ndim}-D"
            raise ValueError(msg)
        names = (
            list(columns)
            if columns is not None
            else [f"coef{j + 1}" for j in range(matrix.shape[1])]
        )
    if matrix.shape[0] != len(samples):
        msg = f"the design matrix has {matrix.shape[0]} rows but there are {len(samples)} samples"
        raise ValueError(msg)
    if len(set(names)) != len(names):
        msg = f"design column names must be unique: {names}"
        raise ValueError(msg)
    if not np.isfinite(matrix).all():
        msg = "the design matrix has missing or infinite values"
        raise ValueError(msg)
    return Design(matrix, names, samples, None, {})


def check_design(design: Design) -> None:
    """Raise ValueError for a design that is not of full rank or leaves < 2 residual df."""
    for name in design.columns:
        check_label(name, "design column")
    X = design.matrix
    n, p = X.shape
    rank = np.linalg.matrix_rank(X)
    if rank < p:
        raise ValueError(_confounded_message(X, design.columns))
    if n - p < 2:
        if n == p:
            msg = (
                f"the design has as many coefficients ({p}: {design.columns}) as samples ({n}): "
                "no residual degrees of freedom, so no replicates to estimate the variance"
            )
        else:
            msg = (
                f"the design leaves {n - p} residual degree(s) of freedom ({n} samples, {p} "
                "coefficients); limma needs at least 2 to estimate the variance. Add replicates "
                "or drop covariates."
            )
        raise ValueError(msg)


def _confounded_message(X: np.ndarray, names: list[str]) -> str:
    kept: list[int] = []
    parts = []
    for j in range(X.shape[1]):
        if not kept:
            if np.allclose(X[:, j], 0):
                parts.append(f"{names[j]!r} is all zeros")
            else:
                kept.append(j)
            continue
        A = X[:, kept]
        coef, *_ = np.linalg.lstsq(A, X[:, j], rcond=None)
        resid = X[:, j] - A @ coef
        if np.linalg.norm(resid) <= 1e-8 * max(1.0, np.linalg.norm(X[:, j])):
            terms = [names[k] for k, c in zip(kept, coef) if abs(c) > 1e-8]
            parts.append(
                f"{names[j]!r} is a combination of {terms}"
                if terms
                else f"{names[j]!r} is all zeros"
            )
        else:
            kept.append(j)
    return (
        "the design is not of full rank (confounded columns): "
        + "; ".join(parts)
        + ". Remove one of each confounded set (e.g. a batch that coincides with a group)."
    )


# ---------------------------------------------------------------------------------------
# contrasts
# ---------------------------------------------------------------------------------------

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


def split_reference(
    groups, reference: str, *, random_state: int = 0
) -> tuple[list[str], list[str]]:
    """Split the samples of a reference group into two disjoint halves, at random.

    Two contrasts against the same reference (``h24 - h0`` and ``h72 - h0``) share the
    reference samples' noise, so their fold changes agree more than their biology does. Test
    one contrast against each half to compare them honestly.

    Parameters
    ----------
    groups
        A Series of group labels indexed by sample ID.
    reference
        The reference level.
    random_state
        Seed of the random split.

    Returns
    -------
    Two lists of sample IDs (the first half has the extra sample when the count is odd).
    """
    if not isinstance(groups, pd.Series):
        msg = f"groups must be a pandas Series of labels indexed by sample ID, not {type(groups).__name__}"
        raise TypeError(msg)
    labels = groups.astype(str)
    ids = [str(s) for s in labels.index[labels == str(reference)]]
    if len(ids) < 4:
        levels = sorted(labels.unique())
        msg = (
            f"reference {reference!r} has {len(ids)} samples; splitting it in two needs at "
            f"least 4 (levels: {levels})"
        )
        raise ValueError(msg)
    order = np.random.default_rng(random_state).permutation(len(ids))
    half = (len(ids) + 1) // 2
    first = sorted((ids[i] for i in order[:half]), key=ids.index)
    second = sorted((ids[i] for i in order[half:]), key=ids.index)
    return first, second


def coef_names(coef, design: Design) -> str | list[str]:
    """What ``coef=`` names, as design column names (one name, or a list for the F-test).

    Parameters
    ----------
    coef
        A design column name; a 0-based position in the design's columns (``coef=[1, 2, 3]``
        is R's ``coef = 2:4``); the common name of the columns of a spline/polynomial term
        (``"ns(time, df = 3)"`` → its 3 columns, ``"groupB:ns(time, df = 3)"`` → level B's
        interaction columns; see :attr:`Design.bases`); or a list of these (several
        coefficients: one table each plus the moderated F-test over all of them, as
        ``topTable(fit, coef = 2:4)``). Any other string is returned as it is (the contrast
        parser then checks it).
    design
        The fitted design.

    Returns
    -------
    One name (a single coefficient) or a list of names.

    Raises
    ------
    ValueError
        A position out of range, an empty list or a coefficient named twice (naming the
        design's columns).
    TypeError
        A value that is neither a string nor an integer.
    """
    columns = [str(c) for c in design.columns]

    def one(item) -> list[str]:
        if isinstance(item, str):
            if item in columns:
                return [item]
            if item in design.bases:
                return list(design.bases[item])
            # a term spelled as typed in the formula ("ns(time, df=3)"): R's spelling differs
            # only in spaces ("ns(time, df = 3)")
            bare = re.sub(r"\s+", "", item)
            for term, cols in design.bases.items():
                if re.sub(r"\s+", "", term) == bare:
                    return list(cols)
            if re.search(r"\b(ns|bs|poly)\s*\(", item):  # a spline term this design lacks
                msg = (
                    f"coef={item!r} is not a column or term of this design; its spline/"
                    f"polynomial terms are {list(design.bases)} and its columns {columns}"
                )
                raise ValueError(msg)
            return [item]
        if isinstance(item, int | np.integer) and not isinstance(item, bool | np.bool_):
            if not 0 <= int(item) < len(columns):
                msg = (
                    f"coef={int(item)} is out of range: the design has {len(columns)} columns "
                    f"(positions 0..{len(columns) - 1}, 0-based; negative positions are not "
                    f"taken, as R's coef = -1 would mean the opposite): {columns}"
                )
                raise ValueError(msg)
            return [columns[int(item)]]
        msg = (
            "coef must be a design column name, a 0-based column position or a list of "
            f"these, not {type(item).__name__} ({item!r})"
        )
        raise TypeError(msg)

    if isinstance(coef, str | int | np.integer):
        names = one(coef)
    else:
        if isinstance(coef, Mapping) or not isinstance(coef, Sequence | np.ndarray):
            msg = f"coef must be a name, a position or a list of these, not {type(coef).__name__}"
            raise TypeError(msg)
        names = [name for item in coef for name in one(item)]
        if not names:
            msg = f"coef is an empty list; the design's columns are {columns}"
            raise ValueError(msg)
    dups = sorted({n for n in names if names.count(n) > 1})
    if dups:
        msg = f"coef names the coefficient(s) {dups} more than once ({names})"
        raise ValueError(msg)
    return names[0] if len(names) == 1 else names
