"""Benchmark degbridge's readers against pandas.read_csv (issue 17).

* ``read_matrix`` on a synthetic 60,000 × 200 count matrix TSV (~46 MB; negative-binomial
  counts, Ensembl-like IDs), plain and gzip-compressed;
* ``read_table`` on a 60,000-row limma topTable CSV written the way R's ``write.csv`` writes
  it (quoted header and row names, 15 significant digits, ``NA``): the real limma-voom table
  in ``benchmarks/data`` (18,911 genes) replicated with perturbed values.

Each is timed against ``pandas.read_csv`` with the C engine and ``float_precision=
"round_trip"`` (the correctly rounded parser; pandas' default parser misrounds ~8 % of the
values of real tables) on the same file, the two sides alternating in each round; the ratio
is the median over rounds (target ≤ 1.5×). The values read are checked identical.

    python benchmarks/bench_readers.py [--quick] [--rounds N]
"""

from __future__ import annotations

import argparse
import gc
import gzip
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine

from degbridge.io.matrix_reader import read_matrix
from degbridge.io.table_reader import read_table

HERE = Path(__file__).resolve().parent


def write_counts(path: Path, n_genes: int, n_samples: int) -> None:
    rng = np.random.default_rng(0)
    counts = rng.negative_binomial(2, 0.01, size=(n_genes, n_samples))
    ids = pd.Index([f"ENSG{i:011d}" for i in range(n_genes)], name="gene_id")
    frame = pd.DataFrame(counts, index=ids, columns=[f"S{j}" for j in range(n_samples)])
    frame.to_csv(path, sep="\t")


def write_toptable(path: Path, n_genes: int) -> None:
    src = pd.read_csv(
        HERE / "data" / "limma_voom_results.csv.gz", index_col=0, float_precision="round_trip"
    )
    rng = np.random.default_rng(1)
    parts, k = [], 0
    while sum(len(p) for p in parts) < n_genes:
        part = src.copy()
        if k:
            scale = 1 + rng.normal(0, 1e-3, (len(src), 1))  # one factor per gene
            part = part * scale
            part[["P.Value", "adj.P.Val"]] = part[["P.Value", "adj.P.Val"]].clip(0, 1)
            part.index = [f"{g}.{k}" for g in src.index]
        parts.append(part)
        k += 1
    top = pd.concat(parts).iloc[:n_genes]
    cols = [top[c].to_numpy() for c in top.columns]
    lines = ['"",' + ",".join(f'"{c}"' for c in top.columns)]
    for i, gene in enumerate(top.index):
        cells = ["NA" if np.isnan(c[i]) else f"{c[i]:.15g}" for c in cols]
        lines.append(f'"{gene}",' + ",".join(cells))
    path.write_text("\n".join(lines) + "\n")


def interleaved(ours, theirs, rounds: int) -> tuple[float, float, object, object]:
    a, b = [], []
    ra = rb = None
    for _ in range(rounds):
        gc.collect()
        t0 = time.perf_counter()
        ra = ours()
        a.append(time.perf_counter() - t0)
        gc.collect()
        t0 = time.perf_counter()
        rb = theirs()
        b.append(time.perf_counter() - t0)
    return statistics.median(a), statistics.median(b), ra, rb


def same_values(ours: pd.DataFrame, theirs: pd.DataFrame) -> bool:
    x = ours.to_numpy(dtype=np.float64)
    y = theirs.loc[:, list(ours.columns)].to_numpy(dtype=np.float64)
    both_nan = np.isnan(x) & np.isnan(y)
    return bool(np.all(both_nan | (x.view(np.int64) == y.view(np.int64))))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="20,000 rows, 3 rounds")
    ap.add_argument("--rounds", type=int, default=None)
    args = ap.parse_args()
    n_genes = 20_000 if args.quick else 60_000
    rounds = args.rounds or (3 if args.quick else 5)
    print(machine())
    print(f"{n_genes:,} rows, {rounds} interleaved rounds (medians)\n")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        counts = tmp / "counts.tsv"
        write_counts(counts, n_genes, 200)
        counts_gz = tmp / "counts.tsv.gz"
        counts_gz.write_bytes(gzip.compress(counts.read_bytes(), compresslevel=6))
        top = tmp / "toptable.csv"
        write_toptable(top, n_genes)

        def pandas_matrix(p):
            return lambda: pd.read_csv(
                p, sep="\t", index_col=0, engine="c", float_precision="round_trip"
            )

        jobs = [
            (f"read_matrix {n_genes:,} × 200 TSV", lambda: read_matrix(counts), pandas_matrix(counts), counts),
            (f"read_matrix {n_genes:,} × 200 TSV.gz", lambda: read_matrix(counts_gz), pandas_matrix(counts_gz), counts_gz),
            (
                f"read_table {n_genes:,}-row topTable CSV",
                lambda: read_table(top),
                lambda: pd.read_csv(top, index_col=0, engine="c", float_precision="round_trip"),
                top,
            ),
        ]  # fmt: skip
        for name, ours, theirs, path in jobs:
            t_ours, t_pd, r_ours, r_pd = interleaved(ours, theirs, rounds)
            ok = same_values(r_ours, r_pd)
            size = path.stat().st_size / 1e6
            rows.append((name, size, t_ours, t_pd, t_ours / t_pd, ok))
    print("| job | file MB | degbridge s | pandas round_trip s | ratio | values identical |")
    print("|---|---|---|---|---|---|")
    for name, size, a, b, ratio, ok in rows:
        print(f"| {name} | {size:.1f} | {a:.3f} | {b:.3f} | {ratio:.2f}× | {ok} |")
    worst = max(r[4] for r in rows)
    print(f"\nworst ratio {worst:.2f}× (target ≤ 1.5×)")


if __name__ == "__main__":
    main()
