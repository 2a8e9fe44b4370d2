"""The report's section for DE per cell type (``tl.de(..., celltype_key=)``): one row per
cell type and contrast (samples, genes tested, genes up and down), the genes called per cell
type as bars, small volcano plots of the cell types with the most calls, and the cell types
skipped with their reasons.

It reads the stored entry (``adata.uns[key_added]``, in memory or read back from ``.h5ad``)
as plain tables; every name reaches the page through the template's autoescape, and the
figures draw names as literal text.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from .. import pl
from ..pl._base import literal

__all__ = ["MAX_VOLCANOES", "celltype_section"]

#: cell types drawn as small volcano plots per contrast (those with the most calls)
MAX_VOLCANOES = 12
#: the kind of the stored entry (``degbridge.sc.storage.CELLTYPE_KIND``; read here as data)
_KIND = "degbridge limma per cell type"


def _names(value) -> list[str]:
    return [value] if isinstance(value, str) else [str(v) for v in value]


def _check_entry(entry) -> pd.DataFrame:
    """The long results table of a per-cell-type entry; TypeError for anything else."""
    if not isinstance(entry, Mapping) or str(entry.get("kind", "")) != _KIND:
        msg = (
            "celltypes= takes what tl.de(..., celltype_key=) stores: adata.uns[key_added] "
            f"(kind {_KIND!r}), not {type(entry).__name__}"
        )
        raise TypeError(msg)
    results = pd.DataFrame(entry["results"]).reset_index(drop=True)
    results.columns = [str(c) for c in results.columns]
    return results


def calls(results: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """Genes tested, up and down (adj.P.Val < ``alpha``) per cell type and contrast."""
    sig = results["adj.P.Val"].lt(alpha)  # a missing adj.P.Val (filtered) is not a call
    frame = results.assign(
        up=sig & results["logFC"].gt(0), down=sig & results["logFC"].lt(0), tested=1
    )
    out = frame.groupby(["cell_type", "contrast"], sort=False)[["tested", "up", "down"]].sum()
    return out.astype(int).reset_index()


def celltype_section(entry, alpha: float = 0.05) -> dict:
    """The template's data for a per-cell-type entry (see the module's description)."""
    results = _check_entry(entry)
    contrasts = _names(entry["contrasts"])
    fitted = _names(entry["cell_types"])
    skipped = pd.DataFrame(entry["skipped"])
    params = dict(entry.get("params", {}) or {})
    summary = calls(results, alpha)
    n = pd.DataFrame(entry["n_samples"])
    n = n.pivot_table(index="cell_type", columns="condition", values="n_samples", aggfunc="sum")
    n.columns = [f"samples {c}" for c in n.columns]
    summary = summary.merge(n, left_on="cell_type", right_index=True, how="left")
    figs = []
    for contrast in contrasts:
        rows = summary[summary["contrast"] == contrast]
        if len(rows):
            figs.append(_bars(rows, contrast, alpha))
            figs.append(_volcanoes(results[results["contrast"] == contrast], rows, contrast, alpha))
    desc = [("method", str(params.get("method", ""))), ("adjust", str(params.get("adjust", "")))]
    return {
        "fitted": f"{len(fitted):,}",
        "skipped_n": f"{len(skipped):,}",
        "contrasts": contrasts,
        "alpha": f"{alpha:g}",
        "desc": [(k, v) for k, v in desc if v],
        "summary": summary,
        "skipped": skipped if len(skipped) else None,
        "figs": figs,
    }


def _bars(rows: pd.DataFrame, contrast: str, alpha: float) -> dict:
    """Genes up (right) and down (left) per cell type, most calls on top."""
    from matplotlib.figure import Figure

    rows = rows.assign(total=rows["up"] + rows["down"]).sort_values("total")
    fig = Figure(figsize=(6.4, 0.9 + 0.32 * len(rows)))
    ax = fig.add_subplot()
    y = np.arange(len(rows))
    ax.barh(y, rows["up"], color="#c0392b", label="up")
    ax.barh(y, -rows["down"], color="#2f6db5", label="down")
    ax.set_yticks(y, [literal(c, 30) for c in rows["cell_type"]])
    ax.axvline(0, color="0.3", lw=0.8)
    ax.set_xlabel(f"genes with adj.P.Val < {alpha:g} (down | up)")
    ax.legend(loc="lower right", frameon=False)
    return _figure(
        ax,
        f"Genes called per cell type: {contrast}",
        "Bars count the genes with adjusted P below the cut-off in each cell type, up to the "
        "right and down to the left; cell types with the most calls on top.",
    )


def _volcanoes(results: pd.DataFrame, rows: pd.DataFrame, contrast: str, alpha: float) -> dict:
    """Small volcano plots of the cell types with the most calls (at most MAX_VOLCANOES)."""
    from matplotlib.figure import Figure

    order = rows.assign(total=rows["up"] + rows["down"]).sort_values(
        ["total", "cell_type"], ascending=[False, True]
    )["cell_type"]
    shown = list(order[:MAX_VOLCANOES])
    cols = min(4, len(shown))
    nrows = math.ceil(len(shown) / cols)
    fig = Figure(figsize=(3.2 * cols, 2.9 * nrows))
    axes = fig.subplots(nrows, cols, squeeze=False).ravel()
    for ax, cell_type in zip(axes, shown):
        table = results[results["cell_type"] == cell_type].set_index("gene")
        pl.volcano(table, alpha=alpha, label=0, ax=ax, show=False)
        ax.set_title(literal(cell_type, 30), fontsize=9)
        if ax is not axes[0] and ax.get_legend() is not None:  # one legend for the panels
            ax.get_legend().remove()
        ax.xaxis.label.set_size(8)
        ax.yaxis.label.set_size(8)
    for ax in axes[len(shown) :]:
        ax.set_visible(False)
    fig.tight_layout()
    more = len(order) - len(shown)
    note = f" The other {more} cell types are in the table above." if more > 0 else ""
    return _figure(
        None,
        f"Volcano plots per cell type: {contrast}",
        "Each panel is one cell type's fit (logFC against −log10 P); genes with adjusted P "
        f"below the cut-off in colour.{note}",
        fig=fig,
    )


def _figure(ax, title: str, caption: str, *, fig=None) -> dict:
    """A figure for the page: the report turns ``fig`` into a PNG."""
    return {"title": title, "caption": caption, "fig": fig if fig is not None else ax.figure}
