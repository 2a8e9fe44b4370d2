"""A self-contained HTML report: figures embedded as PNG, no scripts, no external files.

Sections: the DE table (volcano, MA plot, P-value histogram), then for each comparison the
leaderboard (table and CV R² chart), predicted vs observed and residuals for the best model,
importances (best model, and a heat map across models), the leakage audit with the best
model's scores with and without flagged features, preprocessing, parameters and versions.
"""

from __future__ import annotations

import base64
import datetime as _dt
import functools
import io
import os
import re
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ._io import atomic_write

__all__ = ["write_report"]

_TEMPLATES = "templates"
_TITLE_LEN = 80  # longest title drawn in a figure (the page shows the full text)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@functools.lru_cache(maxsize=1)
def _environment():
    """The Jinja2 environment: autoescape on for every template, unknown names are errors."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("degbridge", _TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


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


def _png(fig) -> str:
    """The figure as base64 PNG (missing-glyph warnings for exotic IDs are not the user's)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=r"Glyph \d+ .*missing from font", category=UserWarning
        )
        fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _figure(width=5.2, height=3.8):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    return fig, fig.add_subplot(111)


def _fig(fig, ax, title: str, caption: str, *, drawn_title: str | None = None) -> dict:
    """A figure for the template: ``title`` (page text) drawn as ``drawn_title`` (literal)."""
    ax.set_title(drawn_title if drawn_title is not None else _literal(title, _TITLE_LEN))
    return {"title": title, "caption": caption, "png": _png(fig)}


def _cell(value, digits: int) -> str:
    if isinstance(value, float | np.floating):
        return "NA" if np.isnan(value) else f"{value:.{digits}g}"
    return "" if value is None else str(value)


def _table(
    df: pd.DataFrame | None,
    *,
    index: bool = False,
    best_model: str | None = None,
    digits: int = 4,
) -> dict | None:
    """A table for the template (header and rows of plain strings), or None when empty."""
    if df is None or len(df) == 0:
        return None
    head = [str(c) for c in ([df.index.name or ""] if index else []) + list(df.columns)]
    rows = []
    for label, row in df.iterrows():
        cells = [str(label)] if index else []
        cells += [_cell(value, digits) for value in row]
        best = best_model is not None and "model" in df.columns and row["model"] == best_model
        rows.append({"best": bool(best), "cells": cells})
    return {"head": head, "rows": rows}


# ---------------------------------------------------------------------------------------
# DE table figures
# ---------------------------------------------------------------------------------------


def _de_section(table: pd.DataFrame, alpha: float = 0.05) -> dict:
    meta = getattr(table, "meta", {}) or {}
    sig = (
        table["adj.P.Val"] < alpha
        if "adj.P.Val" in table.columns
        else pd.Series(False, index=table.index)
    )
    up = int((sig & (table["logFC"] > 0)).sum()) if "logFC" in table.columns else 0
    down = int((sig & (table["logFC"] < 0)).sum()) if "logFC" in table.columns else 0
    section = {
        "n": f"{len(table):,}",
        "n_sig": f"{int(sig.sum()):,}",
        "up": f"{up:,}",
        "down": f"{down:,}",
        "alpha": str(alpha),
        "desc": [
            (k, str(meta[k]))
            for k in ("method", "contrast", "source", "design_formula")
            if meta.get(k)
        ],
        "figs": [],
    }
    figs = section["figs"]
    if {"logFC", "P.Value"} <= set(table.columns):
        fig, ax = _figure()
        x = table["logFC"].to_numpy(dtype=float)
        y = -np.log10(np.clip(table["P.Value"].to_numpy(dtype=float), 1e-300, 1))
        s = sig.to_numpy()
        ax.scatter(x[~s], y[~s], s=4, c="#9aa5b1", alpha=0.5, linewidths=0, label="not significant")
        ax.scatter(
            x[s & (x > 0)], y[s & (x > 0)], s=5, c="#d64545", alpha=0.7, linewidths=0, label="up"
        )
        ax.scatter(
            x[s & (x < 0)], y[s & (x < 0)], s=5, c="#2680c2", alpha=0.7, linewidths=0, label="down"
        )
        ax.set_xlabel("logFC")
        ax.set_ylabel("-log10 P.Value")
        _label_top(ax, table, x, y)
        ax.legend(frameon=False, fontsize=8, markerscale=3)
        figs.append(
            _fig(
                fig,
                ax,
                "Volcano plot",
                f"Each dot is a gene; coloured when adj.P.Val < {alpha}. The 5 most significant are labelled.",
            )
        )
    if {"logFC", "AveExpr"} <= set(table.columns):
        fig, ax = _figure()
        s = sig.to_numpy()
        ax.scatter(
            table["AveExpr"][~s], table["logFC"][~s], s=4, c="#9aa5b1", alpha=0.5, linewidths=0
        )
        ax.scatter(
            table["AveExpr"][s], table["logFC"][s], s=5, c="#d64545", alpha=0.7, linewidths=0
        )
        ax.axhline(0, color="#52606d", lw=0.8)
        ax.set_xlabel("AveExpr")
        ax.set_ylabel("logFC")
        figs.append(
            _fig(
                fig,
                ax,
                "MA plot",
                "Average expression against log fold change; significant genes in red.",
            )
        )
    if "P.Value" in table.columns:
        fig, ax = _figure()
        ax.hist(
            table["P.Value"].dropna(), bins=50, color="#486581", edgecolor="white", linewidth=0.3
        )
        ax.set_xlabel("P.Value")
        ax.set_ylabel("genes")
        figs.append(
            _fig(
                fig,
                ax,
                "P-value histogram",
                "A flat histogram with a peak near 0 is the healthy shape; a bump elsewhere suggests a problem with the model.",
            )
        )
    return section


def gene_labels(table: pd.DataFrame) -> list[str]:
    """Gene symbols where the table carries them (a ``symbol`` column, e.g. joined from
    :func:`degbridge.gene_annotation`), else the gene IDs."""
    ids = [str(g) for g in table.index]
    col = next((c for c in table.columns if str(c).lower() in ("symbol", "gene.symbol")), None)
    if col is None:
        return ids
    return [str(s) if isinstance(s, str) and s.strip() else g for s, g in zip(table[col], ids)]


def _label_top(ax, table, x, y, k: int = 5) -> None:
    """Label the k most significant genes in a column beside the plot area, one row each."""
    order = np.argsort(-np.nan_to_num(y))[:k]
    order = order[np.argsort(-y[order])]  # top to bottom
    names = gene_labels(table)
    for rank, i in enumerate(order):
        ax.annotate(
            _literal(names[i], 18), (x[i], y[i]), xycoords="data",
            xytext=(1.02, 0.98 - 0.07 * rank), textcoords="axes fraction", fontsize=6.5,
            va="center", arrowprops={"arrowstyle": "-", "lw": 0.4, "color": "#52606d"},
        )  # fmt: skip


# ---------------------------------------------------------------------------------------
# comparison figures
# ---------------------------------------------------------------------------------------


def _comparison_section(res) -> dict:
    lb = res.leaderboard
    best = res.best.name
    params = res.params
    row = lb.set_index("model").loc[best]
    cv_text = (
        f"CV R² {row['cv_r2_mean']:.3f} ± {row['cv_r2_sd']:.3f}, "
        if pd.notna(row.get("cv_r2_mean"))
        else ""
    )
    cols = [
        "rank",
        "model",
        "cv_r2_mean",
        "cv_r2_sd",
        "cv_rmse_mean",
        "cv_mae_mean",
        "test_r2",
        "test_rmse",
        "test_mae",
        "fit_time",
        "status",
        "note",
    ]
    figs = [_leaderboard_chart(res), _pred_vs_obs(res), _residuals(res)]
    figs += _importance_charts(res)
    shown = {k: v for k, v in params.items() if k != "features"}
    return {
        "target": str(res.target),
        "n_genes": f"{params['n_genes']:,}",
        "n_train": f"{params['n_train']:,}",
        "n_test": f"{params['n_test']:,}",
        "n_features": str(len(res.features)),
        "n_models": str(len(lb)),
        "best": str(best),
        "selected_on": str(res.best.selected_on),
        "cv_text": cv_text,
        "test_r2": f"{row['test_r2']:.3f}",
        "leakage": _leakage_block(res),
        "scores": _scores_block(res),
        "split": str(params.get("split", "")),
        "leaderboard": _table(lb[[c for c in cols if c in lb.columns]], best_model=best),
        "figs": [f for f in figs if f],
        "preprocessing": _table(res.preprocessing),
        "outliers": _table(res.outliers) if res.outliers is not None else None,
        "params": _table(
            pd.DataFrame(
                {"value": [str(v) for v in shown.values()]},
                index=pd.Index([str(k) for k in shown], name="parameter"),
            ),
            index=True,
        ),
    }


#: What each of the three scores means, in plain words (shown in the report).
SCORE_MEANING = {
    "all features": "every feature, including outputs of the same test and summaries of the same samples",
    "without flagged features": "without the features the audit flagged as transforms or reconstructions of the target",
    "external features only": "only features known without these samples (annotation, other studies): the answer to 'can this be predicted beforehand?'",
}


def _scores_block(res) -> dict | None:
    """The three scores (all / without flagged / external only), the most honest first."""
    scores = res.leakage_scores
    honest = res.honest_score
    if scores is None or honest is None:
        return None
    key = "cv_r2_mean" if np.isfinite(honest["cv_r2_mean"]) else "test_r2"
    label = "CV R²" if key == "cv_r2_mean" else "test R²"
    rows = []
    for name, row in scores.iterrows():
        value = row[key]
        rows.append({
            "set": str(name), "n": str(int(row["n_features"])),
            "score": f"{value:.3f}" if np.isfinite(value) else "n/a (no features)",
            "meaning": SCORE_MEANING.get(str(name), ""), "honest": bool(row["honest"]),
        })  # fmt: skip
    return {
        "label": label,
        "lead_set": str(honest.name),
        "lead_score": f"{honest[key]:.3f}",
        "lead_n": str(int(honest["n_features"])),
        "rows": rows,
        "model": str(res.best.name),
    }


def _leakage_block(res) -> dict | None:
    leak = res.leakage
    if leak is None or len(leak) == 0:
        return None
    flagged = [str(f) for f in leak.index[leak["flagged"]]]
    cols = ["provenance", "relation", "spearman", "abs_spearman", "monotone_r2", "tree_r2",
            "pair", "pair_form", "pair_r2", "flagged", "action"]  # fmt: skip
    return {
        "flagged": flagged,
        "table": _table(leak[[c for c in cols if c in leak.columns]], index=True),
    }


def _leaderboard_chart(res) -> dict:
    lb = res.leaderboard[res.leaderboard["status"] == "ok"]
    fig, ax = _figure(5.6, 0.35 * len(lb) + 1.4)
    key = "cv_r2_mean" if lb["cv_r2_mean"].notna().any() else "test_r2"
    lb = lb.sort_values(key)
    yy = np.arange(len(lb))
    colors = ["#12355b" if m == res.best.name else "#829ab1" for m in lb["model"]]
    xerr = lb["cv_r2_sd"].fillna(0).to_numpy() if key == "cv_r2_mean" else None
    ax.barh(yy, lb[key].clip(lower=-1), xerr=xerr, color=colors, ecolor="#334e68", capsize=2)
    ax.scatter(
        lb["test_r2"].clip(lower=-1),
        yy,
        marker="D",
        s=18,
        color="#f0b429",
        zorder=3,
        label="test R²",
    )
    ax.set_yticks(yy, [_literal(m) for m in lb["model"]])
    ax.set_xlabel("R² (CV mean ± sd; diamonds: test)")
    ax.axvline(0, color="#52606d", lw=0.8)
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    return _fig(
        fig,
        ax,
        "Leaderboard",
        "Cross-validated R² per model (bars, ± sd over folds); the best model in dark blue. R² below -1 is drawn at -1.",
    )


def _pred_vs_obs(res) -> dict:
    p = res.predictions
    fig, ax = _figure()
    train = p["split"] == "train"
    has_oof = p["oof"].notna().any()
    yhat = p["oof"].where(train, p["predicted"]) if has_oof else p["predicted"]
    ax.scatter(
        p["observed"][train],
        yhat[train],
        s=4,
        alpha=0.4,
        c="#829ab1",
        linewidths=0,
        label="training genes (out-of-fold)" if has_oof else "training genes (in-sample: cv=None)",
    )
    ax.scatter(
        p["observed"][~train],
        yhat[~train],
        s=6,
        alpha=0.8,
        c="#d64545",
        linewidths=0,
        label="test genes",
    )
    lo, hi = np.nanmin(p["observed"]), np.nanmax(p["observed"])
    ax.plot([lo, hi], [lo, hi], color="#1f2933", lw=0.8)
    ax.set_xlabel(f"observed {_literal(res.target)}")
    ax.set_ylabel(f"predicted {_literal(res.target)}")
    ax.legend(frameon=False, fontsize=8, markerscale=3)
    return _fig(
        fig,
        ax,
        f"Predicted vs observed ({res.best.name})",
        "Training genes show out-of-fold predictions (never seen in fitting); test genes, the model refitted on all training genes."
        if has_oof
        else "Without cross-validation (cv=None) training genes show in-sample predictions, which flatter the model; judge it on the test genes.",
        drawn_title=f"Predicted vs observed ({_literal(res.best.name)})",
    )


def _residuals(res) -> dict:
    p = res.predictions
    fig, ax = _figure()
    test = p["split"] == "test"
    ax.scatter(p["predicted"][test], p["residual"][test], s=6, alpha=0.7, c="#d64545", linewidths=0)
    ax.axhline(0, color="#1f2933", lw=0.8)
    ax.set_xlabel(f"predicted {_literal(res.target)}")
    ax.set_ylabel("residual (observed - predicted)")
    return _fig(
        fig,
        ax,
        "Residuals on test genes",
        "Residuals of the best model on the held-out test genes.",
    )


def _importance_charts(res) -> list[dict]:
    imp = res.importances
    if imp is None or imp.empty or imp["perm_mean"].isna().all():
        return []
    best = imp[imp["model"] == res.best.name].sort_values("perm_mean")
    fig, ax = _figure(5.2, 0.32 * len(best) + 1.4)
    flagged = set(res.leakage.index[res.leakage["flagged"]]) if len(res.leakage) else set()
    colors = ["#e12d39" if f in flagged else "#12355b" for f in best["feature"]]
    ax.barh(
        np.arange(len(best)),
        best["perm_mean"],
        xerr=best["perm_sd"],
        color=colors,
        ecolor="#334e68",
        capsize=2,
    )
    ax.set_yticks(np.arange(len(best)), [_literal(f) for f in best["feature"]])
    ax.set_xlabel("permutation importance (drop in test R²)")
    out = [
        _fig(
            fig,
            ax,
            f"Importances: {res.best.name}",
            "Mean ± sd over permutation repeats on the test genes; red bars are features flagged by the leakage audit.",
            drawn_title=f"Importances: {_literal(res.best.name)}",
        )
    ]
    wide = imp.pivot(index="feature", columns="model", values="perm_mean")
    if wide.shape[1] > 1:
        fig, ax = _figure(0.55 * wide.shape[1] + 2.5, 0.35 * wide.shape[0] + 1.8)
        scaled = wide.div(wide.abs().max(axis=0).replace(0, np.nan), axis=1)
        im = ax.imshow(scaled.to_numpy(dtype=float), aspect="auto", cmap="RdBu_r", vmin=-1, vmax=1)
        ax.set_xticks(
            np.arange(wide.shape[1]),
            [_literal(m) for m in wide.columns],
            rotation=60,
            ha="right",
            fontsize=8,
        )
        ax.set_yticks(np.arange(wide.shape[0]), [_literal(f) for f in wide.index], fontsize=8)
        fig.colorbar(im, ax=ax, fraction=0.04, label="scaled to each model's maximum")
        out.append(
            _fig(
                fig,
                ax,
                "Permutation importance across models",
                "Each column scaled to its model's largest importance: which features every model relies on.",
            )
        )
    return out


def write_report(
    path: str | os.PathLike,
    *,
    comparison=None,
    comparisons: Sequence | None = None,
    table: pd.DataFrame | None = None,
    title: str = "degbridge report",
    subtitle: str | None = None,
) -> Path:
    """Write the HTML report (atomically) for a DE table and/or one or more comparisons.

    Every piece of text (gene IDs, feature, model and target names, titles, parameters,
    table cells) is escaped by the template engine (Jinja2 with autoescape); text drawn in
    figures is literal (no mathtext, no TeX) and long labels are cut with an ellipsis.
    """
    import matplotlib

    from ._version import __version__

    comps = list(comparisons or []) + ([comparison] if comparison is not None else [])
    if table is None and not comps:
        msg = "a report needs a DE table (table=) or a comparison (comparison=)"
        raise ValueError(msg)
    with matplotlib.rc_context({"text.usetex": False}):
        de = _de_section(table) if table is not None else None
        sections = [_comparison_section(res) for res in comps]
    versions = {}
    meta = getattr(table, "meta", {}) if table is not None else {}
    if meta.get("versions"):
        versions.update(meta["versions"])
    for res in comps:
        versions["scikit-learn"] = res.params.get("scikit_learn", "")
    versions_table = (
        _table(
            pd.DataFrame(
                {"version": [str(v) for v in versions.values()]},
                index=pd.Index([str(k) for k in versions], name="software"),
            ),
            index=True,
        )
        if versions
        else None
    )
    page = (
        _environment()
        .get_template("report.html.j2")
        .render(
            title=str(title),
            subtitle=str(subtitle) if subtitle else "",
            version=__version__,
            now=_dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
            de=de,
            comparisons=sections,
            versions=versions_table,
        )
    )
    path = Path(path)
    with atomic_write(path) as handle:
        handle.write(page + "\n")
    return path
