"""Read what :mod:`degbridge.tl` stored in an AnnData, as tidy DataFrames.

Like ``scanpy.get.rank_genes_groups_df``: the same call works for one contrast or several,
in memory or after a ``.h5ad`` round trip.

>>> db.tl.limma(adata, groupby="g", contrast=["b - a", "(b + c)/2 - a"])
>>> db.get.limma_df(adata)  # every contrast, with a "contrast" column
>>> db.get.limma_df(adata, contrast="(b + c)/2 - a")  # one contrast
>>> db.tl.compare(adata, contrast="b - a")
>>> db.get.compare_df(adata, table="leaderboard")

The tables of ``tl.de(method="edger"|"deseq2")`` read back the same way, with the method's
columns as stored (:func:`de_df` is the same reader under the name of ``tl.de``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from .storage import (
    CELLTYPE_KIND,
    COMPARE_KIND,
    COMPARE_TABLES,
    stored,
    stored_contrasts,
    stored_limma,
)

__all__ = ["compare_df", "de_df", "limma_df"]


def limma_df(
    adata,
    key: str = "degbridge",
    contrast: str | Sequence[str] | None = None,
    cell_type: str | None = None,
) -> pd.DataFrame:
    """The results stored by :func:`degbridge.tl.limma` / :func:`degbridge.tl.de` (limma,
    edgeR or DESeq2), one row per gene (× contrast).

    Parameters
    ----------
    adata
        The AnnData :func:`degbridge.tl.limma` wrote into (or one read from ``.h5ad``).
    key
        The ``key_added`` of :func:`degbridge.tl.limma`.
    contrast
        One contrast name (exactly as given to ``tl.limma``, ``/`` included): its table, no
        ``contrast`` column. ``None`` (every contrast, also when there is one) or a list:
        the tables stacked, with a ``contrast`` column.
    cell_type
        Results of ``tl.limma(celltype_key=...)`` only: one cell type's rows; ``None`` (the
        default) gives every fitted cell type.

    Returns
    -------
    A DataFrame with a ``gene`` column (the genes the method tested, in its order within
    each contrast), ``contrast`` (several), then the method's columns as stored: limma's
    ``logFC, AveExpr, t, P.Value, adj.P.Val, B`` (and e.g. ``CI.L``/``CI.R`` with
    ``confint``); edgeR's ``logFC, AveExpr`` (logCPM), ``P.Value, adj.P.Val`` (FDR), ``F``
    (QL) or ``LR`` (LRT), in topTags order; DESeq2's ``logFC, t`` (stat; ``stat`` for the
    LRT), ``P.Value, adj.P.Val, baseMean, lfcSE``, in gene order, missing P-values kept
    missing (``adata.uns[key]["params"]["column_map"]`` holds the native names).
    Per-cell-type results: the long table ``cell_type, contrast, gene, logFC, ...``
    (``contrast`` always present; the ``cell_type`` column too, also for one cell type).

    Raises
    ------
    ValueError
        Nothing of limma under ``key`` (the message lists the keys that hold limma
        results), an unknown contrast (the message lists the stored ones), or an unknown
        ``cell_type`` (the message lists the fitted ones and the skipped ones with why).
    """
    entry = adata.uns.get(key) if hasattr(adata, "uns") else None
    if isinstance(entry, Mapping) and entry.get("kind") == CELLTYPE_KIND:
        return _celltype_df(entry, key, contrast, cell_type)
    if cell_type is not None:
        msg = (
            f"cell_type={cell_type!r}: adata.uns[{key!r}] holds one fit, not per-cell-type "
            "results; run degbridge.tl.limma(..., celltype_key=...) for those"
        )
        raise ValueError(msg)
    if isinstance(contrast, str):
        return _tidy(stored_limma(adata, key, contrast))
    names = list(stored_contrasts(adata, key))
    if contrast is not None:
        if not isinstance(contrast, Sequence) or not all(isinstance(c, str) for c in contrast):
            msg = f"contrast must be a contrast name, a list of names or None, not {contrast!r}"
            raise TypeError(msg)
        names = list(contrast)
        if not names:
            msg = f"contrast=[] names no contrast; stored contrasts are {list(stored_contrasts(adata, key))}"
            raise ValueError(msg)
    frames = []
    for name in names:
        frame = _tidy(stored_limma(adata, key, name))
        frame.insert(1, "contrast", name)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def de_df(
    adata,
    key: str = "degbridge",
    contrast: str | Sequence[str] | None = None,
    cell_type: str | None = None,
) -> pd.DataFrame:
    """:func:`limma_df` under the name of :func:`degbridge.tl.de`: the stored tables of any
    method (limma, edgeR, DESeq2); same arguments, same result."""
    return limma_df(adata, key=key, contrast=contrast, cell_type=cell_type)


def _celltype_df(entry: Mapping, key: str, contrast, cell_type) -> pd.DataFrame:
    """Rows of the long per-cell-type table, for one cell type / contrast(s) or all."""
    frame = pd.DataFrame(entry["results"]).reset_index(drop=True)
    frame.columns = [str(c) for c in frame.columns]
    fitted = _names(entry["cell_types"])
    names = _names(entry["contrasts"])
    if cell_type is not None:
        if not isinstance(cell_type, str) or cell_type not in fitted:
            skipped = pd.DataFrame(entry["skipped"])
            why = "; ".join(f"{c!r}: {r}" for c, r in zip(skipped["cell_type"], skipped["reason"]))
            msg = (
                f"cell_type={cell_type!r} has no results in adata.uns[{key!r}]; fitted cell "
                f"types are {fitted}" + (f"; skipped: {why}" if why else "")
            )
            raise ValueError(msg)
        frame = frame[frame["cell_type"] == cell_type]
    if contrast is not None:
        wanted = [contrast] if isinstance(contrast, str) else contrast
        if not isinstance(wanted, Sequence) or not all(isinstance(c, str) for c in wanted):
            msg = f"contrast must be a contrast name, a list of names or None, not {contrast!r}"
            raise TypeError(msg)
        unknown = [c for c in wanted if c not in names]
        if unknown or not wanted:
            msg = f"contrast {unknown or wanted!r} is not stored in adata.uns[{key!r}]; stored contrasts are {names}"
            raise ValueError(msg)
        frame = frame[frame["contrast"].isin(wanted)]
    return frame.reset_index(drop=True)


def _names(value) -> list[str]:
    return [value] if isinstance(value, str) else [str(v) for v in value]


def _tidy(table) -> pd.DataFrame:
    frame = pd.DataFrame(table)
    frame.index.name = "gene"
    return frame.reset_index()


def compare_df(adata, key: str = "degbridge_compare", table: str = "leaderboard") -> pd.DataFrame:
    """A table of the comparison stored by :func:`degbridge.tl.compare`.

    Parameters
    ----------
    adata
        The AnnData :func:`degbridge.tl.compare` wrote into (or one read from ``.h5ad``).
    key
        The ``key_added`` of :func:`degbridge.tl.compare` (default ``"degbridge_compare"``).
    table
        ``"leaderboard"``, ``"predictions"`` (one row per gene: ``gene``, ``observed``,
        ``predicted``, ``oof``, ``split``, ``fold``, ``residual``), ``"importances"``,
        ``"leakage"`` (a ``feature`` column), ``"leakage_scores"`` (a ``scores`` column),
        ``"preprocessing"``, ``"outliers"`` or ``"cv_scores"``: see
        :class:`degbridge.Comparison`.

    Raises
    ------
    ValueError
        No comparison under ``key`` (the message lists the keys that hold one), or a table
        the comparison does not have (the message lists those it has).
    """
    entry = stored(adata, key, COMPARE_KIND, f"degbridge.tl.compare(adata, key_added={key!r})")
    have = [name for name in COMPARE_TABLES if name in entry]
    if table not in have:
        msg = f"table={table!r} is not stored in adata.uns[{key!r}]; its tables are {have}"
        raise ValueError(msg)
    frame = pd.DataFrame(entry[table]).copy()
    if COMPARE_TABLES[table] is None:
        return frame.reset_index(drop=True)
    frame.index = frame.index.astype(str)
    frame.index.name = COMPARE_TABLES[table]
    return frame.reset_index()
