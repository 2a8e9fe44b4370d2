"""Interactive figures, as Glimma draws them for limma users: one self-contained HTML file each.

* :func:`interactive_ma` and :func:`interactive_volcano`: a DE table's MD (mean-difference) or
  volcano plot linked to a sortable, searchable gene table (ID, symbol, logFC, average
  expression, P-value, adjusted P-value) and to the selected gene's normalised expression per
  sample by group (voom's ``E`` of a :class:`~degbridge.LimmaFit`, log2-CPM of counts, or a
  log-expression matrix). Click a point or a row to select a gene (again to deselect; several
  at once), search by ID or symbol, save the selected genes as CSV.
* :func:`interactive_mds`: limma's MDS of the samples (``plotMDS``, computed in R), any two
  dimensions, coloured by a sample column, with the variance each dimension explains.
* :func:`interactive_predicted_vs_observed`: a comparison's predictions against the observed
  target, gene names on hover, linked to its gene table.

Each returns an :class:`InteractiveFigure`: shown inline in Jupyter, written with
:meth:`InteractiveFigure.write`. The HTML report (:mod:`degbridge.report`) draws the same
figures. The page needs no network: plotly.js (from the ``plotly`` Python package) and
degbridge's script are inlined, and gene, sample and group names are data, never markup
(see :mod:`degbridge.pl._web`).
"""

from __future__ import annotations

import functools
import html
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._checks import looks_like_counts
from ._base import DOWN, NOT_SIG, UP, gene_labels, numbers, resolve_columns
from ._web import app_css, app_js, content_security_policy, plotly_js, widget_html
from .comparison import check_comparison
from .de import significance
from .samples import mds_dimensions

__all__ = [
    "InteractiveFigure",
    "interactive_ma",
    "interactive_mds",
    "interactive_predicted_vs_observed",
    "interactive_volcano",
]

#: Digits kept in the page: table numbers (P-values keep their precision), plotted expression.
TABLE_DIGITS = 6
EXPRESSION_DIGITS = 4
#: Prior count of the log2-CPM computed from counts (edgeR's ``cpm(dge, log=TRUE)`` default).
PRIOR_COUNT = 2.0
#: Expression values (genes × samples) beyond which the page warns of its size.
LARGE_EXPRESSION = 5_000_000
#: Height in a notebook of each kind of figure (pixels).
_HEIGHT = {"linked": 1080, "mds": 520}


class InteractiveFigure:
    """One or more interactive figures as one self-contained HTML page.

    Made by :func:`interactive_ma`, :func:`interactive_volcano`, :func:`interactive_mds` and
    :func:`interactive_predicted_vs_observed`. In Jupyter the figure shows itself (in an
    ``<iframe>`` holding the same page, so several figures never interfere); elsewhere,
    :meth:`write` it and open the file in a browser.

    Attributes
    ----------
    widgets
        The figures' data, as the page receives them (JSON-ready dicts: gene IDs, labels,
        columns, plots, expression values...).
    title
        The page title (text).
    """

    def __init__(self, widgets: Sequence[dict], title: str = "degbridge") -> None:
        self.widgets = list(widgets)
        self.title = str(title)

    def __repr__(self) -> str:
        kinds = ", ".join(_describe(w) for w in self.widgets)
        return f"<InteractiveFigure {self.title!r}: {kinds}>"

    def to_html(self) -> str:
        """The page: one HTML document that works offline."""
        return render_page(self.widgets, self.title)

    def write(self, path: str | os.PathLike) -> Path:
        """Write the page to ``path`` (atomically: a temporary file renamed when complete).

        Returns
        -------
        Path
            ``path``.
        """
        from ..io.files import atomic_write

        if not isinstance(path, str | os.PathLike):
            msg = f"path must be a file path, not {type(path).__name__}"
            raise TypeError(msg)
        path = Path(path)
        page = self.to_html()
        with atomic_write(path, newline="\n") as handle:
            handle.write(page)
        return path

    def _repr_html_(self) -> str:
        height = sum(_HEIGHT.get(w.get("kind"), 600) for w in self.widgets)
        return (
            '<iframe sandbox="allow-scripts allow-downloads" '
            f'style="width:100%;height:{height}px;border:0" '
            f'srcdoc="{html.escape(self.to_html(), quote=True)}"></iframe>'
        )


def _describe(widget: dict) -> str:
    if widget.get("kind") == "mds":
        return f"MDS of {len(widget['samples'])} samples"
    plots = " + ".join(p["title"] for p in widget.get("plots", []))
    return f"{plots} of {len(widget['ids']):,} genes"


@functools.lru_cache(maxsize=1)
def _environment():
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("degbridge.pl", "assets"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def page_assets() -> dict[str, Any]:
    """What a page with interactive figures inserts besides the figures' elements
    (:func:`~degbridge.pl._web.widget_html`): plotly.js and degbridge's script, the styles, and
    the Content-Security-Policy allowing exactly these two scripts (the report uses it too)."""
    plotly, app = plotly_js(), app_js()
    return {
        "plotly": plotly,
        "app": app,
        "css": app_css(),
        "csp": content_security_policy([plotly, app]),
    }


def render_page(widgets: Sequence[dict], title: str) -> str:
    """The standalone page of :class:`InteractiveFigure`."""
    template = _environment().get_template("page.html.j2")
    elements = [widget_html(w) for w in widgets]
    return template.render(title=str(title), widgets=elements, **page_assets()) + "\n"


# ---------------------------------------------------------------------------------------
# numbers for the page
# ---------------------------------------------------------------------------------------


def rounded(values, digits: int) -> list[float | None]:
    """Each value to ``digits`` significant digits; missing and infinite values as None."""
    out: list[float | None] = []
    for v in np.asarray(values, dtype=float).ravel().tolist():
        out.append(float(f"{v:.{digits}g}") if math.isfinite(v) else None)
    return out


def _text(values) -> list[str | None]:
    return [
        None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v) for v in values
    ]


def _is_fit(obj) -> bool:
    """A :class:`~degbridge.LimmaFit` (duck-typed: its ``E`` and ``expression()``)."""
    return hasattr(obj, "E") and callable(getattr(obj, "expression", None))


def log_cpm(counts: np.ndarray, prior_count: float = PRIOR_COUNT) -> np.ndarray:
    """log2 counts per million as edgeR's ``cpm(y, log=TRUE, prior.count=)`` computes them on
    a matrix: library sizes are the column sums, the prior count is scaled by each library's
    size relative to the mean, and twice the scaled prior is added to each library size."""
    lib = counts.sum(axis=0)
    if (lib <= 0).any():
        bad = int(np.flatnonzero(lib <= 0)[0])
        msg = f"sample {bad + 1} has no counts at all; remove it to compute log-CPM"
        raise ValueError(msg)
    prior = prior_count * lib / lib.mean()
    return np.log2((counts + prior) / (lib + 2 * prior) * 1e6)


def _expression(expression, counts: bool | None, layer: str | None):
    """(genes × samples values, gene IDs, sample IDs, obs or None, what the values are)."""
    from ..de.backend import densify, resolve_matrix

    if _is_fit(expression):
        frame = expression.expression()
        method = getattr(getattr(expression, "options", None), "method", None)
        label = {
            "voom": "log2-CPM (voom's E)",
            "voomWithQualityWeights": "log2-CPM (voom's E)",
            "trend": "log2-CPM (limma-trend's E)",
        }.get(str(method), "log-expression (the fit's E)")
        values = frame.to_numpy(dtype=float)
        return values, [str(g) for g in frame.index], [str(s) for s in frame.columns], None, label
    mat = resolve_matrix(expression, layer=layer)
    densify(mat, drop_zero=False)
    values = np.asarray(mat.values, dtype=float)
    if counts is None:
        counts = looks_like_counts(values[np.isfinite(values)])
    if counts:
        if not np.isfinite(values).all():
            msg = "the counts have missing or infinite values"
            raise ValueError(msg)
        label = f"log2-CPM (prior count {PRIOR_COUNT:g})"
        return log_cpm(values), mat.genes, mat.samples, mat.obs, label
    return values, mat.genes, mat.samples, mat.obs, "expression"


def _obs_columns(groups, obs) -> bool:
    """Whether ``groups`` is a list of obs column names (AnnData)."""
    return (
        obs is not None
        and isinstance(groups, list | tuple)
        and len(groups) > 0
        and all(isinstance(g, str) and g in obs.columns for g in groups)
    )


def _groupings(groups, samples: list[str], obs) -> list[dict]:
    """Each way of grouping the samples: name, one label per sample, the levels in order.

    ``groups``: None; an obs column name (AnnData) or several; one label per sample (list,
    array, Series indexed by sample); or a DataFrame indexed by sample (one grouping per
    column).
    """
    from .samples import sample_labels

    if groups is None:
        return []
    if isinstance(groups, pd.DataFrame):
        frame = groups.copy()
        frame.index = frame.index.map(str)
        missing = [s for s in samples if s not in frame.index]
        if missing:
            msg = f"groups= has no row for the sample(s) {missing[:5]}"
            raise ValueError(msg)
        columns = [(str(c), frame.loc[samples, c]) for c in frame.columns]
    elif _obs_columns(groups, obs):
        columns = [(g, pd.Series(obs[g].to_numpy(), index=samples)) for g in groups]
    else:
        name = groups if isinstance(groups, str) else getattr(groups, "name", None) or "group"
        labels = sample_labels(groups, samples, obs)
        if isinstance(getattr(groups, "dtype", None), pd.CategoricalDtype):
            categories = [str(c) for c in groups.cat.categories]
            labels = pd.Series(pd.Categorical(labels, categories=categories), index=samples)
        columns = [(str(name), labels)]
    out = []
    for name, column in columns:
        if isinstance(column.dtype, pd.CategoricalDtype):
            levels = [str(c) for c in column.cat.categories if (column == c).any()]
        else:
            levels = sorted({str(v) for v in column})
        out.append({"name": name, "values": [str(v) for v in column], "levels": levels})
    return out


# ---------------------------------------------------------------------------------------
# DE tables: MD and volcano plots with the gene table and expression per sample
# ---------------------------------------------------------------------------------------


def de_widget(
    table: pd.DataFrame,
    *,
    expression=None,
    groups=None,
    plots: Sequence[str] = ("ma", "volcano"),
    alpha: float = 0.05,
    lfc: float = 0.0,
    counts: bool | None = None,
    layer: str | None = None,
    title: str | None = None,
) -> dict:
    """The data of a linked figure of a DE table (see :func:`interactive_ma`)."""
    plots = list(plots)
    if not plots or any(p not in ("ma", "volcano") for p in plots):
        msg = f"plots must name 'ma' and/or 'volcano', not {plots!r}"
        raise ValueError(msg)
    need = ["logFC"] + (["AveExpr"] if "ma" in plots else []) + (["P.Value"] if "volcano" in plots else [])  # fmt: skip
    cols = resolve_columns(table, need, ("AveExpr", "P.Value", "adj.P.Val"))
    logfc = numbers(table, cols["logFC"])
    up, down = significance(table, cols, alpha, lfc, logfc)
    ids = [str(g) for g in table.index]
    if len(set(ids)) != len(ids):
        msg = "the table's gene IDs (its index) must be unique"
        raise ValueError(msg)
    labels = gene_labels(table)
    values: dict[str, list] = {"id": ids}
    columns = [{"key": "id", "label": "gene", "format": "text"}]
    symbol = next((c for c in table.columns if str(c).lower() in ("symbol", "gene.symbol")), None)
    if symbol is not None:
        values["symbol"] = _text(table[symbol])
        columns.append({"key": "symbol", "label": str(symbol), "format": "text"})
    for key, fmt in (("logFC", "num"), ("AveExpr", "num"), ("P.Value", "p"), ("adj.P.Val", "p")):
        if key in cols:
            values[key] = rounded(numbers(table, cols[key]), TABLE_DIGITS)
            columns.append({"key": key, "label": cols[key], "format": fmt})
    order = list(range(len(ids)))
    if "P.Value" in cols:
        p = numbers(table, cols["P.Value"])
        order = np.argsort(np.where(np.isnan(p), np.inf, p), kind="stable").tolist()
        values["nlog10P"] = rounded(-np.log10(np.clip(p, 1e-300, 1)), TABLE_DIGITS)
    specs = []
    for plot in plots:
        if plot == "ma":
            specs.append({
                "title": "MD plot", "x": "AveExpr", "y": "logFC", "xlabel": cols["AveExpr"],
                "ylabel": cols["logFC"], "xlog": cols["AveExpr"] == "baseMean", "hline": 0,
            })  # fmt: skip
        else:
            specs.append({
                "title": "Volcano plot", "x": "logFC", "y": "nlog10P", "xlabel": cols["logFC"],
                "ylabel": f"-log10 {cols['P.Value']}",
            })  # fmt: skip
    if "adj.P.Val" in cols:
        rule = f"{cols['adj.P.Val']} < {alpha:g}" + (f" and |{cols['logFC']}| ≥ {lfc:g}" if lfc else "")  # fmt: skip
        note = f"Genes coloured when {rule} (red up, blue down). "
    else:
        note = "The table has no adjusted P-value column: genes are not coloured. "
    note += (
        "Click a point or a table row to select a gene (click again to deselect), or search by "
        "ID or symbol (Enter selects the first match); click a column header to sort."
    )
    spec = {
        "kind": "linked",
        "title": "" if title is None else str(title),
        "ids": ids,
        "labels": labels,
        "columns": columns,
        "values": values,
        "order": order,
        "category": {
            "levels": ["not significant", "up", "down"],
            "colours": [NOT_SIG, UP, DOWN],
            "codes": np.where(up, 1, np.where(down, 2, 0)).tolist(),
        },
        "plots": specs,
        "expression": None,
        "note": note,
        "csv_name": "degbridge_genes.csv",
    }
    if expression is None:
        spec["expression_note"] = (
            "Pass expression= (a LimmaFit, counts or a log-expression matrix) and groups= to "
            "see each selected gene's expression per sample."
        )
    else:
        spec["expression"] = expression_data(ids, expression, groups, counts=counts, layer=layer)
    return spec


def expression_data(ids: list[str], expression, groups, *, counts=None, layer=None) -> dict:
    """Each gene's expression per sample (rows in the order of ``ids``; None for a gene the
    matrix lacks), the sample names, their groupings and what the values are."""
    values, genes, samples, obs, label = _expression(expression, counts, layer)
    row = pd.Index(genes).get_indexer(pd.Index(ids))
    n_values = int((row >= 0).sum()) * len(samples)
    if n_values > LARGE_EXPRESSION:
        import warnings

        from .._exceptions import DegbridgeWarning
        from .._params import caller_stacklevel

        msg = (
            f"the page will carry {n_values:,} expression values (about "
            f"{n_values * 7 / 1e6:.0f} MB): pass the expression of fewer samples or genes"
        )
        warnings.warn(msg, DegbridgeWarning, stacklevel=caller_stacklevel())
    if (row < 0).all():
        msg = (
            f"expression= holds none of the table's genes (table: {ids[:3]}..., expression: "
            f"{list(genes[:3])}...); give the matrix the table was computed from"
        )
        raise ValueError(msg)
    groupings = _groupings(groups, samples, obs) or [
        {"name": "samples", "values": ["all samples"] * len(samples), "levels": ["all samples"]}
    ]
    per_gene: list[list[float | None] | None] = [None] * len(ids)
    for k in np.flatnonzero(row >= 0).tolist():
        per_gene[k] = rounded(values[row[k]], EXPRESSION_DIGITS)
    return {
        "values": per_gene,
        "samples": [str(s) for s in samples],
        "groups": groupings,
        "label": label,
        "n_missing": int((row < 0).sum()),
    }


def _check_table(table) -> None:
    if not isinstance(table, pd.DataFrame):
        msg = f"expected a DE table (a pandas DataFrame), got {type(table).__name__}"
        raise TypeError(msg)


def interactive_ma(
    table: pd.DataFrame,
    expression=None,
    *,
    groups=None,
    alpha: float = 0.05,
    lfc: float = 0.0,
    counts: bool | None = None,
    layer: str | None = None,
    title: str | None = None,
) -> InteractiveFigure:
    """Interactive MD (mean-difference) plot linked to the gene table and, with
    ``expression``, to each gene's expression per sample (Glimma's ``glimmaMA``).

    Parameters
    ----------
    table
        A DE table of limma, edgeR or DESeq2 (logFC and average expression, ``AveExpr``,
        ``logCPM`` or ``baseMean`` on a log axis; P-values and adjusted P-values when present).
        A ``symbol`` column labels the genes.
    expression
        The expression shown for the selected gene: a :class:`~degbridge.LimmaFit` (its ``E``:
        voom's log2-CPM), raw counts (shown as log2-CPM, edgeR's ``cpm(log=TRUE,
        prior.count=2)`` on library sizes), a log-expression matrix (genes × samples
        DataFrame, AnnData or a file, read as the DE methods read them). Genes are matched to
        the table's by ID.
    groups
        How to group the samples on the expression plot: one label per sample (list, or
        Series indexed by sample), an ``obs`` column name for AnnData, or a DataFrame indexed
        by sample whose columns can be chosen on the page (first is the default).
    alpha, lfc
        Significance for the colours, as in :func:`degbridge.pl.ma`.
    counts
        Whether ``expression`` holds counts (detected when None: non-negative integers).
    layer
        AnnData layer of ``expression``.
    title
        Shown above the figure (text).

    Returns
    -------
    InteractiveFigure
    """
    _check_table(table)
    spec = de_widget(table, expression=expression, groups=groups, plots=("ma",), alpha=alpha,
                     lfc=lfc, counts=counts, layer=layer, title=title)  # fmt: skip
    return InteractiveFigure([spec], title or "MD plot")


def interactive_volcano(
    table: pd.DataFrame,
    expression=None,
    *,
    groups=None,
    alpha: float = 0.05,
    lfc: float = 0.0,
    counts: bool | None = None,
    layer: str | None = None,
    title: str | None = None,
) -> InteractiveFigure:
    """Interactive volcano plot (logFC against −log10 P) linked to the gene table and, with
    ``expression``, to each gene's expression per sample (Glimma's ``glimmaVolcano``).

    Parameters are those of :func:`interactive_ma`; the table needs logFC and P-values.

    Returns
    -------
    InteractiveFigure
    """
    _check_table(table)
    spec = de_widget(table, expression=expression, groups=groups, plots=("volcano",),
                     alpha=alpha, lfc=lfc, counts=counts, layer=layer, title=title)  # fmt: skip
    return InteractiveFigure([spec], title or "Volcano plot")


# ---------------------------------------------------------------------------------------
# samples: MDS
# ---------------------------------------------------------------------------------------


def mds_widget(
    expr,
    *,
    groups=None,
    ndim: int | None = None,
    top: int = 500,
    gene_selection: str = "pairwise",
    counts: bool | None = None,
    layer: str | None = None,
    title: str | None = None,
) -> dict:
    """The data of an MDS figure (see :func:`interactive_mds`)."""
    obs = None
    if _is_fit(expr):
        expr, counts = expr.expression(), False
    elif groups is not None:
        from ..de.backend import resolve_matrix

        obs = resolve_matrix(expr, layer=layer).obs if isinstance(groups, str | list) else None
    coords = mds_dimensions(expr, ndim=ndim, top=top, gene_selection=gene_selection,
                            counts=counts, layer=layer)  # fmt: skip
    samples = [str(s) for s in coords.index]
    return {
        "kind": "mds",
        "title": "" if title is None else str(title),
        "plot_title": "MDS (limma plotMDS)",
        "samples": samples,
        "coords": [rounded(coords[c], 6) for c in coords.columns],
        "var_explained": rounded(coords.attrs["var_explained"], 4),
        "groups": _groupings(groups, samples, obs),
        "note": (
            f"Distances are the root-mean-square log2 fold changes of the top {int(top)} genes "
            f"({'for each pair of samples' if gene_selection == 'pairwise' else 'overall'}). "
            "Choose the dimensions and the sample column colouring the points."
        ),
    }


def interactive_mds(
    expr,
    *,
    groups=None,
    ndim: int | None = None,
    top: int = 500,
    gene_selection: str = "pairwise",
    counts: bool | None = None,
    layer: str | None = None,
    title: str | None = None,
) -> InteractiveFigure:
    """Interactive MDS of the samples, as limma's ``plotMDS`` computes it (Glimma's
    ``glimmaMDS``): choose any two dimensions, colour by a sample column.

    Parameters
    ----------
    expr
        Counts (log2-CPM through edgeR, as ``plotMDS(DGEList(counts))``), a log-expression
        matrix or a :class:`~degbridge.LimmaFit` (its ``E``): genes × samples DataFrame,
        AnnData (samples × genes) or a file.
    groups
        Sample columns to colour by: one label per sample, a Series, a DataFrame indexed by
        sample (one choice per column), or ``obs`` column name(s) for AnnData.
    ndim, top, gene_selection, counts, layer
        See :func:`degbridge.pl.mds_dimensions`.
    title
        Shown above the figure (text).

    Returns
    -------
    InteractiveFigure
    """
    spec = mds_widget(expr, groups=groups, ndim=ndim, top=top, gene_selection=gene_selection,
                      counts=counts, layer=layer, title=title)  # fmt: skip
    return InteractiveFigure([spec], title or "MDS")


# ---------------------------------------------------------------------------------------
# comparisons: predicted vs observed
# ---------------------------------------------------------------------------------------


def comparison_widget(res, table: pd.DataFrame | None = None, title: str | None = None) -> dict:
    """The data of a predicted-vs-observed figure (see :func:`interactive_predicted_vs_observed`)."""
    check_comparison(res, ("predictions", "target", "best"))
    p = res.predictions
    if p is None or len(p) == 0:
        msg = "this comparison has no predictions to show"
        raise ValueError(msg)
    ids = [str(g) for g in p.index]
    labels = ids
    symbols = None
    if table is not None:
        _check_table(table)
        by_id = dict(zip((str(g) for g in table.index), gene_labels(table)))
        labels = [by_id.get(g, g) for g in ids]
        if any(a != b for a, b in zip(labels, ids)):
            symbols = [lab if lab != g else None for lab, g in zip(labels, ids)]
    train = (p["split"] == "train").to_numpy()
    has_oof = bool(p["oof"].notna().any())
    shown = (p["oof"].where(train, p["predicted"]) if has_oof else p["predicted"]).to_numpy(float)
    observed = p["observed"].to_numpy(dtype=float)
    target = str(res.target)
    values: dict[str, list] = {"id": ids}
    columns = [{"key": "id", "label": "gene", "format": "text"}]
    if symbols is not None:
        values["symbol"] = symbols
        columns.append({"key": "symbol", "label": "symbol", "format": "text"})
    values.update({
        "observed": rounded(observed, TABLE_DIGITS), "predicted": rounded(shown, TABLE_DIGITS),
        "residual": rounded(observed - shown, TABLE_DIGITS), "split": [str(s) for s in p["split"]],
    })  # fmt: skip
    columns += [
        {"key": "observed", "label": f"observed {target}", "format": "num"},
        {"key": "predicted", "label": "predicted" + (" (out-of-fold for training genes)" if has_oof else ""), "format": "num"},
        {"key": "residual", "label": "residual", "format": "num"},
        {"key": "split", "label": "split", "format": "text"},
    ]  # fmt: skip
    train_level = "training genes (out-of-fold)" if has_oof else "training genes (in-sample: cv=None)"  # fmt: skip
    order = np.argsort(-np.abs(np.nan_to_num(observed - shown, nan=-np.inf)), kind="stable")
    return {
        "kind": "linked",
        "title": "" if title is None else str(title),
        "ids": ids,
        "labels": labels,
        "columns": columns,
        "values": values,
        "order": order.tolist(),
        "category": {
            "levels": [train_level, "test genes"],
            "colours": ["#829ab1", "#d64545"],
            "codes": np.where(train, 0, 1).tolist(),
        },
        "plots": [
            {
                "title": f"Predicted vs observed ({res.best.name})",
                "x": "observed",
                "y": "predicted",
                "xlabel": f"observed {target}",
                "ylabel": f"predicted {target}",
                "diagonal": True,
            },
            {
                "title": "Residuals",
                "x": "predicted",
                "y": "residual",
                "xlabel": f"predicted {target}",
                "ylabel": "residual (observed - predicted)",
                "hline": 0,
            },
        ],
        "expression": None,
        "note": (
            "Training genes show out-of-fold predictions (never seen in fitting); test genes "
            "the model refitted on all training genes. The line is y = x. The table lists the "
            "largest residuals first; click a point or a row to select a gene, or search."
            if has_oof
            else "Without cross-validation training genes show in-sample predictions, which "
            "flatter the model; judge it on the test genes."
        ),
        "csv_name": "degbridge_predictions.csv",
    }


def interactive_predicted_vs_observed(
    res, table: pd.DataFrame | None = None, *, title: str | None = None
) -> InteractiveFigure:
    """A comparison's best model: predicted against observed target per gene, gene names on
    hover, linked to a searchable table of the predictions (largest residuals first).

    Parameters
    ----------
    res
        A :class:`~degbridge.Comparison`.
    table
        The DE table compared, for gene symbols (its ``symbol`` column) as labels.
    title
        Shown above the figure (text).

    Returns
    -------
    InteractiveFigure
    """
    spec = comparison_widget(res, table, title)
    return InteractiveFigure([spec], title or f"Predicted vs observed {res.target}")
