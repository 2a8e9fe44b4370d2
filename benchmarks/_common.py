"""Helpers shared by the benchmarks: machine description, timing, peak memory."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import platform
import statistics
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    r = subprocess.run(
        ["R", "--version"], capture_output=True, text=True, check=False
    ).stdout.splitlines()
    return (
        f"{dt.date.today().isoformat()} · {cpu} · {os.cpu_count()} cores · {mem_gib:.0f} GiB · "
        f"Python {platform.python_version()} · {r[0] if r else 'R absent'}"
    )


def median_time(
    fn: Callable[[], object],
    repeats: int = 5,
    warmup: int = 1,
    before: Callable[[], object] | None = None,
) -> tuple[float, object]:
    """Median wall time of fn() over repeats (after warm-up runs); returns (seconds, last result).

    ``before`` runs untimed before each repetition (e.g. garbage collection in R and Python).
    """
    result = None
    for _ in range(warmup):
        result = fn()
    times = []
    for _ in range(repeats):
        if before is not None:
            before()
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


class PeakRSS:
    """Sample the resident memory of this process and its children (loky/dask workers)."""

    def __init__(self, interval: float = 0.05):
        import psutil

        self.proc = psutil.Process()
        self.interval = interval
        self.peak = 0
        self.baseline = self._rss()
        self._stop = threading.Event()

    def _rss(self) -> int:
        total = self.proc.memory_info().rss
        for child in self.proc.children(recursive=True):
            with contextlib.suppress(Exception):  # a worker that just exited
                total += child.memory_info().rss
        return total

    def __enter__(self):
        self.baseline = self._rss()
        self.peak = self.baseline
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            time.sleep(self.interval)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())

    @property
    def extra(self) -> int:
        return self.peak - self.baseline


def gib(n: float) -> str:
    return f"{n / 2**30:.2f} GiB"


def mib(n: float) -> str:
    return f"{n / 2**20:.0f} MiB"
