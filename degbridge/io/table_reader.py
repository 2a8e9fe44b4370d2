"""read_table: a differential-expression table from a file, a DataFrame or an R data.frame.

Two parsers give the same tables: a fast path for well-formed files (pandas' C reader with
correctly rounded ``round_trip`` floats) and a careful one for everything else (quoted values
and newlines, GEO2R group lines, row names without a header as R writes them), which also
words every error (the line and gene at fault). Column names are mapped to the canonical ones
(:mod:`degbridge.io.table`); limma, DESeq2 and edgeR tables are recognised.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import re
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._checks import is_r_object, isna
from .._exceptions import ColumnAliasWarning, DataWarning, ExcelDateWarning
from ._text import (
    EXTRA_BREAK_BYTES,
    NA_LIST,
    SEP_BYTES,
    ascii_lines,
    decode,
    detect_sep,
    float_column,
    has_negative_zero,
    isna_token,
    parse_failures,
    read_bytes,
    split_fields,
    to_float,
    wide_fields,
)
from .table import (
    ALIASES,
    CANONICAL,
    DESEQ2_MAP,
    EDGER_MAP,
    ID_NAMES,
    NA_TOKENS,
    PVALUE_COLUMNS,
    DETable,
    column_key,
)

logger = logging.getLogger("degbridge")


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
        with wide_fields():
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


def _parsed_from_path(
    path: Path,
    id_column: str | None,
    sep: str | None,
    max_size: int | None = None,
    *,
    fast: bool = True,
) -> _Parsed:
    """Header, rows and row names of a table file: one pass over the decoded text.

    The header is found here (the GEO2R group line skipped); the body goes to pandas' C reader
    (:func:`_parsed_fast`) when ``fast=True``, else to the careful csv path
    (:func:`_careful_records`, then :func:`_parsed_from_records`), which number the lines of
    their error messages from ``head``. With ``fast=True`` a well-formed body is parsed by
    pandas' C reader,
    which gives the same result; anything unusual goes through the careful csv path. An
    ASCII file with "\\n" line ends is neither decoded nor split whole unless the careful
    path needs it: its first lines are found in the bytes and pandas reads the rest as bytes.
    """
    label = f"file {str(path)!r}"
    raw, meta = read_bytes(path, max_size)
    plain = raw.isascii() and b"\r" not in raw and not any(b in raw for b in EXTRA_BREAK_BYTES)
    offsets: list[int] = []
    if plain:
        encoding, all_lines = "utf-8", None
        lines: Iterable[str] = ascii_lines(raw, offsets)
    else:
        text, encoding = decode(raw, label)
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
        sep = detect_sep([ln for ln in prefix[head:] if ln.strip()], label)
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
    records, line_no = _careful_records(all_lines[head:], head, sep, label)
    return _parsed_from_records(records, line_no, id_column, label, meta)


def _careful_records(body: list[str], head: int, sep: str, label: str):
    """The careful path: csv records over the text, not line by line (a quoted value may hold
    a newline), every field a string; and the 1-based line where each record ends."""
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
    return records, line_no


def _parsed_from_records(records, line_no, id_column, label: str, meta: dict) -> _Parsed:
    """Header, ID column and value columns of the careful path's records (R's row names
    without a header, trailing delimiters, ragged lines and duplicate names handled)."""
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


def _line_layout(body: bytes, sep: str, ncol: int) -> np.ndarray | None:
    """0-based index of each non-blank line of ``body`` when every such line is one record of
    exactly ``ncol`` fields and quotes only wrap whole fields; None otherwise.

    A quote opens a field (after a delimiter or a line start) and closes it (before a
    delimiter or a line end), newlines never inside quotes: on such text the csv module and
    pandas split fields identically, so field counts are delimiters outside quotes plus one.
    """
    b = np.frombuffer(body, dtype=np.uint8)
    n = b.size
    code = SEP_BYTES[sep]
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
    if sep not in SEP_BYTES:
        return None
    if header_line.count('"') % 2:
        return None
    if first is None or first.count('"') % 2:
        return None
    header = [h.strip() for h in split_fields(header_line, sep)]
    width = len(split_fields(first, sep))
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
            na_values={j: NA_LIST for j in range(ncol) if j not in as_text},
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
        values, was_int = float_column(df[j])
        if values is None:
            return None
        integer |= was_int and bool((values == 0).any())
        columns[name] = values
    if integer and has_negative_zero(np.frombuffer(body, dtype=np.uint8)):
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
    if first and parse_failures(first):
        return 0  # a first column of text
    msg = (
        f"{label}: cannot tell which column holds the gene IDs (columns: {header}); "
        "pass id_column='...'"
    )
    raise ValueError(msg)


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
            arr, bad = to_float(values)
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
            col = pd.array([None if isna_token(v) else v for v in values], dtype="string")
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


_MONTHS = "jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec"


_EXCEL_DATE = re.compile(
    rf"^(\d{{1,2}}-({_MONTHS})|({_MONTHS})-\d{{1,2}}|\d{{4}}-\d{{2}}-\d{{2}}|\d{{1,2}}/\d{{1,2}}/\d{{2,4}})$",
    re.IGNORECASE,
)


_GROUP_LINE = re.compile(r'^\s*"?[0-9X]+"?\s*$')
