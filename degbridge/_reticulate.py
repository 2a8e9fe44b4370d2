"""The Python half of ``r_scripts/degbridge.R`` (R users calling degbridge via reticulate).

Everything crosses as plain Python lists, dicts, strings and numbers: Debian's reticulate 1.28
turns numpy 2 arrays and pandas 2 frames into corrupt R objects, but converts lists of
numbers/strings into ordinary R vectors. The R side rebuilds data.frames from these payloads.
limma itself runs in the caller's R session (``limma_de.R``), so no R is embedded in Python
here.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from .de.contrasts import contrast_matrix
from .de.design import check_design, design_from_groups, design_from_matrix, sample_order
from .de.formula import design_from_formula
from .r._session import r_script_path

__all__ = ["compare_payload", "frame_payload", "limma_inputs", "r_script_path"]

_INT_OPTIONS = (
    "cv",
    "n_jobs",
    "random_state",
    "permutation_repeats",
    "permutation_max_samples",
    "svr_max_samples",
    "max_fit_samples",
)


def _as_list(value) -> list:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def _sample_frame(
    samples: dict[str, Any] | None, levels: dict[str, Any] | None, rownames, nrow
) -> pd.DataFrame:
    """The R sample sheet as a DataFrame: factors as categoricals, R's row names as index.

    Without row names (R's automatic ``1..n``) the index is a ``RangeIndex``: no IDs.
    """
    data: dict[str, Any] = {}
    for name, col in (samples if isinstance(samples, dict) else {}).items():
        values = _as_list(col)
        lev = _as_list((levels or {}).get(name))
        if lev:
            data[str(name)] = pd.Categorical(
                [str(v) for v in values], categories=[str(v) for v in lev]
            )
        else:
            data[str(name)] = values
    if rownames is not None:
        index: Any = pd.Index([str(r) for r in _as_list(rownames)], dtype=object)
    else:
        n = int(nrow) if nrow is not None else len(next(iter(data.values()), []))
        index = pd.RangeIndex(n)
    lengths = {name: len(v) for name, v in data.items() if len(v) != len(index)}
    if lengths:
        msg = f"sample-sheet columns {lengths} do not have one value per row ({len(index)} rows)"
        raise ValueError(msg)
    return pd.DataFrame(data, index=index)


def limma_inputs(
    sample_ids,
    samples: dict[str, Any] | None = None,
    levels: dict[str, Any] | None = None,
    formula: str | None = None,
    groups=None,
    design_matrix=None,
    design_colnames=None,
    contrast=None,
    sample_rownames=None,
    samples_nrow=None,
    match: str = "ids",
    design_only: bool = False,
) -> dict[str, Any]:
    """Validate and build the design and contrasts for the R helper; numbers out only.

    Parameters
    ----------
    sample_ids
        ``colnames(x)``: the matrix's sample names, in matrix order.
    samples
        The sample sheet's columns as lists (factors as text, their levels in ``levels``).
    levels
        Factor levels by column name (``.groups`` for a factor ``groups``).
    formula, groups, design_matrix, design_colnames, contrast
        The design and contrasts, as in :func:`degbridge.run_limma`.
    sample_rownames
        The sheet's row names, or ``None`` when they are R's automatic ``1..n``.
    samples_nrow
        The sheet's number of rows.
    match
        ``"ids"`` (default): rows are matched to samples by ID (row names or an ID column, see
        :func:`degbridge.design.align_samples`); ``"position"``: a sheet without any IDs is
        taken in the order of ``colnames(x)``.
    design_only
        Allow ``contrast=None`` (no contrasts returned): the design of a fit tested later.

    Returns
    -------
    A dict of plain lists and numbers: the design (column-major), its shape and column names,
    the contrasts, and ``order``, the sheet's rows (0-based) in ``colnames(x)`` order (``None``
    without a sheet).
    """
    sample_ids = [str(s) for s in _as_list(sample_ids)]
    if match not in ("ids", "position"):
        msg = f'match must be "ids" or "position", not {match!r}'
        raise ValueError(msg)
    frame = None
    order = None
    if samples is not None or sample_rownames is not None:
        raw = _sample_frame(samples, levels, sample_rownames, samples_nrow)
        order = sample_order(
            raw,
            sample_ids,
            positional_ok=match == "position",
            position_hint=(
                ', or pass match = "position" to take its rows in the order of colnames(x)'
            ),
        )
        frame = raw.iloc[order].copy()
        frame.index = sample_ids
    if formula is not None:
        if frame is None or frame.shape[1] == 0:
            msg = "a formula design needs a sample table (samples=)"
            raise ValueError(msg)
        design = design_from_formula(formula, frame)
    elif groups is not None:
        lev = [str(v) for v in _as_list((levels or {}).get(".groups"))]  # an R factor's levels
        labels = [str(g) for g in _as_list(groups)]
        design = design_from_groups(pd.Categorical(labels, categories=lev or None), sample_ids)
    elif design_matrix is not None:
        flat = np.asarray(_as_list(design_matrix), dtype=float)
        ncol = len(_as_list(design_colnames))
        matrix = flat.reshape((len(sample_ids), ncol), order="F")
        design = design_from_matrix(matrix, sample_ids, [str(c) for c in _as_list(design_colnames)])
    else:
        msg = "give design= (a formula with samples=, or a numeric matrix) or groups="
        raise ValueError(msg)
    check_design(design)
    if isinstance(contrast, dict):
        spec: Any = {str(k): str(v) for k, v in contrast.items()}
    elif isinstance(contrast, list | tuple):
        spec = [str(c) for c in contrast]
    else:
        spec = contrast
    if spec is None and design_only:  # a fit (degbridge_fit): contrasts come later
        cmat, names, coefs = np.zeros((design.matrix.shape[1], 0)), [], []
    else:
        cmat, names, coefs = contrast_matrix(spec, design.columns)
    single_coef = len(names) == 1 and coefs[0] is not None
    return {
        "design": design.matrix.ravel(order="F").tolist(),
        "nrow": int(design.matrix.shape[0]),
        "ncol": int(design.matrix.shape[1]),
        "colnames": list(design.columns),
        "contrasts": None if single_coef else cmat.ravel(order="F").tolist(),
        "contrast_names": names,
        "coef": int(coefs[0] + 1) if single_coef else None,
        "order": order,
    }


def frame_payload(df: pd.DataFrame, *, row_names: bool = True) -> dict[str, Any]:
    """A DataFrame as lists: names, columns, R types, NA positions of text columns, row names."""
    names, columns, types, na = [], [], [], []
    for col in df.columns:
        s = df[col]
        names.append(str(col))
        if pd.api.types.is_bool_dtype(s) and not s.isna().any():
            types.append("logical")
            columns.append([bool(v) for v in s])
            na.append([])
        elif pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            types.append("double")
            columns.append([float(v) for v in s.to_numpy(dtype=float, na_value=np.nan)])
            na.append([])
        else:
            missing = [
                i
                for i, v in enumerate(s)
                if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA
            ]
            types.append("character")
            columns.append(["" if i in set(missing) else str(v) for i, v in enumerate(s)])
            na.append(missing)
    return {
        "names": names,
        "columns": columns,
        "types": types,
        "na": na,
        "rownames": [str(i) for i in df.index] if row_names else None,
        "nrow": len(df),
    }


def compare_payload(
    columns: dict[str, Any], rownames, target: str = "logFC", **options
) -> dict[str, Any]:
    """Run :func:`degbridge.compare` on columns from R; return its tables as payloads."""
    from .comparison import compare

    rows = [str(r) for r in _as_list(rownames)]
    data = {}
    for name, col in columns.items():
        values = _as_list(col)
        if len(values) != len(rows):
            msg = f"column {name!r} has {len(values)} values but there are {len(rows)} genes"
            raise ValueError(msg)
        data[str(name)] = values
    frame = pd.DataFrame(data, index=pd.Index(rows, dtype=object))
    for col in frame.columns:
        if frame[col].dtype == object:
            converted = pd.to_numeric(frame[col], errors="coerce")
            if converted.notna().sum() == frame[col].notna().sum():
                frame[col] = converted
    for key in _INT_OPTIONS:
        value = options.get(key)
        if isinstance(value, float) and value.is_integer():
            options[key] = int(value)
    if isinstance(options.get("models"), list | tuple):
        options["models"] = [str(m) for m in options["models"]]
    options.setdefault("progress", False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = compare(frame, target=target, **options)
    out: dict[str, Any] = {"warnings": [str(w.message) for w in caught]}
    for name, table in res.tables().items():
        out[name] = frame_payload(
            table, row_names=name in ("predictions", "leakage", "leakage_scores")
        )
    out["params"] = {k: v for k, v in res.params.items() if v is not None}
    out["best"] = res.best.name
    out["summary"] = res.summary()
    return out
