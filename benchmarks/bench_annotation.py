"""Benchmark gene annotation through the bridge against native R (issue 13).

60,000 real Ensembl gene IDs (the ENSEMBL keys of org.Hs.eg.db, read once through Rscript,
padded with the airway data set's gene IDs; versioned copies of airway IDs if that is still
short) are annotated by

* ``degbridge.gene_annotation(ids)`` in a warm Python session (R started, packages loaded by
  a warm-up call), and
* a native ``Rscript`` doing the same AnnotationDbi work on the same IDs (``mapIds`` to Entrez,
  ``toTable`` of GENENAME, SYMBOL, CHR, CHRLOC, CHRLOCEND and GO, ``select`` of GENETYPE,
  geneLenDataBase's transcript lengths), written out the way an R user writes it. Inside R
  two timings: the annotation alone (``system.time`` after the packages are loaded, the same
  warm state as degbridge's), and the whole process (start-up, package loading, reading the
  IDs), timed from Python.

The two sides alternate in each round; the ratios are medians over rounds (target ≤ 1.2×).
The outputs are checked equal (Entrez ID, symbol, span and GO counts per ID).

    python benchmarks/bench_annotation.py [--quick] [--rounds N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine

import degbridge
from degbridge.datasets import airway

N_IDS = 60_000

NATIVE_R = r"""
args <- commandArgs(trailingOnly = TRUE)
suppressPackageStartupMessages({
  library(AnnotationDbi)
  library(org.Hs.eg.db)
  library(geneLenDataBase)
})
ids <- readLines(args[1])
keys <- sub("\\..*$", "", ids)  # versioned Ensembl IDs: match without the version

annotate <- function(keys) {
  entrez <- unname(mapIds(org.Hs.eg.db, keys = keys, column = "ENTREZID", keytype = "ENSEMBL",
                          multiVals = "first"))
  first <- function(tab, key, value) {
    tab <- tab[!duplicated(tab[[key]]), , drop = FALSE]
    tab[[value]][match(entrez, tab[[key]])]
  }
  genename <- toTable(org.Hs.egGENENAME)
  symbol <- toTable(org.Hs.egSYMBOL)
  chr <- toTable(org.Hs.egCHR)
  chrloc <- toTable(org.Hs.egCHRLOC)
  chrlocend <- toTable(org.Hs.egCHRLOCEND)
  go <- toTable(org.Hs.egGO)
  loc <- merge(chrloc[!duplicated(chrloc$gene_id), c("gene_id", "start_location")],
               chrlocend[!duplicated(chrlocend$gene_id), c("gene_id", "end_location")],
               by = "gene_id")
  at <- match(entrez, loc$gene_id)
  gt <- select(org.Hs.eg.db, keys = unique(na.omit(entrez)), columns = "GENETYPE",
               keytype = "ENTREZID")
  n_go <- function(ont) {
    g <- unique(go[go$Ontology == ont, c("gene_id", "go_id")])
    n <- as.numeric(table(g$gene_id)[entrez])
    n[is.na(n) & !is.na(entrez)] <- 0
    n
  }
  e <- new.env()
  data("hg19.knownGene.LENGTH", package = "geneLenDataBase", envir = e)
  len <- e$hg19.knownGene.LENGTH
  med <- tapply(len$Length, as.character(len$Gene), median)
  data.frame(
    entrez = entrez,
    symbol = first(symbol, "gene_id", "symbol"),
    name = first(genename, "gene_id", "gene_name"),
    chromosome = first(chr, "gene_id", "chromosome"),
    gene_type = gt$GENETYPE[match(entrez, gt$ENTREZID)],
    span = abs(loc$end_location[at]) - abs(loc$start_location[at]) + 1,
    strand = sign(loc$start_location[at]),
    n_go_bp = n_go("BP"), n_go_mf = n_go("MF"), n_go_cc = n_go("CC"),
    tx_length = as.numeric(med[entrez])
  )
}

took <- system.time(res <- suppressMessages(annotate(keys)))[["elapsed"]]
cat("ANNOTATION_SECONDS", took, "\n")
write.table(res[, c("entrez", "symbol", "span", "n_go_bp", "n_go_mf", "n_go_cc")], args[2],
            sep = "\t", quote = FALSE, row.names = FALSE, na = "")
"""


def real_ids(n: int, folder: Path) -> list[str]:
    """org.Hs.eg.db's Ensembl keys (through Rscript), then airway IDs, then versioned copies."""
    keys_file = folder / "org_keys.txt"
    code = (
        "suppressPackageStartupMessages(library(org.Hs.eg.db)); "
        "writeLines(keys(org.Hs.eg.db, keytype = 'ENSEMBL'), commandArgs(TRUE)[1])"
    )
    subprocess.run(["Rscript", "-e", code, str(keys_file)], check=True)
    org = keys_file.read_text().split()
    counts, _ = airway()
    ids = list(dict.fromkeys([*org, *map(str, counts.index)]))
    n_org, n_union = len(org), len(ids)
    k = 0
    while len(ids) < n:  # versioned copies ("ENSG….1"): distinct strings, mapped without version
        ids.append(f"{counts.index[k]}.1")
        k += 1
    print(f"IDs: {n_org:,} org.Hs.eg.db ENSEMBL keys + {n_union - n_org:,} other airway IDs "
          f"+ {k:,} versioned airway IDs → {min(n, len(ids)):,}")  # fmt: skip
    return ids[:n]


def run_native(script: Path, ids_file: Path, out: Path) -> tuple[float, float]:
    """(annotation seconds inside R, whole Rscript process seconds)."""
    t0 = time.perf_counter()
    proc = subprocess.run(
        ["Rscript", str(script), str(ids_file), str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - t0
    line = next(x for x in proc.stdout.splitlines() if x.startswith("ANNOTATION_SECONDS"))
    return float(line.split()[1]), wall


def check_same(ours: pd.DataFrame, native_file: Path) -> str:
    native = pd.read_csv(native_file, sep="\t", dtype={"entrez": str, "symbol": str},
                         keep_default_na=False, na_values=[""])  # fmt: skip
    native.index = ours.index
    problems = []
    for col in ("entrez", "symbol"):
        a = ours[col].where(ours[col].notna(), None)
        b = native[col].where(native[col].notna(), None)
        if not (a.to_numpy() == b.to_numpy()).all():
            problems.append(col)
    for col in ("span", "n_go_bp", "n_go_mf", "n_go_cc"):
        if not np.allclose(ours[col].astype(float), native[col].astype(float), equal_nan=True):
            problems.append(col)
    return "identical" if not problems else f"DIFFERENT in {problems}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="6,000 IDs, 2 rounds")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    n, rounds = (6_000, 2) if args.quick else (N_IDS, args.rounds)
    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        ids = real_ids(n, folder)
        ids_file = folder / "ids.txt"
        ids_file.write_text("\n".join(ids) + "\n")
        script = folder / "annotate.R"
        script.write_text(NATIVE_R)
        out = folder / "native.tsv"
        t0 = time.perf_counter()
        ours = degbridge.gene_annotation(ids)  # warm-up: starts R, loads the packages
        print(f"degbridge first call (R start-up and package loading included): "
              f"{time.perf_counter() - t0:.1f} s; {ours.attrs['n_mapped']:,} of {n:,} IDs "
              f"mapped; {ours.attrs['versions']}")  # fmt: skip
        py_t, r_in, r_wall = [], [], []
        for k in range(rounds):
            order = ("py", "r") if k % 2 == 0 else ("r", "py")
            for side in order:
                if side == "py":
                    t0 = time.perf_counter()
                    ours = degbridge.gene_annotation(ids)
                    py_t.append(time.perf_counter() - t0)
                else:
                    inside, wall = run_native(script, ids_file, out)
                    r_in.append(inside)
                    r_wall.append(wall)
            print(f"  round {k + 1}: degbridge {py_t[-1]:.2f} s | Rscript annotation "
                  f"{r_in[-1]:.2f} s, whole process {r_wall[-1]:.2f} s")  # fmt: skip
        same = check_same(ours, out)
    med = statistics.median
    ratios_in = [p / r for p, r in zip(py_t, r_in, strict=True)]
    ratios_wall = [p / r for p, r in zip(py_t, r_wall, strict=True)]
    print(f"\n{n:,} Ensembl IDs, medians over {rounds} alternating rounds:")
    print(f"  degbridge.gene_annotation (warm session)        {med(py_t):6.2f} s")
    print(f"  native Rscript, annotation only (system.time)  {med(r_in):6.2f} s")
    print(f"  native Rscript, whole process                  {med(r_wall):6.2f} s")
    print(f"  ratio degbridge ÷ R annotation only: {med(ratios_in):.2f}× "
          f"(rounds {min(ratios_in):.2f}-{max(ratios_in):.2f}; target ≤ 1.2×)")  # fmt: skip
    print(f"  ratio degbridge ÷ whole Rscript:     {med(ratios_wall):.2f}× "
          f"(rounds {min(ratios_wall):.2f}-{max(ratios_wall):.2f})")  # fmt: skip
    print(f"  outputs (entrez, symbol, span, GO counts): {same}")


if __name__ == "__main__":
    main()
