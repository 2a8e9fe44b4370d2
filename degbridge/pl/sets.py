"""UpSet plots of genes called in several contrasts (``decide_tests``) or by several methods
(``concordance``): each gene counted once, in its exact combination of sets.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from ._base import (
    finish,
    literal,
    new_axes,
    plain_text,
)


def membership(data) -> pd.DataFrame:
    """Genes × sets of booleans from a ``DecideTests`` (non-zero: called), a ``Concordance``
    (its ``significant`` table) or a boolean/0-1 DataFrame."""
    if hasattr(data, "significant") and hasattr(data, "spearman"):
        data = data.significant
    if not isinstance(data, pd.DataFrame):
        msg = (
            "upset takes a genes × sets DataFrame (booleans or -1/0/1 as from decide_tests) "
            f"or a Concordance, not {type(data).__name__}"
        )
        raise TypeError(msg)
    if data.shape[1] == 0:
        msg = "upset needs at least one set (column); the table has none"
        raise ValueError(msg)
    bad = [str(c) for c in data.columns if not (
        pd.api.types.is_bool_dtype(data[c]) or pd.api.types.is_numeric_dtype(data[c])
    )]  # fmt: skip
    if bad:
        msg = f"upset: columns {bad} are neither booleans nor numbers (-1/0/1)"
        raise ValueError(msg)
    values = data.to_numpy(dtype=float)
    if np.isnan(values).any():
        col = str(data.columns[np.isnan(values).any(axis=0)][0])
        msg = f"upset: column {col!r} holds missing values; say which genes are in the set"
        raise ValueError(msg)
    return pd.DataFrame(values != 0, index=data.index, columns=[str(c) for c in data.columns])


def intersections(member: pd.DataFrame) -> pd.DataFrame:
    """Each gene counted once, in its exact combination of sets (genes in no set left out):
    one boolean column per set and ``n_genes``, largest first (the rule of
    :func:`degbridge.concordance`'s ``overlap``)."""
    from ..de.concordance import intersections as count_intersections

    return count_intersections(member)


def upset(
    data,
    *,
    max_combinations: int = 20,
    title: str | None = None,
    ax=None,
    show: bool | None = None,
    save: str | os.PathLike | None = None,
):
    """UpSet-style figure: how many genes are called in exactly each combination of sets.

    Parameters
    ----------
    data
        A :class:`~degbridge.fit.DecideTests` (genes × contrasts of -1/0/1: a gene is in a
        contrast's set when it is called up or down), a
        :class:`~degbridge.Concordance` (genes significant per method), or any genes × sets
        DataFrame of booleans.
    max_combinations
        Draw the largest this many combinations (the rest are summed in the caption).
    title
        Drawn literally.
    ax, show, save
        See :mod:`degbridge.pl`.

    Returns
    -------
    The matplotlib Axes: one bar per combination (its count written above it, the ``bars``
    container labelled ``"intersections"``), below them a dot matrix with one row per set
    (label: name and set size); filled dots mark the sets of each combination.
    """
    if (
        isinstance(max_combinations, bool)
        or not isinstance(max_combinations, int | np.integer)
        or max_combinations < 1
    ):
        msg = f"max_combinations must be a positive integer, not {max_combinations!r}"
        raise ValueError(msg)
    member = membership(data)
    combos = intersections(member)
    shown = combos.head(int(max_combinations))
    names = list(member.columns)
    k, m = len(names), len(shown)
    with plain_text():
        ax = new_axes(ax, (max(4.0, 0.38 * m + 2.4), 2.6 + 0.3 * k))
        height = 1.6 * max(k, 2)  # bar area in dot-row units
        top = float(shown["n_genes"].max()) if m else 1.0
        xs = np.arange(m)
        heights = shown["n_genes"].to_numpy(float) / top * height if m else np.array([])
        ax.bar(xs, heights, bottom=0.6, width=0.6, color="#12355b", label="intersections")
        for x, h, n in zip(xs, heights, shown["n_genes"]):
            ax.text(x, 0.6 + h + 0.08, f"{int(n):,}", ha="center", va="bottom", fontsize=7)
        sizes = member.sum()
        rows = -np.arange(1, k + 1, dtype=float)
        for j in range(0, k, 2):
            ax.axhspan(rows[j] - 0.5, rows[j] + 0.5, color="#f0f4f8", zorder=0)
        if m:
            grid_x = np.repeat(xs, k)
            grid_y = np.tile(rows, m)
            filled = shown[names].to_numpy(bool).ravel()
            ax.scatter(grid_x[~filled], grid_y[~filled], s=28, c="#d9e2ec", zorder=2,
                       label="not in set")  # fmt: skip
            ax.scatter(grid_x[filled], grid_y[filled], s=28, c="#12355b", zorder=3,
                       label="in set")  # fmt: skip
            for x, row in zip(xs, shown[names].to_numpy(bool)):
                ys = rows[row]
                if len(ys) > 1:
                    ax.plot([x, x], [ys.min(), ys.max()], color="#12355b", lw=1.5, zorder=2)
        ax.set_yticks(rows, [f"{literal(n, 30)} ({int(sizes[n]):,})" for n in names])
        ax.set_xticks([])
        ax.set_xlim(-0.7, max(m, 1) - 0.3)
        ax.set_ylim(-k - 0.6, 0.6 + height * 1.15 + 0.3)
        for side in ("top", "right", "bottom", "left"):
            ax.spines[side].set_visible(False)
        rest = combos["n_genes"].iloc[m:].sum()
        note = (
            f"genes called in each exact combination of sets; {len(combos) - m} smaller combinations ({int(rest):,} genes) not drawn"
            if rest
            else "genes called in each exact combination of sets"
        )
        ax.set_xlabel(note, fontsize=7)
        return finish(ax, title, show, save)
