"""Prediction across contrasts on real data: do the changes at 24 h predict those at 72 h?

    python examples/cross_study_hsmm.py [-o OUTPUT]

Data: the HSMM time course (Trapnell et al. 2014; human skeletal myoblasts at 0, 24, 48 and
72 h of differentiation, 271 cells, log2(FPKM + 1)), from Debian's r-bioc-hsmmsinglecell.
limma (method "ls") tests 24 h vs 0 h and 72 h vs 0 h.

1. **Shared baseline.** Predicting the 72 h logFC from the 24 h logFC, once with both contrasts
   against the same 0 h cells, once with the 0 h cells split into two disjoint halves
   (``degbridge.split_reference``). The shared cells' noise is in both fold changes, so the
   first score is inflated; degbridge sees the shared samples and says so.
2. **Transfer.** A model fitted on the 24 h table (disjoint half) with annotation features only
   (org.Hs.eg.db: genomic span, strand, GO term counts, transcript length, biotype; known
   before any experiment, so *external*) predicts the 72 h table (other half), beside the
   baselines: the 24 h logFC itself used as the prediction, and the 24 h mean.

With ``--output`` the transfer comparison (tables and report) and the transfer scores and
predictions are written to that folder.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import warnings
from pathlib import Path

import pandas as pd
from scipy.stats import spearmanr

import degbridge as db
from degbridge.datasets import hsmm

KW = {"cv": 5, "progress": False, "permutation_repeats": 0, "random_state": 0}


def limma(expr, groups, samples, contrast):
    with warnings.catch_warnings():
        # sparse single-cell data: limma notes genes with zero variance in a group
        warnings.filterwarnings("ignore", "R .*Zero sample variances", db.RWarning)
        return db.run_limma(expr[samples], groups=groups[samples], contrast=contrast, method="ls")


def shared_vs_disjoint(expr, groups) -> tuple[db.DETable, db.DETable]:
    h0, h24, h72 = (list(groups.index[groups == t]) for t in ("h0", "h24", "h72"))
    half_a, half_b = db.split_reference(groups, "h0", random_state=0)
    designs = {
        "same 0 h cells": (h0 + h24, h0 + h72),
        "disjoint 0 h halves": (half_a + h24, half_b + h72),
    }
    print("1. 72 h logFC predicted from the 24 h logFC (linear, 5-fold CV)")
    print(f"   cells: 0 h {len(h0)} (halves {len(half_a)} + {len(half_b)}), "
          f"24 h {len(h24)}, 72 h {len(h72)}")  # fmt: skip
    tables = None
    for label, (s24, s72) in designs.items():
        t24 = limma(expr, groups, s24, "h24 - h0")
        t72 = limma(expr, groups, s72, "h72 - h0")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", db.DegbridgeWarning)
            res = db.compare(
                t72[["logFC"]], target="logFC", extra={"h24": t24[["logFC"]]},
                models=["linear"], **KW,
            )  # fmt: skip
        lb = res.leaderboard.set_index("model").loc["linear"]
        train = res.predictions[res.predictions["split"] == "train"]
        rho = spearmanr(train["observed"], train["oof"]).statistic
        print(f"   {label:<20} {len(res.predictions):,} genes | shared samples "
              f"{res.params['shared_samples']['h24']:>2} | provenance "
              f"{res.params['provenance']['h24_logFC']:<12} | CV R² {lb['cv_r2_mean']:.3f} "
              f"| out-of-fold Spearman {rho:.3f} | test R² {lb['test_r2']:.3f}")  # fmt: skip
        for w in caught:
            print(f"     warning: {str(w.message)[:110]}...")
        tables = (t24, t72)
    return tables


def transfer(t24, t72, symbols: pd.Series, output: Path | None) -> None:
    ann = db.gene_annotation(t24.index)
    a = ann.attrs
    print("\n2. a model of the 24 h logFC from annotation features predicts the 72 h logFC")
    print(f"   annotation: {a['n_mapped']:,} of {a['n_ids']:,} IDs mapped ({a['keytype']}, "
          f"org.Hs.eg.db {a['versions']['org']}) in {a['seconds']:.1f} s")  # fmt: skip
    res = db.compare(
        t24[["logFC"]], target="logFC", extra={"ann": db.annotation_features(ann)},
        models=["linear", "hist_gradient_boosting"], **KW,
    )  # fmt: skip
    origins = ", ".join(sorted(set(res.params["provenance"].values())))
    print(f"   features: {', '.join(res.features)} (provenance: {origins})")
    for model, row in res.leaderboard.set_index("model").iterrows():
        print(f"   on the 24 h table: {model:<24} CV R² {row['cv_r2_mean']:+.3f}  "
              f"test R² {row['test_r2']:+.3f}")  # fmt: skip
    tr = res.predict(t72)
    print("   " + tr.summary().replace("\n", "\n   "))
    mean_shift = t72["logFC"].mean() - t24["logFC"].mean()
    print(f"   mean logFC: 24 h {t24['logFC'].mean():+.3f}, 72 h {t72['logFC'].mean():+.3f} "
          f"(shift {mean_shift:+.3f}, which no 24 h model can know)")  # fmt: skip
    if output is not None:
        table = t24.join(symbols.rename("symbol"))
        db.write_results(res, output, table=table)
        for name, frame in (
            ("transfer_scores", tr.scores),
            ("transfer_predictions", tr.predictions),
        ):
            _write_tsv(frame, output / f"{name}.tsv")
        print(f"\nresults in {output}")


def _write_tsv(frame: pd.DataFrame, path: Path) -> None:
    """Write atomically: a temporary file beside ``path``, renamed onto it when complete."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            frame.to_csv(fh, sep="\t")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-o", "--output", type=Path, help="results folder (optional)")
    args = parser.parse_args()
    expr, cells, genes = hsmm()
    print(f"HSMM: {expr.shape[0]:,} genes (FPKM ≥ 1 in ≥ 10 cells) × {expr.shape[1]} cells")
    t24, t72 = shared_vs_disjoint(expr, cells["time"])
    transfer(t24, t72, genes["symbol"], args.output)


if __name__ == "__main__":
    main()
