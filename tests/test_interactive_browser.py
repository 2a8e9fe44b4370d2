"""The interactive figures in a real browser: Debian's chromium, driven by selenium.

The pages load with no console error and no network request; WebGL traces really draw (pixels
of the plot's colours in a screenshot); searching a gene selects its point, clicking a point or
a table row selects its gene, the expression panel shows that gene's values; hostile gene,
sample and group names show as text and inject nothing (no element, no script run).

Skipped when chromium, chromedriver or selenium is missing; with DEGBRIDGE_REQUIRE_BROWSER=1
(CI) that is a failure instead. Install: ``apt-get install chromium chromium-driver`` and
``pip install selenium``.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from degbridge import pl

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
REQUIRE = os.environ.get("DEGBRIDGE_REQUIRE_BROWSER") == "1"

#: Names that would run code, add elements or change Plotly's text if treated as markup.
HOSTILE = [
    '<img src=x onerror="window.__xss=1">',
    "</script><script>window.__xss=2</script>",
    "<svg/onload=window.__xss=3>",
    "<a href='javascript:window.__xss=4'>link</a>",
    "<b>bold</b> &amp; &lt; &#60;",
    "\u2028line\u2029sep \"'` ${x} {{7*7}} %{x}",
    '=HYPERLINK("http://x.invalid")',
    "<!-- <br>",
]
#: Console messages of headless chromium's software WebGL that are not the page's doing.
BENIGN = ("GPU stall due to ReadPixels", "Automatic fallback to software WebGL")


def _missing() -> str | None:
    if not (CHROMIUM and CHROMEDRIVER):
        return "chromium/chromedriver not found (apt-get install chromium chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install selenium)"
    return None


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    missing = _missing()
    if missing:
        if REQUIRE:
            pytest.fail(f"{missing}, and DEGBRIDGE_REQUIRE_BROWSER=1")
        pytest.skip(missing)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tmp_path_factory.mktemp("chromium-profile")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--enable-unsafe-swiftshader", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync",
        "--window-size=1500,1100", f"--user-data-dir={profile}",
    ):  # fmt: skip
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # An explicit chromedriver: Selenium Manager (which downloads drivers) never runs.
    drv = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)
    try:
        yield drv
    finally:
        drv.quit()


def _open(driver, path: Path) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get_log("browser")  # forget earlier pages' messages
    driver.get(path.resolve().as_uri())
    WebDriverWait(driver, 120).until(
        lambda d: d.execute_script(
            "return !!window.degbridge && (window.degbridge.ready || window.degbridge.errors.length > 0)"
        )
    )
    assert driver.execute_script("return window.degbridge.errors") == []


def _problems(driver) -> list[str]:
    """Console errors and warnings other than the software-WebGL notices."""
    return [
        f"{e['level']}: {e['message']}"
        for e in driver.get_log("browser")
        if e["level"] in ("SEVERE", "WARNING") and not any(b in e["message"] for b in BENIGN)
    ]


def _state(driver, k: int = 0, key: str | None = None):
    if key is None:
        return driver.execute_script(f"return window.degbridge.widgets[{k}]")
    return driver.execute_script(f"return window.degbridge.widgets[{k}][{key!r}]")


def _wait(driver, condition, timeout=20):
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, timeout).until(lambda d: condition())


def _assert_nothing_injected(driver, n_scripts: int) -> None:
    from selenium.webdriver.common.by import By

    assert driver.execute_script("return window.__xss === undefined")
    # Images: only the report's own figures (PNG data in <figure>).
    assert driver.execute_script(
        """return document.querySelectorAll('img').length ===
             document.querySelectorAll('figure > img[src^="data:image/png;base64,"]').length"""
    )
    assert driver.find_elements(By.TAG_NAME, "iframe") == []
    assert len(driver.find_elements(By.TAG_NAME, "script")) == n_scripts
    # No event handler, no link (Plotly turns <a href> in its labels into SVG links), no
    # script URL; Plotly keeps the escaped label in data-unformatted, which is text.
    assert driver.execute_script(
        """return [...document.querySelectorAll('*')].filter(e =>
             [...e.attributes].some(a => a.name.startsWith('on') ||
               (!a.name.startsWith('data-') && /javascript:/i.test(a.value)))
             || e.tagName.toLowerCase() === 'a'
             || (e.tagName === 'B' && e.textContent === 'bold')).length"""
    ) == 0  # fmt: skip
    # Self-contained: the page fetched nothing (and its policy would have refused).
    assert driver.execute_script("return performance.getEntriesByType('resource').length") == 0


def _hostile_inputs(n: int = 300, seed: int = 0):
    """A DE table whose first genes have hostile IDs and symbols, placed apart from the rest
    (so they can be clicked); a log-expression matrix with hostile sample names; hostile
    group columns and levels."""
    rng = np.random.default_rng(seed)
    ids = [f"ENSG{i:011d}" for i in range(n)]
    symbols = [f"GENE{i}" for i in range(n)]
    for k, h in enumerate(HOSTILE):
        ids[k + 1] = f"{h}#{k}"
        symbols[k + 1] = h
    logfc = rng.normal(0, 1, n)
    ave = rng.uniform(0, 10, n)
    p = np.clip(np.exp(-np.abs(logfc) * rng.uniform(1, 8, n)), 1e-12, 1)
    for k in range(len(HOSTILE) + 1):  # isolated points, the most significant genes in order
        logfc[k], ave[k], p[k] = 6.0 + 0.5 * k, 12.0 + k, 10.0 ** -(40 - k)
    adj = np.minimum(p * n / (np.argsort(np.argsort(p)) + 1), 1)
    table = pd.DataFrame(
        {"logFC": logfc, "AveExpr": ave, "P.Value": p, "adj.P.Val": adj, "symbol": symbols},
        index=pd.Index(ids),
    )
    samples = [HOSTILE[k % len(HOSTILE)] + f" s{k}" for k in range(6)]
    expr = pd.DataFrame(rng.normal(6, 2, (n, 6)), index=ids, columns=samples)
    groups = pd.DataFrame(
        {HOSTILE[4]: [HOSTILE[0], HOSTILE[0], HOSTILE[0], "ctrl", "ctrl", "ctrl"],
         "batch": ["b1", "b2", "b3", "b1", "b2", "b3"]},
        index=samples,
    )  # fmt: skip
    return table, expr, groups


@pytest.fixture(scope="module")
def ma_page(tmp_path_factory):
    table, expr, groups = _hostile_inputs()
    fig = pl.interactive_ma(table, expr, groups=groups, title=HOSTILE[0])
    path = fig.write(tmp_path_factory.mktemp("ma") / "ma.html")
    return path, table, expr, groups


def _plot_point_offset(driver, plot: int, gene_index: int) -> tuple[int, int]:
    """Offset from the centre of the plot element to a gene's point (selenium's origin)."""
    return driver.execute_script(
        """const gd = document.querySelectorAll('.dbw-plot')[arguments[0]];
           const spec = JSON.parse(document.querySelector('.dbw script').textContent);
           const p = spec.plots[0], i = arguments[1], fl = gd._fullLayout;
           const x = spec.values[p.x][i], y = spec.values[p.y][i];
           const b = gd.getBoundingClientRect();
           return [Math.round(fl._size.l + fl.xaxis.l2p(x) - b.width / 2),
                   Math.round(fl._size.t + fl.yaxis.l2p(y) - b.height / 2)];""",
        plot,
        gene_index,
    )


def test_ma_page_loads_draws_and_injects_nothing(driver, ma_page):
    from PIL import Image
    from selenium.webdriver.common.by import By

    path, table, _, _ = ma_page
    _open(driver, path)
    assert _problems(driver) == []
    w = _state(driver)
    assert w["ready"] and w["kind"] == "linked" and w["traceType"] == "scattergl"
    types = driver.execute_script(
        "return document.querySelector('.dbw-plot')._fullData.map(t => t.type)"
    )
    assert types == ["scattergl", "scattergl", "scattergl", "scatter"]
    # WebGL really drew: the plot's pixels hold the colours of up and down genes.
    shot = Image.open(
        io.BytesIO(driver.find_elements(By.CLASS_NAME, "dbw-plot")[0].screenshot_as_png)
    ).convert("RGB")
    pixels = np.asarray(shot).reshape(-1, 3).astype(int)
    for colour in (pl.UP, pl.DOWN):
        rgb = np.array([int(colour[k : k + 2], 16) for k in (1, 3, 5)])
        assert (np.abs(pixels - rgb).sum(axis=1) < 60).sum() > 20, colour
    _assert_nothing_injected(driver, n_scripts=3)
    # Text is text: the title, the table's first rows (most significant first).
    assert driver.find_element(By.CSS_SELECTOR, "h3.dbw-title").text == HOSTILE[0]
    assert driver.title == HOSTILE[0]
    cells = [
        [td.get_attribute("textContent") for td in tr.find_elements(By.TAG_NAME, "td")[:2]]
        for tr in driver.find_elements(By.CSS_SELECTOR, ".dbw-table tbody tr")[:9]
    ]
    assert cells == [[table.index[k], table["symbol"].iloc[k]] for k in range(9)]
    assert _state(driver, key="shown") == 20


def test_search_selects_the_gene_and_its_point(driver, ma_page):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    path, table, expr, groups = ma_page
    _open(driver, path)
    box = driver.find_element(By.CSS_SELECTOR, "input.dbw-search")
    gene = table.index[123]  # "ENSG00000000123": matches one gene only
    box.send_keys(gene)
    _wait(driver, lambda: _state(driver, key="selected") == [gene])
    assert _state(driver, key="current") == gene and _state(driver, key="matches") == 1
    # The selection is drawn on the plot at the gene's coordinates, labelled by its symbol.
    hl = driver.execute_script(
        "const d = document.querySelector('.dbw-plot').data; return d[d.length - 1]"
    )
    assert hl["x"] == [pytest.approx(table["AveExpr"].iloc[123], rel=1e-5)]
    assert hl["y"] == [pytest.approx(table["logFC"].iloc[123], rel=1e-5)]
    assert hl["text"] == ["GENE123"]
    # ... and its expression per sample, by the first group column, with the values given.
    expr_plot = driver.execute_script(
        "return document.querySelector('.dbw-expr').data.map(t => t.y)"
    )
    first = groups.iloc[:, 0]
    expected = [sorted(expr.loc[gene, first.index[first == lev]]) for lev in sorted(set(first))]
    assert [sorted(v) for v in expr_plot] == [pytest.approx(v, rel=1e-3) for v in expected]
    # A hostile symbol: typed, it filters the table to its gene, shown as text.
    box.send_keys(Keys.CONTROL, "a", Keys.BACKSPACE)
    box.send_keys("onerror")
    _wait(driver, lambda: _state(driver, key="matches") == 1)
    assert _state(driver, key="selected") == [gene, table.index[1]]
    cell = driver.find_element(By.CSS_SELECTOR, ".dbw-table tbody tr td:nth-child(2)")
    assert cell.get_attribute("textContent") == HOSTILE[0]
    # Several matches: Enter selects the exact one (GENE12, not GENE120...).
    box.send_keys(Keys.CONTROL, "a", Keys.BACKSPACE)
    box.send_keys("gene12")
    _wait(driver, lambda: _state(driver, key="matches") == 11)
    assert len(_state(driver, key="selected")) == 2
    box.send_keys(Keys.ENTER)
    _wait(driver, lambda: _state(driver, key="current") == table.index[12])
    # Markup and entities in a symbol: Plotly shows the label literally (escaped for it).
    box.send_keys(Keys.CONTROL, "a", Keys.BACKSPACE)
    box.send_keys("bold</b>")
    _wait(driver, lambda: _state(driver, key="current") == table.index[5])
    labels = driver.execute_script(
        "return [...document.querySelector('.dbw-plot').querySelectorAll('.textpoint text')]"
        ".map(t => t.textContent)"
    )
    assert labels == ["GENE123", HOSTILE[0][:23] + "…", "GENE12", HOSTILE[4][:23] + "…"]
    assert driver.execute_script(
        "return document.querySelector('.dbw-plot').querySelectorAll('.textpoint tspan').length"
    ) == 0  # fmt: skip
    _assert_nothing_injected(driver, n_scripts=3)
    assert _problems(driver) == []


def test_clicks_on_rows_points_and_controls(driver, ma_page):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    path, table, expr, _ = ma_page
    _open(driver, path)
    rows = driver.find_elements(By.CSS_SELECTOR, ".dbw-table tbody tr")
    rows[3].click()  # the fourth most significant gene: index 3 of the table
    _wait(driver, lambda: _state(driver, key="selected") == [table.index[3]])
    assert (
        driver.find_elements(By.CSS_SELECTOR, ".dbw-table tbody tr.sel.cur")[0]
        .get_attribute("textContent")
        .startswith(table.index[3])
    )
    # A real mouse click on a WebGL point selects its gene (index 0: isolated, top right).
    plot = driver.find_elements(By.CLASS_NAME, "dbw-plot")[0]
    dx, dy = _plot_point_offset(driver, 0, 0)
    ActionChains(driver).move_to_element_with_offset(plot, dx, dy).pause(0.3).click().perform()
    _wait(driver, lambda: table.index[0] in _state(driver, key="selected"))
    assert _state(driver, key="current") == table.index[0]
    # Clicking the selected row again deselects it.
    driver.find_elements(By.CSS_SELECTOR, ".dbw-table tbody tr")[3].click()
    _wait(driver, lambda: _state(driver, key="selected") == [table.index[0]])
    # Group by the second sample column: the expression plot's categories follow.
    Select(driver.find_element(By.CSS_SELECTOR, "select.dbw-group")).select_by_index(1)
    _wait(
        driver,
        lambda: (
            driver.execute_script(
                "return document.querySelector('.dbw-expr').layout.xaxis.ticktext"
            )
            == ["b1", "b2", "b3"]
        ),
    )
    # Save as CSV: the selected genes with their numbers and expression, text kept verbatim.
    driver.find_elements(By.CSS_SELECTOR, ".dbw-table tbody tr")[1].click()  # hostile gene 1
    _wait(driver, lambda: len(_state(driver, key="selected")) == 2)
    rows = list(csv.reader(io.StringIO(driver.execute_script("return window.degbridge.widgets[0].csv()"))))  # fmt: skip
    assert rows[0] == ["gene", "symbol", "logFC", "AveExpr", "P.Value", "adj.P.Val", *expr.columns]
    assert [r[0] for r in rows[1:]] == [table.index[0], table.index[1]]
    assert rows[2][1] == HOSTILE[0]
    assert float(rows[2][2]) == pytest.approx(table["logFC"].iloc[1], rel=1e-5)
    assert [float(v) for v in rows[2][6:]] == pytest.approx(expr.iloc[1].to_numpy(), rel=1e-3)
    driver.find_element(By.CSS_SELECTOR, "button.dbw-save").click()  # downloads; no error
    driver.find_element(By.CSS_SELECTOR, "button.dbw-clear").click()
    _wait(driver, lambda: _state(driver, key="selected") == [])
    # The keyboard: a row has focus, Enter selects its gene.
    driver.find_elements(By.CSS_SELECTOR, ".dbw-table tbody tr")[4].send_keys(Keys.ENTER)
    _wait(driver, lambda: _state(driver, key="selected") == [table.index[4]])
    # Paging and sorting.
    driver.find_element(By.CSS_SELECTOR, "button.dbw-next").click()
    assert _state(driver, key="page") == 1
    header = driver.find_elements(By.CSS_SELECTOR, ".dbw-table th")[2]  # logFC
    header.click()  # ascending
    first = driver.find_element(By.CSS_SELECTOR, ".dbw-table tbody tr td").get_attribute(
        "textContent"
    )
    assert first == table["logFC"].idxmin()
    header.click()  # descending
    first = driver.find_element(By.CSS_SELECTOR, ".dbw-table tbody tr td").get_attribute(
        "textContent"
    )
    assert first == table["logFC"].idxmax()
    _assert_nothing_injected(driver, n_scripts=3)
    assert _problems(driver) == []


def test_predicted_vs_observed_page(driver, tmp_path):
    from selenium.webdriver.common.by import By

    from degbridge import LeakageWarning, compare

    table, _, _ = _hostile_inputs(n=240, seed=1)
    rng = np.random.default_rng(2)
    feats = pd.DataFrame(
        {"x1": table["logFC"] + rng.normal(0, 0.3, len(table)), "x2": rng.normal(size=len(table))},
        index=table.index,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LeakageWarning)
        res = compare(
            pd.concat([table[["logFC"]], feats], axis=1), target="logFC", models=["linear"],
            cv=3, progress=False,
        )  # fmt: skip
    path = pl.interactive_predicted_vs_observed(res, table).write(tmp_path / "xy.html")
    _open(driver, path)
    assert _problems(driver) == []
    gd = "document.querySelector('.dbw-plot')"
    assert driver.execute_script(f"return {gd}._fullData.map(t => t.type)") == [
        "scattergl", "scattergl", "scatter",
    ]  # fmt: skip
    # Hover text names the gene by its symbol, escaped for Plotly.
    hover = driver.execute_script(f"return [].concat(...{gd}.data.slice(0, 2).map(t => t.hovertext))")  # fmt: skip
    assert any(h.startswith("<b>&lt;img src=x onerror=") for h in hover)
    box = driver.find_element(By.CSS_SELECTOR, "input.dbw-search")
    box.send_keys("svg/onload")
    _wait(driver, lambda: _state(driver, key="selected") == [table.index[3]])
    _assert_nothing_injected(driver, n_scripts=3)
    assert _problems(driver) == []


@pytest.mark.r
def test_report_with_every_figure(driver, tmp_path):
    """The report: the linked DE figure with expression, the MDS (R), predicted vs observed."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    from degbridge import LeakageWarning, compare
    from degbridge.report.html import write_report

    table, expr, groups = _hostile_inputs(n=400, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LeakageWarning)
        res = compare(table.drop(columns="symbol"), target="logFC", models=["linear"], cv=3,
                      progress=False)  # fmt: skip
    path = write_report(tmp_path / "report.html", table=table, expression=expr, groups=groups,
                        comparison=res, title=HOSTILE[1])  # fmt: skip
    _open(driver, path)
    assert _problems(driver) == []
    kinds = driver.execute_script("return window.degbridge.widgets.map(w => w.kind)")
    assert kinds == ["linked", "mds", "linked"]
    coords = pl.mds_dimensions(expr)
    mds = "document.querySelector('.dbw-mds')"
    Select(driver.find_element(By.CSS_SELECTOR, "select.dbw-dimx")).select_by_value("3")
    Select(driver.find_element(By.CSS_SELECTOR, "select.dbw-dimy")).select_by_value("4")
    _wait(driver, lambda: _state(driver, 1, "dims") == [3, 4])
    shown = driver.execute_script(f"return {mds}.data.map(t => [t.x, t.y])")
    first = groups.iloc[:, 0]
    expected = [coords.loc[first.index[first == lev]] for lev in sorted(set(first))]
    assert len(shown) == len(expected)
    for (x, y), want in zip(shown, expected):
        assert x == pytest.approx(want["dim3"].to_numpy(), rel=1e-5)
        assert y == pytest.approx(want["dim4"].to_numpy(), rel=1e-5)
    Select(driver.find_element(By.CSS_SELECTOR, "select.dbw-colour")).select_by_index(1)
    _wait(driver, lambda: _state(driver, 1, "colour") == "batch")
    # The sample names are drawn literally on the MDS (escaped for Plotly, decoded by it).
    drawn = driver.execute_script(
        f"return [...{mds}.querySelectorAll('.textpoint text')].map(t => t.textContent)"
    )
    assert sorted(drawn) == sorted(c[:19] + "…" if len(c) > 20 else c for c in expr.columns)
    _assert_nothing_injected(driver, n_scripts=5)
    assert driver.title == HOSTILE[1]
    assert _problems(driver) == []


def test_notebook_output_works_in_its_sandboxed_frame(driver, ma_page, tmp_path):
    """What Jupyter shows (``_repr_html_``): the same page in a sandboxed iframe (srcdoc)."""
    from selenium.webdriver.common.by import By

    _, table, expr, groups = ma_page
    fig = pl.interactive_ma(table, expr, groups=groups)
    outer = tmp_path / "notebook.html"
    outer.write_text(
        '<!DOCTYPE html><html><head><meta charset="utf-8"></head><body><p>cell output:</p>'
        f"{fig._repr_html_()}</body></html>",
        encoding="utf-8",
    )
    driver.get_log("browser")
    driver.get(outer.resolve().as_uri())
    driver.switch_to.frame(driver.find_element(By.TAG_NAME, "iframe"))
    try:
        _wait(driver, lambda: driver.execute_script("return !!(window.degbridge && window.degbridge.ready)"), 120)  # fmt: skip
        assert driver.execute_script("return window.degbridge.errors") == []
        assert _state(driver, key="traceType") == "scattergl"
        driver.find_elements(By.CSS_SELECTOR, ".dbw-table tbody tr")[2].click()
        _wait(driver, lambda: _state(driver, key="selected") == [table.index[2]])
        _assert_nothing_injected(driver, n_scripts=3)
    finally:
        driver.switch_to.default_content()
    assert _problems(driver) == []
