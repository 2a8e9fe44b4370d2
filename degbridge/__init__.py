"""degbridge: R's limma, edgeR and DESeq2 from Python, and DE tables as regression problems.

Public API
----------
read_table, read_matrix
    Import a DE table (limma topTable, GEO2R export, any CSV/TSV with those columns) or a
    genes × samples matrix.
run_limma, run_edger, run_deseq2
    Differential expression with R's limma (log-expression, voom, limma-trend), edgeR (QL,
    LRT, exact, treat) or DESeq2 (Wald, LRT) through rpy2 on a matrix or AnnData; one table
    (DETable) per contrast.
fit_limma, fit_edger, fit_deseq2
    Fit once, test any contrast later without refitting (LimmaFit, EdgerFit, DESeq2Fit:
    ``test``, ``top_table``, ``to_r``); ``decide_tests``, ``gene_sets`` and the gene-set
    tests on a limma fit; ``concordance`` of several methods' tables.
compare
    Compare scikit-learn regressors that predict a DE column (logFC, B...) from per-gene
    features, with cross-validation, importances and a leakage audit.
tl
    scverse-style verbs on AnnData: ``tl.de`` (= ``tl.limma``; limma, edgeR or DESeq2, per
    cell type too), ``tl.compare`` (write ``adata.uns``), ``get.de_df``, ``get.compare_df``
    (read it back), ``pp.pseudobulk``.
pl
    Plotting functions (matplotlib, scanpy style): ``pl.volcano``, ``pl.ma``, ``pl.mds``,
    ``pl.voom_trend``, ``pl.pseudobulk_qc``, ``pl.leaderboard``... (the report draws with them).

Importing degbridge does not start R or import pandas, scikit-learn, matplotlib or anndata;
each is imported on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from ._exceptions import (
    ColumnAliasWarning,
    DataWarning,
    DegbridgeWarning,
    ExcelDateWarning,
    InputFileNotFoundError,
    LeakageWarning,
    RError,
    RNotAvailableError,
    RWarning,
)

# name -> module that defines it; imported on first access (PEP 562) to keep import light
_LAZY = {
    "__version__": "._version",  # importlib.metadata costs more than the rest of the import
    "CANONICAL": ".io",
    "DETable": ".io",
    "read_matrix": ".io",
    "read_table": ".io",
    "run_limma": ".de",
    "run_edger": ".de",
    "run_deseq2": ".de",
    "fit_limma": ".de",
    "LimmaFit": ".de",
    "decide_tests": ".de",
    "gene_sets": ".de",
    "camera_pr": ".de",
    "concordance": ".de",
    "split_reference": ".de.design",
    "gene_annotation": ".features.annotation",
    "annotation_features": ".features.annotation",
    "DEResults": ".de",
    "fit_edger": ".de",
    "fit_deseq2": ".de",
    "EdgerFit": ".de",
    "DESeq2Fit": ".de",
    "compare": ".comparison",
    "Comparison": ".comparison",
    "MODELS": ".comparison",
    "expression_features": ".features.expression",
    "pseudobulk": ".sc.pseudobulk",
    "write_h5ad": ".sc.storage",
    "to_r": ".handback",
    "write_results": ".handback",
    "r_script_path": ".r",
    "r_package_path": ".r",
    "r_available": ".r",
    "tl": ".sc.tl",
    "get": ".sc.get",
    "pp": ".sc.pp",
    "pl": ".pl",
}

#: the names above that are modules (scverse namespaces), not attributes of one
_SUBMODULES = frozenset({"tl", "get", "pp", "pl"})

__all__ = [
    "CANONICAL",
    "MODELS",
    "ColumnAliasWarning",
    "Comparison",
    "DEResults",
    "DESeq2Fit",
    "DETable",
    "DataWarning",
    "DegbridgeWarning",
    "EdgerFit",
    "ExcelDateWarning",
    "InputFileNotFoundError",
    "LeakageWarning",
    "LimmaFit",
    "RError",
    "RNotAvailableError",
    "RWarning",
    "__version__",
    "annotation_features",
    "camera_pr",
    "compare",
    "concordance",
    "decide_tests",
    "expression_features",
    "fit_deseq2",
    "fit_edger",
    "fit_limma",
    "gene_annotation",
    "gene_sets",
    "get",
    "pl",
    "pp",
    "pseudobulk",
    "r_available",
    "r_package_path",
    "r_script_path",
    "read_matrix",
    "read_table",
    "run_deseq2",
    "run_edger",
    "run_limma",
    "split_reference",
    "tl",
    "to_r",
    "write_h5ad",
    "write_results",
]


def __getattr__(name: str):
    if name in _LAZY:
        module = import_module(_LAZY[name], __name__)
        value = module if name in _SUBMODULES else getattr(module, name)
        globals()[name] = value
        return value
    msg = f"module 'degbridge' has no attribute {name!r}"
    raise AttributeError(msg)


def __dir__():
    return __all__


if TYPE_CHECKING:  # pragma: no cover
    from . import get, pl, pp, tl
    from ._version import __version__
    from .comparison import MODELS, Comparison, compare
    from .de.concordance import concordance
    from .de.deseq2 import run_deseq2
    from .de.edger import run_edger
    from .de.genesets import gene_sets
    from .de.limma import DEResults, run_limma
    from .de.limma_fit import LimmaFit, decide_tests, fit_limma
    from .features.expression import expression_features
    from .handback import to_r, write_results
    from .io.matrix_reader import read_matrix
    from .io.table import CANONICAL, DETable
    from .io.table_reader import read_table
    from .r import r_available, r_package_path, r_script_path
    from .sc.pseudobulk import pseudobulk
    from .sc.storage import write_h5ad
