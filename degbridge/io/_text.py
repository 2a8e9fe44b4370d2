"""Bytes to text for the readers: size and gzip-bomb limits, encodings (BOM, UTF-16,
Latin-1), delimiter detection, field splitting and number parsing shared by
:mod:`degbridge.io.table_reader` and :mod:`degbridge.io.matrix_reader`.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._exceptions import InputFileNotFoundError
from .table import (
    NA_TOKENS,
)

MAGIC = {
    b"\x89PNG": "a PNG image",
    b"%PDF": "a PDF document",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"PK\x03\x04": "a ZIP archive (an Excel .xlsx workbook is one)",
    b"\xd0\xcf\x11\xe0": "an old Excel/Office document",
    b"BZh": "a bzip2 archive",
    b"\xfd7zXZ": "an xz archive",
    b"\x89HDF": "an HDF5 file (an .h5ad? read it with anndata)",
}


def decode(raw: bytes, label: str) -> tuple[str, str]:
    if raw.startswith(codecs.BOM_UTF8):
        return raw[len(codecs.BOM_UTF8) :].decode("utf-8", errors="strict"), "utf-8-sig"
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16"), "utf-16"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        # Windows-1252 / Latin-1 exports from spreadsheets; every byte decodes.
        return raw.decode("latin-1"), "latin-1"


#: Default largest decompressed input (bytes), and the gzip expansion ratio (beyond
#: BOMB_FLOOR bytes) above which a file is refused as a likely decompression bomb. Text
#: tables compress 3-10-fold (the bundled airway counts: 3.9-fold).
MAX_SIZE = 2 * 1024**3


BOMB_RATIO = 100


BOMB_FLOOR = 16 * 1024**2


def check_size(max_size) -> int | None:
    if max_size is None:
        return None
    if isinstance(max_size, bool) or not isinstance(max_size, int | np.integer) or max_size <= 0:
        msg = f"max_size must be a positive number of bytes, not {max_size!r}"
        raise ValueError(msg)
    return int(max_size)


def gunzip(raw: bytes, label: str, max_size: int | None) -> bytes:
    """Decompress in blocks, stopping as soon as a size limit is passed."""
    limit = MAX_SIZE if max_size is None else max_size
    stream = zlib.decompressobj(wbits=31)  # gzip header
    out, total = [], 0
    view = memoryview(raw)
    # compressed input in 1 MiB pieces (only the rest of one piece is ever copied as the
    # unconsumed tail), output at most 16 MiB per call so the limits are checked early
    pieces = (view[i : i + (1 << 20)] for i in range(0, len(raw), 1 << 20))
    data: bytes | memoryview = next(pieces, b"")
    try:
        while data:
            block = stream.decompress(data, 1 << 24)
            total += len(block)
            if total > limit:
                msg = (
                    f"{label} expands to more than {limit:,} bytes when decompressed; pass "
                    "max_size= (bytes) to read it anyway"
                )
                raise ValueError(msg)
            if max_size is None and total > BOMB_FLOOR and total > BOMB_RATIO * len(raw):
                msg = (
                    f"{label} expands more than {BOMB_RATIO}-fold ({len(raw):,} bytes to over "
                    f"{total:,}): a likely decompression bomb; pass max_size= (bytes) to read it"
                )
                raise ValueError(msg)
            out.append(block)
            data = stream.unconsumed_tail
            if stream.eof:  # concatenated gzip members
                data = stream.unused_data or next(pieces, b"")
                stream = zlib.decompressobj(wbits=31) if data else stream
            elif not data:
                data = next(pieces, b"")
        if not stream.eof:
            msg = "Compressed file ended before the end-of-stream marker was reached"
            raise EOFError(msg)
    except (EOFError, OSError, zlib.error) as err:
        msg = f"{label} is a damaged or truncated gzip file ({err})"
        raise ValueError(msg) from None
    return b"".join(out)


def read_bytes(path: Path, max_size: int | None = None) -> tuple[bytes, dict[str, Any]]:
    label = f"file {str(path)!r}"
    max_size = check_size(max_size)
    if not path.exists():
        msg = f"{label} does not exist"
        raise InputFileNotFoundError(2, msg, str(path))
    if path.is_dir():
        msg = f"{label} is a folder, not a table"
        raise ValueError(msg)
    size, limit = path.stat().st_size, MAX_SIZE if max_size is None else max_size
    if size > limit:
        msg = f"{label} has {size:,} bytes, more than the limit of {limit:,}; pass max_size= (bytes) to read it"
        raise ValueError(msg)
    raw = path.read_bytes()
    meta: dict[str, Any] = {}
    if raw.startswith(b"\x1f\x8b"):
        raw = gunzip(raw, label, max_size)
        meta["compression"] = "gzip"
    if not raw or raw.isspace():  # (raw.strip() would copy the whole file)
        msg = f"{label} is empty"
        raise ValueError(msg)
    for magic, what in MAGIC.items():
        if raw.startswith(magic):
            msg = f"{label} is {what}, not a text table; export the table as CSV or TSV"
            raise ValueError(msg)
    head = raw[:8192]
    if b"\x00" in head and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        msg = f"{label} is a binary file (NUL bytes), not a text table"
        raise ValueError(msg)
    return raw, meta


@contextlib.contextmanager
def wide_fields():
    """Let the csv module read fields of any length (a header of 20,000 sample names read
    with a wrong delimiter candidate is one field of several hundred KB; the default limit
    is 128 KB). The previous limit is restored afterwards."""
    previous = csv.field_size_limit()
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def split_fields(line: str, sep: str) -> list[str]:
    if sep == " ":
        return next(csv.reader([line.strip()], delimiter=" ", skipinitialspace=True))
    return next(csv.reader([line], delimiter=sep))


def detect_sep(lines: list[str], label: str) -> str:
    sample = lines[: min(len(lines), 20)]
    counts = {}
    for cand in ("\t", ",", ";", "|"):
        per_line = [len(split_fields(line, cand)) for line in sample]
        if per_line[0] > 1 and len(set(per_line)) <= 2:  # header may be one shorter
            counts[cand] = per_line[0]
    if counts:
        return max(counts, key=counts.get)  # the delimiter that splits into most fields
    if len(split_fields(sample[0], " ")) > 1:
        return " "
    msg = (
        f"{label}: cannot find a delimiter in the header line {sample[0][:80]!r}; "
        "expected tab-, comma-, semicolon- or space-separated columns (or pass sep=)"
    )
    raise ValueError(msg)


def ascii_lines(raw: bytes, offsets: list[int]) -> Iterator[str]:
    """The lines of ASCII bytes with "\\n" line ends (as ``str.splitlines`` gives them),
    one at a time; the byte offset of each line is appended to ``offsets``."""
    pos, n = 0, len(raw)
    while pos < n:
        end = raw.find(b"\n", pos)
        if end < 0:
            end = n
        offsets.append(pos)
        yield raw[pos:end].decode("ascii")
        pos = end + 1


#: NA tokens as a list (pandas' na_values).
NA_LIST = sorted(NA_TOKENS)


#: Characters str.splitlines() breaks at besides \n and \r; the careful path splits lines
#: there, pandas does not, so text holding any of them takes the careful path.
EXTRA_BREAKS = ("\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")


EXTRA_BREAK_BYTES = (b"\x0b", b"\x0c", b"\x1c", b"\x1d", b"\x1e")


SEP_BYTES = {",": 44, "\t": 9, ";": 59, "|": 124}


def has_negative_zero(b: np.ndarray) -> bool:
    """Whether the bytes hold a field ``-0``, ``-00``, ... (pandas reads it into an integer
    column as 0; float() gives -0.0)."""
    minus = np.flatnonzero(b[:-1] == 45)
    minus = minus[b[minus + 1] == 48]
    if not minus.size:
        return False
    ends = minus + 1
    while True:  # step over the zeros
        nxt = ends + 1
        more = nxt < b.size
        zero = np.zeros(ends.size, dtype=bool)
        zero[more] = b[nxt[more]] == 48
        if not zero.any():
            break
        ends = np.where(zero, nxt, ends)
    stop = ends + 1
    after = np.full(stop.size, 10, dtype=np.uint8)
    inside = stop < b.size
    after[inside] = b[stop[inside]]
    before = np.where(minus > 0, b[np.maximum(minus - 1, 0)], 10)
    bounds = np.frombuffer(b'\t\n\r ",;|', dtype=np.uint8)
    return bool((np.isin(after, bounds) & np.isin(before, bounds)).any())


def float_column(col: pd.Series) -> tuple[np.ndarray | list[str] | None, bool]:
    """(values, was_integer) of a column pandas read: a float64 array for numeric dtypes, the
    strings (NA tokens as "") for text, None for anything else (the careful path decides)."""
    dtype = col.dtype
    if dtype == np.float64:
        return col.to_numpy(), False
    if dtype.kind in "iu":
        return col.to_numpy(dtype=np.float64), True
    if dtype.kind == "O":
        values = ["" if type(v) is float and v != v else v for v in col.tolist()]
        if all(type(v) is str for v in values):
            return values, False
    return None, False


def to_float(values: list[str]) -> tuple[np.ndarray, list[int]]:
    """Parse strings to float64, correctly rounded; return (array, indices of text values)."""
    stripped = np.char.strip(np.asarray(values, dtype=str))
    na = np.isin(stripped, list(NA_TOKENS))
    filled = np.where(na, "nan", stripped)
    try:
        return filled.astype(np.float64), []
    except ValueError:
        bad = parse_failures(values)
        out = np.full(len(values), np.nan)
        good = np.setdiff1d(np.arange(len(values)), bad)
        out[good] = filled[good].astype(np.float64)
        return out, bad


def isna_token(v: str) -> bool:
    return v is None or str(v).strip() in NA_TOKENS


def first_lines(data: bytes | str, n: int) -> tuple[list[str], bool]:
    """(lines, whole text?): the text up to its ``n``-th "\\n", split at every line break."""
    newline = "\n" if isinstance(data, str) else b"\n"
    pos = -1
    for _ in range(n):
        pos = data.find(newline, pos + 1)
        if pos < 0:
            break
    head = data if pos < 0 else data[:pos]
    text = head if isinstance(head, str) else head.decode("ascii")
    return text.splitlines(), pos < 0


def parse_failures(values: list[str]) -> list[int]:
    """Indices of values that are neither NA tokens nor numbers."""
    bad = []
    for i, v in enumerate(values):
        s = v.strip()
        if s in NA_TOKENS:
            continue
        try:
            float(s)
        except ValueError:
            bad.append(i)
    return bad
