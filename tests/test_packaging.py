"""The built wheel ships the R files (the R package degbridge) and data, and the installed
package finds them; R installs the R package from the installed wheel."""

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
        "degbridge/r_scripts/DESCRIPTION",
        "degbridge/r_scripts/NAMESPACE",
        "degbridge/r_scripts/R/limma_de.R",
        "degbridge/r_scripts/R/limma.R",
        "degbridge/r_scripts/man/degbridge_limma.Rd",
        "degbridge/r_scripts/inst/bridge/bridge.R",
        "degbridge/r_scripts/inst/degbridge.R",
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
        "assert r.r_package_path() == str(d)\n"
        "print(sorted(str(p.relative_to(d)) for p in d.rglob('*.R')))\n"
        "print('limma_de.R at', r.r_script_path('limma_de.R'))\n"
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
    # every R file of the checkout is in the wheel (the session sources R_FILES from it)
    root = ROOT / "r_scripts"
    shipped = sorted(str(p.relative_to(root)) for p in root.rglob("*.R"))
    from degbridge.r._session import R_FILES

    assert set(R_FILES) <= set(shipped)
    assert str(shipped) in out.stdout
    assert f"limma_de.R at {target}" in out.stdout
    from degbridge.r import r_available

    if r_available():
        assert "limma ok (20, 6)" in out.stdout


def test_r_package_installs_from_the_installed_wheel(wheel, tmp_path):
    """The README's command: R CMD INSTALL "$(python -c '...r_package_path()')"."""
    from .conftest import skip_without_reticulate
    from .r_package import IMPORTS

    skip_without_reticulate()
    check = subprocess.run(
        [
            "Rscript",
            "-e",
            f"quit(status = !all(nzchar(vapply(c({', '.join(map(repr, IMPORTS))}),"
            " function(p) system.file(package = p), ''))))",
        ],
        capture_output=True,
        check=False,
    )
    if check.returncode:
        pytest.skip(f"R packages imported by the R package are missing (one of {IMPORTS})")
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
    code = "import sys; sys.path.insert(0, sys.argv[1]); import degbridge.r as r; print(r.r_package_path())"
    path = subprocess.run(
        [sys.executable, "-c", code, str(target)],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    ).stdout.strip()
    assert path.startswith(str(target))
    lib = tmp_path / "lib"
    lib.mkdir()
    proc = subprocess.run(
        ["R", "CMD", "INSTALL", "--no-test-load", "-l", str(lib), path],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    probe = subprocess.run(
        [
            "Rscript",
            "-e",
            f"library(degbridge, lib.loc = {str(lib)!r}); "
            "cat(as.character(packageVersion('degbridge')), exists('degbridge_limma'))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    import degbridge

    assert probe.stdout.strip() == f"{degbridge.__version__} TRUE"
