"""Plotting functions (matplotlib), scanpy style: each returns the Axes it drew into.

DE tables: :func:`volcano`, :func:`ma`, :func:`pvalue_histogram`. Expression matrices (numbers
computed by R's limma): :func:`mds`, :func:`voom_trend`. Pseudobulks: :func:`pseudobulk_qc`.
Sets of genes (contrasts of ``decide_tests``, methods of ``concordance``): :func:`upset`.
Comparisons: :func:`leaderboard`, :func:`predicted_vs_observed`, :func:`residuals`,
:func:`importances`, :func:`importance_heatmap`. The HTML report (:mod:`degbridge.report`)
draws its figures with these same functions.

Interactive figures (Plotly, one self-contained HTML file each; shown inline in Jupyter):
:func:`interactive_ma` and :func:`interactive_volcano` (linked to the gene table and each
gene's expression per sample, as Glimma's), :func:`interactive_mds`,
:func:`interactive_predicted_vs_observed`. They return an :class:`InteractiveFigure`
(``.write(path)``); the report embeds the same figures.

Modules: :mod:`~degbridge.pl.de` (tables), :mod:`~degbridge.pl.samples` (matrices and
pseudobulks), :mod:`~degbridge.pl.sets` (UpSet), :mod:`~degbridge.pl.comparison`
(comparisons), :mod:`~degbridge.pl.interactive` (interactive figures); shared helpers in
``_base`` and ``_web`` (safe HTML embedding).

Common keywords
---------------
ax
    Draw into this Axes; by default a new figure is created (with :mod:`matplotlib.pyplot`).
show
    Call :func:`matplotlib.pyplot.show` after drawing. ``None`` (default) shows only in an
    interactive matplotlib session (:func:`matplotlib.is_interactive`, e.g. ``plt.ion()`` or
    IPython's ``%matplotlib``); scripts and tests draw without showing. The Axes is returned
    either way.
save
    A file path: the figure is written there (format from the suffix, PNG without one),
    atomically (a temporary file renamed onto the path when complete).

Every data-derived string drawn (gene, sample, feature, model and target names) is literal:
no mathtext, no TeX (:func:`literal`).
"""

from ._base import DOWN, NOT_SIG, UP, gene_labels, literal
from .comparison import (
    importance_heatmap,
    importances,
    leaderboard,
    predicted_vs_observed,
    residuals,
)
from .de import ma, pvalue_histogram, volcano
from .interactive import (
    InteractiveFigure,
    interactive_ma,
    interactive_mds,
    interactive_predicted_vs_observed,
    interactive_volcano,
)
from .samples import mds, mds_coordinates, mds_dimensions, pseudobulk_qc, voom_trend
from .sets import intersections, membership, upset

#: the name older callers use for :func:`literal`
_literal = literal

__all__ = [
    "DOWN",
    "NOT_SIG",
    "UP",
    "InteractiveFigure",
    "gene_labels",
    "importance_heatmap",
    "importances",
    "interactive_ma",
    "interactive_mds",
    "interactive_predicted_vs_observed",
    "interactive_volcano",
    "intersections",
    "leaderboard",
    "literal",
    "ma",
    "mds",
    "mds_coordinates",
    "mds_dimensions",
    "membership",
    "predicted_vs_observed",
    "pseudobulk_qc",
    "pvalue_histogram",
    "residuals",
    "upset",
    "volcano",
    "voom_trend",
]
