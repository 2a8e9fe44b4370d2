"""degbridge.pl's interactive figures, without a browser: the data the page receives (checked
against pandas, a native Rscript and closed forms), the safe embedding (JSON, scripts, policy),
and the page and notebook outputs. tests/test_interactive_browser.py runs them in chromium."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import warnings

import numpy as np
import pandas as pd
import pytest

import degbridge
from degbridge import pl
from degbridge.pl import _web
from degbridge.pl.interactive import (
    comparison_widget,
    de_widget,
    expression_data,
    log_cpm,
    rounded,
)

from .conftest import read_matrix_bin, run_rscript, write_matrix_bin

HOSTILE = [
    "</script><script>alert(1)</script>",
    "<!--",
    "</SCRIPT >",
    "a & b <c> \u2028 \u2029 \"'",
    "\x00nul\ttab\nline",
    "{{ 7*7 }} %{x}",
    "\U0001f9ec",
]


def _table(n=200, seed=0, names=("logFC", "AveExpr", "P.Value", "adj.P.Val")) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    logfc = rng.normal(0, 1.5, n)
    p = np.clip(np.exp(-np.abs(logfc) * rng.uniform(1, 6, n)), 1e-30, 1)
    df = pd.DataFrame(
        dict(zip(names, (logfc, rng.uniform(1, 12, n), p, np.minimum(p * 4, 1)))),
        index=[f"ENSG{i:08d}" for i in range(n)],
    )
    df["symbol"] = [f"GENE{i}" if i % 3 else None for i in range(n)]
    return df


# ---------------------------------------------------------------------------------------
# embedding
# ---------------------------------------------------------------------------------------


def test_json_for_script_cannot_end_its_element_and_round_trips():
    obj = {"ids": HOSTILE, "x": [1.5, float("nan"), float("inf"), -float("inf"), None], "k": 3}
    text = str(_web.json_for_script(obj))
    assert not re.search("[<>&\u2028\u2029]", text)
    back = json.loads(text)
    assert back["ids"] == HOSTILE and back["x"] == [1.5, None, None, None, None]
    with pytest.raises(TypeError):
        _web.json_for_script({"x": object()})


@pytest.mark.parametrize("bad", ["a</script>b", "x</SCRIPT", "<!-- c", "nul\x00"])
def test_inline_script_refuses_code_that_would_end_its_element(bad):
    with pytest.raises(ValueError, match="cannot be inlined"):
        _web.inline_script(bad, "test.js")


def test_inline_script_line_ends_and_policy_hashes():
    code = _web.inline_script("var a = 1;\r\nvar b = 2;\rvar c;", "x.js")
    assert str(code) == "var a = 1;\nvar b = 2;\nvar c;"
    digest = base64.b64encode(hashlib.sha256(str(code).encode()).digest()).decode()
    policy = _web.content_security_policy([code])
    assert policy == (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data: blob:; "
        f"script-src 'sha256-{digest}' 'unsafe-eval'"
    )
    assert _web.content_security_policy().endswith("script-src 'none'")
    # plotly.js and degbridge's script pass the checks (cached, checked once).
    assert "plotly.js v" in str(_web.plotly_js())[:200]
    assert "window.degbridge" in str(_web.app_js())


def test_page_holds_exactly_the_figure_data_and_the_two_scripts(tmp_path):
    table = _table()
    table.index = [*HOSTILE, *table.index[len(HOSTILE) :]]
    fig = pl.interactive_volcano(table, title=HOSTILE[0])
    page = fig.to_html()
    # plotly.js mentions "<script" once (harmless without "<!--", which inline_script refuses)
    outside = page.replace(str(_web.plotly_js()), "")
    assert outside.count("<script") == 3 and page.count("</script>") == 3
    data = re.search(r'<div class="dbw"><script type="application/json">(.*?)</script>', page)
    assert json.loads(data.group(1)) == json.loads(json.dumps(fig.widgets[0]))
    assert "<title>&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;</title>" in page
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', page).group(1)
    assert html.unescape(policy) == _web.content_security_policy([_web.plotly_js(), _web.app_js()])
    # write(): atomically, the same page; the notebook shows the same page in a sandbox.
    path = fig.write(tmp_path / "v.html")
    assert path.read_text(encoding="utf-8") == page
    assert not list(tmp_path.glob(".*tmp*"))
    frame = fig._repr_html_()
    assert frame.startswith('<iframe sandbox="allow-scripts allow-downloads" ')
    assert html.unescape(re.search(r'srcdoc="([^"]*)"', frame).group(1)) == page
    assert repr(fig) == "<InteractiveFigure '</script><script>alert(1)</script>': Volcano plot of 200 genes>"  # fmt: skip
    with pytest.raises(TypeError, match="path must be a file path"):
        fig.write(3)


# ---------------------------------------------------------------------------------------
# the data of a DE figure
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("alpha", "lfc"), [(0.05, 0.0), (0.2, 1.0)])
def test_de_widget_numbers_colours_and_order(alpha, lfc):
    table = _table()
    spec = de_widget(table, alpha=alpha, lfc=lfc)
    codes = np.array(spec["category"]["codes"])
    sig = (table["adj.P.Val"] < alpha) & (table["logFC"].abs() >= lfc)
    assert ((codes == 1) == (sig & (table["logFC"] > 0))).all()
    assert ((codes == 2) == (sig & (table["logFC"] < 0))).all()
    assert spec["category"]["colours"] == [pl.NOT_SIG, pl.UP, pl.DOWN]
    assert spec["ids"] == list(table.index)
    assert spec["labels"] == pl.gene_labels(table)
    assert spec["values"]["symbol"] == [s if isinstance(s, str) else None for s in table["symbol"]]
    for key in ("logFC", "AveExpr", "P.Value", "adj.P.Val"):
        np.testing.assert_allclose(spec["values"][key], table[key], rtol=5e-6)
    np.testing.assert_allclose(spec["values"]["nlog10P"], -np.log10(table["P.Value"]), rtol=5e-6)
    assert spec["order"] == list(np.argsort(table["P.Value"].to_numpy(), kind="stable"))
    assert [p["title"] for p in spec["plots"]] == ["MD plot", "Volcano plot"]
    assert [c["label"] for c in spec["columns"]] == ["gene", "symbol", "logFC", "AveExpr", "P.Value", "adj.P.Val"]  # fmt: skip
    assert spec["expression"] is None and "expression=" in spec["expression_note"]
    assert f"adj.P.Val < {alpha:g}" in spec["note"]


def test_de_widget_edger_deseq2_and_missing_columns():
    edger = _table(names=("logFC", "logCPM", "PValue", "FDR"))
    spec = de_widget(edger)
    assert [c["label"] for c in spec["columns"][2:]] == ["logFC", "logCPM", "PValue", "FDR"]
    assert spec["plots"][1]["ylabel"] == "-log10 PValue"
    deseq = _table(names=("log2FoldChange", "baseMean", "pvalue", "padj"))
    spec = de_widget(deseq, plots=["ma"])
    assert spec["plots"] == [{"title": "MD plot", "x": "AveExpr", "y": "logFC", "xlabel": "baseMean", "ylabel": "log2FoldChange", "xlog": True, "hline": 0}]  # fmt: skip
    no_adj = _table().drop(columns="adj.P.Val")
    spec = de_widget(no_adj)
    assert set(spec["category"]["codes"]) == {0} and "no adjusted P-value" in spec["note"]
    nan_p = _table()
    nan_p.iloc[0, 2] = np.nan
    spec = de_widget(nan_p)
    assert spec["values"]["P.Value"][0] is None and spec["order"][-1] == 0
    with pytest.raises(ValueError, match="lacks the column"):
        pl.interactive_volcano(_table().drop(columns="P.Value"))
    with pytest.raises(ValueError, match="plots must name"):
        de_widget(_table(), plots=["heatmap"])
    dup = _table()
    dup.index = ["g"] * len(dup)
    with pytest.raises(ValueError, match="must be unique"):
        pl.interactive_ma(dup)
    with pytest.raises(TypeError, match="DE table"):
        pl.interactive_ma([1, 2])


def test_expression_by_gene_and_groups():
    table = _table(n=50)
    rng = np.random.default_rng(1)
    samples = ["s1", "s2", "s3", "s4"]
    genes = [*table.index[5:], "other"]  # lacks the table's first five genes
    expr = pd.DataFrame(rng.normal(5, 1, (len(genes), 4)), index=genes, columns=samples)
    groups = pd.Series(pd.Categorical(["b", "a", "b", "a"], categories=["b", "a", "z"]), index=samples, name="cond")  # fmt: skip
    data = expression_data(list(table.index), expr, groups)
    assert data["values"][:5] == [None] * 5 and data["n_missing"] == 5
    assert data["values"][7] == rounded(expr.loc[table.index[7]], 4)
    assert data["samples"] == samples and data["label"] == "expression"
    assert data["groups"] == [{"name": "cond", "values": ["b", "a", "b", "a"], "levels": ["b", "a"]}]  # fmt: skip
    frame = pd.DataFrame({"x": ["p", "q", "p", "q"], "y": [1, 1, 2, 2]}, index=samples[::-1])
    data = expression_data(list(table.index), expr, frame)
    assert [g["name"] for g in data["groups"]] == ["x", "y"]
    assert data["groups"][1]["values"] == ["2", "2", "1", "1"]  # by sample, not by position
    data = expression_data(list(table.index), expr, ["u", "v", "u", "v"])
    assert data["groups"][0] == {"name": "group", "values": ["u", "v", "u", "v"], "levels": ["u", "v"]}  # fmt: skip
    data = expression_data(list(table.index), expr, None)
    assert data["groups"][0]["levels"] == ["all samples"]
    with pytest.raises(ValueError, match="none of the table's genes"):
        expression_data(["nope"], expr, None)
    with pytest.raises(ValueError, match="groups has 3 labels for 4 samples"):
        expression_data(list(table.index), expr, ["a", "b", "c"])
    with pytest.raises(ValueError, match="no row for the sample"):
        expression_data(list(table.index), expr, frame.iloc[:2])


def test_expression_from_anndata_obs_columns():
    anndata = pytest.importorskip("anndata")
    table = _table(n=30)
    rng = np.random.default_rng(2)
    obs = pd.DataFrame({"dex": ["c", "t", "c", "t"], "cell": ["A", "A", "B", "B"]},
                       index=[f"s{k}" for k in range(4)])  # fmt: skip
    adata = anndata.AnnData(rng.normal(3, 1, (4, 30)), obs=obs,
                            var=pd.DataFrame(index=list(table.index)))  # fmt: skip
    data = expression_data(list(table.index), adata, ["dex", "cell"])
    assert [g["name"] for g in data["groups"]] == ["dex", "cell"]
    assert data["values"][3] == rounded(adata.X[:, 3], 4)
    assert expression_data(list(table.index), adata, "cell")["groups"][0]["levels"] == ["A", "B"]


def test_expression_of_a_fit_is_its_E():
    class FakeFit:  # what the figures use of a LimmaFit: E, expression(), options.method
        class options:
            method = "voom"

        E = np.arange(12.0).reshape(3, 4)

        def expression(self):
            return pd.DataFrame(self.E, index=["g0", "g1", "g2"], columns=list("abcd"))

    data = expression_data(["g2", "g0", "x"], FakeFit(), None)
    assert data["values"] == [[8.0, 9.0, 10.0, 11.0], [0.0, 1.0, 2.0, 3.0], None]
    assert data["label"] == "log2-CPM (voom's E)"


def test_large_expression_warns(monkeypatch):
    from degbridge import DegbridgeWarning
    from degbridge.pl import interactive

    table = _table(n=40)
    expr = pd.DataFrame(np.ones((40, 5)), index=table.index)
    monkeypatch.setattr(interactive, "LARGE_EXPRESSION", 199)
    with pytest.warns(DegbridgeWarning, match="200 expression values") as caught:
        pl.interactive_ma(table, expr)
    assert caught[0].filename == __file__  # points at the caller
    monkeypatch.setattr(interactive, "LARGE_EXPRESSION", 200)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pl.interactive_ma(table, expr)


@pytest.mark.r
def test_airway_voom_expression_in_the_page(airway):
    """The demo's data: voom's E of the fit the table came from, per gene and sample."""
    counts, samples = airway
    fit = degbridge.fit_limma(counts, samples=samples, design="~ celltype + dex", method="voom")
    table = fit.test(coef="dextreated")
    spec = pl.interactive_ma(table, fit, groups=samples[["dex", "celltype"]]).widgets[0]
    E = fit.expression()
    k = spec["ids"].index("ENSG00000120129")  # DUSP1
    assert spec["expression"]["values"][k] == rounded(E.loc["ENSG00000120129"], 4)
    assert spec["expression"]["samples"] == list(samples.index) == list(E.columns)
    assert spec["expression"]["label"] == "log2-CPM (voom's E)"
    assert spec["expression"]["n_missing"] == 0 and len(spec["ids"]) == len(E) == 15912
    assert [g["name"] for g in spec["expression"]["groups"]] == ["dex", "celltype"]
    assert spec["expression"]["groups"][0]["values"] == list(samples["dex"])
    codes = np.array(spec["category"]["codes"])
    assert ((codes == 1).sum(), (codes == 2).sum()) == (1861, 1518)  # decideTests' Up, Down


def test_log_cpm_closed_form():
    counts = np.array([[0.0, 10.0], [5.0, 30.0], [95.0, 60.0]])
    lib = counts.sum(axis=0)  # 100, 100: equal libraries, prior 2 each
    expected = np.log2((counts + 2) / (lib + 4) * 1e6)
    np.testing.assert_allclose(log_cpm(counts), expected)
    with pytest.raises(ValueError, match="sample 2 has no counts"):
        log_cpm(np.array([[1.0, 0.0], [2.0, 0.0]]))


@pytest.mark.r
def test_log_cpm_matches_native_edger(tmp_path):
    rng = np.random.default_rng(3)
    counts = rng.negative_binomial(3, 0.05, size=(300, 6)).astype(float)
    counts[:, 2] *= 4  # unequal library sizes: the scaled prior matters
    write_matrix_bin(counts, tmp_path / "y")
    run_rscript(
        """
y <- read_matrix_bin("y")
out <- edgeR::cpm(edgeR::DGEList(counts = y), log = TRUE, prior.count = 2)
writeBin(as.numeric(out), "cpm.bin", size = 8, endian = "little")
cat(dim(out), file = "cpm.dim")
""",
        tmp_path,
    )
    np.testing.assert_allclose(log_cpm(counts), read_matrix_bin(tmp_path / "cpm"), atol=1e-10)
    # counts given as expression= are shown as this log-CPM
    frame = pd.DataFrame(counts, index=[f"g{i}" for i in range(300)])
    data = expression_data(list(frame.index), frame, None)
    assert data["label"] == "log2-CPM (prior count 2)"
    assert data["values"][17] == rounded(log_cpm(counts)[17], 4)


# ---------------------------------------------------------------------------------------
# MDS and comparisons
# ---------------------------------------------------------------------------------------


def _counts(n_genes=400, n_samples=8, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    mu = rng.gamma(1.0, 60, size=(n_genes, 1)) * rng.uniform(0.6, 1.6, size=(1, n_samples))
    mu[:20, n_samples // 2 :] *= 4
    return pd.DataFrame(
        rng.negative_binomial(5, 5 / (5 + mu)).astype(float),
        index=[f"g{i}" for i in range(n_genes)],
        columns=[f"s{j}" for j in range(n_samples)],
    )


@pytest.mark.r
@pytest.mark.parametrize("counts", [False, True])
def test_mds_dimensions_match_native_plotmds(tmp_path, counts):
    x = _counts() if counts else np.log2(_counts() + 1)
    write_matrix_bin(x.to_numpy(), tmp_path / "x")
    obj = "edgeR::DGEList(counts = x)" if counts else "x"
    run_rscript(
        f"""
x <- read_matrix_bin("x")
out <- NULL
for (d in list(c(1, 2), c(3, 4), c(4, 5))) {{
  m <- limma::plotMDS({obj}, top = 100, dim.plot = d, plot = FALSE)
  out <- cbind(out, m$x, m$y)
}}
out <- cbind(out, m$var.explained)
writeBin(as.numeric(out), "mds.bin", size = 8, endian = "little")
cat(dim(out), file = "mds.dim")
""",
        tmp_path,
    )
    native = read_matrix_bin(tmp_path / "mds")
    dims = pl.mds_dimensions(x, ndim=5, top=100)
    assert list(dims.columns) == [f"dim{d}" for d in range(1, 6)]
    for k, (col, ref) in enumerate([(1, 0), (2, 1), (3, 2), (4, 3), (5, 5)]):
        np.testing.assert_allclose(dims[f"dim{col}"], native[:, ref], atol=1e-10, err_msg=str(k))
    np.testing.assert_allclose(dims.attrs["var_explained"], native[:5, 6], atol=1e-12)
    coords = pl.mds_coordinates(x, top=100)
    np.testing.assert_allclose(dims["dim1"], coords["x"], atol=1e-12)
    assert pl.mds_dimensions(x).shape[1] == 7  # default: samples - 1, at most 8
    for bad in (1, 8, 2.5, True):
        with pytest.raises(ValueError, match="ndim must be an integer from 2 to 7"):
            pl.mds_dimensions(x, ndim=bad)
    # the figure's data: every dimension, groups, the variance explained
    fig = pl.interactive_mds(x, groups=["a", "b"] * 4, ndim=5, top=100)
    spec = fig.widgets[0]
    assert spec["kind"] == "mds" and spec["samples"] == list(x.columns)
    np.testing.assert_allclose(spec["coords"][2], dims["dim3"], rtol=1e-5)
    assert spec["groups"] == [{"name": "group", "values": ["a", "b"] * 4, "levels": ["a", "b"]}]
    assert spec["var_explained"] == rounded(dims.attrs["var_explained"], 4)


def test_comparison_widget_shows_what_the_static_plot_shows():
    from degbridge import LeakageWarning, compare

    table = _table(n=240)
    rng = np.random.default_rng(4)
    data = pd.DataFrame({"y": table["logFC"], "x": table["logFC"] + rng.normal(0, 0.5, 240),
                         "z": rng.normal(size=240)}, index=table.index)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LeakageWarning)
        res = compare(data, target="y", models=["linear"], cv=3, progress=False)
    spec = comparison_widget(res, table)
    p = res.predictions
    train = (p["split"] == "train").to_numpy()
    shown = np.where(train, p["oof"], p["predicted"])
    np.testing.assert_allclose(spec["values"]["predicted"], shown, rtol=5e-6)
    np.testing.assert_allclose(spec["values"]["observed"], p["observed"], rtol=5e-6)
    np.testing.assert_allclose(spec["values"]["residual"], p["observed"] - shown, rtol=1e-5, atol=1e-9)  # fmt: skip
    assert spec["category"]["codes"] == [0 if t else 1 for t in train]
    labels = dict(zip(table.index, pl.gene_labels(table)))
    assert spec["labels"] == [labels[g] for g in p.index]
    resid = np.abs(p["observed"] - shown).to_numpy()
    assert resid[spec["order"][0]] == resid.max()
    assert spec["plots"][0]["diagonal"] is True
    fig = pl.interactive_predicted_vs_observed(res)  # no table: IDs only
    assert fig.widgets[0]["labels"] == fig.widgets[0]["ids"] and "symbol" not in fig.widgets[0]["values"]  # fmt: skip
    with pytest.raises(TypeError, match="expected a degbridge Comparison"):
        pl.interactive_predicted_vs_observed(table)


def test_report_interactive_sections(tmp_path):
    from degbridge.report.html import write_report

    table = _table()
    rng = np.random.default_rng(5)
    expr = pd.DataFrame(rng.normal(5, 1, (200, 4)), index=table.index, columns=list("abcd"))
    with pytest.raises(ValueError, match="pass table= too"):
        write_report(tmp_path / "r.html", expression=expr, decide=None, comparison=None)
    page = write_report(tmp_path / "r.html", table=table.drop(columns="P.Value")).read_text()
    spec = json.loads(re.search(r'<script type="application/json">(.*?)</script>', page).group(1))
    assert [p["title"] for p in spec["plots"]] == ["MD plot"]  # no P-values: no volcano
    assert "Explore the genes" in page and "Samples: MDS" not in page


@pytest.mark.r
def test_write_results_passes_the_expression_to_the_report(tmp_path):
    """A results folder's report shows the MDS and the expression panel when given the fit."""
    import degbridge as db

    rng = np.random.default_rng(7)
    counts = pd.DataFrame(
        rng.poisson(30, (150, 6)).astype(float),
        index=[f"g{i}" for i in range(150)],
        columns=[f"s{j}" for j in range(6)],
    )
    fit = db.fit_limma(counts, groups=list("aaabbb"))
    table = fit.test("b - a")
    res = db.compare(table, models=["mean", "linear"], cv=3, progress=False, leakage="keep")
    db.write_results(res, tmp_path / "with", table=table, expression=fit, groups=list("aaabbb"))
    db.write_results(res, tmp_path / "without", table=table)
    assert "<h2>Samples: MDS</h2>" in (tmp_path / "with" / "report.html").read_text()
    assert "<h2>Samples: MDS</h2>" not in (tmp_path / "without" / "report.html").read_text()
