"""A self-contained HTML report: one file, no external resources, no network at view time.

Sections: the DE table (an interactive MD and volcano plot linked to a searchable gene table
and to each gene's expression per sample; the static volcano, MA plot and P-value histogram),
the samples' MDS (with expression data), then for each comparison the most honest score, the
leakage audit, the leaderboard (table and CV R² chart), predicted vs observed (interactive, and
static with the residuals), importances (best model, and a heat map across models),
preprocessing, parameters and versions.

Static figures are PNG (printing shows them; the interactive figures are hidden in print). The
interactive figures are those of :mod:`degbridge.pl.interactive`: plotly.js and degbridge's
script inlined, data as JSON that cannot end its element, text put in the page as text, and a
Content-Security-Policy that lets only those two scripts run.
"""

from __future__ import annotations

import base64
import datetime as _dt
import functools
import io
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .. import pl
from .._exceptions import RNotAvailableError
from ..io.files import atomic_write
from ..pl._base import COLUMNS, TITLE_LEN, gene_labels, literal, quiet_glyphs, without_pyplot
from ..pl._web import content_security_policy, widget_html
from ..pl.interactive import comparison_widget, de_widget, mds_widget, page_assets
from .celltypes import celltype_section

__all__ = ["gene_labels", "write_report"]

_TEMPLATES = "templates"


@functools.lru_cache(maxsize=1)
def _environment():
    """The Jinja2 environment: autoescape on for every template, unknown names are errors."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("degbridge.report", _TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _png(fig) -> str:
    """The figure as base64 PNG (missing-glyph warnings for exotic IDs are not the user's)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    with quiet_glyphs():
        fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _fig(ax, title: str, caption: str, *, drawn_title: str | None = None) -> dict:
    """A figure drawn by :mod:`degbridge.pl` for the template: ``title`` (page text) drawn as
    ``drawn_title`` (literal)."""
    ax.set_title(drawn_title if drawn_title is not None else literal(title, TITLE_LEN))
    return {"title": title, "caption": caption, "png": _png(ax.figure)}


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


def _de_section(
    table: pd.DataFrame,
    alpha: float = 0.05,
    *,
    interactive: bool = True,
    expression=None,
    groups=None,
) -> dict:
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
        "widget": None,
    }
    if interactive:
        section["widget"] = _de_widget(table, alpha, expression, groups)
    figs = section["figs"]
    if {"logFC", "P.Value"} <= set(table.columns):
        ax = pl.volcano(table, alpha=alpha, label=5, show=False)
        figs.append(
            _fig(
                ax,
                "Volcano plot",
                f"Each dot is a gene; coloured when adj.P.Val < {alpha} (red up, blue down). "
                "The 5 most significant are labelled.",
            )
        )
    if {"logFC", "AveExpr"} <= set(table.columns):
        ax = pl.ma(table, alpha=alpha, show=False)
        figs.append(
            _fig(
                ax,
                "MA plot",
                "Average expression against log fold change; significant genes in red (up) and blue (down).",
            )
        )
    if "P.Value" in table.columns:
        ax = pl.pvalue_histogram(table, show=False)
        figs.append(
            _fig(
                ax,
                "P-value histogram",
                "A flat histogram with a peak near 0 is the healthy shape; a bump elsewhere suggests a problem with the model.",
            )
        )
    return section


def _de_widget(table, alpha, expression, groups) -> dict | None:
    """The linked MD + volcano figure (as many of the two as the table's columns allow)."""
    plots = [
        name
        for name, need in (("ma", ("logFC", "AveExpr")), ("volcano", ("logFC", "P.Value")))
        if all(any(c in table.columns for c in COLUMNS[k]) for k in need)
    ]
    if not plots:
        return None
    return de_widget(table, expression=expression, groups=groups, plots=plots, alpha=alpha)


def _samples_section(expression, groups) -> dict:
    """The samples' MDS (limma's plotMDS in R), or why it is missing."""
    try:
        return {"widget": mds_widget(expression, groups=groups), "note": None}
    except RNotAvailableError as err:
        return {"widget": None, "note": f"The MDS needs R with limma: {err}"}


# ---------------------------------------------------------------------------------------
# several contrasts (decideTests) and several methods (concordance)
# ---------------------------------------------------------------------------------------


def _decide_section(decide) -> dict:
    """decideTests: Down/NotSig/Up per contrast, and the UpSet figure for several contrasts."""
    if not (isinstance(decide, pd.DataFrame) and hasattr(decide, "summary")):
        msg = f"decide= takes the result of degbridge.decide_tests, not {type(decide).__name__}"
        raise TypeError(msg)
    attrs = dict(getattr(decide, "attrs", {}) or {})
    desc = [(k, str(attrs[k])) for k in ("method", "adjust_method", "p_value", "lfc") if k in attrs]
    figs = []
    if decide.shape[1] >= 2:
        ax = pl.upset(decide, show=False)
        figs.append(
            _fig(
                ax,
                "Genes called per combination of contrasts",
                "UpSet plot: each bar counts the genes called (up or down) in exactly the "
                "contrasts marked by the filled dots below it; set sizes in brackets.",
            )
        )
    return {
        "n": f"{len(decide):,}",
        "desc": desc,
        "summary": _table(decide.summary(), index=True),
        "figs": figs,
    }


def _concordance_section(conc) -> dict:
    """Several methods on the same counts: correlations, overlap (UpSet), disagreements."""
    if not (hasattr(conc, "spearman") and hasattr(conc, "significant")):
        msg = f"concordance= takes the result of degbridge.concordance, not {type(conc).__name__}"
        raise TypeError(msg)
    sig = conc.significant.sum()
    ax = pl.upset(conc, show=False)
    figs = [
        _fig(
            ax,
            "Significant genes per combination of methods",
            f"UpSet plot: each bar counts the genes with adjusted P < {conc.fdr:g} in exactly "
            "the methods marked below it; set sizes in brackets.",
        )
    ]
    spearman = conc.spearman.copy()
    spearman.index.name = "method"
    return {
        "n": f"{conc.n_genes:,}",
        "fdr": f"{conc.fdr:g}",
        "methods": [(str(k), f"{int(v):,}") for k, v in sig.items()],
        "all": f"{int(conc.significant.all(axis=1).sum()):,}",
        "spearman": _table(spearman, index=True),
        "overlap": _table(conc.overlap),
        "disagreement": _table(conc.disagreement, index=True),
        "figs": figs,
    }


def _celltypes(entry) -> dict:
    """DE per cell type (:func:`degbridge.report.celltypes.celltype_section`), figures as PNG."""
    section = celltype_section(entry)
    section["summary"] = _table(section["summary"])
    section["skipped"] = _table(section["skipped"])
    section["figs"] = [{"title": f["title"], "caption": f["caption"], "png": _png(f["fig"])}
                       for f in section["figs"]]  # fmt: skip
    return section


# ---------------------------------------------------------------------------------------
# comparison figures
# ---------------------------------------------------------------------------------------


def _comparison_section(res, table=None, *, interactive: bool = True) -> dict:
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
        "widget": comparison_widget(res, _labels_for(res, table)) if interactive else None,
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


def _labels_for(res, table):
    """The DE table when it describes the comparison's genes (for symbols), else None."""
    if table is None or res.predictions is None:
        return None
    return table if res.predictions.index.isin(table.index).any() else None


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
    return _fig(
        pl.leaderboard(res, show=False),
        "Leaderboard",
        "Cross-validated R² per model (bars, ± sd over folds); the best model in dark blue. R² below -1 is drawn at -1.",
    )


def _pred_vs_obs(res) -> dict:
    has_oof = res.predictions["oof"].notna().any()
    return _fig(
        pl.predicted_vs_observed(res, show=False),
        f"Predicted vs observed ({res.best.name})",
        "Training genes show out-of-fold predictions (never seen in fitting); test genes, the model refitted on all training genes."
        if has_oof
        else "Without cross-validation (cv=None) training genes show in-sample predictions, which flatter the model; judge it on the test genes.",
        drawn_title=f"Predicted vs observed ({literal(res.best.name)})",
    )


def _residuals(res) -> dict:
    return _fig(
        pl.residuals(res, show=False),
        "Residuals on test genes",
        "Residuals of the best model on the held-out test genes.",
    )


def _importance_charts(res) -> list[dict]:
    imp = res.importances
    if imp is None or imp.empty or imp["perm_mean"].isna().all():
        return []
    out = [
        _fig(
            pl.importances(res, top=None, show=False),
            f"Importances: {res.best.name}",
            "Mean ± sd over permutation repeats on the test genes; red bars are features flagged by the leakage audit.",
            drawn_title=f"Importances: {literal(res.best.name)}",
        )
    ]
    if imp["model"].nunique() > 1:
        out.append(
            _fig(
                pl.importance_heatmap(res, show=False),
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
    expression=None,
    groups=None,
    decide=None,
    concordance=None,
    celltypes=None,
    title: str = "degbridge report",
    subtitle: str | None = None,
    interactive: bool = True,
) -> Path:
    """Write the HTML report (atomically): a DE table, ``decide_tests`` over several
    contrasts (``decide=``), a ``concordance`` of several methods (``concordance=``) and/or
    one or more comparisons.

    Parameters
    ----------
    path
        The HTML file.
    comparison, comparisons
        One :class:`~degbridge.Comparison`, or several.
    table
        The DE table: counts, the interactive MD and volcano plots linked to the gene table,
        and the static volcano, MA and P-value figures.
    expression
        The expression behind the table, shown per sample for the selected gene and used for
        the samples' MDS (limma's ``plotMDS``, in R): a :class:`~degbridge.LimmaFit` (its
        ``E``), counts (shown as log2-CPM) or a log-expression matrix; see
        :func:`degbridge.pl.interactive_ma`.
    groups
        How to group (and colour) the samples: one label per sample, or a DataFrame indexed
        by sample whose columns can be chosen in the page.
    decide, concordance
        ``decide_tests`` over several contrasts; a ``concordance`` of several methods.
    celltypes
        DE per cell type: what ``tl.de(..., celltype_key=)`` stores (``adata.uns[key_added]``):
        genes called per cell type and contrast, bars and small volcano plots, the cell types
        skipped with their reasons (:mod:`degbridge.report.celltypes`).
    title, subtitle
        Text at the top of the page.
    interactive
        Include the interactive figures (about 5 MB for plotly.js, plus the data). ``False``
        writes the static report only (PNG figures, no script).

    Every piece of text (gene IDs, feature, model and target names, titles, parameters,
    table cells) is escaped by the template engine (Jinja2 with autoescape) or reaches the
    interactive figures as JSON data shown as text; text drawn in static figures is literal
    (no mathtext, no TeX) and long labels are cut with an ellipsis.
    """
    import matplotlib

    from .._version import __version__

    if expression is not None and table is None:
        msg = "expression= is shown with a DE table: pass table= too"
        raise ValueError(msg)
    comps = list(comparisons or []) + ([comparison] if comparison is not None else [])
    if table is None and not comps and decide is None and concordance is None and celltypes is None:
        msg = (
            "a report needs a DE table (table=), decide_tests (decide=), a concordance "
            "(concordance=), DE per cell type (celltypes=) or a comparison (comparison=)"
        )
        raise ValueError(msg)
    with matplotlib.rc_context({"text.usetex": False}), without_pyplot():
        de = (
            _de_section(table, interactive=interactive, expression=expression, groups=groups)
            if table is not None
            else None
        )
        samples_s = (
            _samples_section(expression, groups) if interactive and expression is not None else None
        )
        decide_s = _decide_section(decide) if decide is not None else None
        conc_s = _concordance_section(concordance) if concordance is not None else None
        cells_s = _celltypes(celltypes) if celltypes is not None else None
        sections = [_comparison_section(res, table, interactive=interactive) for res in comps]
    widgets = [de["widget"] if de else None, samples_s["widget"] if samples_s else None]
    widgets += [c["widget"] for c in sections]
    widgets = [w for w in widgets if w is not None]
    if widgets:
        scripts = page_assets()
        csp = scripts.pop("csp")
    else:
        scripts, csp = None, content_security_policy()
    for section in [de, samples_s, *sections]:
        if section and section.get("widget") is not None:
            section["widget"] = widget_html(section["widget"])
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
            csp=csp,
            scripts=scripts,
            de=de,
            samples=samples_s,
            decide=decide_s,
            concordance=conc_s,
            celltypes=cells_s,
            comparisons=sections,
            versions=versions_table,
        )
    )
    path = Path(path)
    with atomic_write(path, newline="\n") as handle:
        handle.write(page + "\n")
    return path
