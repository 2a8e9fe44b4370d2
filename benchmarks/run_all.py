"""Run every benchmark in this folder, one after another (they print their own results)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

for script in (
    "bench_limma.py",
    "bench_compare.py",
    "bench_pseudobulk.py",
    "bench_annotation.py",
    "bench_audit.py",
):
    print(f"\n===== {script}", flush=True)
    subprocess.run([sys.executable, str(HERE / script), *sys.argv[1:]], check=True)
