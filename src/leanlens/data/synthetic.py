"""Synthetic data with known attributions (see ARCHITECTURE.md, 'Synthetic data')."""

from __future__ import annotations

import dataclasses
import functools
from typing import Literal

import numpy as np

from .._validation import resolve_seed
from ..errors import InvalidInputError
from .dataset import Dataset, GroundTruth
from .readers import from_numpy

__all__ = ["additive_function", "additive_shapley", "synthetic"]

# f(x) = 2x1 − 1.5x2 + sin(2x3) + (x4² − 1) + x5·x6  (1-based names; 0-based columns 0..5)
RELEVANT = (0, 1, 2, 3, 4, 5)


def additive_function(X: np.ndarray) -> np.ndarray:
    """The noise-free f of the additive generator, for X of shape (n, d ≥ 6)."""
    X = np.asarray(X, dtype=np.float64)
    return 2 * X[:, 0] - 1.5 * X[:, 1] + np.sin(2 * X[:, 2]) + (X[:, 3] ** 2 - 1) + X[:, 4] * X[:, 5]


def additive_shapley(X: np.ndarray, *, background_mean_x5x6: float = 0.0) -> np.ndarray:
    """Interventional Shapley values of f under independent N(0, 1) features.

    φ1 = 2x1, φ2 = −1.5x2, φ3 = sin(2x3) (E sin = 0), φ4 = x4² − 1 (E = 0),
    φ5 = φ6 = ½x5x6 − ½E[x5x6]; unused features and the decoy get 0.
    """
    X = np.asarray(X, dtype=np.float64)
    phi = np.zeros_like(X, dtype=np.float64)
    phi[:, 0] = 2 * X[:, 0]
    phi[:, 1] = -1.5 * X[:, 1]
    phi[:, 2] = np.sin(2 * X[:, 2])
    phi[:, 3] = X[:, 3] ** 2 - 1
    half = 0.5 * (X[:, 4] * X[:, 5] - background_mean_x5x6)
    phi[:, 4] = half
    phi[:, 5] = half
    return phi


def synthetic(
    kind: Literal["additive"] = "additive",
    *,
    n: int = 3000,
    n_features: int = 12,
    correlation: float = 0.0,
    noise: float = 0.1,
    task: Literal["binary", "regression"] = "binary",
    random_state: int | None = None,
) -> Dataset:
    """Additive synthetic data with closed-form interventional Shapley values.

    x ~ N(0, Σ), Σ_ij = ρ^|i−j| over the first ``n_features − 1`` columns; the last
    column is a decoy ``x1 + 0.1ε`` never used by f. Features 7 … d−1 are unused.
    The label is ``1[f + ε > median]`` (``task="binary"``) or the target ``f + ε``
    (``task="regression"``), ε ~ N(0, noise²).

    ``dataset.ground_truth.shapley(X)`` gives the interventional Shapley values of f
    against the population as background (E[x5·x6] = ρ); they are exact for any ρ,
    since every term of f but x5·x6 involves one feature only.
    """
    random_state = resolve_seed(random_state, owner="synthetic()")
    if kind != "additive":
        raise InvalidInputError(f"The 'kind' parameter must be 'additive'. Got {kind!r} instead.")
    if not isinstance(n, int) or n < 50:
        raise InvalidInputError(f"The 'n' parameter must be an int ≥ 50. Got {n!r} instead.")
    if not isinstance(n_features, int) or n_features < 7:
        raise InvalidInputError(f"The 'n_features' parameter must be an int ≥ 7. Got {n_features!r} instead.")
    if not -1 < correlation < 1:
        raise InvalidInputError(f"The 'correlation' parameter must be in (-1, 1). Got {correlation!r} instead.")
    if noise < 0:
        raise InvalidInputError(f"The 'noise' parameter must be ≥ 0. Got {noise!r} instead.")
    if task not in ("binary", "regression"):
        raise InvalidInputError(f"The 'task' parameter must be 'binary' or 'regression'. Got {task!r} instead.")
    rng = np.random.default_rng(random_state)
    d0 = n_features - 1
    idx = np.arange(d0)
    cov = correlation ** np.abs(idx[:, None] - idx[None, :])
    X = rng.multivariate_normal(np.zeros(d0), cov, size=n, method="cholesky")
    decoy = X[:, :1] + 0.1 * rng.standard_normal((n, 1))
    X = np.hstack([X, decoy])
    f = additive_function(X)
    eps = noise * rng.standard_normal(n)
    y = (f + eps > np.median(f + eps)).astype(np.int64) if task == "binary" else (f + eps).astype(np.float32)
    names = (*(f"x{i + 1}" for i in range(d0)), f"x{n_features}_decoy")
    ds = from_numpy(
        X, y, feature_names=names, task=task,
        target_names=("low", "high") if task == "binary" else None,
        random_state=random_state, name="synthetic-additive",
        description=f"additive synthetic, d={n_features}, rho={correlation}, noise={noise}",
    )
    gt = GroundTruth(
        function=additive_function,
        shapley=functools.partial(additive_shapley, background_mean_x5x6=correlation),
        relevant=RELEVANT,
        description="f = 2x1 − 1.5x2 + sin(2x3) + (x4² − 1) + x5·x6; x7…x(d−1) unused; last column a decoy",
    )
    return dataclasses.replace(ds, ground_truth=gt)
