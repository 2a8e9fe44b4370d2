"""Every example in examples/ runs (on small settings) as a user would run it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

pytestmark = [pytest.mark.r, pytest.mark.slow]


@pytest.mark.parametrize(
    ("script", "expect"),
    [
        ("python_counts.py", "results and report in"),
        ("import_geo2r.py", "150 of 300 genes matched"),
        ("scverse_pseudobulk.py", "leaderboard read back from .h5ad"),
        ("celltype_pseudobulk.py", "per-cell-type table read back from .h5ad"),
        ("cross_study_hsmm.py", "baseline: training table's target"),
    ],
)
def test_python_example(tmp_path, script, expect):
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / script)], cwd=tmp_path, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert expect in out.stdout


def test_r_example(tmp_path, tmp_path_factory):
    from .r_package import install_r_package

    lib = install_r_package(tmp_path_factory)  # skips without Rscript or the R dependencies
    env = {**os.environ, "DEGBRIDGE_PYTHON": sys.executable, "R_LIBS": str(lib)}
    out = subprocess.run(
        ["Rscript", str(EXAMPLES / "from_r.R")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "3379 genes with adj.P.Val < 0.05 (limma-voom)" in out.stdout
    assert "genes with FDR < 0.05 (edgeR QL)" in out.stdout
    assert "most honest score" in out.stdout
    assert "best: " in out.stdout
