"""gene_annotation: Bioconductor annotation through the bridge, checked against native Rscript
calls written the way AnnotationDbi's vignette writes them (mapIds / select per column)."""

from __future__ import annotations

import subprocess
import warnings

import numpy as np
import pandas as pd
import pytest

from degbridge import DataWarning, read_table
from degbridge.features.annotation import detect_keytype, gene_annotation

from .conftest import DATA, run_rscript


def _has_org_db() -> bool:
    try:
        out = subprocess.run(
            ["Rscript", "-e", 'cat(nzchar(system.file(package = "org.Hs.eg.db")))'],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.stdout.strip() == "TRUE"


needs_org = pytest.mark.skipif(
    not _has_org_db(), reason="R package org.Hs.eg.db missing (apt-get install r-bioc-org.hs.eg.db)"
)


def test_detect_keytype():
    assert detect_keytype(["ENSG00000120129", "ENSG00000146278.3", "x"]) == "ENSEMBL"
    assert detect_keytype(["1843", "10957"]) == "ENTREZID"
    assert detect_keytype(["DUSP1", "IER2"]) == "SYMBOL"
    with pytest.raises(ValueError, match="no gene IDs"):
        detect_keytype([])


@pytest.mark.parametrize(
    ("kwargs", "err", "match"),
    [
        ({"species": "martian"}, ValueError, r"species 'martian' is not supported; supported: \['human'\]"),
        ({"keytype": "REFSEQ"}, ValueError, r"keytype 'REFSEQ' is not supported; use one of \['ENSEMBL'"),
    ],
)  # fmt: skip
def test_bad_arguments_name_the_valid_ones(kwargs, err, match):
    with pytest.raises(err, match=match):
        gene_annotation(["DUSP1"], **kwargs)


def test_bad_ids():
    with pytest.raises(TypeError, match="ids must be a sequence"):
        gene_annotation("DUSP1")
    with pytest.raises(ValueError, match=r"more than once, e.g. \['A'\]"):
        gene_annotation(["A", "B", "A"])


@pytest.mark.r
@needs_org
def test_annotation_equals_native_mapids(tmp_path):
    table = read_table(DATA / "limma_voom_every10th.csv")
    ids = [*table.index[:400], "ENSG99999999999", "ENSG00000000003.14"]
    ours = gene_annotation(ids)
    assert ours.attrs["keytype"] == "ENSEMBL" and ours.attrs["provenance"] == "external"
    assert ours.attrs["n_ids"] == 402
    assert list(ours.index) == ids
    pd.Series(ids).to_csv(tmp_path / "ids.txt", index=False, header=False)
    run_rscript(
        r"""
suppressPackageStartupMessages(library(org.Hs.eg.db))
ids <- readLines("ids.txt")
keys <- sub("\\..*$", "", ids)
entrez <- mapIds(org.Hs.eg.db, keys, "ENTREZID", "ENSEMBL", multiVals = "first")
sym <- mapIds(org.Hs.eg.db, keys, "SYMBOL", "ENSEMBL", multiVals = "first")
gt <- mapIds(org.Hs.eg.db, keys, "GENETYPE", "ENSEMBL", multiVals = "first")
e <- unname(entrez)
chr <- mapIds(org.Hs.eg.db, ifelse(is.na(e), "0", e), "CHR", "ENTREZID", multiVals = "first")
go <- suppressMessages(select(org.Hs.eg.db, unique(na.omit(e)), c("GO", "ONTOLOGY"), "ENTREZID"))
go <- unique(go[!is.na(go$GO) & go$ONTOLOGY == "BP", c("ENTREZID", "GO")])
nbp <- as.numeric(table(go$ENTREZID)[e]); nbp[is.na(nbp) & !is.na(e)] <- 0
out <- data.frame(id = ids, entrez = e, symbol = unname(sym), gene_type = unname(gt),
                  chromosome = ifelse(is.na(e), NA, unname(chr)), n_go_bp = nbp)
write.table(out, "native.tsv", sep = "\t", quote = FALSE, row.names = FALSE, na = "NA")
""",
        tmp_path,
    )
    native = pd.read_csv(tmp_path / "native.tsv", sep="\t", dtype=str, keep_default_na=False)
    native = native.set_index("id").replace("NA", None)
    for col in ("entrez", "symbol", "gene_type", "chromosome"):
        got = [
            None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
            for v in ours[col]
        ]
        assert got == list(native[col]), col
    np.testing.assert_array_equal(
        ours["n_go_bp"].to_numpy(), pd.to_numeric(native["n_go_bp"]).to_numpy()
    )
    # the unknown ID maps to nothing; the versioned one maps (version stripped)
    assert ours.loc["ENSG99999999999"].drop(["span"]).isna().all()
    assert ours.loc["ENSG00000000003.14", "symbol"] == "TSPAN6"
    assert set(ours["protein_coding"].dropna().unique()) <= {0.0, 1.0}
    assert (ours["span"].dropna() > 0).all()
    assert ours["entrez"].notna().sum() == ours.attrs["n_mapped"]


@pytest.mark.r
@needs_org
def test_few_ids_mapped_warns_with_examples():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = gene_annotation(
            ["probe_1", "probe_2", "probe_3", "DUSP1"] + [f"x{i}" for i in range(40)]
        )
    msgs = [str(w.message) for w in caught if issubclass(w.category, DataWarning)]
    assert msgs and "only 1 of 44 IDs mapped with keytype 'SYMBOL'" in msgs[0]
    assert "'probe_1'" in msgs[0]
    assert out.loc["DUSP1", "entrez"] == "1843"


@pytest.mark.r
def test_r_na_arrives_as_a_quiet_nan():
    # R's NA_real_ is a signalling NaN: summing it raised numpy's "invalid value" warning
    # (an error under pytest), e.g. in scikit-learn's finiteness check of annotation features
    from degbridge import r

    with r.R_LOCK:
        ri = r.session().ri
        v = r.to_numpy(ri.FloatSexpVector([1.0, ri.NA_Real]))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        assert np.isnan(np.sum(v))
    assert v[0] == 1.0


@pytest.mark.r
def test_missing_annotation_package_names_the_debian_package(monkeypatch):
    from degbridge import RNotAvailableError, r

    monkeypatch.setattr(r, "package_installed", lambda name: False)
    with pytest.raises(
        RNotAvailableError, match=r"org.Hs.eg.db: apt-get install -y r-bioc-org.hs.eg.db"
    ):
        gene_annotation(["DUSP1", "IER2"])
