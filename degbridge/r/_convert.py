"""Fast, explicit conversions between numpy/pandas and R objects.

Matrices cross as one block copy into an R-allocated numeric vector (column-major) with a
``dim`` attribute: no pandas2ri, no data.frame, no per-element work. Names never ride along
with matrices; gene and sample IDs stay in Python and are re-attached by position.
Missing values: numpy NaN becomes R's ``NA_real_`` on the way in, and both R ``NA`` and
``NaN`` become NaN on the way out.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._checks import isna
from ._session import R_LOCK, call, session


def _locked(fn):
    """Run fn under the R lock: every conversion allocates or reads R objects."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with R_LOCK:
            return fn(*args, **kwargs)

    return wrapper


#: R's NA_real_: a NaN with payload 1954.
NA_REAL = np.frombuffer(
    np.array([0x7FF00000000007A2], dtype=np.uint64).tobytes(), dtype=np.float64
)[0]
NA_INTEGER = np.iinfo(np.int32).min


@_locked
def float_matrix(values: np.ndarray, *, has_nan: bool | None = None):
    """A 2-D float array as an R numeric matrix (one copy into R's memory).

    Column-major (Fortran-ordered) input, which a pandas frame of floats gives, is copied in
    one block; other layouts are transposed while copying. ``has_nan=False`` skips the scan
    for missing values (NaN becomes R's NA) when the caller already knows.
    """
    ri = session().ri
    a = np.asarray(values, dtype=np.float64)
    if a.ndim != 2:
        msg = f"expected a 2-D matrix, got {a.ndim}-D"
        raise ValueError(msg)
    # rpy2 reads only aligned buffers (an array unpickled on a dask worker may not be).
    if a.flags.f_contiguous and a.flags.aligned and a.size:
        vec = ri.FloatSexpVector.from_memoryview(memoryview(a.T.reshape(-1)))
    else:
        vec = ri.baseenv["numeric"](a.size)
        np.copyto(np.asarray(vec.memoryview()).reshape(a.shape, order="F"), a, casting="unsafe")
    if has_nan is None:
        has_nan = bool(np.isnan(a).any())
    if has_nan:
        view = np.asarray(vec.memoryview())
        view[np.isnan(view)] = NA_REAL
    vec.do_slot_assign("dim", ri.IntSexpVector(list(a.shape)))
    return vec


@_locked
def float_vector(values) -> Any:
    ri = session().ri
    a = np.asarray(values, dtype=np.float64).ravel()
    vec = ri.baseenv["numeric"](a.size)
    view = np.asarray(vec.memoryview())
    view[:] = a
    if np.isnan(view).any():
        view[np.isnan(view)] = NA_REAL
    return vec


@_locked
def str_vector(values: Sequence) -> Any:
    ri = session().ri
    return ri.StrSexpVector([ri.NA_Character if v is None else str(v) for v in values])


@_locked
def scalar(value: Any) -> Any:
    """A Python scalar as a length-one R vector (NULL for None)."""
    ri = session().ri
    if value is None:
        return ri.NULL
    if isinstance(value, bool | np.bool_):
        return ri.BoolSexpVector([bool(value)])
    if isinstance(value, int | np.integer):
        return ri.IntSexpVector([int(value)])
    if isinstance(value, float | np.floating):
        return ri.FloatSexpVector([float(value)])
    return ri.StrSexpVector([str(value)])


@_locked
def raw_vector(data: bytes) -> Any:
    """Bytes as an R raw vector (one copy)."""
    ri = session().ri
    vec = ri.baseenv["raw"](len(data))
    if data:
        np.asarray(vec)[:] = np.frombuffer(data, dtype=np.uint8)  # R's memory, in place
    return vec


@_locked
def to_bytes(vec) -> bytes:
    """An R raw vector as bytes (one copy)."""
    return np.asarray(vec).tobytes()


@_locked
def to_numpy(vec) -> np.ndarray:
    """An R numeric/integer/logical vector as a numpy array (copied; NA → NaN for numbers)."""
    ri = session().ri
    if isinstance(vec, ri.FloatSexpVector):
        out = np.array(vec.memoryview(), dtype=np.float64, copy=True)
        # R's NA_real_ is a signalling NaN (payload 1954): arithmetic on it raises numpy's
        # "invalid value" warning, so every NaN becomes numpy's quiet NaN
        nan = np.isnan(out)
        if nan.any():
            out[nan] = np.nan
        return out
    if isinstance(vec, ri.IntSexpVector):
        return _int_like(vec, np.int64)
    if isinstance(vec, ri.BoolSexpVector):
        return _int_like(vec, bool)
    if isinstance(vec, ri.StrSexpVector):
        return np.array([None if v is ri.NA_Character else str(v) for v in vec], dtype=object)
    if vec is ri.NULL:
        return np.array([])
    msg = f"cannot convert an R object of type {type(vec).__name__} to an array"
    raise TypeError(msg)


def _int_like(vec, dtype) -> np.ndarray:
    """R integers or logicals (stored as int32, NA as INT_MIN) as dtype, or float with NaN."""
    a = np.array(vec.memoryview(), dtype=np.int32, copy=True)
    na = a == NA_INTEGER
    if na.any():
        out = a.astype(float)
        out[na] = np.nan
        return out
    return a.astype(dtype)


@_locked
def to_dict(rlist) -> dict[str, Any]:
    """An R named list as a Python dict (values left as R objects)."""
    ri = session().ri
    names = ri.baseenv["names"](rlist)
    if names is ri.NULL:
        return {str(i): v for i, v in enumerate(rlist)}
    return {str(n): v for n, v in zip(names, rlist)}


def _column_to_r(s: pd.Series):
    ri = session().ri
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(object)
    if pd.api.types.is_bool_dtype(s) and not s.isna().any():
        return ri.BoolSexpVector(s.to_numpy(dtype=bool).tolist())
    if pd.api.types.is_integer_dtype(s) and not s.isna().any():
        a = s.to_numpy()
        if np.abs(a).max(initial=0) < 2**31 - 1:
            return ri.IntSexpVector(a.astype(int).tolist())
    if pd.api.types.is_numeric_dtype(s):
        return float_vector(s.to_numpy(dtype=float, na_value=np.nan))
    return str_vector([None if isna(v) else str(v) for v in s])


@_locked
def frame_to_r(df: pd.DataFrame, *, row_names: bool = True):
    """A pandas DataFrame as an R data.frame; the index becomes ``row.names``.

    Column names are kept exactly (``P.Value``, ``adj.P.Val``; no ``check.names``), numbers
    become numeric (NaN → NA), text becomes character (None/NaN → NA), booleans logical.
    """
    if df.columns.duplicated().any():
        msg = f"cannot convert a frame with duplicate column names {list(df.columns[df.columns.duplicated()])}"
        raise ValueError(msg)
    cols = [_column_to_r(df[c]) for c in df.columns]
    ri = session().ri
    rlist = ri.ListSexpVector(cols)
    names = str_vector([str(c) for c in df.columns])
    rn = str_vector([str(i) for i in df.index]) if row_names else ri.NULL
    return call("degbridge_make_df", rlist, names, rn, scalar(len(df)))


@_locked
def frame_from_r(robj) -> pd.DataFrame:
    """An R data.frame (rpy2 object) as a pandas DataFrame; row names become the index."""
    parts = to_dict(call("degbridge_df_parts", robj))
    names = [str(n) for n in to_numpy(parts["names"])]
    columns = [to_numpy(v) for v in parts["columns"]]
    rownames = parts["rownames"]
    data = dict(zip(names, columns))
    frame = pd.DataFrame(data)
    ri = session().ri
    if rownames is not ri.NULL:
        frame.index = pd.Index([str(v) for v in to_numpy(rownames)], dtype=object)
    return frame


@_locked
def list_to_r(items: dict[str, Any]):
    """A dict of R objects as a named R list."""
    ri = session().ri
    rlist = ri.ListSexpVector(list(items.values()))
    rlist.do_slot_assign("names", str_vector(list(items)))
    return rlist


# ---------------------------------------------------------------------------------------
# to_r: one converter, each type registered
# ---------------------------------------------------------------------------------------


@functools.singledispatch
def to_r(obj) -> Any:
    """A Python object as an R object (needs R).

    DataFrames become ``data.frame``s (row names unless the index is a plain RangeIndex),
    mappings named lists (``None`` values left out), lists of scalars character vectors,
    scalars length-one vectors. Result types register their own conversion
    (``to_r.register(Comparison)``, as anndata2ri registers converters), so the code that
    hands results back never needs their classes.
    """
    if isinstance(obj, bool | int | float | str | np.generic) or obj is None:
        with R_LOCK:
            return scalar(obj)
    msg = f"to_r converts DataFrames, DETables, DEResults, Comparisons, dicts and scalars, not {type(obj).__name__}"
    raise TypeError(msg)


@to_r.register
def _(obj: pd.DataFrame):
    return frame_to_r(obj, row_names=not isinstance(obj.index, pd.RangeIndex))


@to_r.register
def _(obj: dict):
    with R_LOCK:
        return list_to_r({str(k): to_r(v) for k, v in obj.items() if v is not None})


@to_r.register(list)
@to_r.register(tuple)
def _(obj):
    with R_LOCK:
        return str_vector([str(v) for v in obj])
