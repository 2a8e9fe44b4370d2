"""Cells from an ``.h5ad`` file or a ``.zarr`` store for DE per cell type, without loading
the cell matrix: backed (``.h5ad``, streamed by :func:`degbridge.pp.pseudobulk`) or as a dask
array (anndata's lazy reader), whose blocks the workers of a dask cluster read themselves.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from ._blockwise import DASK_HINT

__all__ = ["BLOCK_VALUES", "cell_store", "open_cells"]

#: stored values (sparse) or entries (dense) per dask block of a lazily read matrix: a block
#: read, checked and summed by a worker is a few hundred MB at most
BLOCK_VALUES = 20_000_000


def cell_store(path: str | os.PathLike) -> tuple[Path, str]:
    """``(path, "h5ad" | "zarr")``; ValueError when ``path`` is neither an ``.h5ad`` file nor
    a zarr store (a folder with ``.zgroup`` or ``zarr.json``)."""
    path = Path(path)
    if path.is_file():
        import h5py

        if h5py.is_hdf5(path):
            return path, "h5ad"
        msg = f"{str(path)!r} is not an .h5ad (HDF5) file; give an .h5ad file or a .zarr store"
        raise ValueError(msg)
    if path.is_dir():
        if (path / ".zgroup").is_file() or (path / "zarr.json").is_file():
            return path, "zarr"
        msg = f"{str(path)!r} is a folder but not a zarr store (no .zgroup or zarr.json in it)"
        raise ValueError(msg)
    msg = f"{str(path)!r}: no such file or folder"
    raise ValueError(msg)


@contextlib.contextmanager
def open_cells(path: str | os.PathLike, *, lazy: bool, layer: str | None = None) -> Iterator:
    """The AnnData of the cells in ``path``, open while the block runs.

    ``lazy``: the matrix (``X``, or ``layer`` when given) is a dask array of blocks of cells
    (of genes for CSC; about :data:`BLOCK_VALUES` stored values each), obs and var in memory,
    other layers and ``obsm`` left in the file; a dask cluster's workers read their blocks
    themselves. Without ``lazy``: an ``.h5ad`` is opened backed (``X`` streamed from the file;
    layers read into memory, as anndata does), a ``.zarr`` store is read into memory.
    """
    import anndata as ad

    path, kind = cell_store(path)
    if not lazy:
        if kind == "h5ad":
            adata = ad.read_h5ad(path, backed="r")
            try:
                yield adata
            finally:
                adata.file.close()
        else:
            yield ad.read_zarr(path)
        return
    try:
        import dask  # noqa: F401
    except ImportError as err:  # pragma: no cover - tested in a venv without dask
        msg = f"reading the cells as a dask array needs dask: {DASK_HINT}"
        raise ImportError(msg) from err
    with _root(path, kind) as root:
        yield _lazy_anndata(root, path, layer)


@contextlib.contextmanager
def _root(path: Path, kind: str):
    if kind == "h5ad":
        import h5py

        with h5py.File(path, "r") as f:
            yield f
    else:
        import zarr

        yield zarr.open_group(str(path), mode="r")


def _lazy_anndata(root, path: Path, layer: str | None):
    import anndata as ad
    from anndata.experimental import read_elem_lazy
    from anndata.io import read_elem

    for part in ("obs", "var"):
        if part not in root:
            msg = f"{str(path)!r} has no {part!r}: not an AnnData store"
            raise ValueError(msg)
    if layer is None:
        if "X" not in root:
            msg = f"{str(path)!r} has no X; name the layer with raw counts (layer=)"
            raise ValueError(msg)
        node = root["X"]
    else:
        layers = root["layers"] if "layers" in root else {}  # noqa: SIM401 (zarr groups)
        if layer not in layers:
            msg = f"layer {layer!r} is not in {str(path)!r}; its layers are {sorted(layers)}"
            raise ValueError(msg)
        node = layers[layer]
    obs, var = read_elem(root["obs"]), read_elem(root["var"])
    matrix = read_elem_lazy(node, chunks=_block_shape(node, len(obs), len(var)))
    if layer is None:
        return ad.AnnData(X=matrix, obs=obs, var=var)
    return ad.AnnData(obs=obs, var=var, layers={layer: matrix})


def _block_shape(node, n_obs: int, n_vars: int) -> tuple[int, int]:
    """Blocks of about :data:`BLOCK_VALUES` stored values (or entries, dense): blocks of cells,
    or of genes for a CSC matrix (anndata reads sparse matrices lazily only along their
    major axis; each block of genes then holds every cell)."""
    attrs = getattr(node, "attrs", {})
    csc = str(attrs.get("encoding-type", "")) == "csc_matrix"
    stored = n_obs * n_vars
    if "indptr" in getattr(node, "keys", dict)():  # sparse: data, indices, indptr
        stored = int(node["data"].shape[0])
    major = n_vars if csc else n_obs
    per_line = max(stored / max(major, 1), 1.0)
    lines = int(max(1, min(major, BLOCK_VALUES // per_line)))
    return (-1, lines) if csc else (lines, -1)
