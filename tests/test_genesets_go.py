"""GO gene sets (gene_sets("GO:BP")) and camera/fry on them against limma in a native Rscript.

The native script builds the sets as GO users write it, independently of degbridge's SQL:
``AnnotationDbi::toTable(org.Hs.egGO2ALLEGS)`` split by term, the ontology from GO.db, the size filter on
the distinct Entrez IDs, ``mapIds`` from the fit's Ensembl IDs (or symbols) to Entrez IDs, and
``ids2indices``; then ``camera(v, idx, design, contrast)`` and ``fry(...)`` on airway through
voom, as in limma's User's Guide. (ALL's hgu95av2 probes would need hgu95av2.db, which Debian
does not package here; airway's Ensembl IDs are mapped through org.Hs.eg.db instead.)
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from degbridge import RNotAvailableError, fit_limma, gene_sets
from degbridge.de.genesets import map_sets

from .conftest import assert_same_table, read_full, run_rscript

pytestmark = pytest.mark.r

SYMBOLS = ["TP53", "BRCA1", "EGFR", "MYC", "GAPDH", "ACTB", "CDK1", "NOT_A_GENE", "FKBP5"]

NATIVE = r"""
suppressPackageStartupMessages({library(org.Hs.eg.db); library(GO.db)})
write_sets <- function(sets, path)
  writeLines(paste(names(sets), vapply(sets, function(x) paste(sort(x), collapse = ","), ""),
                   sep = "\t"), path)

## every GO term -> Entrez genes annotated to it or its descendants (the GO2ALLEGS map as
## a table, split by term: the same sets as as.list(org.Hs.egGO2ALLEGS), in a third of the time)
tab <- AnnotationDbi::toTable(org.Hs.egGO2ALLEGS)
go <- split(tab$gene_id, tab$go_id)
ont <- Ontology(names(go))
for (o in c("BP", "MF", "CC")) {
  s <- lapply(go[!is.na(ont) & ont == o], unique)
  write.table(data.frame(id = names(s), size = lengths(s)), paste0("sizes_", o, ".tsv"),
              sep = "\t", quote = FALSE, row.names = FALSE)
}
bp <- lapply(go[!is.na(ont) & ont == "BP"], unique)
bp <- bp[lengths(bp) >= 10 & lengths(bp) <= 500]
write_sets(bp, "bp_members.tsv")

## airway through voom (limma User's Guide, RNA-seq chapter)
counts <- as.matrix(read.delim("airway_counts.tsv", row.names = 1, check.names = FALSE))
s <- read.delim("airway_samples.tsv", row.names = 1)
design <- model.matrix(~ celltype + dex, data = s)
dge <- DGEList(counts)
keep <- filterByExpr(dge, design = design)
dge <- calcNormFactors(dge[keep, , keep.lib.sizes = FALSE])
v <- voom(dge, design)
entrez <- mapIds(org.Hs.eg.db, keys = rownames(v), column = "ENTREZID", keytype = "ENSEMBL")
idx <- ids2indices(bp, entrez)
write_sets(idx, "airway_index.tsv")
write_full(camera(v, idx, design, contrast = ncol(design)), "camera_go.tsv")
## the slower tests on the first 400 sets (by GO ID) of the size-filtered BP sets
sub <- ids2indices(bp[sort(names(bp))[1:400]], entrez)
write_full(camera(v, sub, design, contrast = ncol(design), inter.gene.cor = NA),
           "camera_go_est.tsv")
write_full(fry(v, sub, design, contrast = ncol(design)), "fry_go.tsv")

sym <- readLines("symbols.txt")
write_sets(ids2indices(bp, mapIds(org.Hs.eg.db, keys = sym, column = "ENTREZID",
                                  keytype = "SYMBOL")), "symbol_index.tsv")
"""


def _read_sets(path) -> dict[str, list[str]]:
    out = {}
    for line in path.read_text().splitlines():
        name, _, members = line.partition("\t")
        out[name] = members.split(",") if members else []
    return out


@pytest.fixture(scope="module")
def native(tmp_path_factory, airway):
    d = tmp_path_factory.mktemp("native_go")
    counts, samples = airway
    counts.astype(int).to_csv(d / "airway_counts.tsv", sep="\t")
    samples.to_csv(d / "airway_samples.tsv", sep="\t")
    (d / "symbols.txt").write_text("\n".join(SYMBOLS) + "\n")
    run_rscript(NATIVE, d)
    return d


@pytest.fixture(scope="module")
def bp():
    return gene_sets("GO:BP", species="human", min_size=10, max_size=500)


@pytest.fixture(scope="module")
def airway_fit(airway):
    counts, samples = airway
    return fit_limma(counts, samples=samples, design="~ celltype + dex")


def _same_by_set(ours: pd.DataFrame, theirs: pd.DataFrame) -> None:
    """Same sets, each with the same numbers (to 1e-10) and direction; ours sorted by p."""
    assert sorted(ours.index) == sorted(theirs.index)
    assert ours["PValue"].is_monotonic_increasing
    ours = ours.reindex(theirs.index)
    numeric = [c for c in theirs.columns if pd.api.types.is_numeric_dtype(theirs[c])]
    assert_same_table(ours, theirs, rtol=1e-10, columns=numeric)
    assert list(ours["Direction"]) == list(theirs["Direction"])


def test_go_sets_equal_go2allegs_for_every_ontology(native, bp):
    for ontology in ("BP", "MF", "CC"):
        theirs = pd.read_csv(native / f"sizes_{ontology}.tsv", sep="\t", index_col=0)["size"]
        ours = gene_sets(f"GO:{ontology}").describe().set_index("ID")["size"]
        assert sorted(ours.index) == sorted(theirs.index), ontology
        pd.testing.assert_series_equal(
            ours.reindex(theirs.index), theirs, check_names=False, check_index_type=False
        )
    theirs = _read_sets(native / "bp_members.tsv")
    assert sorted(bp) == sorted(theirs)
    for name, members in theirs.items():
        assert sorted(bp[name]) == members, name
    table = bp.describe()
    assert list(table.columns) == ["ID", "Term", "size"]
    term = table.set_index("ID")["Term"]
    assert term["GO:0000002"] == "mitochondrial genome maintenance"
    assert bp.meta["ontology"] == "GO:BP" and bp.meta["n_sets"] == len(bp)


def test_index_equals_ids2indices(native, bp, airway_fit):
    theirs = _read_sets(native / "airway_index.tsv")
    index, report = map_sets(bp, airway_fit.genes)
    assert sorted(index) == sorted(theirs)
    for name, rows in index.items():
        assert np.all(np.diff(rows) > 0)  # row order, as ids2indices
        assert rows.tolist() == sorted(int(r) for r in theirs[name]), name
    assert report["fit_id_type"] == "ENSEMBL" and report["set_id_type"] == "ENTREZID"
    assert report["n_genes"] == len(airway_fit.genes)
    assert 0.9 < report["gene_mapping_rate"] <= 1
    assert report["n_sets"] == len(bp) and report["n_sets_mapped"] == len(theirs)
    # symbols: mapped through org.Hs.eg.db's SYMBOL keys
    sym_index, sym_report = map_sets(bp, SYMBOLS)
    theirs = _read_sets(native / "symbol_index.tsv")
    assert {k: v.tolist() for k, v in sym_index.items()} == {
        k: sorted(int(r) for r in v) for k, v in theirs.items()
    }
    assert sym_report["fit_id_type"] == "SYMBOL"
    assert sym_report["n_genes_mapped"] == len(SYMBOLS) - 1


def test_camera_fry_go_equal_native(native, bp, airway_fit):
    cam = airway_fit.camera(bp, coef="dextreated")
    _same_by_set(cam, read_full(native / "camera_go.tsv"))
    assert cam.attrs["n_sets_mapped"] == len(cam)
    sub = copy.deepcopy(bp)  # the first 400 sets by GO ID, as the native script takes them
    for name in sorted(sub)[400:]:
        del sub[name]
    est = airway_fit.camera(sub, coef="dextreated", inter_gene_cor=None)
    _same_by_set(est, read_full(native / "camera_go_est.tsv"))
    fr = airway_fit.fry(sub, coef="dextreated")
    _same_by_set(fr, read_full(native / "fry_go.tsv"))


def test_bad_go_names_and_species():
    with pytest.raises(ValueError, match=r"GO:XX.*GO:BP.*GO:MF.*GO:CC"):
        gene_sets("GO:XX")
    with pytest.raises(ValueError, match=r"'yeast'.*human"):
        gene_sets("GO:BP", species="yeast")
    from degbridge.r import package_installed

    if package_installed("org.Mm.eg.db"):
        pytest.skip("org.Mm.eg.db is installed here")
    with pytest.raises(RNotAvailableError, match=r"org\.Mm\.eg\.db.*r-bioc-org\.mm\.eg\.db"):
        gene_sets("GO:BP", species="mouse")


def test_no_overlap_names_both_id_types(bp):
    probes = ["1000_at", "1001_at", "1002_f_at", "1003_s_at"]
    with pytest.raises(ValueError, match=r"Entrez IDs.*Affymetrix probe.*0 of them"):
        map_sets(bp, probes)
    # exact-match sets (dict) against the wrong ID type: both types named
    with pytest.raises(ValueError, match=r"Entrez \(numeric\) IDs.*Ensembl gene IDs"):
        map_sets({"s": ["7157", "672"]}, ["ENSG00000141510", "ENSG00000012048"])
