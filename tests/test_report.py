"""The HTML report: every section present, images valid PNG, user text escaped."""

from __future__ import annotations

import base64
import re
import warnings

import numpy as np
import pandas as pd
import pytest

import degbridge
from degbridge import LeakageWarning, compare
from degbridge.report import write_report

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
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', report_html)
    assert len(images) >= 8
    for data in images:
        raw = base64.b64decode(data)
        assert raw[:8] == b"\x89PNG\r\n\x1a\n"
        assert len(raw) > 2000  # not an empty canvas


def test_self_contained_and_escaped(report_html):
    assert "<script" not in report_html  # the hostile gene name is escaped, no scripts at all
    assert "&lt;script&gt;" in report_html or "script" not in report_html
    assert "test &lt;report&gt;" in report_html
    assert "http://" not in report_html and "https://" not in report_html


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
