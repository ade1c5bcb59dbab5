"""Global views through scikit-learn: permutation importance and partial dependence / ICE.

Permutation importance: Breiman, "Random Forests", Machine Learning 2001; Fisher,
Rudin & Dominici, JMLR 2019. Partial dependence: Friedman, Annals of Statistics
2001; ICE curves: Goldstein et al., JCGS 2015. Both work on any leanlens Model: a
thin scikit-learn-compatible wrapper hands the model to ``sklearn.inspection``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

from ..errors import InvalidInputError
from ..models.base import BaseModel, as_model

__all__ = ["PartialDependence", "PermutationImportance", "partial_dependence", "permutation_importance"]


class _Regressor(RegressorMixin, BaseEstimator):
    """A leanlens Model seen by scikit-learn as a fitted regressor (``fit`` does nothing)."""

    def __init__(self, model: Any = None) -> None:
        self.model = model

    def fit(self, X: Any, y: Any = None) -> _Regressor:
        return self

    def __sklearn_is_fitted__(self) -> bool:
        return True

    def predict(self, X: Any) -> np.ndarray:
        return self.model.predict(np.asarray(X, dtype=np.float32))


class _Classifier(ClassifierMixin, _Regressor):
    def predict_proba(self, X: Any) -> np.ndarray:
        return self.model.output(np.asarray(X, dtype=np.float32))


def _wrap(model: BaseModel) -> _Regressor:
    if model.task == "regression":
        return _Regressor(model)
    est = _Classifier(model)
    est.classes_ = np.arange(model.n_outputs)
    return est


def _rows(model: BaseModel, X: Any, param: str = "X") -> np.ndarray:
    Xc = model.check_X(X, param=param)
    if len(Xc) == 0:
        raise InvalidInputError(f"The {param!r} parameter has no rows.")
    return Xc.reshape(len(Xc), -1)


@dataclasses.dataclass(frozen=True, eq=False)
class PermutationImportance:
    """Drop in score when each feature is shuffled.

    Attributes
    ----------
    importances : array (d, n_repeats). importances_mean, importances_std : arrays (d,).
    baseline_score : the score on unshuffled rows. scoring : its name.
    """

    feature_names: tuple[str, ...]
    importances: np.ndarray
    importances_mean: np.ndarray
    importances_std: np.ndarray
    baseline_score: float
    scoring: str
    n_repeats: int

    def top_k(self, k: int = 5) -> list[str]:
        """Names of the k features whose shuffling costs the most."""
        order = np.argsort(-self.importances_mean, kind="stable")[:k]
        return [self.feature_names[i] for i in order]

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "permutation_importance",
            "feature_names": list(self.feature_names),
            "importances_mean": self.importances_mean.tolist(),
            "importances_std": self.importances_std.tolist(),
            "importances": self.importances.tolist(),
            "baseline_score": self.baseline_score,
            "scoring": self.scoring,
            "n_repeats": self.n_repeats,
        }


def permutation_importance(
    model: Any,
    X: Any,
    y: Any,
    *,
    scoring: str | None = None,
    n_repeats: int = 5,
    random_state: int | None = None,
) -> PermutationImportance:
    """Permutation importance of every feature (scikit-learn's ``permutation_importance``).

    Parameters
    ----------
    model : any leanlens Model (or what ``as_model`` accepts).
    X : array of shape (n, *input_shape). y : array of shape (n,) — labels or targets.
    scoring : a scikit-learn scorer name; default "accuracy" (classifiers) or "r2".
    n_repeats : shuffles per feature.

    Examples
    --------
    >>> import numpy as np, leanlens
    >>> from leanlens.explain.importance import permutation_importance
    >>> X = np.random.default_rng(0).normal(size=(200, 3))
    >>> f = leanlens.as_model(lambda X: 3 * X[:, 0], n_features=3)
    >>> permutation_importance(f, X, 3 * X[:, 0], random_state=0).top_k(1)
    ['x0']
    """
    from sklearn.inspection import permutation_importance as _pi
    from sklearn.metrics import get_scorer_names

    m = as_model(model)
    Xf = _rows(m, X)
    yy = np.asarray(y)
    if yy.shape != (len(Xf),):
        raise InvalidInputError(f"The 'y' parameter must have shape ({len(Xf)},) like X's rows. Got {yy.shape}.")
    if isinstance(n_repeats, bool) or not isinstance(n_repeats, int) or n_repeats < 1:
        raise InvalidInputError(f"The 'n_repeats' parameter must be a positive int. Got {n_repeats!r}.")
    scoring = scoring or ("r2" if m.task == "regression" else "accuracy")
    if scoring not in get_scorer_names():
        raise InvalidInputError(f"The 'scoring' parameter must be a scikit-learn scorer name such as 'accuracy' or 'r2'. Got {scoring!r}.")
    est = _wrap(m)
    r = _pi(est, Xf, yy, scoring=scoring, n_repeats=n_repeats, random_state=random_state)
    from sklearn.metrics import check_scoring

    base = float(check_scoring(est, scoring=scoring)(est, Xf, yy))
    return PermutationImportance(
        feature_names=m.feature_names, importances=np.asarray(r.importances),
        importances_mean=np.asarray(r.importances_mean), importances_std=np.asarray(r.importances_std),
        baseline_score=base, scoring=scoring, n_repeats=n_repeats,
    )


@dataclasses.dataclass(frozen=True, eq=False)
class PartialDependence:
    """Partial dependence (average) and ICE curves (one per row) of one feature.

    Attributes
    ----------
    grid : array (g,) — the feature values visited.
    average : array (k, g) — mean output per grid value, for each of k outputs.
    individual : array (k, n, g) or None — one curve per row (ICE).
    """

    feature: int
    feature_name: str
    grid: np.ndarray
    average: np.ndarray
    individual: np.ndarray | None
    output_names: tuple[str, ...]
    data: np.ndarray  # (n,) the rows' own values of the feature (for rug plots)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "partial_dependence",
            "feature": self.feature,
            "feature_name": self.feature_name,
            "grid": self.grid.tolist(),
            "average": self.average.tolist(),
            "individual": None if self.individual is None else self.individual.tolist(),
            "output_names": list(self.output_names),
        }


def partial_dependence(
    model: Any,
    X: Any,
    feature: int | str,
    *,
    kind: Literal["average", "individual", "both"] = "both",
    grid_resolution: int = 50,
    percentiles: tuple[float, float] = (0.05, 0.95),
) -> PartialDependence:
    """Partial dependence and ICE of one feature (scikit-learn's ``partial_dependence``, brute force).

    Parameters
    ----------
    model : any leanlens Model. X : array (n, *input_shape) — the rows averaged over.
    feature : column index or feature name.
    kind : "average" (PDP), "individual" (ICE) or "both".
    grid_resolution : at most this many grid values between the ``percentiles`` of X.

    Returns
    -------
    PartialDependence with ``average`` of shape (k, g) over the k model outputs.
    """
    from sklearn.inspection import partial_dependence as _pd

    m = as_model(model)
    Xf = _rows(m, X)
    if isinstance(feature, str):
        if feature not in m.feature_names:
            from ..errors import did_you_mean

            raise InvalidInputError(f"Unknown feature {feature!r}.{did_you_mean(feature, m.feature_names)}")
        feature = m.feature_names.index(feature)
    if isinstance(feature, bool) or not isinstance(feature, int | np.integer) or not 0 <= feature < m.n_features:
        raise InvalidInputError(f"The 'feature' parameter must be a name or an index in [0, {m.n_features}). Got {feature!r}.")
    if kind not in ("average", "individual", "both"):
        raise InvalidInputError(f"The 'kind' parameter must be 'average', 'individual' or 'both'. Got {kind!r}.")
    if isinstance(grid_resolution, bool) or not isinstance(grid_resolution, int) or grid_resolution < 2:
        raise InvalidInputError(f"The 'grid_resolution' parameter must be an int ≥ 2. Got {grid_resolution!r}.")
    est = _wrap(m)
    response = "auto" if m.task == "regression" else "predict_proba"
    r = _pd(est, Xf, [int(feature)], kind="both", grid_resolution=grid_resolution, percentiles=percentiles,
            method="brute", response_method=response)
    avg = np.asarray(r["average"], dtype=np.float64)
    ind = np.asarray(r["individual"], dtype=np.float64)
    if m.task == "binary" and avg.shape[0] == 1:
        # scikit-learn reports the positive class only; keep one curve per model output
        avg = np.concatenate([1 - avg, avg])
        ind = np.concatenate([1 - ind, ind])
    # average is recomputed from the curves so "individual" and "average" always agree
    return PartialDependence(
        feature=int(feature), feature_name=m.feature_names[int(feature)],
        grid=np.asarray(r["grid_values"][0], dtype=np.float64),
        average=avg if kind != "individual" else ind.mean(axis=1),
        individual=ind if kind != "average" else None,
        output_names=m.output_names, data=Xf[:, int(feature)].astype(np.float64),
    )
