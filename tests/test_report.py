"""The HTML report: every section present, images valid PNG, user text escaped, the only
scripts degbridge's own (plotly.js and the interactive figures' code, allowed by hash)."""

from __future__ import annotations

import base64
import json
import re
import warnings
from collections import Counter
from collections.abc import Sequence
from html.parser import HTMLParser
from importlib import resources

import numpy as np
import pandas as pd
import pytest

import degbridge
from degbridge import LeakageWarning, compare
from degbridge.io.table import DETable
from degbridge.pl._web import app_css, app_js, content_security_policy, plotly_js
from degbridge.report.html import write_report

SECTIONS = (
    "Differential expression", "Volcano plot", "MA plot", "P-value histogram",
    "model comparison", "Leakage audit", "Leaderboard", "Predicted vs observed", "Residuals on test genes",
    "Importances: ", "Permutation importance across models", "Preprocessing", "Parameters", "Versions",
)  # fmt: skip


@pytest.fixture(scope="module")
def report_html(tmp_path_factory, data_dir):
    tab = degbridge.read_table(data_dir / "limma_voom_every10th.csv")
    tab = tab.rename(index={tab.index[0]: "<script>alert(1)</script>"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LeakageWarning)
        res = compare(
            tab, target="B", models=["linear", "decision_tree", "knn"], cv=3, progress=False
        )
    path = tmp_path_factory.mktemp("report") / "report.html"
    write_report(path, comparison=res, table=tab, title="test <report>")
    return path.read_text()


def test_sections_present(report_html):
    for section in SECTIONS:
        assert section in report_html, section


def test_images_are_valid_png(report_html):
    page = _parse(report_html)
    images = [dict(attrs)["src"] for tag, attrs in page.elements if tag == "img"]
    assert len(images) >= 8
    for src in images:
        raw = base64.b64decode(src.removeprefix("data:image/png;base64,"))
        assert raw[:8] == b"\x89PNG\r\n\x1a\n"
        assert len(raw) > 2000  # not an empty canvas


def test_self_contained_and_escaped(report_html):
    page = _parse(report_html)
    # The hostile gene name reaches the page only as JSON data: escaped, parsed back intact.
    assert "<script>alert(1)</script>" not in report_html
    (de, xy) = page.widgets
    assert de["ids"][0] == "<script>alert(1)</script>"
    assert "<script>alert(1)</script>" in xy["ids"]
    assert "test &lt;report&gt;" in report_html
    # Self-contained: no address outside the inlined plotly.js, and a policy forbidding any
    # request (default-src 'none'; the browser test checks that the page makes none).
    assert "http://" not in page.outside_scripts and "https://" not in page.outside_scripts
    assert page.csp == content_security_policy([plotly_js(), app_js()])
    assert page.csp.startswith("default-src 'none'")


def test_static_report_has_no_script(tmp_path, data_dir):
    tab = degbridge.read_table(data_dir / "limma_voom_every10th.csv")
    html = write_report(tmp_path / "r.html", table=tab, interactive=False).read_text()
    page = _parse(html)
    assert "<script" not in html and page.widgets == [] and page.scripts == []
    assert page.csp == content_security_policy() and "script-src 'none'" in page.csp
    assert len([t for t, _ in page.elements if t == "img"]) == 3
    assert len(html) < 600_000  # PNGs only: plotly.js alone is about 4.8 MB


def test_report_needs_something(tmp_path):
    with pytest.raises(ValueError, match="a report needs a DE table"):
        write_report(tmp_path / "r.html")


def test_report_without_leakage_audit(tmp_path):
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {"y": rng.normal(size=200), "x": rng.normal(size=200)}, index=[f"g{i}" for i in range(200)]
    )
    res = compare(df, target="y", models=["linear"], cv=2, leakage="keep", progress=False)
    path = write_report(tmp_path / "r.html", comparison=res)
    assert "Leakage audit skipped" in path.read_text()


# ---------------------------------------------------------------------------------------
# hostile text: escaped in the page, literal in the figures (issue 11, points 4 and 6)
# ---------------------------------------------------------------------------------------

LONG = "L" * 4990 + "<b>$x$</b>"  # 5,000 characters, with markup and math at the far end
HOSTILE = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "</style><i>",
    "</title><!--",
    r"$\alpha_{$",
    "two\nlines",
    "\u202eevil",
    "&amp; {{ 7*7 }} {% if 1 %}x{% endif %}",
)
# Every tag and attribute the report's own template uses; classes it uses.
ALLOWED = {
    "html": {"lang"}, "head": set(), "meta": {"charset", "http-equiv", "content"}, "title": set(),
    "style": set(), "body": set(), "header": set(), "main": set(), "section": set(), "h1": set(),
    "h2": set(), "h3": set(), "p": {"class"}, "div": {"class"}, "span": {"class"}, "b": set(),
    "i": set(), "code": set(), "bdi": set(), "figure": set(), "figcaption": set(),
    "img": {"alt", "src"}, "table": {"class"}, "thead": set(), "tbody": set(), "tr": {"class"},
    "th": set(), "td": set(), "script": {"type"},
}  # fmt: skip
CLASSES = {"kpi", "figs", "note", "warn", "db", "best", "dbw"}
CSS = resources.files("degbridge.report") / "templates" / "report.css"
PNG_SRC = re.compile(r"data:image/png;base64,[A-Za-z0-9+/]+=*")


class _Page(HTMLParser):
    """Every element with its attributes, comments, declarations, the decoded text outside
    scripts, and each script's attributes and text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.other: list[str] = []
        self.text: list[str] = []
        self.scripts: list[tuple[dict, str]] = []
        self._script: tuple[dict, list[str]] | None = None

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, attrs))
        if tag == "script":
            self._script = (dict(attrs), [])

    def handle_startendtag(self, tag, attrs):
        self.elements.append((tag, attrs))

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            self.scripts.append((self._script[0], "".join(self._script[1])))
            self._script = None

    def handle_data(self, data):
        if self._script is not None:
            self._script[1].append(data)
        else:
            self.text.append(data)

    def handle_comment(self, data):
        self.other.append(f"comment {data!r}")

    def handle_decl(self, decl):
        if decl.lower() != "doctype html":
            self.other.append(f"declaration {decl!r}")

    def handle_pi(self, data):
        self.other.append(f"processing instruction {data!r}")

    def unknown_decl(self, data):
        self.other.append(f"declaration {data!r}")


def _parse(html: str) -> _Page:
    """The page parsed; its scripts checked to be exactly degbridge's: one JSON data element
    per interactive figure (inside its ``div.dbw``; decoded into ``.widgets``), then plotly.js
    and degbridge's code, verbatim. Also sets ``.csp`` and ``.outside_scripts``."""
    page = _Page()
    page.feed(html)
    page.close()
    page.widgets = []
    code = []
    for k, (tag, attrs) in enumerate(page.elements):
        if tag != "script":
            continue
        if dict(attrs) == {"type": "application/json"}:
            assert page.elements[k - 1] == ("div", [("class", "dbw")])
        else:
            assert attrs == [], attrs
    for attrs, text in page.scripts:
        if attrs.get("type") == "application/json":
            assert not re.search("[<>&\u2028\u2029]", text)  # cannot end its element
            page.widgets.append(json.loads(text))
        else:
            code.append(text)
    assert code == ([plotly_js(), app_js()] if page.widgets else [])
    metas = [dict(a) for t, a in page.elements if t == "meta" and "http-equiv" in dict(a)]
    assert [m["http-equiv"] for m in metas] == ["Content-Security-Policy"]
    page.csp = metas[0]["content"]
    outside = html
    for _, text in page.scripts:
        outside = outside.replace(text, "", 1)
    page.outside_scripts = outside
    return page


def _strings(obj) -> list[str]:
    """Every string inside decoded JSON."""
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        return [s for k, v in obj.items() for s in [k, *_strings(v)]]
    if isinstance(obj, list):
        return [s for v in obj for s in _strings(v)]
    return []


def _check_page(html: str, hostile: Sequence[str], data: Sequence[str] = ()) -> str:
    """Assert that no element or attribute came from data, that the only scripts are
    degbridge's, that ``hostile`` is shown as text and ``data`` is carried intact by the
    interactive figures' JSON; return the page's decoded text."""
    parser = _parse(html)
    assert parser.other == []
    for tag, attrs in parser.elements:
        assert tag in ALLOWED, f"element <{tag}> is not one the template writes"
        for name, value in attrs:
            assert name in ALLOWED[tag], f"attribute {name}= on <{tag}>"
            if name == "class":
                assert value in CLASSES, value
            if name == "src":
                assert PNG_SRC.fullmatch(value or ""), (value or "")[:80]
    counts = Counter(tag for tag, _ in parser.elements)
    assert counts["style"] == 1 and counts["title"] == 1 and counts["html"] == 1
    assert counts["img"] >= 8
    # The one style element holds exactly the report's CSS and the interactive figures':
    # data did not close it early.
    style = html[html.index("<style>") + 7 : html.index("</style>")]
    assert style.strip() == CSS.read_text(encoding="utf-8").strip() + "\n" + str(app_css()).strip()
    text = "".join(parser.text)
    for s in hostile:
        assert s in text, f"{s[:60]!r} is not shown as text"
    strings = {s for w in parser.widgets for s in _strings(w)}
    for s in data:
        assert s in strings, f"{s[:60]!r} is not in the figures' data"
    return text


def _hostile_inputs():
    """A DE table and a feature table whose IDs, column names and target are all hostile."""
    rng = np.random.default_rng(3)
    n = 160
    ids = [f"{HOSTILE[i % len(HOSTILE)]}{i}" for i in range(n - 1)] + [LONG]
    x = rng.normal(size=(n, 4))
    logfc = 2 * x[:, 0] + 0.3 * rng.normal(size=n)
    p = np.clip(np.exp(-np.abs(logfc) * 3), 1e-12, 1)
    de = pd.DataFrame(
        {"logFC": logfc, "AveExpr": x[:, 1] + 6, "t": logfc * 4, "P.Value": p,
         "adj.P.Val": np.minimum(p * 5, 1), "B": logfc**2},
        index=pd.Index(ids, name="gene"),
    )  # fmt: skip
    table = DETable(
        de, meta={"contrast": HOSTILE[0] + " - " + HOSTILE[4], "method": HOSTILE[1], "source": LONG}
    )
    target = HOSTILE[0]
    features = pd.DataFrame(
        {target: logfc, HOSTILE[1]: 3 * logfc + 1e-3 * rng.normal(size=n),  # flagged: leaks
         HOSTILE[2]: x[:, 1], HOSTILE[3]: x[:, 2], HOSTILE[4]: x[:, 3], HOSTILE[5]: x[:, 1] ** 2,
         HOSTILE[6]: rng.normal(size=n), HOSTILE[7]: rng.normal(size=n), LONG: rng.normal(size=n)},
        index=pd.Index(ids, name="gene"),
    )  # fmt: skip
    return table, features, target


def _compare_hostile(features, target, models):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LeakageWarning)
        return compare(features, target=target, models=models, cv=2, progress=False)


def test_hostile_text_is_escaped_and_literal(tmp_path):
    table, features, target = _hostile_inputs()
    models = {HOSTILE[0]: "linear", HOSTILE[4] + HOSTILE[5] + HOSTILE[6]: "knn", LONG: "linear"}
    res = _compare_hostile(features, target, models)
    assert HOSTILE[1] in set(res.leakage.index[res.leakage["flagged"]])  # in the warning sentence
    path = write_report(
        tmp_path / "r.html", comparison=res, table=table, title=HOSTILE[3] + HOSTILE[2],
        subtitle=HOSTILE[1] + HOSTILE[4],
    )  # fmt: skip
    page = path.read_text(encoding="utf-8")
    text = _check_page(
        page, [*HOSTILE, LONG, *models, table.meta["contrast"]], data=list(table.index)
    )
    # The leakage sentence names the flagged feature as text.
    assert f"{HOSTILE[1]} are transforms of {target}" in " ".join(text.split())
    for s in HOSTILE:
        if "<" in s:
            assert s not in page  # the raw markup never reaches the page


def test_hostile_text_through_the_command_line(tmp_path):
    from degbridge.cli import main

    table, features, target = _hostile_inputs()
    # A DE table (the command reads one) with hostile gene IDs and extra hostile columns; no
    # newline in column names: read_table reads the header as one line.
    features = features.drop(columns=["two\nlines"])
    csv = tmp_path / "hostile.csv"
    pd.concat([pd.DataFrame(table), features], axis=1).to_csv(csv)
    out = tmp_path / "out"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LeakageWarning)
        code = main(["compare", str(csv), "--target", target, "--models", "linear,knn",
                     "--cv", "2", "-o", str(out), "--quiet"])  # fmt: skip
    assert code == 0
    hostile_features = [c for c in features.columns if c != target]
    _check_page((out / "report.html").read_text(encoding="utf-8"), [target, *hostile_features])
    rebuilt = tmp_path / "rebuilt.html"
    assert main(["report", str(out), "-o", str(rebuilt), "--quiet"]) == 0
    _check_page(rebuilt.read_text(encoding="utf-8"), [target, *hostile_features])


@pytest.mark.parametrize("text", [*HOSTILE, "a\\$b", "$$", "\\", "plain", LONG])
def test_figure_text_is_literal(text):
    """``_literal`` text renders exactly as matplotlib's non-math path draws the same text."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from degbridge.pl import _literal

    shown = _literal(text)
    expected = re.sub(r"[\x00-\x1f\x7f-\x9f]", " ", text)
    if len(expected) > 40:
        expected = expected[:39] + "…"

    def draw(s, **kw):
        fig = Figure(figsize=(8, 1))
        FigureCanvasAgg(fig)
        fig.text(0.01, 0.5, s, usetex=False, **kw)
        fig.canvas.draw()
        return np.asarray(fig.canvas.buffer_rgba()).copy()

    assert np.array_equal(draw(shown), draw(expected, parse_math=False))
    assert len(expected) <= 40


def test_report_leads_with_the_most_honest_score(tmp_path):
    from degbridge.pl import gene_labels

    rng = np.random.default_rng(0)
    n = 300
    ext = pd.DataFrame({"length": rng.normal(size=n)}, index=[f"ENSG{i:011d}" for i in range(n)])
    logfc = 0.8 * ext["length"] + rng.normal(0, 0.6, n)
    table = pd.DataFrame(
        {"logFC": logfc, "AveExpr": rng.normal(6, 1, n), "t": logfc / 0.3,
         "P.Value": rng.uniform(size=n), "symbol": [f"SYM{i}" if i % 3 else "" for i in range(n)]},
        index=ext.index,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", degbridge.LeakageWarning)
        res = compare(table, target="logFC", extra={"ann": (ext, "external")}, models=["linear"],
                      cv=3, progress=False, permutation_repeats=0)  # fmt: skip
    path = tmp_path / "r.html"
    write_report(path, comparison=res, table=degbridge.read_table(table))
    page = path.read_text()
    lead = page.index("Most honest score (external features only, 1 features)")
    assert lead < page.index("Leakage audit") < page.index("Leaderboard")
    expected = f"{res.honest_score['cv_r2_mean']:.3f}"
    assert f"CV R² {expected}</b>" in page
    # symbols label genes when the table carries them; IDs where the symbol is empty
    labels = gene_labels(table)
    assert labels[1] == "SYM1" and labels[0] == "ENSG00000000000"


def test_report_draws_with_pl_and_leaves_no_pyplot_figures(tmp_path, data_dir, monkeypatch):
    """One drawing code path: the report's figures come from degbridge.pl, on plain Figures."""
    import matplotlib.pyplot as plt

    from degbridge import pl

    calls = []
    for name in ("volcano", "ma", "pvalue_histogram"):
        original = getattr(pl, name)
        monkeypatch.setattr(
            pl, name, lambda *a, _f=original, _n=name, **k: calls.append(_n) or _f(*a, **k)
        )
    before = plt.get_fignums()
    tab = degbridge.read_table(data_dir / "limma_voom_every10th.csv")
    write_report(tmp_path / "r.html", table=tab)
    assert calls == ["volcano", "ma", "pvalue_histogram"]
    assert plt.get_fignums() == before


def _fake_tables(n=400):
    idx = [f"g{i}" for i in range(n)]
    out = {}
    for k, name in enumerate(["voom", "edgeR <b>", "DESeq2"]):
        r = np.random.default_rng(k)
        p = r.uniform(size=n) ** 3
        out[name] = pd.DataFrame({"logFC": r.normal(size=n), "P.Value": p,
                                  "adj.P.Val": np.minimum(p * 3, 1)}, index=idx)  # fmt: skip
    return out


def test_report_decide_and_concordance_sections(tmp_path):
    from degbridge.de import DecideTests

    rng = np.random.default_rng(0)
    d = DecideTests(pd.DataFrame(rng.choice([-1, 0, 0, 1], size=(300, 3)),
                                 columns=["B - A", "C - A", "C - B"]))  # fmt: skip
    d.attrs.update(method="separate", adjust_method="BH", p_value=0.05, lfc=0.0)
    conc = degbridge.concordance(_fake_tables())
    path = write_report(tmp_path / "r.html", decide=d, concordance=conc)
    html = path.read_text()
    assert "Several contrasts: decideTests" in html and "Concordance of methods" in html
    assert "Genes called per combination of contrasts" in html
    assert "Significant genes per combination of methods" in html
    assert len(re.findall(r'src="data:image/png;base64,', html)) == 2
    # the summary counts as decideTests' summary, per contrast
    summary = d.summary()
    for contrast in d.columns:
        assert f"<th>{contrast}</th>" in html
    up_row = re.search(r"<tr><td>Up</td>(.*?)</tr>", html).group(1)
    assert re.findall(r"<td>(\d+)</td>", up_row) == [str(v) for v in summary.loc["Up"]]
    # method names are data: escaped
    assert "edgeR <b>" not in html and "edgeR &lt;b&gt;" in html
    # one contrast: the summary but no UpSet figure
    path = write_report(tmp_path / "one.html", decide=d[["B - A"]])
    assert "Genes called per combination" not in path.read_text()
    with pytest.raises(TypeError, match=r"decide= takes the result of degbridge\.decide_tests"):
        write_report(tmp_path / "x.html", decide=[1])
    with pytest.raises(TypeError, match="concordance= takes"):
        write_report(tmp_path / "x.html", concordance=pd.DataFrame())
