"""``degbridge demo --quick``: the README's main job on the bundled airway data, end to end.

In its own file (the longest single test) so that a parallel run (``pytest -n 2``, one file
per worker) starts it early beside the rest of the command-line tests.
"""

from __future__ import annotations

import numpy as np
import pytest

import degbridge

from .test_cli import run_cli


@pytest.mark.r
@pytest.mark.slow
def test_demo_quick(tmp_path):
    out = run_cli("demo", "--quick", "-o", tmp_path / "demo", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert f"report: {tmp_path / 'demo' / 'report.html'}" in out.stdout
    html = (tmp_path / "demo" / "report.html").read_text()
    for section in (
        "Volcano plot",
        "Predicting <code><bdi>logFC</bdi></code>",
        "Predicting <code><bdi>B</bdi></code>",
        "Most honest score (external features only",
        "Leakage audit",
    ):
        assert section in html
    table = degbridge.read_table(tmp_path / "demo" / "de_table.tsv")
    assert table.shape == (15912, 7)  # limma's six columns and the gene symbol
    assert table.loc["ENSG00000120129", "symbol"] == "DUSP1"
    assert np.isclose((table["adj.P.Val"] < 0.05).sum(), 3379)
