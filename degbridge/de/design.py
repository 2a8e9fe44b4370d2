"""Design matrices, built in Python so that R only ever receives numbers.

* :class:`Design` — a numeric design matrix with R-style column names, its factors and the
  spline/polynomial terms of its formula.
* :func:`design_from_groups` — one label per sample → ``~ 0 + group``, one column per level
  (named by the level, as in ``colnames(design) <- levels(group)`` in limma's guide).
* :func:`design_from_matrix` — a numeric matrix used as given.
* Formulas (``"~ celltype + dex"``, spline time courses) are in :mod:`degbridge.de.formula`;
  contrasts (``"treated - control"``) in :mod:`degbridge.de.contrasts`.
* :func:`align_samples` — the one rule matching a sample table to a matrix's samples.
* :func:`check_design` — full rank and at least two residual degrees of freedom.
* :func:`coef_names` — ``coef=`` values (names, 0-based positions, or the label of a whole
  spline/polynomial term such as ``"ns(time, df = 3)"``) → design column names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._checks import check_label

__all__ = [
    "Basis",
    "Design",
    "align_samples",
    "check_design",
    "coef_names",
    "design_from_groups",
    "design_from_matrix",
    "sample_order",
    "split_reference",
]


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
