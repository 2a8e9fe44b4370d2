"""Benchmark run_deseq2 (and run_edger's QL test) against native R, and PyDESeq2 (issue 15).

On the airway counts bundled with degbridge (38,694 genes × 8 samples, design
``~ celltype + dex``, coefficient ``dextreated``), each round times, in alternating order:

* ``degbridge.run_deseq2`` end to end from a pandas DataFrame in a warm Python session (R
  started and DESeq2 loaded by a warm-up call);
* the same DESeq2 calls in a native R process, as the vignette writes them
  (``DESeqDataSetFromMatrix → DESeq → results → as.data.frame``, the last step being what
  the bridge must do to hand the table back), timed inside R with ``proc.time`` over exactly
  these steps. One ``Rscript`` process stays open for all rounds (it loads DESeq2 once and
  runs one untimed round first, as the warm Python session does) and runs a round each time
  Python asks;
* PyDESeq2 (``DeseqDataSet(design="~celltype + dex").deseq2()`` + ``DeseqStats(...)
  .summary()``, one CPU as R's ``DESeq`` uses one).

Then edgeR's QL pipeline (``DGEList → filterByExpr → calcNormFactors → estimateDisp →
glmQLFit → glmQLFTest → topTags``) the same way: ``run_edger`` against native R.

Reported: median wall, CPU and R garbage-collection times over rounds, and the median of
per-round ratios (target for run_deseq2 ÷ R: ≤ 1.2×). CPU time (``time.process_time`` of the
Python process, which runs the embedded R, against ``proc.time`` user + system inside the
native R) is the number to trust on a loaded machine: wall time there mostly measures the
other processes. Also: how far the tables are from R's: the largest relative difference
of ``log2FoldChange`` and ``padj`` over genes where both are present, the number of genes
whose ``padj`` is missing in one table only, and the genes called at FDR < 0.1 by one only.
PyDESeq2 is compared twice: with its own defaults (``alpha=0.05``) and with R's independent-
filtering setting (``alpha=0.1``).

    python benchmarks/bench_deseq2.py [--quick] [--rounds N] [--no-pydeseq2]

``--quick``: every 8th airway gene, 2 rounds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine

from degbridge.datasets import airway
from degbridge.de.deseq2 import run_deseq2
from degbridge.de.edger import native_columns, run_edger

# a persistent R process: one line on stdin = one timed round; "quit" ends it
NATIVE_R = r"""
suppressPackageStartupMessages({library(DESeq2); library(edgeR)})
args <- commandArgs(trailingOnly = TRUE)
counts <- as.matrix(read.delim(args[1], row.names = 1, check.names = FALSE))
s <- read.delim(args[2], row.names = 1, stringsAsFactors = TRUE)
write_full <- function(tt, path) {
  cols <- lapply(tt, function(x) sprintf("%.17g", x))
  out <- data.frame(gene = rownames(tt), cols, check.names = FALSE)
  write.table(out, path, sep = "\t", quote = FALSE, row.names = FALSE, na = "NA")
}
## one timed block: wall, CPU (user + system of this process) and GC seconds, from proc.time
timed <- function(expr) {
  g0 <- gc.time()[[1]]
  t0 <- proc.time()
  force(expr)
  t <- proc.time() - t0
  c(t[["elapsed"]], t[["user.self"]] + t[["sys.self"]], gc.time()[[1]] - g0)
}
deseq2_round <- function() {
  took <- timed({
    dds <- DESeqDataSetFromMatrix(countData = counts, colData = s, design = ~ celltype + dex)
    dds <- DESeq(dds, quiet = TRUE)
    res <- results(dds, name = "dex_treated_vs_control")
    tab <- as.data.frame(res)  # the table the bridge hands back, as the bridge builds it
  })
  write_full(tab, args[3])
  took
}
edger_round <- function() {
  took <- timed({
    design <- model.matrix(~ celltype + dex, data = s)
    y <- DGEList(counts)
    keep <- filterByExpr(y, design)
    y <- y[keep, , keep.lib.sizes = FALSE]
    y <- calcNormFactors(y)
    y <- estimateDisp(y, design, robust = TRUE)
    fit <- glmQLFit(y, design, robust = TRUE)
    tt <- topTags(glmQLFTest(fit, coef = "dextreated"), n = Inf)$table
  })
  write_full(tt, args[4])
  took
}
con <- file("stdin")
open(con)
cat("READY\n"); flush(stdout())
repeat {
  cmd <- readLines(con, n = 1)
  if (length(cmd) == 0 || cmd == "quit") break
  took <- if (cmd == "deseq2") deseq2_round() else edger_round()
  cat("SECONDS", sprintf("%.6f", took), "\n"); flush(stdout())  # wall, CPU, GC
}
"""


class NativeR:
    """One Rscript process serving timed rounds on request."""

    def __init__(self, folder: Path, counts: pd.DataFrame, samples: pd.DataFrame):
        counts.astype(int).to_csv(folder / "counts.tsv", sep="\t")
        samples.to_csv(folder / "samples.tsv", sep="\t")
        (folder / "native.R").write_text(NATIVE_R)
        self.deseq2_out, self.edger_out = folder / "r_deseq2.tsv", folder / "r_edger.tsv"
        self.proc = subprocess.Popen(
            ["Rscript", "--vanilla", str(folder / "native.R"), str(folder / "counts.tsv"),
             str(folder / "samples.tsv"), str(self.deseq2_out), str(self.edger_out)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        self._expect("READY")

    def _expect(self, word: str) -> str:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith(word):
                return line
        msg = f"the native Rscript ended before printing {word} (exit {self.proc.wait()})"
        raise RuntimeError(msg)

    def run(self, what: str) -> tuple[float, float, float]:
        """One timed round in R: (wall, CPU, GC) seconds."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(what + "\n")
        self.proc.stdin.flush()
        wall, cpu, gc = (float(v) for v in self._expect("SECONDS").split()[1:4])
        return wall, cpu, gc

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
        self.proc.wait(timeout=60)


def read_r(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", index_col=0, float_precision="round_trip",
                       keep_default_na=False, na_values=["NA"]).rename_axis(None)  # fmt: skip


def pydeseq2_run(counts: pd.DataFrame, samples: pd.DataFrame, alpha: float) -> pd.DataFrame:
    from pydeseq2.dds import DeseqDataSet
    from pydeseq2.default_inference import DefaultInference
    from pydeseq2.ds import DeseqStats

    inference = DefaultInference(n_cpus=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its own notes about all-zero genes etc.
        dds = DeseqDataSet(
            counts=counts.T.astype(int), metadata=samples, design="~celltype + dex",
            inference=inference, quiet=True,
        )  # fmt: skip
        dds.deseq2()
        stats = DeseqStats(
            dds, contrast=["dex", "treated", "control"], alpha=alpha, inference=inference,
            quiet=True,
        )  # fmt: skip
        stats.summary()
    return stats.results_df


def differences(ours: pd.DataFrame, r: pd.DataFrame, lfc: str, padj: str, fdr=0.1) -> dict:
    """Largest relative differences from R's table, NA mismatches, discordant calls at fdr."""
    ours = ours.reindex(r.index)
    out = {}
    for col, rcol in ((lfc, "log2FoldChange"), (padj, "padj")):
        a, b = ours[col].to_numpy(float), r[rcol].to_numpy(float)
        ok = ~np.isnan(a) & ~np.isnan(b) & (b != 0)
        rel = np.abs(a[ok] - b[ok]) / np.abs(b[ok])
        out[f"max_rel_{rcol}"] = float(rel.max()) if rel.size else float("nan")
        out[f"median_rel_{rcol}"] = float(np.median(rel)) if rel.size else float("nan")
    a, b = ours[padj].to_numpy(float), r["padj"].to_numpy(float)
    out["padj_na_differs"] = int((np.isnan(a) != np.isnan(b)).sum())
    out["padj_na_ours"], out["padj_na_r"] = int(np.isnan(a).sum()), int(np.isnan(b).sum())
    out["called_differs"] = int(((np.nan_to_num(a, nan=1) < fdr) != (np.nan_to_num(b, nan=1) < fdr)).sum())  # fmt: skip
    out["called_r"] = int((np.nan_to_num(b, nan=1) < fdr).sum())
    return out


def show(name: str, d: dict) -> None:
    print(f"  {name}: max rel. diff log2FoldChange {d['max_rel_log2FoldChange']:.3g} "
          f"(median {d['median_rel_log2FoldChange']:.3g}), padj {d['max_rel_padj']:.3g} "
          f"(median {d['median_rel_padj']:.3g}); padj NA in one only: {d['padj_na_differs']} "
          f"(NA: {d['padj_na_ours']} vs R {d['padj_na_r']}); called at FDR<0.1 by one only: "
          f"{d['called_differs']} of R's {d['called_r']}")  # fmt: skip


def r_gc_time() -> float:
    """Seconds the embedded R has spent in garbage collection so far (R's gc.time())."""
    from degbridge import r

    with r.R_LOCK:
        return float(r.session().ri.baseenv["gc.time"]()[0])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="every 8th gene, 2 rounds")
    parser.add_argument("--rounds", type=int, default=None, help="rounds (default 3; 2 quick)")
    parser.add_argument("--no-pydeseq2", action="store_true", help="skip PyDESeq2")
    args = parser.parse_args()
    counts, samples = airway()
    rounds = args.rounds or (2 if args.quick else 3)
    if args.quick:
        counts = counts.iloc[::8]
    print(machine())
    have_py = not args.no_pydeseq2
    if have_py:
        try:
            import pydeseq2
        except ImportError:
            print("PyDESeq2 not installed (pip install pydeseq2): skipped")
            have_py = False
        else:
            print(f"PyDESeq2 {pydeseq2.__version__}")
    print(f"airway: {counts.shape[0]:,} genes × {counts.shape[1]} samples, ~ celltype + dex")

    def ours_deseq2():
        return run_deseq2(counts, samples=samples, design="~ celltype + dex", coef="dextreated")

    def ours_edger():
        return run_edger(counts, samples=samples, design="~ celltype + dex", coef="dextreated")

    t0 = time.perf_counter()
    warm = ours_deseq2()  # starts R and loads DESeq2 (and checks the installation)
    ours_edger()
    print(f"degbridge warm-up (R start-up, DESeq2/edgeR loading, one run each): "
          f"{time.perf_counter() - t0:.1f} s; DESeq2 {warm.meta['versions']['DESeq2']}, "
          f"edgeR {warm.meta['versions']['edgeR']}")  # fmt: skip
    times: dict[str, list[float]] = {}  # side -> wall seconds per round; side_cpu, side_gc

    def record(side: str, wall: float, cpu: float, gc: float) -> None:
        for key, value in ((side, wall), (f"{side}_cpu", cpu), (f"{side}_gc", gc)):
            times.setdefault(key, []).append(value)

    def ours_timed(side: str, fn):
        """fn() in this process: wall, CPU (every thread of the process, R's included), GC."""
        g0, c0, t0 = r_gc_time(), time.process_time(), time.perf_counter()
        out = fn()
        record(side, time.perf_counter() - t0, time.process_time() - c0, r_gc_time() - g0)
        return out

    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp:
        native = NativeR(Path(tmp), counts, samples)
        try:
            # untimed: R's first DESeq/edgeR calls pay lazy loading and S4 method caching,
            # which the degbridge warm-up above paid on the Python side
            native.run("deseq2")
            native.run("edger")
            for k in range(rounds):
                sides = ["py", "r", "pyd"] if have_py else ["py", "r"]
                if k % 2:
                    sides.reverse()
                for side in sides:
                    if side == "py":
                        ours = ours_timed("py", ours_deseq2)
                    elif side == "r":
                        record("r", *native.run("deseq2"))
                    else:
                        pyd = ours_timed("pyd", lambda: pydeseq2_run(counts, samples, alpha=0.1))
                for side in ("py", "r") if k % 2 == 0 else ("r", "py"):
                    if side == "py":
                        ours_e = ours_timed("edger_py", ours_edger)
                    else:
                        record("edger_r", *native.run("edger"))
                line = (f"  round {k + 1}: DESeq2 degbridge {times['py'][-1]:.1f} s "
                        f"(CPU {times['py_cpu'][-1]:.2f}), R {times['r'][-1]:.1f} s "
                        f"(CPU {times['r_cpu'][-1]:.2f})")  # fmt: skip
                if have_py:
                    line += f", PyDESeq2 {times['pyd'][-1]:.1f} s"
                line += (f" | edgeR QL degbridge {times['edger_py'][-1]:.2f} s (CPU "
                         f"{times['edger_py_cpu'][-1]:.2f}), R {times['edger_r'][-1]:.2f} s "
                         f"(CPU {times['edger_r_cpu'][-1]:.2f})")  # fmt: skip
                print(line, flush=True)
            r_deseq2, r_edger = read_r(native.deseq2_out), read_r(native.edger_out)
        finally:
            native.close()
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    med = statistics.median

    def ratio(a: str, b: str) -> str:
        rs = [x / y for x, y in zip(times[a], times[b], strict=True)]
        return f"{med(rs):.2f}× (rounds {min(rs):.2f}-{max(rs):.2f})"

    def row(label: str, side: str) -> None:
        print(f"  {label:<34}{med(times[side]):8.2f} s wall {med(times[side + '_cpu']):8.2f} s "
              f"CPU {med(times[side + '_gc']):6.2f} s GC")  # fmt: skip

    print(f"\nmedians over {rounds} alternating rounds (DESeqDataSetFromMatrix → DESeq → results"
          " → as.data.frame on both sides; CPU = user + system time of the process):")  # fmt: skip
    row("run_deseq2 (end to end)", "py")
    row("native R DESeq2", "r")
    print(f"  ratio run_deseq2 ÷ R: CPU {ratio('py_cpu', 'r_cpu')}, wall {ratio('py', 'r')}; "
          "target ≤ 1.2×")  # fmt: skip
    if have_py:
        row("PyDESeq2 (1 CPU)", "pyd")
        print(f"  ratio PyDESeq2 ÷ R: CPU {ratio('pyd_cpu', 'r_cpu')}, wall {ratio('pyd', 'r')}")
    row("run_edger QL (end to end)", "edger_py")
    row("native R edgeR QL", "edger_r")
    print(f"  ratio run_edger ÷ R: CPU {ratio('edger_py_cpu', 'edger_r_cpu')}, wall "
          f"{ratio('edger_py', 'edger_r')}")  # fmt: skip

    print("\nnumbers against R's:")
    show("degbridge run_deseq2", differences(native_columns(ours), r_deseq2, "log2FoldChange", "padj"))  # fmt: skip
    e = native_columns(ours_e)
    same = list(e.index) == list(r_edger.index) and np.allclose(
        e.to_numpy(float), r_edger.to_numpy(float), rtol=1e-10, atol=0
    )
    print(f"  degbridge run_edger QL: {'identical to R within 1e-10' if same else 'DIFFERENT'}")
    if have_py:
        show("PyDESeq2, alpha=0.1 (R's setting)", differences(pyd, r_deseq2, "log2FoldChange", "padj"))  # fmt: skip
        pyd05 = pydeseq2_run(counts, samples, alpha=0.05)
        show("PyDESeq2, its default alpha=0.05", differences(pyd05, r_deseq2, "log2FoldChange", "padj"))  # fmt: skip


if __name__ == "__main__":
    main()
