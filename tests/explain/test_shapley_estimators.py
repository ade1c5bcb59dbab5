"""KernelSHAP, Leverage SHAP and permutation sampling: axioms, closed forms, convergence."""

from __future__ import annotations

import math

import numpy as np
import pytest

import leanlens
from leanlens.explain import explain
from leanlens.explain.shapley.leverage import leverage_allocation

SAMPLERS = ("kernel", "leverage", "permutation")


def _nonlinear(d=8, seed=0):
    r = np.random.default_rng(seed)
    W = r.normal(size=d)
    f = lambda X: np.tanh(X @ W) + X[:, 0] * X[:, 1] - 0.5 * X[:, 2] ** 2  # noqa: E731
    X = r.normal(size=(6, d))
    bg = r.normal(size=(7, d))
    return leanlens.as_model(f, n_features=d), X, bg


def _rel_err(a, b):
    return np.sum((a - b) ** 2, axis=1) / np.sum(b**2, axis=1)


@pytest.mark.parametrize("method", SAMPLERS)
def test_efficiency_holds_to_1e_6(method):
    model, X, bg = _nonlinear()
    e = explain(model, X, method, background=bg, budget=40, random_state=0, target=0)
    assert np.max(e.sum_residual(model.output(X)[:, 0])) < 1e-6


@pytest.mark.parametrize("method", SAMPLERS)
def test_linear_model_closed_form(method, rng):
    w = np.array([1.5, -2.0, 0.5, 0.0, 3.0, 1.0])
    model = leanlens.as_model(lambda X: X @ w - 2.0, n_features=6)
    X = rng.normal(size=(5, 6))
    bg = rng.normal(size=(30, 6)) + 1.0
    e = explain(model, X, method, background=bg, budget=20, random_state=1, target=0)
    np.testing.assert_allclose(e.values, w * (X - bg.astype(np.float32).mean(axis=0)), atol=1e-4)


@pytest.mark.parametrize("method", ("kernel", "leverage"))
def test_regression_estimators_are_exact_once_the_budget_covers_all_coalitions(method):
    model, X, bg = _nonlinear(d=7)
    ex = explain(model, X, "exact", background=bg, target=0)
    e = explain(model, X, method, background=bg, budget=2**7 - 2, random_state=0, target=0)
    np.testing.assert_allclose(e.values, ex.values, atol=1e-8)
    np.testing.assert_allclose(e.stderr, 0.0, atol=1e-8)
    assert any("exact" in note for note in e.notes)


@pytest.mark.parametrize("method", SAMPLERS)
def test_error_shrinks_towards_exact_as_the_budget_grows(method):
    model, X, bg = _nonlinear(d=8, seed=3)
    ex = explain(model, X, "exact", background=bg, target=0)
    errs = [np.median(_rel_err(explain(model, X, method, background=bg, budget=b, random_state=0,
                                       target=0).values, ex.values)) for b in (16, 240)]
    assert errs[1] < errs[0] / 4
    assert errs[1] < 0.01


@pytest.mark.parametrize("method", SAMPLERS)
def test_same_seed_same_values_and_stderr_is_honest(method):
    model, X, bg = _nonlinear(d=10, seed=5)
    a = explain(model, X, method, background=bg, budget=120, random_state=7, target=0)
    b = explain(model, X, method, background=bg, budget=120, random_state=7, target=0)
    np.testing.assert_array_equal(a.values, b.values)
    assert a.stderr is not None and a.stderr.shape == a.values.shape
    ex = explain(model, X, "exact", background=bg, target=0)
    z = np.abs(a.values - ex.values) / np.maximum(a.stderr, 1e-12)
    assert np.mean(z < 3) > 0.8  # the standard errors are the right order of magnitude
    assert np.median(a.stderr) > 0


@pytest.mark.parametrize("method", SAMPLERS)
def test_all_outputs_and_predicted_target_shapes(method, rng):
    model = leanlens.as_model(
        lambda X: np.stack([np.tanh(X[:, 0] + X[:, 1]), np.sin(X[:, 2]) * X[:, 3]], axis=1),
        n_features=5, output_names=("a", "b"), output="values")
    X = rng.normal(size=(4, 5))
    bg = rng.normal(size=(6, 5))
    e = explain(model, X, method, background=bg, budget=24, random_state=0)
    assert e.values.shape == (4, 5, 2) and e.base_values.shape == (4, 2)
    assert np.max(e.sum_residual(model.output(X))) < 1e-6
    t = explain(model, X, method, background=bg, budget=24, random_state=0, target=1)
    assert t.values.shape == (4, 5) and t.targets.tolist() == [1, 1, 1, 1]
    np.testing.assert_allclose(t.values[:, 4], 0.0, atol=0.2)


@pytest.mark.parametrize("method", SAMPLERS)
def test_a_dummy_feature_gets_zero(method):
    model, X, bg = _nonlinear(d=6)
    f7 = leanlens.as_model(lambda Z: model.output(Z[:, :6])[:, 0], n_features=7)
    X7 = np.hstack([X, np.ones((len(X), 1))])
    bg7 = np.hstack([bg, np.zeros((len(bg), 1))])
    e = explain(f7, X7, method, background=bg7, budget=60, random_state=0, target=0)
    ex = explain(f7, X7, "exact", background=bg7, target=0)
    np.testing.assert_allclose(ex.values[:, 6], 0.0, atol=1e-12)
    if method == "permutation":  # every marginal contribution of a dummy is zero
        np.testing.assert_allclose(e.values[:, 6], 0.0, atol=1e-12)
    else:  # regression estimators: zero up to sampling noise, which the stderr covers
        assert np.all(np.abs(e.values[:, 6]) <= 4 * e.stderr[:, 6] + 1e-9)
        assert np.max(np.abs(e.values[:, 6])) < 0.05 * np.max(np.abs(ex.values))


def test_symmetric_features_get_equal_values_with_enough_budget():
    f = lambda X: np.sin(X[:, 0] + X[:, 1]) + X[:, 0] * X[:, 1] * X[:, 2]  # noqa: E731
    model = leanlens.as_model(f, n_features=5)
    r = np.random.default_rng(2)
    X = r.normal(size=(4, 5))
    X[:, 1] = X[:, 0]
    bg = r.normal(size=(6, 5))
    bg[:, 1] = bg[:, 0]
    for method in ("kernel", "leverage"):
        e = explain(model, X, method, background=bg, budget=30, random_state=0, target=0)
        np.testing.assert_allclose(e.values[:, 0], e.values[:, 1], atol=1e-8)


def test_permutation_tol_stops_rows_early():
    model, X, bg = _nonlinear(d=6)
    full = explain(model, X, "permutation", background=bg, budget=1000, random_state=0, target=0)
    early = explain(model, X, "permutation", background=bg, budget=1000, random_state=0, target=0, tol=0.5)
    assert early.n_model_evals < full.n_model_evals
    assert any("stopped early" in n for n in early.notes)
    assert np.max(early.stderr) < 0.5 + 1e-12


@pytest.mark.parametrize("method", ("kernel", "leverage"))
def test_regression_tol_stops_rows_after_the_pilot_and_keeps_efficiency(method):
    model, X, bg = _nonlinear(d=10, seed=4)
    full = explain(model, X, method, background=bg, budget=400, random_state=0, target=0)
    loose = explain(model, X, method, background=bg, budget=400, random_state=0, target=0, tol=1e6)
    assert loose.n_model_evals < full.n_model_evals / 3  # every row stopped after the pilot quarter
    assert any("6 of 6 rows stopped after 100 of 400" in n for n in loose.notes)
    tight = explain(model, X, method, background=bg, budget=400, random_state=0, target=0, tol=1e-9)
    assert tight.n_model_evals == full.n_model_evals  # nobody stops; pilot + rest = the budget
    assert np.max(tight.sum_residual(model.output(X)[:, 0])) < 1e-6
    ex = explain(model, X, "exact", background=bg, target=0)
    assert np.median(_rel_err(tight.values, ex.values)) < 0.05


def test_budget_counts_coalitions_per_row():
    model, X, bg = _nonlinear(d=8)
    n, b = len(X), len(bg)
    for method, used in (("kernel", 100), ("leverage", 100), ("permutation", (100 // 14) * 14)):
        e = explain(model, X, method, background=bg, budget=100, random_state=0, target=0)
        assert e.n_model_evals == n * used * b + n + b, method
        assert e.params["budget"] == 100


def test_single_baseline_row_game(rng):
    w = np.array([1.0, 2.0, -1.0, 0.5])
    model = leanlens.as_model(lambda X: X @ w, n_features=4)
    X = rng.normal(size=(3, 4))
    bg = rng.normal(size=(50, 4))
    e = explain(model, X, "leverage", background=bg, baseline="mean", budget=10, random_state=0, target=0)
    assert e.params["background_rows"] == 1
    np.testing.assert_allclose(e.values, w * (X - bg.astype(np.float32).mean(axis=0)), atol=1e-4)


def test_leverage_allocation_is_uniform_over_sizes_and_water_fills():
    sizes, k, cap = leverage_allocation(12, 200)
    assert int(k.sum()) == 200
    assert sizes == list(range(1, 7))
    assert k[0] == 12  # size 1 (12 sets) is fully taken, the rest share the excess evenly
    per_size = k.astype(float)
    per_size[-1] *= 2  # the middle group's pairs are two coalitions of size 6
    assert np.ptp(per_size[1:]) <= 2
    sizes, k, cap = leverage_allocation(5, 1000)
    np.testing.assert_array_equal(k, cap)
    assert int(cap.sum()) == (2**5 - 2) // 2
    assert [math.comb(5, s) for s in sizes] == cap.tolist()


@pytest.mark.parametrize("method", SAMPLERS)
@pytest.mark.parametrize("d", [2, 3])
def test_tiny_games_are_exact(method, d, rng):
    model = leanlens.as_model(lambda X: X[:, 0] * X[:, -1] + X[:, 0], n_features=d)
    X = rng.normal(size=(3, d))
    bg = rng.normal(size=(4, d))
    ex = explain(model, X, "exact", background=bg, target=0)
    e = explain(model, X, method, background=bg, random_state=0, target=0)
    np.testing.assert_allclose(e.values, ex.values, atol=1e-9)
