"""Shared fixtures: test data paths, R availability, and a native Rscript runner.

Tests marked ``r`` need R with limma/edgeR/statmod. They run for real whenever R is present
(as in CI, which installs it) and are skipped, with the reason, only when R is truly absent.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

DATA = Path(__file__).parent / "data"


def _r_status() -> str | None:
    """None when R is usable, else the reason it is not."""
    from degbridge._exceptions import RNotAvailableError
    from degbridge.r import check_r

    try:
        check_r()
    except RNotAvailableError as err:
        return str(err)
    return None


_R_REASON: str | bool | None = False  # False: not yet checked


def r_reason() -> str | None:
    global _R_REASON
    if _R_REASON is False:
        _R_REASON = _r_status()
    return _R_REASON


#: The longest test files (minutes on 2 cores) run first, so that a parallel run
#: (``pytest -n 2 --dist loadfile``, one file per worker) does not end on one of them alone.
SLOW_FIRST = (
    "test_demo.py", "test_readme.py", "test_cli.py", "test_examples.py", "test_deseq2.py",
    "test_genesets_go.py", "test_failures.py", "test_r_helper_fit.py", "test_deseq_edger_second.py",
    "test_tl_methods.py", "test_core.py", "test_limma_parity.py",
)  # fmt: skip


def pytest_collection_modifyitems(config, items):
    rank = {name: k for k, name in enumerate(SLOW_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(SLOW_FIRST)))  # stable
    needs_r = [item for item in items if "r" in item.keywords]
    if not needs_r:
        return
    reason = r_reason()
    if reason is None and shutil.which("Rscript") is None:
        reason = "Rscript is not on PATH"
    if reason:
        marker = pytest.mark.skip(reason=f"R is not available: {reason}")
        for item in needs_r:
            item.add_marker(marker)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def airway():
    from degbridge.datasets import airway

    return airway()


R_HELPERS = r"""
suppressPackageStartupMessages({library(limma); library(edgeR)})
read_matrix_bin <- function(stem) {
  dims <- scan(paste0(stem, ".dim"), quiet = TRUE)
  x <- readBin(paste0(stem, ".bin"), "double", n = dims[1] * dims[2], size = 8, endian = "little")
  matrix(x, nrow = dims[1], ncol = dims[2])
}
write_full <- function(tt, path) {
  cols <- lapply(tt, function(x) if (is.numeric(x)) sprintf("%.17g", x) else as.character(x))
  out <- data.frame(gene = rownames(tt), cols, check.names = FALSE)
  write.table(out, path, sep = "\t", quote = FALSE, row.names = FALSE, na = "NA")
}
"""


def random_expr(n_genes: int, n_samples: int, seed: int) -> pd.DataFrame:
    """Normal log-expression (mean 8, sd 1), genes g0.. × samples s0.."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        rng.normal(8, 1, size=(n_genes, n_samples)),
        index=[f"g{i}" for i in range(n_genes)],
        columns=[f"s{j}" for j in range(n_samples)],
    )


def write_matrix_bin(x: np.ndarray, stem: Path) -> None:
    """A matrix in R's column-major binary layout, read back exactly by read_matrix_bin()."""
    x = np.asarray(x, dtype="<f8")
    np.asfortranarray(x).ravel(order="F").tofile(f"{stem}.bin")
    Path(f"{stem}.dim").write_text(f"{x.shape[0]} {x.shape[1]}\n")


def read_matrix_bin(stem: Path) -> np.ndarray:
    nrow, ncol = (int(v) for v in Path(f"{stem}.dim").read_text().split())
    return np.fromfile(f"{stem}.bin", dtype="<f8").reshape((nrow, ncol), order="F")


def read_full(path: Path) -> pd.DataFrame:
    """Read a table written by write_full() with correctly rounded floats."""
    return pd.read_csv(
        path,
        sep="\t",
        index_col=0,
        float_precision="round_trip",
        keep_default_na=False,
        na_values=["NA"],
    ).rename_axis(None)


def skip_without_reticulate() -> None:
    """Skip (with the reason) when Rscript or R's reticulate package is missing."""
    if shutil.which("Rscript") is None:
        pytest.skip("Rscript is not on PATH")
    check = subprocess.run(
        ["Rscript", "-e", "quit(status = !requireNamespace('reticulate', quietly = TRUE))"],
        capture_output=True,
        check=False,
    )
    if check.returncode:
        pytest.skip("R package reticulate is not installed (Debian: r-cran-reticulate)")


def run_cli(*args, cwd=None) -> subprocess.CompletedProcess:
    """The ``degbridge`` command in a fresh process (this Python), output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "degbridge", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
    )


def run_rscript(code: str, workdir: Path, timeout: int = 600) -> str:
    """Run R code (after R_HELPERS) in a native Rscript process; return its stdout."""
    script = Path(workdir) / "native.R"
    script.write_text(R_HELPERS + "\n" + code)
    env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
    proc = subprocess.run(
        ["Rscript", "--vanilla", str(script)],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        pytest.fail(f"native Rscript failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
    return proc.stdout


def assert_same_table(
    ours: pd.DataFrame, theirs: pd.DataFrame, rtol: float = 1e-10, columns=None
) -> None:
    """Every column of every gene agrees to rtol (relative; absolute near zero)."""
    assert set(ours.index) == set(theirs.index), "gene sets differ"
    cols = columns or [c for c in theirs.columns if c in ours.columns]
    assert cols, "no common columns"
    ours = ours.loc[theirs.index]
    for col in cols:
        a = ours[col].to_numpy(dtype=float)
        b = theirs[col].to_numpy(dtype=float)
        assert np.array_equal(np.isnan(a), np.isnan(b)), f"NA pattern differs in {col}"
        ok = ~np.isnan(b)
        np.testing.assert_allclose(a[ok], b[ok], rtol=rtol, atol=1e-300, err_msg=f"column {col}")
