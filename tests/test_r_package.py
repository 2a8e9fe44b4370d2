"""The R package degbridge (``r_scripts/``) as source: its version, its generated files, the R
files the Python bridge sources from it.

R CMD check (``make r-check``, part of ``make test``) builds, installs and tests the package
itself; here are the checks that need no R package installation.
"""

from __future__ import annotations

import filecmp
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import degbridge
from degbridge.r import r_package_path, r_script_path
from degbridge.r._session import R_FILES, R_SOURCE_DIRS

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "r_scripts"


def _description() -> dict[str, str]:
    fields: dict[str, str] = {}
    key = None
    for line in (PACKAGE / "DESCRIPTION").read_text(encoding="utf-8").splitlines():
        if line[:1].isspace() and key:
            fields[key] += " " + line.strip()
        else:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def test_versions_are_the_same():
    """The R package refuses a Python degbridge of another version: they must move together."""
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    python = re.search(r'^version = "([^"]+)"$', pyproject, re.M).group(1)
    assert _description()["Version"] == python
    assert degbridge.__version__ == python


def test_r_package_path_is_the_checkout_package():
    assert Path(r_package_path()) == PACKAGE
    assert _description()["Package"] == "degbridge"


def test_bridge_files_are_found_and_each_exists_once():
    for name in R_FILES:
        path = Path(r_script_path(name))
        assert path == PACKAGE / name
        assert Path(r_script_path(path.name)) == path  # by name alone too
    names = [p.name for folder in R_SOURCE_DIRS for p in (PACKAGE / folder).glob("*.R")]
    assert len(names) == len(set(names)), sorted(names)
    assert Path(r_script_path("degbridge.R")) == PACKAGE / "inst" / "degbridge.R"
    for bad in ("../pyproject.toml", "R/../../pyproject.toml", "missing.R"):
        with pytest.raises(FileNotFoundError, match="no R file"):
            r_script_path(bad)


def test_r_code_is_ascii():
    """Non-ASCII characters in R code are a WARNING of R CMD check (use \\uXXXX escapes)."""
    for path in sorted((PACKAGE / "R").glob("*.R")):
        text = path.read_text(encoding="utf-8")
        bad = [m.group() for m in re.finditer(r"[^\x00-\x7f]", text)]
        assert not bad, (path.name, bad[:5])


def test_generated_namespace_and_help_are_current(tmp_path):
    """NAMESPACE and man/ are roxygen2's output for the R sources (regenerate: make r-docs)."""
    if shutil.which("Rscript") is None:
        pytest.skip("Rscript is not on PATH")
    has = subprocess.run(
        ["Rscript", "-e", "quit(status = !requireNamespace('roxygen2', quietly = TRUE))"],
        capture_output=True,
        check=False,
    )
    if has.returncode:
        pytest.skip("R package roxygen2 is not installed (Debian: r-cran-roxygen2)")
    copy = tmp_path / "degbridge"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.rmtree(copy / "man")
    (copy / "NAMESPACE").unlink()
    proc = subprocess.run(
        ["Rscript", "-e", "roxygen2::roxygenise()"],
        cwd=copy,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert filecmp.cmp(copy / "NAMESPACE", PACKAGE / "NAMESPACE", shallow=False), (
        "NAMESPACE is stale: run make r-docs"
    )
    ours = sorted(p.name for p in (PACKAGE / "man").glob("*.Rd"))
    fresh = sorted(p.name for p in (copy / "man").glob("*.Rd"))
    assert ours == fresh, "man/ is stale: run make r-docs"
    stale = [
        name
        for name in ours
        if not filecmp.cmp(copy / "man" / name, PACKAGE / "man" / name, shallow=False)
    ]
    assert not stale, f"man/{stale} are stale: run make r-docs"
