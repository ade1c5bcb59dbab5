"""Exact Shapley values: brute force, closed forms and the axioms."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import leanlens
from leanlens.explain.shapley.exact import ExactShapley, all_coalitions, shapley_matrix


def _brute_force(v, d):
    """φ_i = Σ_{S ∌ i} |S|!(d−|S|−1)!/d! (v(S ∪ i) − v(S)) from the textbook formula."""
    phi = np.zeros(d)
    for i in range(d):
        others = [j for j in range(d) if j != i]
        for r in range(d):
            for S in itertools.combinations(others, r):
                w = math.factorial(r) * math.factorial(d - r - 1) / math.factorial(d)
                phi[i] += w * (v(frozenset(S) | {i}) - v(frozenset(S)))
    return phi


def test_shapley_matrix_matches_brute_force_on_a_hand_made_game():
    # a 4-player game with interactions: v(S) = |S|² + 3·[0∈S and 1∈S] − 2·[3∈S]
    def v(S):
        return len(S) ** 2 + 3.0 * (0 in S and 1 in S) - 2.0 * (3 in S)

    d = 4
    masks = all_coalitions(d)
    values = np.array([v(frozenset(np.nonzero(m)[0].tolist())) for m in masks])
    np.testing.assert_allclose(values @ shapley_matrix(d), _brute_force(v, d), atol=1e-12)


def test_exact_matches_brute_force_on_a_model_game(rng):
    f = lambda X: np.tanh(X[:, 0] * X[:, 1]) + X[:, 2] ** 2 - X[:, 3]  # noqa: E731
    model = leanlens.as_model(f, n_features=4)
    x = rng.normal(size=(1, 4))
    bg = rng.normal(size=(3, 4))

    def v(S):
        idx = list(S)
        rows = bg.copy()
        rows[:, idx] = x[0, idx]
        return f(rows).mean()

    e = ExactShapley(model, background=bg).explain(x, target=0)
    np.testing.assert_allclose(e.values[0], _brute_force(v, 4), atol=1e-5)


def test_linear_model_closed_form(rng):
    w = np.array([1.5, -2.0, 0.5, 0.0, 3.0])
    model = leanlens.as_model(lambda X: X @ w + 1.0, n_features=5)
    X = rng.normal(size=(6, 5))
    bg = rng.normal(size=(40, 5)) + 2.0
    e = ExactShapley(model, background=bg).explain(X, target=0)
    expected = w * (X - bg.astype(np.float32).mean(axis=0))
    np.testing.assert_allclose(e.values, expected, atol=1e-4)


def test_axioms_efficiency_symmetry_dummy(rng):
    # x0 and x1 enter symmetrically; x3 is a dummy
    f = lambda X: np.sin(X[:, 0] + X[:, 1]) + X[:, 0] * X[:, 1] * X[:, 2]  # noqa: E731
    model = leanlens.as_model(f, n_features=4)
    X = rng.normal(size=(5, 4))
    X[:, 1] = X[:, 0]  # equal values of the two symmetric features in each row
    bg = rng.normal(size=(8, 4))
    bg[:, 1] = bg[:, 0]
    e = ExactShapley(model, background=bg).explain(X, target=0)
    fx = model.output(X)[:, 0]
    assert np.max(e.sum_residual(fx)) < 1e-6
    np.testing.assert_allclose(e.values[:, 0], e.values[:, 1], atol=1e-6)
    np.testing.assert_allclose(e.values[:, 3], 0.0, atol=1e-7)


def test_exact_result_fields_and_all_outputs(rng):
    model = leanlens.as_model(lambda X: np.stack([X.sum(1), X[:, 0]], 1), n_features=3,
                              output_names=("s", "x0"), output="values")
    X = rng.normal(size=(4, 3))
    bg = rng.normal(size=(5, 3))
    e = ExactShapley(model, background=bg).explain(X)
    assert e.values.shape == (4, 3, 2) and e.base_values.shape == (4, 2)
    assert e.method == "exact" and e.stderr is None and e.targets is None
    assert e.n_model_evals == 4 * (2**3 - 2) * 5 + 4 + 5
    assert e.output_names == ("s", "x0")
    np.testing.assert_allclose(e.values[:, 1:, 1], 0.0, atol=1e-7)


def test_exact_refuses_more_than_16_features():
    model = leanlens.as_model(lambda X: X.sum(1), n_features=17)
    with pytest.raises(leanlens.InvalidInputError, match="d ≤ 16.*'kernel', 'leverage' or 'permutation'"):
        ExactShapley(model, background=np.zeros((1, 17))).explain(np.ones((1, 17)))
