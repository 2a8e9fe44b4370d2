"""The result types of :func:`~degbridge.compare`: :class:`Comparison` and :class:`BestModel`."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..io.files import results_dir
from ..io.table import DETable
from ..io.table_reader import read_table
from ..r import to_r
from .engine import Split

__all__ = ["BestModel", "Comparison", "FittedData"]


@dataclass
class BestModel:
    """The selected model: its name and the pipeline fitted on the training genes."""

    name: str
    pipeline: Any
    selected_on: str

    def predict(self, X):
        return self.pipeline.predict(np.asarray(X, dtype=float))

    def __repr__(self) -> str:
        return f"BestModel(name={self.name!r}, selected_on={self.selected_on!r})"


@dataclass(frozen=True)
class FittedData:
    """What :attr:`Comparison.predictions` is built from, on first access.

    Attributes
    ----------
    split
        The genes, target, training/test positions and CV folds.
    X
        The feature matrix the models were fitted on (genes × ``Comparison.features``).
    test_pred
        The best model's predictions of the test genes (from its refit).
    """

    split: Split
    X: np.ndarray
    test_pred: np.ndarray


@dataclass(eq=False)
class Comparison:
    """The result of :func:`~degbridge.compare`.

    Attributes
    ----------
    target
        The predicted column.
    features
        The feature columns the models were fitted on.
    leaderboard
        One row per model: CV metrics (mean and sd over folds), test metrics, fit time,
        status and notes; sorted best first; ``best`` marks the selected model.
    best
        :class:`BestModel` (name, fitted pipeline, what it was selected on).
    predictions
        Per gene: ``observed``, ``predicted`` (best model refitted on the training genes),
        ``oof`` (its out-of-fold prediction, training genes only), ``split``, ``fold`` (CV
        fold of a training gene, -1 for test genes), ``residual`` (observed - predicted).
        Built on first access (a prediction pass over the training genes).
    importances
        Per model × feature: ``impurity`` (tree models), ``coef`` (standardised coefficient,
        linear models), ``perm_mean``/``perm_sd`` (permutation importance on the test genes,
        drop in R²).
    leakage
        Per feature: known relation to the target, data evidence, ``flagged`` and ``action``.
    leakage_scores
        The best model's scores with and without the flagged features (None unless
        ``leakage="flag"`` flagged some).
    preprocessing
        What was dropped, imputed, clipped, and why.
    outliers
        Per column: number of genes with |robust z| > 3.5 and examples.
    cv_scores
        Per model × fold metrics.
    oof
        Out-of-fold predictions of every model (training genes × models).
    models
        ``{name: pipeline}`` of the selected model only, refitted on the training genes (the
        other models' fitted pipelines stay in the worker processes; their scores and
        importances are in the tables).
    params
        The arguments, the split and versions.
    extra
        The extra tables given to :func:`~degbridge.compare` (reused by :meth:`predict`).
    fitted
        What ``predictions`` is built from (None for a comparison read back from a folder);
        dropped when pickled, once ``predictions`` is built.
    """

    target: str
    features: list[str]
    leaderboard: pd.DataFrame
    best: BestModel
    importances: pd.DataFrame
    leakage: pd.DataFrame
    leakage_scores: pd.DataFrame | None
    preprocessing: pd.DataFrame
    outliers: pd.DataFrame | None
    cv_scores: pd.DataFrame
    oof: pd.DataFrame | None
    models: dict[str, Any]
    params: dict[str, Any]
    fitted: FittedData | None = field(default=None, repr=False)
    extra: Any = field(default=None, repr=False)

    @cached_property
    def predictions(self) -> pd.DataFrame | None:
        """Per gene: observed, predicted, oof, split, fold, residual (see the class docs)."""
        if self.fitted is None:
            return None
        split = self.fitted.split
        preds_all = np.empty(split.n)
        preds_all[split.test_idx] = self.fitted.test_pred
        preds_all[split.train_idx] = self.best.pipeline.predict(self.fitted.X[split.train_idx])
        best_oof = (
            self.oof[self.best.name].reindex(split.genes).to_numpy() if split.folds else np.nan
        )
        is_test = np.isin(np.arange(split.n), split.test_idx)
        frame = pd.DataFrame(
            {
                "observed": split.y,
                "predicted": preds_all,
                "oof": best_oof,
                "split": np.where(is_test, "test", "train"),
            },
            index=pd.Index(split.genes, name="gene"),
        )
        fold_of = np.full(split.n, -1)
        for k, (_, va) in enumerate(split.folds):
            fold_of[split.train_idx[va]] = k
        frame["fold"] = fold_of  # CV fold of each training gene; -1 for test genes
        frame["residual"] = frame["observed"] - frame["predicted"]
        return frame

    def __getstate__(self) -> dict[str, Any]:
        # pickle the built predictions, not the feature matrix they are built from
        state = dict(self.__dict__)
        state["predictions"] = self.predictions
        state["fitted"] = None
        return state

    def __repr__(self) -> str:
        lb = self.leaderboard
        ok = lb[lb["status"] == "ok"]
        head = ok[["model", "cv_r2_mean", "test_r2"]].head(3).to_string(index=False)
        return (
            f"Comparison(target={self.target!r}, genes={self.params['n_genes']}, "
            f"features={len(self.features)}, models={len(lb)}, best={self.best.name!r})\n{head}"
        )

    @property
    def honest_score(self) -> pd.Series | None:
        """The best model's score on the most honest feature set that has features.

        External features only, else without flagged features, else all features (see
        ``leakage_scores``). None when the audit was skipped (``leakage="keep"``).
        """
        scores = self.leakage_scores
        if scores is None or not len(scores) or "honest" not in scores.columns:
            return None
        row = scores[scores["honest"].astype(bool)]
        return row.iloc[0] if len(row) else None

    def summary(self) -> str:
        """A few lines: the most honest score first, then the best model, then leakage."""
        lb = self.leaderboard.set_index("model")
        row = lb.loc[self.best.name]
        lines = [
            f"target {self.target!r}: {self.params['n_genes']} genes, {len(self.features)} features, "
            f"{len(lb)} models; split: {self.params.get('split', 'random genes')}",
        ]
        honest = self.honest_score
        if honest is not None:
            key, label = (
                ("cv_r2_mean", "CV R²")
                if np.isfinite(honest["cv_r2_mean"])
                else ("test_r2", "test R²")
            )
            lines.append(
                f"most honest score ({honest.name}, {int(honest['n_features'])} features): "
                f"{label} {honest[key]:.3f} with {self.best.name}"
            )
        lines.append(
            f"best: {self.best.name} (selected on {self.best.selected_on}) "
            f"CV R² {row['cv_r2_mean']:.3f} ± {row['cv_r2_sd']:.3f}, test R² {row['test_r2']:.3f}"
            + (" (all features)" if honest is not None else "")
        )
        cap = self.params.get("max_fit_samples")
        n_train = (
            int((self.predictions["split"] == "train").sum()) if "split" in self.predictions else 0
        )
        if cap is not None and n_train > cap:
            lines.append(
                f"models fitted on {cap:,} random training genes of {n_train:,} "
                "(max_fit_samples; the mean baseline and your own estimators on all)"
            )
        flagged = list(self.leakage.index[self.leakage["flagged"]]) if len(self.leakage) else []
        if flagged:
            lines.append(f"leakage: {flagged} flagged ({self.params['leakage']})")
        scores = self.leakage_scores
        if scores is not None and len(scores) > 1:
            parts = []
            for label, r in scores.iterrows():
                value = r["cv_r2_mean"] if np.isfinite(r["cv_r2_mean"]) else r["test_r2"]
                shown = f"{value:.3f}" if np.isfinite(value) else "n/a (no features)"
                parts.append(f"{label}: {shown}")
            lines.append("  scores: " + "; ".join(parts))
        return "\n".join(lines)

    def predict(self, other, *, target: str | None = None, extra=None):
        """Apply the best model to another table's genes and score it there.

        Fit on one study (or contrast), predict another: the other table's ``target``
        (default: this comparison's) is compared with the model's predictions for the genes
        both tables share, beside two baselines — this table's own target used as the
        prediction, and the training mean — for all shared genes and for the shared genes
        the model never saw.

        Parameters
        ----------
        other
            A DE table (DETable, DataFrame indexed by gene ID).
        target
            The other table's column to predict; default this comparison's target.
        extra
            Feature tables for the other table's genes; default the ones this comparison
            was given (annotation features, for instance, apply to any study).

        Returns
        -------
        :class:`~degbridge.comparison.transfer.Transfer` (``scores``, ``predictions``,
        ``overlap``, ``summary()``).
        """
        from .transfer import transfer

        return transfer(self, other, target=target, extra=extra)

    #: Tables whose row labels carry meaning (genes, features, feature sets).
    INDEXED = ("predictions", "leakage", "leakage_scores")

    def tables(self) -> dict[str, pd.DataFrame]:
        """The comparison's tables by name; row labels kept only where they mean something
        (``predictions``: genes, ``leakage``: features, ``leakage_scores``: feature sets)."""
        tables = {
            "leaderboard": self.leaderboard,
            "predictions": self.predictions,
            "importances": self.importances,
            "leakage": self.leakage,
            "preprocessing": self.preprocessing,
            "outliers": self.outliers if self.outliers is not None else pd.DataFrame(),
            "cv_scores": self.cv_scores,
        }
        if self.leakage_scores is not None:
            tables["leakage_scores"] = self.leakage_scores
        return {
            name: frame if name in self.INDEXED or frame is None else frame.reset_index(drop=True)
            for name, frame in tables.items()
        }

    def to_r(self):
        """A named R list: one data.frame per table (see :meth:`tables`) and ``params``."""
        return to_r(self)

    def write(self, folder, *, table=None, overwrite: bool = False) -> Path:
        """Write the tables as TSV, ``params.json`` and ``best_model.txt`` into a folder.

        The folder must be new, empty or written by degbridge before (``overwrite=True``
        allows another existing folder; only files of the written names are replaced). The
        write is atomic (see :func:`degbridge._io.results_dir`). With ``table``, the DE table
        is written too, as ``de_table.tsv``. For the HTML report as well, use
        :func:`degbridge.write_results`. :meth:`read` reads the folder back.
        """
        folder = Path(folder)
        with results_dir(folder, overwrite=overwrite) as tmp:
            self.write_files(tmp, table=table)
        return folder

    def write_files(self, folder: Path, *, table=None) -> None:
        """The files of :meth:`write`, written into an existing (staging) folder."""
        for name, frame in self.tables().items():
            frame.to_csv(
                folder / f"{name}.tsv", sep="\t", index=name in self.INDEXED,
                lineterminator="\n", na_rep="NA",
            )  # fmt: skip
        text = json.dumps(self.params, indent=2, default=_json_default) + "\n"
        (folder / "params.json").write_text(text, encoding="utf-8")
        (folder / "best_model.txt").write_text(f"{self.best.name}\t{self.best.selected_on}\n")
        if table is not None:
            DETable(table).write(folder / "de_table.tsv")

    @classmethod
    def read(cls, folder) -> tuple[Comparison, DETable | None]:
        """Read a folder written by :meth:`write` back: ``(comparison, de_table or None)``.

        The tables and parameters come back; fitted models do not (``best.pipeline`` is
        None, so :meth:`predict` needs a new comparison).
        """
        folder = Path(folder)
        if not (folder / "leaderboard.tsv").is_file() or not (folder / "params.json").is_file():
            msg = f"{str(folder)!r} is not a degbridge results folder (no leaderboard.tsv / params.json)"
            raise ValueError(msg)
        params = json.loads((folder / "params.json").read_text(encoding="utf-8"))
        best_name, selected_on = (folder / "best_model.txt").read_text().strip().split("\t")
        leakage = _read_tsv(folder, "leakage", index=True)
        if leakage is not None and "flagged" in leakage.columns:
            leakage["flagged"] = leakage["flagged"].astype(bool)
        scores = _read_tsv(folder, "leakage_scores", index=True)
        if scores is not None and "honest" in scores.columns:
            scores["honest"] = scores["honest"].astype(bool)
        res = cls(
            target=params["target"],
            features=params["features"],
            leaderboard=_read_tsv(folder, "leaderboard"),
            best=BestModel(best_name, None, selected_on),
            importances=_read_tsv(folder, "importances"),
            leakage=leakage if leakage is not None else pd.DataFrame(),
            leakage_scores=scores,
            preprocessing=_read_tsv(folder, "preprocessing"),
            outliers=_read_tsv(folder, "outliers"),
            cv_scores=_read_tsv(folder, "cv_scores"),
            oof=None,
            models={},
            params=params,
        )
        # predictions is computed from the fitted models, which a folder does not hold: the
        # stored table becomes that (cached) property's value
        res.__dict__["predictions"] = _read_tsv(folder, "predictions", index=True)
        path = folder / "de_table.tsv"
        return res, read_table(path) if path.is_file() else None


def _read_tsv(folder: Path, name: str, index: bool = False) -> pd.DataFrame | None:
    path = folder / f"{name}.tsv"
    if not path.is_file() or path.stat().st_size <= 1:
        return None
    return pd.read_csv(
        path, sep="\t", float_precision="round_trip", keep_default_na=False,
        na_values=["NA"], index_col=0 if index else None,
    )  # fmt: skip


def _json_default(value):
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


@to_r.register
def _(res: Comparison):
    return to_r({**res.tables(), "params": res.params})
