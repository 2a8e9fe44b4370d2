"""The built wheel ships the R files and data, and the installed package finds them."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "--outdir",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    (whl,) = out.glob("degbridge-*.whl")
    return whl


def test_wheel_contents(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "degbridge/r_scripts/limma_de.R",
        "degbridge/r_scripts/bridge.R",
        "degbridge/r_scripts/degbridge.R",
        "degbridge/data/airway_counts.tsv.gz",
        "degbridge/data/airway_samples.tsv",
        "degbridge/py.typed",
    ):
        assert required in names, required
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "degbridge = degbridge.cli:main" in zipfile.ZipFile(wheel).read(entry).decode()


def test_installed_wheel_finds_r_scripts(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    code = (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "import degbridge, degbridge.r as r\n"
        "assert degbridge.__file__.startswith(sys.argv[1]), degbridge.__file__\n"
        "d = r.r_scripts_dir()\n"
        "assert str(d).startswith(sys.argv[1]), d\n"
        "print(sorted(p.name for p in d.iterdir()))\n"
        "if r.r_available():\n"
        "    import numpy as np\n"
        "    t = degbridge.run_limma(np.random.default_rng(0).normal(size=(20, 4)), groups=list('aabb'), contrast='b-a')\n"
        "    print('limma ok', t.shape)\n"
    )
    # run from an unrelated folder so nothing resolves relative to the checkout or cwd
    out = subprocess.run(
        [sys.executable, "-c", code, str(target)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    # every R file of the checkout is in the wheel (the session sources them all)
    shipped = sorted(
        p.name for p in (Path(__file__).resolve().parents[1] / "r_scripts").glob("*.R")
    )
    assert {"bridge.R", "degbridge.R", "limma_de.R", "annotation.R"} <= set(shipped)
    assert str(shipped) in out.stdout
    from degbridge.r import r_available

    if r_available():
        assert "limma ok (20, 6)" in out.stdout
