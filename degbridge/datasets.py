"""Real data bundled with degbridge (see ``degbridge/data/README.md`` for provenance)."""

from __future__ import annotations

import importlib.resources

import pandas as pd

from .io.matrix_reader import read_matrix

__all__ = ["airway", "all_leukemia", "hsmm"]


def airway() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The airway RNA-seq experiment (Himes et al. 2014, GEO GSE52778).

    Returns
    -------
    counts
        Raw gene counts, 38,694 Ensembl genes × 8 samples (float, integer-valued).
    samples
        One row per sample (index = sample ID) with ``celltype`` (4 cell lines) and ``dex``
        (``control``/``treated``). The natural design is ``"~ celltype + dex"``.
    """
    root = importlib.resources.files("degbridge").joinpath("data")
    with importlib.resources.as_file(root.joinpath("airway_counts.tsv.gz")) as path:
        counts = read_matrix(path)
    with importlib.resources.as_file(root.joinpath("airway_samples.tsv")) as path:
        samples = pd.read_csv(path, sep="\t", dtype=str).set_index("id")
    samples.index.name = None
    return counts, samples


def all_leukemia() -> tuple[pd.DataFrame, list[str]]:
    """The ALL acute lymphoblastic leukemia microarrays (Chiaretti et al. 2004), through R.

    Needs R and Debian's ``r-bioc-all``. Returns the log2 RMA expression (12,625 probes × 128
    samples) and each sample's cell type, ``"B"`` or ``"T"``.
    """
    from . import r

    with r.R_LOCK:
        parts = r.to_dict(r.call("degbridge_dataset_all"))
        genes = [str(g) for g in r.to_numpy(parts["genes"])]
        samples = [str(s) for s in r.to_numpy(parts["samples"])]
        values = r.to_numpy(parts["exprs"]).reshape((len(genes), len(samples)), order="F")
        cells = [str(c) for c in r.to_numpy(parts["cell"])]
        del parts
    return pd.DataFrame(values, index=pd.Index(genes), columns=samples), cells


def hsmm(*, min_cells: int = 10) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The HSMM single-cell time course (Trapnell et al. 2014), through R.

    Human skeletal muscle myoblasts switched to differentiation medium and sequenced at 0, 24,
    48 and 72 hours (271 cells, Smart-seq FPKM). Needs R and Debian's
    ``r-bioc-hsmmsinglecell``.

    Parameters
    ----------
    min_cells
        Keep genes with FPKM ≥ 1 in at least this many cells.

    Returns
    -------
    expr
        log2(FPKM + 1), genes (versioned Ensembl IDs) × cells.
    cells
        One row per cell: ``hours`` (0/24/48/72) and ``time`` (``"h0"``... as text).
    genes
        ``symbol`` and ``biotype`` per gene.
    """
    from . import r

    with r.R_LOCK:
        parts = r.to_dict(r.call("degbridge_dataset_hsmm", r.scalar(int(min_cells))))
        genes = [str(g) for g in r.to_numpy(parts["genes"])]
        cells = [str(s) for s in r.to_numpy(parts["samples"])]
        values = r.to_numpy(parts["exprs"]).reshape((len(genes), len(cells)), order="F")
        hours = r.to_numpy(parts["hours"])
        ann = {k: r.to_numpy(parts[k]) for k in ("symbol", "biotype")}
        del parts
    expr = pd.DataFrame(values, index=pd.Index(genes), columns=cells)
    sheet = pd.DataFrame({"hours": hours.astype(int)}, index=cells)
    sheet["time"] = [f"h{h}" for h in sheet["hours"]]
    return expr, sheet, pd.DataFrame(ann, index=pd.Index(genes))
