"""Hand results back: R objects (rpy2) and results folders with the HTML report.

* :func:`to_r` — any degbridge result as R objects: a DETable/DataFrame becomes a
  ``data.frame`` (gene IDs as ``row.names``, limma's column names kept), a
  :class:`~degbridge.Comparison` a named ``list`` of data.frames plus ``params``, several
  contrasts a named list. Each result type registers its own conversion with
  :func:`degbridge.r.to_r`; nothing here needs their classes.
* :func:`write_results` — a comparison's tables (:meth:`Comparison.write
  <degbridge.Comparison.write>`), the DE table and ``report.html`` in one results folder,
  written atomically under degbridge's output contract.
* :func:`load_comparison` — the same folder read back.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from . import report as _report
from .io.files import results_dir
from .r import to_r as _dispatch

__all__ = ["load_comparison", "to_r", "write_results"]


def to_r(obj):
    """Convert a degbridge result to R objects (needs rpy2 and R).

    DETable/DataFrame → ``data.frame`` with row names; Comparison → named ``list``
    (``leaderboard``, ``predictions``, ``importances``, ``leakage``, ``leakage_scores``,
    ``preprocessing``, ``outliers``, ``cv_scores``, ``params``); DEResults → named list of
    data.frames (plus ``F`` for the F-test table); a dict → named list of those.
    """
    if not isinstance(obj, pd.DataFrame | Mapping) and not hasattr(obj, "to_r"):
        msg = (
            "to_r converts DETables, DataFrames, DEResults, Comparisons and dicts of them, "
            f"not {type(obj).__name__}"
        )
        raise TypeError(msg)
    return _dispatch(obj)


def write_results(
    res,
    folder: str | os.PathLike,
    *,
    table=None,
    expression=None,
    groups=None,
    report: bool = True,
    overwrite: bool = False,
) -> Path:
    """Write a comparison's tables, the DE table and the HTML report into one folder.

    Parameters
    ----------
    res
        The :class:`~degbridge.Comparison`.
    folder
        The results folder: new, empty, or one degbridge wrote before (it holds
        ``.degbridge-manifest.json``); see :func:`degbridge.io.files.results_dir`.
    table
        The DE table, written as ``de_table.tsv`` and shown in the report when given.
    expression, groups
        For the report's linked expression panel and MDS: a :class:`~degbridge.LimmaFit`
        (its ``E``), raw counts or log-expression, and the sample groups (see
        :func:`degbridge.report.write_report`).
    report
        Also write ``report.html``.
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
        res.write_files(tmp, table=table)
        if report:
            _report.write_report(
                tmp / "report.html",
                comparison=res,
                table=table,
                expression=expression,
                groups=groups,
            )
    return folder


def load_comparison(folder: str | os.PathLike):
    """Read a results folder written by :func:`write_results` back into a Comparison.

    The tables and parameters come back; fitted models do not (``best.pipeline`` is None).
    Returns ``(comparison, de_table_or_None)``.
    """
    from .comparison import Comparison

    return Comparison.read(folder)
