"""Table-driven bad inputs across read_table, run_limma, compare, the AnnData verbs and the CLI.

Each error case asserts the exception type and that the message names the culprit (file,
line, column, gene, sample or argument). Inputs that look odd but are valid (BOM, CRLF,
Latin-1, UTF-16, Unicode or number-like gene IDs) assert the values read.
"""

from __future__ import annotations

import gzip
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import degbridge
from degbridge import compare, read_table, run_limma, tl

from ..conftest import random_expr, run_cli

GOOD = "ID,logFC,AveExpr,P.Value,adj.P.Val\nA,1.5,7.0,0.01,0.02\nB,-0.5,6.0,0.5,0.6\nC,2.0,5.0,0.001,0.003\n"


def _file(tmp: Path, content: bytes | str, name: str = "t.csv") -> Path:
    path = tmp / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def _expr(n_genes=40, n_samples=6, seed=0):
    return random_expr(n_genes, n_samples, seed)


def _with_value(gene: int, sample: int, value: float) -> pd.DataFrame:
    expr = _expr()
    expr.iloc[gene, sample] = value
    return expr


def _with_empty_gene(gene: int) -> pd.DataFrame:
    expr = _expr()
    expr.iloc[gene, :] = np.nan
    return expr


def _table(n=200, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {"logFC": rng.normal(size=n), "AveExpr": rng.normal(6, 2, n), "x": rng.normal(size=n)},
        index=pd.Index([f"G{i}" for i in range(n)], name="gene"),
    )


def _cells():
    rng = np.random.default_rng(0)
    X = sp.csr_matrix(rng.poisson(2, size=(60, 30)).astype(float))
    obs = pd.DataFrame(
        {"donor": np.repeat(["d1", "d2", "d3"], 20), "cond": np.tile(["a", "b"], 30)}
    )
    obs.index = [f"c{i}" for i in range(60)]
    return ad.AnnData(X=X, obs=obs, var=pd.DataFrame(index=[f"G{i}" for i in range(30)]))


@dataclass
class Case:
    id: str
    run: Callable[[Path], object]
    exc: type[BaseException]
    match: str
    needs_r: bool = False


GROUPS = ["a", "a", "a", "b", "b", "b"]

CASES = [
    # ---- read_table: files ---------------------------------------------------------
    Case(
        "truncated file",
        lambda t: read_table(_file(t, GOOD + "D,1.0,2")),
        ValueError,
        r"line 5 has 3 fields but the header has 5",
    ),
    Case(
        "PNG named .csv",
        lambda t: read_table(_file(t, b"\x89PNG\r\n\x1a\n\0\0", "results.csv")),
        ValueError,
        r"results\.csv' is a PNG image",
    ),
    Case(
        "PDF named .csv",
        lambda t: read_table(_file(t, b"%PDF-1.7\n%\xe2\xe3", "results.csv")),
        ValueError,
        r"results\.csv' is a PDF document",
    ),
    Case(
        "xlsx named .csv",
        lambda t: read_table(_file(t, b"PK\x03\x04rest", "results.csv")),
        ValueError,
        r"an Excel \.xlsx workbook",
    ),
    Case(
        "binary with NUL",
        lambda t: read_table(_file(t, b"ID,logFC\n\x00\x01\x02", "x.csv")),
        ValueError,
        r"x\.csv' is a binary file",
    ),
    Case(
        "truncated gzip",
        lambda t: read_table(_file(t, gzip.compress(GOOD.encode())[:30], "t.csv.gz")),
        ValueError,
        r"t\.csv\.gz' is a damaged or truncated gzip",
    ),
    Case(
        "empty file",
        lambda t: read_table(_file(t, "", "empty.tsv")),
        ValueError,
        r"empty\.tsv' is empty",
    ),
    Case(
        "only comments",
        lambda t: read_table(_file(t, "# comment\n\n")),
        ValueError,
        r"holds no table",
    ),
    Case(
        "header only",
        lambda t: read_table(_file(t, "ID,logFC,P.Value\n")),
        ValueError,
        r"header line but no rows",
    ),
    Case("a folder", lambda t: read_table(t), ValueError, r"is a folder, not a table"),
    Case(
        "missing file",
        lambda t: read_table(t / "nope.tsv"),
        FileNotFoundError,
        r"nope\.tsv' does not exist",
    ),
    Case(
        "wrong delimiter, decimal commas",
        lambda t: read_table(_file(t, "ID;logFC;P.Value\nA;1,5;0,01\nB;2,5;0,2\n")),
        ValueError,
        r"column 'logFC' must be numeric but has text at line 2 \(gene 'A'\): '1,5'.*decimal comma",
    ),
    Case(
        "space-separated header only",
        lambda t: read_table(_file(t, "ID logFC\n")),
        ValueError,
        r"header line but no rows",
    ),
    Case(
        "no delimiter found",
        lambda t: read_table(_file(t, "IDlogFC\nA1\n")),
        ValueError,
        r"cannot find a delimiter in the header line 'IDlogFC'",
    ),
    Case(
        "duplicate headers",
        lambda t: read_table(_file(t, "ID,logFC,logFC\nA,1,2\nB,3,4\n")),
        ValueError,
        r"duplicate column names \['logFC'\]",
    ),
    Case(
        "duplicate gene IDs",
        lambda t: read_table(_file(t, GOOD + "B,1,2,0.3,0.4\n")),
        ValueError,
        r"1 gene IDs occur more than once: 'B' \(lines 3, 5\)",
    ),
    Case(
        "mixed types in logFC",
        lambda t: read_table(_file(t, GOOD.replace("-0.5", "down"))),
        ValueError,
        r"column 'logFC' must be numeric but has text at line 3 \(gene 'B'\): 'down'",
    ),
    Case(
        "missing gene ID",
        lambda t: read_table(_file(t, GOOD + ",1,2,0.3,0.4\n")),
        ValueError,
        r"1 rows have no gene ID, first at line 5",
    ),
    Case(
        "all-NaN column",
        lambda t: read_table(_file(t, "ID,logFC,B\nA,1,NA\nB,2,NA\n")),
        ValueError,
        r"column 'B' has no values",
    ),
    Case(
        "infinite logFC",
        lambda t: read_table(_file(t, GOOD.replace("2.0,5.0", "Inf,5.0"))),
        ValueError,
        r"column 'logFC' has 1 infinite value\(s\), first at line 4 \(gene 'C'\)",
    ),
    Case(
        "P-value above 1",
        lambda t: read_table(_file(t, GOOD.replace("0.5,0.6", "1.5,0.6"))),
        ValueError,
        r"'P.Value' holds P-values but 1 value\(s\) lie outside \[0, 1\], first at line 3 \(gene 'B'\): 1.5",
    ),
    Case(
        "count matrix as DE table",
        lambda t: read_table(_file(t, "gene\tS1\tS2\nA\t1\t2\n")),
        ValueError,
        r"no recognisable differential-expression columns \(found \['S1', 'S2'\]\)",
    ),
    Case(
        "DESeq2 table",
        lambda t: read_table(
            _file(t, "gene,baseMean,log2FoldChange,lfcSE,stat,pvalue,padj\nA,1,2,3,4,0.1,0.2\n")
        ),
        ValueError,
        r"is a DESeq2 results table",
    ),
    Case(
        "unknown id_column",
        lambda t: read_table(_file(t, GOOD), id_column="gene"),
        ValueError,
        r"id_column 'gene' is not a column; columns are \['ID', 'logFC'",
    ),
    # ---- run_limma -------------------------------------------------------------------
    Case(
        "empty matrix",
        lambda t: run_limma(_expr().iloc[:0], groups=GROUPS, contrast="b-a"),
        ValueError,
        r"the expression matrix is empty \(0 genes × 6 samples\)",
    ),
    Case(
        "one gene",
        lambda t: run_limma(_expr(n_genes=1), groups=GROUPS, contrast="b-a"),
        ValueError,
        r"single gene \('g0'\)",
    ),
    Case(
        "one sample",
        lambda t: run_limma(_expr(n_samples=1), groups=["a"], contrast="b-a"),
        ValueError,
        r"groups has a single level \['a'\]",
    ),
    Case(
        "mismatched sample names",
        lambda t: run_limma(
            _expr(),
            samples=pd.DataFrame({"g": GROUPS}, index=list("uvwxyz")),
            design="~ g",
            coef="gb",
        ),
        ValueError,
        r"matrix samples not in the table \['s0', 's1', 's2', 's3', 's4'\]",
    ),
    Case(
        "all-NaN gene",
        lambda t: run_limma(_with_empty_gene(3), groups=GROUPS, contrast="b-a"),
        ValueError,
        r"1 gene\(s\) have no values at all \(all NA\), e.g. \['g3'\]",
    ),
    Case(
        "infinite expression",
        lambda t: run_limma(_with_value(4, 1, np.inf), groups=GROUPS, contrast="b-a"),
        ValueError,
        r"1 infinite value\(s\), first at gene 'g4', sample 's1'",
    ),
    Case(
        "negative counts",
        lambda t: run_limma(
            _expr().round().assign(s2=lambda d: d.s2 - 20),
            groups=GROUPS,
            contrast="b-a",
            method="voom",
        ),
        ValueError,
        r"negative value\(s\), first at gene 'g0', sample 's2'",
    ),
    Case(
        "normalised data as counts",
        lambda t: run_limma(_expr(), groups=GROUPS, contrast="b-a", method="trend"),
        ValueError,
        r"method='trend' needs raw integer counts.*gene 'g0', sample 's0'",
    ),
    Case(
        "contrast naming an unknown level",
        lambda t: run_limma(_expr(), groups=GROUPS, contrast="b-c"),
        ValueError,
        r"'c' is not a design column; valid names are \['a', 'b'\]",
    ),
    Case(
        "confounded design",
        lambda t: run_limma(
            _expr(),
            samples=pd.DataFrame({"batch": GROUPS, "g": GROUPS}, index=_expr().columns),
            design="~ batch + g",
            coef="gb",
        ),
        ValueError,
        r"'gb' is a combination of \['batchb'\]",
    ),
    Case(
        "block without repeats",
        lambda t: run_limma(_expr(), groups=GROUPS, contrast="b-a", block=list("uvwxyz")),
        ValueError,
        r"block has a different label for every sample",
    ),
    Case(
        "numpy names of wrong length",
        lambda t: run_limma(_expr().to_numpy(), gene_ids=["a", "b"], groups=GROUPS, contrast="b-a"),
        ValueError,
        r"gene_ids has 2 names but the matrix has 40 genes",
    ),
    Case(
        "3-D array",
        lambda t: run_limma(np.zeros((2, 3, 4)), groups=GROUPS, contrast="b-a"),
        ValueError,
        r"must be 2-D \(genes × samples\), not 3-D",
    ),
    Case(
        "missing matrix file",
        lambda t: run_limma(str(t / "counts.tsv"), groups=GROUPS, contrast="b-a"),
        ValueError,
        r"counts\.tsv' does not exist",
    ),
    # ---- compare -------------------------------------------------------------------------
    Case(
        "unknown target",
        lambda t: compare(_table(), target="lfc", progress=False),
        ValueError,
        r"target 'lfc' is not a column; numeric columns are \['logFC', 'AveExpr', 'x'\]",
    ),
    Case(
        "non-numeric target",
        lambda t: compare(_table().assign(sym="s"), target="sym", progress=False),
        TypeError,
        r"target 'sym' is not numeric",
    ),
    Case(
        "fewer genes than folds x 2",
        lambda t: compare(_table(n=9), cv=5, progress=False),
        ValueError,
        r"only 9 genes with a target value; this comparison needs at least 10",
    ),
    Case(
        "constant target",
        lambda t: compare(_table().assign(logFC=0.0), progress=False),
        ValueError,
        r"target 'logFC' is constant",
    ),
    Case(
        "no features left",
        lambda t: compare(_table()[["logFC"]], progress=False),
        ValueError,
        r"no usable features left for target 'logFC'",
    ),
    Case(
        "extra matching no gene",
        lambda t: compare(
            _table(), extra={"omics": pd.DataFrame({"m": [1.0]}, index=["X1"])}, progress=False
        ),
        ValueError,
        r"extra table 'omics' matches no gene ID of the table \(0 of 200 table genes, 1 extra genes",
    ),
    Case(
        "extra with duplicate IDs",
        lambda t: compare(
            _table(),
            extra={"omics": pd.DataFrame({"m": [1.0, 2.0]}, index=["G1", "G1"])},
            progress=False,
        ),
        ValueError,
        r"extra table 'omics' has 1 duplicated gene IDs, e.g. \['G1'\]",
    ),
    Case(
        "unknown model",
        lambda t: compare(_table(), models=["linear", "catboost"], progress=False),
        ValueError,
        r"unknown model 'catboost'",
    ),
    Case(
        "not an estimator",
        lambda t: compare(_table(), models={"bad": object()}, progress=False),
        TypeError,
        r"model 'bad' is not an estimator",
    ),
    Case(
        "table without gene IDs",
        lambda t: compare(_table().reset_index(drop=True), progress=False),
        ValueError,
        r"table has no gene IDs: set them as the index",
    ),
    # ---- AnnData verbs ----------------------------------------------------------------
    Case(
        "pseudobulk: missing obs column",
        lambda t: degbridge.pseudobulk(_cells(), "patient"),
        ValueError,
        r"'patient' is not an obs column; obs columns are \['donor', 'cond'\]",
    ),
    Case(
        "pseudobulk: unknown layer",
        lambda t: degbridge.pseudobulk(_cells(), "donor", layer="counts"),
        ValueError,
        r"layer 'counts' is not in the AnnData; layers are \[\]",
    ),
    Case(
        "pseudobulk: too few cells",
        lambda t: degbridge.pseudobulk(_cells(), "donor", min_cells=50),
        ValueError,
        r"fewer than min_cells=50 cells \(largest: 20\)",
    ),
    Case(
        "tl.limma: missing groupby",
        lambda t: tl.limma(_cells(), groupby="condition", contrast="b-a"),
        ValueError,
        r"groupby='condition' is not an obs column",
    ),
    Case(
        "tl.compare before tl.limma",
        lambda t: tl.compare(_cells()),
        ValueError,
        r"adata.uns has no 'degbridge': run degbridge.tl.limma",
    ),
    Case(
        "tl.limma: not an AnnData",
        lambda t: tl.limma(_expr(), groupby="x"),
        TypeError,
        r"expected an AnnData \(samples or cells × genes\), not DataFrame",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", degbridge.DegbridgeWarning)
        with pytest.raises(case.exc, match=case.match):
            case.run(tmp_path)


def test_case_count():
    assert len(CASES) >= 30


def test_pseudobulk_refuses_normalised_data_naming_layer():
    cells = _cells()
    cells.layers["counts"] = cells.X.copy()
    cells.X = sp.csr_matrix(np.log1p(cells.X.toarray()))
    with pytest.raises(
        ValueError, match=r"X holds non-integer or negative values.*pass layer='counts'"
    ):
        degbridge.pseudobulk(cells, "donor")


# ---------------------------------------------------------------------------------------
# odd but valid inputs: read correctly
# ---------------------------------------------------------------------------------------


def test_bom_and_crlf(tmp_path):
    tab = read_table(_file(tmp_path, b"\xef\xbb\xbf" + GOOD.replace("\n", "\r\n").encode()))
    assert list(tab.index) == ["A", "B", "C"] and tab.loc["C", "adj.P.Val"] == 0.003


def test_latin1_and_utf16(tmp_path):
    text = "ID\tlogFC\nGène-α\t1.25\nB\t2\n".replace("α", "a")
    tab = read_table(_file(tmp_path, text.encode("latin-1"), "l1.tsv"))
    assert tab.index[0] == "Gène-a" and tab.meta["encoding"] == "latin-1"
    tab = read_table(_file(tmp_path, "ID\tlogFC\nGène-α\t1.25\nB\t2\n".encode("utf-16"), "u16.tsv"))
    assert tab.index[0] == "Gène-α" and tab.meta["encoding"] == "utf-16"


def test_unicode_and_number_like_gene_ids(tmp_path):
    tab = read_table(_file(tmp_path, "ID,logFC\n0001234,1\n00999,2\n7928107,3\nΔNp63-β,4\n"))
    assert list(tab.index) == ["0001234", "00999", "7928107", "ΔNp63-β"]


def test_excel_dates_detected(tmp_path):
    with pytest.warns(
        degbridge.ExcelDateWarning,
        match=r"3 gene IDs look like dates.*'1-Mar', '2-Sep', '2006-09-02'",
    ):
        read_table(_file(tmp_path, "gene,logFC\n1-Mar,1\n2-Sep,2\n2006-09-02,3\nMARCHF1,4\n"))


def test_all_nan_row_is_kept_and_counted(tmp_path):
    tab = read_table(_file(tmp_path, GOOD + "D,NA,NA,NA,NA\n"))
    assert tab.shape == (4, 4) and tab.loc["D"].isna().all()
    assert tab.meta["missing"] == {"logFC": 1, "AveExpr": 1, "P.Value": 1, "adj.P.Val": 1}


@pytest.mark.r
def test_unicode_gene_ids_through_limma():
    expr = _expr()
    expr.index = [f"Gène-{i}-α" for i in range(40)]
    tab = run_limma(expr, groups=GROUPS, contrast="b-a", sort_by="none")
    assert list(tab.index) == list(expr.index)
    rdf = tab.to_r()
    from degbridge import r

    assert list(r.session().ro.r["rownames"](rdf)) == list(expr.index)


# ---------------------------------------------------------------------------------------
# CLI: one line, exit code, no output
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["compare", "{png}", "-o", "out"], "is a PNG image, not a text table"),
        (["compare", "{good}", "--target", "Pval", "-o", "out"], "target 'Pval' is not a column"),
        (["compare", "{good}", "--models", "linear,foo", "-o", "out"], "unknown model 'foo'"),
        (
            [
                "limma",
                "{good}",
                "--samples",
                "nope.tsv",
                "--groups",
                "g",
                "--contrast",
                "b-a",
                "-o",
                "out",
            ],
            "sample sheet 'nope.tsv' does not exist",
        ),
    ],
)
def test_cli_errors(tmp_path, args, message):
    png = _file(tmp_path, b"\x89PNG\r\n\x1a\n\0", "results.csv")
    good = _file(tmp_path, GOOD, "good.csv")
    argv = [a.format(png=png, good=good) for a in args]
    out = run_cli(*argv, cwd=tmp_path)
    assert out.returncode == 1
    assert out.stderr.strip().splitlines()[-1].startswith("degbridge: error:")
    assert message in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "out").exists()
