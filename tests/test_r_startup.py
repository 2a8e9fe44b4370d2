"""Start-up costs: what ``import degbridge`` loads, and the embedded R session's vector heap.

Each check runs in a fresh interpreter (what a module imports, and R's start-up settings,
are per process). R's own ``gc()`` reports the vector-heap trigger it started with.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

HEAVY = ("pandas", "sklearn", "matplotlib", "anndata", "rpy2", "scipy")


def _run(code: str, env: dict[str, str]) -> str:
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "R_VSIZE"}
    return env | extra


def test_import_loads_no_heavy_module():
    code = f"import sys, degbridge; print([m for m in {HEAVY!r} if m in sys.modules])"
    assert _run(code, _env()) == "[]"
    # and the lazily imported names still resolve
    code = "import degbridge; print(degbridge.DETable.__name__, degbridge.__version__ != '')"
    assert _run(code, _env()) == "DETable True"


HEAP_CODE = """
import json, os
from degbridge import r
s = r.session()
g = s.ri.baseenv["gc"]()
# gc()'s matrix, column-major: rows Ncells, Vcells; column 6 is "gc trigger (Mb)"
print(json.dumps({"trigger_mb": float(g[7]), "env": os.environ.get("R_VSIZE")}))
"""


@pytest.mark.r
def test_r_session_starts_with_a_larger_vector_heap_and_leaves_the_environment():
    out = json.loads(_run(HEAP_CODE, _env()))
    assert out["trigger_mb"] >= 128  # R's default is 64 MB
    assert out["env"] is None  # set for R's start only: children (Rscript) are unaffected


@pytest.mark.r
def test_r_session_respects_the_users_r_vsize():
    out = json.loads(_run(HEAP_CODE, _env(R_VSIZE="300M")))
    assert out["trigger_mb"] == pytest.approx(300)
    assert out["env"] == "300M"


@pytest.mark.r
def test_ctrl_c_while_r_starts_is_held_until_r_is_up():
    """A Ctrl-C during R's start-up (loading limma, edgeR) waits for the start-up to finish,
    then raises KeyboardInterrupt; R is left whole and usable (a Ctrl-C delivered inside the
    start-up used to leave R half-initialised, or be swallowed by a console callback)."""
    code = """
import os, signal, threading, warnings
warnings.simplefilter("error")
import degbridge.r as r
threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
try:
    r.session()
    print("not interrupted")
except KeyboardInterrupt:
    print("interrupted")
s = r.session()
print("usable", sorted(s.versions) == ["R", "edgeR", "limma"], r.to_numpy(s.ri.baseenv["sum"](s.ri.IntSexpVector([1, 2])))[0])
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=_env(), check=False
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines == ["interrupted", "usable True 3"], (out.stdout, out.stderr)
    assert "initialized outside of rpy2" not in out.stderr


@pytest.mark.r
def test_ctrl_c_while_r_ends_at_exit_is_quiet():
    """A Ctrl-C while rpy2 ends R at interpreter exit (R's .Last, finalisers, temporary folder)
    has nothing left to stop: it is ignored, instead of an rpy2 traceback ("Exception ignored
    from cffi callback ... KeyboardInterrupt") and an interrupted clean-up. Here R's .Last
    computes for a while and the Ctrl-C arrives meanwhile."""
    code = """
import atexit, os, signal, threading
import degbridge.r as r
s = r.session()
s.ri.baseenv["eval"](s.ri.parse(".Last <- function() {x <- 0; for (i in 1:60000000) x <- x + i; cat('last end\\\\n')}"), s.ri.globalenv)
def interrupt_soon():  # registered last, so it runs first at exit, before R ends
    threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
atexit.register(interrupt_soon)
print("done")
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=_env(), check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["done", "last", "end"], (out.stdout, out.stderr)
    assert "Traceback" not in out.stderr and "KeyboardInterrupt" not in out.stderr, out.stderr
