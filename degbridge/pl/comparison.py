"""Plots of a model comparison (:class:`degbridge.Comparison`): leaderboard, predicted vs
observed, residuals, importances and the importance heatmap.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from ._base import (
    finish,
    literal,
    new_axes,
    plain_text,
)


def check_comparison(res, attrs: Sequence[str]) -> None:
    missing = [a for a in attrs if not hasattr(res, a)]
    if missing:
        msg = f"expected a degbridge Comparison (from degbridge.compare), got {type(res).__name__}"
        raise TypeError(msg)


def leaderboard(
    res,
    *,
    title: str | None = None,
    ax=None,
    show: bool | None = None,
    save: str | os.PathLike | None = None,
):
    """Cross-validated R² per model (bars ± sd over folds; test R² as diamonds).

    The best model's bar is dark blue; R² below −1 is drawn at −1. Models that failed are
    left out. Parameters ``ax, show, save``: see :mod:`degbridge.pl`; ``title`` drawn
    literally. Returns the Axes.
    """
    check_comparison(res, ("leaderboard", "best"))
    lb = res.leaderboard[res.leaderboard["status"] == "ok"]
    key = "cv_r2_mean" if lb["cv_r2_mean"].notna().any() else "test_r2"
    lb = lb.sort_values(key)
    yy = np.arange(len(lb))
    colors = ["#12355b" if m == res.best.name else "#829ab1" for m in lb["model"]]
    xerr = lb["cv_r2_sd"].fillna(0).to_numpy() if key == "cv_r2_mean" else None
    with plain_text():
        ax = new_axes(ax, (5.6, 0.35 * len(lb) + 1.4))
        ax.barh(yy, lb[key].clip(lower=-1), xerr=xerr, color=colors, ecolor="#334e68", capsize=2)
        ax.scatter(lb["test_r2"].clip(lower=-1), yy, marker="D", s=18, color="#f0b429", zorder=3,
                   label="test R²")  # fmt: skip
        ax.set_yticks(yy, [literal(m) for m in lb["model"]])
        ax.set_xlabel("R² (CV mean ± sd; diamonds: test)")
        ax.axvline(0, color="#52606d", lw=0.8)
        ax.legend(frameon=False, fontsize=8, loc="lower right")
        return finish(ax, title, show, save)


def predicted_vs_observed(
    res,
    *,
    title: str | None = None,
    ax=None,
    show: bool | None = None,
    save: str | os.PathLike | None = None,
):
    """The best model's predictions against the observed target.

    Training genes show out-of-fold predictions (grey-blue; in-sample when ``cv=None``), test
    genes the model refitted on all training genes (red); the diagonal is y = x. Parameters
    ``ax, show, save``: see :mod:`degbridge.pl`; ``title`` drawn literally. Returns the Axes.
    """
    check_comparison(res, ("predictions", "target"))
    p = res.predictions
    train = (p["split"] == "train").to_numpy()
    has_oof = bool(p["oof"].notna().any())
    yhat = p["oof"].where(train, p["predicted"]) if has_oof else p["predicted"]
    with plain_text():
        ax = new_axes(ax, (5.2, 3.8))
        ax.scatter(p["observed"][train], yhat[train], s=4, alpha=0.4, c="#829ab1", linewidths=0,
                   label="training genes (out-of-fold)" if has_oof
                   else "training genes (in-sample: cv=None)")  # fmt: skip
        ax.scatter(p["observed"][~train], yhat[~train], s=6, alpha=0.8, c="#d64545",
                   linewidths=0, label="test genes")  # fmt: skip
        lo, hi = np.nanmin(p["observed"]), np.nanmax(p["observed"])
        ax.plot([lo, hi], [lo, hi], color="#1f2933", lw=0.8)
        ax.set_xlabel(f"observed {literal(res.target)}")
        ax.set_ylabel(f"predicted {literal(res.target)}")
        ax.legend(frameon=False, fontsize=8, markerscale=3)
        return finish(ax, title, show, save)


def residuals(
    res,
    *,
    title: str | None = None,
    ax=None,
    show: bool | None = None,
    save: str | os.PathLike | None = None,
):
    """Residuals (observed − predicted) of the best model on the held-out test genes.

    Parameters ``ax, show, save``: see :mod:`degbridge.pl`; ``title`` drawn literally.
    Returns the Axes.
    """
    check_comparison(res, ("predictions", "target"))
    p = res.predictions
    test = (p["split"] == "test").to_numpy()
    with plain_text():
        ax = new_axes(ax, (5.2, 3.8))
        ax.scatter(p["predicted"][test], p["residual"][test], s=6, alpha=0.7, c="#d64545",
                   linewidths=0)  # fmt: skip
        ax.axhline(0, color="#1f2933", lw=0.8)
        ax.set_xlabel(f"predicted {literal(res.target)}")
        ax.set_ylabel("residual (observed - predicted)")
        return finish(ax, title, show, save)


def flagged_features(res) -> set:
    leak = getattr(res, "leakage", None)
    if leak is None or len(leak) == 0:
        return set()
    return set(leak.index[leak["flagged"]])


def importances(
    res,
    model: str | None = None,
    *,
    top: int | None = 15,
    title: str | None = None,
    ax=None,
    show: bool | None = None,
    save: str | os.PathLike | None = None,
):
    """Permutation importances of one model (mean ± sd over repeats on the test genes).

    Parameters
    ----------
    res
        A :class:`degbridge.Comparison` computed with permutation repeats.
    model
        The model (default the best one).
    top
        Show the ``top`` most important features (``None``: all).
    title
        Drawn literally.
    ax, show, save
        See :mod:`degbridge.pl`.

    Returns
    -------
    The matplotlib Axes; red bars are features the leakage audit flagged.
    """
    check_comparison(res, ("importances", "best"))
    imp = res.importances
    if imp is None or imp.empty or imp["perm_mean"].isna().all():
        msg = "this comparison has no permutation importances (permutation_repeats=0?)"
        raise ValueError(msg)
    model = res.best.name if model is None else model
    if model not in set(imp["model"]):
        msg = (
            f"model {model!r} has no importances; models are {sorted(map(str, set(imp['model'])))}"
        )
        raise ValueError(msg)
    if top is not None and (not isinstance(top, int | np.integer) or top < 1):
        msg = f"top must be a positive integer or None, not {top!r}"
        raise ValueError(msg)
    rows = imp[imp["model"] == model].sort_values("perm_mean")
    if top is not None:
        rows = rows.iloc[max(len(rows) - int(top), 0) :]
    flagged = flagged_features(res)
    colors = ["#e12d39" if f in flagged else "#12355b" for f in rows["feature"]]
    with plain_text():
        ax = new_axes(ax, (5.2, 0.32 * len(rows) + 1.4))
        ax.barh(np.arange(len(rows)), rows["perm_mean"], xerr=rows["perm_sd"], color=colors,
                ecolor="#334e68", capsize=2)  # fmt: skip
        ax.set_yticks(np.arange(len(rows)), [literal(f) for f in rows["feature"]])
        ax.set_xlabel("permutation importance (drop in test R²)")
        return finish(ax, title, show, save)


def importance_heatmap(
    res,
    *,
    title: str | None = None,
    ax=None,
    show: bool | None = None,
    save: str | os.PathLike | None = None,
):
    """Permutation importance of every feature (rows) in every model (columns), each column
    scaled to its model's largest importance. Parameters ``ax, show, save``: see
    :mod:`degbridge.pl`; ``title`` drawn literally. Returns the Axes."""
    check_comparison(res, ("importances",))
    imp = res.importances
    if imp is None or imp.empty or imp["perm_mean"].isna().all():
        msg = "this comparison has no permutation importances (permutation_repeats=0?)"
        raise ValueError(msg)
    wide = imp.pivot(index="feature", columns="model", values="perm_mean")
    scaled = wide.div(wide.abs().max(axis=0).replace(0, np.nan), axis=1)
    with plain_text():
        ax = new_axes(ax, (0.55 * wide.shape[1] + 2.5, 0.35 * wide.shape[0] + 1.8))
        im = ax.imshow(scaled.to_numpy(dtype=float), aspect="auto", cmap="RdBu_r", vmin=-1, vmax=1)
        ax.set_xticks(np.arange(wide.shape[1]), [literal(m) for m in wide.columns], rotation=60,
                      ha="right", fontsize=8)  # fmt: skip
        ax.set_yticks(np.arange(wide.shape[0]), [literal(f) for f in wide.index], fontsize=8)
        ax.figure.colorbar(im, ax=ax, fraction=0.04, label="scaled to each model's maximum")
        return finish(ax, title, show, save)
