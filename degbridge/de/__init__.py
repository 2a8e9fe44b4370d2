"""Differential expression with R's limma, edgeR and DESeq2, from Python.

The three methods are peers over one backend (:mod:`degbridge.de.backend`: input, checks,
design, what to test, R, tables); each has a ``run_*`` function (fit and test in one call) and
a ``fit_*`` function whose fit tests any contrast later without refitting:

=========  ==================  ==================  ===========================
method     one call            fit once            the fit
=========  ==================  ==================  ===========================
limma      :func:`run_limma`   :func:`fit_limma`   :class:`LimmaFit`
edgeR      :func:`run_edger`   :func:`fit_edger`   :class:`EdgerFit`
DESeq2     :func:`run_deseq2`  :func:`fit_deseq2`  :class:`DESeq2Fit`
=========  ==================  ==================  ===========================

Beside them: designs and contrasts (:mod:`degbridge.de.design`), limma's ``decideTests``
(:func:`decide_tests`), gene-set tests (:mod:`degbridge.de.genesets`) and the concordance of
several methods' tables (:func:`concordance`).
"""

from .backend import DEFit, DEResults, native_columns
from .concordance import Concordance, concordance
from .decide import DecideTests, decide_tests
from .deseq2 import DESeq2Fit, fit_deseq2, run_deseq2
from .edger import EdgerFit, fit_edger, run_edger
from .genesets import camera_pr, gene_sets
from .limma import LimmaFit, fit_limma, run_limma

__all__ = [
    "Concordance",
    "DEFit",
    "DEResults",
    "DESeq2Fit",
    "DecideTests",
    "EdgerFit",
    "LimmaFit",
    "camera_pr",
    "concordance",
    "decide_tests",
    "fit_deseq2",
    "fit_edger",
    "fit_limma",
    "gene_sets",
    "native_columns",
    "run_deseq2",
    "run_edger",
    "run_limma",
]
