"""concordance: Spearman of fold changes, UpSet overlap counts and disagreement ranks, checked
against scipy.stats and plain set arithmetic; on airway with limma-voom, edgeR QL and DESeq2."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import degbridge
from degbridge import DETable, concordance


def _check_against_scipy_and_sets(tables: dict, res, fdr: float) -> None:
    names = list(tables)
    shared = set.intersection(*(set(t.index) for t in tables.values()))
    assert res.n_genes == len(shared)
    assert set(res.significant.index) == shared
    for a, b in itertools.combinations(names, 2):
        joined = pd.concat(
            [tables[a]["logFC"].rename("a"), tables[b]["logFC"].rename("b")], axis=1, join="inner"
        ).dropna()
        expected = stats.spearmanr(joined["a"], joined["b"]).statistic
        assert res.spearman.loc[a, b] == pytest.approx(expected, rel=1e-12)
        assert res.n_pairs.loc[a, b] == len(joined)
    sig = {n: {g for g in shared if tables[n].loc[g, "adj.P.Val"] < fdr} for n in names}
    total = 0
    for members in itertools.product([False, True], repeat=len(names)):
        if not any(members):
            continue
        inside = set(shared)
        for n, m in zip(names, members):
            inside = inside & sig[n] if m else inside - sig[n]
        row = res.overlap[(res.overlap[names] == list(members)).all(axis=1)]
        assert (row["n_genes"].sum() if len(row) else 0) == len(inside)
        total += len(inside)
    assert res.overlap["n_genes"].sum() == total == len(set.union(*sig.values()))
    assert list(res.overlap["n_genes"]) == sorted(res.overlap["n_genes"], reverse=True)
    # disagreement: ranks of sign(logFC)·-log10(P) over genes finite in every table
    signed = pd.DataFrame(
        {
            n: np.sign(tables[n].loc[list(shared), "logFC"])
            * -np.log10(tables[n].loc[list(shared), "P.Value"])
            for n in names
        }
    )
    signed = signed[np.isfinite(signed).all(axis=1)]
    ranks = pd.DataFrame({n: stats.rankdata(signed[n]) for n in names}, index=signed.index)
    spread = (ranks.max(axis=1) - ranks.min(axis=1)).sort_values(ascending=False)
    top = res.disagreement
    np.testing.assert_allclose(top["rank_range"], spread.iloc[: len(top)].to_numpy())
    for gene in top.index:
        assert top.loc[gene, "rank_range"] == spread[gene]


def test_synthetic_tables():
    rng = np.random.default_rng(7)
    genes = [f"g{i}" for i in range(400)]
    base = rng.normal(0, 1, 400)

    def table(noise, drop):
        lfc = base + rng.normal(0, noise, 400)
        p = np.clip(np.exp(-np.abs(lfc) * 3 + rng.normal(0, 0.5, 400)), 1e-12, 1)
        adj = np.minimum(1, p * 4)
        adj[rng.choice(400, 20, replace=False)] = np.nan  # filtered: never significant
        frame = DETable(pd.DataFrame({"logFC": lfc, "P.Value": p, "adj.P.Val": adj}, index=genes))
        return frame.drop(index=np.array(genes)[drop])

    tables = {
        "a": table(0.2, slice(0, 10)),
        "b": table(0.5, slice(5, 30)),
        "c": table(1, slice(0, 0)),
    }
    tables["b"].loc["g100", "logFC"] = np.nan
    res = concordance(tables, fdr=0.05)
    _check_against_scipy_and_sets(tables, res, 0.05)
    assert res.spearman.loc["a", "b"] > res.spearman.loc["a", "c"]
    assert "Spearman logFC a ~ b" in res.summary()


def test_bad_input():
    t = DETable(pd.DataFrame({"logFC": [1.0], "P.Value": [0.1], "adj.P.Val": [0.2]}, ["g"]))
    with pytest.raises(ValueError, match="at least two tables"):
        concordance({"a": t})
    with pytest.raises(ValueError, match=r"lacks the column\(s\) \['adj.P.Val'\]"):
        concordance({"a": t, "b": t.drop(columns="adj.P.Val")})
    with pytest.raises(ValueError, match="share no gene IDs"):
        concordance({"a": t, "b": t.rename(index={"g": "h"})})
    with pytest.raises(ValueError, match="fdr must be"):
        concordance({"a": t, "b": t}, fdr=5)
    with pytest.raises(TypeError, match="dict"):
        concordance([t, t])


@pytest.mark.r
def test_airway_three_methods(airway):
    from degbridge import r

    if not r.package_installed("DESeq2"):
        pytest.skip("Debian's r-bioc-deseq2 is not installed")
    counts, samples = airway
    counts = counts.iloc[::3]  # every third gene: DESeq2 on all of airway takes about a minute
    kw = {"samples": samples, "design": "~ celltype + dex", "coef": "dextreated"}
    tables = {
        "voom": degbridge.run_limma(counts, method="voom", **kw),
        "edgeR": degbridge.run_edger(counts, **kw),
        "DESeq2": degbridge.run_deseq2(counts, **kw),
    }
    res = concordance(tables, fdr=0.05)
    _check_against_scipy_and_sets(tables, res, 0.05)
    # filterByExpr's genes (voom, edgeR), all present in DESeq2's full table
    assert res.n_genes == len(tables["voom"]) == len(tables["edgeR"]) == 5249
    assert res.spearman.to_numpy().min() > 0.9  # three methods, one experiment
    assert res.significant.all(axis=1).sum() > 1000
