"""Every code block of the README runs as written (the `make` commands run in CI itself)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
BLOCKS = re.findall(r"```(python|bash|r)\n(.*?)```", README, flags=re.S)

pytestmark = [pytest.mark.r, pytest.mark.slow]


def _workdir(tmp_path: Path) -> Path:
    (tmp_path / "tests").symlink_to(ROOT / "tests")  # the README's relative data paths
    return tmp_path


def test_blocks_found():
    kinds = [k for k, _ in BLOCKS]
    assert kinds.count("python") >= 6 and kinds.count("bash") >= 2 and kinds.count("r") == 1


@pytest.mark.parametrize("index", [i for i, (k, _) in enumerate(BLOCKS) if k == "python"])
def test_python_block(tmp_path, index):
    code = BLOCKS[index][1]
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=_workdir(tmp_path), capture_output=True, text=True
    )
    assert out.returncode == 0, f"README python block {index} failed:\n{code}\n{out.stderr[-3000:]}"


def test_cli_block(tmp_path, airway):
    (block,) = [code for kind, code in BLOCKS if kind == "bash" and "degbridge limma" in code]
    counts, samples = airway
    work = _workdir(tmp_path)
    counts.astype(int).to_csv(work / "counts.tsv", sep="\t")
    samples.rename_axis("id").to_csv(work / "samples.tsv", sep="\t")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for line in block.strip().splitlines():
        out = subprocess.run(line, shell=True, cwd=work, capture_output=True, text=True, env=env)
        assert out.returncode == 0, f"{line}\n{out.stderr[-3000:]}"
    assert (work / "results" / "report.html").exists()


def test_make_block_is_the_ci_entry_point():
    (block,) = [code for kind, code in BLOCKS if kind == "bash" and "make demo" in code]
    assert block.split()[:4] == ["make", "demo", "#", "sets"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci and "make demo" in ci


def test_r_block(tmp_path):
    if shutil.which("Rscript") is None:
        pytest.skip("Rscript is not on PATH")
    (code,) = [c for kind, c in BLOCKS if kind == "r"]
    code = code.replace('use_python(".venv/bin/python")', f'use_python("{sys.executable}")')
    script = tmp_path / "readme.R"
    script.write_text(code + "\nstopifnot(nrow(tab) == 15912, is.data.frame(res$leaderboard))\n")
    out = subprocess.run(["Rscript", str(script)], cwd=ROOT, capture_output=True, text=True)
    if "there is no package called 'reticulate'" in out.stderr:
        pytest.skip("R package reticulate is not installed")
    assert out.returncode == 0, out.stderr[-3000:]
