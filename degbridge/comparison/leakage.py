"""Leakage audit: which features are transforms of the target rather than evidence about it.

In a limma table ``t``, ``P.Value``, ``adj.P.Val`` and ``B`` come from one moderated t-test:
``t = logFC / SE``, the P-values are monotone in ``|t|`` and ``B`` grows with ``|t|``. A model
that predicts ``B`` from ``t`` learns algebra, not biology. The audit

1. names the known same-test relations of the target (by column name);
2. detects others from the data: a single feature whose rank correlation with the target is
   ≥ 0.99 in absolute value, or whose one-feature shallow tree reaches a cross-validated
   R² ≥ 0.95;
3. checks whether a small set (a pair) of otherwise unflagged features determines the target:
   a tree on two features reaching R² ≥ 0.95 (e.g. ``logFC`` from a statistic and its
   standard error under other names).

It runs on the training genes only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["KNOWN_RELATIONS", "TREE_R2", "audit"]

TREE_R2 = 0.95
SPEARMAN = 0.99
MAX_GENES = 20000
PAIR_CANDIDATES = 8

_SAME = "same moderated t-test as the target"
KNOWN_RELATIONS: dict[str, dict[str, str]] = {
    "logFC": {
        "t": "t = logFC / SE: the test statistic carries logFC's sign and size",
        "P.Value": "P.Value is a function of |t| = |logFC| / SE",
        "adj.P.Val": "adj.P.Val is the BH-adjusted P.Value, a function of |t| = |logFC| / SE",
        "B": "B (log-odds of DE) grows with |t| = |logFC| / SE",
        "CI.L": "CI.L = logFC - q·SE",
        "CI.R": "CI.R = logFC + q·SE",
    },
    "B": {
        "t": "B grows with |t| (" + _SAME + ")",
        "P.Value": "B and P.Value are both monotone in |t| (" + _SAME + ")",
        "adj.P.Val": "adj.P.Val is the BH-adjusted P.Value, monotone in |t| (" + _SAME + ")",
    },
    "t": {
        "logFC": "t = logFC / SE",
        "P.Value": "P.Value is a function of |t|",
        "adj.P.Val": "adj.P.Val is the BH-adjusted P.Value, a function of |t|",
        "B": "B grows with |t|",
    },
    "P.Value": {
        "t": "P.Value is a function of |t|",
        "adj.P.Val": "adj.P.Val is the BH-adjusted P.Value",
        "B": "B and P.Value are both monotone in |t|",
    },
    "adj.P.Val": {
        "t": "adj.P.Val is the BH-adjusted P-value of |t|",
        "P.Value": "adj.P.Val is the BH-adjusted P.Value",
        "B": "B and adj.P.Val are both monotone in |t|",
    },
}


def _tree_r2(x: np.ndarray, y: np.ndarray, depth: int, random_state) -> float:
    from sklearn.model_selection import KFold, cross_val_score
    from sklearn.tree import DecisionTreeRegressor

    tree = DecisionTreeRegressor(max_depth=depth, min_samples_leaf=5, random_state=random_state)
    folds = KFold(n_splits=3, shuffle=True, random_state=random_state)
    return float(np.mean(cross_val_score(tree, x, y, cv=folds, scoring="r2")))


def audit(X: pd.DataFrame, y: pd.Series, target: str, *, random_state=0) -> pd.DataFrame:
    """One row per feature: known relation, data evidence, and whether it is flagged.

    Columns: ``relation`` (text), ``known`` (named same-test relation), ``spearman``,
    ``tree_r2`` (one-feature tree, 3-fold CV), ``pair`` and ``pair_r2`` (the best partner
    when two features together determine the target), ``flagged``, ``evidence``.
    """
    from scipy.stats import spearmanr

    rng = np.random.default_rng(random_state)
    if len(y) > MAX_GENES:
        rows = np.sort(rng.choice(len(y), size=MAX_GENES, replace=False))
        X, y = X.iloc[rows], y.iloc[rows]
    filled = X.fillna(X.median())
    yv = y.to_numpy(dtype=float)
    known = KNOWN_RELATIONS.get(target, {})
    records = []
    for col in X.columns:
        x = filled[col].to_numpy(dtype=float)
        rho = float(spearmanr(x, yv).statistic) if np.ptp(x) > 0 else 0.0
        r2 = _tree_r2(x[:, None], yv, depth=6, random_state=random_state) if np.ptp(x) > 0 else 0.0
        records.append(
            {
                "feature": col,
                "relation": known.get(col, ""),
                "known": col in known,
                "spearman": rho,
                "tree_r2": r2,
                "pair": "",
                "pair_r2": np.nan,
            }
        )
    table = pd.DataFrame.from_records(records).set_index("feature")
    single = (table["tree_r2"] >= TREE_R2) | (table["spearman"].abs() >= SPEARMAN)

    # Pairs among features not flagged already (a flagged partner explains the fit by itself):
    # each of the most predictive candidates with every other unflagged feature.
    unflagged = table.loc[~single & ~table["known"]].sort_values("tree_r2", ascending=False).index
    candidates = list(unflagged[:PAIR_CANDIDATES])
    for a in candidates:
        best = (None, -np.inf)
        for b in unflagged:
            if b == a:
                continue
            pair_x = filled[[a, b]].to_numpy(dtype=float)
            r2 = _tree_r2(pair_x, yv, depth=10, random_state=random_state)
            if r2 > best[1]:
                best = (b, r2)
        if best[0] is not None and best[1] >= TREE_R2:
            table.loc[a, "pair"] = best[0]
            table.loc[a, "pair_r2"] = best[1]
    in_pair = table["pair"] != ""
    table["flagged"] = table["known"] | single | in_pair
    evidence = []
    for col, row in table.iterrows():
        parts = [f"Spearman {row['spearman']:+.3f}", f"one-feature tree R² {row['tree_r2']:.3f}"]
        if row["pair"]:
            parts.append(f"with {row['pair']!r} a two-feature tree reaches R² {row['pair_r2']:.3f}")
        evidence.append("; ".join(parts))
        if not row["relation"]:
            if single[col]:
                table.loc[col, "relation"] = "determines the target on its own (data)"
            elif row["pair"]:
                table.loc[col, "relation"] = (
                    f"determines the target together with {row['pair']!r} (data)"
                )
    table["evidence"] = evidence
    return table
