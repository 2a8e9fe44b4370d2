"""Hand results back: R objects (rpy2), TSV folders, plain Python structures.

* :func:`to_r` — a DETable/DataFrame becomes an R ``data.frame`` (gene IDs as ``row.names``,
  limma's column names kept: ``P.Value``, ``adj.P.Val``); a :class:`~degbridge.Comparison`
  a named R ``list`` of data.frames plus ``params``; several contrasts a named list.
* :func:`write_comparison` — leaderboard, predictions, importances, leakage... as TSV files
  (and the HTML report) in a folder written atomically.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._io import results_dir

__all__ = ["comparison_tables", "load_comparison", "to_r", "write_comparison"]


def to_r(obj):
    """Convert a degbridge result to R objects (needs rpy2 and R).

    DETable/DataFrame → ``data.frame`` with row names; Comparison → named ``list``
    (``leaderboard``, ``predictions``, ``importances``, ``leakage``, ``leakage_scores``,
    ``preprocessing``, ``outliers``, ``cv_scores``, ``params``); DEResults → named list of
    data.frames (plus ``F`` for the F-test table).
    """
    from .comparison import Comparison
    from .limma import DEResults
    from .r import R_LOCK

    with R_LOCK:
        return _to_r(obj, Comparison, DEResults)


def _to_r(obj, Comparison, DEResults):
    from .r import frame_to_r, list_to_r

    if isinstance(obj, Comparison):
        return comparison_to_r(obj)
    if isinstance(obj, DEResults):
        items = {name: frame_to_r(tab) for name, tab in obj.items()}
        if obj.ftest is not None:
            items["F"] = frame_to_r(obj.ftest)
        return list_to_r(items)
    if isinstance(obj, pd.DataFrame):
        return frame_to_r(obj)
    msg = f"to_r converts DETables, DataFrames, DEResults and Comparisons, not {type(obj).__name__}"
    raise TypeError(msg)


def comparison_tables(res) -> dict[str, pd.DataFrame]:
    """The comparison's tables, with row labels where they carry meaning (genes, features)."""
    tables = {
        "leaderboard": res.leaderboard,
        "predictions": res.predictions,
        "importances": res.importances,
        "leakage": res.leakage,
        "preprocessing": res.preprocessing,
        "outliers": res.outliers if res.outliers is not None else pd.DataFrame(),
        "cv_scores": res.cv_scores,
    }
    if res.leakage_scores is not None:
        tables["leakage_scores"] = res.leakage_scores
    return tables


def _r_params(params: dict[str, Any]):
    from .r import list_to_r, scalar, str_vector

    items = {}
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, list | tuple):
            items[key] = str_vector([str(v) for v in value])
        else:
            items[key] = scalar(value)
    return list_to_r(items)


def comparison_to_r(res):
    from .r import R_LOCK, frame_to_r, list_to_r

    with R_LOCK:
        return _comparison_to_r(res, frame_to_r, list_to_r)


def _comparison_to_r(res, frame_to_r, list_to_r):
    items = {}
    for name, frame in comparison_tables(res).items():
        keep_index = name in ("predictions", "leakage", "leakage_scores")
        items[name] = frame_to_r(frame, row_names=keep_index)
    items["params"] = _r_params(res.params)
    return list_to_r(items)


def _json_default(value):
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def write_comparison(
    res, folder: str | os.PathLike, *, report: bool = True, table=None, overwrite: bool = False
) -> Path:
    """Write the comparison's tables as TSV (plus params.json and report.html), atomically.

    Parameters
    ----------
    res
        The :class:`~degbridge.Comparison`.
    folder
        The results folder: new, empty, or one degbridge wrote before (it holds
        ``.degbridge-manifest.json``); see :func:`degbridge._io.results_dir`.
    report
        Also write ``report.html``.
    table
        The DE table, written as ``de_table.tsv`` when given.
    overwrite
        Allow writing into an existing non-empty folder that degbridge did not write. Even then
        only files with the names written here are replaced; other files are kept.

    Returns
    -------
    Path
        ``folder``.

    Notes
    -----
    Everything is written into a staging folder first; nothing reaches ``folder`` unless the
    whole write succeeded, and an interrupted write leaves the previous files (or none).
    """
    folder = Path(folder)
    with results_dir(folder, overwrite=overwrite) as tmp:
        for name, frame in comparison_tables(res).items():
            keep_index = name in ("predictions", "leakage", "leakage_scores")
            frame.to_csv(
                tmp / f"{name}.tsv", sep="\t", index=keep_index, lineterminator="\n", na_rep="NA"
            )
        (tmp / "params.json").write_text(
            json.dumps(res.params, indent=2, default=_json_default) + "\n"
        )
        (tmp / "best_model.txt").write_text(f"{res.best.name}\t{res.best.selected_on}\n")
        if table is not None:
            from .table import DETable

            DETable(table).write(tmp / "de_table.tsv")
        if report:
            from .report import write_report

            write_report(tmp / "report.html", comparison=res, table=table)
    return folder


def load_comparison(folder: str | os.PathLike):
    """Read a results folder written by :func:`write_comparison` back into a Comparison.

    The tables and parameters come back; fitted models do not (``best.pipeline`` is None).
    Returns ``(comparison, de_table_or_None)``.
    """
    from .comparison import BestModel, Comparison
    from .table import read_table

    folder = Path(folder)
    if not (folder / "leaderboard.tsv").is_file() or not (folder / "params.json").is_file():
        msg = (
            f"{str(folder)!r} is not a degbridge results folder (no leaderboard.tsv / params.json)"
        )
        raise ValueError(msg)

    def tsv(name, index=False):
        path = folder / f"{name}.tsv"
        if not path.is_file() or path.stat().st_size <= 1:
            return None
        return pd.read_csv(
            path,
            sep="\t",
            float_precision="round_trip",
            keep_default_na=False,
            na_values=["NA"],
            index_col=0 if index else None,
        )

    params = json.loads((folder / "params.json").read_text())
    best_name, selected_on = (folder / "best_model.txt").read_text().strip().split("\t")
    leakage = tsv("leakage", index=True)
    if leakage is not None and "flagged" in leakage.columns:
        leakage["flagged"] = leakage["flagged"].astype(bool)
    res = Comparison(
        target=params["target"],
        features=params["features"],
        leaderboard=tsv("leaderboard"),
        best=BestModel(best_name, None, selected_on),
        importances=tsv("importances"),
        leakage=leakage if leakage is not None else pd.DataFrame(),
        leakage_scores=tsv("leakage_scores", index=True),
        preprocessing=tsv("preprocessing"),
        outliers=tsv("outliers"),
        cv_scores=tsv("cv_scores"),
        oof=None,
        models={},
        params=params,
    )
    # predictions is computed from the fitted models, which a folder does not hold: set the
    # stored table as that (cached) property's value
    res.__dict__["predictions"] = tsv("predictions", index=True)
    table = read_table(folder / "de_table.tsv") if (folder / "de_table.tsv").is_file() else None
    return res, table
