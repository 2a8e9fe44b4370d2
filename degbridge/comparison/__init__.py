"""The regression-comparison core (scikit-learn): :func:`compare` and its :class:`Comparison`.

Modules: ``core`` (:func:`compare`, a list of named steps), ``steps`` (those steps),
``engine`` (parallel and time-limited fits), ``result`` (:class:`Comparison`,
:class:`BestModel`), ``preprocess``, ``leakage``, ``models``.
"""

from .core import compare
from .leakage import KNOWN_RELATIONS, audit
from .models import DEFAULT_MODELS, MODELS, SEED_MODELS, SubsampledRegressor, make_model
from .result import BestModel, Comparison
from .steps import metrics

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
