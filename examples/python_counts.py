"""A Python user: from an RNA-seq count matrix to limma-voom, a model comparison and a report.

    python examples/python_counts.py [COUNTS.tsv SAMPLES.tsv] [-o OUTPUT]

Without arguments it uses the airway counts bundled with degbridge (Himes et al. 2014).
"""

from __future__ import annotations

import argparse
import importlib.resources
import warnings

import pandas as pd

import degbridge as db


def main() -> None:
    data = importlib.resources.files("degbridge").joinpath("data")
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("counts", nargs="?", default=str(data / "airway_counts.tsv.gz"))
    parser.add_argument("samples", nargs="?", default=str(data / "airway_samples.tsv"))
    parser.add_argument("-o", "--output", default="python_counts_results")
    args = parser.parse_args()

    # 1. the count matrix (genes × samples) and the sample sheet (one row per sample)
    counts = db.read_matrix(args.counts)
    samples = pd.read_csv(args.samples, sep="\t", index_col=0)
    print(
        f"{counts.shape[0]:,} genes × {counts.shape[1]} samples; sample sheet columns {list(samples.columns)}"
    )

    # 2. limma-voom with TMM normalisation, in R, through rpy2
    table = db.run_limma(
        counts, samples=samples, design="~ celltype + dex", coef="dextreated", method="voom"
    )
    print(table.summary())
    print(table.head())

    # 3. per-gene expression features that do not come from the test (leakage-free)
    features = db.expression_features(counts.loc[table.index], groups=samples["dex"])

    # 4. which models predict logFC, and from what? (the leakage audit warns about t, P, B)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", db.LeakageWarning)
        res = db.compare(
            table,
            target="logFC",
            extra={"expr": features},
            models=["mean", "linear", "ridge", "hist_gradient_boosting", "knn"],
            cv=3,
            progress=False,
        )
    for w in caught:
        print("warning:", w.message)
    print(res.summary())
    print(res.leaderboard[["model", "cv_r2_mean", "cv_r2_sd", "test_r2"]].to_string(index=False))

    # 5. everything to a folder: TSV tables, params.json and report.html
    db.write_results(res, args.output, table=table)
    print(f"results and report in {args.output}/")


if __name__ == "__main__":
    main()
