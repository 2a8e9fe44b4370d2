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
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import HERE, machine, median_time

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

    # limma's own time in R, on a matrix already in R
    from rpy2.robjects import numpy2ri
    from rpy2.robjects.conversion import localconverter

    with localconverter(ro.default_converter + numpy2ri.converter):
        rX = ro.conversion.py2rpy(X)
    r_time = float(ro.r["bench_r_time"](rX, ro.StrVector(groups), repeats)[0])
    del rX

    # the bare rpy2 path: numpy2ri in, the same calls, the table out as an array
    design = ro.r["bench_design"](ro.StrVector(groups))
    fit_fn = ro.r["bench_limma_fit"]

    def bare():
        with localconverter(ro.default_converter + numpy2ri.converter):
            rX = ro.conversion.py2rpy(X)
            tt = fit_fn(rX, design.rx2("design"), design.rx2("contrast"))
            return np.asarray(ro.r["as.matrix"](tt))

    bare_time, bare_out = median_time(bare, repeats)

    # degbridge.run_limma from the pandas DataFrame
    def ours():
        return degbridge.run_limma(frame, groups=groups, contrast="B-A")

    ours_time, tab = median_time(ours, repeats)
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
        "native": native,
    }


MEMORY_CODE = r"""
import json, sys, gc, resource
import numpy as np, pandas as pd, psutil
import degbridge
from degbridge import r
r.session()
gc.collect()
base = psutil.Process().memory_info().rss
n_genes, n_samples = int(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(0)
X = rng.normal(8, 1, size=(n_genes, n_samples))
frame = pd.DataFrame(X, copy=False)
groups = ["A", "B"] * (n_samples // 2)
tab = degbridge.run_limma(frame, groups=groups, contrast="B-A")
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"baseline": base, "peak": peak, "matrix": X.nbytes}))
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
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    size = (2000, 20) if args.quick else (20000, 100)
    mem_size = (6000, 50) if args.quick else (60000, 500)
    print(machine())
    res = speed(*size, repeats=args.repeats)
    bare, ours, rt = res["bare_rpy2"], res["run_limma"], res["r_time"]
    print(f"\nlimma at {size[0]:,} genes × {size[1]} samples (median of {args.repeats}):")
    print(f"  limma's own time in R              {rt:7.3f} s")
    print(f"  bare rpy2 path (numpy2ri in/out)   {bare:7.3f} s   = {bare / rt:5.2f}× R")
    print(
        f"  degbridge.run_limma (pandas in)    {ours:7.3f} s   = {ours / bare:5.2f}× bare rpy2 (target ≤ 1.25)"
    )
    print(
        f"  conversion overhead of run_limma   {ours - rt:7.3f} s   = {(ours - rt) / rt:5.1%} of R's time (stretch ≤ 10 %)"
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
        f"\npeak memory at {mem_size[0]:,} × {mem_size[1]} (matrix {d['matrix'] / 2**20:.0f} MiB), above the process baseline:"
    )
    print(
        f"  degbridge.run_limma   {(d['peak'] - d['baseline']) / 2**20:6.0f} MiB = {d_ratio:4.2f}× the matrix (target ≤ 2.5)"
    )
    print(
        f"  native R, same limma  {(n['peak'] - n['baseline']) / 2**20:6.0f} MiB = {n_ratio:4.2f}× the matrix"
    )


if __name__ == "__main__":
    main()
