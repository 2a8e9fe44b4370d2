"""What every plot shares: colours, column lookup, literal text, Axes and saving.

Every data-derived string drawn (gene, sample, feature, model and target names) goes through
:func:`literal`: no mathtext, no TeX, control characters as spaces, long text cut.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import re
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..io.files import atomic_path

__all__ = [
    "COLUMNS",
    "DOWN",
    "NOT_SIG",
    "TITLE_LEN",
    "UP",
    "finish",
    "gene_labels",
    "literal",
    "new_axes",
    "numbers",
    "plain_text",
    "quiet_glyphs",
    "resolve_columns",
    "without_pyplot",
]

#: Colours of genes: significant up, significant down, not significant.
UP, DOWN, NOT_SIG = "#d64545", "#2680c2", "#9aa5b1"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
TITLE_LEN = 80

#: Column names accepted for each quantity (limma, edgeR, DESeq2), first match wins.
COLUMNS: dict[str, tuple[str, ...]] = {
    "logFC": ("logFC", "log2FoldChange", "logFoldChange"),
    "P.Value": ("P.Value", "PValue", "pvalue"),
    "adj.P.Val": ("adj.P.Val", "FDR", "padj"),
    "AveExpr": ("AveExpr", "logCPM", "baseMean"),
}

# False inside :func:`without_pyplot` (the report): new figures are plain Figure objects.
_PYPLOT: contextvars.ContextVar[bool] = contextvars.ContextVar("degbridge_pl_pyplot", default=True)


# ---------------------------------------------------------------------------------------
# shared helpers
# ---------------------------------------------------------------------------------------


def literal(text, max_len: int = 40) -> str:
    """Text that matplotlib draws literally, at most ``max_len`` characters.

    Every ``$`` is escaped (``\\$`` is a literal dollar in matplotlib, so no text is parsed as
    mathtext), control characters (newlines, tabs, NUL...) become spaces, and longer text is
    cut with an ellipsis. Used for every data-derived string drawn in a figure: tick labels,
    annotations, titles and axis labels.
    """
    text = _CONTROL.sub(" ", str(text))
    if len(text) > max_len:
        text = text[: max_len - 1] + "…"
    return text.replace("$", r"\$")


def gene_labels(table: pd.DataFrame) -> list[str]:
    """Gene symbols where the table carries them (a ``symbol`` column, e.g. joined from
    :func:`degbridge.gene_annotation`), else the gene IDs."""
    ids = [str(g) for g in table.index]
    col = next((c for c in table.columns if str(c).lower() in ("symbol", "gene.symbol")), None)
    if col is None:
        return ids
    return [str(s) if isinstance(s, str) and s.strip() else g for s, g in zip(table[col], ids)]


def resolve_columns(
    table: pd.DataFrame, need: Sequence[str], optional: Sequence[str] = ()
) -> dict[str, str]:
    """The table's column for each quantity in ``need`` (and ``optional``, when present).

    Quantities are limma's names (``logFC``, ``P.Value``, ``adj.P.Val``, ``AveExpr``); edgeR's
    (``PValue``, ``FDR``, ``logCPM``) and DESeq2's (``log2FoldChange``, ``pvalue``, ``padj``,
    ``baseMean``) are accepted. Raises ValueError naming the columns needed and those present.
    """
    if not isinstance(table, pd.DataFrame):
        msg = f"expected a DE table (a pandas DataFrame), got {type(table).__name__}"
        raise TypeError(msg)
    found: dict[str, str] = {}
    missing = []
    for name in [*need, *optional]:
        col = next((c for c in COLUMNS.get(name, (name,)) if c in table.columns), None)
        if col is not None:
            found[name] = col
        elif name in need:
            missing.append(name)
    if missing:
        alts = "; ".join(f"{m}: one of {list(COLUMNS.get(m, (m,)))}" for m in missing)
        msg = (
            f"the table lacks the column(s) {missing} needed for this plot ({alts}); "
            f"its columns are {[str(c) for c in table.columns][:20]}"
        )
        raise ValueError(msg)
    return found


def numbers(table: pd.DataFrame, col: str) -> np.ndarray:
    try:
        return pd.to_numeric(table[col], errors="raise").to_numpy(dtype=float)
    except (TypeError, ValueError):
        msg = f"column {col!r} must be numeric"
        raise ValueError(msg) from None


@contextlib.contextmanager
def without_pyplot() -> Iterator[None]:
    """New figures are :class:`matplotlib.figure.Figure` objects unknown to pyplot and never
    shown (for the report: nothing accumulates in pyplot's figure list, no GUI backend)."""
    token = _PYPLOT.set(False)
    try:
        yield
    finally:
        _PYPLOT.reset(token)


def new_axes(ax, figsize: tuple[float, float]):
    if ax is not None:
        from matplotlib.axes import Axes

        if not isinstance(ax, Axes):
            msg = f"ax must be a matplotlib Axes, not {type(ax).__name__}"
            raise TypeError(msg)
        return ax
    if _PYPLOT.get():
        import matplotlib.pyplot as plt

        return plt.figure(figsize=figsize).add_subplot(111)
    from matplotlib.figure import Figure

    return Figure(figsize=figsize).add_subplot(111)


@contextlib.contextmanager
def plain_text() -> Iterator[None]:
    """Text created here is never sent to TeX (``text.usetex`` off)."""
    import matplotlib

    with matplotlib.rc_context({"text.usetex": False}):
        yield


@contextlib.contextmanager
def quiet_glyphs() -> Iterator[None]:
    """Missing-glyph warnings (exotic characters in IDs) are not the user's problem."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=r"Glyph \d+ .*missing from font", category=UserWarning
        )
        yield


def finish(ax, title, show: bool | None, save) -> Any:
    """Title (literal), then save (atomically) and show as asked; return the Axes."""
    if title is not None:
        ax.set_title(literal(title, TITLE_LEN))
    fig = ax.figure
    if save is not None:
        if not isinstance(save, str | os.PathLike):
            msg = f"save must be a file path, not {type(save).__name__}"
            raise TypeError(msg)
        fmt = Path(save).suffix.lstrip(".").lower() or "png"
        with atomic_path(save) as tmp, quiet_glyphs():
            fig.savefig(tmp, format=fmt, dpi=150, bbox_inches="tight")
    if show is None:
        import matplotlib

        show = matplotlib.is_interactive()
    if show and _PYPLOT.get():
        import matplotlib.pyplot as plt

        plt.show()
    return ax


# ---------------------------------------------------------------------------------------
# DE tables
# ---------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------
# expression matrices (numbers from R)
# ---------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------
# pseudobulks
# ---------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------
# sets of genes
# ---------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------
# comparisons
# ---------------------------------------------------------------------------------------
