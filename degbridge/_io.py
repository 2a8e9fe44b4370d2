"""Atomic file and folder writes: a temporary name in the same folder, then a rename.

A failure (an exception, Ctrl-C) half-way through a write leaves the previous file intact, or
no file at all, never a truncated one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: Permissions for new files and folders: what open()/mkdir() would give (mkstemp and
#: mkdtemp create private 0600/0700 entries, which would surprise users sharing results).
_UMASK = _umask()
FILE_MODE = 0o666 & ~_UMASK
DIR_MODE = 0o777 & ~_UMASK


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it onto ``path``.

    For writers that take a file name (``AnnData.write_h5ad``). The temporary name keeps the
    suffix of ``path``. On failure the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        msg = f"cannot write {str(path)!r}: folder {str(folder)!r} does not exist"
        raise ValueError(msg)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=f".tmp{path.suffix}")
    os.close(fd)
    try:
        os.chmod(tmp, FILE_MODE)
        yield Path(tmp)
        os.replace(tmp, path)
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
        Final destination. Its folder must exist.
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


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; on success it replaces ``path``.

    An existing ``path`` is kept until the new folder is complete, then swapped out: readers
    see the old folder or the new one, never a mix. On failure the temporary folder is removed
    and ``path`` is untouched.
    """
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        msg = f"cannot write {str(path)!r}: folder {str(parent)!r} does not exist"
        raise ValueError(msg)
    if path.exists() and not path.is_dir():
        msg = f"cannot write results folder {str(path)!r}: a file of that name exists"
        raise ValueError(msg)
    tmp = Path(tempfile.mkdtemp(dir=parent, prefix=f".{path.name}.", suffix=".tmp"))
    try:
        os.chmod(tmp, DIR_MODE)
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if path.exists():
        old = Path(tempfile.mkdtemp(dir=parent, prefix=f".{path.name}.", suffix=".old"))
        os.rmdir(old)
        os.replace(path, old)
    try:
        os.replace(tmp, path)
    except BaseException:
        if old is not None:
            os.replace(old, path)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
