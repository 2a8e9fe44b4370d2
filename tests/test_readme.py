"""Every code block of the README runs as written (the `make` commands run in CI itself)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
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


def test_celltypes_cli_block(tmp_path):
    """``degbridge celltypes`` on the cells.h5ad the dask block writes, on 2 local workers."""
    (code,) = [c for kind, c in BLOCKS if kind == "python" and "read_elem_lazy" in c]
    (block,) = [c for kind, c in BLOCKS if kind == "bash" and "degbridge celltypes" in c]
    work = _workdir(tmp_path)
    out = subprocess.run([sys.executable, "-c", code], cwd=work, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    out = subprocess.run(block, shell=True, cwd=work, capture_output=True, text=True, env=env)
    assert out.returncode == 0, f"{block}\n{out.stderr[-3000:]}"
    results = pd.read_csv(work / "per_type" / "results.tsv", sep="\t")
    assert set(results["cell_type"]) == {"B", "NK", "T"}
    assert "rare" in (work / "per_type" / "skipped.tsv").read_text()


def test_make_block_is_the_ci_entry_point():
    (block,) = [code for kind, code in BLOCKS if kind == "bash" and "make demo" in code]
    assert block.split()[:4] == ["make", "demo", "#", "sets"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci and "make demo" in ci


def test_r_block(tmp_path, tmp_path_factory):
    """The "From R" example, in a fresh R session with the R package installed (the README's
    set-up does it with make r-package; here into a temporary library) and this Python."""
    from .r_package import install_r_package

    lib = install_r_package(tmp_path_factory)  # skips without Rscript or the R dependencies
    (code,) = [c for kind, c in BLOCKS if kind == "r"]
    given = 'options(degbridge.python = ".venv/bin/python")'
    assert given in code
    code = code.replace(given, f"options(degbridge.python = {str(sys.executable)!r})")
    script = tmp_path / "readme.R"
    script.write_text(
        code + "\nstopifnot(nrow(tab) == 15912, inherits(res, 'degbridge_comparison'),"
        " is.data.frame(res$leaderboard))\n"
    )
    env = {**os.environ, "R_LIBS": str(lib)}
    out = subprocess.run(
        ["Rscript", str(script)], cwd=ROOT, capture_output=True, text=True, env=env
    )
    assert out.returncode == 0, out.stderr[-3000:]
    # the output shown in the README is this run's
    readme_output = README[README.index(code[-40:]) :]
    assert "most honest score (without flagged features, 1 features): CV R² -0.174" in out.stdout
    assert "ENSG00000189221 3.362767 5.923570 29.02030" in readme_output
    assert "ENSG00000189221 3.362767 5.923570 29.02030" in out.stdout
