"""Leakage audit: which features are transforms of the target rather than evidence about it.

In a limma table ``t``, ``P.Value``, ``adj.P.Val`` and ``B`` come from one moderated t-test:
``t = logFC / SE``, the P-values are monotone in ``|t|`` and ``B`` grows with ``|t|``. A model
that predicts ``B`` from ``t`` learns algebra, not biology. The audit

1. names the known same-test relations of the target (by column name);
2. detects others from the data, sign-symmetric relations included (``B`` grows with
   ``|t|``, not with ``t``): a single feature whose rank correlation with the target — of
   ``x``, ``|x|`` against ``y`` and ``|y|`` — is ≥ 0.95 in absolute value, or whose
   cross-validated monotone fit (isotonic regression on ``x`` or ``|x|``) or one-feature
   shallow tree reaches R² ≥ 0.8;
3. checks whether a pair of otherwise unflagged features reconstructs the target: a ratio or
   product (``|a|/b``, ``a/b``, ``a·b``, e.g. ``logFC`` over a within-group SD is ``t``)
   whose monotone fit reaches R² ≥ 0.75, or a two-feature tree that does, while beating each
   feature alone.

Thresholds are R² and rank correlations, not P-values: a deterministic relation is caught
with 300 genes as with 30,000 (no threshold shrinks with the number of genes). A biological
feature explaining 80 % of a DE statistic's variance on its own would be remarkable; the
audit flags it and the comparison reports the scores with and without it, so nothing is
hidden either way.

Each feature also carries a **provenance** (``test``: an output of the same test; ``same-
samples``: computed from the samples of the test, e.g. ``logFC``, ``AveExpr``, expression
summaries; ``external``: known independently, e.g. annotation or another study). It runs on
the training genes only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "AUDIT_COLUMNS",
    "KNOWN_RELATIONS",
    "MONOTONE_R2",
    "PROVENANCES",
    "SPEARMAN",
    "TEST_OUTPUTS",
    "TREE_R2",
    "audit",
    "default_provenance",
]

#: R² of a one- or two-feature fit (cross-validated) from which a feature is flagged.
TREE_R2 = 0.8
MONOTONE_R2 = 0.8
#: Rank correlation (of x or |x| with y or |y|) from which a feature is flagged.
SPEARMAN = 0.95
#: Pairs are screened by rank correlation before the (slower) monotone fit.
PAIR_SCREEN = 0.7
#: R² (cross-validated) from which a pair reconstructs the target.
PAIR_R2 = 0.75
#: How much a pair must beat each of its features alone (R²) to count as a reconstruction.
PAIR_GAIN = 0.05
MAX_GENES = 20000
MAX_PAIR_GENES = 5000
PAIR_CANDIDATES = 8

PROVENANCES = ("test", "same-samples", "external")
#: The columns of :func:`audit`'s table (besides the ``feature`` index).
AUDIT_COLUMNS = (
    "provenance", "relation", "known", "spearman", "abs_spearman", "monotone_r2", "tree_r2",
    "pair", "pair_form", "pair_r2", "flagged", "evidence",
)  # fmt: skip
#: Columns a limma/edgeR/DESeq2 test outputs besides the effect size.
TEST_OUTPUTS = frozenset(
    {"t", "P.Value", "adj.P.Val", "B", "F", "CI.L", "CI.R", "stat", "pvalue", "padj", "lfcSE",
     "PValue", "FDR", "LR", "z"}
)  # fmt: skip
#: Columns computed from the same samples as the test (not outputs of the test itself).
SAME_SAMPLES = frozenset({"logFC", "AveExpr", "logCPM", "baseMean", "log2FoldChange"})

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


def default_provenance(column: str) -> str:
    """``test`` for a test output, else ``same-samples`` (external needs a declaration)."""
    return "test" if column in TEST_OUTPUTS else "same-samples"


def _ranks(v: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata

    r = rankdata(v)
    r -= r.mean()
    norm = np.sqrt((r**2).sum())
    return r / norm if norm > 0 else r


def _rank_corr(rx: np.ndarray, ry: np.ndarray) -> float:
    return float(rx @ ry)


def _folds(n: int, random_state):
    from sklearn.model_selection import KFold

    return KFold(n_splits=3, shuffle=True, random_state=random_state)


def _tree_r2(x: np.ndarray, y: np.ndarray, depth: int, random_state) -> float:
    from sklearn.model_selection import cross_val_score
    from sklearn.tree import DecisionTreeRegressor

    tree = DecisionTreeRegressor(max_depth=depth, min_samples_leaf=5, random_state=random_state)
    return float(
        np.mean(cross_val_score(tree, x, y, cv=_folds(len(y), random_state), scoring="r2"))
    )


def _monotone_r2(z: np.ndarray, y: np.ndarray, rho: float, random_state) -> float:
    """Cross-validated R² of an isotonic fit of y on z, in the direction of rho."""
    from sklearn.isotonic import IsotonicRegression

    scores = []
    iso = IsotonicRegression(increasing=bool(rho >= 0), out_of_bounds="clip")
    for fit, val in _folds(len(y), random_state).split(z):
        pred = iso.fit(z[fit], y[fit]).predict(z[val])
        resid = ((y[val] - pred) ** 2).sum()
        total = ((y[val] - y[val].mean()) ** 2).sum()
        scores.append(1 - resid / total if total > 0 else 0.0)
    return float(np.mean(scores))


def _best_form(forms: dict[str, np.ndarray], ry: np.ndarray, ray: np.ndarray):
    """The transform of a feature (or pair) with the strongest rank relation to y or |y|."""
    best = ("", 0.0, None, False)
    for name, z in forms.items():
        if not np.all(np.isfinite(z)) or np.ptp(z) == 0:
            continue
        rz = _ranks(z)
        for on_abs, target_ranks in ((False, ry), (True, ray)):
            rho = _rank_corr(rz, target_ranks)
            if abs(rho) > abs(best[1]):
                best = (name, rho, z, on_abs)
    return best


def _single(x: np.ndarray, y: np.ndarray, ry, ray, random_state) -> dict:
    if np.ptp(x) == 0:
        return {"spearman": 0.0, "form": "", "form_rho": 0.0, "monotone_r2": 0.0, "tree_r2": 0.0}
    rho = _rank_corr(_ranks(x), ry)
    form, form_rho, z, on_abs = _best_form({"x": x, "|x|": np.abs(x)}, ry, ray)
    # a form related to |y| (e.g. a P-value with the target logFC) is scored on |y|: it
    # determines the target's size, if not its sign
    target = np.abs(y) if on_abs else y
    mono = _monotone_r2(z, target, form_rho, random_state) if z is not None else 0.0
    return {
        "spearman": rho,
        "form": form.replace("x", "{x}") + (" vs |target|" if on_abs else ""),
        "form_rho": form_rho,
        "monotone_r2": mono,
        "tree_r2": _tree_r2(x[:, None], y, depth=6, random_state=random_state),
    }


def _pair_forms(a: np.ndarray, b: np.ndarray) -> dict[str, np.ndarray]:
    forms = {"a·b": a * b, "|a|·|b|": np.abs(a * b)}
    with np.errstate(divide="ignore", invalid="ignore"):
        if np.all(np.abs(b) > 0):
            forms["a/b"] = a / b
            forms["|a|/|b|"] = np.abs(a) / np.abs(b)
        if np.all(np.abs(a) > 0):
            forms["b/a"] = b / a
            forms["|b|/|a|"] = np.abs(b) / np.abs(a)
    return forms


def _pair(a, b, y, ry, ray, random_state) -> tuple[str, float]:
    """The best ratio/product form of (a, b) and its monotone R² on y (0 when screened out)."""
    form, rho, z, _ = _best_form(_pair_forms(a, b), ry, ray)
    if z is None or abs(rho) < PAIR_SCREEN:
        return form, 0.0
    return form, _monotone_r2(z, y, rho, random_state)


def audit(
    X: pd.DataFrame,
    y: pd.Series,
    target: str,
    *,
    provenance: dict[str, str] | None = None,
    random_state=0,
) -> pd.DataFrame:
    """One row per feature: provenance, known relation, data evidence, and whether it is flagged.

    Columns: ``provenance`` (``test``/``same-samples``/``external``), ``relation`` (text),
    ``known`` (named same-test relation), ``spearman`` (signed, of ``x`` with ``y``),
    ``abs_spearman`` (strongest of ``x``/``|x|`` against ``y``/``|y|``), ``monotone_r2``
    (isotonic fit, 3-fold CV), ``tree_r2`` (one-feature tree, 3-fold CV), ``pair``,
    ``pair_form`` and ``pair_r2`` (a partner with which a ratio/product or a two-feature tree
    reconstructs the target), ``flagged``, ``evidence``.
    """
    rng = np.random.default_rng(random_state)
    if len(y) > MAX_GENES:
        rows = np.sort(rng.choice(len(y), size=MAX_GENES, replace=False))
        X, y = X.iloc[rows], y.iloc[rows]
    provenance = dict(provenance or {})
    filled = X.fillna(X.median())
    yv = y.to_numpy(dtype=float)
    ry, ray = _ranks(yv), _ranks(np.abs(yv))
    known = KNOWN_RELATIONS.get(target, {})
    records = []
    for col in X.columns:
        x = filled[col].to_numpy(dtype=float)
        single = _single(x, yv, ry, ray, random_state)
        records.append(
            {
                "feature": col,
                "provenance": provenance.get(col, default_provenance(col)),
                "relation": known.get(col, ""),
                "known": col in known,
                "spearman": single["spearman"],
                "abs_spearman": single["form_rho"],
                "monotone_r2": single["monotone_r2"],
                "tree_r2": single["tree_r2"],
                "pair": "",
                "pair_form": "",
                "pair_r2": np.nan,
                "_form": single["form"],
            }
        )
    table = pd.DataFrame.from_records(records).set_index("feature")
    single = (
        (table["tree_r2"] >= TREE_R2)
        | (table["monotone_r2"] >= MONOTONE_R2)
        | (table["abs_spearman"].abs() >= SPEARMAN)
    )
    _pairs(table, single, filled, yv, ry, ray, random_state)
    in_pair = table["pair"] != ""
    table["flagged"] = table["known"] | single | in_pair
    _describe(table, single)
    return table.drop(columns="_form")


def _pairs(table, single, filled, yv, ry, ray, random_state) -> None:
    """Pairs that reconstruct the target better than either feature alone.

    Each of the most predictive candidates is tried with every other feature (features with
    a named relation excepted: they are flagged anyway). A pair counts when its fit reaches
    R² ≥ ``PAIR_R2`` *and* beats both features' own fits by ``PAIR_GAIN``: a strong feature with a
    useless partner does not flag the partner, an ingredient with its complement does
    (``stat`` alone R² 0.8, ``stat·se`` R² 1.0: ``se`` is flagged too).
    """
    pool = table.loc[~table["known"]]
    alone = pool[["monotone_r2", "tree_r2"]].max(axis=1)
    strength = alone + pool["abs_spearman"].abs()
    order = strength.sort_values(ascending=False, kind="stable").index
    if len(yv) > MAX_PAIR_GENES:  # a deterministic pair shows on 5,000 genes as on 20,000
        rows = np.sort(
            np.random.default_rng(random_state).choice(len(yv), MAX_PAIR_GENES, replace=False)
        )
        filled, yv = filled.iloc[rows], yv[rows]
        ry, ray = _ranks(yv), _ranks(np.abs(yv))
    done: dict[frozenset, tuple[str, float]] = {}
    for a in order[:PAIR_CANDIDATES]:
        xa = filled[a].to_numpy(dtype=float)
        for b in order:
            if b == a:
                continue
            key = frozenset((a, b))
            if key not in done:
                xb = filled[b].to_numpy(dtype=float)
                form, r2 = _pair(xa, xb, yv, ry, ray, random_state)
                tree = _tree_r2(np.column_stack([xa, xb]), yv, depth=10, random_state=random_state)
                done[key] = ("two-feature tree", tree) if tree > r2 else (form, r2)
            elif done[key][0] != "two-feature tree":  # computed from b's side
                done[key] = (_swap(done[key][0]), done[key][1])
            form, r2 = done[key]
            if r2 < PAIR_R2 or r2 < max(alone[a], alone[b]) + PAIR_GAIN:
                continue
            # every partner that completes a counts (logFC with AveExpr, and with a
            # within-group SD: both are ingredients of t); each row keeps its best pair
            for one, other, shown in ((a, b, form), (b, a, _swap(form))):
                if table.loc[one, "pair"] == "" or table.loc[one, "pair_r2"] < r2:
                    table.loc[one, ["pair", "pair_form", "pair_r2"]] = [other, shown, r2]


def _swap(form: str) -> str:
    """The same ratio/product form read from b's side (``a/b`` → ``b/a``)."""
    if form not in _pair_forms(np.ones(1), np.ones(1)):
        return form  # "two-feature tree" is symmetric
    return form.replace("a", "\0").replace("b", "a").replace("\0", "b")


def _describe(table: pd.DataFrame, single: pd.Series) -> None:
    evidence = []
    for col, row in table.iterrows():
        parts = [
            f"Spearman {row['spearman']:+.3f}",
            f"strongest rank relation {row['abs_spearman']:+.3f} ({row['_form'].format(x=col)})",
            f"monotone fit R² {row['monotone_r2']:.3f}",
            f"one-feature tree R² {row['tree_r2']:.3f}",
        ]
        if row["pair"]:
            form = row["pair_form"].replace("a", "{a}").replace("b", "{b}")
            shown = form.format(a=col, b=row["pair"]) if "{" in form else row["pair_form"]
            parts.append(f"with {row['pair']!r} ({shown}) R² {row['pair_r2']:.3f}")
        evidence.append("; ".join(parts))
        if not row["relation"]:
            if single[col]:
                table.loc[col, "relation"] = "determines the target on its own (data)"
            elif row["pair"]:
                table.loc[col, "relation"] = (
                    f"determines the target together with {row['pair']!r} (data)"
                )
    table["evidence"] = evidence
