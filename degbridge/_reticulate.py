"""The Python half of the R package ``degbridge`` (``r_scripts/``, through reticulate).

The R package asks Python only for what Python owns: checking option values against their
declarations (:mod:`degbridge._params`), building and checking designs and contrasts from a
sample sheet (formulas are parsed here, never evaluated in R), and :func:`degbridge.compare`.
limma, edgeR and DESeq2 run in the caller's R session, with the R functions the Python bridge
uses (``r_scripts/R/limma_de.R``, ``edger_de.R``, ``deseq2_de.R``).

Everything crosses as plain Python lists, dicts, strings and numbers: Debian's reticulate 1.28
turns numpy 2 arrays and pandas 2 frames into corrupt R objects, but converts lists of
numbers/strings into ordinary R vectors. The R side rebuilds data.frames from these payloads,
and sends missing values as ``None`` (reticulate turns an R ``NA`` of a character, integer or
logical vector into ``'NA'``, ``-2147483648`` or ``True``).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from ._params import check_method_options, check_param
from .de.contrasts import contrast_matrix
from .de.deseq2 import check_fit_options, check_nested, results_options
from .de.design import Design, check_design, design_from_groups, design_from_matrix, sample_order
from .de.edger import check_lfc, exact_pair
from .de.formula import design_from_formula
from .features.annotation import detect_keytype
from .r._session import r_script_path

__all__ = [
    "check_options",
    "compare_payload",
    "contrast_names",
    "data_path",
    "design_inputs",
    "detect_keytype",
    "frame_payload",
    "limma_inputs",
    "r_script_path",
]

#: ``method=`` of :func:`design_inputs`: which DE function the design is for
DESIGN_METHODS = ("limma", "edger", "deseq2")

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


def _design(
    sample_ids: list[str],
    frame: pd.DataFrame | None,
    formula,
    groups,
    groups_levels,
    design_matrix,
    design_colnames,
) -> Design:
    """The design from a formula over the sheet, one group label per sample, or a matrix."""
    if formula is not None:
        if frame is None or frame.shape[1] == 0:
            msg = "a formula design needs a sample table (samples=)"
            raise ValueError(msg)
        return design_from_formula(formula, frame)
    if groups is not None:
        lev = [str(v) for v in groups_levels]  # an R factor's levels, kept in their order
        return design_from_groups(pd.Categorical(groups, categories=lev or None), sample_ids)
    if design_matrix is not None:
        flat = np.asarray(_as_list(design_matrix), dtype=float)
        names = [str(c) for c in _as_list(design_colnames)]
        if not names or flat.size != len(sample_ids) * len(names):
            msg = (
                f"the design matrix has {flat.size} values, not {len(sample_ids)} samples x "
                f"{len(names)} named columns"
            )
            raise ValueError(msg)
        matrix = flat.reshape((len(sample_ids), len(names)), order="F")
        return design_from_matrix(matrix, sample_ids, names)
    msg = "give design= (a formula with samples=, or a numeric matrix) or groups="
    raise ValueError(msg)


def _contrast_spec(contrast):
    if isinstance(contrast, dict):
        return {str(k): str(v) for k, v in contrast.items()}
    if isinstance(contrast, list | tuple):
        return [str(c) for c in contrast]
    return contrast


def design_inputs(
    sample_ids,
    samples: dict[str, Any] | None = None,
    levels: dict[str, Any] | None = None,
    formula: str | None = None,
    groups=None,
    groups_column: str | None = None,
    design_matrix=None,
    design_colnames=None,
    contrast=None,
    sample_rownames=None,
    samples_nrow=None,
    match: str = "ids",
    design_only: bool = False,
    method: str = "limma",
    test: str | None = None,
    reduced: str | None = None,
    reduced_matrix=None,
    reduced_colnames=None,
) -> dict[str, Any]:
    """Validate and build the design and contrasts for the R package; numbers out only.

    Parameters
    ----------
    sample_ids
        ``colnames(x)``: the matrix's sample names, in matrix order.
    samples
        The sample sheet's columns as lists (factors as text, their levels in ``levels``;
        missing values as ``None``).
    levels
        Factor levels by column name (``.groups`` for a factor ``groups``).
    formula, groups, design_matrix, design_colnames, contrast
        The design and contrasts, as in :func:`degbridge.run_limma`.
    groups_column
        A sample-sheet column holding the groups (instead of ``groups``): taken after the
        sheet is matched to the samples, with the column's factor levels.
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
    method
        ``"limma"``, ``"edger"`` or ``"deseq2"``: the DE function the design is for. DESeq2
        tests one contrast; ``method="edger", test="exact"`` needs two groups and returns
        ``pair``.
    test
        edgeR's or DESeq2's test (``"exact"`` and ``"LRT"`` change what is built).
    reduced, reduced_matrix, reduced_colnames
        DESeq2's reduced model for ``test="LRT"``: a formula over the sheet, or a numeric
        matrix (column-major values and column names); checked to be nested in the design.

    Returns
    -------
    A dict of plain lists and numbers: the design (column-major), its shape and column names,
    the contrasts (column-major, or ``coef``: the 1-based design column of a single tested
    coefficient), their names, ``order`` (the sheet's rows, 0-based, in ``colnames(x)``
    order; ``None`` without a sheet), and ``pair`` (edgeR's exact test) or ``reduced``,
    ``reduced_ncol``, ``reduced_colnames`` (DESeq2's LRT) where they apply.
    """
    if method not in DESIGN_METHODS:
        msg = f"method must be one of {list(DESIGN_METHODS)}, not {method!r}"
        raise ValueError(msg)
    sample_ids = [str(s) for s in _as_list(sample_ids)]
    frame, order = _aligned_sheet(sample_ids, samples, levels, sample_rownames, samples_nrow, match)
    groups, groups_levels = _groups(frame, groups, groups_column, levels)
    design = _design(
        sample_ids, frame, formula, groups, groups_levels, design_matrix, design_colnames
    )
    check_design(design)
    exact = method == "edger" and test == "exact"
    if exact and (groups is None or len(design.columns) != 2):
        msg = (
            "test='exact' (edgeR's exactTest) compares two groups: pass groups= with exactly "
            f"two levels (this design has columns {design.columns}); use test='ql' or 'lrt' "
            "for other designs"
        )
        raise ValueError(msg)
    spec = _contrast_spec(contrast)
    if spec is None and (design_only or exact):  # a fit, or exactTest's default pair
        cmat, names, coefs = np.zeros((design.matrix.shape[1], 0)), [], []
    else:
        cmat, names, coefs = contrast_matrix(spec, design.columns)
    out: dict[str, Any] = {}
    if exact:  # the rule of run_edger(test="exact")
        given = spec is not None
        out["pair"] = (
            exact_pair(design.columns, cmat, names[0] if len(names) == 1 else names)
            if given
            else [1, 2]
        )
        names = names[:1] if given else [f"{design.columns[1]} - {design.columns[0]}"]
        cmat, coefs = np.zeros((design.matrix.shape[1], 0)), []
    if method == "deseq2" and len(names) != 1 and not design_only:
        msg = f"DESeq2 tests one contrast at a time; got {len(names)}: {names}"
        raise ValueError(msg)
    if method == "deseq2" and test == "LRT":
        out.update(_reduced(sample_ids, frame, design, reduced, reduced_matrix, reduced_colnames))
    single_coef = len(names) == 1 and bool(coefs) and coefs[0] is not None
    return {
        "design": design.matrix.ravel(order="F").tolist(),
        "nrow": int(design.matrix.shape[0]),
        "ncol": int(design.matrix.shape[1]),
        "colnames": list(design.columns),
        "contrasts": None if single_coef or not cmat.shape[1] else cmat.ravel(order="F").tolist(),
        "contrast_names": names,
        "coef": int(coefs[0] + 1) if single_coef else None,
        "order": order,
        **out,
    }


def _aligned_sheet(sample_ids, samples, levels, sample_rownames, samples_nrow, match):
    """The sample sheet in ``colnames(x)`` order and that order (0-based rows), or Nones."""
    if match not in ("ids", "position"):
        msg = f'match must be "ids" or "position", not {match!r}'
        raise ValueError(msg)
    if samples is None and sample_rownames is None:
        return None, None
    raw = _sample_frame(samples, levels, sample_rownames, samples_nrow)
    order = sample_order(
        raw,
        sample_ids,
        positional_ok=match == "position",
        position_hint=', or pass match = "position" to take its rows in the order of colnames(x)',
    )
    frame = raw.iloc[order].copy()
    frame.index = sample_ids
    return frame, order


def _groups(frame, groups, groups_column, levels):
    """One group label per sample (from ``groups`` or a sheet column) and the levels' order."""
    groups_levels = _as_list((levels or {}).get(".groups"))
    if groups_column is not None:
        if frame is None or groups_column not in frame.columns:
            have = [] if frame is None else [str(c) for c in frame.columns]
            msg = f"groups={groups_column!r} is not a column of the sample table (columns: {have})"
            raise ValueError(msg)
        column = frame[groups_column]
        if column.isna().any():
            bad = list(frame.index[column.isna().to_numpy()][:5])
            msg = f"groups column {groups_column!r} has missing values for samples {bad}"
            raise ValueError(msg)
        if isinstance(column.dtype, pd.CategoricalDtype):
            column = column.cat.remove_unused_categories()
            groups_levels = [str(c) for c in column.cat.categories]
        return [str(g) for g in column], groups_levels
    if groups is not None:
        return [str(g) for g in _as_list(groups)], groups_levels
    return None, groups_levels


def _reduced(sample_ids, frame, design, reduced, reduced_matrix, reduced_colnames) -> dict:
    """DESeq2's LRT: the reduced model (a formula over the sheet or a matrix), nested in the
    design (the rule of run_deseq2), as plain lists."""
    if reduced is not None:
        if frame is None or frame.shape[1] == 0:
            msg = "a formula reduced= needs a sample table: pass samples= (one row per sample)"
            raise ValueError(msg)
        red = design_from_formula(reduced, frame)
    elif reduced_matrix is not None:
        red = _design(sample_ids, None, None, None, [], reduced_matrix, reduced_colnames)
    else:
        msg = "test='LRT' needs reduced= (a formula such as ~ celltype, or a numeric matrix)"
        raise ValueError(msg)
    check_nested(red, design)
    return {
        "reduced": red.matrix.ravel(order="F").tolist(),
        "reduced_ncol": int(red.matrix.shape[1]),
        "reduced_colnames": list(red.columns),
    }


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
    """:func:`design_inputs` for limma (its arguments, without the edgeR/DESeq2 ones)."""
    return design_inputs(
        sample_ids,
        samples=samples,
        levels=levels,
        formula=formula,
        groups=groups,
        design_matrix=design_matrix,
        design_colnames=design_colnames,
        contrast=contrast,
        sample_rownames=sample_rownames,
        samples_nrow=samples_nrow,
        match=match,
        design_only=design_only,
    )


def contrast_names(contrast, columns) -> list[str]:
    """The names of ``contrast`` over design columns ``columns`` (checked: an unknown level
    or malformed expression is a ValueError naming it), as ``tl.de(celltype_key=)`` checks
    its contrasts once before fitting each cell type."""
    return contrast_matrix(_contrast_spec(contrast), [str(c) for c in _as_list(columns)])[1]


def check_options(
    family: str,
    options: dict[str, Any],
    method: str | None = None,
    reduced_given: bool = False,
) -> None:
    """Check the options of the R package's DE functions against their declarations.

    ``family`` is ``"limma"``, ``"edger"`` or ``"deseq2"``; ``method`` is limma's method
    (``None``: chosen from the data). The values are those R sent (``NULL`` left out); the
    rules are :func:`degbridge._params.check_method_options`' and, between options, those of
    :func:`degbridge.run_edger` and :func:`degbridge.run_deseq2`. DESeq2's ``reduced`` (an R
    formula or matrix, checked in R and built by :func:`design_inputs`) is not among the
    options: ``reduced_given`` says whether there is one.
    """
    if family not in DESIGN_METHODS:
        msg = f"family must be one of {list(DESIGN_METHODS)}, not {family!r}"
        raise ValueError(msg)
    options = dict(options or {})
    if family == "limma":
        if method is not None:
            check_param("method", method)
        check_method_options(None, options)
    else:
        check_method_options(family, options)
    if family == "edger":
        check_lfc(options.get("lfc", 0.0), options.get("test", "ql"))
    if family == "deseq2":
        test = options.get("test", "Wald")
        check_fit_options(test, "reduced" if reduced_given else None)
        results_options(test, **{k: v for k, v in options.items() if k not in ("test", "reduced")})


def data_path(name: str) -> str:
    """The path of a data file bundled with degbridge (``degbridge/data``), e.g. the airway
    counts read by the R package's ``degbridge_airway()``."""
    import importlib.resources

    if name not in ("airway_counts.tsv.gz", "airway_samples.tsv"):
        msg = f"no bundled data file {name!r}"
        raise ValueError(msg)
    path = importlib.resources.files("degbridge").joinpath("data", name)
    if not path.is_file():
        msg = f"degbridge's data file {name} is missing (a broken install?)"
        raise FileNotFoundError(msg)
    return str(path)


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
            absent = set(missing)
            columns.append(["" if i in absent else str(v) for i, v in enumerate(s)])
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
