"""Benchmark the limma bridge against R's own limma time (issue 17).

Each ratio is ``degbridge.run_limma`` ÷ the same limma calls timed inside a native ``Rscript``
(``bench_limma.R``: matrix already in R, one warm-up call, then timed calls), measured in the
same run, in interleaved rounds (one Rscript round, then one degbridge round, ...), as the
median of per-round ratios. Both wall-clock and CPU time are printed: the machine may be
shared, and CPU time is the steadier of the two.

* 20,000 × 100 log-expression, two groups, ``method="ls"`` (target ≤ 1.1×);
* voom on the airway counts (38,694 × 8, filterByExpr + TMM; target ≤ 1.05×);
* 60,000 × 500 log-expression (gene-chunked in degbridge): time (target ≤ 1.2×) and peak
  memory above the process before the call, beside native R's (target ≤ 0.1×);
* ``import degbridge`` (target ≤ 0.2 s; no pandas/scikit-learn/matplotlib/anndata/rpy2
  imported) and the first ``run_limma`` in a fresh process (R start-up + sourcing + call).

    python benchmarks/bench_limma.py [--quick] [--rounds N]
"""

from __future__ import annotations

import argparse
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
HEAVY = ("pandas", "sklearn", "matplotlib", "anndata", "rpy2", "scipy")


def log_data(n_genes: int, n_samples: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(8, 1, size=(n_genes, n_samples))
    groups = np.array(["A", "B"])[np.arange(n_samples) % 2]
    X[: n_genes // 20, groups == "B"] += 1.0
    genes = [f"ENSG{i:011d}" for i in range(n_genes)]
    samples = [f"S{j:03d}" for j in range(n_samples)]
    return pd.DataFrame(X, index=genes, columns=samples), list(groups)


def airway_data():
    from degbridge.datasets import airway

    counts, samples = airway()
    groups = ["B" if d == "treated" else "A" for d in samples["dex"]]
    return counts, groups


def _native_round(tmp: Path, frame: pd.DataFrame, groups, method: str, calls: int):
    """One Rscript round: per-call elapsed and CPU seconds of the limma calls, inside R."""
    data, labels = tmp / "x.bin", tmp / "groups.txt"
    if not data.exists():
        np.asfortranarray(frame.to_numpy(dtype=np.float64)).T.tofile(data)  # column-major
        labels.write_text("\n".join(groups) + "\n")
    args = [str(data), str(frame.shape[0]), str(frame.shape[1]), str(labels), method, str(calls)]
    out = subprocess.run(
        ["Rscript", str(R_FILE), "speed", *args], capture_output=True, text=True, check=True
    ).stdout
    fields = dict(kv.split("=") for kv in out.split())
    return [float(v) for v in fields["elapsed"].split(",")], [
        float(v) for v in fields["cpu"].split(",")
    ]


def speed(name: str, frame: pd.DataFrame, groups, method: str, rounds: int, calls: int) -> dict:
    """Interleaved rounds: Rscript (``calls`` timed calls), then run_limma ``calls`` times."""
    import degbridge

    def ours():
        return degbridge.run_limma(frame, groups=groups, contrast="B-A", method=method)

    ours()  # warm-up (R start-up, lazy loading), as the Rscript side warms up
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(rounds):
            r_el, r_cpu = _native_round(Path(tmp), frame, groups, method, calls)
            o_el, o_cpu = [], []
            for _ in range(calls):
                t0, c0 = time.perf_counter(), time.process_time()
                ours()
                o_el.append(time.perf_counter() - t0)
                o_cpu.append(time.process_time() - c0)
            med = statistics.median
            rows.append((med(r_el), med(r_cpu), med(o_el), med(o_cpu)))
    r_el, r_cpu, o_el, o_cpu = (statistics.median(c) for c in zip(*rows))
    return {
        "name": name,
        "r_elapsed": r_el,
        "r_cpu": r_cpu,
        "ours_elapsed": o_el,
        "ours_cpu": o_cpu,
        "ratio_elapsed": statistics.median(r[2] / r[0] for r in rows),
        "ratio_cpu": statistics.median(r[3] / r[1] for r in rows),
    }


MEMORY_CODE = r"""
import json, sys, gc, time
from pathlib import Path
import numpy as np, pandas as pd
import degbridge

def status(key):
    line = next(l for l in Path("/proc/self/status").read_text().splitlines() if l.startswith(key))
    return int(line.split()[1]) * 1024

n_genes, n_samples = int(sys.argv[1]), int(sys.argv[2])
X = np.random.default_rng(0).standard_normal((n_genes, n_samples))
X += 8
frame = pd.DataFrame(X, copy=False)
groups = ["A", "B"] * (n_samples // 2)
degbridge.run_limma(frame.iloc[:2000], groups=groups, contrast="B-A")  # warm-up, as R's
gc.collect()
base = status("VmRSS:")
Path("/proc/self/clear_refs").write_text("5")  # reset the peak: data generation does not count
t0, c0 = time.perf_counter(), time.process_time()
tab = degbridge.run_limma(frame, groups=groups, contrast="B-A")
print(json.dumps({"baseline": base, "peak": status("VmHWM:"), "matrix": X.nbytes,
                  "elapsed": time.perf_counter() - t0, "cpu": time.process_time() - c0,
                  "chunks": tab.meta.get("lmfit_chunks", 0)}))
"""


def memory(n_genes: int, n_samples: int, rounds: int) -> dict:
    """Interleaved fresh processes: native Rscript, then degbridge (time and peak memory)."""
    rows = []
    for _ in range(rounds):
        out = subprocess.run(
            ["Rscript", str(R_FILE), "memory", str(n_genes), str(n_samples)],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        native = {k: float(v) for k, v in (kv.split("=") for kv in out.split())}
        out = subprocess.run(
            [sys.executable, "-c", MEMORY_CODE, str(n_genes), str(n_samples)],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        ours = json.loads(out.strip().splitlines()[-1])
        rows.append((native, ours))
    med = statistics.median
    return {
        "r_elapsed": med(n["elapsed"] for n, _ in rows),
        "r_cpu": med(n["cpu"] for n, _ in rows),
        "ours_elapsed": med(o["elapsed"] for _, o in rows),
        "ours_cpu": med(o["cpu"] for _, o in rows),
        "ratio_elapsed": med(o["elapsed"] / n["elapsed"] for n, o in rows),
        "ratio_cpu": med(o["cpu"] / n["cpu"] for n, o in rows),
        "r_extra": med(n["peak"] - n["baseline"] for n, _ in rows),
        "ours_extra": med(o["peak"] - o["baseline"] for _, o in rows),
        "matrix": rows[0][1]["matrix"],
        "chunks": rows[0][1]["chunks"],
    }


IMPORT_CODE = """
import sys, time
t0 = time.perf_counter()
import degbridge
t = time.perf_counter() - t0
print(t, ",".join(m for m in sys.argv[1:] if m in sys.modules))
"""

FIRST_CALL_CODE = """
import time
t0 = time.perf_counter()
import numpy as np, pandas as pd
import degbridge
from degbridge import r
t1 = time.perf_counter()
r.session()
t2 = time.perf_counter()
X = np.random.default_rng(0).normal(8, 1, size=(2000, 8))
frame = pd.DataFrame(X, index=[f"g{i}" for i in range(2000)])
degbridge.run_limma(frame, groups=["A", "B"] * 4, contrast="B-A")
t3 = time.perf_counter()
degbridge.run_limma(frame, groups=["A", "B"] * 4, contrast="B-A")
t4 = time.perf_counter()
print(t1 - t0, t2 - t1, t3 - t2, t4 - t3)
"""


def startup(rounds: int) -> dict:
    imports, loaded, first = [], set(), []
    for _ in range(rounds):
        out = subprocess.run(
            [sys.executable, "-c", IMPORT_CODE, *HEAVY], capture_output=True, text=True, check=True
        ).stdout.split()
        imports.append(float(out[0]))
        loaded.update(filter(None, out[1].split(",")) if len(out) > 1 else [])
        out = subprocess.run(
            [sys.executable, "-c", FIRST_CALL_CODE], capture_output=True, text=True, check=True
        ).stdout.split()
        first.append([float(v) for v in out])
    cols = [statistics.median(c) for c in zip(*first)]
    return {
        "import": statistics.median(imports),
        "loaded": sorted(loaded),
        "imports_pandas": cols[0],
        "r_start": cols[1],
        "first_call": cols[2],
        "second_call": cols[3],
    }


def _line(res: dict, target: float) -> str:
    return (
        f"  {res['name']:28s} R {res['r_elapsed']:6.3f} s ({res['r_cpu']:.3f} CPU)   "
        f"run_limma {res['ours_elapsed']:6.3f} s ({res['ours_cpu']:.3f} CPU)   "
        f"= {res['ratio_elapsed']:4.2f}× wall, {res['ratio_cpu']:4.2f}× CPU (target ≤ {target})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds")
    args = parser.parse_args()
    rounds = args.rounds or (2 if args.quick else 5)
    size = (2000, 20) if args.quick else (20000, 100)
    big = (6000, 50) if args.quick else (60000, 500)
    print(machine())
    print(f"\nrun_limma ÷ R's own limma time in Rscript (medians of {rounds} interleaved rounds):")
    frame, groups = log_data(*size)
    print(_line(speed(f"ls {size[0]:,} × {size[1]}", frame, groups, "ls", rounds, 3), 1.1))
    counts, agroups = airway_data()
    if args.quick:
        counts = counts.iloc[:5000]
    print(
        _line(
            speed(f"voom airway {counts.shape[0]:,} × 8", counts, agroups, "voom", rounds, 3), 1.05
        )
    )
    mem = memory(*big, rounds=1 if args.quick else 3)
    mib = 2**20
    print(_line({"name": f"ls {big[0]:,} × {big[1]} (chunked)", **mem}, 1.2))
    print(
        f"    peak memory above the process before the call (matrix {mem['matrix'] / mib:.0f} MiB, "
        f"not counted): run_limma +{mem['ours_extra'] / mib:.0f} MiB ({mem['chunks']} gene "
        f"chunks), native R +{mem['r_extra'] / mib:.0f} MiB = "
        f"{mem['ours_extra'] / mem['r_extra']:.2f}× R's (target ≤ 0.1)"
    )
    st = startup(3 if args.quick else 5)
    print(
        f"\nimport degbridge: {st['import']:.3f} s (target ≤ 0.2 s); heavy modules imported: "
        f"{', '.join(st['loaded']) or 'none'}"
    )
    print(
        f"first run_limma in a fresh process (2,000 × 8): numpy+pandas+degbridge import "
        f"{st['imports_pandas']:.3f} s, R start-up + limma/edgeR + sourcing {st['r_start']:.3f} s, "
        f"first call {st['first_call']:.3f} s, second call {st['second_call']:.3f} s"
    )


if __name__ == "__main__":
    main()
