"""Benchmark the limma bridge (issue 3).

At 20,000 genes × 100 samples (log-expression, two groups), one run measures:

* limma's own time inside R (lmFit + contrasts.fit + eBayes + topTable on a matrix in R);
* the bare rpy2 path: the matrix in through numpy2ri, the same limma calls, the table out as
  a numpy array;
* ``degbridge.run_limma`` from a pandas DataFrame (full result: sorted DETable with metadata);
* a native ``Rscript`` reading the same matrix from CSV with base ``read.csv`` and with
  ``data.table::fread`` (when installed), then the same limma calls.

Targets: run_limma ≤ 1.25× the bare rpy2 path; stretch: conversion overhead ≤ 10 % of limma's
own R time. Then, at 60,000 × 500, peak memory of run_limma relative to the matrix size (target
≤ 2.5×), beside native R's own peak for the same analysis.

    python benchmarks/bench_limma.py [--quick]
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import HERE, machine

R_FILE = HERE / "bench_limma.R"


def data(n_genes: int, n_samples: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(8, 1, size=(n_genes, n_samples))
    groups = np.array(["A", "B"])[np.arange(n_samples) % 2]
    X[: n_genes // 20, groups == "B"] += 1.0
    genes = [f"ENSG{i:011d}" for i in range(n_genes)]
    samples = [f"S{j:03d}" for j in range(n_samples)]
    return pd.DataFrame(X, index=genes, columns=samples), list(groups)


def speed(n_genes: int, n_samples: int, repeats: int) -> dict:
    import degbridge
    from degbridge import r

    s = r.session()
    ro = s.ro
    ro.r["source"](str(R_FILE))
    frame, groups = data(n_genes, n_samples)
    X = frame.to_numpy()

    from rpy2.robjects import numpy2ri
    from rpy2.robjects.conversion import localconverter

    with localconverter(ro.default_converter + numpy2ri.converter):
        rX_fixed = ro.conversion.py2rpy(X)
    design = ro.r["bench_design"](ro.StrVector(groups))
    fit_fn = ro.r["bench_limma_fit"]
    r_elapsed = ro.r(
        "function(E, d) system.time(bench_limma_fit(E, d$design, d$contrast))[['elapsed']]"
    )

    def r_own():  # limma's own time: the same calls on a matrix already in R, timed by R
        return float(r_elapsed(rX_fixed, design)[0])

    def bare():  # the bare rpy2 path: numpy2ri in, the same calls, the table out as an array
        with localconverter(ro.default_converter + numpy2ri.converter):
            rX = ro.conversion.py2rpy(X)
            tt = fit_fn(rX, design.rx2("design"), design.rx2("contrast"))
            return np.asarray(ro.r["as.matrix"](tt))

    def ours():  # degbridge.run_limma from the pandas DataFrame, full result
        return degbridge.run_limma(frame, groups=groups, contrast="B-A")

    def collect():
        gc.collect()
        ro.r["gc"]()

    # conversion alone: the matrix into R, and the result table back (as run_limma does them)
    from degbridge.limma import _frame

    prepared = r.to_dict(
        r.call(
            "degbridge_limma_de",
            r.float_matrix(X),
            design.rx2("design"),
            contrasts=design.rx2("contrast"),
        )
    )
    first_table = prepared["tables"][0]
    gene_list = list(frame.index)

    def conversion():
        t0 = time.perf_counter()
        r.float_matrix(frame.to_numpy(), has_nan=False)
        t1 = time.perf_counter()
        _frame(r, first_table, gene_list)
        return t1 - t0, time.perf_counter() - t1

    # interleaved: each repetition times every variant back to back, so drifts in machine
    # speed hit them alike; ratios are taken per repetition
    bare_out, tab = bare(), ours()
    rows, conv = [], []
    for _ in range(repeats):
        collect()
        r_t = r_own()
        collect()
        t0 = time.perf_counter()
        bare()
        b_t = time.perf_counter() - t0
        collect()
        t0 = time.perf_counter()
        ours()
        o_t = time.perf_counter() - t0
        rows.append((r_t, b_t, o_t))
        collect()
        conv.append(conversion())
    r_time, bare_time, ours_time = (statistics.median(col) for col in zip(*rows))
    ratio = statistics.median(o / b for _, b, o in rows)
    overhead = statistics.median((o - r_) / r_ for r_, _, o in rows)
    conv_in = statistics.median(c[0] for c in conv)
    conv_out = statistics.median(c[1] for c in conv)
    conv_share = statistics.median((c[0] + c[1]) / row[0] for c, row in zip(conv, rows))
    # same numbers (bare returns logFC, AveExpr, t, P.Value, adj.P.Val, B in input order)
    np.testing.assert_array_equal(tab.loc[frame.index, "t"].to_numpy(), bare_out[:, 2])

    # native Rscript reading a CSV
    native = {}
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "matrix.csv"
        frame.to_csv(csv)
        groups_file = Path(tmp) / "groups.txt"
        groups_file.write_text("\n".join(groups) + "\n")
        readers = ["base"]
        has_dt = subprocess.run(
            ["Rscript", "-e", "quit(status = !requireNamespace('data.table', quietly = TRUE))"],
            capture_output=True, check=False,
        ).returncode == 0  # fmt: skip
        if has_dt:
            readers.append("fread")
        for reader in readers:
            t0 = time.perf_counter()
            out = subprocess.run(
                ["Rscript", str(R_FILE), str(csv), str(groups_file), reader],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            wall = time.perf_counter() - t0
            fields = dict(kv.split("=") for kv in out.stdout.split())
            native[reader] = {k: float(v) for k, v in fields.items()} | {"wall": wall}
    return {
        "shape": [n_genes, n_samples],
        "r_time": r_time,
        "bare_rpy2": bare_time,
        "run_limma": ours_time,
        "ratio": ratio,
        "overhead": overhead,
        "conv_in": conv_in,
        "conv_out": conv_out,
        "conv_share": conv_share,
        "native": native,
    }


MEMORY_CODE = r"""
import json, sys, gc
from pathlib import Path
import numpy as np, pandas as pd
import degbridge
from degbridge import r

def status(key):
    line = next(l for l in Path("/proc/self/status").read_text().splitlines() if l.startswith(key))
    return int(line.split()[1]) * 1024

r.session()
gc.collect()
base = status("VmRSS:")
n_genes, n_samples = int(sys.argv[1]), int(sys.argv[2])
X = np.random.default_rng(0).standard_normal((n_genes, n_samples))
X += 8
frame = pd.DataFrame(X, copy=False)
groups = ["A", "B"] * (n_samples // 2)
Path("/proc/self/clear_refs").write_text("5")  # reset the peak: data generation does not count
tab = degbridge.run_limma(frame, groups=groups, contrast="B-A")
print(json.dumps({"baseline": base, "peak": status("VmHWM:"), "matrix": X.nbytes,
                  "chunks": tab.meta.get("lmfit_chunks", 0)}))
"""


def memory(n_genes: int, n_samples: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", MEMORY_CODE, str(n_genes), str(n_samples)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    ours = json.loads(out.stdout.strip().splitlines()[-1])
    out = subprocess.run(
        ["Rscript", str(R_FILE), str(n_genes), str(n_samples), "memory"],
        capture_output=True,
        text=True,
        check=True,
    )
    native = {k: float(v) for k, v in (kv.split("=") for kv in out.stdout.split())}
    return {"degbridge": ours, "native_r": native}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    size = (2000, 20) if args.quick else (20000, 100)
    mem_size = (6000, 50) if args.quick else (60000, 500)
    print(machine())
    res = speed(*size, repeats=args.repeats)
    bare, ours, rt = res["bare_rpy2"], res["run_limma"], res["r_time"]
    print(
        f"\nlimma at {size[0]:,} genes × {size[1]} samples (medians of {args.repeats} interleaved repetitions):"
    )
    print(f"  limma's own time in R              {rt:7.3f} s")
    print(f"  bare rpy2 path (numpy2ri in/out)   {bare:7.3f} s   = {bare / rt:5.2f}× R")
    print(
        f"  degbridge.run_limma (pandas in)    {ours:7.3f} s   = {res['ratio']:5.2f}× bare rpy2 "
        "(median of per-repetition ratios; target ≤ 1.25)"
    )
    print(
        f"    conversion: matrix in {res['conv_in']:.3f} s + table out {res['conv_out']:.3f} s "
        f"= {res['conv_share']:.1%} of limma's R time (stretch ≤ 10 %)"
    )
    print(
        f"    everything beyond limma's R time (checks, design, conversion, sorting, metadata): "
        f"{ours - rt:.3f} s = {res['overhead']:.0%} of limma's R time"
    )
    for reader, t in res["native"].items():
        print(
            f"  native Rscript, {reader:5s}: read {t['read']:.3f} s + limma {t['limma']:.3f} s "
            f"(wall {t['wall']:.2f} s with R start) = {t['total'] / ours:5.2f}× run_limma"
        )
    mem = memory(*mem_size)
    d, n = mem["degbridge"], mem["native_r"]
    d_ratio = (d["peak"] - d["baseline"]) / d["matrix"]
    n_ratio = (n["peak"] - n["baseline"]) / n["matrix"]
    print(
        f"\npeak memory at {mem_size[0]:,} × {mem_size[1]} (matrix {d['matrix'] / 2**20:.0f} MiB) "
        "above the process before the matrix existed (the matrix itself counts once):"
    )
    print(
        f"  degbridge.run_limma   {(d['peak'] - d['baseline']) / 2**20:6.0f} MiB = {d_ratio:4.2f}× the matrix "
        f"(target ≤ 2.5; lmFit in {d['chunks']} gene chunks)"
    )
    print(
        f"  native R, same limma  {(n['peak'] - n['baseline']) / 2**20:6.0f} MiB = {n_ratio:4.2f}× the matrix"
    )


if __name__ == "__main__":
    main()
