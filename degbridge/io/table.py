"""DETable: a gene-indexed differential-expression table, and its column vocabulary.

A :class:`DETable` is a :class:`pandas.DataFrame` whose index holds gene identifiers (as
strings, never reordered or lost) and whose columns use limma's canonical names
``logFC, AveExpr, t, P.Value, adj.P.Val, B`` (those present) followed by any other columns.
Its ``meta`` dict records where the table came from: source, format, contrast, method,
column renames, missing-value counts.
"""

from __future__ import annotations

import copy
import gzip
import logging
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from .files import atomic_write

__all__ = ["CANONICAL", "DETable", "column_key", "table_mapping"]

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


# ----------------------------------------------------------------------------------------
# the fast path: pandas' C reader on well-formed text, the same result as the careful path
# ----------------------------------------------------------------------------------------
