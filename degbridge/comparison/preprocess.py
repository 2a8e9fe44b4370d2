"""Turn a DE table (plus extra per-gene tables) into X and y, recording every decision.

Nothing is dropped, imputed or clipped silently: each step adds a row to the preprocessing
report (step, column, number of genes or values, reason).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .._checks import is_r_object as _is_r_object
from ..io.table import ID_NAMES, DETable, column_key
from .leakage import PROVENANCES, default_provenance

__all__ = ["Prepared", "RobustClipper", "gene_frame", "prepare", "robust_z"]

#: Label prefix of genes without a cv_groups label (each is a group of its own).
UNGROUPED = "(no group) "
#: |robust z| above this is an outlier (Iglewicz & Hoaglin's modified z-score cut-off).
OUTLIER_Z = 3.5


@dataclass
class Prepared:
    X: pd.DataFrame
    y: pd.Series
    report: list[dict[str, Any]] = field(default_factory=list)
    outliers: pd.DataFrame | None = None
    #: feature → ``test`` / ``same-samples`` / ``external`` (see :mod:`.leakage`)
    provenance: dict[str, str] = field(default_factory=dict)
    #: extra-table prefix → number of samples it shares with the main table (when known)
    shared_samples: dict[str, int] = field(default_factory=dict)
    #: per-gene group labels for grouped splits (aligned with X), and what they came from
    groups: pd.Series | None = None
    groups_source: str | None = None

    def note(self, step: str, column: str | None, n: int | None, detail: str) -> None:
        self.report.append({"step": step, "column": column, "n": n, "detail": detail})


def robust_z(values: np.ndarray) -> np.ndarray:
    """Modified z-scores 0.6745 (x - median) / MAD; the mean absolute deviation when MAD = 0."""
    x = np.asarray(values, dtype=float)
    ok = ~np.isnan(x)
    z = np.full(x.shape, np.nan)
    if not ok.any():
        return z
    med = np.median(x[ok])
    mad = np.median(np.abs(x[ok] - med))
    if mad > 0:
        z[ok] = 0.6745 * (x[ok] - med) / mad
        return z
    meanad = np.mean(np.abs(x[ok] - med))
    if meanad > 0:
        z[ok] = (x[ok] - med) / (1.253314 * meanad)
    else:
        z[ok] = 0.0
    return z


class RobustClipper(TransformerMixin, BaseEstimator):
    """Clip each feature to median ± z·MAD/0.6745, learnt on the data it is fitted on.

    Inside a pipeline the bounds come from the training fold only.
    """

    def __init__(self, z: float = OUTLIER_Z):
        self.z = z

    def fit(self, X, y=None):
        X = np.asarray(X, dtype=float)
        med = np.nanmedian(X, axis=0)
        mad = np.nanmedian(np.abs(X - med), axis=0)
        meanad = np.nanmean(np.abs(X - med), axis=0) * 1.253314 * 0.6745
        scale = np.where(mad > 0, mad, meanad)
        half = np.where(scale > 0, self.z * scale / 0.6745, np.inf)
        self.lower_ = med - half
        self.upper_ = med + half
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X):
        check_is_fitted(self, "lower_")
        return np.clip(np.asarray(X, dtype=float), self.lower_, self.upper_)


def gene_frame(obj, label: str) -> pd.DataFrame:
    """A frame indexed by unique gene IDs (from its index, row names or an ID column)."""
    if _is_r_object(obj):
        from ..r import frame_from_r

        obj = frame_from_r(obj)
    if not isinstance(obj, pd.DataFrame):
        msg = f"{label} must be a pandas DataFrame (genes as rows), not {type(obj).__name__}"
        raise TypeError(msg)
    df = pd.DataFrame(obj)
    if isinstance(df.index, pd.RangeIndex):
        keys = [column_key(c) for c in df.columns]
        idx = next((keys.index(k) for k in ID_NAMES if k in keys), None)
        if idx is None:
            msg = (
                f"{label} has no gene IDs: set them as the index (df.set_index('gene')) or name "
                "the column 'gene' or 'ID'"
            )
            raise ValueError(msg)
        df = df.set_index(df.columns[idx])
    df.index = pd.Index([str(i) for i in df.index], dtype=object, name=df.index.name)
    if df.index.has_duplicates:
        dup = list(pd.unique(df.index[df.index.duplicated()]))
        msg = f"{label} has {len(dup)} duplicated gene IDs, e.g. {dup[:5]}"
        raise ValueError(msg)
    return df


def _extra_items(extra) -> list[tuple[str, Any, str | None]]:
    """``(prefix, frame, declared provenance or None)`` for each extra table."""
    if extra is None:
        return []
    if isinstance(extra, Mapping):
        items = [(str(k), v) for k, v in extra.items()]
    elif isinstance(extra, pd.DataFrame) or _is_r_object(extra):
        items = [(_default_prefix(extra, 0, 1), extra)]
    else:
        listed = list(extra)
        items = [(_default_prefix(e, i, len(listed)), e) for i, e in enumerate(listed)]
    out = []
    for prefix, value in items:
        declared = None
        if isinstance(value, tuple):
            if len(value) != 2 or value[1] not in PROVENANCES:
                msg = (
                    f"extra table {prefix!r}: give a frame or (frame, provenance) with provenance "
                    f"one of {list(PROVENANCES)}, not {value[1:]!r}"
                )
                raise ValueError(msg)
            value, declared = value
        out.append((prefix, value, declared))
    return out


def sample_ids(obj) -> list[str] | None:
    """The sample IDs a degbridge DE table was computed from (None when unknown)."""
    design = getattr(obj, "meta", {}).get("design") if isinstance(obj, DETable) else None
    if isinstance(design, pd.DataFrame) and len(design):
        return [str(s) for s in design.index]
    return None


def _extra_provenance(prefix: str, frame, declared, base_samples, prep: Prepared) -> str:
    """Declared, else from the frame (``attrs["provenance"]``, or the samples two degbridge
    tables share), else ``same-samples``: external must be declared or shown."""
    if declared is not None:
        return declared
    theirs = sample_ids(frame)
    if base_samples is not None and theirs is not None:
        shared = len(set(base_samples) & set(theirs))
        prep.shared_samples[prefix] = shared
        return "same-samples" if shared else "external"
    attr = getattr(frame, "attrs", {}).get("provenance")
    return attr if attr in PROVENANCES else "same-samples"


def _default_prefix(frame, i: int, n: int) -> str:
    contrast = getattr(frame, "meta", {}).get("contrast") if isinstance(frame, DETable) else None
    if contrast:
        return re.sub(r"\W+", "_", str(contrast)).strip("_") or f"extra{i + 1}"
    return "extra" if n == 1 else f"extra{i + 1}"


def join_extra(
    base: pd.DataFrame, extra, prep: Prepared | None = None, base_samples=None
) -> pd.DataFrame:
    """Left-join extra per-gene tables by gene ID, columns prefixed ``"<prefix>_"``.

    With ``prep``, each joined column's provenance is recorded in ``prep.provenance``.
    """
    out = base
    for prefix, frame, declared in _extra_items(extra):
        label = f"extra table {prefix!r}"
        df = gene_frame(frame, label)
        matched = int(base.index.isin(df.index).sum())
        if matched == 0:
            msg = (
                f"{label} matches no gene ID of the table (0 of {len(base)} table genes, "
                f"{len(df)} extra genes; table IDs look like {list(base.index[:3])}, extra IDs "
                f"like {list(df.index[:3])})"
            )
            raise ValueError(msg)
        df = df.add_prefix(f"{prefix}_")
        clash = [c for c in df.columns if c in out.columns]
        if clash:
            msg = f"{label}: prefixed columns {clash} already exist; choose another prefix (a dict key)"
            raise ValueError(msg)
        out = out.join(df, how="left")
        if prep is not None:
            origin = _extra_provenance(prefix, frame, declared, base_samples, prep)
            prep.provenance.update(dict.fromkeys(df.columns, origin))
            prep.note(
                "join extra",
                prefix,
                matched,
                f"{matched} of {len(base)} genes matched ({len(df)} genes in the extra table); "
                f"{len(base) - matched} unmatched get missing values (imputed)",
            )
    return out


def _looks_like_id(name: str, s: pd.Series) -> bool:
    key = column_key(name)
    if not (key in ID_NAMES or key.endswith("id") or key in ("entrez", "entrezid", "geneid")):
        return False
    vals = s.dropna()
    return bool(len(vals)) and vals.is_unique and np.allclose(vals, np.round(vals))


def prepare(
    table,
    target: str,
    *,
    features: Sequence[str] | None,
    extra,
    outliers: str,
    min_genes: int,
    provenance: Mapping[str, str] | None = None,
    cv_groups=None,
) -> Prepared:
    """X (features) and y (target) from a DE table and extra per-gene tables.

    Steps: join the extra tables → check the target → drop genes without a target → choose
    the feature columns → refuse infinite values → drop empty and constant columns → check
    that enough is left → report (and clip or drop) outliers. Each decision is noted.
    """
    prep = Prepared(X=pd.DataFrame(), y=pd.Series(dtype=float))
    frame = gene_frame(table, "table")
    prep.provenance = {c: default_provenance(c) for c in frame.columns}
    if extra is not None:
        frame = join_extra(frame, extra, prep, base_samples=sample_ids(table))
    numeric = _numeric_columns(frame)
    _check_target(frame, target, numeric)
    frame = _drop_missing_target(frame, target, prep)
    groups = _resolve_groups(frame, cv_groups, prep)
    if isinstance(cv_groups, str):
        frame = frame.drop(columns=cv_groups)
        numeric = [c for c in numeric if c != cv_groups]
    cols = _feature_columns(frame, target, features, numeric, prep)
    prep.X, prep.y = frame[cols].astype(float), frame[target].astype(float)
    _refuse_infinite(prep.X, prep.y, target)
    prep.X = _drop_unusable(prep.X, prep)
    _check_enough(prep, target, min_genes)
    flags = _outlier_report(prep, target)
    _apply_outliers(prep, flags, outliers, min_genes)
    _set_provenance(prep, provenance)
    if groups is not None:
        prep.groups = groups.reindex(prep.X.index)
    return prep


def _resolve_groups(frame: pd.DataFrame, cv_groups, prep: Prepared) -> pd.Series | None:
    """Per-gene group labels from a column name or a gene-indexed Series/mapping.

    Genes without a label form a group each (they can still be split), which is noted.
    """
    if cv_groups is None:
        return None
    if isinstance(cv_groups, str):
        if cv_groups not in frame.columns:
            msg = f"cv_groups={cv_groups!r} is not a column of the table or the extra tables; columns are {list(map(str, frame.columns))}"
            raise ValueError(msg)
        labels, source = frame[cv_groups], f"column {cv_groups!r}"
    elif isinstance(cv_groups, pd.Series | Mapping):
        labels = pd.Series(cv_groups)
        labels.index = labels.index.astype(str)
        labels, source = labels.reindex(frame.index), "cv_groups (per-gene labels)"
        if labels.notna().sum() == 0:
            msg = f"cv_groups matches no gene ID (its IDs look like {list(pd.Series(cv_groups).index[:3])})"
            raise ValueError(msg)
    else:
        msg = f"cv_groups must be a column name or a Series of labels indexed by gene ID, not {type(cv_groups).__name__}"
        raise TypeError(msg)
    labels = labels.astype(object)
    missing = labels.isna()
    if missing.any():
        labels[missing] = [f"{UNGROUPED}{g}" for g in labels.index[missing]]
        prep.note(
            "cv groups", None, int(missing.sum()), "genes without a group label: one group each"
        )
    if labels.nunique() < 2:
        msg = f"cv_groups has a single group ({labels.iloc[0]!r}): grouped splits need several"
        raise ValueError(msg)
    prep.groups_source = source
    return labels.astype(str)


def _set_provenance(prep: Prepared, declared: Mapping[str, str] | None) -> None:
    """Keep the provenance of the features used; apply the user's declarations."""
    declared = dict(declared or {})
    unknown = [c for c in declared if c not in prep.X.columns]
    if unknown:
        msg = f"provenance names {unknown}, which are not features; features are {list(prep.X.columns)}"
        raise ValueError(msg)
    bad = {c: v for c, v in declared.items() if v not in PROVENANCES}
    if bad:
        msg = f"provenance values must be one of {list(PROVENANCES)}, not {bad}"
        raise ValueError(msg)
    prep.provenance = {
        c: declared.get(c, prep.provenance.get(c, "same-samples")) for c in prep.X.columns
    }


def _numeric_columns(frame: pd.DataFrame) -> list[str]:
    return [
        c
        for c in frame.columns
        if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
    ]


def _check_target(frame: pd.DataFrame, target, numeric: list[str]) -> None:
    if not isinstance(target, str):
        msg = f"target must be a column name, not {type(target).__name__}"
        raise TypeError(msg)
    if target not in frame.columns:
        msg = f"target {target!r} is not a column; numeric columns are {numeric}"
        raise ValueError(msg)
    if target not in numeric:
        msg = f"target {target!r} is not numeric (dtype {frame[target].dtype}); numeric columns are {numeric}"
        raise TypeError(msg)


def _drop_missing_target(frame: pd.DataFrame, target: str, prep: Prepared) -> pd.DataFrame:
    missing_y = frame[target].isna()
    if missing_y.any():
        prep.note("drop genes", target, int(missing_y.sum()), "target is missing")
        return frame.loc[~missing_y]
    return frame


def _feature_columns(
    frame: pd.DataFrame,
    target: str,
    features: Sequence[str] | None,
    numeric: list[str],
    prep: Prepared,
) -> list[str]:
    """The given features (checked), else every numeric column but identifiers."""
    if features is not None:
        features = [str(f) for f in features]
        unknown = [f for f in features if f not in frame.columns]
        if unknown:
            msg = f"features {unknown} are not columns; numeric columns are {[c for c in numeric if c != target]}"
            raise ValueError(msg)
        if target in features:
            msg = f"the target {target!r} cannot also be a feature"
            raise ValueError(msg)
        bad = [f for f in features if f not in numeric]
        if bad:
            msg = f"features {bad} are not numeric"
            raise TypeError(msg)
        return features
    cols = []
    for c in frame.columns:
        if c == target:
            continue
        if c not in numeric:
            reason = f"not numeric ({frame[c].dtype}): an annotation or identifier"
            prep.note("drop column", c, None, reason)
        elif _looks_like_id(c, frame[c]):
            prep.note("drop column", c, None, "an identifier (unique integers named like an ID)")
        else:
            cols.append(c)
    return cols


def _refuse_infinite(X: pd.DataFrame, y: pd.Series, target: str) -> None:
    for name, values in [(target, y), *X.items()]:
        inf = np.isinf(values.to_numpy())
        if inf.any():
            genes = [str(g) for g in values.index[inf][:5]]
            what = "the target" if name == target else "feature"
            msg = (
                f"{what} {name!r} has {int(inf.sum())} infinite value(s), e.g. at genes {genes}; "
                "replace them (a log of zero?) or drop the column"
            )
            raise ValueError(msg)


def _drop_unusable(X: pd.DataFrame, prep: Prepared) -> pd.DataFrame:
    """Drop columns without values or constant; note the missing values left to impute."""
    kept = []
    for c in X.columns:
        col = X[c]
        if col.isna().all():
            prep.note("drop column", c, None, "no values")
        elif col.nunique(dropna=True) <= 1:
            prep.note("drop column", c, None, "constant")
        else:
            kept.append(c)
            n_missing = int(col.isna().sum())
            if n_missing:
                reason = "missing values replaced by the training median inside each pipeline"
                prep.note("impute", c, n_missing, reason)
    return X[kept]


def _check_enough(prep: Prepared, target: str, min_genes: int) -> None:
    if not len(prep.X.columns):
        msg = (
            f"no usable features left for target {target!r} (the table has no other numeric "
            "columns); add per-gene features with extra= (expression summaries, other omics)"
        )
        raise ValueError(msg)
    y = prep.y
    if y.nunique() <= 1:
        msg = f"target {target!r} is constant ({y.iloc[0]!r} for every gene): nothing to predict"
        raise ValueError(msg)
    if len(y) < min_genes:
        msg = f"only {len(y)} genes with a target value; this comparison needs at least {min_genes}"
        raise ValueError(msg)


def _outlier_report(prep: Prepared, target: str) -> pd.DataFrame:
    """Robust z-scores of the target and each feature: ``prep.outliers``; returns the flags."""
    X, y = prep.X, prep.y
    rows = []
    flags = pd.DataFrame(False, index=X.index, columns=[target, *X.columns])
    for c in [target, *X.columns]:
        z = robust_z((y if c == target else X[c]).to_numpy())
        out = np.abs(z) > OUTLIER_Z
        flags[c] = out
        if out.any():
            worst = np.argsort(-np.abs(np.nan_to_num(z)))[:3]
            rows.append(
                {
                    "column": c,
                    "n_outliers": int(out.sum()),
                    "fraction": float(out.mean()),
                    "max_abs_z": float(np.nanmax(np.abs(z))),
                    "examples": ", ".join(str(X.index[i]) for i in worst),
                }
            )
    prep.outliers = pd.DataFrame(
        rows, columns=["column", "n_outliers", "fraction", "max_abs_z", "examples"]
    )
    return flags


def _apply_outliers(prep: Prepared, flags: pd.DataFrame, outliers: str, min_genes: int) -> None:
    """Note the outliers; ``"drop"`` removes their genes (``"clip"`` is done by the pipelines)."""
    if not len(prep.outliers):
        return
    total = int(flags.any(axis=1).sum())
    if outliers == "drop":
        detail = f"an outlier (|robust z| > {OUTLIER_Z}) in the target or a feature"
        prep.note("drop genes", None, total, detail)
        keep = ~flags.any(axis=1)
        prep.X, prep.y = prep.X.loc[keep], prep.y.loc[keep]
        if len(prep.y) < min_genes:
            msg = f"outliers='drop' left {len(prep.y)} genes; at least {min_genes} are needed (use 'report' or 'clip')"
            raise ValueError(msg)
    elif outliers == "clip":
        n_clipped = int(flags[list(prep.X.columns)].to_numpy().sum())
        detail = (
            f"feature values beyond median ± {OUTLIER_Z} robust SD clipped inside each pipeline "
            "(bounds from the training fold); the target is not clipped"
        )
        prep.note("clip", None, n_clipped, detail)
    else:
        detail = f"genes with |robust z| > {OUTLIER_Z} somewhere; kept (outliers='report')"
        prep.note("report outliers", None, total, detail)
