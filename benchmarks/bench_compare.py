"""Benchmark the regression comparison (issues 4 and 17).

Default section (issue 17), each job in a fresh Python process so that its memory is its own:

1. ``degbridge.compare`` with its defaults (13 models, 5-fold CV, out-of-fold predictions,
   permutation importances, leakage scores) on both cores (``n_jobs=-1``), and the same with
   ``max_fit_samples=N`` (each model fitted on at most N random training genes), against
   lazypredict's default ``LazyRegressor`` (every regressor it lists, one 80/20 split, no CV)
   on the real voom table (18,911 genes, target ``B``). lazypredict 0.3.0's default list (40
   regressors) holds ``GaussianProcessRegressor``, whose fit is cubic in the genes (over 20
   minutes and 13 GB on this table): that run is stopped at ``--lazy-cap`` seconds and
   reported as a bound. The 37 regressors left without it, ``KernelRidge`` and
   ``QuantileRegressor`` (the three whose cost grows fastest with the genes; the 37-model
   run is the one the issue timed at 54 s) are timed to the end, rounds alternating with
   degbridge; ratios of the medians are printed (target ≤ 0.5×);
2. peak memory of each job: the resident memory (RSS) of the job's process and all its
   children (loky workers) summed, sampled every 0.1 s by this process (target ≤ 1 GiB);
3. the comparison on a 60,000-gene synthetic limma-like table: defaults (models fitted on
   at most 20,000 training genes), ``max_fit_samples=None`` (every gene, the default before
   the cap) and ``max_fit_samples=N`` (target ≤ 120 s).

``--baseline-src DIR`` also runs the defaults with degbridge imported from ``DIR`` (e.g. a
``git archive`` of an older commit), interleaved, for before/after ratios in one run.
``--seed-six`` adds the issue-4 section: the seed's six models on one split against a plain
scikit-learn loop and lazypredict on the same split and models.

    python benchmarks/bench_compare.py [--quick] [--skip-60k] [--rounds N] [--fast-n N]
                                       [--lazy-cap S] [--baseline-src DIR] [--seed-six]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import HERE, gib, machine

import degbridge
from degbridge.comparison import SEED_MODELS, make_model


def real_table() -> pd.DataFrame:
    """The voom table of ``data/`` (pandas' correctly rounded reader: the same values)."""
    path = HERE / "data" / "limma_voom_results.csv.gz"
    return pd.read_csv(path, index_col=0, float_precision="round_trip")


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


# -- issue 17: each job in its own process -----------------------------------------------


#: lazypredict's regressors whose cost grows fastest with the genes (cubic time, quadratic
#: memory, a linear program): without them, its default list is the 37 the issue timed.
SUPERLINEAR = ("GaussianProcessRegressor", "KernelRidge", "QuantileRegressor")


def table_for(name: str) -> pd.DataFrame:
    """``real``, ``real-quick`` (every 8th gene), or ``synthetic-N``."""
    if name.startswith("synthetic-"):
        return synthetic_table(int(name.split("-")[1]))
    real = real_table()
    return real.iloc[::8] if name == "real-quick" else real


def job(kind: str, table_name: str) -> dict:
    """Run one job in this (child) process; returns its time and what it found.

    ``compare`` (defaults), ``compare-fast-N`` (``max_fit_samples=N``), ``compare-all``
    (``max_fit_samples=None``), ``lazy`` (lazypredict's default list) or ``lazy-37`` (the
    same without GaussianProcessRegressor, KernelRidge and QuantileRegressor).
    """
    table = table_for(table_name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if kind.startswith("compare"):
            kw = {}
            if kind.startswith("compare-fast-"):
                kw["max_fit_samples"] = int(kind.rsplit("-", 1)[1])
            elif kind == "compare-all":
                kw["max_fit_samples"] = None
            t0 = time.perf_counter()
            res = degbridge.compare(table, target="B", n_jobs=-1, progress=False, **kw)
            took = time.perf_counter() - t0
            row = res.leaderboard.iloc[0]
            return {"seconds": took, "best": res.best.name, "cv_r2": float(row["cv_r2_mean"]),
                    "models_kept": len(res.models), "degbridge": degbridge.__file__}  # fmt: skip
        from lazypredict.Supervised import REGRESSORS, LazyRegressor
        from sklearn.model_selection import train_test_split

        X = table.drop(columns=["B"])
        X_train, X_test, y_train, y_test = train_test_split(
            X, table["B"], test_size=0.2, random_state=42
        )
        regressors = "all"
        if kind == "lazy-37":
            regressors = [c for n, c in REGRESSORS if n not in SUPERLINEAR]
        t0 = time.perf_counter()
        scores, _ = LazyRegressor(verbose=0, ignore_warnings=True, regressors=regressors).fit(
            X_train, X_test, y_train, y_test
        )
        took = time.perf_counter() - t0
        listed = len(REGRESSORS) if regressors == "all" else len(regressors)
        return {"seconds": took, "best": str(scores.index[0]), "n_models": len(scores),
                "n_listed": listed}  # fmt: skip


def measured(kind: str, table_name: str, src: str | None = None, cap: float | None = None) -> dict:
    """Run ``job`` in a child process; adds its peak memory (process tree RSS, 0.1 s).

    With ``cap`` (seconds) the job is stopped when it runs longer, and the result says so
    (``censored``: its time is at least ``cap``).
    """
    env = dict(os.environ)
    if src:
        env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    cmd = [sys.executable, __file__, "--job", kind, table_name]
    # stdout to a file, not a pipe: a chatty child (e.g. LightGBM's notes) cannot fill a
    # pipe nobody reads until it exits
    with tempfile.TemporaryFile(mode="w+") as sink:
        proc = subprocess.Popen(cmd, stdout=sink, env=env, text=True)
        peak, stopped = _watch(proc, cap)
        if stopped:
            return {"seconds": cap, "censored": True, "peak": peak, "best": "(stopped)"}
        sink.seek(0)
        out = sink.read()
    if proc.returncode:
        msg = f"{kind} on {table_name} failed ({proc.returncode})"
        raise RuntimeError(msg)
    result = json.loads(out.strip().splitlines()[-1])
    result["peak"] = peak
    return result


def _watch(proc, cap: float | None) -> tuple[int, bool]:
    """Peak RSS of ``proc`` and its children until it exits, and whether it was stopped at
    ``cap`` seconds (its process tree killed)."""
    import psutil

    root = psutil.Process(proc.pid)
    peak = 0
    started = time.perf_counter()
    while proc.poll() is None:
        if cap is not None and time.perf_counter() - started > cap:
            for p in [*root.children(recursive=True), root]:
                with contextlib.suppress(psutil.Error):
                    p.kill()
            proc.wait()
            return peak, True
        total = 0
        try:
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            procs = []
        for p in procs:
            with contextlib.suppress(psutil.Error):
                total += p.memory_info().rss
        peak = max(peak, total)
        time.sleep(0.1)
    return peak, False


def _show(label: str, res: dict, r: int | None = None) -> None:
    where = f"round {r + 1} " if r is not None else ""
    took = (
        f">{res['seconds']:6.0f} s (stopped)" if res.get("censored") else f"{res['seconds']:7.1f} s"
    )
    cv = f", CV R² {res['cv_r2']:.6f}" if "cv_r2" in res else ""
    if "n_models" in res:
        cv += f", {res['n_models']} of {res['n_listed']} regressors scored"
    print(f"    {where}{label:<22} {took}, peak {gib(res['peak'])} (best {res['best']}{cv})",
          flush=True)  # fmt: skip


def ratios(
    table_name: str,
    rounds: int,
    src: str | None,
    lazy: bool,
    fast_n: int,
    lazy_cap: float,
    every_gene: bool = False,
) -> dict[str, float]:
    """compare defaults, with max_fit_samples (N; None when ``every_gene``), (a baseline
    degbridge) and lazypredict.

    Rounds alternate the order; lazypredict's full default list runs once, stopped at
    ``lazy_cap`` seconds. Returns the median seconds per label.
    """
    fast = f"max_fit_samples={fast_n}"
    kinds = [("defaults", "compare", None), (fast, f"compare-fast-{fast_n}", None)]
    if every_gene:
        kinds.append(("max_fit_samples=None", "compare-all", None))
    if src:
        kinds.append(("before", "compare", src))
    if lazy:
        kinds.append(("lazypredict 37", "lazy-37", None))
    got: dict[str, list[dict]] = {k[0]: [] for k in kinds}
    for r in range(rounds):
        order = kinds if r % 2 == 0 else kinds[::-1]
        for label, kind, where in order:
            res = measured(kind, table_name, where)
            got[label].append(res)
            _show(label, res, r)
    med = {k: statistics.median(x["seconds"] for x in v) for k, v in got.items()}
    peak = {k: max(x["peak"] for x in v) for k, v in got.items()}
    for label in got:
        print(
            f"  {label:<24} median {med[label]:7.1f} s, peak memory {gib(peak[label])} "
            "(RSS of the process and its workers summed, sampled every 0.1 s)"
        )
    if lazy:
        full = measured("lazy", table_name, cap=lazy_cap)
        _show("lazypredict default", full)
        bound = "<" if full.get("censored") else ""
        print(f"  compare defaults ÷ lazypredict default (all its regressors): "
              f"{bound}{med['defaults'] / full['seconds']:.2f}× (target ≤ 0.5)")  # fmt: skip
        l37 = med["lazypredict 37"]
        print(f"  compare defaults ÷ lazypredict's {got['lazypredict 37'][0]['n_listed']} "
              f"(without {', '.join(SUPERLINEAR)}): "
              f"{med['defaults'] / l37:.2f}× (target ≤ 0.5)")  # fmt: skip
        print(f"  compare {fast} ÷ lazypredict's 37: {med[fast] / l37:.2f}× (target ≤ 0.5)")
        if "before" in med:
            print(f"  before this change ÷ lazypredict's 37: {med['before'] / l37:.2f}×")
    if "before" in med:
        print(f"  after ÷ before: time {med['defaults'] / med['before']:.2f}×, "
              f"peak memory {peak['defaults'] / peak['before']:.2f}×")  # fmt: skip
    print(f"  compare {fast} ÷ compare defaults: time {med[fast] / med['defaults']:.2f}×; "
          f"best model {got[fast][0]['best']} (defaults: {got['defaults'][0]['best']})")  # fmt: skip
    return med


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--skip-60k", action="store_true", help="only the real table")
    parser.add_argument("--rounds", type=int, default=None, help="rounds (default 3; quick 1)")
    parser.add_argument("--baseline-src", help="also time degbridge imported from this folder")
    parser.add_argument("--seed-six", action="store_true", help="add the issue-4 section")
    parser.add_argument("--fast-n", type=int, default=None,
                        help="max_fit_samples (default 5000; --quick 1000)")  # fmt: skip
    parser.add_argument("--lazy-cap", type=float, default=600,
                        help="stop lazypredict's full default run after this many seconds")  # fmt: skip
    parser.add_argument("--job", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.job:
        print(json.dumps(job(*args.job)))
        return
    print(machine())
    args.fast_n = args.fast_n or (1000 if args.quick else 5000)  # below the training genes
    rounds = args.rounds or (1 if args.quick else 3)
    name = "real-quick" if args.quick else "real"
    print(f"\nreal voom table ({'every 8th gene' if args.quick else 'all genes'}); target B; "
          f"{rounds} round(s)")  # fmt: skip
    ratios(name, rounds, args.baseline_src, True, args.fast_n, args.lazy_cap)
    if not args.skip_60k:
        big = 6000 if args.quick else 60000
        print(f"\nsynthetic limma-like table: {big:,} genes; target B; 1 round")
        med = ratios(
            f"synthetic-{big}", 1, args.baseline_src, False, args.fast_n, args.lazy_cap,
            every_gene=True,
        )  # fmt: skip
        for label, secs in med.items():
            print(f"  {label} at {big:,} genes: {secs:.0f} s = {secs / 120:.2f}× the 120 s target")
    if not args.seed_six:
        return
    real = real_table()
    big_n = 6000 if args.quick else 60000
    if args.quick:
        real = real.iloc[::8]
    print(f"\nreal voom table: {len(real):,} genes; target B")
    res, split = seed_six(real, "B", svr_max_samples=None, label="real")
    lazypredict_check(split, res, label="real")
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


if __name__ == "__main__":
    main()
