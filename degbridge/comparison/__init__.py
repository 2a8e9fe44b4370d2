"""The regression-comparison core (scikit-learn): :func:`compare` and its :class:`Comparison`."""

from .core import BestModel, Comparison, compare, metrics
from .leakage import KNOWN_RELATIONS, audit
from .models import DEFAULT_MODELS, MODELS, SEED_MODELS, SubsampledRegressor, make_model

__all__ = [
    "DEFAULT_MODELS",
    "KNOWN_RELATIONS",
    "MODELS",
    "SEED_MODELS",
    "BestModel",
    "Comparison",
    "SubsampledRegressor",
    "audit",
    "compare",
    "make_model",
    "metrics",
]
