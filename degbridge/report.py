"""A self-contained HTML report: figures embedded as PNG, no scripts, no external files.

Sections: the DE table (volcano, MA plot, P-value histogram), then for each comparison the
leaderboard (table and CV R² chart), predicted vs observed and residuals for the best model,
importances (best model, and a heat map across models), the leakage audit with the best
model's scores with and without flagged features, preprocessing, parameters and versions.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import io
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ._io import atomic_write

__all__ = ["write_report"]

CSS = """
body{font-family:-apple-system,BlinkMacSystemFont,"Segoe UI",Helvetica,Arial,sans-serif;margin:0;color:#1f2933;background:#f7f9fb}
header{background:#12355b;color:#fff;padding:22px 40px}
header h1{margin:0 0 6px 0;font-size:26px}
header p{margin:2px 0;opacity:.85}
main{padding:10px 40px 40px 40px;max-width:1300px}
section{background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.08);padding:18px 24px;margin:20px 0}
h2{font-size:20px;margin:4px 0 12px 0;color:#12355b}
h3{font-size:16px;margin:16px 0 8px 0}
.figs{display:flex;flex-wrap:wrap;gap:12px}
.figs figure{margin:0}
figcaption{font-size:12px;color:#52606d;max-width:460px}
table.db{border-collapse:collapse;font-size:13px;margin:6px 0 10px 0}
table.db th{background:#e4e7eb;text-align:left;padding:4px 8px}
table.db td{padding:3px 8px;border-bottom:1px solid #e4e7eb;font-variant-numeric:tabular-nums}
table.db tr.best td{background:#e3f8ff;font-weight:600}
.note{background:#fffbea;border-left:4px solid #f0b429;padding:8px 12px;margin:8px 0;font-size:14px}
.warn{background:#ffeeee;border-left:4px solid #e12d39;padding:8px 12px;margin:8px 0;font-size:14px}
.kpi{display:inline-block;margin-right:28px}
.kpi b{display:block;font-size:22px;color:#12355b}
code{background:#eef2f7;padding:1px 4px;border-radius:3px}
"""


def _png(fig, alt: str) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _figure(width=5.2, height=3.8):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    return fig, fig.add_subplot(111)


def _fig_block(fig, caption: str) -> str:
    title = fig.axes[0].get_title() if fig.axes else "figure"
    return (
        f"<figure>{_png(fig, title)}<figcaption><b>{html.escape(title)}.</b> "
        f"{html.escape(caption)}</figcaption></figure>"
    )


def _table(
    df: pd.DataFrame, *, index: bool = False, best_model: str | None = None, digits: int = 4
) -> str:
    if df is None or len(df) == 0:
        return "<p><i>none</i></p>"
    frame = df.copy()
    head = "".join(
        f"<th>{html.escape(str(c))}</th>"
        for c in ([frame.index.name or ""] if index else []) + list(frame.columns)
    )
    rows = []
    for label, row in frame.iterrows():
        cells = [f"<td>{html.escape(str(label))}</td>"] if index else []
        for value in row:
            if isinstance(value, float | np.floating):
                text = "NA" if np.isnan(value) else f"{value:.{digits}g}"
            else:
                text = "" if value is None else str(value)
            cells.append(f"<td>{html.escape(text)}</td>")
        cls = (
            ' class="best"'
            if best_model is not None and "model" in frame.columns and row["model"] == best_model
            else ""
        )
        rows.append(f"<tr{cls}>{''.join(cells)}</tr>")
    return f'<table class="db"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


# ---------------------------------------------------------------------------------------
# DE table figures
# ---------------------------------------------------------------------------------------


def _de_section(table: pd.DataFrame, alpha: float = 0.05) -> str:
    parts = ["<section><h2>Differential expression</h2>"]
    meta = getattr(table, "meta", {}) or {}
    n = len(table)
    sig = (
        table["adj.P.Val"] < alpha
        if "adj.P.Val" in table.columns
        else pd.Series(False, index=table.index)
    )
    up = int((sig & (table.get("logFC", 0) > 0)).sum()) if "logFC" in table.columns else 0
    down = int((sig & (table.get("logFC", 0) < 0)).sum()) if "logFC" in table.columns else 0
    parts.append(
        f'<div><span class="kpi"><b>{n:,}</b>genes</span><span class="kpi"><b>{int(sig.sum()):,}</b>'
        f'adj.P.Val &lt; {alpha}</span><span class="kpi"><b>{up:,}</b>up</span><span class="kpi"><b>{down:,}</b>down</span></div>'
    )
    desc = [
        f"{k}: {meta[k]}" for k in ("method", "contrast", "source", "design_formula") if meta.get(k)
    ]
    if desc:
        parts.append(f"<p>{html.escape(' · '.join(map(str, desc)))}</p>")
    figs = []
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
        ax.set_title("Volcano plot")
        _label_top(ax, table, x, y)
        ax.legend(frameon=False, fontsize=8, markerscale=3)
        figs.append(
            _fig_block(
                fig,
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
        ax.set_title("MA plot")
        figs.append(
            _fig_block(fig, "Average expression against log fold change; significant genes in red.")
        )
    if "P.Value" in table.columns:
        fig, ax = _figure()
        ax.hist(
            table["P.Value"].dropna(), bins=50, color="#486581", edgecolor="white", linewidth=0.3
        )
        ax.set_xlabel("P.Value")
        ax.set_ylabel("genes")
        ax.set_title("P-value histogram")
        figs.append(
            _fig_block(
                fig,
                "A flat histogram with a peak near 0 is the healthy shape; a bump elsewhere suggests a problem with the model.",
            )
        )
    parts.append(f'<div class="figs">{"".join(figs)}</div></section>')
    return "".join(parts)


def _label_top(ax, table, x, y, k: int = 5) -> None:
    """Label the k most significant genes in a column beside the plot area, one row each."""
    order = np.argsort(-np.nan_to_num(y))[:k]
    order = order[np.argsort(-y[order])]  # top to bottom
    for rank, i in enumerate(order):
        ax.annotate(
            str(table.index[i])[:18], (x[i], y[i]), xycoords="data",
            xytext=(1.02, 0.98 - 0.07 * rank), textcoords="axes fraction", fontsize=6.5,
            va="center", arrowprops={"arrowstyle": "-", "lw": 0.4, "color": "#52606d"},
        )  # fmt: skip


# ---------------------------------------------------------------------------------------
# comparison figures
# ---------------------------------------------------------------------------------------


def _comparison_section(res) -> str:
    lb = res.leaderboard
    best = res.best.name
    params = res.params
    parts = [
        f"<section><h2>Predicting <code>{html.escape(res.target)}</code>: model comparison</h2>"
    ]
    row = lb.set_index("model").loc[best]
    cv_text = (
        f"CV R² {row['cv_r2_mean']:.3f} ± {row['cv_r2_sd']:.3f}, "
        if pd.notna(row.get("cv_r2_mean"))
        else ""
    )
    parts.append(
        f"<p>{params['n_genes']:,} genes ({params['n_train']:,} training, {params['n_test']:,} test), "
        f"{len(res.features)} features, {len(lb)} models. Best: <b>{html.escape(best)}</b> "
        f"(selected on {html.escape(res.best.selected_on)}): {cv_text}test R² {row['test_r2']:.3f}.</p>"
    )
    if res.best.selected_on == "test":
        parts.append(
            '<p class="warn">cv=None (the seed workflow): the best model was chosen on the test set, so its test score is optimistic.</p>'
        )
    parts.append(_leakage_block(res))
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
    parts.append(
        "<h3>Leaderboard</h3>" + _table(lb[[c for c in cols if c in lb.columns]], best_model=best)
    )
    figs = [_leaderboard_chart(res), _pred_vs_obs(res), _residuals(res)]
    figs += _importance_charts(res)
    parts.append(f'<div class="figs">{"".join(f for f in figs if f)}</div>')
    parts.append("<h3>Preprocessing</h3>" + _table(res.preprocessing))
    if res.outliers is not None and len(res.outliers):
        parts.append("<h3>Outliers (|robust z| &gt; 3.5)</h3>" + _table(res.outliers))
    shown = {k: v for k, v in params.items() if k != "features"}
    parts.append(
        "<h3>Parameters</h3>"
        + _table(
            pd.DataFrame(
                {"value": [str(v) for v in shown.values()]},
                index=pd.Index(list(shown), name="parameter"),
            ),
            index=True,
        )
    )
    parts.append("</section>")
    return "".join(parts)


def _leakage_block(res) -> str:
    leak = res.leakage
    if leak is None or len(leak) == 0:
        return '<p class="note">Leakage audit skipped (leakage="keep").</p>'
    flagged = list(leak.index[leak["flagged"]])
    out = ["<h3>Leakage audit</h3>"]
    if flagged:
        text = (
            f"{', '.join(flagged)} are transforms of <code>{html.escape(res.target)}</code> from the same test, "
            "or determine it from the data. A model that uses them rediscovers the algebra of the test "
            "(t = logFC / SE; P-values and B are monotone in |t|), not biology."
        )
        scores = res.leakage_scores
        if scores is not None and len(scores):
            w = scores.loc["with flagged features"]
            wo = scores.loc["without flagged features"]
            text += (
                f" The best model reaches CV R² {w['cv_r2_mean']:.3f} (test {w['test_r2']:.3f}) with them and "
                f"{wo['cv_r2_mean']:.3f} (test {wo['test_r2']:.3f}) without."
            )
        out.append(f'<p class="warn">{text}</p>')
    else:
        out.append('<p class="note">No feature is flagged as a transform of the target.</p>')
    cols = ["relation", "spearman", "tree_r2", "pair", "pair_r2", "flagged", "action"]
    out.append(_table(leak[[c for c in cols if c in leak.columns]], index=True))
    if res.leakage_scores is not None and len(res.leakage_scores):
        out.append(_table(res.leakage_scores, index=True))
    return "".join(out)


def _leaderboard_chart(res) -> str:
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
    ax.set_yticks(yy, lb["model"])
    ax.set_xlabel("R² (CV mean ± sd; diamonds: test)")
    ax.axvline(0, color="#52606d", lw=0.8)
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    ax.set_title("Leaderboard")
    return _fig_block(
        fig,
        "Cross-validated R² per model (bars, ± sd over folds); the best model in dark blue. R² below -1 is drawn at -1.",
    )


def _pred_vs_obs(res) -> str:
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
    ax.set_xlabel(f"observed {res.target}")
    ax.set_ylabel(f"predicted {res.target}")
    ax.set_title(f"Predicted vs observed ({res.best.name})")
    ax.legend(frameon=False, fontsize=8, markerscale=3)
    return _fig_block(
        fig,
        "Training genes show out-of-fold predictions (never seen in fitting); test genes, the model refitted on all training genes."
        if has_oof
        else "Without cross-validation (cv=None) training genes show in-sample predictions, which flatter the model; judge it on the test genes.",
    )


def _residuals(res) -> str:
    p = res.predictions
    fig, ax = _figure()
    test = p["split"] == "test"
    ax.scatter(p["predicted"][test], p["residual"][test], s=6, alpha=0.7, c="#d64545", linewidths=0)
    ax.axhline(0, color="#1f2933", lw=0.8)
    ax.set_xlabel(f"predicted {res.target}")
    ax.set_ylabel("residual (observed - predicted)")
    ax.set_title("Residuals on test genes")
    return _fig_block(fig, "Residuals of the best model on the held-out test genes.")


def _importance_charts(res) -> list[str]:
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
    ax.set_yticks(np.arange(len(best)), best["feature"])
    ax.set_xlabel("permutation importance (drop in test R²)")
    ax.set_title(f"Importances: {res.best.name}")
    out = [
        _fig_block(
            fig,
            "Mean ± sd over permutation repeats on the test genes; red bars are features flagged by the leakage audit.",
        )
    ]
    wide = imp.pivot(index="feature", columns="model", values="perm_mean")
    if wide.shape[1] > 1:
        fig, ax = _figure(0.55 * wide.shape[1] + 2.5, 0.35 * wide.shape[0] + 1.8)
        scaled = wide.div(wide.abs().max(axis=0).replace(0, np.nan), axis=1)
        im = ax.imshow(scaled.to_numpy(dtype=float), aspect="auto", cmap="RdBu_r", vmin=-1, vmax=1)
        ax.set_xticks(np.arange(wide.shape[1]), wide.columns, rotation=60, ha="right", fontsize=8)
        ax.set_yticks(np.arange(wide.shape[0]), wide.index, fontsize=8)
        ax.set_title("Permutation importance across models")
        fig.colorbar(im, ax=ax, fraction=0.04, label="scaled to each model's maximum")
        out.append(
            _fig_block(
                fig,
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
    """Write the HTML report (atomically) for a DE table and/or one or more comparisons."""
    from . import __version__

    comps = list(comparisons or []) + ([comparison] if comparison is not None else [])
    if table is None and not comps:
        msg = "a report needs a DE table (table=) or a comparison (comparison=)"
        raise ValueError(msg)
    now = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    sub = f"<p>{html.escape(subtitle)}</p>" if subtitle else ""
    body = [
        f"<header><h1>{html.escape(title)}</h1>{sub}<p>degbridge {html.escape(__version__)} · {now}</p></header><main>"
    ]
    if table is not None:
        body.append(_de_section(table))
    for res in comps:
        body.append(_comparison_section(res))
    versions = {}
    meta = getattr(table, "meta", {}) if table is not None else {}
    if meta.get("versions"):
        versions.update(meta["versions"])
    for res in comps:
        versions["scikit-learn"] = res.params.get("scikit_learn", "")
    if versions:
        body.append(
            "<section><h2>Versions</h2>"
            + _table(
                pd.DataFrame(
                    {"version": list(versions.values())},
                    index=pd.Index(list(versions), name="software"),
                ),
                index=True,
            )
            + "</section>"
        )
    body.append("</main>")
    page = f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title><style>{CSS}</style></head><body>{"".join(body)}</body></html>\n'
    path = Path(path)
    with atomic_write(path) as handle:
        handle.write(page)
    return path
