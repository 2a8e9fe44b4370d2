"""The regressors degbridge compares, by name.

``"seed"`` is the original workflow's six (linear regression, random forest, decision tree,
gradient boosting, SVR, k-nearest neighbours); ``"default"`` adds a mean baseline, ridge,
lasso and elastic net (regularisation chosen by inner cross-validation), histogram gradient
boosting, extra trees and a multi-layer perceptron. Every model with randomness receives the
comparison's ``random_state``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.utils.validation import check_is_fitted

__all__ = [
    "DEFAULT_MODELS",
    "MODELS",
    "SEED_MODELS",
    "SubsampledRegressor",
    "make_model",
    "resolve_models",
]


class SubsampledRegressor(RegressorMixin, BaseEstimator):
    """Fit ``estimator`` on at most ``max_samples`` randomly chosen rows.

    Used for SVR, whose fit time grows quadratically with the number of genes: with
    ``max_samples=5000`` a 60,000-gene comparison fits each SVR on 5,000 training genes and
    predicts all of them. ``n_fit_samples_`` records how many rows were used.
    """

    def __init__(self, estimator=None, max_samples: int | None = 5000, random_state=None):
        self.estimator = estimator
        self.max_samples = max_samples
        self.random_state = random_state

    def fit(self, X, y):
        X = np.asarray(X)
        y = np.asarray(y)
        n = X.shape[0]
        if self.max_samples is not None and n > self.max_samples:
            rng = np.random.default_rng(self.random_state)
            rows = np.sort(rng.choice(n, size=self.max_samples, replace=False))
            X, y = X[rows], y[rows]
        self.estimator_ = clone(self.estimator).fit(X, y)
        self.n_fit_samples_ = X.shape[0]
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X):
        check_is_fitted(self, "estimator_")
        return self.estimator_.predict(X)

    @property
    def feature_importances_(self):
        """The fitted estimator's impurity importances (tree models)."""
        check_is_fitted(self, "estimator_")
        return self.estimator_.feature_importances_

    @property
    def coef_(self):
        """The fitted estimator's coefficients (linear models)."""
        check_is_fitted(self, "estimator_")
        return self.estimator_.coef_


def _svr(rs, svr_max_samples):
    from sklearn.svm import SVR

    return SubsampledRegressor(SVR(), max_samples=svr_max_samples, random_state=rs)


def _at_most(a: int | None, b: int | None) -> int | None:
    """The smaller of two row caps (None: no cap)."""
    caps = [c for c in (a, b) if c is not None]
    return min(caps) if caps else None


def _built(key: str, factories, random_state, svr_max_samples, max_fit_samples):
    """A built-in model; with ``max_fit_samples``, fitted on at most that many random rows.

    The mean baseline always sees every training gene (it costs nothing and is the yardstick);
    SVR keeps its own cap when that is smaller. The rows are drawn from ``random_state``, so
    every model of a comparison is fitted on the same genes of a fold.
    """
    if key == "svr":
        return factories[key][1](random_state, _at_most(svr_max_samples, max_fit_samples))
    est = factories[key][1](random_state, svr_max_samples)
    if max_fit_samples is None or key == "mean":
        return est
    return SubsampledRegressor(est, max_samples=max_fit_samples, random_state=random_state)


def _factories() -> dict[str, tuple[str, Callable[[Any, Any], Any]]]:
    from sklearn.dummy import DummyRegressor
    from sklearn.ensemble import (
        ExtraTreesRegressor,
        GradientBoostingRegressor,
        HistGradientBoostingRegressor,
        RandomForestRegressor,
    )
    from sklearn.linear_model import ElasticNetCV, LassoCV, LinearRegression, RidgeCV
    from sklearn.neighbors import KNeighborsRegressor
    from sklearn.neural_network import MLPRegressor
    from sklearn.tree import DecisionTreeRegressor

    return {
        "mean": ("DummyRegressor (mean)", lambda rs, svr: DummyRegressor(strategy="mean")),
        "linear": ("LinearRegression", lambda rs, svr: LinearRegression()),
        "random_forest": (
            "RandomForestRegressor",
            lambda rs, svr: RandomForestRegressor(n_estimators=100, random_state=rs, n_jobs=1),
        ),
        "decision_tree": (
            "DecisionTreeRegressor",
            lambda rs, svr: DecisionTreeRegressor(random_state=rs),
        ),
        "gradient_boosting": (
            "GradientBoostingRegressor",
            lambda rs, svr: GradientBoostingRegressor(random_state=rs),
        ),
        "svr": ("SVR (RBF)", _svr),
        "knn": ("KNeighborsRegressor", lambda rs, svr: KNeighborsRegressor(n_neighbors=5)),
        "ridge": ("RidgeCV", lambda rs, svr: RidgeCV(alphas=np.logspace(-3, 3, 13))),
        "lasso": ("LassoCV", lambda rs, svr: LassoCV(cv=5, random_state=rs, max_iter=5000)),
        "elastic_net": (
            "ElasticNetCV",
            lambda rs, svr: ElasticNetCV(
                l1_ratio=[0.1, 0.5, 0.9], cv=5, random_state=rs, max_iter=5000
            ),
        ),
        "hist_gradient_boosting": (
            "HistGradientBoostingRegressor",
            lambda rs, svr: HistGradientBoostingRegressor(random_state=rs),
        ),
        "extra_trees": (
            "ExtraTreesRegressor",
            lambda rs, svr: ExtraTreesRegressor(n_estimators=100, random_state=rs, n_jobs=1),
        ),
        "mlp": (
            "MLPRegressor",
            lambda rs, svr: MLPRegressor(
                hidden_layer_sizes=(64, 32), early_stopping=True, max_iter=500, random_state=rs
            ),
        ),
    }


SEED_MODELS: tuple[str, ...] = (
    "linear",
    "random_forest",
    "decision_tree",
    "gradient_boosting",
    "svr",
    "knn",
)
DEFAULT_MODELS: tuple[str, ...] = (
    "mean",
    *SEED_MODELS,
    "ridge",
    "lasso",
    "elastic_net",
    "hist_gradient_boosting",
    "extra_trees",
    "mlp",
)


class _Registry(Mapping):
    """Read-only ``{name: description}`` of the built-in models."""

    def __getitem__(self, key):
        return _factories()[key][0]

    def __iter__(self):
        return iter(DEFAULT_MODELS)

    def __len__(self):
        return len(DEFAULT_MODELS)

    def __repr__(self):
        return "MODELS(" + ", ".join(f"{k}={v!r}" for k, v in self.items()) + ")"


#: The built-in models: ``{name: description}``.
MODELS = _Registry()


def make_model(
    name: str,
    *,
    random_state=None,
    svr_max_samples: int | None = 5000,
    max_fit_samples: int | None = None,
):
    """A fresh estimator for a built-in model name (or its class name).

    ``max_fit_samples`` wraps it in :class:`SubsampledRegressor` (every model but the mean
    baseline; SVR takes the smaller of its two caps).
    """
    factories = _factories()
    key = _canonical_name(name, factories)
    return _built(key, factories, random_state, svr_max_samples, max_fit_samples)


def _canonical_name(name: str, factories) -> str:
    if name in factories:
        return name
    lowered = name.lower().replace("-", "_").replace(" ", "_")
    if lowered in factories:
        return lowered
    for key, (label, _) in factories.items():
        if label.split(" ")[0].lower() == name.lower():
            return key
    msg = f"unknown model {name!r}; built-in models are {list(DEFAULT_MODELS)} (or pass {{name: estimator}})"
    raise ValueError(msg)


def seed_estimator(est, random_state) -> list[str]:
    """Give ``random_state`` to every ``random_state`` parameter the user left at None.

    A user-supplied estimator (or pipeline) is seeded like the built-in models, so the
    comparison reproduces; a value the user set is kept. Returns the parameters set.
    """
    if random_state is None or not hasattr(est, "get_params"):
        return []
    params = est.get_params(deep=True)
    unset = sorted(
        k for k, v in params.items() if k.split("__")[-1] == "random_state" and v is None
    )
    if unset:
        est.set_params(**dict.fromkeys(unset, random_state))
    return unset


def resolve_models(
    models: str | Sequence[str] | Mapping[str, Any],
    *,
    random_state,
    svr_max_samples,
    max_fit_samples: int | None = None,
    notes: dict[str, str] | None = None,
) -> dict[str, Any]:
    """``{name: unfitted estimator}`` from ``"seed"``, ``"default"``, names or a mapping.

    User-supplied estimators are cloned and seeded with :func:`seed_estimator`; ``notes``
    (when given) receives ``{name: "random_state=... set"}`` for each one seeded.
    ``max_fit_samples`` caps the training rows of built-in models only (a user's estimator
    is fitted as given).
    """
    if isinstance(models, str):
        if models == "seed":
            names = list(SEED_MODELS)
        elif models == "default":
            names = list(DEFAULT_MODELS)
        else:
            names = [m.strip() for m in models.split(",") if m.strip()]
        models = names
    if isinstance(models, Mapping):
        out = {}
        for name, est in models.items():
            if isinstance(est, str):
                est = make_model(
                    est,
                    random_state=random_state,
                    svr_max_samples=svr_max_samples,
                    max_fit_samples=max_fit_samples,
                )
            if not (hasattr(est, "fit") and hasattr(est, "predict")):
                msg = f"model {name!r} is not an estimator (it needs fit and predict): {est!r}"
                raise TypeError(msg)
            est = clone(est)
            seeded = seed_estimator(est, random_state)
            if seeded and notes is not None:
                notes[str(name)] = f"{', '.join(seeded)} set to {random_state!r} (random_state)"
            out[str(name)] = est
        if not out:
            msg = "models is empty"
            raise ValueError(msg)
        return out
    names = list(models)
    if not names:
        msg = "models is empty"
        raise ValueError(msg)
    factories = _factories()
    out = {}
    for name in names:
        key = _canonical_name(str(name), factories)
        out[key] = _built(key, factories, random_state, svr_max_samples, max_fit_samples)
    return out


def model_label(name: str) -> str:
    """A readable description of a built-in model name (the name itself for others)."""
    factories = _factories()
    return factories[name][0] if name in factories else name
