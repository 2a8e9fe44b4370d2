"""The R package degbridge (``r_scripts/``) installed into a temporary R library, for the tests
that run it in a native Rscript process (``library(degbridge)``), as an R user would."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from degbridge.r import r_package_path

from .conftest import skip_without_reticulate

#: The R packages the R package imports (DESCRIPTION's Imports besides base R's).
IMPORTS = ("Biobase", "edgeR", "limma", "Matrix", "reticulate", "S4Vectors", "SummarizedExperiment")

#: The first lines of an Rscript using the installed R package, with this Python.
PREAMBLE = r"""
.libPaths(c(Sys.getenv("DEGBRIDGE_R_LIB"), .libPaths()))
library(degbridge)
"""


def install_r_package(tmp_path_factory) -> Path:
    """``R CMD INSTALL`` of ``r_scripts/`` into a new temporary library; its path.

    Skips (with the reason) when Rscript, reticulate or another imported R package is missing.
    """
    skip_without_reticulate()
    check = subprocess.run(
        [
            "Rscript",
            "-e",
            "p <- commandArgs(TRUE); m <- p[!nzchar(vapply(p, function(x) "
            "system.file(package = x), ''))]; cat(m); quit(status = length(m) > 0)",
            *IMPORTS,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if check.returncode:
        pytest.skip(f"R packages needed by the R package degbridge are missing: {check.stdout}")
    lib = tmp_path_factory.mktemp("r_library")
    proc = subprocess.run(
        ["R", "CMD", "INSTALL", "--no-test-load", "-l", str(lib), r_package_path()],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode:
        pytest.fail(f"R CMD INSTALL of the R package failed:\n{proc.stderr[-4000:]}")
    return lib


@contextlib.contextmanager
def r_package_environment(lib: Path, **more: str) -> Iterator[None]:
    """Set, for the Rscript processes started inside, the library of :func:`install_r_package`
    (``DEGBRIDGE_R_LIB``, read by :data:`PREAMBLE`), this Python (``DEGBRIDGE_PYTHON``) and
    ``more``; the environment is restored afterwards."""
    values = {"DEGBRIDGE_R_LIB": str(lib), "DEGBRIDGE_PYTHON": sys.executable, **more}
    before = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
