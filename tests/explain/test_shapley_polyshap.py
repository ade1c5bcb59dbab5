"""PolySHAP: exact on games of degree ≤ 3, efficiency to rounding at every budget, the basis
growing with the budget (with a note when order 3 does not fit), never NaN."""

from __future__ import annotations

import math

import numpy as np
import pytest

import leanlens
from leanlens.errors import InvalidInputError
from leanlens.explain import explain
from leanlens.explain.shapley.polyshap import choose_basis, n_polynomial_terms


def _cubic(d: int, seed: int = 0):
    """f(x) = Σ w_i x_i + Σ_{pairs} u x_i x_j + Σ_{triples} t x_i x_j x_k: a degree-3 game."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=d)
    pairs = [(0, 1), (2, 5)]
    triples = [(0, 1, 2), (3, 4, 6), (1, 5, 7)]
    coef = rng.normal(size=len(pairs) + len(triples))

    def f(X):
        out = X @ w
        for c, (i, j) in zip(coef, pairs, strict=False):
            out = out + c * X[:, i] * X[:, j]
        for c, (i, j, k) in zip(coef[len(pairs):], triples, strict=True):
            out = out + c * X[:, i] * X[:, j] * X[:, k]
        return out

    return leanlens.as_model(f, n_features=d)


@pytest.mark.parametrize("n_bg", [1, 7])
def test_polyshap_is_exact_on_a_degree_3_game_with_all_triples(n_bg):
    d = 9
    model = _cubic(d)
    rng = np.random.default_rng(1)
    X, bg = rng.normal(size=(4, d)), rng.normal(size=(n_bg, d))
    truth = explain(model, X, method="exact", background=bg, target=0).values
    budget = int(2 * n_polynomial_terms(d)) + 2  # all triples fit, far below 2^9 − 2 = 510
    assert budget < (1 << d) - 2
    e = explain(model, X, method="polyshap", background=bg, target=0, budget=budget, random_state=0)
    assert e.params["basis"] == "all-triples"
    np.testing.assert_allclose(e.values, truth, atol=1e-7)
    kernel = explain(model, X, method="kernel", background=bg, target=0, budget=budget, random_state=0)
    assert np.abs(kernel.values - truth).max() > 1e-4  # order 2 alone is not exact here


def test_polyshap_screened_triples_beat_order_2_on_a_sparse_cubic_game():
    d = 14
    model = _cubic(d, seed=3)
    rng = np.random.default_rng(2)
    X, bg = rng.normal(size=(8, d)), rng.normal(size=(1, d))
    truth = explain(model, X, method="exact", background=bg, target=0).values
    budget = 40 * d
    poly = explain(model, X, method="polyshap", background=bg, target=0, budget=budget, random_state=0)
    assert poly.params["basis"] == "screened"
    order2 = explain(model, X, method="polyshap", background=bg, target=0, budget=budget, random_state=0, order=2)
    err = lambda e: np.median(((e.values - truth) ** 2).sum(1) / (truth**2).sum(1))  # noqa: E731
    assert err(poly) < 0.1 * err(order2)


@pytest.mark.parametrize("budget", [14, 20, 40, 100, 300])
def test_polyshap_efficiency_and_finite_at_every_budget(budget):
    d = 12
    w = np.random.default_rng(0).normal(size=(d, 16))
    model = leanlens.as_model(lambda X: np.tanh(X @ w) @ np.ones(16), n_features=d)
    rng = np.random.default_rng(3)
    X, bg = rng.normal(size=(5, d)), rng.normal(size=(3, d))
    e = explain(model, X, method="polyshap", background=bg, target=0, budget=budget, random_state=1)
    assert np.all(np.isfinite(e.values)) and np.all(np.isfinite(e.stderr))
    assert e.sum_residual(model.output(X)[:, 0]).max() < 1e-6


def test_order_3_falls_back_with_a_note_when_the_budget_is_too_small():
    d = 12
    kind, _k, note = choose_basis(d, 60, order=3)
    assert kind in ("screened", "order2") and note and "order=3 needs a budget" in note
    model = _cubic(d)
    X = np.ones((1, d))
    e = explain(model, X, method="polyshap", background=np.zeros((1, d)), target=0, budget=60, order=3, random_state=0)
    assert any("order=3 needs a budget" in n for n in e.notes)
    assert e.params["basis"] == kind


def test_basis_grows_with_the_budget():
    d = 10
    kinds = [choose_basis(d, m)[:2] for m in (12, 40, 100, 200, 400)]
    assert kinds[0] == ("order2", 0)
    ks = [k for _, k in kinds]
    assert ks == sorted(ks) and ks[-1] == math.comb(d, 3)
    assert kinds[-1][0] == "all-triples"


@pytest.mark.parametrize("bad", [{"order": 4}, {"order": True}, {"max_triples": -1}, {"max_triples": 1.5}])
def test_polyshap_bad_params(bad):
    model = _cubic(9)
    with pytest.raises(InvalidInputError):
        explain(model, np.ones((1, 9)), method="polyshap", background=np.zeros((1, 9)), budget=50, **bad)
