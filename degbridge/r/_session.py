"""The embedded R session: found without starting R, started once, used under one lock.

* :func:`check_r` reports what is missing (rpy2, R, limma/edgeR/statmod) with the command
  that installs it, without importing rpy2's R interface when R is absent.
* :func:`session` starts R on first use, keeps R's start-up chatter ("library ... contains no
  packages") out of the user's terminal, loads limma and edgeR and sources the package's R
  files into a private environment (nothing is put in R's global environment).
* :func:`call` runs one R function under a process-wide lock (rpy2 is not thread-safe) and
  turns R errors into :class:`~degbridge.RError` carrying R's message; the session stays
  usable afterwards.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.resources
import logging
import os
import re
import shutil
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .._exceptions import RError, RNotAvailableError, RWarning

logger = logging.getLogger("degbridge.r")

APT_COMMAND = "apt-get install -y r-base-core r-bioc-limma r-bioc-edger r-cran-statmod"
R_PACKAGES = {"limma": "r-bioc-limma", "edgeR": "r-bioc-edger", "statmod": "r-cran-statmod"}
RPY2_SPEC = "rpy2>=3.5.13,<3.6"
#: The R files sourced into the embedded session (a private environment), as paths inside the
#: R package ``r_scripts/`` (see :func:`r_package_path`): the analyses in ``R/`` are the R
#: package's own code, the same file serving both; the helpers only the Python bridge needs
#: live in ``inst/bridge/``, outside ``R/``, so that they are not part of the R package's code.
R_FILES = (
    "inst/bridge/bridge.R",
    "R/limma_de.R",
    "R/limma_fit.R",
    "inst/bridge/annotation.R",
    "R/genesets.R",
    "inst/bridge/plots.R",
    "R/edger_de.R",
    "R/deseq2_de.R",
    "R/splines.R",
)
#: Where :func:`r_script_path` looks for a file given by name only, in this order.
R_SOURCE_DIRS = ("R", "inst/bridge", "inst")

#: R's initial vector heap for the embedded session, unless the user set ``R_VSIZE``
#: (then theirs is used). R's default (64 MB) is shrunk back after every call, once Python
#: has released the call's objects, so each ``run_limma`` on a 20,000 x 100 matrix paid a
#: full garbage collection (~0.1 s, half of R's own limma time); from 128 MB the next call
#: rarely collects. R reads ``R_VSIZE`` only at start-up; the variable is set for the start
#: of degbridge's own R session and removed again (child processes and Rscript are not
#: affected). It is a starting size, not a limit: R grows the heap as needed as before.
R_VSIZE_VARIABLE = "R_VSIZE"
R_VSIZE_DEFAULT = "128M"

#: One lock for every call into R: rpy2 and R are not thread-safe.
R_LOCK = threading.RLock()

_session: _Session | None = None
_session_error: RNotAvailableError | None = None


def r_scripts_dir() -> Path:
    """The folder holding degbridge's R code: the source of the R package ``degbridge``.

    In an installed wheel this is ``degbridge/r_scripts`` inside the package (found with
    :mod:`importlib.resources`); in an editable install from a checkout it is the checkout's
    top-level ``r_scripts/`` beside the package folder. Never relative to the working folder.
    """
    res = importlib.resources.files("degbridge").joinpath("r_scripts")
    if res.is_dir():
        return Path(str(res))
    dev = Path(__file__).resolve().parents[2] / "r_scripts"
    if dev.is_dir():
        return dev
    msg = f"degbridge's R files are missing: neither {res} nor {dev} exists (a broken install?)"
    raise RNotAvailableError(msg)


def r_package_path() -> str:
    """The source folder of the R package ``degbridge``, for ``R CMD INSTALL``.

    The R package (``library(degbridge)``: limma, edgeR and DESeq2 on SummarizedExperiment,
    SingleCellExperiment, DGEList, ExpressionSet or a matrix, and ``degbridge_compare``)
    ships with the Python package; install it into R with::

        R CMD INSTALL "$(python -c 'import degbridge.r; print(degbridge.r.r_package_path())')"
    """
    path = r_scripts_dir()
    if not (path / "DESCRIPTION").is_file():
        msg = f"{path} holds no R package (no DESCRIPTION file): a broken install?"
        raise RNotAvailableError(msg)
    return str(path)


def r_script_path(name: str = "degbridge.R") -> str:
    """The path of one of degbridge's R files, e.g. ``limma_de.R`` for ``source()`` from R.

    ``name`` is a file name, looked up in the R package's ``R/``, ``inst/bridge/`` and
    ``inst/`` folders (:data:`R_SOURCE_DIRS`), or a path inside the package
    (``"R/limma_de.R"``). ``degbridge.R`` (the default) is the old entry point for R users:
    it now loads the installed R package (``library(degbridge)``), or says how to install it.
    """
    root = r_scripts_dir()
    if "/" in name:
        candidates = [root / name]
    else:
        candidates = [root / folder / name for folder in R_SOURCE_DIRS]
    for path in candidates:
        if path.is_file() and path.resolve().is_relative_to(root.resolve()):
            return str(path)
    msg = f"no R file {name!r} in {root} (looked in {', '.join(R_SOURCE_DIRS)})"
    raise FileNotFoundError(msg)


def _rpy2_problem() -> str | None:
    try:
        import rpy2
    except ImportError:
        return f"rpy2 is not installed: pip install 'degbridge[r]' (or pip install '{RPY2_SPEC}')"
    from packaging.version import Version

    version = Version(rpy2.__version__)
    if version < Version("3.5.13"):
        return f"rpy2 {version} is too old: pip install '{RPY2_SPEC}'"
    if version >= Version("3.6"):
        return (
            f"rpy2 {version} is too new for R 4.2 (Debian's R; it fails with 'undefined symbol "
            f"R_getVar'): pip install '{RPY2_SPEC}'"
        )
    return None


def _r_home() -> str | None:
    home = os.environ.get("R_HOME")
    if home and Path(home).is_dir():
        return home
    try:
        from rpy2.situation import get_r_home

        return get_r_home()
    except Exception:  # rpy2 missing or R absent
        return None if shutil.which("R") is None else "R"


def check_r(*, start: bool = True) -> None:
    """Raise :class:`~degbridge.RNotAvailableError` naming what is missing for the R bridge.

    Checks, in order: rpy2 installed and in the supported range; R installed; and, when
    ``start`` is true, that R starts and has limma, edgeR and statmod. The message lists every
    problem found and the commands that fix them.
    """
    problems = []
    rpy2_problem = _rpy2_problem()
    if rpy2_problem:
        problems.append(rpy2_problem)
    if _r_home() is None:
        problems.append(f"R is not installed (no R on PATH, no R_HOME): {APT_COMMAND}")
    if problems:
        if rpy2_problem and _r_home() is None:
            problems.append(
                "install R first, then rpy2 (pip builds rpy2's fast mode only when R is on PATH)"
            )
        raise RNotAvailableError("degbridge needs R for this: " + "; ".join(problems))
    if start:
        session()


def r_available() -> bool:
    """True when R, rpy2 and limma/edgeR/statmod are usable (starts R if needed)."""
    try:
        check_r()
    except RNotAvailableError:
        return False
    return True


@contextlib.contextmanager
def _captured_console() -> Iterator[list[str]]:
    """Route R's console output to a list (and the debug log) instead of the terminal."""
    import rpy2.rinterface_lib.callbacks as callbacks

    buffer: list[str] = []

    def capture(text: str) -> None:
        buffer.append(text)
        logger.debug("R: %s", text.rstrip())

    with (
        callbacks.obj_in_module(callbacks, "consolewrite_print", capture),
        callbacks.obj_in_module(callbacks, "consolewrite_warnerror", capture),
    ):
        yield buffer


class _Session:
    """Handles to R objects used by the bridge; created once by :func:`session`."""

    def __init__(self) -> None:
        with _captured_console() as startup:
            try:
                import rpy2.rinterface as ri
                import rpy2.robjects as ro
            except Exception as err:  # undefined symbols, missing libR...
                text = str(err)
                hint = ""
                if "R_getVar" in text or "undefined symbol" in text:
                    hint = f"; rpy2 does not match this R: pip install '{RPY2_SPEC}'"
                msg = f"R could not be started through rpy2 ({text}){hint}"
                raise RNotAvailableError(msg) from None
            self.ri = ri
            self.ro = ro  # for users and tests; degbridge itself calls R through rinterface
            base = ri.baseenv
            missing = [
                p
                for p in R_PACKAGES
                if not str(base["system.file"](package=ri.StrSexpVector([p]))[0])
            ]
            if missing:
                apt = " ".join(R_PACKAGES[p] for p in missing)
                msg = (
                    f"R is installed but lacks the package(s) {missing}: apt-get install -y {apt} "
                    f"(all R dependencies: {APT_COMMAND})"
                )
                raise RNotAvailableError(msg)
            # rinterface objects, not robjects: robjects' conversion rules live in a
            # ContextVar that new threads do not inherit, so robjects calls fail in threads.
            self.env = base["new.env"]()
            for name in R_FILES:
                base["sys.source"](ri.StrSexpVector([r_script_path(name)]), envir=self.env)
            self.env["degbridge_load_packages"]()
            versions = self.env["degbridge_versions"]()
            names = base["names"](versions)
            self.versions = {str(k): str(v[0]) for k, v in zip(names, versions)}
        logger.debug("R started: %s", "".join(startup).strip())

    def fn(self, name: str):
        return self.env[name]


def session() -> _Session:
    """The R session, started on first use. Raises RNotAvailableError when R is unusable."""
    global _session, _session_error
    if _session is not None:
        return _session
    if _session_error is not None:
        raise _session_error
    with R_LOCK:
        if _session is None:
            problem = _rpy2_problem()
            if problem or _r_home() is None:
                check_r(start=False)
            # Ctrl-C while R starts (seconds: loading limma and edgeR) is held until R is up:
            # delivered inside R's start-up (a console callback) it would be swallowed
            with (
                _environment_kept("LD_LIBRARY_PATH"),
                _environment_kept(R_VSIZE_VARIABLE),
                _interruptible(stop_r=False) as interrupted,
            ):
                os.environ.setdefault(R_VSIZE_VARIABLE, R_VSIZE_DEFAULT)
                try:
                    _session = _Session()
                    # registered after rpy2's own exit handler (endr), so it runs before it
                    atexit.register(_ignore_interrupts_at_exit)
                except Exception as err:
                    if interrupted:  # R stopped because of the Ctrl-C: not a lasting failure
                        raise KeyboardInterrupt from None
                    if isinstance(err, RNotAvailableError):
                        _session_error = err
                    raise
    return _session


def _ignore_interrupts_at_exit() -> None:
    """At interpreter exit, before rpy2 ends R (``endr``: R's ``.Last``, finalisers, temporary
    folder, garbage collection): a Ctrl-C then has nothing left to stop, and raised inside
    ``endr`` it printed an rpy2 traceback and could leave R's temporary folder behind."""
    import signal

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextlib.contextmanager
def _environment_kept(name: str) -> Iterator[None]:
    """Undo changes R's start-up makes to an environment variable.

    rpy2 puts R's library folders (``/usr/lib/R/lib:/usr/lib/x86_64-linux-gnu:...``) in
    ``LD_LIBRARY_PATH``. The running process is unaffected (the loader reads it at start), but
    every child process would inherit it: a Python child (joblib/loky or dask workers) would
    then load the system's libpython instead of this interpreter's (pyenv, conda) and fail.
    """
    before = os.environ.get(name)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


@contextlib.contextmanager
def _interruptible(*, stop_r: bool = True) -> Iterator[list[bool]]:
    """Turn Ctrl-C during an R call into a KeyboardInterrupt raised after R returns.

    rpy2 lets R call back into Python while it computes (``R_ProcessEvents``, console
    output). Python runs a pending SIGINT handler inside such a callback, where a
    KeyboardInterrupt cannot propagate: cffi prints "Exception ignored from cffi callback" and
    the run goes on as if nothing happened. Around the R call this installs a handler that
    only records the interrupt and tells R (``R_interrupts_pending``, which R checks at its
    next ``R_CheckUserInterrupt``) to stop; once R has returned, the interrupt is delivered
    to the previous handler (``KeyboardInterrupt`` by default). Only in the main thread
    (the only one that receives signals), and only when Python handles SIGINT.
    ``stop_r=False`` only records (while R itself starts: an interrupt flag set during R's
    initialisation kills the process with "unable to initialize the JIT").
    """
    import signal

    flag: list[bool] = []
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return
    previous = signal.getsignal(signal.SIGINT)
    if not callable(previous):  # SIG_IGN, SIG_DFL or set outside Python: leave it alone
        yield flag
        return
    from rpy2.rinterface_lib import openrlib

    def record(signum, frame):
        flag.append(True)
        if stop_r:
            with contextlib.suppress(Exception):
                openrlib.rlib.R_interrupts_pending = 1

    signal.signal(signal.SIGINT, record)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)
        if flag and stop_r:
            with contextlib.suppress(Exception):
                openrlib.rlib.R_interrupts_pending = 0  # not carried into the next R call
    if flag:
        previous(signal.SIGINT, None)


def warn_r(texts, package: str = "limma", *, stacklevel: int = 2) -> None:
    """R's warnings as :class:`RWarning`s, each distinct text once, ``"R (package): text"``.

    ``stacklevel`` counts from the caller of this function, as :func:`warnings.warn` would.
    """
    for text in dict.fromkeys(str(t) for t in texts):
        warnings.warn(f"R ({package}): {text}", RWarning, stacklevel=stacklevel + 1)


def call(name: str, *args: Any, **kwargs: Any) -> Any:
    """Call one of degbridge's R functions under the R lock; R errors become RError.

    Ctrl-C during the call stops R and raises KeyboardInterrupt once R has returned.
    """
    with R_LOCK:
        s = session()
        from rpy2.rinterface_lib.embedded import RRuntimeError

        fn = s.fn(name)
        interrupted = False
        with _interruptible() as flag, _captured_console() as console:
            try:
                return fn(*args, **kwargs)
            except RRuntimeError as err:
                if flag:  # R stopped because of the interrupt: raised below, not an R error
                    interrupted = True
                else:
                    raise RError(_r_error_text(name, str(err) or "".join(console))) from None
        if interrupted:  # the previous handler did not raise (a custom one)
            raise KeyboardInterrupt


def _r_error_text(fn: str, text: str) -> str:
    """'Error in CALL : MESSAGE' (R's layout, over several lines) → one readable line."""
    text = " ".join(text.split())
    m = re.match(r"^Error in (.+?) : (.*)$", text) or re.match(r"^Error ?: (.*)$", text)
    if m and m.lastindex == 2:
        return f"R error in {fn}: {m.group(2)} (in {m.group(1)})"
    if m:
        return f"R error in {fn}: {m.group(1)}"
    return f"R error in {fn}: {text}"


def package_installed(name: str) -> bool:
    """Whether the R package ``name`` is installed (without loading it)."""
    with R_LOCK:
        ri = session().ri
        return bool(str(ri.baseenv["system.file"](package=ri.StrSexpVector([name]))[0]))


def versions() -> dict[str, str]:
    """R, limma and edgeR versions of the running session."""
    return dict(session().versions)
