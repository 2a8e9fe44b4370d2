"""DETable: a gene-indexed differential-expression table, and :func:`read_table`.

A :class:`DETable` is a :class:`pandas.DataFrame` whose index holds gene identifiers (as
strings, never reordered or lost) and whose columns use limma's canonical names
``logFC, AveExpr, t, P.Value, adj.P.Val, B`` (those present) followed by any other columns.
Its ``meta`` dict records where the table came from: source, format, contrast, method,
column renames, missing-value counts.
"""

from __future__ import annotations

import codecs
import contextlib
import copy
import csv
import gzip
import io
import logging
import os
import re
import sys
import warnings
import zlib
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._checks import is_r_object, isna
from .._exceptions import ColumnAliasWarning, DataWarning, ExcelDateWarning, InputFileNotFoundError
from .files import atomic_write

__all__ = ["CANONICAL", "DETable", "read_table"]

logger = logging.getLogger("degbridge")

#: limma's topTable columns, in limma's order.
CANONICAL: tuple[str, ...] = ("logFC", "AveExpr", "t", "P.Value", "adj.P.Val", "B")
PVALUE_COLUMNS = ("P.Value", "adj.P.Val")
#: Columns that come from one moderated t-test (used by the leakage audit).
SAME_TEST = ("t", "P.Value", "adj.P.Val", "B")

NA_TOKENS = frozenset(
    {"", "NA", "NaN", "nan", "N/A", "n/a", "#N/A", "NULL", "null", "None", "<NA>"}
)


def column_key(name: str) -> str:
    """Normalise a column name for alias matching: lower case, letters and digits only."""
    return re.sub(r"[^0-9a-z]", "", str(name).lower())


#: Aliases (normalised with :func:`column_key`) of each canonical column.
ALIASES: dict[str, str] = {
    **dict.fromkeys(
        ["logfc", "log2fc", "lfc", "log2foldchange", "logfoldchange", "log2ratio", "logratio"],
        "logFC",
    ),
    **dict.fromkeys(
        ["aveexpr", "averageexpression", "aveexpression", "avgexpr", "amean", "meanexpr"], "AveExpr"
    ),
    **dict.fromkeys(["t", "tstat", "tstatistic", "moderatedt"], "t"),
    **dict.fromkeys(["pvalue", "pval", "pvalues", "rawp", "rawpvalue", "p"], "P.Value"),
    **dict.fromkeys(
        [
            "adjpval",
            "adjpvalue",
            "adjp",
            "padj",
            "fdr",
            "qvalue",
            "qval",
            "adjustedpvalue",
            "padjust",
            "bh",
        ],
        "adj.P.Val",
    ),
    **dict.fromkeys(["b", "lods", "logodds"], "B"),
}

#: Documented mappings for tables that are not limma's (used only when asked for by ``kind=``).
DESEQ2_MAP = {"log2foldchange": "logFC", "stat": "t", "pvalue": "P.Value", "padj": "adj.P.Val"}
EDGER_MAP = {"logfc": "logFC", "logcpm": "AveExpr", "pvalue": "P.Value", "fdr": "adj.P.Val"}
_KIND_MAPS = {"deseq2": DESEQ2_MAP, "edger": EDGER_MAP}


def table_mapping(kind: str) -> dict[str, str]:
    """``{normalised native name: canonical name}`` of an ``"edger"`` or ``"deseq2"`` table
    (:func:`column_key` normalises a name)."""
    return _KIND_MAPS[kind]

#: Column names (normalised) that hold gene identifiers, most specific first.
ID_NAMES = (
    "id",
    "probeid",
    "probesetid",
    "geneid",
    "ensemblid",
    "ensemblgeneid",
    "ensgene",
    "gene",
    "genes",
    "featureid",
    "feature",
    "probe",
    "probeset",
    "rownames",
    "name",
    "symbol",
    "genesymbol",
)

_MONTHS = "jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec"
_EXCEL_DATE = re.compile(
    rf"^(\d{{1,2}}-({_MONTHS})|({_MONTHS})-\d{{1,2}}|\d{{4}}-\d{{2}}-\d{{2}}|\d{{1,2}}/\d{{1,2}}/\d{{2,4}})$",
    re.IGNORECASE,
)
_GROUP_LINE = re.compile(r'^\s*"?[0-9X]+"?\s*$')

_MAGIC = {
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


class DETable(pd.DataFrame):
    """A differential-expression table indexed by gene ID.

    Columns follow limma's names (``logFC, AveExpr, t, P.Value, adj.P.Val, B``, those present,
    in that order) followed by other columns. ``meta`` is a dict of provenance: ``source``,
    ``format``, ``kind`` (``"limma"``, ``"deseq2"``, ``"edger"``), ``contrast``, ``method``,
    ``column_map`` (original → canonical names), ``missing`` (NA count per column) and, for
    tables made by :func:`degbridge.run_limma`, the design, contrast vector, options and R
    versions.

    Create one with :func:`degbridge.read_table` or :func:`degbridge.run_limma`; any
    gene-indexed DataFrame can be wrapped with ``DETable(df, meta={...})``.
    """

    _metadata = ["meta"]  # noqa: RUF012 (pandas' subclassing protocol)

    def __init__(self, data=None, *args, meta: Mapping[str, Any] | None = None, **kwargs):
        super().__init__(data, *args, **kwargs)
        if meta is None:
            meta = getattr(data, "meta", None)
        object.__setattr__(self, "meta", dict(meta) if meta else {})

    @property
    def _constructor(self):
        return DETable

    def copy(self, deep: bool = True) -> DETable:
        """Copy the table; ``deep=True`` copies ``meta`` too."""
        out = super().copy(deep=deep)
        if deep:
            object.__setattr__(out, "meta", copy.deepcopy(self.meta))
        return out

    @property
    def contrast(self) -> str | None:
        """The contrast this table tests, when known."""
        return self.meta.get("contrast")

    @property
    def method(self) -> str | None:
        """The method that made the table (``"limma-voom"``, ``"limma"``, ...), when known."""
        return self.meta.get("method")

    @property
    def source(self) -> str | None:
        """Where the table came from: a path, ``"DataFrame"``, ``"run_limma"``."""
        return self.meta.get("source")

    def significant(self, alpha: float = 0.05, *, lfc: float = 0.0) -> DETable:
        """Genes with ``adj.P.Val < alpha`` and ``|logFC| >= lfc``, in table order."""
        if "adj.P.Val" not in self.columns:
            msg = "significant() needs an 'adj.P.Val' column; this table has none"
            raise ValueError(msg)
        keep = self["adj.P.Val"] < alpha
        if lfc:
            if "logFC" not in self.columns:
                msg = "significant(lfc=...) needs a 'logFC' column; this table has none"
                raise ValueError(msg)
            keep &= self["logFC"].abs() >= lfc
        return self[keep.fillna(False)]

    def summary(self) -> str:
        """A few lines describing the table: size, source, renames, missing values."""
        m = self.meta
        lines = [f"DETable: {self.shape[0]} genes × {self.shape[1]} columns"]
        for key in ("source", "format", "kind", "method", "contrast"):
            if m.get(key) is not None:
                lines.append(f"  {key}: {m[key]}")
        if m.get("column_map"):
            renames = ", ".join(f"{a} → {b}" for a, b in m["column_map"].items())
            lines.append(f"  renamed: {renames}")
        missing = {k: v for k, v in (m.get("missing") or {}).items() if v}
        if missing:
            lines.append("  missing values: " + ", ".join(f"{k}: {v}" for k, v in missing.items()))
        if "adj.P.Val" in self.columns:
            n = int((self["adj.P.Val"] < 0.05).sum())
            lines.append(f"  adj.P.Val < 0.05: {n} genes")
        return "\n".join(lines)

    def write(self, path: str | os.PathLike, *, sep: str | None = None) -> Path:
        """Write the table as CSV/TSV (gzip when the name ends in ``.gz``), atomically.

        The gene IDs go in the first column, under the index name or an empty header (as R's
        ``write.csv`` does), so :func:`read_table` reads the file back to an equal table.
        Numbers are written with full (round-trip) precision. A failed write leaves the
        previous file intact or no file.
        """
        path = Path(path)
        suffixes = [s.lower() for s in path.suffixes]
        compressed = bool(suffixes) and suffixes[-1] == ".gz"
        ext = (
            suffixes[-2] if compressed and len(suffixes) > 1 else (suffixes[-1] if suffixes else "")
        )
        if sep is None:
            sep = "," if ext == ".csv" else "\t"
        frame = pd.DataFrame(self)
        label = self.index.name if self.index.name is not None else ""
        text = frame.to_csv(sep=sep, index_label=label, lineterminator="\n", na_rep="NA")
        with atomic_write(path, "wb") as handle:
            data = text.encode("utf-8")
            if compressed:
                data = gzip.compress(data, mtime=0)
            handle.write(data)
        return path

    def to_r(self):
        """This table as an R ``data.frame`` (rpy2), gene IDs as ``row.names``. Needs R."""
        from ..r import frame_to_r

        return frame_to_r(self)


# ----------------------------------------------------------------------------------------
# reading
# ----------------------------------------------------------------------------------------


def read_table(
    source: str | os.PathLike | pd.DataFrame | Any,
    *,
    id_column: str | None = None,
    kind: Literal["auto", "limma", "deseq2", "edger"] = "auto",
    duplicates: Literal["error", "first", "mean"] = "error",
    sep: str | None = None,
    contrast: str | None = None,
    max_size: int | None = None,
) -> DETable:
    """Read a differential-expression table into a :class:`DETable`.

    Reads limma ``topTable`` output written by ``write.table``/``write.csv`` (row names in a
    first column with an empty or missing header, quoted or not), GEO2R exports (``ID``
    column, any column order, no ``AveExpr``, a group string such as ``"11110000"`` on the
    first line in old exports), files with every value quoted, CSV, TSV or
    whitespace-separated (detected), gzip-compressed or not, with a byte-order mark, CRLF line
    endings, ``NA``/empty cells and upper-case exponents (``5.61E-147``).

    Parameters
    ----------
    source
        A path, a :class:`pandas.DataFrame` (gene IDs as index, or in an ID column), a
        :class:`DETable`, or an R ``data.frame`` from rpy2 (row names as gene IDs).
    id_column
        The column holding gene IDs. By default: row names, an empty first header, a column
        called ``ID``/``gene``/``probe``/... or a first column of text, in that order.
    kind
        ``"auto"`` reads limma-style tables and *refuses* DESeq2 and edgeR tables, naming
        them. ``"deseq2"`` imports a DESeq2 ``results()`` table with the mapping
        ``log2FoldChange→logFC, stat→t, pvalue→P.Value, padj→adj.P.Val`` (``baseMean`` and
        ``lfcSE`` kept as they are; no ``AveExpr``/``B``). ``"edger"`` imports an edgeR
        table with ``logCPM→AveExpr, PValue→P.Value, FDR→adj.P.Val`` (``F``/``LR`` kept; no
        ``t``/``B``). The mapping is recorded in ``meta["column_map"]`` and
        ``meta["mapped_from"]``. ``"limma"`` skips the DESeq2/edgeR recognition.
    duplicates
        What to do with repeated gene IDs: ``"error"`` (default) names them; ``"first"``
        keeps the first row of each; ``"mean"`` averages numeric columns and keeps the first
        value of text columns.
    sep
        The delimiter; detected by default.
    contrast
        The contrast the table tests, recorded in ``meta`` (GEO2R files do not say).
    max_size
        Largest size in bytes a file may have once decompressed. By default 2 GiB, and a gzip
        file that expands more than 100-fold beyond 16 MiB is refused as a likely
        decompression bomb; give a number to read such a file anyway.

    Returns
    -------
    A :class:`DETable` in file order. Canonical columns come first. Column renames by alias
    (e.g. ``FDR → adj.P.Val``) are recorded in ``meta["column_map"]`` and announced with a
    :class:`~degbridge.ColumnAliasWarning`; missing values per column are in
    ``meta["missing"]``.

    Raises
    ------
    ValueError
        With the file, line, column or gene at fault: missing, empty or binary file, header
        only, rows of the wrong length, no recognisable DE columns, duplicate column names or
        gene IDs, text in a numeric column, an all-missing or infinite canonical column,
        P-values outside [0, 1], a DESeq2/edgeR table read as limma.
    """
    if kind not in ("auto", "limma", "deseq2", "edger"):
        msg = f"kind must be 'auto', 'limma', 'deseq2' or 'edger', not {kind!r}"
        raise ValueError(msg)
    if duplicates not in ("error", "first", "mean"):
        msg = f"duplicates must be 'error', 'first' or 'mean', not {duplicates!r}"
        raise ValueError(msg)

    if isinstance(source, pd.DataFrame):
        parsed = _parsed_from_frame(source, id_column)
    elif is_r_object(source):
        from ..r import frame_from_r

        parsed = _parsed_from_frame(frame_from_r(source), id_column)
        parsed.meta["source"] = "R data.frame"
    elif isinstance(source, str | os.PathLike):
        with _wide_fields():
            parsed = _parsed_from_path(Path(source), id_column, sep, max_size)
    else:
        msg = (
            "read_table expects a path, a pandas DataFrame or an R data.frame, "
            f"not {type(source).__name__}"
        )
        raise TypeError(msg)
    table = _build(parsed, kind=kind, duplicates=duplicates)
    if contrast is not None:
        table.meta["contrast"] = contrast
    logger.info(table.summary())
    return table


class _Parsed:
    """Columns as read, before canonical mapping: ids, {name: values}, line numbers."""

    def __init__(self, ids, id_name, columns, lines, label, meta):
        self.ids: list[str] = ids
        self.id_name: str | None = id_name
        self.columns: dict[str, np.ndarray | list] = columns  # str lists or float arrays
        self.lines: np.ndarray | None = lines  # 1-based file line of each row
        self.label: str = label  # "file 'x.csv'" or "the DataFrame"
        self.meta: dict[str, Any] = meta

    def where(self, i: int) -> str:
        gene = f"gene {self.ids[i]!r}"
        if self.lines is not None:
            return f"line {int(self.lines[i])} ({gene})"
        return gene


def _decode(raw: bytes, label: str) -> tuple[str, str]:
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


def _check_size(max_size) -> int | None:
    if max_size is None:
        return None
    if isinstance(max_size, bool) or not isinstance(max_size, int | np.integer) or max_size <= 0:
        msg = f"max_size must be a positive number of bytes, not {max_size!r}"
        raise ValueError(msg)
    return int(max_size)


def _gunzip(raw: bytes, label: str, max_size: int | None) -> bytes:
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


def _read_bytes(path: Path, max_size: int | None = None) -> tuple[bytes, dict[str, Any]]:
    label = f"file {str(path)!r}"
    max_size = _check_size(max_size)
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
        raw = _gunzip(raw, label, max_size)
        meta["compression"] = "gzip"
    if not raw or raw.isspace():  # (raw.strip() would copy the whole file)
        msg = f"{label} is empty"
        raise ValueError(msg)
    for magic, what in _MAGIC.items():
        if raw.startswith(magic):
            msg = f"{label} is {what}, not a text table; export the table as CSV or TSV"
            raise ValueError(msg)
    head = raw[:8192]
    if b"\x00" in head and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        msg = f"{label} is a binary file (NUL bytes), not a text table"
        raise ValueError(msg)
    return raw, meta


@contextlib.contextmanager
def _wide_fields():
    """Let the csv module read fields of any length (a header of 20,000 sample names read
    with a wrong delimiter candidate is one field of several hundred KB; the default limit
    is 128 KB). The previous limit is restored afterwards."""
    previous = csv.field_size_limit()
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def _split_fields(line: str, sep: str) -> list[str]:
    if sep == " ":
        return next(csv.reader([line.strip()], delimiter=" ", skipinitialspace=True))
    return next(csv.reader([line], delimiter=sep))


def _detect_sep(lines: list[str], label: str) -> str:
    sample = lines[: min(len(lines), 20)]
    counts = {}
    for cand in ("\t", ",", ";", "|"):
        per_line = [len(_split_fields(line, cand)) for line in sample]
        if per_line[0] > 1 and len(set(per_line)) <= 2:  # header may be one shorter
            counts[cand] = per_line[0]
    if counts:
        return max(counts, key=counts.get)  # the delimiter that splits into most fields
    if len(_split_fields(sample[0], " ")) > 1:
        return " "
    msg = (
        f"{label}: cannot find a delimiter in the header line {sample[0][:80]!r}; "
        "expected tab-, comma-, semicolon- or space-separated columns (or pass sep=)"
    )
    raise ValueError(msg)


def _parsed_from_path(
    path: Path,
    id_column: str | None,
    sep: str | None,
    max_size: int | None = None,
    *,
    fast: bool = True,
) -> _Parsed:
    """Header, rows and row names of a table file: one pass over the decoded text.

    Kept as one function (about 80 lines) because each step adjusts the line numbering the
    next step's error messages report (group line, header, trailing delimiters). With
    ``fast=True`` a well-formed body is parsed by pandas' C reader (:func:`_parsed_fast`),
    which gives the same result; anything unusual goes through the careful csv path. An
    ASCII file with "\\n" line ends is neither decoded nor split whole unless the careful
    path needs it: its first lines are found in the bytes and pandas reads the rest as bytes.
    """
    label = f"file {str(path)!r}"
    raw, meta = _read_bytes(path, max_size)
    plain = raw.isascii() and b"\r" not in raw and not any(b in raw for b in _EXTRA_BREAK_BYTES)
    offsets: list[int] = []
    if plain:
        encoding, all_lines = "utf-8", None
        lines: Iterable[str] = _ascii_lines(raw, offsets)
    else:
        text, encoding = _decode(raw, label)
        all_lines = lines = text.splitlines()
    meta.update(source=str(path), encoding=encoding)
    prefix, starts = _header_prefix(lines)
    # the header: the first line that is neither blank nor a comment (nor a GEO2R group line)
    if not starts:
        msg = f"{label} holds no table (only blank or comment lines)"
        raise ValueError(msg)
    head = starts[0]
    if len(starts) > 1 and _GROUP_LINE.match(prefix[head]):
        # Old GEO2R exports start with the sample-group string, e.g. "111111110000000".
        meta["geo2r_groups"] = prefix[head].strip().strip('"')
        head = starts[1]
    if sep is None:
        sep = _detect_sep([ln for ln in prefix[head:] if ln.strip()], label)
    meta["delimiter"] = sep
    if fast:
        first = next((ln for ln in prefix[head + 1 :] if ln.strip()), None)
        if plain:
            body = raw[offsets[head] + len(prefix[head]) + 1 :]
        else:
            body = "\n".join(all_lines[head + 1 :]).encode("utf-8")
        parsed = _parsed_fast(prefix[head], first, body, head, sep, id_column, label, meta)
        if parsed is not None:
            return parsed
    if all_lines is None:
        all_lines = raw.decode("ascii").splitlines()
    # The careful path: csv records over the text, not line by line (a quoted value may
    # hold a newline), every field a string until the columns are converted.
    body = all_lines[head:]
    if sep == " ":
        body = [ln.rstrip() for ln in body]
    reader = (
        csv.reader(io.StringIO("\n".join(body)), delimiter=" ", skipinitialspace=True)
        if sep == " "
        else csv.reader(io.StringIO("\n".join(body)), delimiter=sep)
    )
    records: list[list[str]] = []
    line_no: list[int] = []
    try:
        for record in reader:
            if record and any(field.strip() for field in record):
                records.append(record)
                line_no.append(head + reader.line_num)  # 1-based line where the record ends
    except csv.Error as err:
        msg = f"{label}: cannot parse line {head + reader.line_num} ({err})"
        raise ValueError(msg) from None
    header = [h.strip() for h in records[0]]
    rows = records[1:]
    if not rows:
        msg = f"{label} has a header line but no rows"
        raise ValueError(msg)
    width = len(rows[0])
    rownames = width == len(header) + 1  # R's write.table: no header above the row names
    if rownames:
        header = ["", *header]
    if header and header[-1] == "" and len(header) > 1 and all(r[-1:] in ([""], []) for r in rows):
        # a trailing delimiter on every line
        header = header[:-1]
        rows = [r[: len(header)] for r in rows]
    ncol = len(header)
    for k, row in enumerate(rows):
        if len(row) != ncol:
            msg = (
                f"{label}: line {line_no[k + 1]} has {len(row)} fields but the header has {ncol} "
                "(a truncated file, or a delimiter inside an unquoted value?)"
            )
            raise ValueError(msg)
    cols = list(zip(*rows))
    line_numbers = np.array(line_no[1:])
    columns: dict[str, list[str]] = {}
    seen: dict[str, int] = {}
    dup = []
    for j, name in enumerate(header):
        if name in seen and not (rownames and j == 0):
            dup.append(name)
        seen.setdefault(name, j)
    if dup:
        msg = f"{label}: duplicate column names {sorted(set(dup))}; rename them so each is unique"
        raise ValueError(msg)
    id_idx = _resolve_id_column(header, cols, id_column, label, rownames)
    id_name = header[id_idx] or None
    ids = [v.strip() for v in cols[id_idx]]
    for j, name in enumerate(header):
        if j != id_idx:
            columns[name] = list(cols[j])
    meta["id_column"] = id_name if id_name is not None else "(row names)"
    return _Parsed(ids, id_name, columns, line_numbers, label, meta)


def _ascii_lines(raw: bytes, offsets: list[int]) -> Iterator[str]:
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


def _header_prefix(lines: Iterable[str]) -> tuple[list[str], list[int]]:
    """(the first lines, indices of the first two that are neither blank nor comments): read
    until 21 non-blank lines follow the second of those (the header is one of the two; the
    delimiter is detected from the first 20 non-blank lines from the header on, and the first
    data line is among them) or the lines end."""
    prefix: list[str] = []
    starts: list[int] = []
    nonblank = 0  # non-blank lines from starts[1] on
    for i, line in enumerate(lines):
        prefix.append(line)
        if not line.strip():
            continue
        if len(starts) < 2 and not line.startswith("#"):
            starts.append(i)
        if len(starts) == 2:
            nonblank += 1
            if nonblank > 21:
                break
    return prefix, starts


# ----------------------------------------------------------------------------------------
# the fast path: pandas' C reader on well-formed text, the same result as the careful path
# ----------------------------------------------------------------------------------------

#: NA tokens as a list (pandas' na_values).
_NA_LIST = sorted(NA_TOKENS)
#: Characters str.splitlines() breaks at besides \n and \r; the careful path splits lines
#: there, pandas does not, so text holding any of them takes the careful path.
_EXTRA_BREAKS = ("\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")
_EXTRA_BREAK_BYTES = (b"\x0b", b"\x0c", b"\x1c", b"\x1d", b"\x1e")
_SEP_BYTES = {",": 44, "\t": 9, ";": 59, "|": 124}


def _line_layout(body: bytes, sep: str, ncol: int) -> np.ndarray | None:
    """0-based index of each non-blank line of ``body`` when every such line is one record of
    exactly ``ncol`` fields and quotes only wrap whole fields; None otherwise.

    A quote opens a field (after a delimiter or a line start) and closes it (before a
    delimiter or a line end), newlines never inside quotes: on such text the csv module and
    pandas split fields identically, so field counts are delimiters outside quotes plus one.
    """
    b = np.frombuffer(body, dtype=np.uint8)
    n = b.size
    code = _SEP_BYTES[sep]
    newlines = np.flatnonzero(b == 10)
    quotes = np.flatnonzero(b == 34)
    delims = np.flatnonzero(b == code)
    if quotes.size:
        if quotes.size % 2:
            return None
        opening, closing = quotes[0::2], quotes[1::2]
        before = np.where(opening > 0, b[np.maximum(opening - 1, 0)], 10)
        after = np.where(closing < n - 1, b[np.minimum(closing + 1, n - 1)], 10)
        if not (np.isin(before, (10, code)).all() and np.isin(after, (10, code)).all()):
            return None
        # a newline inside quotes: a field's opening and closing quotes on different lines
        if (np.searchsorted(newlines, opening) != np.searchsorted(newlines, closing)).any():
            return None
        if (np.searchsorted(delims, closing) != np.searchsorted(delims, opening)).any():
            delims = delims[np.searchsorted(quotes, delims) % 2 == 0]  # drop quoted ones
    starts = np.concatenate(([0], newlines + 1))
    ends = np.concatenate((newlines, [n]))
    filled = np.flatnonzero(ends > starts)
    # ncol - 1 delimiters on each non-blank line: with the delimiters in file order, the
    # k-th group of ncol - 1 must lie within the k-th non-blank line (and none be left over)
    per_line = ncol - 1
    if delims.size != filled.size * per_line:
        return None
    if per_line and filled.size:
        groups = delims.reshape(filled.size, per_line)
        if not ((groups[:, 0] >= starts[filled]).all() and (groups[:, -1] < ends[filled]).all()):
            return None
    return filled


def _has_negative_zero(b: np.ndarray) -> bool:
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


def _float_column(col: pd.Series) -> tuple[np.ndarray | list[str] | None, bool]:
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


def _parsed_fast(
    header_line: str,
    first: str | None,
    body: bytes,
    head: int,
    sep: str,
    id_column: str | None,
    label: str,
    meta: dict[str, Any],
) -> _Parsed | None:
    """The careful path's result for a well-formed body, read by pandas' C reader with
    correctly rounded floats (``float_precision="round_trip"`` parses each number with
    CPython's own string-to-double, the one behind float()); None when the text holds
    anything the two paths could read differently (then the careful path reads it).

    ``header_line`` is line ``head`` (0-based) of the file, ``first`` the first non-blank
    line after it, ``body`` the UTF-8 bytes of the lines after it joined by "\\n"."""
    if sep not in _SEP_BYTES:
        return None
    if header_line.count('"') % 2:
        return None
    if first is None or first.count('"') % 2:
        return None
    header = [h.strip() for h in _split_fields(header_line, sep)]
    width = len(_split_fields(first, sep))
    rownames = width == len(header) + 1
    if rownames:
        header = ["", *header]
    ncol = len(header)
    if ncol < 2 or header[-1] == "" or len(set(header)) < ncol:
        return None  # trailing delimiters, duplicate names: the careful path
    if b"\x00" in body:
        return None
    rows = _line_layout(body, sep, ncol)
    if rows is None or not rows.size:
        return None
    id_idx = _id_column_by_name(header, id_column, label, rownames)
    as_text = {0} if id_idx is None else {0, id_idx}
    try:
        df = pd.read_csv(
            io.BytesIO(body),
            sep=sep,
            header=None,
            names=list(range(ncol)),
            index_col=False,
            dtype=dict.fromkeys(as_text, object),
            keep_default_na=False,
            na_values={j: _NA_LIST for j in range(ncol) if j not in as_text},
            float_precision="round_trip",
            low_memory=False,
            engine="c",
            encoding="utf-8",
        )
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError):
        return None
    if len(df) != rows.size:
        return None
    if id_idx is None:
        id_idx = _resolve_id_column(header, [df[0].tolist()], None, label, rownames)
    ids = [v.strip() for v in df[id_idx].tolist()]
    if not all(ids):
        return None  # a row without an ID, or a line of delimiters only: the careful path
    columns: dict[str, np.ndarray | list] = {}
    integer = False
    for j, name in enumerate(header):
        if j == id_idx:
            continue
        values, was_int = _float_column(df[j])
        if values is None:
            return None
        integer |= was_int and bool((values == 0).any())
        columns[name] = values
    if integer and _has_negative_zero(np.frombuffer(body, dtype=np.uint8)):
        return None
    id_name = header[id_idx] or None
    meta["id_column"] = id_name if id_name is not None else "(row names)"
    line_numbers = head + 2 + rows
    return _Parsed(ids, id_name, columns, line_numbers, label, meta)


def _id_column_by_name(header, id_column, label, rownames) -> int | None:
    """The ID column found from the header alone, or None when the values must decide."""
    if id_column is not None:
        if id_column not in header:
            msg = f"{label}: id_column {id_column!r} is not a column; columns are {header}"
            raise ValueError(msg)
        return header.index(id_column)
    if rownames or header[0] in ("", "Unnamed: 0", "row.names", "rownames", "row_names"):
        return 0
    keys = [column_key(h) for h in header]
    if keys[0] in ID_NAMES:
        return 0
    for name in ID_NAMES:
        if name in keys:
            return keys.index(name)
    return None


def _resolve_id_column(header, cols, id_column, label, rownames) -> int:
    found = _id_column_by_name(header, id_column, label, rownames)
    if found is not None:
        return found
    first = [v for v in cols[0] if v.strip() not in NA_TOKENS][:1000]
    if first and _parse_failures(first):
        return 0  # a first column of text
    msg = (
        f"{label}: cannot tell which column holds the gene IDs (columns: {header}); "
        "pass id_column='...'"
    )
    raise ValueError(msg)


def _parse_failures(values: list[str]) -> list[int]:
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


def _parsed_from_frame(df: pd.DataFrame, id_column: str | None) -> _Parsed:
    label = "the DataFrame"
    meta: dict[str, Any] = {"source": "DataFrame"}
    if isinstance(df, DETable):
        meta.update({k: v for k, v in df.meta.items() if k not in ("column_map",)})
    if df.shape[0] == 0:
        msg = f"{label} has no rows"
        raise ValueError(msg)
    if df.columns.duplicated().any():
        dup = sorted(set(map(str, df.columns[df.columns.duplicated()])))
        msg = f"{label}: duplicate column names {dup}; rename them so each is unique"
        raise ValueError(msg)
    header = [str(c) for c in df.columns]
    if id_column is not None:
        if id_column not in header:
            msg = f"{label}: id_column {id_column!r} is not a column; columns are {header}"
            raise ValueError(msg)
        ids = df[id_column]
        id_name = id_column
        rest = df.drop(columns=[id_column])
    elif not isinstance(df.index, pd.RangeIndex):
        ids = df.index.to_series()
        id_name = df.index.name
        rest = df
    else:
        cols = [df[c].astype(str).tolist() for c in df.columns]
        idx = _resolve_id_column(header, cols, None, label, rownames=False)
        id_name = header[idx]
        ids = df.iloc[:, idx]
        rest = df.drop(columns=[df.columns[idx]])
    ids_list = ["" if pd.isna(v) else str(v).strip() for v in ids]
    columns: dict[str, Any] = {}
    for name in rest.columns:
        s = rest[name]
        if pd.api.types.is_bool_dtype(s):
            columns[str(name)] = s.to_numpy(dtype=float)
        elif pd.api.types.is_numeric_dtype(s):
            columns[str(name)] = s.to_numpy(dtype=float, na_value=np.nan)
        else:
            columns[str(name)] = ["" if isna(v) else str(v) for v in s]
    meta["id_column"] = id_name if id_name is not None else "(index)"
    return _Parsed(ids_list, id_name, columns, None, label, meta)


def _to_float(values: list[str]) -> tuple[np.ndarray, list[int]]:
    """Parse strings to float64, correctly rounded; return (array, indices of text values)."""
    stripped = np.char.strip(np.asarray(values, dtype=str))
    na = np.isin(stripped, list(NA_TOKENS))
    filled = np.where(na, "nan", stripped)
    try:
        return filled.astype(np.float64), []
    except ValueError:
        bad = _parse_failures(values)
        out = np.full(len(values), np.nan)
        good = np.setdiff1d(np.arange(len(values)), bad)
        out[good] = filled[good].astype(np.float64)
        return out, bad


def _detect_kind(keys: set[str]) -> str:
    if "log2foldchange" in keys and ({"lfcse", "basemean"} & keys):
        return "deseq2"
    if "logcpm" in keys and not ({"aveexpr", "t"} & keys) and ({"f", "lr", "pvalue", "fdr"} & keys):
        return "edger"
    return "limma"


def _build(parsed: _Parsed, *, kind: str, duplicates: str) -> DETable:
    """The DETable of parsed columns: canonical names, numeric checks, duplicates, meta."""
    names = list(parsed.columns)
    keys = {column_key(n): n for n in names}
    detected = _detect_kind(set(keys))
    if kind == "auto" and detected != "limma":
        _refuse_other_kind(parsed.label, names, detected)
    effective = detected if kind == "auto" else kind
    mapping = _column_mapping(parsed, names, keys, effective)
    _check_ids(parsed)
    data, missing = _canonical_columns(parsed, mapping)
    order = [c for c in CANONICAL if c in data] + [c for c in data if c not in CANONICAL]
    index = pd.Index(parsed.ids, dtype=object, name=parsed.id_name)
    frame = pd.DataFrame({c: data[c] for c in order}, index=index)
    frame = _handle_duplicates(frame, parsed, duplicates)
    _warn_excel_dates(frame.index, parsed.label)
    _check_pvalue_order(frame, parsed.label)
    meta = parsed.meta
    meta["missing"] = missing
    meta.setdefault("format", _guess_format(parsed, meta))
    meta["n_genes"] = int(frame.shape[0])
    return DETable(frame, meta=meta)


def _refuse_other_kind(label: str, names: list[str], detected: str) -> None:
    """A DESeq2 or edgeR table read as limma: say so, with the way to import it anyway."""
    what = {
        "deseq2": (
            "a DESeq2 results table",
            "its statistics are DESeq2's Wald test (no moderated t, no B)",
            "log2FoldChange→logFC, stat→t, pvalue→P.Value, padj→adj.P.Val",
        ),
        "edger": (
            "an edgeR results table",
            "its statistics are edgeR's F or likelihood-ratio test (no t, no B)",
            "logCPM→AveExpr, PValue→P.Value, FDR→adj.P.Val",
        ),
    }[detected]
    msg = (
        f"{label} is {what[0]} (columns {names}), not a limma table: {what[1]}. "
        f"To import it anyway with the documented mapping {what[2]}, pass kind={detected!r}; "
        "or run limma on the counts with degbridge.run_limma(..., method='voom')."
    )
    raise ValueError(msg)


def _column_mapping(
    parsed: _Parsed, names: list[str], keys: dict[str, str], effective: str
) -> dict[str, str]:
    """{column as read: canonical name} for the table's kind; recorded in ``parsed.meta``."""
    label, meta = parsed.label, parsed.meta
    mapping: dict[str, str] = {}
    if effective == "deseq2":
        mapping = {keys[k]: v for k, v in DESEQ2_MAP.items() if k in keys}
        meta["mapped_from"] = "DESeq2"
        meta["method"] = meta.get("method") or "DESeq2"
    elif effective == "edger":
        mapping = {keys[k]: v for k, v in EDGER_MAP.items() if k in keys}
        meta["mapped_from"] = "edgeR"
        meta["method"] = meta.get("method") or "edgeR"
    else:
        mapping = _limma_mapping(names, label, meta)
    meta["kind"] = effective
    renamed = {a: b for a, b in mapping.items() if a != b}
    meta["column_map"] = renamed
    if renamed and effective == "limma":  # DESeq2/edgeR mappings were asked for by kind=
        warnings.warn(
            f"{label}: columns renamed to limma's names: "
            + ", ".join(f"{a!r} → {b!r}" for a, b in renamed.items()),
            ColumnAliasWarning,
            stacklevel=4,  # the caller of read_table
        )
    if not mapping:
        msg = (
            f"{label} has no recognisable differential-expression columns (found {names}); "
            f"expected some of {list(CANONICAL)} or their usual aliases "
            "(P.value, pvalue, FDR, adj.P.value, lods, ...)"
        )
        raise ValueError(msg)
    return mapping


def _check_ids(parsed: _Parsed) -> None:
    if NA_TOKENS.isdisjoint(parsed.ids):  # ("" is one of the tokens)
        return
    empty = [i for i, g in enumerate(parsed.ids) if g in NA_TOKENS]
    if empty:
        msg = f"{parsed.label}: {len(empty)} rows have no gene ID, first at {_where_row(parsed, empty[0])}"
        raise ValueError(msg)


def _canonical_columns(
    parsed: _Parsed, mapping: dict[str, str]
) -> tuple[dict[str, Any], dict[str, int]]:
    """({name: values}, {name: missing count}): canonical columns numeric (or an error naming
    the line), other columns numeric when they parse, else text."""
    label = parsed.label
    data: dict[str, Any] = {}
    missing: dict[str, int] = {}
    mixed: dict[str, int] = {}
    for name, values in parsed.columns.items():
        target = mapping.get(name, name)
        if isinstance(values, np.ndarray):
            arr, bad = values, []
        else:
            arr, bad = _to_float(values)
        if target in CANONICAL:
            if bad:
                _refuse_text(parsed, name, values, bad)
            _check_canonical(arr, name, target, parsed)
            data[target] = arr
        elif bad:
            n_text = len(bad)
            n_num = int(np.sum(~np.isnan(arr)))
            if n_num and n_text < 0.05 * len(arr):
                mixed[name] = n_text
            col = pd.array([None if _isna_token(v) else v for v in values], dtype="string")
            data[target] = col
        else:
            data[target] = arr
        missing[target] = int(pd.isna(data[target]).sum())
    if mixed:
        warnings.warn(
            f"{label}: columns with mostly numbers but some text were kept as text: "
            + ", ".join(f"{k!r} ({v} text values)" for k, v in mixed.items()),
            DataWarning,
            stacklevel=4,  # the caller of read_table
        )
    return data, missing


def _refuse_text(parsed: _Parsed, name: str, values: list[str], bad: list[int]) -> None:
    i = bad[0]
    msg = (
        f"{parsed.label}: column {name!r} must be numeric but has text at {parsed.where(i)}: "
        f"{values[i]!r}" + (f" ({len(bad)} such values)" if len(bad) > 1 else "")
    )
    if re.fullmatch(r"-?\d+,\d+([eE][-+]?\d+)?", str(values[i]).strip()):
        msg += "; it looks like a decimal comma: save the file with '.' as decimal mark"
    raise ValueError(msg)


def _isna_token(v: str) -> bool:
    return v is None or str(v).strip() in NA_TOKENS


def _where_row(parsed: _Parsed, i: int) -> str:
    if parsed.lines is not None:
        return f"line {int(parsed.lines[i])}"
    return f"row {i + 1}"


def _limma_mapping(names: list[str], label: str, meta: dict) -> dict[str, str]:
    """Map column names to canonical names: exact names first, then unambiguous aliases."""
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for name in names:
        if name in CANONICAL:
            mapping[name] = name
            taken.add(name)
    candidates: dict[str, list[str]] = {}
    for name in names:
        if name in mapping:
            continue
        target = ALIASES.get(column_key(name))
        if target is not None and target not in taken:
            candidates.setdefault(target, []).append(name)
    ambiguous = {}
    for target, cands in candidates.items():
        if len(cands) == 1:
            mapping[cands[0]] = target
        else:
            ambiguous[target] = cands
    if ambiguous:
        meta["ambiguous_aliases"] = ambiguous
        warnings.warn(
            f"{label}: columns {ambiguous} could each be the same limma column; none was "
            "renamed. Rename the one you mean before reading.",
            ColumnAliasWarning,
            stacklevel=4,
        )
    return mapping


def _check_canonical(arr: np.ndarray, name: str, target: str, parsed: _Parsed) -> None:
    label = parsed.label
    if arr.size and np.isnan(arr).all():
        msg = f"{label}: column {name!r} has no values (all missing)"
        raise ValueError(msg)
    inf = np.flatnonzero(np.isinf(arr))
    if inf.size:
        msg = (
            f"{label}: column {name!r} has {inf.size} infinite value(s), first at "
            f"{parsed.where(int(inf[0]))}"
        )
        raise ValueError(msg)
    if target in PVALUE_COLUMNS:
        bad = np.flatnonzero((arr < 0) | (arr > 1))
        if bad.size:
            i = int(bad[0])
            msg = (
                f"{label}: column {name!r} holds P-values but {bad.size} value(s) lie outside "
                f"[0, 1], first at {parsed.where(i)}: {float(arr[i])!r}"
            )
            raise ValueError(msg)


def _handle_duplicates(frame: pd.DataFrame, parsed: _Parsed, duplicates: str) -> pd.DataFrame:
    dup_mask = frame.index.duplicated(keep=False)
    if not dup_mask.any():
        return frame
    label = parsed.label
    dup_ids = pd.unique(frame.index[dup_mask])
    if duplicates == "error":
        shown = []
        for g in dup_ids[:5]:
            pos = np.flatnonzero(frame.index == g)
            where = (
                ", ".join(str(int(parsed.lines[p])) for p in pos[:4])
                if parsed.lines is not None
                else ", ".join(str(int(p) + 1) for p in pos[:4])
            )
            shown.append(f"{g!r} ({'lines' if parsed.lines is not None else 'rows'} {where})")
        more = f" and {len(dup_ids) - 5} more" if len(dup_ids) > 5 else ""
        msg = (
            f"{label}: {len(dup_ids)} gene IDs occur more than once: {', '.join(shown)}{more}. "
            "Pass duplicates='first' to keep the first row of each, or duplicates='mean' to "
            "average them"
        )
        raise ValueError(msg)
    parsed.meta["duplicates"] = {"policy": duplicates, "n_ids": len(dup_ids)}
    warnings.warn(
        f"{label}: {len(dup_ids)} duplicated gene IDs resolved with duplicates={duplicates!r}",
        DataWarning,
        stacklevel=4,
    )
    if duplicates == "first":
        return frame[~frame.index.duplicated(keep="first")]
    numeric = frame.select_dtypes("number").columns
    grouped = frame.groupby(level=0, sort=False)
    out = grouped.first()
    out[numeric] = grouped[list(numeric)].mean()
    out.index.name = frame.index.name
    return out[frame.columns]


def _warn_excel_dates(index: pd.Index, label: str) -> None:
    # every date form _EXCEL_DATE matches has at most 10 characters and a "-" or "/"
    hits = [
        g
        for g in map(str, index[:200000])
        if len(g) <= 10 and ("-" in g or "/" in g) and _EXCEL_DATE.match(g)
    ]
    if hits:
        warnings.warn(
            f"{label}: {len(hits)} gene IDs look like dates a spreadsheet made of gene names "
            f"(e.g. {hits[:5]}; MARCH1 becomes '1-Mar', SEPT2 '2-Sep'). Recover the original "
            "names from the source before trusting these rows.",
            ExcelDateWarning,
            stacklevel=4,
        )


def _check_pvalue_order(frame: pd.DataFrame, label: str) -> None:
    if not {"P.Value", "adj.P.Val"} <= set(frame.columns):
        return
    p, q = frame["P.Value"].to_numpy(), frame["adj.P.Val"].to_numpy()
    ok = ~(np.isnan(p) | np.isnan(q))
    # adjusted P-values are never below raw ones (allow rounding in exported files)
    bad = int(np.sum(q[ok] < p[ok] * (1 - 1e-3) - 1e-12))
    if bad:
        warnings.warn(
            f"{label}: adj.P.Val is below P.Value for {bad} genes; are the two columns swapped?",
            DataWarning,
            stacklevel=4,
        )


def _guess_format(parsed: _Parsed, meta: dict) -> str:
    names = set(parsed.columns)
    if meta.get("mapped_from"):
        return f"{meta['mapped_from']} results"
    if parsed.id_name == "ID" and ({"Gene.symbol", "Gene.title"} & names):
        return "GEO2R export"
    if meta.get("source") == "DataFrame":
        return "DataFrame"
    if parsed.id_name is None:
        return "limma topTable (row names)"
    return "table"


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
    raw, _ = _read_bytes(path, max_size)
    with _wide_fields():
        frame = _read_matrix_fast(raw, label, sep)
        if frame is None:
            frame = _read_matrix_careful(raw, label, sep)
    return frame


def _read_matrix_careful(raw: bytes, label: str, sep: str | None) -> pd.DataFrame:
    """read_matrix's careful reader: every field a string, converted column by column."""
    text, _enc = _decode(raw, label)
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    if sep is None:
        sep = _detect_sep(lines, label)
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
        arr, bad = _to_float(df[col].tolist())
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
        if any(b in raw for b in _EXTRA_BREAK_BYTES):
            return None
        data: bytes | str = raw
        source = io.BytesIO(raw)
    else:
        text, _enc = _decode(raw, label)
        if any(c in text for c in _EXTRA_BREAKS):
            return None
        data = text
        source = io.StringIO(text)
    # the header must be the first line (no comment, blank or blank-looking line before it)
    prefix, whole = _first_lines(data, 64)
    lines = [ln for ln in prefix if ln.strip() and not ln.startswith("#")]
    if len(lines) < 2 or prefix[0] != lines[0] or prefix[0].count('"') % 2:
        return None
    if sep is None:
        if len(lines) < 20 and not whole:
            return None
        sep = _detect_sep(lines, label)
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
    if len(_split_fields(lines[1], sep)) != width or lines[1].rstrip().endswith(sep):
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
            na_values=dict.fromkeys(range(1, width), _NA_LIST),
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
        if _has_negative_zero(b):
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
        column, was_int = _float_column(block[name])
        if column is None:
            return None
        if isinstance(column, list):
            column, bad = _to_float(column)
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


def _first_lines(data: bytes | str, n: int) -> tuple[list[str], bool]:
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
