"""Benchmark the regression-comparison core (issue 4).

On the real voom table (18,911 genes; benchmarks/data) and on a 60,000-gene table:

1. the seed's six models with a single 80/20 split: ``degbridge.compare`` against a plain
   scikit-learn loop doing the same fits (same split, StandardScaler + model) in the same run
   (target ≤ 1.0×); identical R² for identical models is checked;
2. lazypredict's LazyRegressor on the same split and models (identical R² checked);
3. the full default comparison (13 models, 5-fold CV, out-of-fold predictions, permutation
   importances) on all cores: time and peak memory (this process and its workers).

SVR is quadratic in genes: in (1) and (2) it is fitted on all training genes on the real
table (the same fits as the baselines); at 60,000 genes degbridge's default subsample (5,000
genes) is reported beside a full fit's time on the real table.

    python benchmarks/bench_compare.py [--quick] [--skip-60k]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import HERE, PeakRSS, gib, machine

import degbridge
from degbridge.comparison import SEED_MODELS, make_model


def real_table() -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", degbridge.DegbridgeWarning)
        return pd.DataFrame(degbridge.read_table(HERE / "data" / "limma_voom_results.csv.gz"))


def synthetic_table(n: int, seed: int = 0) -> pd.DataFrame:
    """A limma-like table: logFC, AveExpr, t = logFC / SE, P, BH-adjusted P and B."""
    from scipy import stats

    rng = np.random.default_rng(seed)
    ave = rng.normal(5, 2.5, n)
    se = 0.1 + 0.6 * np.exp(-(ave - 1) / 3) * rng.uniform(0.7, 1.3, n)
    logfc = rng.normal(0, 1.2, n) * (rng.uniform(size=n) < 0.25) + rng.normal(0, 0.15, n)
    t = logfc / se
    p = 2 * stats.t.sf(np.abs(t), df=10)
    order = np.argsort(p)
    adj = np.empty(n)
    adj[order] = np.minimum.accumulate((p[order] * n / np.arange(1, n + 1))[::-1])[::-1]
    b = np.log(0.01 / 0.99) + 0.5 * np.log(1 / (1 + 10)) + 0.5 * (11 / 10) * np.log1p(t**2 / 10)
    return pd.DataFrame(
        {
            "logFC": logfc,
            "AveExpr": ave,
            "t": t,
            "P.Value": p,
            "adj.P.Val": np.minimum(adj, 1),
            "B": b,
        },
        index=[f"G{i:06d}" for i in range(n)],
    )


def seed_six(table: pd.DataFrame, target: str, svr_max_samples, label: str, rounds: int = 3):
    """compare vs a plain loop doing the same fits, alternating which goes first each round."""
    import statistics

    from sklearn.metrics import r2_score
    from sklearn.preprocessing import StandardScaler

    models = list(SEED_MODELS)
    kw = {
        "target": target, "models": models, "cv": None, "leakage": "keep", "permutation_repeats": 0,
        "svr_max_samples": svr_max_samples, "n_jobs": 1, "progress": False, "random_state": 42,
    }  # fmt: skip

    def run_compare():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", degbridge.DegbridgeWarning)
            t0 = time.perf_counter()
            res = degbridge.compare(table, **kw)
            return time.perf_counter() - t0, res

    _, res = run_compare()  # the split, for the loop
    split = res.predictions["split"]
    feats = res.features
    X_train = table.loc[split.index[split == "train"], feats].to_numpy()
    X_test = table.loc[split.index[split == "test"], feats].to_numpy()
    y_train = table.loc[split.index[split == "train"], target].to_numpy()
    y_test = table.loc[split.index[split == "test"], target].to_numpy()

    def run_loop():  # the plain loop: StandardScaler fitted on the training genes, six fits
        t0 = time.perf_counter()
        scaler = StandardScaler().fit(X_train)
        Xtr, Xte = scaler.transform(X_train), scaler.transform(X_test)
        scores = {}
        for name in models:
            est = make_model(name, random_state=42, svr_max_samples=svr_max_samples)
            est.fit(Xtr, y_train)
            scores[name] = r2_score(y_test, est.predict(Xte))
        return time.perf_counter() - t0, scores

    ratios, ours_t, loop_t = [], [], []
    for k in range(rounds):
        if k % 2 == 0:
            (o, res), (lp, plain) = run_compare(), run_loop()
        else:
            (lp, plain), (o, res) = run_loop(), run_compare()
        ratios.append(o / lp)
        ours_t.append(o)
        loop_t.append(lp)
    # what users get by default on this machine: the same fits on both cores
    kw["n_jobs"] = -1
    par_t, par_res = run_compare()
    kw["n_jobs"] = 1
    lb = res.leaderboard.set_index("model")["test_r2"]
    same = all(np.isclose(lb[m], plain[m], rtol=1e-9, atol=1e-12) for m in models)
    same = same and par_res.leaderboard.set_index("model")["test_r2"].equals(lb)
    print(f"  {label}: seed six, one 80/20 split: compare {statistics.median(ours_t):6.1f} s, plain loop "
          f"{statistics.median(loop_t):6.1f} s; median ratio over {rounds} alternating rounds "
          f"{statistics.median(ratios):4.2f}× (range {min(ratios):.2f}-{max(ratios):.2f}; target ≤ 1.0); "
          f"same test R² for every model: {same}")  # fmt: skip
    print(
        f"    the same with n_jobs=-1 (all cores): {par_t:6.1f} s = {par_t / statistics.median(loop_t):4.2f}× the plain loop"
    )
    if not same:
        print("    ", {m: (lb[m], plain[m]) for m in models})
    return res, (X_train, X_test, y_train, y_test)


def lazypredict_check(split, ours_res, label: str) -> None:
    try:
        from lazypredict.Supervised import LazyRegressor
    except ImportError:
        print("  lazypredict not installed (pip install 'degbridge[bench]'): skipped")
        return
    X_train, X_test, y_train, y_test = split
    classes = [type(make_model(m, random_state=42, svr_max_samples=None)) for m in SEED_MODELS]
    classes = [c for c in classes if c.__name__ != "SubsampledRegressor"]
    from sklearn.svm import SVR

    classes.append(SVR)
    lazy = LazyRegressor(verbose=0, ignore_warnings=True, regressors=classes, random_state=42)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores, _ = lazy.fit(pd.DataFrame(X_train), pd.DataFrame(X_test), y_train, y_test)
    took = time.perf_counter() - t0
    names = {"LinearRegression": "linear", "RandomForestRegressor": "random_forest",
             "DecisionTreeRegressor": "decision_tree", "GradientBoostingRegressor": "gradient_boosting",
             "SVR": "svr", "KNeighborsRegressor": "knn"}  # fmt: skip
    ours = ours_res.leaderboard.set_index("model")["test_r2"]
    diffs = {
        names[m]: abs(scores.loc[m, "R-Squared"] - ours[names[m]])
        for m in scores.index
        if m in names
    }
    print(f"  {label}: lazypredict on the same split and models: {took:6.1f} s; |R² difference| max "
          f"{max(diffs.values()):.1e} over {len(diffs)} models")  # fmt: skip


def full_default(table: pd.DataFrame, target: str, label: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", degbridge.DegbridgeWarning)
        with PeakRSS() as mem:
            t0 = time.perf_counter()
            res = degbridge.compare(
                table, target=target, models="default", cv=5, n_jobs=-1, progress=False
            )
            took = time.perf_counter() - t0
    best = res.leaderboard.iloc[0]
    svr = res.leaderboard.set_index("model").loc["svr"]
    print(f"  {label}: default comparison (13 models, 5-fold CV, OOF, permutation importances) on "
          f"all cores: {took:6.1f} s, peak memory {gib(mem.peak)} (process + workers, "
          f"+{gib(mem.extra)}); best {best['model']} CV R² {best['cv_r2_mean']:.3f}; "
          f"SVR: {svr['fit_time']:.1f} s of fits, {svr['note'] or 'all genes'}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--skip-60k", action="store_true", help="only the real table")
    args = parser.parse_args()
    print(machine())
    real = real_table()
    big_n = 6000 if args.quick else 60000
    if args.quick:
        real = real.iloc[::8]
    print(f"\nreal voom table: {len(real):,} genes; target B")
    res, split = seed_six(real, "B", svr_max_samples=None, label="real")
    lazypredict_check(split, res, label="real")
    full_default(real, "B", label="real")
    if args.skip_60k:
        return
    big = synthetic_table(big_n)
    print(f"\nsynthetic limma-like table: {len(big):,} genes; target B")
    seed_six(
        big,
        "B",
        svr_max_samples=5000,
        label=f"{len(big) // 1000}k (SVR on 5,000 genes, both sides)",
    )
    full_default(big, "B", label=f"{len(big) // 1000}k")


if __name__ == "__main__":
    main()
