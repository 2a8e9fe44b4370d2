"""Per-gene features for :func:`degbridge.compare` that do not come from the tested contrast:
Bioconductor annotation (:func:`gene_annotation`, :func:`annotation_features`; provenance
``external``) and expression summaries of the samples (:func:`expression_features`;
``same-samples``)."""

from .annotation import annotation_features, gene_annotation
from .expression import expression_features

__all__ = ["annotation_features", "expression_features", "gene_annotation"]
