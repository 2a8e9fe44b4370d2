"""Prediction across studies or contrasts: a model fitted on one table, scored on another.

:meth:`Comparison.predict <degbridge.Comparison.predict>` applies the selected model to the
genes of another DE table and scores it against that table's own target, beside the natural
baselines: the training table's target used as the prediction (two studies that agree need no
model) and the training mean. Scores are given for every shared gene and for the shared genes
the model never saw (the comparison's test genes): the second is the honest one.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._exceptions import DegbridgeWarning
from .preprocess import gene_frame, join_extra, sample_ids

__all__ = ["Transfer", "transfer"]

MODEL = "model"
BASE_TARGET = "baseline: training table's target"
BASE_MEAN = "baseline: training mean"


@dataclass(eq=False)
class Transfer:
    """A comparison's best model applied to another table.

    Attributes
    ----------
    scores
        Rows ``(genes, predictor)``: ``genes`` is ``"all shared"`` or ``"unseen (test
        genes)"``; ``predictor`` the model, the training table's target, or the training
        mean. Columns ``n_genes``, ``r2``, ``spearman``, ``rmse``.
    predictions
        Per shared gene: ``observed`` (the other table's target), ``predicted``,
        ``training_target``, ``split`` (``train``/``test`` in the comparison).
    overlap
        Gene counts (training table, other table, shared, shared test genes) and, when both
        tables come from degbridge, the number of samples they share.
    """

    target: str
    model: str
    scores: pd.DataFrame
    predictions: pd.DataFrame
    overlap: dict[str, Any]

    def summary(self) -> str:
        o = self.overlap
        lines = [
            f"{self.model} predicting {self.target!r} of another table: {o['n_shared']} shared "
            f"genes ({o['n_shared_test']} unseen) of {o['n_training']} training and "
            f"{o['n_other']} other genes"
        ]
        for (genes, predictor), row in self.scores.iterrows():
            rho = f"{row['spearman']:+.3f}" if np.isfinite(row["spearman"]) else "n/a (constant)"
            lines.append(f"  {genes:>20} | {predictor:<34} R² {row['r2']:+.3f}  Spearman {rho}")
        if o.get("shared_samples"):
            lines.append(f"  the two tables share {o['shared_samples']} samples")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()


def _metrics(obs: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    from scipy.stats import spearmanr
    from sklearn.metrics import mean_squared_error, r2_score

    if len(obs) < 3:
        return {"n_genes": len(obs), "r2": np.nan, "spearman": np.nan, "rmse": np.nan}
    rho = spearmanr(obs, pred).statistic if np.ptp(pred) > 0 else np.nan
    return {
        "n_genes": len(obs),
        "r2": float(r2_score(obs, pred)),
        "spearman": float(rho),
        "rmse": float(np.sqrt(mean_squared_error(obs, pred))),
    }


def transfer(res, other, *, target: str | None = None, extra=None) -> Transfer:
    """Score ``res``'s best model on another table (see :meth:`Comparison.predict`)."""
    if res.best.pipeline is None:
        msg = "this comparison has no fitted model (read back from a folder?): run compare again"
        raise ValueError(msg)
    target = res.target if target is None else target
    frame = gene_frame(other, "other table")
    if target not in frame.columns:
        msg = f"the other table has no target column {target!r}; its columns are {list(map(str, frame.columns))}"
        raise ValueError(msg)
    training = res.predictions
    obs = pd.to_numeric(frame[target], errors="coerce")
    shared = [g for g in training.index if g in obs.index and np.isfinite(obs.loc[g])]
    if not shared:
        msg = (
            f"no genes shared: the training table has {len(training)} genes, the other table "
            f"{int(obs.notna().sum())} with a {target!r} value (IDs look like "
            f"{list(training.index[:3])} and {list(frame.index[:3])})"
        )
        raise ValueError(msg)
    extra = res.extra if extra is None else extra
    if extra is not None and len(extra):
        frame = join_extra(frame, extra)
    missing = [f for f in res.features if f not in frame.columns]
    if missing:
        msg = (
            f"the other table lacks the model's features {missing}; give them as columns or "
            "with extra= (the comparison's own extra tables are used by default)"
        )
        raise ValueError(msg)
    X = frame.loc[shared, res.features].to_numpy(dtype=float)
    preds = pd.DataFrame(
        {
            "observed": obs.loc[shared].to_numpy(dtype=float),
            "predicted": res.best.predict(X),
            "training_target": training.loc[shared, "observed"].to_numpy(dtype=float),
            "split": training.loc[shared, "split"].to_numpy(),
        },
        index=pd.Index(shared, name="gene"),
    )
    train_mean = float(training.loc[training["split"] == "train", "observed"].mean())
    rows = []
    for genes, mask in (
        ("all shared", np.ones(len(preds), dtype=bool)),
        ("unseen (test genes)", (preds["split"] == "test").to_numpy()),
    ):
        part = preds[mask]
        o = part["observed"].to_numpy()
        for predictor, p in (
            (MODEL, part["predicted"].to_numpy()),
            (BASE_TARGET, part["training_target"].to_numpy()),
            (BASE_MEAN, np.full(len(part), train_mean)),
        ):
            name = res.best.name if predictor == MODEL else predictor
            rows.append({"genes": genes, "predictor": name, **_metrics(o, p)})
    scores = pd.DataFrame(rows).set_index(["genes", "predictor"])
    overlap = {
        "n_training": len(training),
        "n_other": int(obs.notna().sum()),
        "n_shared": len(shared),
        "n_shared_test": int((preds["split"] == "test").sum()),
    }
    _check_samples(res, other, overlap)
    return Transfer(target, res.best.name, scores, preds, overlap)


def _check_samples(res, other, overlap: dict[str, Any]) -> None:
    mine, theirs = res.params.get("samples"), sample_ids(other)
    if not mine or theirs is None:
        return
    n = len(set(mine) & set(theirs))
    overlap["shared_samples"] = n
    if n:
        warnings.warn(
            f"the other table was computed from {n} of the training table's samples: their "
            "shared noise makes the tables agree beyond their biology (test each contrast on "
            "disjoint reference samples, degbridge.split_reference)",
            DegbridgeWarning,
            stacklevel=3,
        )
