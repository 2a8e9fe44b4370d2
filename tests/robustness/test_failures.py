"""R failures, threads, interrupted writes, reproducibility and hostile strings."""

from __future__ import annotations

import concurrent.futures
import os
import subprocess
import sys
import warnings
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest

import degbridge
from degbridge import LeakageWarning, RError, compare, read_table, run_limma

DATA = Path(__file__).resolve().parents[1] / "data"


def _expr(seed: int, n_genes: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(7, 1, size=(n_genes, 6))
    x[:20, 3:] += 1.5
    return pd.DataFrame(
        x, index=[f"g{i}" for i in range(n_genes)], columns=[f"s{j}" for j in range(6)]
    )


# ---------------------------------------------------------------------------------------
# R errors and threads
# ---------------------------------------------------------------------------------------


@pytest.mark.r
def test_r_error_mid_run_then_next_call_works(monkeypatch):
    """limma fails inside R (here: a contrast matrix that does not fit the design reaches
    contrasts.fit); R's message comes back as an RError and the process keeps working."""
    import degbridge.de.backend as limma_mod

    def wrong_size(contrast, columns):
        return np.ones((len(columns) + 1, 2)), ["c1", "c2"], [None, None]

    monkeypatch.setattr(limma_mod, "contrast_matrix", wrong_size)
    with pytest.raises(RError, match=r"R error in degbridge_limma_de: .*contrast matrix"):
        run_limma(_expr(0), groups=list("aaabbb"), contrast="b-a")
    monkeypatch.undo()
    tab = run_limma(_expr(0), groups=list("aaabbb"), contrast="b-a")
    assert tab.shape == (300, 6)


@pytest.mark.r
def test_concurrent_calls_from_threads_are_serialised_and_correct():
    expected = {
        seed: run_limma(_expr(seed), groups=list("aaabbb"), contrast="b-a") for seed in range(6)
    }

    def job(seed):
        return seed, run_limma(_expr(seed), groups=list("aaabbb"), contrast="b-a")

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(job, [s % 6 for s in range(18)]))
    for seed, tab in results:
        pd.testing.assert_frame_equal(
            pd.DataFrame(tab), pd.DataFrame(expected[seed]), check_exact=True
        )


# ---------------------------------------------------------------------------------------
# no partial output
# ---------------------------------------------------------------------------------------


class Boom(Exception):
    pass


def test_interrupted_table_write_keeps_old_file(tmp_path, monkeypatch):
    path = tmp_path / "table.tsv.gz"
    tab = read_table(DATA / "limma_voom_top200.csv")
    tab.write(path)
    before = path.read_bytes()
    import gzip

    def explode(*args, **kwargs):
        raise Boom

    monkeypatch.setattr(gzip, "compress", explode)
    with pytest.raises(Boom):
        tab.head(3).write(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["table.tsv.gz"]


def test_interrupted_report_write_leaves_no_file(tmp_path, monkeypatch):
    import degbridge.report.html as report

    tab = read_table(DATA / "limma_voom_top200.csv")

    def explode(*args, **kwargs):
        raise Boom

    monkeypatch.setattr(report, "_de_section", explode)
    with pytest.raises(Boom):
        report.write_report(tmp_path / "report.html", table=tab)
    assert list(tmp_path.iterdir()) == []


def test_interrupted_results_folder_keeps_old_folder(tmp_path, monkeypatch):
    tab = read_table(DATA / "limma_voom_every10th.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LeakageWarning)
        res = compare(
            tab, target="B", models=["linear"], cv=2, progress=False, permutation_repeats=0
        )
    out = tmp_path / "results"
    res.write(out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    import degbridge.handback as handback

    real = pd.DataFrame.to_csv
    calls = {"n": 0}

    def explode_on_third(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise Boom
        return real(self, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_csv", explode_on_third)
    with pytest.raises(Boom):
        handback.write_results(res, out, report=False)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["results"]


def test_interrupted_h5ad_write_keeps_old_file(tmp_path, monkeypatch):
    adata = ad.AnnData(X=np.ones((3, 2)), obs=pd.DataFrame(index=["a", "b", "c"]))
    path = tmp_path / "x.h5ad"
    degbridge.write_h5ad(adata, path)
    before = path.read_bytes()
    adata.obs["new"] = [1, 2, 3]
    real = ad.AnnData.write_h5ad

    def half_then_boom(self, filename, **kwargs):
        real(self, filename, **kwargs)
        Path(filename).write_bytes(Path(filename).read_bytes()[:100])  # a truncated file...
        raise Boom  # ...and the writer dies

    monkeypatch.setattr(ad.AnnData, "write_h5ad", half_then_boom)
    with pytest.raises(Boom):
        degbridge.write_h5ad(adata, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["x.h5ad"]
    assert "new" not in ad.read_h5ad(path).obs


# ---------------------------------------------------------------------------------------
# reproducibility
# ---------------------------------------------------------------------------------------


def test_byte_identical_results_across_runs_and_n_jobs(tmp_path):
    tab = read_table(DATA / "limma_voom_every10th.csv")
    kw = {
        "target": "B",
        "models": ["linear", "random_forest", "knn", "mlp"],
        "cv": 3,
        "random_state": 11,
        "progress": False,
    }
    folders = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LeakageWarning)
        for i, n_jobs in enumerate([1, 1, 2]):
            res = compare(tab, n_jobs=n_jobs, **kw)
            res.leaderboard = res.leaderboard.drop(columns="fit_time")
            res.cv_scores = res.cv_scores.drop(columns="fit_time")
            res.params = {k: v for k, v in res.params.items() if k not in ("seconds", "n_jobs")}
            folders.append(res.write(tmp_path / f"run{i}"))
    names = sorted(p.name for p in folders[0].iterdir())
    for other in folders[1:]:
        for name in names:
            assert (folders[0] / name).read_bytes() == (other / name).read_bytes(), name


# ---------------------------------------------------------------------------------------
# hostile strings
# ---------------------------------------------------------------------------------------

HOSTILE = [
    'system("touch PWNED")',
    '__import__("os").system("touch PWNED")',
    "{open('PWNED', 'w')}",
    "`; touch PWNED`",
    "$(touch PWNED)",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_column_names_are_data(tmp_path, monkeypatch, text):
    """Hostile sample-table column names, DE column names and contrast names are only data."""
    monkeypatch.chdir(tmp_path)
    samples = pd.DataFrame({text: list("aaabbb")}, index=[f"s{j}" for j in range(6)])
    if "`" not in text:
        d = degbridge.de.formula.design_from_formula(f"~ `{text}`", samples)
        assert d.columns == ["(Intercept)", f"{text}b"]
    table = pd.DataFrame(
        {"logFC": np.arange(40.0), text: np.random.default_rng(0).normal(size=40)},
        index=[f"g{i}" for i in range(40)],
    )
    res = compare(
        table, models=["linear"], cv=2, progress=False, permutation_repeats=0, leakage="keep"
    )
    assert text in res.features
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.r
@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_contrast_names_reach_r_as_names_only(tmp_path, monkeypatch, text):
    monkeypatch.chdir(tmp_path)
    res = run_limma(_expr(1), groups=list("aaabbb"), contrast={text: "b - a", "other": "a - b"})
    assert list(res) == [text, "other"]
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_file_names(tmp_path, monkeypatch, text):
    monkeypatch.chdir(tmp_path)
    name = text.replace("/", "_") + ".csv"
    (tmp_path / name).write_text("ID,logFC\nA,1\nB,2\n")
    assert read_table(tmp_path / name).shape == (2, 1)
    out = subprocess.run(
        [sys.executable, "-m", "degbridge", "compare", name, "-o", "res"],
        cwd=tmp_path, capture_output=True, text=True, env={**os.environ},
    )  # fmt: skip
    assert out.returncode == 1 and "degbridge: error: no usable features left" in out.stderr
    assert not (tmp_path / "PWNED").exists()
