"""read_matrix: a genes × samples matrix from a CSV/TSV file (gzip too).

A fast path reads well-formed files with pandas' C reader in blocks of rows (numbers correctly
rounded, IDs as text); a careful path reads everything else field by field and words the
errors (the line and sample at fault).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pandas as pd

from ._text import (
    EXTRA_BREAK_BYTES,
    EXTRA_BREAKS,
    NA_LIST,
    decode,
    detect_sep,
    first_lines,
    float_column,
    has_negative_zero,
    read_bytes,
    split_fields,
    to_float,
    wide_fields,
)


def read_matrix(
    path: str | os.PathLike, *, sep: str | None = None, max_size: int | None = None
) -> pd.DataFrame:
    """Read an expression or count matrix file: genes in rows (IDs in the first column).

    Parameters
    ----------
    path
        CSV/TSV (delimiter detected), optionally gzip-compressed.
    sep
        Delimiter; detected by default.
    max_size
        Largest decompressed size in bytes (see :func:`read_table`).

    Returns
    -------
    A genes × samples float DataFrame indexed by gene ID (strings, leading zeros kept). Every
    number is read correctly rounded (equal to Python's ``float`` of the field).

    Notes
    -----
    A well-formed file is read by pandas' C reader (``float_precision="round_trip"``, in
    blocks of rows written into one float matrix); comment lines, blank lines made of
    spaces, unusual line breaks or a field pandas does not read as a number send the file
    through the careful reader, which gives the same values and the error messages.
    """
    path = Path(path)
    label = f"file {str(path)!r}"
    raw, _ = read_bytes(path, max_size)
    with wide_fields():
        frame = _read_matrix_fast(raw, label, sep)
        if frame is None:
            frame = _read_matrix_careful(raw, label, sep)
    return frame


def _read_matrix_careful(raw: bytes, label: str, sep: str | None) -> pd.DataFrame:
    """read_matrix's careful reader: every field a string, converted column by column."""
    text, _enc = decode(raw, label)
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    if sep is None:
        sep = detect_sep(lines, label)
    if len(lines) < 2:
        msg = f"{label} has a header line but no rows"
        raise ValueError(msg)
    kwargs = {"sep": r"\s+"} if sep == " " else {"sep": sep}
    body = "\n".join(lines)
    try:
        # index_col=0 would parse the IDs as numbers (pandas applies dtype=str to columns
        # only), losing leading zeros: take the first column as text instead
        df = pd.read_csv(io.StringIO(body), dtype=str, keep_default_na=False, **kwargs)
    except pd.errors.ParserError as err:
        msg = f"{label}: cannot parse the matrix ({err})"
        raise ValueError(msg) from None
    if isinstance(df.index, pd.RangeIndex):  # a full header: the IDs are its first column
        first = df.columns[0]
        df = df.set_index(first)
        df.index.name = None if str(first).startswith("Unnamed: 0") else first
    values = np.empty(df.shape, dtype=np.float64)
    for j, col in enumerate(df.columns):
        arr, bad = to_float(df[col].tolist())
        if bad:
            i = bad[0]
            msg = (
                f"{label}: sample column {col!r} has text at gene {df.index[i]!r}: "
                f"{df[col].iloc[i]!r}"
            )
            raise ValueError(msg)
        values[:, j] = arr
    index = pd.Index([str(g).strip() for g in df.index], dtype=object, name=df.index.name or None)
    return pd.DataFrame(values, index=index, columns=[str(c) for c in df.columns])


#: Rows per block of the fast matrix reader: about 16 million values per block (128 MB as
#: float64; a 60,000 × 200 matrix is one block). Each block is a DataFrame pandas builds
#: column by column, so fewer blocks cost less; more rows per block cost memory.
_BLOCK_VALUES = 1 << 24


def _read_matrix_fast(raw: bytes, label: str, sep: str | None) -> pd.DataFrame | None:
    """read_matrix's fast reader: pandas' C reader in blocks of rows, numbers correctly
    rounded, written into one float64 matrix; None when the careful reader must decide."""
    source: io.BytesIO | io.StringIO
    if raw.isascii():
        if any(b in raw for b in EXTRA_BREAK_BYTES):
            return None
        data: bytes | str = raw
        source = io.BytesIO(raw)
    else:
        text, _enc = decode(raw, label)
        if any(c in text for c in EXTRA_BREAKS):
            return None
        data = text
        source = io.StringIO(text)
    # the header must be the first line (no comment, blank or blank-looking line before it)
    prefix, whole = first_lines(data, 64)
    lines = [ln for ln in prefix if ln.strip() and not ln.startswith("#")]
    if len(lines) < 2 or prefix[0] != lines[0] or prefix[0].count('"') % 2:
        return None
    if sep is None:
        if len(lines) < 20 and not whole:
            return None
        sep = detect_sep(lines, label)
    kwargs = {"sep": r"\s+"} if sep == " " else {"sep": sep}
    # column names and index name exactly as the careful reader's pandas call makes them
    try:
        probe = pd.read_csv(
            io.StringIO(lines[0] + "\n" + lines[1] + "\n"),
            dtype=str,
            keep_default_na=False,
            index_col=0,
            **kwargs,
        )
    except (ValueError, pd.errors.ParserError):
        return None
    columns = [str(c) for c in probe.columns]
    width = len(columns) + 1
    if len(split_fields(lines[1], sep)) != width or lines[1].rstrip().endswith(sep):
        return None
    # rows ≤ line ends after the header (a file with other line ends overflows and goes the
    # careful way); pandas skips blank lines, so fewer rows is possible
    newline = "\n" if isinstance(data, str) else b"\n"
    n_max = data.count(newline) - (1 if data.endswith(newline) else 0)
    try:
        reader = pd.read_csv(
            source,
            header=None,
            skiprows=1,
            names=list(range(width)),
            index_col=0,  # the IDs, as text (dtype applies to the index column too)
            dtype={0: object},
            keep_default_na=False,
            na_values=dict.fromkeys(range(1, width), NA_LIST),
            float_precision="round_trip",
            chunksize=max(1, _BLOCK_VALUES // width),
            engine="c",
            **kwargs,
        )
        out, ids, integer = _fill_blocks(reader, n_max, width)
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError):
        return None
    if out is None:
        return None
    # pandas reads "-0" in an integer column as 0 (float() gives -0.0); look only when the
    # text has a minus sign at all (a memchr) and an integer column holds zeros
    if integer and (b"-" in data if isinstance(data, bytes) else "-" in data):
        b = np.frombuffer(data if isinstance(data, bytes) else data.encode("utf-8"), np.uint8)
        if has_negative_zero(b):
            return None
    index = pd.Index(ids, dtype=object, name=probe.index.name or None)
    return pd.DataFrame(out, index=index, columns=columns, copy=False)


def _fill_blocks(reader, n_max: int, width: int):
    """(matrix, gene IDs, saw integer zeros) from pandas' blocks of rows; matrix None when a
    block holds anything the careful reader must judge.

    One block (the usual case) becomes the matrix itself, converted in place; several are
    copied into one column-major matrix (pandas' own layout: the DataFrame made of it
    holds it without a copy) as they come, so at most two blocks are alive at a time."""
    out: np.ndarray | None = None
    ids: list[str] = []
    integer = False
    with reader:
        for block in reader:
            start, stop = len(ids), len(ids) + len(block)
            got = _block_values(block) if stop <= n_max else None
            if got is None:
                return None, None, False
            names, values, has_zero = got
            integer = integer or has_zero
            ids.extend(names)
            if start == 0:
                out = values
                continue
            if start == len(out):  # a second block: from now on one preallocated matrix
                first = out
                out = np.empty((n_max, width - 1), dtype=np.float64, order="F")
                out[:start] = first
                del first
            out[start:stop] = values
    stripped = [g.strip() for g in ids]
    if out is None or not all(stripped):
        return None, None, False
    if len(out) > len(ids):  # blank lines left rows unused: drop them (a copy, rare)
        out = np.asfortranarray(out[: len(ids)])
    return out, stripped, integer


def _block_values(block: pd.DataFrame) -> tuple[list[str], np.ndarray, bool] | None:
    """(gene IDs, float64 values, an integer column holds zeros) of one block pandas read
    (IDs as its index); None when the careful reader must judge it."""
    names = block.index.tolist()
    if not all(type(g) is str for g in names):
        return None
    joined = "\n".join(names)  # one scan for comment rows and line breaks in IDs
    if joined.startswith("#") or "\n#" in joined or "\r" in joined:
        return None
    if joined.count("\n") != len(names) - 1:
        return None
    kinds = {dt.kind for dt in block.dtypes}
    if kinds <= {"f", "i", "u"}:  # all numbers: the block's own array
        values = block.to_numpy()
        has_zero = bool(kinds & {"i", "u"}) and not values.all()
        return names, _as_float64(values), has_zero
    values = np.empty(block.shape, dtype=np.float64, order="F")
    has_zero = False
    for j, name in enumerate(block.columns):
        column, was_int = float_column(block[name])
        if column is None:
            return None
        if isinstance(column, list):
            column, bad = to_float(column)
            if bad:
                return None
        has_zero = has_zero or (was_int and not column.all())
        values[:, j] = column
    return names, values, has_zero


def _as_float64(values: np.ndarray) -> np.ndarray:
    """float64 values of a numeric matrix; a writable column-major int64 matrix (the block
    pandas read) is converted in place, column by column, sparing a second matrix in memory.
    int64 → float64 rounds to nearest, as float() of the field does."""
    if values.dtype == np.float64:
        return values
    if values.dtype == np.int64 and values.flags.writeable and values.flags.f_contiguous:
        out = values.view(np.float64)
        for j in range(values.shape[1]):
            out[:, j] = values[:, j]  # same memory, element by element, front to back
        return out
    return values.astype(np.float64, order="F")
