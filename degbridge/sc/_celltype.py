"""``tl.de(..., celltype_key=)``: one pseudobulk and one fit per cell type (as muscat's ``pbDS``),
skipped cell types with their reasons, BH per cell type or over all of them, one long table.

The steps, shared by the serial path (:func:`per_cell_type`) and the dask one
(:mod:`degbridge.sc._dask`): :func:`make_plan` checks everything once;
:func:`too_few_samples` skips a cell type before any sum; :func:`cell_type_pseudobulks` (or
:meth:`Plan.pseudobulks` on a cluster) sums; :func:`fit_pseudobulk` fits one cell type (an
error of its data skips it); :func:`assemble` makes the stored entry.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._checks import check_label, get_matrix
from .._exceptions import DataWarning, RError
from .._params import OTHER_METHODS, caller_stacklevel
from ._blockwise import is_dask_array
from .pseudobulk import Pseudobulks, check_adata_counts, pseudobulk
from .storage import celltype_entry

#: ``adjust=`` of the per-cell-type path
Adjust = Literal["per_cell_type", "global"]
ADJUST: tuple[str, ...] = ("per_cell_type", "global")


@dataclass
class Plan:
    """What every cell type's fit shares: checked arguments, levels, contrasts, cells."""

    groupby: str
    contrast: Any
    layer: str | None
    method: str | None
    sample_key: str
    celltype_key: str
    min_cells: int
    min_samples: int
    adjust: str
    options: dict[str, Any]
    levels: list[str]
    names: list[str]  # the contrasts' names
    kwargs: dict[str, Any]  # what the method's function gets besides the data and design
    cell_types: list[str]
    cells: np.ndarray  # each cell's type, as text
    samples: pd.DataFrame  # one row per cell type × sample × condition (see _sample_table)

    def cell_positions(self, cell_type: str) -> np.ndarray:
        """The positions of the cells of ``cell_type``."""
        return np.flatnonzero(self.cells == cell_type)

    def pseudobulks(self, adata, cell_types: list[str]) -> Pseudobulks:
        """The pseudobulks of ``cell_types`` from one pass over ``adata``'s dask matrix."""
        return Pseudobulks(
            adata, {c: self.cell_positions(c) for c in cell_types}, sample_key=self.sample_key,
            groupby=self.groupby, layer=self.layer, min_cells=self.min_cells,
        )  # fmt: skip

    def for_workers(self) -> Plan:
        """This plan without what only the caller needs (each cell's type, the samples
        table): what a fit on a dask worker reads (:func:`fit_pseudobulk`)."""
        return replace(self, cells=np.empty(0, dtype=object), samples=self.samples.iloc[:0])


@dataclass
class Outcome:
    """One cell type's fit: its long tables and a row of ``fits``, or why it was skipped."""

    cell_type: str
    tables: list[pd.DataFrame] = field(default_factory=list)
    fit: tuple | None = None  # (cell type, samples, genes, method choice)
    reason: str | None = None  # skipped: why
    used: str | None = None  # skipped: what ``samples["used"]`` says for its samples
    meta: dict[str, Any] = field(default_factory=dict)  # versions, column_map


def per_cell_type(adata, *, run: Callable, progress: bool, **arguments) -> dict[str, Any]:
    """What ``tl.de(celltype_key=...)`` stores: one pseudobulk and one fit per cell type,
    fitted one after another in this process's R."""
    from tqdm.auto import tqdm

    plan = make_plan(adata, **arguments)
    outcomes = {}
    bar = tqdm(
        total=len(plan.cell_types), desc="cell types", unit="cell type", disable=not progress,
        leave=False,
    )  # fmt: skip
    try:
        for cell_type in plan.cell_types:
            skipped = too_few_samples(cell_type, plan)
            if skipped is not None:
                outcomes[cell_type] = skipped
                bar.update(1)
        todo = [c for c in plan.cell_types if c not in outcomes]
        for cell_type, pb in cell_type_pseudobulks(adata, plan, todo):
            bar.set_postfix_str(cell_type[:30], refresh=False)
            outcomes[cell_type] = fit_pseudobulk(pb, cell_type, plan, run)
            bar.update(1)
    finally:
        bar.close()
    return assemble(plan, [outcomes[c] for c in plan.cell_types])


def make_plan(
    adata, *, groupby, contrast, design, layer, method, sample_key, celltype_key, min_cells,
    min_samples, adjust, options: dict[str, Any],
) -> Plan:  # fmt: skip
    """Check everything once, before any cell type is summed or fitted: a bad argument is the
    user's, not a reason to skip a cell type (option values were checked by ``tl``)."""
    from ..de.contrasts import contrast_matrix

    levels = _check_per_cell_type(
        adata, groupby, design, sample_key, celltype_key, min_cells, min_samples, adjust
    )
    names = contrast_matrix(contrast, levels)[1]  # an unknown level fails here, once
    if method == "deseq2" and len(names) != 1:
        msg = f"method='deseq2' tests one contrast at a time; got {len(names)}: call it once per contrast (key_added= apart)"
        raise ValueError(msg)
    if not is_dask_array(get_matrix(adata, layer)):  # a dask X: in the pass that sums it
        check_adata_counts(adata, layer)
    cells = adata.obs[celltype_key]
    return Plan(
        groupby=groupby, contrast=contrast, layer=layer, method=method, sample_key=sample_key,
        celltype_key=celltype_key, min_cells=min_cells, min_samples=min_samples, adjust=adjust,
        options=options, levels=levels, names=names,
        kwargs=dict(options) if method in OTHER_METHODS else {"method": method, **options},
        cell_types=_cell_types(cells), cells=cells.astype(str).to_numpy(),
        samples=_sample_table(adata, celltype_key, sample_key, groupby, min_cells),
    )  # fmt: skip


def too_few_samples(cell_type: str, plan: Plan) -> Outcome | None:
    """The outcome of a cell type skipped before any sum: too few samples with enough cells
    in a condition (None: it is fitted)."""
    rows = plan.samples[plan.samples["cell_type"] == cell_type]
    reason = _too_few_samples(rows, plan.levels, plan.groupby, plan.min_cells, plan.min_samples)
    if reason is None:
        return None
    return Outcome(cell_type, reason=reason, used="no: cell type skipped")


def cell_type_pseudobulks(adata, plan: Plan, cell_types: list[str]):
    """``(cell type, its pseudobulk)`` for each of ``cell_types``, as
    :func:`degbridge.pp.pseudobulk` of its cells makes it.

    A matrix in memory (or backed) is summed one cell type at a time, as it is needed; a dask
    array is read once for all of them (:class:`~degbridge.sc.pseudobulk.Pseudobulks`, by
    dask's current scheduler), and checked for raw counts in the same pass.
    """
    if not is_dask_array(get_matrix(adata, plan.layer)):
        for cell_type in cell_types:
            sub = adata[plan.cell_positions(cell_type)]
            pb = pseudobulk(sub, plan.sample_key, groupby=plan.groupby, layer=plan.layer,
                            min_cells=plan.min_cells)  # fmt: skip
            yield cell_type, pb
        return
    import dask

    pbs = plan.pseudobulks(adata, cell_types)
    graph = pbs.lazy()
    problems, sums = dask.compute(graph.problems, graph.sums)
    problem = graph.problem(problems)
    if problem is not None:
        raise pbs.error(problem)
    for (cell_type, spec), values in zip(pbs.specs.items(), sums):
        yield cell_type, spec.build(values)


def fit_pseudobulk(pb, cell_type: str, plan: Plan, run: Callable) -> Outcome:
    """The method's fit of one cell type's pseudobulk, as long tables (``cell_type,
    contrast, gene``, then the method's columns)."""
    from ..de.backend import DEResults

    try:
        result = run(pb, groups=plan.groupby, contrast=plan.contrast, **plan.kwargs)
    except (ValueError, RError) as err:  # the data of this cell type: too few df, R
        return Outcome(cell_type, reason=f"fit failed: {err}", used="no: fit failed")
    if isinstance(result, DEResults):
        per_contrast = dict(result)
    else:
        per_contrast = {str(result.meta["contrast"]): result}
    tables = []
    for name, table in per_contrast.items():
        frame = pd.DataFrame(table).rename_axis("gene").reset_index()
        frame.insert(0, "contrast", name)
        frame.insert(0, "cell_type", cell_type)
        tables.append(frame)
    first = next(iter(per_contrast.values()))
    choice = first.meta.get("method_choice", f"{plan.method}: given")
    meta = {"versions": first.meta.get("versions"), "column_map": first.meta.get("column_map", {})}
    return Outcome(cell_type, tables, (cell_type, len(pb), len(first), choice), meta=meta)


def assemble(plan: Plan, outcomes: list[Outcome]) -> dict[str, Any]:
    """The stored entry from every cell type's outcome (in ``plan.cell_types`` order):
    skipped ones warned about (all skipped: ValueError), BH over all cell types with
    ``adjust="global"``."""
    samples = plan.samples.copy()
    skipped = [(o.cell_type, o.reason) for o in outcomes if o.reason is not None]
    for o in outcomes:
        if o.reason is not None:
            samples.loc[
                (samples["cell_type"] == o.cell_type) & (samples["used"] == "yes"), "used"
            ] = o.used
    fitted = [o for o in outcomes if o.reason is None]
    if not fitted:
        each = "; ".join(f"{c!r}: {r}" for c, r in skipped)
        msg = f"every cell type of {plan.celltype_key!r} was skipped, so nothing was fitted: {each}"
        raise ValueError(msg)
    if skipped:
        each = "; ".join(f"{c!r}: {r}" for c, r in skipped)
        warnings.warn(
            f"{len(skipped)} of {len(plan.cell_types)} cell types skipped (see "
            f"adata.uns[key_added]['skipped']): {each}",
            DataWarning,
            stacklevel=caller_stacklevel(),
        )
    results = pd.concat([t for o in fitted for t in o.tables], ignore_index=True)
    if plan.adjust == "global":
        for name in plan.names:
            # genes a fit left without adj.P.Val (DESeq2's independent filtering) stay so
            sel = ((results["contrast"] == name) & results["adj.P.Val"].notna()).to_numpy()
            results.loc[sel, "adj.P.Val"] = bh_adjust(results.loc[sel, "P.Value"].to_numpy())
    meta = next((o.meta for o in fitted if o.meta.get("versions")), fitted[-1].meta)
    params = {
        "groupby": plan.groupby,
        "sample_key": plan.sample_key,
        "celltype_key": plan.celltype_key,
        "layer": plan.layer or "X",
        "min_cells": int(plan.min_cells),
        "min_samples": int(plan.min_samples),
        "adjust": plan.adjust,
        "method": plan.method or "auto",
        "options": {k: v for k, v in plan.options.items() if _storable(v)},
        "levels": plan.levels,
        "versions": meta.get("versions"),
        "column_map": fitted[-1].meta.get("column_map", {}),
    }
    return celltype_entry(
        contrasts=plan.names,
        levels=plan.levels,
        results=results,
        skipped=skipped,
        samples=samples,
        fits=[o.fit for o in fitted],
        params=params,
    )


def _storable(value) -> bool:
    """An option value ``params`` can keep through ``.h5ad`` (a scalar or a string)."""
    return isinstance(value, str | bool | int | float | np.integer | np.floating)


def _obs_columns(adata) -> list[str]:
    return list(map(str, adata.obs.columns))


def _check_per_cell_type(
    adata, groupby, design, sample_key, celltype_key, min_cells, min_samples, adjust
) -> list[str]:
    """Check the per-cell-type arguments; the condition levels (sorted, as strings)."""
    keys = {"celltype_key": celltype_key, "sample_key": sample_key, "groupby": groupby}
    for what, key in keys.items():
        if key is None:
            msg = f"celltype_key= (DE per cell type) needs {what}= as well: an obs column; obs columns are {_obs_columns(adata)}"
            raise ValueError(msg)
        if not isinstance(key, str) or key not in adata.obs.columns:
            msg = f"{what}={key!r} is not an obs column; obs columns are {_obs_columns(adata)}"
            raise ValueError(msg)
    if len(set(keys.values())) < len(keys):
        msg = (
            f"celltype_key, sample_key and groupby must be three different obs columns, not {keys}"
        )
        raise ValueError(msg)
    if design is not None:
        msg = "with celltype_key= each cell type is fitted with ~ 0 + groupby: give groupby=, not design="
        raise ValueError(msg)
    for what, value in (("min_cells", min_cells), ("min_samples", min_samples)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            msg = f"{what} must be a positive integer, not {value!r}"
            raise ValueError(msg)
    if adjust not in ADJUST:
        msg = f"adjust must be one of {list(ADJUST)}, not {adjust!r}"
        raise ValueError(msg)
    missing = [k for k in keys.values() if adata.obs[k].isna().any()]
    if missing:
        msg = f"obs columns {missing} have missing values; every cell needs a cell type, sample and condition"
        raise ValueError(msg)
    for key in keys.values():  # R strings stop at NUL: a label must reach R whole
        column = adata.obs[key]
        if isinstance(column.dtype, pd.CategoricalDtype):  # its used categories: no per-cell text
            values = column.cat.remove_unused_categories().cat.categories
        else:
            values = pd.unique(column)
        for label in values:
            check_label(str(label), f"obs[{key!r}] label")
    levels = sorted(adata.obs[groupby].astype(str).unique())
    if len(levels) < 2:
        msg = f"groupby={groupby!r} has a single level {levels}: a comparison needs two"
        raise ValueError(msg)
    return levels


def _cell_types(cells: pd.Series) -> list[str]:
    """The cell types present: in category order for a categorical, else sorted."""
    if isinstance(cells.dtype, pd.CategoricalDtype):
        present = set(cells.astype(str))
        return [str(c) for c in cells.cat.categories if str(c) in present]
    return sorted(cells.astype(str).unique())


def _sample_table(adata, celltype_key, sample_key, groupby, min_cells) -> pd.DataFrame:
    """One row per cell type × sample × condition: cells, and whether the pseudobulk sample
    has enough of them (``used``: ``"yes"`` or why not)."""
    obs = adata.obs[[celltype_key, sample_key, groupby]].astype(str)
    obs.columns = ["cell_type", "sample", "condition"]
    table = obs.groupby(list(obs.columns), sort=True).size().rename("n_cells").reset_index()
    table["used"] = np.where(
        table["n_cells"] >= min_cells, "yes", f"no: fewer than min_cells={min_cells} cells"
    )
    return table


def _too_few_samples(rows: pd.DataFrame, levels, groupby, min_cells, min_samples) -> str | None:
    """Why a cell type cannot be fitted (a condition with too few samples), or None."""
    kept = rows.loc[rows["used"] == "yes", "condition"].value_counts()
    short = [(lev, int(kept.get(lev, 0))) for lev in levels if kept.get(lev, 0) < min_samples]
    if not short:
        return None
    each = ", ".join(f"{groupby}={lev!r} has {n}" for lev, n in short)
    return (
        f"too few samples with >= {min_cells} cells (min_samples={min_samples} per condition): "
        f"{each}"
    )


def bh_adjust(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted P-values, as R's ``p.adjust(p, "BH")`` (NaN kept, not
    counted)."""
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    q = p[ok]
    n = len(q)
    if n:
        order = np.argsort(-q, kind="stable")
        i = np.arange(n, 0, -1, dtype=float)
        adjusted = np.empty(n)
        adjusted[order] = np.minimum(1.0, np.minimum.accumulate(n / i * q[order]))
        out[ok] = adjusted
    return out
