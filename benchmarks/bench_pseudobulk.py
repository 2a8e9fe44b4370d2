"""Benchmark pseudobulk sums (issue 5).

100,000 cells × 20,000 genes, sparse CSR with ~5 % non-zero (float32 counts), summed into 40
pseudobulk samples (20 donors × 2 conditions). Measures time and peak memory above the
already-built cell matrix, for degbridge.pseudobulk and, in the same run, for
scanpy.get.aggregate (or a pandas groupby on the sparse rows when scanpy is absent). Target:
peak memory ≤ 1.5× the CSR matrix. The sums are checked equal.

    python benchmarks/bench_pseudobulk.py [--quick]
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, mib


def cells(n_cells: int, n_genes: int, density: float, seed: int = 0):
    """A CSR count matrix with exactly density × n_genes non-zeros per cell, built row-wise."""
    import anndata as ad

    rng = np.random.default_rng(seed)
    per_cell = int(n_genes * density)
    stride = n_genes // per_cell
    # distinct, sorted column indices per cell: one random column in each stride-wide window
    base = np.arange(per_cell, dtype=np.int32) * stride
    indices = np.empty(n_cells * per_cell, dtype=np.int32)
    data = np.empty(n_cells * per_cell, dtype=np.float32)
    block = 5000
    for start in range(0, n_cells, block):
        stop = min(start + block, n_cells)
        rows = stop - start
        offs = rng.integers(0, stride, size=(rows, per_cell), dtype=np.int32)
        indices[start * per_cell : stop * per_cell] = (base + offs).ravel()
        data[start * per_cell : stop * per_cell] = rng.geometric(0.4, size=rows * per_cell).astype(
            np.float32
        )
    indptr = np.arange(0, (n_cells + 1) * per_cell, per_cell, dtype=np.int64)
    X = sp.csr_matrix((data, indices, indptr), shape=(n_cells, n_genes))
    donors = rng.integers(0, 20, size=n_cells)
    obs = pd.DataFrame(
        {
            "donor": [f"d{d:02d}" for d in donors],
            "condition": np.where(rng.uniform(size=n_cells) < 0.5, "ctrl", "stim"),
        },
        index=[f"c{i}" for i in range(n_cells)],
    )
    return ad.AnnData(X=X, obs=obs, var=pd.DataFrame(index=[f"G{j:05d}" for j in range(n_genes)]))


def measure(fn):
    """Wall time and peak of new allocations (tracemalloc sees numpy/scipy buffers)."""
    gc.collect()
    tracemalloc.start()
    t0 = time.perf_counter()
    out = fn()
    took = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return took, peak, out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n_cells, n_genes = (10000, 5000) if args.quick else (100000, 20000)
    print(machine())
    adata = cells(n_cells, n_genes, density=0.05)
    X = adata.X
    csr_bytes = X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    print(
        f"\n{n_cells:,} cells × {n_genes:,} genes, {X.nnz:,} non-zeros, CSR {mib(csr_bytes)} → 40 pseudobulk samples"
    )

    import degbridge

    took, peak, pb = measure(
        lambda: degbridge.pseudobulk(adata, "donor", groupby="condition", min_cells=1)
    )
    print(f"  degbridge.pseudobulk        {took:6.2f} s, peak +{mib(peak)} = {peak / csr_bytes:4.2f}× the CSR matrix "
          f"(total with the matrix {(csr_bytes + peak) / csr_bytes:4.2f}×; target ≤ 1.5×)")  # fmt: skip
    try:
        import scanpy as sc

        label = "scanpy.get.aggregate"

        def baseline():
            agg = sc.get.aggregate(adata, by=["donor", "condition"], func="sum")
            return np.asarray(
                agg.layers["sum"].toarray() if sp.issparse(agg.layers["sum"]) else agg.layers["sum"]
            )
    except ImportError:
        label = "pandas groupby (sparse)"

        def baseline():
            codes = pd.factorize(adata.obs["donor"] + "_" + adata.obs["condition"], sort=True)[0]
            frame = pd.DataFrame.sparse.from_spmatrix(X)
            return frame.groupby(codes).sum().to_numpy()

    took_b, peak_b, ref = measure(baseline)
    print(f"  {label:26s}  {took_b:6.2f} s, peak +{mib(peak_b)} = {peak_b / csr_bytes:4.2f}× the CSR matrix; "
          f"degbridge is {took_b / took:4.2f}× faster")  # fmt: skip
    np.testing.assert_allclose(pb.X, ref, rtol=1e-6)
    print("  sums equal: yes")


if __name__ == "__main__":
    main()
