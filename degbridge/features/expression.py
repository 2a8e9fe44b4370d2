"""Per-gene features from the expression matrix itself, not from the DE test.

``t``, ``P.Value``, ``adj.P.Val`` and ``B`` are transforms of one test of the contrast; a
comparison that predicts ``logFC`` or ``B`` from them measures algebra. These features describe
each gene's expression *without* the contrast (abundance, sparsity, within-group noise), so
they can join a comparison as ``extra=`` and say how much of a gene's response its expression
profile explains.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .._checks import looks_like_counts

__all__ = ["expression_features"]


def expression_features(
    expr,
    *,
    groups: Sequence | None = None,
    counts: bool | None = None,
    layer: str | None = None,
) -> pd.DataFrame:
    """Per-gene expression summaries that do not use the tested contrast.

    Parameters
    ----------
    expr
        Genes × samples DataFrame, or an AnnData (samples × genes; ``X`` or ``layer``).
    groups
        One label per sample (or an ``obs`` column name for AnnData). When given,
        ``within_sd`` is the SD pooled *within* groups, free of the between-group effect.
    counts
        Whether ``expr`` holds raw counts (log2-CPM is computed first, prior count 0.5);
        detected (non-negative integers) by default.
    layer
        AnnData layer.

    Returns
    -------
    A genes × features DataFrame: ``mean`` (mean log2-CPM or log-expression), ``median``,
    ``within_sd`` (pooled within groups; overall SD without ``groups``), ``mad``, and for
    counts ``frac_zero`` and ``log2_total``.
    """
    frame, group_labels = _as_frame(expr, groups, layer)
    values = frame.to_numpy(dtype=float)
    if counts is None:  # missing or infinite values do not decide
        counts = looks_like_counts(values[np.isfinite(values)])
    out = {}
    if counts:
        lib = values.sum(axis=0)
        if (lib <= 0).any():
            msg = "a sample has no counts at all; remove it first"
            raise ValueError(msg)
        logcpm = np.log2((values + 0.5) / (lib + 1.0) * 1e6)
        out["frac_zero"] = (values == 0).mean(axis=1)
        out["log2_total"] = np.log2(values.sum(axis=1) + 1.0)
        data = logcpm
    else:
        data = values
    out["mean"] = np.nanmean(data, axis=1)
    out["median"] = np.nanmedian(data, axis=1)
    out["mad"] = np.nanmedian(np.abs(data - out["median"][:, None]), axis=1)
    if group_labels is not None:
        resid = np.empty_like(data)
        for g in pd.unique(group_labels):
            cols = group_labels == g
            resid[:, cols] = data[:, cols] - np.nanmean(data[:, cols], axis=1, keepdims=True)
        df = np.sum(~np.isnan(data), axis=1) - len(pd.unique(group_labels))
        with np.errstate(invalid="ignore", divide="ignore"):
            out["within_sd"] = np.sqrt(np.nansum(resid**2, axis=1) / df)
    else:
        out["within_sd"] = np.nanstd(data, axis=1, ddof=1)
    order = ["mean", "median", "within_sd", "mad", "frac_zero", "log2_total"]
    return pd.DataFrame({k: out[k] for k in order if k in out}, index=frame.index)


def _as_frame(expr, groups, layer):
    """The genes × samples frame of any input the DE methods take
    (:func:`degbridge.de.backend.resolve_matrix`), and one label per sample or None."""
    from ..de.backend import densify, resolve_matrix

    mat = resolve_matrix(expr, layer=layer)
    densify(mat, drop_zero=False)
    frame = pd.DataFrame(mat.values, index=pd.Index(mat.genes), columns=pd.Index(mat.samples))
    if isinstance(groups, str):
        if mat.obs is None or groups not in mat.obs.columns:
            msg = f"groups={groups!r} names a sample-table column, but the input has no such column (AnnData obs)"
            raise ValueError(msg)
        groups = mat.obs[groups].astype(str).to_numpy()
    labels = None
    if groups is not None:
        labels = np.asarray([str(g) for g in groups])
        if len(labels) != frame.shape[1]:
            msg = f"groups has {len(labels)} labels but there are {frame.shape[1]} samples"
            raise ValueError(msg)
    return frame, labels
