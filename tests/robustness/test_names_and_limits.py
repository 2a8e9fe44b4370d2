"""Issue 11, points 5-7: names that collide, text that crashed, limits, reproducibility.

Each test failed on the code before the fix: a wrong table, a raw traceback, a silent merge or
an unbounded read.
"""

from __future__ import annotations

import gzip
import time

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from degbridge import compare, read_table, run_limma, tl
from degbridge.de.formula import design_from_formula
from degbridge.io.matrix_reader import read_matrix

from ..conftest import random_expr


def _groups():
    return ["A", "A", "B", "B", "C", "C"]


@pytest.mark.parametrize("name", ["F", "P.Value", "AveExpr", "adj.P.Val", "B"])
def test_contrast_named_like_an_ftest_column_is_refused(name):
    expr = random_expr(40, 6, 0)
    with pytest.raises(ValueError, match=rf"contrast name '{name}' clashes") as err:
        run_limma(expr, groups=_groups(), contrast={name: "B - A", "other": "C - A"})
    assert "dict" in str(err.value)


def test_single_contrast_may_be_named_F():
    # a single design column called F is no clash: there is no F-test table then
    from degbridge.de.contrasts import contrast_matrix

    _, names, _ = contrast_matrix("F", ["(Intercept)", "F"])
    assert names == ["F"]


def test_formula_columns_with_one_r_name_are_refused():
    samples = pd.DataFrame(
        {"g": ["a", "a", "b", "b", "a", "b"], "gb": [0.1, 0.5, 0.2, 0.9, 0.3, 0.4]},
        index=[f"s{i}" for i in range(6)],
    )
    with pytest.raises(ValueError, match=r"two design columns named 'gb'") as err:
        design_from_formula("~ g + gb", samples)
    text = str(err.value)
    assert "g[T.b]" in text and "from 'gb'" in text


@pytest.mark.parametrize("key", ["a/b", "", "  ", "x\x00y"])
def test_key_added_that_h5ad_cannot_store_is_refused(key):
    adata = ad.AnnData(
        X=np.abs(random_expr(30, 6, 1).to_numpy().T),
        obs=pd.DataFrame({"g": _groups()}, index=[f"s{i}" for i in range(6)]),
    )
    with pytest.raises(ValueError, match="key_added"):
        tl.limma(adata, groupby="g", contrast="B - A", method="ls", key_added=key)
    assert not adata.uns and list(adata.var.columns) == []


def test_key_added_must_be_text():
    adata = ad.AnnData(
        X=np.ones((6, 3)), obs=pd.DataFrame({"g": _groups()}, index=[f"s{i}" for i in range(6)])
    )
    with pytest.raises(TypeError, match="key_added must be a string"):
        tl.limma(adata, groupby="g", contrast="B - A", key_added=3)


def test_nul_in_block_labels_is_refused_not_merged():
    # before: R cut "d1\x00x" at the NUL, merging blocks d1 and "d1\x00x"
    expr = random_expr(40, 6, 2)
    block = ["d1", "d1\x00x", "d2", "d1", "d1\x00x", "d2"]
    with pytest.raises(ValueError, match=r"block label 'd1\\x00x' contains the control"):
        run_limma(expr, groups=["A"] * 3 + ["B"] * 3, contrast="B - A", block=block)


def test_control_characters_in_contrast_names_are_refused():
    expr = random_expr(40, 6, 0)
    with pytest.raises(ValueError, match="contrast name"):
        run_limma(expr, groups=_groups(), contrast={"B\x1bA": "B - A"})


def test_wide_header_matrix_reads(tmp_path):
    # a header of 20,000 sample names (~200 KB) on one line: over csv's 128 KB field limit
    samples = [f"GSM{1000000 + i}" for i in range(20_000)]
    rng = np.random.default_rng(0)
    values = rng.integers(0, 50, size=(3, len(samples)))
    lines = ["gene\t" + "\t".join(samples)]
    lines += [f"g{i}\t" + "\t".join(map(str, row)) for i, row in enumerate(values)]
    path = tmp_path / "wide.tsv"
    path.write_text("\n".join(lines) + "\n")
    assert len(lines[0]) > 131072
    import csv

    before = csv.field_size_limit()
    m = read_matrix(path)
    assert csv.field_size_limit() == before  # restored
    assert m.shape == (3, 20_000)
    assert m.columns[-1] == samples[-1]
    np.testing.assert_array_equal(m.to_numpy(), values)


def test_wide_header_table_reads(tmp_path):
    cols = [f"extra{i}" for i in range(14_000)]
    head = "ID\tlogFC\tP.Value\t" + "\t".join(cols)
    row = "G1\t1.5\t0.01\t" + "\t".join("1" for _ in cols)
    row2 = "G2\t-0.5\t0.5\t" + "\t".join("2" for _ in cols)
    path = tmp_path / "t.tsv"
    path.write_text("\n".join([head, row, row2]) + "\n")
    assert len(head) > 131072
    t = read_table(path)
    assert t.loc["G1", "logFC"] == 1.5 and t.shape[1] == 2 + len(cols)


def _bomb(tmp_path, mb=50):
    path = tmp_path / "bomb.tsv.gz"
    body = b"ID\tlogFC\tP.Value\n" + b"0" * (mb * 1024 * 1024)
    path.write_bytes(gzip.compress(body, compresslevel=9))
    return path


def test_gzip_bomb_is_refused_quickly(tmp_path):
    path = _bomb(tmp_path)
    assert path.stat().st_size < 200_000
    started = time.perf_counter()
    with pytest.raises(ValueError, match=r"expands more than 100-fold.*max_size=") as err:
        read_table(path)
    assert "bomb.tsv.gz" in str(err.value)
    assert time.perf_counter() - started < 5
    with pytest.raises(ValueError, match="decompression bomb"):
        read_matrix(path)


def test_max_size_limits_and_allows(tmp_path):
    path = tmp_path / "t.tsv.gz"
    body = "ID\tlogFC\tP.Value\n" + "".join(f"G{i}\t{i / 7:.6f}\t0.5\n" for i in range(2000))
    path.write_bytes(gzip.compress(body.encode()))
    with pytest.raises(ValueError, match=r"has 9,\d\d\d bytes, more than the limit of 1,000"):
        read_table(path, max_size=1000)
    with pytest.raises(ValueError, match=r"expands to more than 20,000 bytes"):
        read_table(path, max_size=20_000)
    assert read_table(path, max_size=10**7).shape == (2000, 2)
    with pytest.raises(ValueError, match="max_size must be a positive number"):
        read_table(path, max_size=-1)


def test_truncated_gzip_still_named(tmp_path):
    path = tmp_path / "cut.tsv.gz"
    full = gzip.compress(("ID\tlogFC\tP.Value\n" + "G1\t1\t0.5\n" * 5000).encode())
    path.write_bytes(full[: len(full) // 2])
    with pytest.raises(ValueError, match="damaged or truncated gzip"):
        read_table(path)


def _ctable(n=150, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    return pd.DataFrame(
        {"logFC": x[:, 0] + 0.5 * x[:, 1] + rng.normal(0, 0.3, n), "a": x[:, 0], "b": x[:, 1],
         "c": x[:, 2]},
        index=[f"G{i}" for i in range(n)],
    )  # fmt: skip


def test_user_estimators_get_the_random_state():
    models = {
        "rf": RandomForestRegressor(n_estimators=20),
        "pipe": make_pipeline(StandardScaler(), RandomForestRegressor(n_estimators=10)),
        "fixed": RandomForestRegressor(n_estimators=10, random_state=7),
    }
    kw = {"target": "logFC", "models": models, "cv": 3, "random_state": 5, "progress": False}
    first = compare(_ctable(), **kw)
    second = compare(_ctable(), **kw)
    cols = ["cv_r2_mean", "test_r2"]
    pd.testing.assert_frame_equal(first.leaderboard[cols], second.leaderboard[cols])
    notes = dict(zip(first.leaderboard["model"], first.leaderboard["note"].fillna("")))
    assert "random_state set to 5" in notes["rf"]
    assert "randomforestregressor__random_state set to 5" in notes["pipe"]
    assert "random_state" not in notes["fixed"]  # the user's own seed is kept
    assert models["rf"].random_state is None  # the user's object is not modified


@pytest.mark.parametrize("value", [np.inf, -np.inf])
def test_infinite_feature_is_refused_up_front(value):
    table = _ctable()
    table.loc["G7", "b"] = value
    with pytest.raises(
        ValueError, match=r"feature 'b' has 1 infinite value\(s\), e.g. at genes \['G7'\]"
    ):
        compare(table, target="logFC", models=["linear"], cv=3, progress=False)


def test_infinite_target_is_refused():
    table = _ctable()
    table.loc["G3", "logFC"] = np.inf
    with pytest.raises(ValueError, match=r"the target 'logFC' has 1 infinite"):
        compare(table, target="logFC", models=["linear"], cv=3, progress=False)
