"""An AnnData user: single-cell counts → pseudobulk → limma-voom → comparison, all in the AnnData.

    python examples/scverse_pseudobulk.py [-o OUTPUT.h5ad]

The single cells are simulated from the real airway samples: each sample's counts are split
into 150 "cells" by multinomial sampling of its expression profile (sparse, ~2,000 reads per
cell), so the pseudobulk sums recover the airway experiment.
"""

from __future__ import annotations

import argparse
import warnings

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

import degbridge as db
from degbridge.datasets import airway


def simulate_cells(
    counts: pd.DataFrame, samples: pd.DataFrame, cells_per_sample=150, reads=2000, seed=0
):
    rng = np.random.default_rng(seed)
    expressed = counts.index[counts.sum(axis=1) > 0]
    blocks, obs = [], []
    for sample in counts.columns:
        p = counts.loc[expressed, sample].to_numpy(dtype=float)
        p /= p.sum()
        depth = rng.poisson(reads, size=cells_per_sample)
        blocks.append(
            sp.csr_matrix(np.vstack([rng.multinomial(d, p) for d in depth]).astype(np.float32))
        )
        obs += [{"sample": sample, **samples.loc[sample].to_dict()}] * cells_per_sample
    X = sp.vstack(blocks).tocsr()
    obs = pd.DataFrame(obs, index=[f"cell{i}" for i in range(X.shape[0])])
    return ad.AnnData(X=X, obs=obs, var=pd.DataFrame(index=expressed), layers={"counts": X.copy()})


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-o", "--output", default="scverse_pseudobulk.h5ad")
    args = parser.parse_args()

    counts, samples = airway()
    adata = simulate_cells(counts, samples)
    print(adata)

    # log-normalised X, as in a scanpy workflow; raw counts stay in the "counts" layer
    adata.X = sp.csr_matrix(np.log1p(adata.X.multiply(1e4 / adata.X.sum(axis=1)).toarray()))

    # pseudobulk per sample (obs['sample']), then voom (raw counts detected) with the design
    # over obs columns; results in adata.uns["degbridge"], read with db.get
    db.tl.limma(
        adata, design="~ celltype + dex", contrast="dextreated", layer="counts", sample_key="sample"
    )
    print(adata.uns["degbridge"]["params"]["method_choice"])
    print(adata.uns["degbridge"]["pseudobulk"]["samples"][["celltype", "dex", "n_cells"]])
    top = db.get.limma_df(adata, contrast="dextreated").sort_values("adj.P.Val").head()
    print(top[["gene", "logFC", "AveExpr", "adj.P.Val"]])

    # the comparison on the stored table: read from uns["degbridge"], written to
    # uns["degbridge_compare"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", db.LeakageWarning)
        db.tl.compare(
            adata,
            key="degbridge",
            key_added="degbridge_compare",
            target="logFC",
            models=["linear", "ridge", "knn"],
            cv=3,
            progress=False,
        )
    leaderboard = db.get.compare_df(adata, key="degbridge_compare", table="leaderboard")
    print(leaderboard[["model", "cv_r2_mean", "test_r2"]])

    db.write_h5ad(adata, args.output)  # atomic: no truncated file if interrupted
    back = ad.read_h5ad(args.output)
    stored = db.get.compare_df(back, key="degbridge_compare", table="leaderboard")
    assert stored["model"].tolist() == leaderboard["model"].tolist()
    print(
        f"wrote {args.output}; leaderboard read back from .h5ad:\n{stored[['model', 'cv_r2_mean']]}"
    )


if __name__ == "__main__":
    main()
