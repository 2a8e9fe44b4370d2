"""Checks shared by every layer: what an object is, which AnnData matrix to use, raw counts.

Each question has one answer here: :func:`is_anndata`, :func:`is_r_object`, :func:`isna`,
:func:`get_matrix` (``X`` or a layer, like scanpy's ``_get_obs_rep``), and for counts
:func:`find_non_counts` (the rule: finite, non-negative, integer within 1e-8),
:func:`check_counts` (raise with the caller's wording) and :func:`looks_like_counts` (choose a
method automatically). Nothing here imports AnnData, rpy2 or scikit-learn.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "COUNT_KINDS",
    "R_INTEGER_MAX",
    "NonCounts",
    "check_anndata",
    "check_counts",
    "check_label",
    "find_non_counts",
    "get_matrix",
    "is_anndata",
    "is_r_object",
    "isna",
    "looks_like_counts",
]

#: how far from an integer a value may be and still count as one (float rounding)
COUNT_TOLERANCE = 1e-8
#: the largest R integer (32-bit): counts DESeq2 stores, nrot and seed of roast
R_INTEGER_MAX = 2**31 - 1


def is_anndata(obj: Any) -> bool:
    """Whether ``obj`` is an AnnData (checked by name: anndata need not be installed)."""
    return type(obj).__name__ == "AnnData" and hasattr(obj, "obs") and hasattr(obj, "var")


def check_anndata(obj: Any) -> None:
    """Raise TypeError unless ``obj`` is an AnnData."""
    if not is_anndata(obj):
        msg = f"expected an AnnData (samples or cells × genes), not {type(obj).__name__}"
        raise TypeError(msg)


def is_r_object(obj: Any) -> bool:
    """Whether ``obj`` is an rpy2 object (checked by module: rpy2 is not imported)."""
    return type(obj).__module__.startswith("rpy2.")


def isna(value: Any) -> bool:
    """``pandas.isna`` for one value; False for values it cannot judge (lists, arrays...)."""
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def get_matrix(adata, layer: str | None):
    """The AnnData matrix to use: ``adata.layers[layer]``, or ``adata.X`` for ``layer=None``.

    Raises
    ------
    ValueError
        ``layer`` is not a layer (the message lists the layers), or ``X`` is empty.
    """
    if layer is not None:
        if layer not in adata.layers:
            msg = f"layer {layer!r} is not in the AnnData; layers are {list(adata.layers)} (layer=None uses X)"
            raise ValueError(msg)
        return adata.layers[layer]
    if adata.X is None:
        msg = "the AnnData has no X; pass layer=..."
        raise ValueError(msg)
    return adata.X


@dataclass(frozen=True)
class NonCounts:
    """Values that are not raw counts, of the most serious kind found.

    ``kind`` is, by precedence, ``"missing"``, ``"infinite"``, ``"negative"`` or
    ``"non-integer"``; ``count`` is how many values are of that kind; ``index`` the position of
    the first one (row-major, in the array as given; for sparse input, in its stored values)
    and ``value`` that value.
    """

    kind: str
    count: int
    index: tuple[int, ...]
    value: float


COUNT_KINDS = ("missing", "infinite", "negative", "non-integer")


def _kind_masks(part: np.ndarray) -> dict[str, np.ndarray]:
    finite = np.isfinite(part)
    with np.errstate(invalid="ignore"):
        return {
            "missing": np.isnan(part),
            "infinite": np.isinf(part),
            "negative": finite & (part < 0),
            "non-integer": finite & (np.abs(part - np.round(part)) > COUNT_TOLERANCE),
        }


def find_non_counts(values, *, chunk: int = 4_000_000) -> NonCounts | None:
    """The first values that are not raw counts (see :class:`NonCounts`), or None.

    ``values`` is an array (any dimension), or a scipy sparse matrix (its stored values are
    checked: implicit zeros are counts). The check runs over blocks of about ``chunk`` values,
    so it needs a few MB whatever the size of the matrix.
    """
    import scipy.sparse as sp

    values = values.data if sp.issparse(values) else np.asarray(values)
    if values.ndim == 0:
        values = values.reshape(1)
    if values.dtype.kind in "ub":  # unsigned integers and booleans are counts
        return None
    row_size = int(np.prod(values.shape[1:], dtype=np.int64))
    step = max(1, chunk // max(row_size, 1))
    counts = dict.fromkeys(COUNT_KINDS, 0)
    first: dict[str, tuple[tuple[int, ...], float]] = {}
    for start in range(0, values.shape[0], step):
        part = np.asarray(values[start : start + step], dtype=np.float64)
        with np.errstate(invalid="ignore"):
            fine = (
                np.isfinite(part) & (part >= 0) & (np.abs(part - np.round(part)) <= COUNT_TOLERANCE)
            )
        if fine.all():  # the common case: one pass, no per-kind masks
            continue
        for kind, mask in _kind_masks(part).items():
            n = int(mask.sum())
            if n and kind not in first:
                at = tuple(int(i) for i in np.argwhere(mask)[0])
                first[kind] = ((at[0] + start, *at[1:]), float(part[at]))
            counts[kind] += n
    for kind in COUNT_KINDS:
        if counts[kind]:
            index, value = first[kind]
            return NonCounts(kind, counts[kind], index, value)
    return None


def check_counts(values, *, message: Callable[[NonCounts], str], chunk: int = 4_000_000) -> None:
    """Raise ValueError unless ``values`` are raw counts (finite non-negative integers).

    ``message`` words the error for the caller (which argument, layer or method, and what to
    do instead) from the :class:`NonCounts` found.
    """
    problem = find_non_counts(values, chunk=chunk)
    if problem is not None:
        raise ValueError(message(problem))


def looks_like_counts(values) -> bool:
    """Whether ``values`` look like raw counts, to choose a method automatically.

    True when there is at least one value and every value is a finite non-negative integer
    (the rule of :func:`check_counts`); missing values therefore mean log-expression.
    """
    import scipy.sparse as sp

    size = values.shape[0] * values.shape[1] if sp.issparse(values) else np.size(values)
    if not size:
        return False
    values = values.data if sp.issparse(values) else np.asarray(values)
    if values.dtype.kind in "ub":
        return True
    values = values.reshape(values.shape[0], -1) if values.ndim else values.reshape(1, 1)
    # stop at the first block holding a non-count (log-expression fails in its first row);
    # the blocks grow from one row, so a counts matrix is still read once
    start, step = 0, 1
    while start < values.shape[0]:
        part = np.asarray(values[start : start + step], dtype=np.float64)
        with np.errstate(invalid="ignore"):
            if not (
                np.isfinite(part) & (part >= 0) & (np.abs(part - np.round(part)) <= COUNT_TOLERANCE)
            ).all():
                return False
        start += step
        step = min(step * 4, max(1, 4_000_000 // max(values.shape[1], 1)))
    return True


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def check_label(label: str, what: str) -> str:
    """Refuse a label holding NUL or another control character (R strings stop at NUL)."""
    m = _CONTROL.search(str(label))
    if m:
        msg = (
            f"{what} {str(label)!r} contains the control character {m.group()!r} at position "
            f"{m.start()}; remove it"
        )
        raise ValueError(msg)
    return str(label)
