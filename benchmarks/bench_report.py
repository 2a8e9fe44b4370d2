"""Benchmark the interactive HTML report on airway (issue 25): page size, write time, load time
in headless chromium and the time to draw a selection, against the static report (PNG figures
only) of the same results, measured in the same run.

The results are those of ``degbridge demo --quick``: limma-voom on airway (15,912 genes after
filterByExpr × 8 samples; voom's E shown per sample), gene symbols from org.Hs.eg.db when
installed, and five fast models predicting logFC and B. Both reports are written from them; each
is opened ``--loads`` times in one headless chromium (Debian's ``chromium`` and
``chromium-driver``, through selenium) and timed from ``driver.get`` until the page is ready
(the interactive figures drawn: ``window.degbridge.ready``; the static page: its load event).
Then rows of the gene table are clicked and searches typed: the time from the event to the
selection drawn in both plots, the expression panel and the table (``updateMs``, measured in
the page).

    python benchmarks/bench_report.py [--loads N] [--screenshot docs/report.png]
"""

from __future__ import annotations

import argparse
import io
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine

from degbridge import DegbridgeWarning
from degbridge.cli import QUICK_MODELS
from degbridge.comparison import compare
from degbridge.datasets import airway
from degbridge.de.limma import fit_limma
from degbridge.features.expression import expression_features
from degbridge.report.html import write_report


def demo_results():
    """What ``degbridge demo --quick`` computes on airway."""
    counts, samples = airway()
    fit = fit_limma(counts, samples=samples, design="~ celltype + dex", method="voom")
    table = fit.test(coef="dextreated")
    extra = {"expr": expression_features(counts.loc[table.index], groups=samples["dex"])}
    try:
        from degbridge.features.annotation import annotation_features, gene_annotation

        ann = gene_annotation(table.index)
        table["symbol"] = ann["symbol"].reindex(table.index).to_numpy()
        extra["ann"] = annotation_features(ann)
    except Exception as err:  # no org.Hs.eg.db: IDs only
        print(f"  (no gene annotation: {err})")
    results = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegbridgeWarning)
        for target in ("logFC", "B"):
            results.append(compare(table, target=target, extra=extra, models=QUICK_MODELS, cv=3,
                                   random_state=0, progress=False))  # fmt: skip
    return fit, table, samples[["dex", "celltype"]], results


def make_driver(profile: Path, width: int = 1400, height: int = 1000):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for arg in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--enable-unsafe-swiftshader", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync", "--hide-scrollbars",
        f"--window-size={width},{height}", f"--user-data-dir={profile}",
    ):  # fmt: skip
        opts.add_argument(arg)
    service = Service(executable_path=shutil.which("chromedriver") or "/usr/bin/chromedriver")
    return webdriver.Chrome(service=service, options=opts)


def load_seconds(driver, path: Path, interactive: bool) -> float:
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get("about:blank")
    t0 = time.perf_counter()
    driver.get(path.resolve().as_uri())  # returns after the load event
    if interactive:
        WebDriverWait(driver, 300).until(
            lambda d: d.execute_script("return !!(window.degbridge && window.degbridge.ready)")
        )
        assert driver.execute_script("return window.degbridge.errors") == []
    return time.perf_counter() - t0


def selection_ms(driver, n: int) -> tuple[list[float], list[float]]:
    """updateMs after clicking n table rows, and after n searches (symbol, Enter)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    def wait_update(before: int) -> float:
        WebDriverWait(driver, 60).until(
            lambda d: d.execute_script("return window.degbridge.widgets[0].updates") > before
        )
        return driver.execute_script("return window.degbridge.widgets[0].updateMs")

    clicks, searches = [], []
    for k in range(n):
        before = driver.execute_script("return window.degbridge.widgets[0].updates")
        driver.find_elements(By.CSS_SELECTOR, ".dbw-table tbody tr")[k].click()
        clicks.append(wait_update(before))
    box = driver.find_element(By.CSS_SELECTOR, "input.dbw-search")
    ids = driver.execute_script(
        "const s = JSON.parse(document.querySelector('.dbw script').textContent);"
        "return s.order.slice(100, 100 + arguments[0]).map(i => s.labels[i])",
        n,
    )
    for label in ids:
        box.send_keys(Keys.CONTROL, "a", Keys.BACKSPACE)
        box.send_keys(label)
        before = driver.execute_script("return window.degbridge.widgets[0].updates")
        box.send_keys(Keys.ENTER)
        searches.append(wait_update(before))
    return clicks, searches


def screenshot(path: Path, out: Path, tmp: Path) -> None:
    """The top of the demo report with DUSP1 and KLF15 selected (DUSP1 shown), PNG."""
    from PIL import Image
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver = make_driver(tmp / "profile-shot", width=1300, height=2300)
    try:
        load_seconds(driver, path, True)
        box = driver.find_element(By.CSS_SELECTOR, "input.dbw-search")
        for symbol in ("KLF15", "DUSP1"):
            box.send_keys(Keys.CONTROL, "a", Keys.BACKSPACE)
            box.send_keys(symbol, Keys.ENTER)
            time.sleep(0.5)
        box.send_keys(Keys.CONTROL, "a", Keys.BACKSPACE)
        time.sleep(1.0)
        png = driver.get_screenshot_as_png()
    finally:
        driver.quit()
    image = Image.open(io.BytesIO(png)).convert("RGB")
    image.save(out, optimize=True)
    print(f"screenshot: {out} ({image.width}×{image.height})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--loads", type=int, default=5, help="page loads per report (median)")
    ap.add_argument("--selections", type=int, default=5, help="row clicks and searches")
    ap.add_argument("--screenshot", type=Path, help="also write a PNG of the report's top")
    args = ap.parse_args()
    print(machine())
    tmp = Path(tempfile.mkdtemp(prefix="bench-report-"))
    try:
        t0 = time.perf_counter()
        fit, table, groups, results = demo_results()
        print(f"demo results computed in {time.perf_counter() - t0:.0f} s: {len(table):,} genes")
        pages, write_s = {}, {}
        for name, interactive in (("static", False), ("interactive", True)):
            path = tmp / f"{name}.html"
            t0 = time.perf_counter()
            write_report(path, table=table, comparisons=results, interactive=interactive,
                         expression=fit if interactive else None,
                         groups=groups if interactive else None,
                         title="degbridge demo: airway, dexamethasone vs control",
                         subtitle="limma through rpy2, then scikit-learn models predicting "
                         "logFC and B")  # fmt: skip
            write_s[name] = time.perf_counter() - t0
            pages[name] = path
        driver = make_driver(tmp / "profile")
        try:
            loads = {name: [] for name in pages}
            for _ in range(args.loads):  # alternate, so that load on the machine hits both
                for name, path in pages.items():
                    loads[name].append(load_seconds(driver, path, name == "interactive"))
            ready_ms = driver.execute_script("return window.degbridge.readyMs")
            clicks, searches = selection_ms(driver, args.selections)
        finally:
            driver.quit()
        print(f"\n{'report':<12} {'size MB':>8} {'write s':>8} {'load s (median)':>16}")
        for name, path in pages.items():
            print(f"{name:<12} {path.stat().st_size / 1e6:>8.2f} {write_s[name]:>8.2f} "
                  f"{statistics.median(loads[name]):>16.2f}")  # fmt: skip
        med = {name: statistics.median(v) for name, v in loads.items()}
        print(f"\ninteractive / static: size {pages['interactive'].stat().st_size / pages['static'].stat().st_size:.1f}×, "
              f"load {med['interactive'] / med['static']:.1f}×, write {write_s['interactive'] / write_s['static']:.2f}×")  # fmt: skip
        print(
            f"interactive page ready {ready_ms / 1000:.2f} s after navigation (last load, in page)"
        )
        print(f"selection drawn (2 WebGL plots, expression, table): row click median "
              f"{statistics.median(clicks):.0f} ms (max {max(clicks):.0f}); search + Enter median "
              f"{statistics.median(searches):.0f} ms (max {max(searches):.0f})")  # fmt: skip
        if args.screenshot:
            screenshot(pages["interactive"], args.screenshot, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
