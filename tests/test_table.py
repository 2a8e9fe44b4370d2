"""read_table on real DE tables and their R-written variants; DETable I/O; bad inputs."""

from __future__ import annotations

import gzip
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import degbridge
from degbridge import CANONICAL, ColumnAliasWarning, DETable, ExcelDateWarning, read_table

# Values from the original files, as text, so the assertions check full-precision parsing.
VOOM_GENE = "ENSG00000120129"
VOOM_ROW = {
    "logFC": "-3.51169341301245",
    "AveExpr": "5.61435811504286",
    "t": "-13.0805041717222",
    "P.Value": "3.05641988801375e-13",
    "adj.P.Val": "5.7799956502228e-09",
    "B": "19.1663774669343",
}


@pytest.mark.parametrize(
    "name",
    [
        "limma_voom_top200.csv",
        "toptable_write_table.txt",
        "toptable_unquoted.tsv",
        "toptable_all_quoted.csv",
    ],
)
def test_toptable_styles(data_dir, name):
    tab = read_table(data_dir / name)
    assert isinstance(tab, DETable)
    assert tab.shape == (200, 6)
    assert list(tab.columns) == list(CANONICAL)
    assert tab.index[0] == VOOM_GENE
    assert tab.index.name is None
    for col, text in VOOM_ROW.items():
        assert tab.loc[VOOM_GENE, col] == float(text), col  # exact, correctly rounded
    assert tab.meta["kind"] == "limma"
    assert tab.meta["column_map"] == {}
    assert tab.meta["missing"] == dict.fromkeys(CANONICAL, 0)
    assert tab.meta["source"] == str(data_dir / name)


def test_all_values_parse_exactly(data_dir):
    """Every number equals Python's correctly rounded float() of its text."""
    tab = read_table(data_dir / "limma_voom_top200.csv")
    raw = pd.read_csv(data_dir / "limma_voom_top200.csv", dtype=str, index_col=0)
    for col in CANONICAL:
        expected = np.array([float(v) for v in raw[col]])
        assert np.array_equal(tab[col].to_numpy(), expected), col


def test_geo2r_export(data_dir):
    tab = read_table(data_dir / "geo2r_GSE48452_top300.tsv", contrast="NASH-control")
    assert tab.shape == (300, 7)
    assert list(tab.columns) == [
        "logFC",
        "t",
        "P.Value",
        "adj.P.Val",
        "B",
        "Gene.symbol",
        "Gene.title",
    ]
    assert "AveExpr" not in tab.columns
    assert tab.index.name == "ID"
    assert tab.index[0] == "7928107"  # numeric probe IDs stay text
    assert tab.loc["7928107", "logFC"] == -0.89165625
    assert tab.loc["7928107", "P.Value"] == 1.72e-07
    assert tab.loc["8141803", "Gene.symbol"] == "RASA4CP///RASA4"
    assert pd.isna(tab.loc["7905043", "Gene.symbol"])  # empty cells become missing text
    assert tab.meta["format"] == "GEO2R export"
    assert tab.meta["missing"]["Gene.symbol"] == 59
    assert tab.contrast == "NASH-control"


def test_old_geo2r_group_line_gz_upper_exponent(data_dir):
    tab = read_table(data_dir / "geo2r_old_groupline.tsv.gz")
    ref = read_table(data_dir / "geo2r_GSE48452_top300.tsv")
    assert tab.meta["geo2r_groups"] == "0000000000000011111111111111XXXX"
    assert tab.meta["compression"] == "gzip"
    pd.testing.assert_frame_equal(pd.DataFrame(tab), pd.DataFrame(ref))


def test_deseq2_refused_by_default(data_dir):
    path = data_dir / "deseq2_top30_na10.csv"
    with pytest.raises(ValueError, match=r"is a DESeq2 results table.*kind='deseq2'") as err:
        read_table(path)
    assert "deseq2_top30_na10.csv" in str(err.value)
    assert "log2FoldChange→logFC" in str(err.value)


def test_deseq2_explicit_mapping(data_dir):
    tab = read_table(data_dir / "deseq2_top30_na10.csv", kind="deseq2")
    assert tab.shape == (40, 6)
    assert list(tab.columns) == ["logFC", "t", "P.Value", "adj.P.Val", "baseMean", "lfcSE"]
    assert tab.meta["mapped_from"] == "DESeq2"
    assert tab.meta["column_map"] == {
        "log2FoldChange": "logFC",
        "stat": "t",
        "pvalue": "P.Value",
        "padj": "adj.P.Val",
    }
    assert tab.loc["ENSG00000000003", "logFC"] == -0.381253887429319
    assert tab.meta["missing"]["adj.P.Val"] == 13  # NA cells counted (CRLF file)


def test_edger_refused_then_mapped(data_dir):
    path = data_dir / "edger_top40.csv"
    with pytest.raises(ValueError, match=r"is an edgeR results table.*kind='edger'"):
        read_table(path)
    tab = read_table(path, kind="edger")
    assert list(tab.columns) == ["logFC", "AveExpr", "P.Value", "adj.P.Val", "F"]
    assert tab.meta["mapped_from"] == "edgeR"
    assert tab.loc["ENSG00000120129", "logFC"] == -3.69300571900753
    assert tab.loc["ENSG00000120129", "F"] == 241.394443696976


def test_aliases_are_reported(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("gene,log2FC,pvalue,FDR,score\nA,1.5,0.01,0.02,3\nB,-2,0.5,0.6,1\n")
    with pytest.warns(
        ColumnAliasWarning, match=r"'log2FC' → 'logFC'.*'pvalue' → 'P.Value'.*'FDR' → 'adj.P.Val'"
    ):
        tab = read_table(path)
    assert list(tab.columns) == ["logFC", "P.Value", "adj.P.Val", "score"]
    assert tab.meta["column_map"] == {"log2FC": "logFC", "pvalue": "P.Value", "FDR": "adj.P.Val"}
    assert tab.index.name == "gene"


def test_ambiguous_alias_not_renamed(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("ID,logFC,FDR,q.value\nA,1,0.1,0.2\nB,2,0.2,0.3\n")
    with pytest.warns(ColumnAliasWarning, match="could each be the same limma column"):
        tab = read_table(path)
    assert "adj.P.Val" not in tab.columns
    assert {"FDR", "q.value"} <= set(tab.columns)


def test_exact_name_wins_over_alias(tmp_path):
    path = tmp_path / "t.tsv"
    path.write_text("ID\tlogFC\tP.Value\tpvalue\nA\t1\t0.1\t0.2\nB\t2\t0.2\t0.3\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tab = read_table(path)
    assert tab.loc["A", "P.Value"] == 0.1
    assert tab.loc["A", "pvalue"] == 0.2


def test_bom_crlf_na_and_leading_zeros(tmp_path):
    path = tmp_path / "t.csv"
    text = '\ufeff"",logFC,AveExpr,P.Value\r\n"00123",1.25,NA,0.5\r\n"0456",,3,\r\n'
    path.write_bytes(text.encode("utf-8"))
    tab = read_table(path)
    assert list(tab.index) == ["00123", "0456"]
    assert tab.loc["00123", "logFC"] == 1.25
    assert np.isnan(tab.loc["00123", "AveExpr"]) and np.isnan(tab.loc["0456", "logFC"])
    assert tab.meta["missing"] == {"logFC": 1, "AveExpr": 1, "P.Value": 1}
    assert tab.meta["encoding"] == "utf-8-sig"


def test_dataframe_input_and_plain_columns():
    df = pd.DataFrame({"gene": ["a", "b", "c"], "logFC": [1.0, 2.0, 3.0], "B": [0.1, 0.2, -3]})
    tab = read_table(df)
    assert list(tab.index) == ["a", "b", "c"]
    assert tab.index.name == "gene"
    df2 = df.set_index("gene")
    pd.testing.assert_frame_equal(pd.DataFrame(read_table(df2)), pd.DataFrame(tab))


def test_write_read_roundtrip(tmp_path, data_dir):
    tab = read_table(data_dir / "geo2r_GSE48452_top300.tsv")
    for name in ("out.tsv", "out.csv", "out.tsv.gz"):
        path = tab.write(tmp_path / name)
        back = read_table(path)
        pd.testing.assert_frame_equal(pd.DataFrame(back), pd.DataFrame(tab), check_exact=True)
    with gzip.open(tmp_path / "out.tsv.gz", "rt") as fh:
        assert fh.readline().startswith("ID\tlogFC\tt\t")


def test_write_is_atomic(tmp_path, monkeypatch, data_dir):
    tab = read_table(data_dir / "limma_voom_top200.csv")
    path = tmp_path / "table.tsv"
    path.write_text("old content\n")

    def boom(*args, **kwargs):
        raise OSError("disk full (injected)")

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(OSError, match="injected"):
        tab.write(path)
    assert path.read_text() == "old content\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table.tsv"]  # no temp file left


def test_detable_meta_survives_slicing_and_deep_copy(data_dir):
    tab = read_table(data_dir / "limma_voom_top200.csv", contrast="KO-WT")
    head = tab.head(5)
    assert isinstance(head, DETable) and head.contrast == "KO-WT"
    sig = tab.significant(0.05, lfc=1)
    assert isinstance(sig, DETable)
    assert (sig["adj.P.Val"] < 0.05).all() and (sig["logFC"].abs() >= 1).all()
    clone = tab.copy()
    clone.meta["contrast"] = "other"
    assert tab.contrast == "KO-WT"
    assert "DETable: 200 genes" in tab.summary()


# ---------------------------------------------------------------------------------------
# bad input: each error names the culprit
# ---------------------------------------------------------------------------------------


def _write(tmp_path: Path, text: str, name: str = "t.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_missing_file(tmp_path):
    with pytest.raises(ValueError, match=r"nope\.csv' does not exist") as err:
        read_table(tmp_path / "nope.csv")
    assert isinstance(err.value, FileNotFoundError)


def test_empty_file(tmp_path):
    with pytest.raises(ValueError, match=r"empty\.csv' is empty"):
        read_table(_write(tmp_path, "", "empty.csv"))


def test_header_only(tmp_path):
    with pytest.raises(ValueError, match="has a header line but no rows"):
        read_table(_write(tmp_path, "ID,logFC,P.Value\n"))


def test_no_de_columns(tmp_path):
    with pytest.raises(
        ValueError, match=r"no recognisable differential-expression columns.*'SRR1'"
    ):
        read_table(_write(tmp_path, "gene,SRR1,SRR2\nA,1,2\nB,3,4\n"))


def test_duplicate_gene_ids(tmp_path):
    path = _write(tmp_path, "ID,logFC\nA,1\nB,2\nA,3\nC,4\nB,5\n")
    with pytest.raises(
        ValueError, match=r"2 gene IDs occur more than once: 'A' \(lines 2, 4\), 'B' \(lines 3, 6\)"
    ):
        read_table(path)
    with pytest.warns(degbridge.DataWarning, match="duplicated gene IDs"):
        first = read_table(path, duplicates="first")
    assert list(first.index) == ["A", "B", "C"] and first.loc["A", "logFC"] == 1
    with pytest.warns(degbridge.DataWarning):
        mean = read_table(path, duplicates="mean")
    assert mean.loc["A", "logFC"] == 2 and mean.loc["B", "logFC"] == 3.5


def test_text_in_numeric_column(tmp_path):
    path = _write(tmp_path, "ID,logFC,P.Value\nA,1,0.1\nB,oops,0.2\n")
    with pytest.raises(
        ValueError,
        match=r"column 'logFC' must be numeric but has text at line 3 \(gene 'B'\): 'oops'",
    ):
        read_table(path)


def test_all_nan_column(tmp_path):
    with pytest.raises(ValueError, match=r"column 'AveExpr' has no values \(all missing\)"):
        read_table(_write(tmp_path, "ID,logFC,AveExpr\nA,1,NA\nB,2,\n"))


def test_pvalue_out_of_range(tmp_path):
    path = _write(tmp_path, "ID,logFC,P.Value\nA,1,0.5\nB,2,1.7\nC,3,-0.1\n")
    with pytest.raises(
        ValueError,
        match=r"'P.Value' holds P-values but 2 value\(s\) lie outside \[0, 1\], first at line 3 \(gene 'B'\): 1.7",
    ):
        read_table(path)


def test_truncated_row(tmp_path):
    path = _write(tmp_path, "ID,logFC,P.Value\nA,1,0.5\nB,2\n")
    with pytest.raises(ValueError, match=r"line 3 has 2 fields but the header has 3"):
        read_table(path)


def test_binary_file_named_csv(tmp_path):
    path = tmp_path / "results.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    with pytest.raises(ValueError, match=r"results\.csv' is a PNG image, not a text table"):
        read_table(path)


def test_unknown_kind_and_type():
    with pytest.raises(ValueError, match="kind must be"):
        read_table("x.csv", kind="voom")
    with pytest.raises(TypeError, match="not int"):
        read_table(42)


def test_excel_dates_warned(tmp_path):
    path = _write(tmp_path, "gene,logFC\nSEPT2,1\n1-Mar,2\n2-Sep,3\nTP53,4\n")
    with pytest.warns(ExcelDateWarning, match=r"2 gene IDs look like dates.*'1-Mar', '2-Sep'"):
        tab = read_table(path)
    assert "SEPT2" in tab.index  # a real gene name is not a date
