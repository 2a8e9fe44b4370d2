"""cameraPR on a DE table (``degbridge.camera_pr``, ``degbridge genesets``) against a native
Rscript ``cameraPR`` on the same statistic and the same sets (as row-number lists)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import degbridge
from degbridge import DataWarning

from .conftest import DATA, read_full, run_cli, run_rscript

pytestmark = pytest.mark.r


def _sets(table: pd.DataFrame, seed: int = 7) -> dict[str, list[str]]:
    """Sets with a real signal (top genes by t) and random ones, plus IDs not in the table."""
    rng = np.random.default_rng(seed)
    genes = list(table.index)
    by_t = table.sort_values("t").index
    sets = {
        "down_top": list(by_t[:25]),
        "up_top": list(by_t[-30:]),
        "mixed": list(by_t[:10]) + list(by_t[-10:]),
    }
    for k in range(12):
        size = int(rng.integers(5, 60))
        sets[f"random_{k}"] = list(rng.choice(genes, size=size, replace=False))
    sets["partly_absent"] = [*list(rng.choice(genes, size=8, replace=False)), "ENSG_NOT_THERE"]
    return sets


@pytest.fixture(scope="module")
def table():
    return degbridge.read_table(DATA / "limma_voom_every10th.csv")


@pytest.mark.parametrize(("use_ranks", "cor"), [(False, 0.01), (True, 0.05)])
def test_camera_pr_equals_native_camerapr(table, tmp_path, use_ranks, cor):
    sets = _sets(table)
    ours = degbridge.camera_pr(table, sets, use_ranks=use_ranks, inter_gene_cor=cor)
    genes = list(table.index)
    pd.DataFrame({"gene": genes, "t": [f"{v:.17g}" for v in table["t"]]}).to_csv(
        tmp_path / "stat.tsv", sep="\t", index=False
    )
    with (tmp_path / "sets.gmt").open("w") as handle:
        for name, ids in sets.items():
            handle.write("\t".join([name, "na", *ids]) + "\n")
    code = f"""
    st <- read.delim("stat.tsv", colClasses = c("character", "numeric"))
    stat <- setNames(st$t, st$gene)
    lines <- strsplit(readLines("sets.gmt"), "\\t")
    sets <- setNames(lapply(lines, function(x) x[-(1:2)]), vapply(lines, `[`, "", 1))
    index <- ids2indices(sets, names(stat))
    res <- cameraPR(stat, index, use.ranks = {"TRUE" if use_ranks else "FALSE"},
                    inter.gene.cor = {cor})
    write_full(res, "r.tsv")
    """
    run_rscript(code, tmp_path)
    theirs = read_full(tmp_path / "r.tsv")
    assert list(ours.index) == list(theirs.index)  # same sets, same order (sorted by P)
    assert list(ours["Direction"]) == list(theirs["Direction"])
    for col in ("NGenes", "PValue", "FDR"):
        np.testing.assert_allclose(ours[col].to_numpy(float), theirs[col].to_numpy(float),
                                   rtol=1e-10, atol=0)  # fmt: skip
    assert ours.loc["up_top", "Direction"] == "Up" and ours.loc["down_top", "Direction"] == "Down"
    assert ours.attrs["statistic"] == "t" and ours.attrs["n_missing_statistic"] == 0
    assert ours.loc["partly_absent", "NGenes"] == 8


def test_camera_pr_bad_input_and_missing_statistic(table):
    with pytest.raises(ValueError, match=r"statistic='stat' is not a numeric column.*'logFC'"):
        degbridge.camera_pr(table, {"a": list(table.index[:5])}, statistic="stat")
    with pytest.raises(TypeError, match="camera_pr takes a DE table"):
        degbridge.camera_pr(table.to_numpy(), {"a": ["x"]})
    with pytest.raises(ValueError, match="no gene of the 1 gene set"):
        degbridge.camera_pr(table, {"a": ["1017", "1018", "5595"]})
    with pytest.raises(ValueError, match="inter_gene_cor"):
        degbridge.camera_pr(table, {"a": list(table.index[:5])}, inter_gene_cor=1.5)
    holed = table.copy()
    holed.iloc[:3, holed.columns.get_loc("t")] = np.nan
    with pytest.warns(DataWarning, match="3 gene"):
        res = degbridge.camera_pr(holed, {"a": list(table.index[:20])})
    assert res.attrs["n_missing_statistic"] == 3
    assert res.loc["a", "NGenes"] == 17


def test_genesets_command_with_a_gmt_file(table, tmp_path):
    sets = _sets(table)
    gmt = tmp_path / "sets.gmt"
    gmt.write_text("".join("\t".join([n, "desc", *ids]) + "\n" for n, ids in sets.items()))
    out = run_cli("genesets", DATA / "limma_voom_every10th.csv", "--sets", gmt, "--min-size", "5",
                  "-o", tmp_path / "res.tsv")  # fmt: skip
    assert out.returncode == 0, out.stderr
    got = pd.read_csv(tmp_path / "res.tsv", sep="\t", index_col=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = degbridge.camera_pr(table, degbridge.gene_sets(gmt, min_size=5))
    assert list(got.index) == list(ref.index)
    np.testing.assert_allclose(got["PValue"], ref["PValue"], rtol=1e-12)
    # wrong inputs: one line, nothing written
    bad = run_cli("genesets", DATA / "limma_voom_every10th.csv", "--sets", tmp_path / "nope.gmt",
                  "-o", tmp_path / "x.tsv")  # fmt: skip
    assert bad.returncode == 1 and "does not exist" in bad.stderr
    assert not (tmp_path / "x.tsv").exists()


def test_gene_set_members_and_unsigned_statistic(table, tmp_path):
    with pytest.raises(TypeError, match=r"gene set 'A' holds the number 2.0.*Int64"):
        degbridge.gene_sets({"A": ["1", 2.0]})
    with pytest.raises(TypeError, match="gene set 'A' holds the boolean True"):
        degbridge.gene_sets({"A": ["1", True]})
    sets = degbridge.gene_sets({"A": [1, "ENSG1", None, float("nan"), ""]})
    assert sets["A"] == ["1", "ENSG1"]
    with pytest.warns(DataWarning, match="'P.Value' is never negative"):
        degbridge.camera_pr(table, {"a": list(table.index[:20])}, statistic="P.Value")
    out = run_cli("genesets", DATA / "limma_voom_every10th.csv", "--sets",
                  DATA / "limma_voom_every10th.csv", "-o", tmp_path / "x.xlsx")  # fmt: skip
    assert out.returncode == 1 and "writes a .tsv" in out.stderr
    assert not (tmp_path / "x.xlsx").exists()
