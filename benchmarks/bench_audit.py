"""Benchmark the leakage audit's cost inside the default comparison (issue 13).

Table: the real voom topTable (Speedsting/RNA-Seq-Analysis, 18,911 genes; ``--table`` to
choose another) resampled with replacement to 60,000 genes (new gene IDs), plus a few
per-gene feature columns: ``se`` (logFC / t, an ingredient of t), ``length`` and ``gc``
(random, unrelated to the target). Target ``B``, every other argument at its default
(13 models, 5-fold CV, permutation importances, ``leakage="flag"``).

Inside that one default run, two parts of the leakage handling are timed by wrapping the
library's own step functions (nothing else changes):

* the audit (``steps.audit_leakage``: known relations, |x| and monotone fits, one-feature
  trees, pair reconstructions), target ≤ 10 % of the comparison's time;
* the extra refits behind the three scores (``steps.feature_set_scores``: without flagged
  features, external only), reported beside it.

If the 60,000-gene default comparison took longer than ``--max-seconds`` (300), the run is
repeated at 20,000 genes and both are printed.

    python benchmarks/bench_audit.py [--quick] [--genes N] [--table CSV]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import HERE, machine

import degbridge
from degbridge.comparison import steps

SHARED = HERE.parents[1] / "shared" / "data" / "tables"
TABLE = SHARED / "Speedsting_RNA-Seq-Analysis_limma_voom_results.csv"
FALLBACK = HERE / "data" / "limma_voom_results.csv.gz"  # the same table, bundled


def resampled(path: Path, n: int, seed: int = 0) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", degbridge.DegbridgeWarning)
        real = pd.DataFrame(degbridge.read_table(path))
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, len(real), n)
    table = real.iloc[rows].reset_index(drop=True)
    table.index = pd.Index([f"G{i:06d}" for i in range(n)], name="gene")
    table["se"] = table["logFC"] / table["t"]
    table["length"] = rng.lognormal(7.5, 0.8, n)
    table["gc"] = rng.uniform(0.35, 0.65, n)
    return table


class Timed:
    """Wrap a function of ``steps`` and add up the time spent in it."""

    def __init__(self, name: str):
        self.name, self.seconds, self.calls = name, 0.0, 0
        self.original = getattr(steps, name)

    def __enter__(self):
        def wrapper(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return self.original(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - t0
                self.calls += 1

        setattr(steps, self.name, wrapper)
        return self

    def __exit__(self, *exc):
        setattr(steps, self.name, self.original)


def measure(table: pd.DataFrame) -> float:
    with (
        Timed("audit_leakage") as audit,
        Timed("feature_set_scores") as sets,
        warnings.catch_warnings(record=True) as caught,
    ):
        warnings.simplefilter("always")
        t0 = time.perf_counter()
        res = degbridge.compare(table, target="B", progress=False)
        total = time.perf_counter() - t0
    assert audit.calls == 1 and sets.calls == 1
    flagged = list(res.leakage.index[res.leakage["flagged"]])
    honest = res.honest_score
    print(f"  {len(table):,} genes, {len(res.features)} features: default compare "
          f"{total:6.1f} s (best {res.best.name})")  # fmt: skip
    print(f"    audit (steps.audit_leakage):                 {audit.seconds:6.2f} s = "
          f"{100 * audit.seconds / total:5.1f} % of the comparison (target ≤ 10 %)")  # fmt: skip
    print(f"    three-score refits (steps.feature_set_scores): {sets.seconds:6.2f} s = "
          f"{100 * sets.seconds / total:5.1f} %")  # fmt: skip
    print(f"    audit + three-score refits:                   "
          f"{100 * (audit.seconds + sets.seconds) / total:5.1f} %")  # fmt: skip
    print(f"    flagged {flagged}; most honest score: {honest.name} "
          f"(CV R² {honest['cv_r2_mean']:.3f}); {len(caught)} warnings")  # fmt: skip
    return total


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="3,000 genes, a smoke run")
    parser.add_argument("--genes", type=int, default=60_000)
    parser.add_argument("--table", type=Path, default=TABLE if TABLE.exists() else FALLBACK)
    parser.add_argument("--max-seconds", type=float, default=300.0)
    args = parser.parse_args()
    n = 3_000 if args.quick else args.genes
    print(machine())
    print(f"table: {args.table.name} resampled to {n:,} genes + se, length, gc; target B")
    took = measure(resampled(args.table, n))
    if took > args.max_seconds and n > 20_000:
        print(f"  (over {args.max_seconds:.0f} s: again at 20,000 genes)")
        measure(resampled(args.table, 20_000))


if __name__ == "__main__":
    main()
