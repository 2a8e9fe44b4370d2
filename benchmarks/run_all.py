"""Run every benchmark in this folder, one after another, then list every ratio they printed.

Each script measures degbridge against its peer or floor in the same run and prints ratios
(lines with ``×``); this runner shows each script's output as it comes and ends with those ratio
lines gathered per script, so one run gives the whole before/after table.

    python benchmarks/run_all.py            # full sizes (an hour or more on 2 cores)
    python benchmarks/run_all.py --quick    # small sizes: a smoke run of every script
    python benchmarks/run_all.py --only limma,readers --quick
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: (short name, script, what it measures)
SCRIPTS = (
    ("limma", "bench_limma.py", "issues 3/17: run_limma vs R's own limma time; import, first call"),
    ("readers", "bench_readers.py", "issue 17: read_matrix/read_table vs pandas.read_csv"),
    ("compare", "bench_compare.py", "issues 4/17: compare vs a plain loop and lazypredict"),
    ("pseudobulk", "bench_pseudobulk.py", "issues 5/16: pseudobulk vs scanpy; backed AnnData"),
    ("fit", "bench_fit.py", "issue 14: a new contrast on a fit; camera over GO BP vs Rscript"),
    ("deseq2", "bench_deseq2.py", "issue 15: run_deseq2/run_edger vs Rscript; PyDESeq2"),
    ("annotation", "bench_annotation.py", "issue 13: gene annotation vs native Rscript"),
    ("audit", "bench_audit.py", "issue 13: the leakage audit's share of a comparison"),
    ("dask", "bench_dask.py", "issue 24: per-cell-type DE on 2 dask workers vs serial; cost model"),
    (
        "report",
        "bench_report.py",
        "issue 25: the interactive report vs the static one (needs chromium)",
    ),
)
#: what ``--quick`` passes to a script without a ``--quick`` of its own
QUICK_ARGS = {"report": ["--loads", "2", "--selections", "2"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    parser.add_argument(
        "--only", help="comma-separated short names: " + ", ".join(n for n, *_ in SCRIPTS)
    )
    args = parser.parse_args(argv)
    chosen = SCRIPTS
    if args.only:
        wanted = [w.strip() for w in args.only.split(",") if w.strip()]
        unknown = sorted(set(wanted) - {n for n, *_ in SCRIPTS})
        if unknown:
            parser.error(f"--only: unknown {unknown}; known: {[n for n, *_ in SCRIPTS]}")
        chosen = tuple(s for s in SCRIPTS if s[0] in wanted)
    ratios: dict[str, list[str]] = {}
    failed = []
    for name, script, what in chosen:
        print(f"\n===== {script}: {what}", flush=True)
        started = time.perf_counter()
        quick = QUICK_ARGS.get(name, ["--quick"]) if args.quick else []
        cmd = [sys.executable, str(HERE / script), *quick]
        with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, bufsize=1) as proc:
            lines = []
            for line in proc.stdout:
                print(line, end="", flush=True)
                lines.append(line.rstrip("\n"))
        if proc.returncode != 0:
            failed.append(script)
        ratios[name] = [ln.strip() for ln in lines if "×" in ln and ln.strip()]
        print(f"----- {script}: {time.perf_counter() - started:.0f} s", flush=True)
    print("\n===== ratios (each against its peer or floor measured in the same run)")
    for name, lines in ratios.items():
        print(f"\n[{name}]")
        for line in lines or ["(no ratio printed)"]:
            print(f"  {line}")
    if failed:
        print(f"\nfailed: {failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
