"""What hostile testing found (issue 25), each refused with a message naming the culprit or
handled, instead of R's own error, a silent rename or a bare traceback."""

from __future__ import annotations

import gzip
import warnings

import numpy as np
import pandas as pd
import pytest

import degbridge as db
from degbridge import DataWarning

from ..conftest import run_cli

pytestmark = pytest.mark.r

GROUPS = list("aaabbb")


def _counts(seed: int = 0, n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        rng.poisson(20, (n, 6)).astype(float),
        index=[f"g{i}" for i in range(n)],
        columns=[f"s{j}" for j in range(6)],
    )


# ---------------------------------------------------------------------------------------
# matrices
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("run", "who"),
    [
        (lambda c: db.run_limma(c, groups=GROUPS, contrast="b-a", method="voom"), "method='voom'"),
        (
            lambda c: db.run_limma(c, groups=GROUPS, contrast="b-a", method="trend"),
            "method='trend'",
        ),
        (lambda c: db.run_edger(c, groups=GROUPS, contrast="b-a"), "run_edger"),
        (lambda c: db.run_deseq2(c, groups=GROUPS, contrast="b-a"), "run_deseq2"),
    ],
    ids=["voom", "trend", "edger", "deseq2"],
)
def test_a_sample_without_counts_is_named(run, who):
    counts = _counts()
    counts["s2"] = 0.0
    with pytest.raises(
        ValueError,
        match=rf"{who}: 1 sample\(s\) have no counts at all \(library size 0\): \['s2'\]",
    ):
        run(counts)


@pytest.mark.parametrize(
    ("values", "method"), [(5.0, "voom"), (1.5, "ls")], ids=["counts", "log-expression"]
)
def test_a_constant_matrix_is_refused(values, method):
    constant = _counts() * 0 + values
    with pytest.raises(
        ValueError, match=rf"every value of the matrix is {values:g} \(300 genes × 6 samples\)"
    ):
        db.run_limma(constant, groups=GROUPS, contrast="b-a", method=method)


def test_counts_beyond_r_integers_are_named_for_deseq2_and_taken_by_edger():
    counts = _counts()
    counts.iloc[7, 4] = 3e9
    with pytest.raises(
        ValueError, match=r"exceed R's integer range.*3000000000 at gene 'g7', sample 's4'"
    ):
        db.run_deseq2(counts, groups=GROUPS, contrast="b-a")
    table = db.run_edger(counts, groups=GROUPS, contrast="b-a")  # doubles in edgeR: fine
    assert "g7" in table.index


def test_duplicated_sample_names_are_named():
    counts = _counts()
    counts.columns = ["s0", "s1", "s1", "s3", "s4", "s5"]
    with pytest.raises(ValueError, match=r"1 sample IDs occur more than once: \['s1'\]"):
        db.run_limma(counts, groups=GROUPS, contrast="b-a")
    counts.columns = [f"s{j}" for j in range(6)]
    counts.index = ["g0", *counts.index[1:-1], "g0"]
    with pytest.raises(ValueError, match=r"1 gene IDs occur more than once: \['g0'\]"):
        db.run_edger(counts, groups=GROUPS, contrast="b-a")


# ---------------------------------------------------------------------------------------
# gene sets
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fit():
    return db.fit_limma(_counts(1), groups=GROUPS)


def test_gene_set_names_with_nul_are_refused(fit, tmp_path):
    sets = {"a\x00b": [f"g{i}" for i in range(10)], "ok": [f"g{i}" for i in range(10, 30)]}
    for call in (
        lambda: fit.camera(sets, "b-a"),
        lambda: fit.fry(sets, "b-a"),
        lambda: db.camera_pr(fit.test("b-a"), sets),
        lambda: db.gene_sets(sets),
    ):
        with pytest.raises(
            ValueError, match=r"gene set name 'a\\x00b' contains the control character"
        ):
            call()
    gmt = tmp_path / "nul.gmt"
    gmt.write_bytes(b"ok\td\tg1\tg2\nbad\x01name\td\tg3\tg4\n")
    with pytest.raises(
        ValueError, match=r"GMT file '.*nul.gmt', line 2: gene set name 'bad\\x01name'"
    ):
        db.gene_sets(str(gmt))


def test_gmt_gzip_latin1_and_binary(fit, tmp_path):
    plain = "ok\tdesc\tg1\tg2\tg3\ncaf\u00e9\tdesc\tg4\tg5\n"
    gz = tmp_path / "sets.gmt.gz"
    gz.write_bytes(gzip.compress(plain.encode("utf-8")))
    latin = tmp_path / "latin1.gmt"
    latin.write_bytes(plain.encode("latin-1"))
    for path in (gz, latin):
        sets = db.gene_sets(str(path), min_size=1)
        assert dict(sets) == {"ok": ["g1", "g2", "g3"], "caf\u00e9": ["g4", "g5"]}
    binary = tmp_path / "binary.gmt"
    binary.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(ValueError, match=r"GMT file '.*binary.gmt' is a binary file"):
        db.gene_sets(str(binary))
    broken = tmp_path / "broken.gmt.gz"
    broken.write_bytes(gzip.compress(plain.encode())[:-12])
    with pytest.raises(ValueError, match=r"GMT file '.*broken.gmt.gz'"):
        db.gene_sets(str(broken))


def test_roast_rotations_and_seed_within_r_integers(fit):
    members = [f"g{i}" for i in range(20)]
    with pytest.raises(ValueError, match=r"nrot must be a positive integer up to 2,147,483,647"):
        fit.roast(members, "b-a", nrot=10**12, seed=1)
    with pytest.raises(ValueError, match=r"seed must be within R's integer range"):
        fit.roast(members, "b-a", nrot=99, seed=2**40)


# ---------------------------------------------------------------------------------------
# decideTests on tables with missing P-values
# ---------------------------------------------------------------------------------------


def test_decide_tests_leaves_out_genes_without_a_p_value(fit):
    tested = fit.test(["b-a", "b"])
    holes = {name: table.copy() for name, table in tested.items()}
    for table in holes.values():
        table.loc[["g3", "g8"], "P.Value"] = np.nan
    with pytest.warns(
        DataWarning, match=r"2 gene\(s\) without a P-value or logFC \(e.g. 'g[38]'\) are left out"
    ):
        decided = db.decide_tests(db.DEResults(holes, None))
    assert "g3" not in decided.index and len(decided) == len(tested["b-a"]) - 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        whole = db.decide_tests(
            db.DEResults({n: t.drop(["g3", "g8"]) for n, t in tested.items()}, None)
        )
    pd.testing.assert_frame_equal(decided, whole.loc[decided.index])


# ---------------------------------------------------------------------------------------
# the command line
# ---------------------------------------------------------------------------------------


def test_cli_takes_a_spline_term_as_coef(tmp_path):
    rng = np.random.default_rng(3)
    hours = np.repeat([0.0, 6, 12, 24, 48, 72], 2)
    expr = pd.DataFrame(
        rng.normal(6, 1, (300, 12)),
        index=[f"g{i}" for i in range(300)],
        columns=[f"s{j}" for j in range(12)],
    )
    expr.iloc[:15] += np.sin(hours / 20)
    samples = pd.DataFrame({"time": hours}, index=expr.columns)
    expr.to_csv(tmp_path / "expr.tsv", sep="\t")
    samples.to_csv(tmp_path / "samples.tsv", sep="\t")
    out = run_cli(
        "limma", "expr.tsv", "--samples", "samples.tsv", "--design", "~ ns(time, df = 2)",
        "--coef", "ns(time, df = 2)", "-o", "out", "--quiet", cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    ftest = pd.read_csv(tmp_path / "out" / "F.tsv", sep="\t", index_col=0)
    ours = db.run_limma(expr, samples=samples, design="~ ns(time, df = 2)", coef="ns(time, df = 2)")
    assert list(ftest.index) == list(ours.ftest.index)
    np.testing.assert_allclose(ftest["F"].to_numpy(), ours.ftest["F"].to_numpy(), rtol=1e-12)


# ---------------------------------------------------------------------------------------
# per cell type
# ---------------------------------------------------------------------------------------

CELLTYPE_KW = {"groupby": "condition", "sample_key": "donor", "celltype_key": "cell_type",
               "contrast": "stim - ctrl", "progress": False}  # fmt: skip


@pytest.fixture(scope="module")
def cells(airway):
    from ..test_tl_celltype import simulate

    adata, _ = simulate(airway, n_genes=600)
    return adata


@pytest.mark.parametrize("categorical", [False, True])
@pytest.mark.parametrize("key", ["cell_type", "donor", "condition"])
def test_a_label_with_nul_is_refused_not_dropped(cells, key, categorical):
    """R strings stop at NUL: 'T\\x00x' would reach R as 'T' (a cell type with '0 samples')."""
    adata = cells.copy()
    first = str(adata.obs[key].iloc[0])
    adata.obs[key] = adata.obs[key].astype(str).replace({first: first + "\x00x"})
    if categorical:
        adata.obs[key] = adata.obs[key].astype("category")
    with pytest.raises(
        ValueError,
        match=rf"obs\['{key}'\] label '{first}\\x00x' contains the control character '\\x00'",
    ):
        db.tl.de(adata, **CELLTYPE_KW)
    assert "degbridge" not in adata.uns


def test_backed_anndata_per_cell_type_equals_in_memory(cells, tmp_path):
    import anndata as ad

    path = tmp_path / "cells.h5ad"
    cells.write_h5ad(path)
    memory = cells.copy()
    with pytest.warns(DataWarning, match="cell types skipped"):
        db.tl.de(memory, **CELLTYPE_KW)
    backed = ad.read_h5ad(path, backed="r")
    try:
        with pytest.warns(DataWarning, match="cell types skipped"):
            db.tl.de(backed, **CELLTYPE_KW)
        pd.testing.assert_frame_equal(
            backed.uns["degbridge"]["results"], memory.uns["degbridge"]["results"], check_exact=True
        )
        # a value that is not a count, found in the file, is the in-memory error
        bad = cells.copy()
        X = bad.X.tolil()
        X[5, 7] = 0.5
        bad.X = X.tocsr()
        bad.write_h5ad(tmp_path / "bad.h5ad")
        with pytest.raises(ValueError) as in_memory:
            db.tl.de(bad.copy(), **CELLTYPE_KW)
        bad_backed = ad.read_h5ad(tmp_path / "bad.h5ad", backed="r")
        with pytest.raises(ValueError) as streamed:
            db.tl.de(bad_backed, **CELLTYPE_KW)
        assert str(streamed.value) == str(in_memory.value)
        assert "cell" in str(streamed.value) and "= 0.5" in str(streamed.value)
        bad_backed.file.close()
    finally:
        backed.file.close()
