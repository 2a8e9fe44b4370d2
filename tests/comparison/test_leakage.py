"""The leakage audit on a real limma-voom table and on constructed relations."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import degbridge
from degbridge import LeakageWarning, compare
from degbridge.comparison import audit


@pytest.fixture(scope="module")
def real(data_dir):
    """1,892 genes of a real voom topTable, plus an independent random feature."""
    tab = degbridge.read_table(data_dir / "limma_voom_every10th.csv")
    rng = np.random.default_rng(0)
    return tab.assign(random=rng.normal(size=len(tab)))


def test_real_table_target_b(real):
    leak = audit(real.drop(columns="B"), real["B"], "B", random_state=0)
    flagged = set(leak.index[leak["flagged"]])
    assert {"t", "P.Value", "adj.P.Val"} <= flagged
    assert "random" not in flagged
    assert not leak.loc["random", "known"]
    # voom's B also depends on each gene's precision weights, so t alone does not fix it
    # exactly; the relation is flagged by name, with the data evidence alongside
    assert leak.loc["t", "tree_r2"] > 0.7
    assert "same moderated t-test" in leak.loc["t", "relation"]


def test_real_table_target_logfc(real):
    leak = audit(real.drop(columns="logFC"), real["logFC"], "logFC", random_state=0)
    flagged = set(leak.index[leak["flagged"]])
    assert flagged == {"t", "P.Value", "adj.P.Val", "B"}
    assert leak.loc["t", "relation"].startswith("t = logFC / SE")


def test_unnamed_transform_found_from_data(real):
    disguised = pd.DataFrame(
        {
            "minus_log10_p": -np.log10(real["P.Value"]),
            "AveExpr": real["AveExpr"],
            "random": real["random"],
        }
    )
    leak = audit(disguised, real["P.Value"], "pvalue", random_state=0)
    assert leak.loc["minus_log10_p", "flagged"] and not leak.loc["minus_log10_p", "known"]
    assert leak.loc["minus_log10_p", "spearman"] == pytest.approx(-1.0)
    assert leak.loc["minus_log10_p", "relation"] == "determines the target on its own (data)"
    assert not leak.loc["random", "flagged"]


def test_pair_that_determines_the_target():
    rng = np.random.default_rng(4)
    n = 3000
    se = rng.uniform(0.1, 1.0, n)
    stat = rng.normal(0, 3, n)
    y = pd.Series(stat * se)
    X = pd.DataFrame({"stat": stat, "se": se, "noise": rng.normal(size=n)})
    leak = audit(X, y, "effect", random_state=0)
    assert leak.loc["stat", "tree_r2"] < 0.95 and leak.loc["se", "tree_r2"] < 0.95
    assert leak.loc["stat", "flagged"] and leak.loc["se", "flagged"]
    assert (
        "together with" in leak.loc["stat", "relation"]
        or "together with" in leak.loc["se", "relation"]
    )
    assert not leak.loc["noise", "flagged"]


def test_flag_reports_scores_without_flagged_features(real):
    with pytest.warns(
        LeakageWarning, match=r"target 'B': features \['t', 'P.Value', 'adj.P.Val'\] .* without"
    ) as rec:
        res = compare(
            real,
            target="B",
            models=["linear", "random_forest"],
            cv=3,
            progress=False,
            permutation_repeats=0,
        )
    assert len([w for w in rec if issubclass(w.category, LeakageWarning)]) == 1  # warned once
    scores = res.leakage_scores
    assert list(scores.index) == [
        "all features",
        "without flagged features",
        "external features only",
    ]
    with_, without, external = scores["cv_r2_mean"]
    # no feature of a limma table is external: no score, so "without flagged" leads
    assert scores.loc["external features only", "n_features"] == 0 and np.isnan(external)
    assert list(scores.index[scores["honest"]]) == ["without flagged features"]
    assert res.honest_score.name == "without flagged features"
    assert with_ > 0.9  # measured 0.94 on these 1,892 genes
    assert without < with_ - 0.2
    assert scores.loc["without flagged features", "n_features"] == 3  # logFC, AveExpr, random
    assert "most honest score (without flagged features, 3 features)" in res.summary()
    assert set(res.features) == {"logFC", "AveExpr", "t", "P.Value", "adj.P.Val", "random"}
    assert (res.leakage.loc[["t", "P.Value", "adj.P.Val"], "action"] == "kept, flagged").all()


def test_drop_removes_flagged_features(real):
    with pytest.warns(LeakageWarning, match="dropped"):
        res = compare(
            real,
            target="B",
            leakage="drop",
            models=["linear"],
            cv=3,
            progress=False,
            permutation_repeats=0,
        )
    assert not {"t", "P.Value", "adj.P.Val"} & set(res.features)
    assert "random" in res.features


def test_keep_skips_the_audit(real):
    with warnings.catch_warnings():
        warnings.simplefilter("error", LeakageWarning)
        res = compare(
            real,
            target="B",
            leakage="keep",
            models=["linear"],
            cv=3,
            progress=False,
            permutation_repeats=0,
        )
    assert res.leakage.empty and res.leakage_scores is None and res.honest_score is None
