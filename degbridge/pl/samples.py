"""Plots of expression matrices: MDS (limma's ``plotMDS``, computed in R), the voom
mean-variance trend, and pseudobulk quality control.

Matrices are read as every DE method reads them (:func:`degbridge.de.backend.resolve_matrix`).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd

from .._checks import is_anndata, looks_like_counts
from ._base import (
    finish,
    literal,
    new_axes,
    plain_text,
)


def expression_matrix(expr, layer: str | None) -> tuple[np.ndarray, list[str], list[str], Any]:
    """(genes × samples float values, gene IDs, sample IDs, obs or None) of an input, read
    as every DE method reads it (:func:`degbridge.de.backend.resolve_matrix`)."""
    from ..de.backend import densify, resolve_matrix

    mat = resolve_matrix(expr, layer=layer)
    densify(mat, drop_zero=False)
    if not np.isfinite(mat.values).all():
        msg = "the expression matrix has missing or infinite values"
        raise ValueError(msg)
    return np.asfortranarray(mat.values), mat.genes, mat.samples, mat.obs


def sample_labels(groups, samples: list[str], obs) -> pd.Series | None:
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
    values, _, samples, _ = expression_matrix(expr, layer)
    counts = _check_mds(values, top, gene_selection, counts)
    out = _plot_mds(values, top, gene_selection, counts, (1, 2))
    coords = pd.DataFrame({"x": out["x"], "y": out["y"]}, index=pd.Index(samples))
    coords.attrs["var_explained"] = out["var_explained"].tolist()
    return coords


def mds_dimensions(
    expr,
    *,
    ndim: int | None = None,
    top: int = 500,
    gene_selection: str = "pairwise",
    counts: bool | None = None,
    layer: str | None = None,
) -> pd.DataFrame:
    """limma's ``plotMDS`` coordinates on several dimensions (computed in R), one row per
    sample: what :func:`degbridge.pl.interactive_mds` lets you browse two at a time.

    Parameters
    ----------
    expr, top, gene_selection, counts, layer
        See :func:`mds_coordinates`.
    ndim
        Number of dimensions, 2 to (samples − 1); default ``min(samples − 1, 8)``.

    Returns
    -------
    DataFrame with columns ``dim1`` ... ``dim<ndim>`` indexed by sample (``dim1``/``dim2`` are
    :func:`mds_coordinates`' ``x``/``y``); ``attrs["var_explained"]`` holds the proportion of
    variance explained by each of these dimensions.
    """
    values, _, samples, _ = expression_matrix(expr, layer)
    counts = _check_mds(values, top, gene_selection, counts)
    n = values.shape[1]
    if ndim is None:
        ndim = min(n - 1, 8)
    if not isinstance(ndim, int | np.integer) or isinstance(ndim, bool) or not 2 <= ndim < n:
        msg = f"ndim must be an integer from 2 to {n - 1} (samples - 1), not {ndim!r}"
        raise ValueError(msg)
    ndim = int(ndim)
    coords: dict[str, np.ndarray] = {}
    var = np.array([])
    for first in range(1, ndim + 1, 2):
        pair = (first, first + 1) if first < ndim else (ndim - 1, ndim)
        out = _plot_mds(values, top, gene_selection, counts, pair)
        coords[f"dim{pair[0]}"], coords[f"dim{pair[1]}"] = out["x"], out["y"]
        var = out["var_explained"]
    frame = pd.DataFrame({f"dim{d}": coords[f"dim{d}"] for d in range(1, ndim + 1)},
                         index=pd.Index(samples))  # fmt: skip
    frame.attrs["var_explained"] = var[:ndim].tolist()
    return frame


def _check_mds(values: np.ndarray, top, gene_selection: str, counts: bool | None) -> bool:
    """Validate plotMDS's arguments; return whether the values are counts."""
    if gene_selection not in ("pairwise", "common"):
        msg = f"gene_selection must be 'pairwise' or 'common', not {gene_selection!r}"
        raise ValueError(msg)
    if not isinstance(top, int | np.integer) or isinstance(top, bool) or top < 2:
        msg = f"top must be an integer >= 2, not {top!r}"
        raise ValueError(msg)
    if values.shape[1] < 3:
        msg = f"MDS needs at least 3 samples, got {values.shape[1]}"
        raise ValueError(msg)
    return looks_like_counts(values) if counts is None else bool(counts)


def _plot_mds(values: np.ndarray, top, gene_selection: str, counts: bool, dims: tuple[int, int]):
    """limma::plotMDS(dim.plot = dims) in R: x, y and the variance explained (all dimensions)."""
    from .. import r

    with r.R_LOCK:
        out = r.to_dict(
            r.call(
                "degbridge_plot_mds", r.float_matrix(values, has_nan=False),
                top=r.scalar(int(top)), **{"gene.selection": r.scalar(gene_selection)},
                counts=r.scalar(bool(counts)),
                **{"dim.plot": r.float_vector(np.asarray(dims, dtype=float))},
            )
        )  # fmt: skip
        return {k: np.asarray(r.to_numpy(out[k]), dtype=float) for k in ("x", "y", "var_explained")}


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
    _, _, samples, obs = expression_matrix(expr, layer)
    by = sample_labels(groups, samples, obs)
    coords = mds_coordinates(
        expr, top=top, gene_selection=gene_selection, counts=counts, layer=layer
    )
    var = coords.attrs["var_explained"]
    with plain_text():
        ax = new_axes(ax, (4.8, 4.2))
        if by is None:
            ax.scatter(coords["x"], coords["y"], s=24, c="#12355b")
        else:
            for level in sorted(by.unique()):
                sel = (by == level).to_numpy()
                ax.scatter(coords["x"][sel], coords["y"][sel], s=24, label=literal(level, 30))
            ax.legend(frameon=False, fontsize=8)
        if labels:
            for name, (x, y) in zip(samples, coords[["x", "y"]].to_numpy()):
                ax.annotate(literal(name, 24), (x, y), xytext=(3, 3),
                            textcoords="offset points", fontsize=7)  # fmt: skip
        ax.set_xlabel(f"Leading logFC dim 1 ({100 * var[0]:.0f}%)")
        ax.set_ylabel(f"Leading logFC dim 2 ({100 * var[1]:.0f}%)")
        return finish(ax, title, show, save)


def voom_trend_data(counts, design, groups, *, layer, normalize, filter) -> dict[str, np.ndarray]:
    from .. import r
    from ..de.design import design_from_groups

    values, _, samples, obs = expression_matrix(counts, layer)
    if not looks_like_counts(values):
        msg = "voom_trend needs counts (non-negative integers); this matrix holds other values"
        raise ValueError(msg)
    if (design is None) == (groups is None):
        msg = "pass exactly one of design= (samples × coefficients) or groups="
        raise ValueError(msg)
    if design is None:
        dmat = design_from_groups(sample_labels(groups, samples, obs), samples).matrix
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
    data = voom_trend_data(counts, design, groups, layer=layer, normalize=normalize, filter=filter)
    with plain_text():
        ax = new_axes(ax, (5.2, 3.8))
        ax.scatter(data["sx"], data["sy"], s=3, c="#52606d", alpha=0.5, linewidths=0, label="genes")
        ax.plot(data["line_x"], data["line_y"], color="#d64545", lw=1.2, label="lowess trend")
        ax.set_xlabel("log2( count size + 0.5 )")
        ax.set_ylabel("Sqrt( standard deviation )")
        ax.legend(frameon=False, fontsize=8, markerscale=3)
        return finish(ax, title, show, save)


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
    with plain_text():
        ax = new_axes(ax, (5.2, 3.8))
        if groupby is None:
            ax.scatter(cells, totals, s=18, c="#12355b", label="samples")
        else:
            by = adata_pb.obs[groupby].astype(str).to_numpy()
            for level in sorted(set(by)):
                sel = by == level
                ax.scatter(cells[sel], totals[sel], s=18, label=literal(level, 30))
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
        return finish(ax, title, show, save)
