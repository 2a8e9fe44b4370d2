"""Plots of DE tables: volcano, MA (mean-difference) and P-value histogram.

Each takes a table of limma, edgeR or DESeq2 (columns found by :func:`resolve_columns`) and
returns the Axes it drew into; see :mod:`degbridge.pl` for the common keywords.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from ._base import (
    DOWN,
    NOT_SIG,
    UP,
    finish,
    gene_labels,
    literal,
    new_axes,
    numbers,
    plain_text,
    resolve_columns,
)


def significance(table, cols, alpha: float, lfc: float, logfc: np.ndarray):
    """(up, down) boolean masks: adj. P < alpha and |logFC| >= lfc; nothing without adj. P."""
    if not (isinstance(alpha, float | int) and 0 < alpha <= 1):
        msg = f"alpha must be a number in (0, 1], not {alpha!r}"
        raise ValueError(msg)
    if not (isinstance(lfc, float | int) and lfc >= 0):
        msg = f"lfc must be a number >= 0, not {lfc!r}"
        raise ValueError(msg)
    if "adj.P.Val" not in cols:
        none = np.zeros(len(table), dtype=bool)
        return none, none
    with np.errstate(invalid="ignore"):
        sig = (numbers(table, cols["adj.P.Val"]) < alpha) & (np.abs(logfc) >= lfc)
        return sig & (logfc > 0), sig & (logfc < 0)


def three_groups(ax, x, y, up, down, *, s=(4, 5)) -> None:
    """Scatter not-significant, up and down genes (one collection each, labelled)."""
    ns = ~(up | down)
    ax.scatter(x[ns], y[ns], s=s[0], c=NOT_SIG, alpha=0.5, linewidths=0, label="not significant")
    ax.scatter(x[up], y[up], s=s[1], c=UP, alpha=0.7, linewidths=0, label="up")
    ax.scatter(x[down], y[down], s=s[1], c=DOWN, alpha=0.7, linewidths=0, label="down")


def volcano(
    table: pd.DataFrame,
    *,
    alpha: float = 0.05,
    lfc: float = 0.0,
    label: int = 5,
    title: str | None = None,
    ax=None,
    show: bool | None = None,
    save: str | os.PathLike | None = None,
):
    """Volcano plot: logFC against −log10 P-value, significant genes coloured.

    Parameters
    ----------
    table
        A DE table (limma, edgeR or DESeq2 column names): needs logFC and a P-value column;
        with an adjusted P-value column genes are coloured red (up) or blue (down) when
        adj. P < ``alpha`` and ``|logFC| >= lfc``.
    alpha, lfc
        Significance thresholds (``lfc`` is drawn as two dashed lines when > 0).
    label
        How many of the most significant genes to label (by symbol when the table has a
        ``symbol`` column, else by gene ID), in a column beside the plot; 0 for none.
    title
        Drawn literally.
    ax, show, save
        See :mod:`degbridge.pl`.

    Returns
    -------
    The matplotlib Axes.
    """
    cols = resolve_columns(table, ("logFC", "P.Value"), ("adj.P.Val",))
    if not isinstance(label, int | np.integer) or isinstance(label, bool) or label < 0:
        msg = f"label must be a number of genes >= 0, not {label!r}"
        raise ValueError(msg)
    x = numbers(table, cols["logFC"])
    up, down = significance(table, cols, alpha, lfc, x)
    y = -np.log10(np.clip(numbers(table, cols["P.Value"]), 1e-300, 1))
    ok = np.isfinite(x) & np.isfinite(y)
    with plain_text():
        ax = new_axes(ax, (5.2, 3.8))
        three_groups(ax, x[ok], y[ok], up[ok], down[ok])
        if lfc > 0:
            for v in (-lfc, lfc):
                ax.axvline(v, color="#52606d", lw=0.6, ls="--")
        ax.set_xlabel(cols["logFC"])
        ax.set_ylabel(f"-log10 {cols['P.Value']}")
        if label:
            label_top(ax, table, x, np.where(ok, y, np.nan), int(label))
        ax.legend(frameon=False, fontsize=8, markerscale=3)
        return finish(ax, title, show, save)


def label_top(ax, table, x, y, k: int) -> None:
    """Label the k most significant genes in a column beside the plot area, one row each."""
    finite = np.flatnonzero(np.isfinite(y))
    order = finite[np.argsort(-y[finite], kind="stable")[:k]]  # top to bottom
    names = gene_labels(table)
    for rank, i in enumerate(order):
        ax.annotate(
            literal(names[i], 18), (x[i], y[i]), xycoords="data",
            xytext=(1.02, 0.98 - 0.07 * rank), textcoords="axes fraction", fontsize=6.5,
            va="center", arrowprops={"arrowstyle": "-", "lw": 0.4, "color": "#52606d"},
        )  # fmt: skip


def ma(
    table: pd.DataFrame,
    *,
    alpha: float = 0.05,
    lfc: float = 0.0,
    title: str | None = None,
    ax=None,
    show: bool | None = None,
    save: str | os.PathLike | None = None,
):
    """MA plot: average expression against logFC, coloured as in :func:`volcano`.

    Parameters
    ----------
    table
        A DE table with logFC and an average-expression column (``AveExpr``, edgeR's
        ``logCPM``, or DESeq2's ``baseMean``, drawn on a log axis).
    alpha, lfc
        Significance thresholds (adjusted P-value column needed for colouring).
    title
        Drawn literally.
    ax, show, save
        See :mod:`degbridge.pl`.

    Returns
    -------
    The matplotlib Axes.
    """
    cols = resolve_columns(table, ("logFC", "AveExpr"), ("adj.P.Val",))
    y = numbers(table, cols["logFC"])
    x = numbers(table, cols["AveExpr"])
    up, down = significance(table, cols, alpha, lfc, y)
    ok = np.isfinite(x) & np.isfinite(y)
    if cols["AveExpr"] == "baseMean":
        ok &= x > 0
    with plain_text():
        ax = new_axes(ax, (5.2, 3.8))
        three_groups(ax, x[ok], y[ok], up[ok], down[ok])
        if cols["AveExpr"] == "baseMean":
            ax.set_xscale("log")
        ax.axhline(0, color="#52606d", lw=0.8)
        ax.set_xlabel(cols["AveExpr"])
        ax.set_ylabel(cols["logFC"])
        return finish(ax, title, show, save)


def pvalue_histogram(
    table: pd.DataFrame,
    *,
    bins: int = 50,
    title: str | None = None,
    ax=None,
    show: bool | None = None,
    save: str | os.PathLike | None = None,
):
    """Histogram of raw P-values (flat with a peak near 0 is the healthy shape).

    Parameters
    ----------
    table
        A DE table with a P-value column (``P.Value``, ``PValue`` or ``pvalue``).
    bins
        Number of bins over [0, 1].
    title
        Drawn literally.
    ax, show, save
        See :mod:`degbridge.pl`.

    Returns
    -------
    The matplotlib Axes.
    """
    cols = resolve_columns(table, ("P.Value",))
    p = numbers(table, cols["P.Value"])
    p = p[np.isfinite(p)]
    with plain_text():
        ax = new_axes(ax, (5.2, 3.8))
        ax.hist(p, bins=bins, range=(0, 1), color="#486581", edgecolor="white", linewidth=0.3)
        ax.set_xlabel(cols["P.Value"])
        ax.set_ylabel("genes")
        return finish(ax, title, show, save)
