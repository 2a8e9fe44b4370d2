"""Benchmark the limma fit object and GO camera (issue 14).

(a) **New contrast on a fit**: ``fit.test("dextreated")`` on an existing ``fit_limma`` of airway
    (voom) against a full ``run_limma(..., coef="dextreated")`` (filterByExpr, TMM, voom,
    lmFit and the test) on the same counts. Target ≤ 0.3×.
(b) **camera over all GO BP sets** (``gene_sets("GO:BP", min_size=10, max_size=500)``, ~6,500
    sets) on the airway voom fit: ``fit.camera(sets, coef="dextreated")`` in Python (timed
    whole: the mapping of the fit's Ensembl IDs to the sets' Entrez IDs, the conversion to R,
    camera, the table back) against ``camera(v, idx, design, contrast)`` in a native R
    process (``system.time`` around the camera call only; the sets built beforehand with
    ``AnnotationDbi::as.list(org.Hs.egGO2ALLEGS)``, ``mapIds`` and ``ids2indices`` as GO users
    write it). Target ≤ 1.2×.

The native R process stays up for the whole run and waits for a line on its standard input
before each round, so rounds alternate: Python, then R, then Python... Ratios are medians of
per-round ratios. The camera tables are checked equal (p-values to 1e-10 per set).

    python benchmarks/bench_fit.py [--quick] [--rounds N] [--reps N]
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

NATIVE_R = r"""
suppressPackageStartupMessages({library(limma); library(edgeR); library(org.Hs.eg.db)
                                library(GO.db)})
args <- commandArgs(trailingOnly = TRUE)
counts <- as.matrix(read.delim(args[1], row.names = 1, check.names = FALSE))
s <- read.delim(args[2], row.names = 1)
reps <- as.integer(args[3])
design <- model.matrix(~ celltype + dex, data = s)
dge <- DGEList(counts)
keep <- filterByExpr(dge, design = design)
dge <- calcNormFactors(dge[keep, , keep.lib.sizes = FALSE])
v <- voom(dge, design)
go <- AnnotationDbi::as.list(org.Hs.egGO2ALLEGS)
ont <- Ontology(names(go))
bp <- lapply(go[!is.na(ont) & ont == "BP"], unique)
bp <- bp[lengths(bp) >= 10 & lengths(bp) <= 500]
entrez <- mapIds(org.Hs.eg.db, keys = rownames(v), column = "ENTREZID", keytype = "ENSEMBL")
idx <- ids2indices(bp, entrez)
cat("READY", length(idx), "\n")
con <- file("stdin")
open(con)
while (length(line <- readLines(con, n = 1)) > 0 && line != "quit") {
  times <- numeric(reps)
  for (k in seq_len(reps)) {
    times[k] <- system.time(res <- camera(v, idx, design, contrast = ncol(design)))[["elapsed"]]
  }
  write.table(data.frame(set = rownames(res), p = sprintf("%.17g", res$PValue)), args[4],
              sep = "\t", quote = FALSE, row.names = FALSE)
  cat("TIMES", times, "\n")
}
"""


def _native(workdir: Path, reps: int) -> subprocess.Popen:
    script = workdir / "bench_camera.R"
    script.write_text(NATIVE_R)
    proc = subprocess.Popen(
        [
            "Rscript",
            "--vanilla",
            str(script),
            str(workdir / "counts.tsv"),
            str(workdir / "samples.tsv"),
            str(reps),
            str(workdir / "camera_r.tsv"),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline()
    if not line.startswith("READY"):
        msg = f"native R did not start: {line!r}"
        raise RuntimeError(msg)
    return proc


def _native_round(proc: subprocess.Popen) -> list[float]:
    proc.stdin.write("go\n")
    proc.stdin.flush()
    line = proc.stdout.readline()
    if not line.startswith("TIMES"):
        msg = f"native R failed: {line!r}"
        raise RuntimeError(msg)
    return [float(t) for t in line.split()[1:]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds, 1 repetition each")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--reps", type=int, default=None, help="camera calls per round")
    args = parser.parse_args()
    rounds = args.rounds or (3 if args.quick else 5)
    reps = args.reps or (1 if args.quick else 3)
    print(machine())
    counts, samples = airway()

    # (a) a new contrast on the fit vs a full run_limma
    fit = degbridge.fit_limma(counts, samples=samples, design="~ celltype + dex")
    fit.test("dextreated")  # warm-up
    ratios_a, t_test, t_full = [], [], []
    for _ in range(rounds):
        t0 = time.perf_counter()
        ours = fit.test("dextreated")
        t1 = time.perf_counter()
        full = degbridge.run_limma(
            counts, samples=samples, design="~ celltype + dex", coef="dextreated"
        )
        t2 = time.perf_counter()
        t_test.append(t1 - t0)
        t_full.append(t2 - t1)
        ratios_a.append((t1 - t0) / (t2 - t1))
    np.testing.assert_allclose(ours["t"], full.loc[ours.index, "t"], rtol=1e-10)
    print(
        f"(a) new contrast on the fit: fit.test {statistics.median(t_test):.3f} s, "
        f"run_limma {statistics.median(t_full):.3f} s, ratio {statistics.median(ratios_a):.2f}x "
        f"(target <= 0.3x; {rounds} rounds)"
    )

    # (b) camera over all GO BP sets
    sets = degbridge.gene_sets("GO:BP", species="human", min_size=10, max_size=500)
    with tempfile.TemporaryDirectory(prefix="bench_fit_") as tmp:
        work = Path(tmp)
        counts.astype(int).to_csv(work / "counts.tsv", sep="\t")
        samples.to_csv(work / "samples.tsv", sep="\t")
        proc = _native(work, reps)
        try:
            cam = fit.camera(sets, coef="dextreated")  # warm-up (maps the IDs once)
            ratios_b, t_py, t_r = [], [], []
            for _ in range(rounds):
                times = []
                for _ in range(reps):
                    t0 = time.perf_counter()
                    cam = fit.camera(sets, coef="dextreated")
                    times.append(time.perf_counter() - t0)
                r_times = _native_round(proc)
                py, rr = statistics.median(times), statistics.median(r_times)
                t_py.append(py)
                t_r.append(rr)
                ratios_b.append(py / rr)
            theirs = pd.read_csv(
                work / "camera_r.tsv", sep="\t", index_col=0, float_precision="round_trip"
            )["p"]
        finally:
            proc.stdin.write("quit\n")
            proc.stdin.flush()
            proc.wait(timeout=120)
    assert sorted(cam.index) == sorted(theirs.index)
    np.testing.assert_allclose(cam.loc[theirs.index, "PValue"], theirs, rtol=1e-10)
    print(
        f"(b) camera, {len(cam)} GO BP sets: degbridge {statistics.median(t_py):.3f} s, "
        f"native R {statistics.median(t_r):.3f} s, ratio {statistics.median(ratios_b):.2f}x "
        f"(target <= 1.2x; {rounds} rounds x {reps} calls; mapping "
        f"{100 * cam.attrs['gene_mapping_rate']:.1f}% of {cam.attrs['n_genes']} genes)"
    )


if __name__ == "__main__":
    main()
