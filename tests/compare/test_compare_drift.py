"""The measurements behind compare() against hand-computed answers."""

from __future__ import annotations

import numpy as np
import pytest

import leanlens
from leanlens.compare import bootstrap, decision_drift, explanation_distance, surrogate_drift
from leanlens.errors import InvalidInputError


def test_explanation_distance_is_scale_free_by_hand() -> None:
    phi = np.array([[3.0, 4.0], [0.0, 0.0]])  # RMS row norm sqrt((25 + 0)/2)
    assert explanation_distance(phi, 10 * phi) == 0.0
    assert explanation_distance(phi, -phi) == pytest.approx(2.0)
    other = np.array([[4.0, 3.0], [0.0, 0.0]])
    # both normalized by sqrt(12.5): row 0 differs by (−1, 1)/sqrt(12.5) → mean sq = (2/12.5)/2
    assert explanation_distance(phi, other) == pytest.approx(np.sqrt(2 / 12.5 / 2))


def test_decision_drift_by_hand() -> None:
    p = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.4, 0.6]])
    q = np.array([[0.9, 0.1], [0.4, 0.6], [0.3, 0.7], [0.6, 0.4]])  # rows 1 and 3 flip
    X = np.arange(4, dtype=float)[:, None]
    orig = leanlens.as_model(lambda Z: p[Z[:, 0].astype(int)], n_features=1, output_names=("a", "b"), task="binary")
    comp = leanlens.as_model(lambda Z: q[Z[:, 0].astype(int)], n_features=1, output_names=("a", "b"), task="binary")
    d = decision_drift(orig, comp, X, np.array([0, 0, 1, 1]), regression_tolerance=0.25)
    assert d["flip_rate"] == 0.5 and d["agreement"] == 0.5
    assert d["flipped_rows"] == [1, 3]
    assert d["tv_distance"] == pytest.approx((0 + 0.4 + 0 + 0.2) / 4)
    assert d["per_class_accuracy"]["a"]["change"] == pytest.approx(-0.5)  # class a: 2/2 → 1/2
    assert d["per_class_accuracy"]["b"]["change"] == pytest.approx(-0.5)  # class b: 2/2 → 1/2
    assert d["accuracy_original"] == 1.0 and d["accuracy_compressed"] == 0.5


def test_regression_flip_uses_the_tolerance() -> None:
    X = np.linspace(-1, 1, 10)[:, None]
    orig = leanlens.as_model(lambda Z: Z[:, 0], n_features=1)
    comp = leanlens.as_model(lambda Z: Z[:, 0] + (Z[:, 0] > 0.5) * 10.0, n_features=1)
    d = decision_drift(orig, comp, X, None, regression_tolerance=0.25)
    assert d["flipped_rows"] == [7, 8, 9] and d["tv_distance"] is None


def test_surrogate_drift_of_a_model_with_itself_and_with_another() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    a = leanlens.as_model(lambda Z: np.stack([Z[:, 0] <= 0, Z[:, 0] > 0], 1).astype(float), n_features=3,
                          output_names=("n", "p"), task="binary")
    b = leanlens.as_model(lambda Z: np.stack([Z[:, 2] <= 0, Z[:, 2] > 0], 1).astype(float), n_features=3,
                          output_names=("n", "p"), task="binary")
    same = surrogate_drift(a, a, X, X, depth=1, random_state=0)
    assert same["fidelity_original"] == 1.0 and same["fidelity_on_compressed"] == 1.0
    assert same["split_feature_overlap"] == 1.0 and same["split_features_original"] == [0]
    other = surrogate_drift(a, b, X, X, depth=1, random_state=0)
    assert other["split_feature_overlap"] == 0.0
    assert 0.3 < other["fidelity_on_compressed"] < 0.7  # x0 says little about sign(x2)


def test_bootstrap_interval_and_minimum_rows() -> None:
    values = np.arange(40, dtype=float)
    ci = bootstrap(lambda i: float(values[i].mean()), 40, n_resamples=300, confidence=0.9,
                   rng=np.random.default_rng(0), min_rows=20)
    assert ci["value"] == pytest.approx(19.5) and ci["lo"] < 19.5 < ci["hi"]
    with pytest.raises(InvalidInputError, match="needs at least 20 rows .*got 5"):
        bootstrap(lambda i: 0.0, 5, n_resamples=10, confidence=0.9, rng=np.random.default_rng(0), min_rows=20)
