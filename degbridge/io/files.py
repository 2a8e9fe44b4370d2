"""The output contract: every file and folder degbridge writes goes through here.

* **Files** (:func:`atomic_write`, :func:`atomic_path`) are written under a temporary name beside
  the destination and renamed onto it when complete: a failure (an exception, Ctrl-C) leaves the
  previous file intact, or no file, never a truncated one. A symbolic link is written through
  (its target is updated; the link stays).
* **Results folders** (:func:`results_dir`) are created new, or written into an existing folder
  only when it is empty or degbridge wrote it (it holds a :data:`MANIFEST` listing the files
  degbridge wrote there); any other folder needs ``overwrite=True`` (``--force``). Even then
  only the files listed in the previous manifest are removed: files of other names stay.
* **Inputs are never written**: :func:`protect_inputs` names files that no writer may replace
  for the duration of a command, and :func:`check_not_input` refuses an output that is one.
* Temporary entries are removed whatever happens, also when the final rename fails
  (``EBUSY``, ``EXDEV``, permissions).
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath
from typing import IO

#: Name of the file listing what degbridge wrote in a results folder.
MANIFEST = ".degbridge-manifest.json"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: Permissions for new files and folders: what open()/mkdir() would give (mkstemp and
#: mkdtemp create private 0600/0700 entries, which would surprise users sharing results).
_UMASK = _umask()
FILE_MODE = 0o666 & ~_UMASK
DIR_MODE = 0o777 & ~_UMASK

_PROTECTED: contextvars.ContextVar[tuple[Path, ...]] = contextvars.ContextVar(
    "degbridge_protected_inputs", default=()
)


# ---------------------------------------------------------------------------------------
# inputs
# ---------------------------------------------------------------------------------------


def _same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        return os.path.realpath(a) == os.path.realpath(b)


def check_not_input(out: str | os.PathLike, inputs: Iterable[str | os.PathLike | None]) -> None:
    """Raise ValueError when the output ``out`` is one of the ``inputs`` (same file).

    Compared with :func:`os.path.samefile` (resolved paths when ``out`` does not exist), so
    ``./x``, symbolic and hard links to an input are caught. ``None`` inputs are skipped.
    """
    for src in inputs:
        if src is None:
            continue
        if _same_file(out, src):
            msg = (
                f"output {str(out)!r} is the input file {str(src)!r}: degbridge never writes "
                "onto its inputs; choose another output name"
            )
            raise ValueError(msg)


@contextlib.contextmanager
def protect_inputs(inputs: Iterable[str | os.PathLike | None]) -> Iterator[None]:
    """While active, every degbridge writer refuses to replace or remove one of ``inputs``."""
    paths = tuple(Path(p) for p in inputs if p is not None)
    token = _PROTECTED.set(_PROTECTED.get() + paths)
    try:
        yield
    finally:
        _PROTECTED.reset(token)


def _check_protected(path: Path) -> None:
    check_not_input(path, _PROTECTED.get())


# ---------------------------------------------------------------------------------------
# files
# ---------------------------------------------------------------------------------------


def _write_through(path: Path) -> Path:
    """The file a write to ``path`` must replace: the target of a symbolic link, else ``path``."""
    if path.is_symlink():
        return Path(os.path.realpath(path))
    return path


def _replace_file(src: Path, dst: Path) -> None:
    """Move the file ``src`` onto ``dst`` atomically (through a symbolic link ``dst``).

    Across file systems (``EXDEV``, e.g. a link into another mount) the file is first copied
    beside the real destination; the copy is removed if the final rename fails.
    """
    real = _write_through(dst)
    _check_protected(real)
    if real.is_dir():
        msg = f"cannot write file {str(dst)!r}: a folder of that name exists"
        raise ValueError(msg)
    try:
        os.replace(src, real)
        return
    except OSError as err:
        if err.errno != errno.EXDEV:
            raise
    fd, tmp = tempfile.mkstemp(dir=real.parent, prefix=f".{real.name}.", suffix=".tmp")
    os.close(fd)
    try:
        shutil.copyfile(src, tmp)
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, real)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    os.unlink(src)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it onto ``path``.

    For writers that take a file name (``AnnData.write_h5ad``). The temporary name keeps the
    suffix of ``path``. On failure (also of the final rename) the temporary file is removed and
    ``path`` is untouched. A symbolic link ``path`` is written through: its target is replaced,
    the link stays. An input protected by :func:`protect_inputs` is refused.
    """
    path = Path(path)
    real = _write_through(path)
    folder = real.parent if str(real.parent) else Path(".")
    if not folder.is_dir():
        msg = f"cannot write {str(path)!r}: folder {str(folder)!r} does not exist"
        raise ValueError(msg)
    if real.is_dir():
        msg = f"cannot write file {str(path)!r}: a folder of that name exists"
        raise ValueError(msg)
    _check_protected(real)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{real.name}.", suffix=f".tmp{real.suffix}")
    os.close(fd)
    try:
        os.chmod(tmp, FILE_MODE)
        yield Path(tmp)
        os.replace(tmp, real)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", **open_kwargs) -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success rename it onto ``path``.

    Parameters
    ----------
    path
        Final destination. Its folder must exist. A symbolic link is written through.
    mode
        ``"w"`` (text, UTF-8 by default) or ``"wb"``.
    **open_kwargs
        Passed to :func:`open` (``newline``, ``encoding``...).
    """
    if mode not in ("w", "wb"):
        msg = f"atomic_write supports mode 'w' or 'wb', not {mode!r}"
        raise ValueError(msg)
    if mode == "w":
        open_kwargs.setdefault("encoding", "utf-8")
    with atomic_path(path) as tmp, open(tmp, mode, **open_kwargs) as handle:
        yield handle
        handle.flush()
        os.fsync(handle.fileno())


# ---------------------------------------------------------------------------------------
# results folders
# ---------------------------------------------------------------------------------------


def _read_manifest(folder: Path) -> set[str] | None:
    """The files listed in ``folder``'s manifest (safe relative paths only), or None."""
    path = folder / MANIFEST
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        files = data["files"]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return None
    listed = set()
    for name in files if isinstance(files, list) else []:
        if not isinstance(name, str) or not name or "\x00" in name:
            continue
        parts = PurePosixPath(name).parts
        if PurePosixPath(name).is_absolute() or ".." in parts or name == MANIFEST:
            continue
        listed.add(PurePosixPath(*parts).as_posix())
    return listed


def _folder_state(path: Path, overwrite: bool) -> tuple[Path, set[str] | None]:
    """Check that ``path`` may receive a results folder; return (real folder, old manifest)."""
    if path.is_symlink() and not path.exists():
        msg = f"cannot write results folder {str(path)!r}: it is a broken symbolic link"
        raise ValueError(msg)
    real = Path(os.path.realpath(path)) if path.is_symlink() else path
    if real.exists() and not real.is_dir():
        msg = f"cannot write results folder {str(path)!r}: a file of that name exists"
        raise ValueError(msg)
    _check_protected(real)
    if not real.exists():
        parent = real.parent if str(real.parent) else Path(".")
        if not parent.is_dir():
            msg = f"cannot write {str(path)!r}: folder {str(parent)!r} does not exist"
            raise ValueError(msg)
        return real, None
    listed = _read_manifest(real)
    if listed is None and not overwrite and any(real.iterdir()):
        msg = (
            f"results folder {str(path)!r} exists, is not empty and was not written by degbridge "
            f"(no {MANIFEST}); choose a new or empty folder, or allow writing into it with "
            "overwrite=True (--force on the command line): files of other names are kept"
        )
        raise ValueError(msg)
    return real, listed if listed is not None else set()


def check_results_dir(path: str | os.PathLike, *, overwrite: bool = False) -> None:
    """Raise ValueError now if :func:`results_dir` would refuse ``path`` (to fail early)."""
    _folder_state(Path(path), overwrite)


def _walk_files(root: Path) -> list[str]:
    out = []
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            out.append(Path(dirpath, name).relative_to(root).as_posix())
    return sorted(out)


def _write_manifest(folder: Path, files: list[str]) -> None:
    from .._version import __version__

    text = json.dumps({"degbridge": __version__, "files": files}, indent=1) + "\n"
    (folder / MANIFEST).write_text(text, encoding="utf-8")


@contextlib.contextmanager
def results_dir(path: str | os.PathLike, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield an empty staging folder; on success its files become the results folder ``path``.

    Parameters
    ----------
    path
        The results folder. It may not exist yet (it is then created by one atomic rename), be
        empty, or be a folder degbridge wrote (one holding :data:`MANIFEST`). A symbolic link
        to a folder is written through.
    overwrite
        Allow writing into an existing non-empty folder that degbridge did not write. Files
        with the names degbridge writes are replaced; no other file is touched.

    Notes
    -----
    Into an existing folder (``.``, a mount point, a previous run), each file is moved in by
    its own atomic rename; then the files listed in the previous manifest and not written
    again are removed, and the new manifest is written last. Files not listed in a manifest
    are never removed. Nothing is moved when the block fails. The staging folder is removed
    in every case, also when a rename fails.
    """
    path = Path(path)
    real, listed = _folder_state(path, overwrite)
    fresh = listed is None
    where = (real.parent if str(real.parent) else Path(".")) if fresh else real
    stage = Path(tempfile.mkdtemp(dir=where, prefix=f".{real.name or 'out'}.", suffix=".tmp"))
    try:
        os.chmod(stage, DIR_MODE)
        yield stage
        files = _walk_files(stage)
        if MANIFEST in files:
            msg = f"a writer may not write {MANIFEST} itself"
            raise RuntimeError(msg)
        _write_manifest(stage, files)
        if fresh:
            _, listed = _folder_state(path, overwrite)  # the folder may have appeared since
        if listed is None:
            os.replace(stage, real)
        else:
            _install_into(stage, real, files, listed, overwrite)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _install_into(stage: Path, dest: Path, files: list[str], listed: set[str], overwrite) -> None:
    """Move the staged files into the existing folder ``dest`` (see :func:`results_dir`)."""
    clashes = []
    for rel in files:
        target = dest / rel
        if target.is_dir() and not target.is_symlink():
            msg = f"cannot write {str(target)!r}: a folder of that name exists"
            raise ValueError(msg)
        for parent in list(PurePosixPath(rel).parents)[:-1]:
            p = dest / parent
            if (p.exists() or p.is_symlink()) and not p.is_dir():
                msg = f"cannot write {str(target)!r}: {str(p)!r} is not a folder"
                raise ValueError(msg)
        if (target.exists() or target.is_symlink()) and rel not in listed:
            clashes.append(str(target))
        _check_protected(_write_through(target))
    if clashes and not overwrite:
        msg = (
            f"results folder {str(dest)!r} holds files degbridge did not write that would be "
            f"replaced: {clashes[:5]}; move them away or pass overwrite=True (--force)"
        )
        raise ValueError(msg)
    for rel in files:
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        _replace_file(stage / rel, target)
    new = set(files)
    for rel in sorted(listed - new):
        stale = dest / rel
        if stale.is_symlink() or not stale.is_file():
            continue  # a link the user made, or no longer ours: kept
        if any(_same_file(stale, p) for p in _PROTECTED.get()):
            continue
        with contextlib.suppress(OSError):
            stale.unlink()
        for parent in PurePosixPath(rel).parents:
            if str(parent) == ".":
                break
            with contextlib.suppress(OSError):
                (dest / parent).rmdir()  # only when empty
    _replace_file(stage / MANIFEST, dest / MANIFEST)


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike, *, overwrite: bool = False) -> Iterator[Path]:
    """Alias of :func:`results_dir` (the older name)."""
    with results_dir(path, overwrite=overwrite) as stage:
        yield stage
