"""The second leakage audit (issue 13): relations through |x|, small tables, reconstruction
from ingredients. Truth known by construction (synthetic) and on real limma tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import degbridge
from degbridge.comparison import audit


@pytest.fixture(scope="module")
def voom(data_dir):
    """1,892 genes of a real limma-voom topTable (every 10th gene of 18,911)."""
    return degbridge.read_table(data_dir / "limma_voom_every10th.csv")


def _sample(table, n, seed):
    rng = np.random.default_rng(seed)
    return table.iloc[np.sort(rng.choice(len(table), n, replace=False))]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_renamed_t_is_caught_for_b_on_300_genes(voom, seed):
    # the old audit missed it: signed Spearman with B near 0 (B grows with |t|), tree R² < 0.95
    small = _sample(voom, 300, seed).rename(columns={"t": "moderated_stat"})
    rng = np.random.default_rng(seed)
    small = small.assign(random=rng.normal(size=len(small)))
    train = small.iloc[:240]
    leak = audit(train.drop(columns="B"), train["B"], "B", random_state=0)
    assert leak.loc["moderated_stat", "flagged"]
    assert not leak.loc["moderated_stat", "known"]  # caught from the data, not the name
    assert abs(leak.loc["moderated_stat", "spearman"]) < 0.5  # the signed relation hides it
    assert leak.loc["moderated_stat", "monotone_r2"] >= 0.8
    assert "|" in leak.loc["moderated_stat", "evidence"]  # the |x| form is named
    assert not leak.loc["random", "flagged"]
    assert leak.loc["random", "provenance"] == "same-samples"
    assert leak.loc["P.Value", "provenance"] == "test"


def test_abs_t_is_caught_for_b(voom):
    small = _sample(voom, 300, 5)
    X = pd.DataFrame({"abs_stat": small["t"].abs(), "AveExpr": small["AveExpr"]})
    leak = audit(X, small["B"], "B", random_state=0)
    assert leak.loc["abs_stat", "flagged"] and not leak.loc["AveExpr", "flagged"]


def _synthetic(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    se = rng.uniform(0.1, 1.0, n)
    lfc = rng.normal(0, 1, n)
    t = lfc / se
    return rng, se, lfc, t


def test_b_built_from_abs_t_is_flagged():
    rng, _se, _lfc, t = _synthetic()
    y = pd.Series(np.log1p(np.abs(t)) * 2 - 3)  # monotone in |t|: signed Spearman ~0
    X = pd.DataFrame({"t_renamed": t, "noise": rng.normal(size=len(t))})
    leak = audit(X, y, "B", random_state=0)
    assert abs(leak.loc["t_renamed", "spearman"]) < 0.1
    assert abs(leak.loc["t_renamed", "abs_spearman"]) > 0.999
    assert leak.loc["t_renamed", "flagged"] and not leak.loc["noise", "flagged"]


def test_b_built_from_logfc_over_se_flags_both_ingredients():
    rng, se, lfc, t = _synthetic(seed=1)
    y = pd.Series(np.abs(t))
    X = pd.DataFrame({"logFC": lfc, "se": se, "noise": rng.normal(size=len(t))})
    leak = audit(X, y, "B", random_state=0)
    assert leak.loc["logFC", "flagged"] and leak.loc["se", "flagged"]
    assert leak.loc["se", "pair"] == "logFC"
    assert leak.loc["se", "pair_r2"] > 0.95
    assert "together with 'logFC'" in leak.loc["se", "relation"]
    assert not leak.loc["noise", "flagged"]


def test_independent_target_flags_nothing():
    rng, se, lfc, t = _synthetic(seed=2)
    y = pd.Series(rng.normal(size=len(t)))
    X = pd.DataFrame({"logFC": lfc, "se": se, "t": t})
    leak = audit(X, y, "B", random_state=0, provenance={"se": "external"})
    # "t" has a named relation with B (kept by name), nothing else is flagged
    assert set(leak.index[leak["flagged"]]) == {"t"}
    assert leak.loc["se", "provenance"] == "external"


@pytest.mark.r
def test_airway_logfc_and_within_sd_are_flagged_for_b(airway):
    counts, samples = airway
    table = degbridge.run_limma(
        counts, samples=samples, design="~ celltype + dex", coef="dextreated", method="voom"
    )
    feats = degbridge.expression_features(counts.loc[table.index], groups=samples["dex"])
    rng = np.random.default_rng(0)
    X = table[["logFC", "AveExpr"]].join(feats.add_prefix("expr_"))
    X["random"] = rng.normal(size=len(X))
    train = rng.choice(len(X), int(0.8 * len(X)), replace=False)
    leak = audit(X.iloc[train], table["B"].iloc[train], "B", random_state=0)
    flagged = set(leak.index[leak["flagged"]])
    assert {"logFC", "expr_within_sd"} <= flagged
    assert "random" not in flagged
    assert leak.loc["expr_within_sd", "pair"] == "logFC"
