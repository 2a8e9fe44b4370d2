"""Plotting functions (matplotlib), scanpy style: each returns the Axes it drew into.

DE tables: :func:`volcano`, :func:`ma`, :func:`pvalue_histogram`. Expression matrices (numbers
computed by R's limma): :func:`mds`, :func:`voom_trend`. Pseudobulks: :func:`pseudobulk_qc`.
Sets of genes (contrasts of ``decide_tests``, methods of ``concordance``): :func:`upset`.
Comparisons: :func:`leaderboard`, :func:`predicted_vs_observed`, :func:`residuals`,
:func:`importances`, :func:`importance_heatmap`. The HTML report (:mod:`degbridge.report`)
draws its figures with these same functions.

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
no mathtext, no TeX (:func:`_literal`).
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

from ._checks import get_matrix, is_anndata, looks_like_counts
from ._io import atomic_path

__all__ = [
    "gene_labels",
    "importance_heatmap",
    "importances",
    "leaderboard",
    "ma",
    "mds",
    "mds_coordinates",
    "predicted_vs_observed",
    "pseudobulk_qc",
    "pvalue_histogram",
    "residuals",
    "upset",
    "volcano",
    "voom_trend",
]

#: Colours of genes: significant up, significant down, not significant.
UP, DOWN, NOT_SIG = "#d64545", "#2680c2", "#9aa5b1"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_TITLE_LEN = 80

#: Column names accepted for each quantity (limma, edgeR, DESeq2), first match wins.
COLUMNS: dict[str, tuple[str, ...]] = {
    "logFC": ("logFC", "log2FoldChange", "logFoldChange"),
    "P.Value": ("P.Value", "PValue", "pvalue"),
    "adj.P.Val": ("adj.P.Val", "FDR", "padj"),
    "AveExpr": ("AveExpr", "logCPM", "baseMean"),
}

# False inside :func:`_without_pyplot` (the report): new figures are plain Figure objects.
_PYPLOT: contextvars.ContextVar[bool] = contextvars.ContextVar("degbridge_pl_pyplot", default=True)


# ---------------------------------------------------------------------------------------
# shared helpers
# ---------------------------------------------------------------------------------------


def _literal(text, max_len: int = 40) -> str:
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


def _numbers(table: pd.DataFrame, col: str) -> np.ndarray:
    try:
        return pd.to_numeric(table[col], errors="raise").to_numpy(dtype=float)
    except (TypeError, ValueError):
        msg = f"column {col!r} must be numeric"
        raise ValueError(msg) from None


@contextlib.contextmanager
def _without_pyplot() -> Iterator[None]:
    """New figures are :class:`matplotlib.figure.Figure` objects unknown to pyplot and never
    shown (for the report: nothing accumulates in pyplot's figure list, no GUI backend)."""
    token = _PYPLOT.set(False)
    try:
        yield
    finally:
        _PYPLOT.reset(token)


def _axes(ax, figsize: tuple[float, float]):
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
def _plain_text() -> Iterator[None]:
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


def _finish(ax, title, show: bool | None, save) -> Any:
    """Title (literal), then save (atomically) and show as asked; return the Axes."""
    if title is not None:
        ax.set_title(_literal(title, _TITLE_LEN))
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


def _significance(table, cols, alpha: float, lfc: float, logfc: np.ndarray):
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
        sig = (_numbers(table, cols["adj.P.Val"]) < alpha) & (np.abs(logfc) >= lfc)
        return sig & (logfc > 0), sig & (logfc < 0)


def _three_groups(ax, x, y, up, down, *, s=(4, 5)) -> None:
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
    x = _numbers(table, cols["logFC"])
    up, down = _significance(table, cols, alpha, lfc, x)
    y = -np.log10(np.clip(_numbers(table, cols["P.Value"]), 1e-300, 1))
    ok = np.isfinite(x) & np.isfinite(y)
    with _plain_text():
        ax = _axes(ax, (5.2, 3.8))
        _three_groups(ax, x[ok], y[ok], up[ok], down[ok])
        if lfc > 0:
            for v in (-lfc, lfc):
                ax.axvline(v, color="#52606d", lw=0.6, ls="--")
        ax.set_xlabel(cols["logFC"])
        ax.set_ylabel(f"-log10 {cols['P.Value']}")
        if label:
            _label_top(ax, table, x, np.where(ok, y, np.nan), int(label))
        ax.legend(frameon=False, fontsize=8, markerscale=3)
        return _finish(ax, title, show, save)


def _label_top(ax, table, x, y, k: int) -> None:
    """Label the k most significant genes in a column beside the plot area, one row each."""
    finite = np.flatnonzero(np.isfinite(y))
    order = finite[np.argsort(-y[finite], kind="stable")[:k]]  # top to bottom
    names = gene_labels(table)
    for rank, i in enumerate(order):
        ax.annotate(
            _literal(names[i], 18), (x[i], y[i]), xycoords="data",
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
    y = _numbers(table, cols["logFC"])
    x = _numbers(table, cols["AveExpr"])
    up, down = _significance(table, cols, alpha, lfc, y)
    ok = np.isfinite(x) & np.isfinite(y)
    if cols["AveExpr"] == "baseMean":
        ok &= x > 0
    with _plain_text():
        ax = _axes(ax, (5.2, 3.8))
        _three_groups(ax, x[ok], y[ok], up[ok], down[ok])
        if cols["AveExpr"] == "baseMean":
            ax.set_xscale("log")
        ax.axhline(0, color="#52606d", lw=0.8)
        ax.set_xlabel(cols["AveExpr"])
        ax.set_ylabel(cols["logFC"])
        return _finish(ax, title, show, save)


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
    p = _numbers(table, cols["P.Value"])
    p = p[np.isfinite(p)]
    with _plain_text():
        ax = _axes(ax, (5.2, 3.8))
        ax.hist(p, bins=bins, range=(0, 1), color="#486581", edgecolor="white", linewidth=0.3)
        ax.set_xlabel(cols["P.Value"])
        ax.set_ylabel("genes")
        return _finish(ax, title, show, save)


# ---------------------------------------------------------------------------------------
# expression matrices (numbers from R)
# ---------------------------------------------------------------------------------------


def _matrix(expr, layer: str | None) -> tuple[np.ndarray, list[str], list[str], Any]:
    """(genes × samples float values, gene IDs, sample IDs, obs or None) of an input."""
    if is_anndata(expr):
        X = get_matrix(expr, layer)
        X = X.toarray() if hasattr(X, "toarray") else np.asarray(X)
        values = np.asarray(X, dtype=float).T
        genes, samples, obs = (
            list(map(str, expr.var_names)),
            list(map(str, expr.obs_names)),
            expr.obs,
        )
    elif isinstance(expr, pd.DataFrame):
        if layer is not None:
            msg = "layer= is for AnnData input"
            raise ValueError(msg)
        try:
            values = expr.to_numpy(dtype=float)
        except (TypeError, ValueError):
            msg = "the expression DataFrame (genes × samples) must hold numbers only"
            raise ValueError(msg) from None
        genes, samples, obs = list(map(str, expr.index)), list(map(str, expr.columns)), None
    elif isinstance(expr, np.ndarray):
        values = np.asarray(expr, dtype=float)
        if values.ndim != 2:
            msg = f"expected a genes × samples matrix, got {values.ndim}-D"
            raise ValueError(msg)
        genes = [str(i) for i in range(values.shape[0])]
        samples = [str(i + 1) for i in range(values.shape[1])]
        obs = None
    else:
        msg = (
            "expected a genes × samples DataFrame or array, or a samples × genes AnnData; "
            f"got {type(expr).__name__}"
        )
        raise TypeError(msg)
    if not np.isfinite(values).all():
        msg = "the expression matrix has missing or infinite values"
        raise ValueError(msg)
    return np.asfortranarray(values), genes, samples, obs


def _sample_labels(groups, samples: list[str], obs) -> pd.Series | None:
    """One label per sample: an obs column name (AnnData), a Series by sample, or a list."""
    if groups is None:
        return None
    if isinstance(groups, str):
        if obs is None or groups not in obs.columns:
            where = (
                f"obs columns are {list(map(str, obs.columns))}"
                if obs is not None
                else ("a column name needs AnnData input")
            )
            msg = f"groups={groups!r} is not an obs column; {where}"
            raise ValueError(msg)
        return pd.Series(obs[groups].astype(str).to_numpy(), index=samples)
    if isinstance(groups, pd.Series) and set(map(str, groups.index)) >= set(samples):
        s = groups.copy()
        s.index = s.index.map(str)
        return s.loc[samples].astype(str)
    values = list(groups)
    if len(values) != len(samples):
        msg = f"groups has {len(values)} labels for {len(samples)} samples"
        raise ValueError(msg)
    return pd.Series([str(v) for v in values], index=samples)


def mds_coordinates(
    expr,
    *,
    top: int = 500,
    gene_selection: str = "pairwise",
    counts: bool | None = None,
    layer: str | None = None,
) -> pd.DataFrame:
    """limma's ``plotMDS`` coordinates (computed in R), one row per sample.

    Parameters
    ----------
    expr
        Genes × samples DataFrame/array, or a samples × genes AnnData (``X`` or ``layer``).
    top
        Number of top genes used for each distance (``plotMDS(top=)``).
    gene_selection
        ``"pairwise"`` (limma's default) or ``"common"``.
    counts
        Whether ``expr`` holds counts: then limma uses log-CPM through an edgeR DGEList, as
        ``plotMDS(DGEList(counts))`` does. ``None`` detects counts (non-negative integers).

    Returns
    -------
    DataFrame with columns ``x`` and ``y`` indexed by sample; ``attrs["var_explained"]`` holds
    the proportion of variance explained by each dimension.
    """
    from . import r

    values, _, samples, _ = _matrix(expr, layer)
    if gene_selection not in ("pairwise", "common"):
        msg = f"gene_selection must be 'pairwise' or 'common', not {gene_selection!r}"
        raise ValueError(msg)
    if not isinstance(top, int | np.integer) or isinstance(top, bool) or top < 2:
        msg = f"top must be an integer >= 2, not {top!r}"
        raise ValueError(msg)
    if values.shape[1] < 3:
        msg = f"MDS needs at least 3 samples, got {values.shape[1]}"
        raise ValueError(msg)
    if counts is None:
        counts = looks_like_counts(values)
    with r.R_LOCK:
        out = r.to_dict(
            r.call(
                "degbridge_plot_mds", r.float_matrix(values, has_nan=False),
                top=r.scalar(int(top)), **{"gene.selection": r.scalar(gene_selection)},
                counts=r.scalar(bool(counts)),
            )
        )  # fmt: skip
        coords = pd.DataFrame(
            {"x": r.to_numpy(out["x"]), "y": r.to_numpy(out["y"])}, index=pd.Index(samples)
        )
        coords.attrs["var_explained"] = r.to_numpy(out["var_explained"]).tolist()
    return coords


def mds(
    expr,
    *,
    groups=None,
    top: int = 500,
    gene_selection: str = "pairwise",
    counts: bool | None = None,
    layer: str | None = None,
    labels: bool = True,
    title: str | None = None,
    ax=None,
    show: bool | None = None,
    save: str | os.PathLike | None = None,
):
    """Multidimensional scaling of samples, as limma's ``plotMDS`` (coordinates from R).

    Parameters
    ----------
    expr, top, gene_selection, counts, layer
        See :func:`mds_coordinates`.
    groups
        Colour samples by group: one label per sample, a Series indexed by sample, or (for
        AnnData) an ``obs`` column name.
    labels
        Write each sample's name beside its point (literally).
    title
        Drawn literally.
    ax, show, save
        See :mod:`degbridge.pl`.

    Returns
    -------
    The matplotlib Axes (one scatter collection per group, in sorted group order).
    """
    _, _, samples, obs = _matrix(expr, layer)
    by = _sample_labels(groups, samples, obs)
    coords = mds_coordinates(
        expr, top=top, gene_selection=gene_selection, counts=counts, layer=layer
    )
    var = coords.attrs["var_explained"]
    with _plain_text():
        ax = _axes(ax, (4.8, 4.2))
        if by is None:
            ax.scatter(coords["x"], coords["y"], s=24, c="#12355b")
        else:
            for level in sorted(by.unique()):
                sel = (by == level).to_numpy()
                ax.scatter(coords["x"][sel], coords["y"][sel], s=24, label=_literal(level, 30))
            ax.legend(frameon=False, fontsize=8)
        if labels:
            for name, (x, y) in zip(samples, coords[["x", "y"]].to_numpy()):
                ax.annotate(_literal(name, 24), (x, y), xytext=(3, 3),
                            textcoords="offset points", fontsize=7)  # fmt: skip
        ax.set_xlabel(f"Leading logFC dim 1 ({100 * var[0]:.0f}%)")
        ax.set_ylabel(f"Leading logFC dim 2 ({100 * var[1]:.0f}%)")
        return _finish(ax, title, show, save)


def _voom_trend_data(counts, design, groups, *, layer, normalize, filter) -> dict[str, np.ndarray]:
    from . import r
    from .design import design_from_groups

    values, _, samples, obs = _matrix(counts, layer)
    if not looks_like_counts(values):
        msg = "voom_trend needs counts (non-negative integers); this matrix holds other values"
        raise ValueError(msg)
    if (design is None) == (groups is None):
        msg = "pass exactly one of design= (samples × coefficients) or groups="
        raise ValueError(msg)
    if design is None:
        dmat = design_from_groups(_sample_labels(groups, samples, obs), samples).matrix
    else:
        dmat = np.asarray(
            design.loc[samples] if isinstance(design, pd.DataFrame) else design, dtype=float
        )
        if dmat.ndim != 2 or dmat.shape[0] != len(samples):
            msg = f"design must have one row per sample ({len(samples)}), got shape {dmat.shape}"
            raise ValueError(msg)
    if normalize not in ("TMM", "TMMwsp", "RLE", "upperquartile", "none"):
        msg = f"normalize must be one of TMM, TMMwsp, RLE, upperquartile, none; not {normalize!r}"
        raise ValueError(msg)
    with r.R_LOCK:
        out = r.to_dict(
            r.call(
                "degbridge_plot_voom", r.float_matrix(values, has_nan=False),
                r.float_matrix(np.asfortranarray(dmat)), normalize=r.scalar(normalize),
                filter=r.scalar(bool(filter)),
            )
        )  # fmt: skip
        return {k: r.to_numpy(v) for k, v in out.items()}


def voom_trend(
    counts,
    design=None,
    *,
    groups=None,
    layer: str | None = None,
    normalize: str = "TMM",
    filter: bool = True,
    title: str | None = None,
    ax=None,
    show: bool | None = None,
    save: str | os.PathLike | None = None,
):
    """voom's mean-variance trend: sqrt(standard deviation) against mean log-count per gene,
    with the lowess line voom fits (``voom(..., save.plot=TRUE)`` in R).

    Parameters
    ----------
    counts
        Raw counts: genes × samples DataFrame/array, or a samples × genes AnnData.
    design, groups
        The linear model: a samples × coefficients matrix/DataFrame, or one group label per
        sample (``~0 + group``; an ``obs`` column name for AnnData). Exactly one.
    layer
        AnnData layer with the counts (default ``X``).
    normalize, filter
        As in :func:`degbridge.run_limma`: ``calcNormFactors`` method, and whether
        ``filterByExpr`` runs first.
    title
        Drawn literally.
    ax, show, save
        See :mod:`degbridge.pl`.

    Returns
    -------
    The matplotlib Axes (the genes as one scatter collection, the trend as one line).
    """
    data = _voom_trend_data(counts, design, groups, layer=layer, normalize=normalize, filter=filter)
    with _plain_text():
        ax = _axes(ax, (5.2, 3.8))
        ax.scatter(data["sx"], data["sy"], s=3, c="#52606d", alpha=0.5, linewidths=0, label="genes")
        ax.plot(data["line_x"], data["line_y"], color="#d64545", lw=1.2, label="lowess trend")
        ax.set_xlabel("log2( count size + 0.5 )")
        ax.set_ylabel("Sqrt( standard deviation )")
        ax.legend(frameon=False, fontsize=8, markerscale=3)
        return _finish(ax, title, show, save)


# ---------------------------------------------------------------------------------------
# pseudobulks
# ---------------------------------------------------------------------------------------


def pseudobulk_qc(
    adata_pb,
    *,
    min_cells: int | None = None,
    min_counts: float | None = None,
    groupby: str | None = None,
    title: str | None = None,
    ax=None,
    show: bool | None = None,
    save: str | os.PathLike | None = None,
):
    """Cells against total counts per pseudobulk sample, with the thresholds drawn.

    Parameters
    ----------
    adata_pb
        The output of :func:`degbridge.pp.pseudobulk` (``obs["n_cells"]``, counts in ``X``,
        ``uns["pseudobulk"]``).
    min_cells
        The cell threshold to draw (vertical dashed line); default the one the pseudobulk used
        (``uns["pseudobulk"]["min_cells"]``). Samples dropped for having fewer cells
        (``uns["pseudobulk"]["dropped"]``) are drawn as grey ticks along the bottom.
    min_counts
        Optional counts threshold to draw (horizontal dashed line).
    groupby
        ``obs`` column colouring the samples (cell type); default the pseudobulk's ``groupby``.
    title
        Drawn literally.
    ax, show, save
        See :mod:`degbridge.pl`.

    Returns
    -------
    The matplotlib Axes: one scatter collection per group (sorted), a ``dropped`` collection
    when samples were dropped, log-scaled axes.
    """
    if not is_anndata(adata_pb):
        msg = (
            f"pseudobulk_qc takes the AnnData made by pp.pseudobulk, not {type(adata_pb).__name__}"
        )
        raise TypeError(msg)
    info = adata_pb.uns.get("pseudobulk", {})
    if "n_cells" not in adata_pb.obs.columns:
        msg = "adata_pb.obs lacks 'n_cells': pass the AnnData made by degbridge.pp.pseudobulk"
        raise ValueError(msg)
    if min_cells is None:
        min_cells = info.get("min_cells")
    groupby = groupby if groupby is not None else info.get("groupby")
    if groupby is not None and groupby not in adata_pb.obs.columns:
        msg = f"groupby={groupby!r} is not an obs column; obs columns are {list(map(str, adata_pb.obs.columns))}"
        raise ValueError(msg)
    cells = adata_pb.obs["n_cells"].to_numpy(dtype=float)
    X = adata_pb.X
    totals = np.asarray(X.sum(axis=1)).ravel().astype(float)
    dropped = info.get("dropped", {}) or {}
    with _plain_text():
        ax = _axes(ax, (5.2, 3.8))
        if groupby is None:
            ax.scatter(cells, totals, s=18, c="#12355b", label="samples")
        else:
            by = adata_pb.obs[groupby].astype(str).to_numpy()
            for level in sorted(set(by)):
                sel = by == level
                ax.scatter(cells[sel], totals[sel], s=18, label=_literal(level, 30))
        if dropped:
            from matplotlib.transforms import blended_transform_factory

            n = np.array([float(v) for v in dropped.values()])
            ax.scatter(n, np.full(len(n), 0.03), marker="|", s=60, c="#9aa5b1",
                       transform=blended_transform_factory(ax.transData, ax.transAxes),
                       label=f"dropped ({len(n)})")  # fmt: skip
        ax.set_xscale("log")
        ax.set_yscale("log")
        if dropped:  # the blended ticks do not take part in autoscaling: make room for them
            low, high = ax.get_xlim()
            ax.set_xlim(min(low, max(float(n.min()), 0.5) / 1.5), high)
        if min_cells is not None:
            ax.axvline(float(min_cells), color="#d64545", lw=0.9, ls="--",
                       label=f"min_cells = {min_cells}")  # fmt: skip
        if min_counts is not None:
            ax.axhline(float(min_counts), color="#d64545", lw=0.9, ls=":",
                       label=f"min_counts = {min_counts}")  # fmt: skip
        ax.set_xlabel("cells per pseudobulk sample")
        ax.set_ylabel("total counts")
        ax.legend(frameon=False, fontsize=7)
        return _finish(ax, title, show, save)


# ---------------------------------------------------------------------------------------
# sets of genes
# ---------------------------------------------------------------------------------------


def membership(data) -> pd.DataFrame:
    """Genes × sets of booleans from a ``DecideTests`` (non-zero: called), a ``Concordance``
    (its ``significant`` table) or a boolean/0-1 DataFrame."""
    if hasattr(data, "significant") and hasattr(data, "spearman"):
        data = data.significant
    if not isinstance(data, pd.DataFrame):
        msg = (
            "upset takes a genes × sets DataFrame (booleans or -1/0/1 as from decide_tests) "
            f"or a Concordance, not {type(data).__name__}"
        )
        raise TypeError(msg)
    if data.shape[1] == 0:
        msg = "upset needs at least one set (column); the table has none"
        raise ValueError(msg)
    bad = [str(c) for c in data.columns if not (
        pd.api.types.is_bool_dtype(data[c]) or pd.api.types.is_numeric_dtype(data[c])
    )]  # fmt: skip
    if bad:
        msg = f"upset: columns {bad} are neither booleans nor numbers (-1/0/1)"
        raise ValueError(msg)
    values = data.to_numpy(dtype=float)
    if np.isnan(values).any():
        col = str(data.columns[np.isnan(values).any(axis=0)][0])
        msg = f"upset: column {col!r} holds missing values; say which genes are in the set"
        raise ValueError(msg)
    return pd.DataFrame(values != 0, index=data.index, columns=[str(c) for c in data.columns])


def intersections(member: pd.DataFrame) -> pd.DataFrame:
    """Each gene counted once, in its exact combination of sets (genes in no set left out):
    one boolean column per set and ``n_genes``, largest first (the rule of
    :func:`degbridge.concordance`'s ``overlap``)."""
    from ._concordance import _upset

    return _upset(member)


def upset(
    data,
    *,
    max_combinations: int = 20,
    title: str | None = None,
    ax=None,
    show: bool | None = None,
    save: str | os.PathLike | None = None,
):
    """UpSet-style figure: how many genes are called in exactly each combination of sets.

    Parameters
    ----------
    data
        A :class:`~degbridge.fit.DecideTests` (genes × contrasts of -1/0/1: a gene is in a
        contrast's set when it is called up or down), a
        :class:`~degbridge.Concordance` (genes significant per method), or any genes × sets
        DataFrame of booleans.
    max_combinations
        Draw the largest this many combinations (the rest are summed in the caption).
    title
        Drawn literally.
    ax, show, save
        See :mod:`degbridge.pl`.

    Returns
    -------
    The matplotlib Axes: one bar per combination (its count written above it, the ``bars``
    container labelled ``"intersections"``), below them a dot matrix with one row per set
    (label: name and set size); filled dots mark the sets of each combination.
    """
    if (
        isinstance(max_combinations, bool)
        or not isinstance(max_combinations, int | np.integer)
        or max_combinations < 1
    ):
        msg = f"max_combinations must be a positive integer, not {max_combinations!r}"
        raise ValueError(msg)
    member = membership(data)
    combos = intersections(member)
    shown = combos.head(int(max_combinations))
    names = list(member.columns)
    k, m = len(names), len(shown)
    with _plain_text():
        ax = _axes(ax, (max(4.0, 0.38 * m + 2.4), 2.6 + 0.3 * k))
        height = 1.6 * max(k, 2)  # bar area in dot-row units
        top = float(shown["n_genes"].max()) if m else 1.0
        xs = np.arange(m)
        heights = shown["n_genes"].to_numpy(float) / top * height if m else np.array([])
        ax.bar(xs, heights, bottom=0.6, width=0.6, color="#12355b", label="intersections")
        for x, h, n in zip(xs, heights, shown["n_genes"]):
            ax.text(x, 0.6 + h + 0.08, f"{int(n):,}", ha="center", va="bottom", fontsize=7)
        sizes = member.sum()
        rows = -np.arange(1, k + 1, dtype=float)
        for j in range(0, k, 2):
            ax.axhspan(rows[j] - 0.5, rows[j] + 0.5, color="#f0f4f8", zorder=0)
        if m:
            grid_x = np.repeat(xs, k)
            grid_y = np.tile(rows, m)
            filled = shown[names].to_numpy(bool).ravel()
            ax.scatter(grid_x[~filled], grid_y[~filled], s=28, c="#d9e2ec", zorder=2,
                       label="not in set")  # fmt: skip
            ax.scatter(grid_x[filled], grid_y[filled], s=28, c="#12355b", zorder=3,
                       label="in set")  # fmt: skip
            for x, row in zip(xs, shown[names].to_numpy(bool)):
                ys = rows[row]
                if len(ys) > 1:
                    ax.plot([x, x], [ys.min(), ys.max()], color="#12355b", lw=1.5, zorder=2)
        ax.set_yticks(rows, [f"{_literal(n, 30)} ({int(sizes[n]):,})" for n in names])
        ax.set_xticks([])
        ax.set_xlim(-0.7, max(m, 1) - 0.3)
        ax.set_ylim(-k - 0.6, 0.6 + height * 1.15 + 0.3)
        for side in ("top", "right", "bottom", "left"):
            ax.spines[side].set_visible(False)
        rest = combos["n_genes"].iloc[m:].sum()
        note = (
            f"genes called in each exact combination of sets; {len(combos) - m} smaller combinations ({int(rest):,} genes) not drawn"
            if rest
            else "genes called in each exact combination of sets"
        )
        ax.set_xlabel(note, fontsize=7)
        return _finish(ax, title, show, save)


# ---------------------------------------------------------------------------------------
# comparisons
# ---------------------------------------------------------------------------------------


def _check_comparison(res, attrs: Sequence[str]) -> None:
    missing = [a for a in attrs if not hasattr(res, a)]
    if missing:
        msg = f"expected a degbridge Comparison (from degbridge.compare), got {type(res).__name__}"
        raise TypeError(msg)


def leaderboard(
    res,
    *,
    title: str | None = None,
    ax=None,
    show: bool | None = None,
    save: str | os.PathLike | None = None,
):
    """Cross-validated R² per model (bars ± sd over folds; test R² as diamonds).

    The best model's bar is dark blue; R² below −1 is drawn at −1. Models that failed are
    left out. Parameters ``ax, show, save``: see :mod:`degbridge.pl`; ``title`` drawn
    literally. Returns the Axes.
    """
    _check_comparison(res, ("leaderboard", "best"))
    lb = res.leaderboard[res.leaderboard["status"] == "ok"]
    key = "cv_r2_mean" if lb["cv_r2_mean"].notna().any() else "test_r2"
    lb = lb.sort_values(key)
    yy = np.arange(len(lb))
    colors = ["#12355b" if m == res.best.name else "#829ab1" for m in lb["model"]]
    xerr = lb["cv_r2_sd"].fillna(0).to_numpy() if key == "cv_r2_mean" else None
    with _plain_text():
        ax = _axes(ax, (5.6, 0.35 * len(lb) + 1.4))
        ax.barh(yy, lb[key].clip(lower=-1), xerr=xerr, color=colors, ecolor="#334e68", capsize=2)
        ax.scatter(lb["test_r2"].clip(lower=-1), yy, marker="D", s=18, color="#f0b429", zorder=3,
                   label="test R²")  # fmt: skip
        ax.set_yticks(yy, [_literal(m) for m in lb["model"]])
        ax.set_xlabel("R² (CV mean ± sd; diamonds: test)")
        ax.axvline(0, color="#52606d", lw=0.8)
        ax.legend(frameon=False, fontsize=8, loc="lower right")
        return _finish(ax, title, show, save)


def predicted_vs_observed(
    res,
    *,
    title: str | None = None,
    ax=None,
    show: bool | None = None,
    save: str | os.PathLike | None = None,
):
    """The best model's predictions against the observed target.

    Training genes show out-of-fold predictions (grey-blue; in-sample when ``cv=None``), test
    genes the model refitted on all training genes (red); the diagonal is y = x. Parameters
    ``ax, show, save``: see :mod:`degbridge.pl`; ``title`` drawn literally. Returns the Axes.
    """
    _check_comparison(res, ("predictions", "target"))
    p = res.predictions
    train = (p["split"] == "train").to_numpy()
    has_oof = bool(p["oof"].notna().any())
    yhat = p["oof"].where(train, p["predicted"]) if has_oof else p["predicted"]
    with _plain_text():
        ax = _axes(ax, (5.2, 3.8))
        ax.scatter(p["observed"][train], yhat[train], s=4, alpha=0.4, c="#829ab1", linewidths=0,
                   label="training genes (out-of-fold)" if has_oof
                   else "training genes (in-sample: cv=None)")  # fmt: skip
        ax.scatter(p["observed"][~train], yhat[~train], s=6, alpha=0.8, c="#d64545",
                   linewidths=0, label="test genes")  # fmt: skip
        lo, hi = np.nanmin(p["observed"]), np.nanmax(p["observed"])
        ax.plot([lo, hi], [lo, hi], color="#1f2933", lw=0.8)
        ax.set_xlabel(f"observed {_literal(res.target)}")
        ax.set_ylabel(f"predicted {_literal(res.target)}")
        ax.legend(frameon=False, fontsize=8, markerscale=3)
        return _finish(ax, title, show, save)


def residuals(
    res,
    *,
    title: str | None = None,
    ax=None,
    show: bool | None = None,
    save: str | os.PathLike | None = None,
):
    """Residuals (observed − predicted) of the best model on the held-out test genes.

    Parameters ``ax, show, save``: see :mod:`degbridge.pl`; ``title`` drawn literally.
    Returns the Axes.
    """
    _check_comparison(res, ("predictions", "target"))
    p = res.predictions
    test = (p["split"] == "test").to_numpy()
    with _plain_text():
        ax = _axes(ax, (5.2, 3.8))
        ax.scatter(p["predicted"][test], p["residual"][test], s=6, alpha=0.7, c="#d64545",
                   linewidths=0)  # fmt: skip
        ax.axhline(0, color="#1f2933", lw=0.8)
        ax.set_xlabel(f"predicted {_literal(res.target)}")
        ax.set_ylabel("residual (observed - predicted)")
        return _finish(ax, title, show, save)


def _flagged(res) -> set:
    leak = getattr(res, "leakage", None)
    if leak is None or len(leak) == 0:
        return set()
    return set(leak.index[leak["flagged"]])


def importances(
    res,
    model: str | None = None,
    *,
    top: int | None = 15,
    title: str | None = None,
    ax=None,
    show: bool | None = None,
    save: str | os.PathLike | None = None,
):
    """Permutation importances of one model (mean ± sd over repeats on the test genes).

    Parameters
    ----------
    res
        A :class:`degbridge.Comparison` computed with permutation repeats.
    model
        The model (default the best one).
    top
        Show the ``top`` most important features (``None``: all).
    title
        Drawn literally.
    ax, show, save
        See :mod:`degbridge.pl`.

    Returns
    -------
    The matplotlib Axes; red bars are features the leakage audit flagged.
    """
    _check_comparison(res, ("importances", "best"))
    imp = res.importances
    if imp is None or imp.empty or imp["perm_mean"].isna().all():
        msg = "this comparison has no permutation importances (permutation_repeats=0?)"
        raise ValueError(msg)
    model = res.best.name if model is None else model
    if model not in set(imp["model"]):
        msg = (
            f"model {model!r} has no importances; models are {sorted(map(str, set(imp['model'])))}"
        )
        raise ValueError(msg)
    if top is not None and (not isinstance(top, int | np.integer) or top < 1):
        msg = f"top must be a positive integer or None, not {top!r}"
        raise ValueError(msg)
    rows = imp[imp["model"] == model].sort_values("perm_mean")
    if top is not None:
        rows = rows.iloc[max(len(rows) - int(top), 0) :]
    flagged = _flagged(res)
    colors = ["#e12d39" if f in flagged else "#12355b" for f in rows["feature"]]
    with _plain_text():
        ax = _axes(ax, (5.2, 0.32 * len(rows) + 1.4))
        ax.barh(np.arange(len(rows)), rows["perm_mean"], xerr=rows["perm_sd"], color=colors,
                ecolor="#334e68", capsize=2)  # fmt: skip
        ax.set_yticks(np.arange(len(rows)), [_literal(f) for f in rows["feature"]])
        ax.set_xlabel("permutation importance (drop in test R²)")
        return _finish(ax, title, show, save)


def importance_heatmap(
    res,
    *,
    title: str | None = None,
    ax=None,
    show: bool | None = None,
    save: str | os.PathLike | None = None,
):
    """Permutation importance of every feature (rows) in every model (columns), each column
    scaled to its model's largest importance. Parameters ``ax, show, save``: see
    :mod:`degbridge.pl`; ``title`` drawn literally. Returns the Axes."""
    _check_comparison(res, ("importances",))
    imp = res.importances
    if imp is None or imp.empty or imp["perm_mean"].isna().all():
        msg = "this comparison has no permutation importances (permutation_repeats=0?)"
        raise ValueError(msg)
    wide = imp.pivot(index="feature", columns="model", values="perm_mean")
    scaled = wide.div(wide.abs().max(axis=0).replace(0, np.nan), axis=1)
    with _plain_text():
        ax = _axes(ax, (0.55 * wide.shape[1] + 2.5, 0.35 * wide.shape[0] + 1.8))
        im = ax.imshow(scaled.to_numpy(dtype=float), aspect="auto", cmap="RdBu_r", vmin=-1, vmax=1)
        ax.set_xticks(np.arange(wide.shape[1]), [_literal(m) for m in wide.columns], rotation=60,
                      ha="right", fontsize=8)  # fmt: skip
        ax.set_yticks(np.arange(wide.shape[0]), [_literal(f) for f in wide.index], fontsize=8)
        ax.figure.colorbar(im, ax=ax, fraction=0.04, label="scaled to each model's maximum")
        return _finish(ax, title, show, save)
