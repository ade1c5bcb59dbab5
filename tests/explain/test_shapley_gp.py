"""The Gaussian-process Shapley estimator: closed forms, known answers, axioms, errors, bad input."""

from __future__ import annotations

import numpy as np
import pytest

import leanlens
from leanlens.errors import InvalidInputError
from leanlens.explain import explain
from leanlens.explain.base import get_explainer
from leanlens.explain.shapley.exact import all_coalitions, shapley_matrix
from leanlens.explain.shapley.gp import (
    GPShap,
    _hamming_kernel,
    _neg_loglik,
    default_fit_points,
    fit_hyperparameters,
    hamming_shapley_map,
    hamming_shapley_prior_cov,
    shared_length_scale,
)


def _nonlinear(d=8, seed=0, n=6, b=7):
    r = np.random.default_rng(seed)
    W = r.normal(size=(d, 5))
    f = lambda X: np.tanh(X @ W).sum(axis=1) + X[:, 0] * X[:, 1] * X[:, 2] - 0.5 * X[:, 3] ** 2  # noqa: E731
    return leanlens.as_model(f, n_features=d), r.normal(size=(n, d)), r.normal(size=(b, d))


def _rel_err(a, b):
    return np.sum((a - b) ** 2, axis=1) / np.sum(b**2, axis=1)


def test_closed_forms_match_brute_force_enumeration():
    d = 6
    rng = np.random.default_rng(0)
    rho = rng.uniform(0.05, 0.95, size=(2, d))
    allz = np.broadcast_to(all_coalitions(d).astype(float), (2, 1 << d, d))
    M = shapley_matrix(d)
    K = _hamming_kernel(allz, allz, -np.log(rho))
    # Shapley values of every kernel section k(z_j, ·), and the prior covariance Mᵀ K M
    np.testing.assert_allclose(hamming_shapley_map(allz, rho), np.einsum("tjm,md->tjd", K, M), atol=1e-12)
    np.testing.assert_allclose(hamming_shapley_prior_cov(rho), np.einsum("md,tmn,ne->tde", M, K, M), atol=1e-12)


def test_likelihood_gradient_matches_finite_differences():
    rng = np.random.default_rng(1)
    T, m, d = 2, 24, 5
    Z = (rng.random((T, m, d)) < 0.5).astype(float)
    y = rng.normal(size=(T, m))
    sampled = np.r_[0.0, 0.0, np.ones(m - 2)]
    x = rng.normal(size=T * (d + 2)) * 0.5
    for shared, x_ in ((False, x), (True, x[: d + 2])):
        _, g = _neg_loglik(x_, Z, y, sampled, shared)
        eye = np.eye(len(x_)) * 1e-6
        num = [(_neg_loglik(x_ + e, Z, y, sampled, shared)[0] - _neg_loglik(x_ - e, Z, y, sampled, shared)[0]) / 2e-6
               for e in eye]
        np.testing.assert_allclose(g, num, rtol=1e-5, atol=1e-6)


def test_registered_under_gp_with_the_kernel_constructor_shape():
    assert get_explainer("gp") is GPShap
    model, X, bg = _nonlinear(d=5)
    e = GPShap(model, background=bg, budget=20, random_state=0, adaptive=False).explain(X[:2], target=0)
    assert e.method == "gp" and e.params["budget"] == 20 and e.params["adaptive"] is False
    assert e.params["overhead_ms_per_row"] >= 0.0 and e.params["overhead_cpu_ms_per_row"] >= 0.0
    assert e.n_model_evals == 2 * 20 * len(bg) + 2 + len(bg)  # the design, f(x) and f(background)


def test_linear_model_closed_form_with_a_multi_row_background(rng):
    w = np.array([1.5, -2.0, 0.5, 0.0, 3.0, 1.0, -1.0])
    model = leanlens.as_model(lambda X: X @ w - 2.0, n_features=7)
    X = rng.normal(size=(4, 7))
    bg = rng.normal(size=(30, 7)) + 1.0
    e = explain(model, X, "gp", background=bg, budget=30, random_state=1, target=0)
    np.testing.assert_allclose(e.values, w * (X - bg.astype(np.float32).mean(axis=0)), atol=1e-5)


def test_additive_game_is_exact(rng):
    d = 8
    model = leanlens.as_model(lambda X: np.sin(2 * X[:, 0]) + X[:, 1] ** 2 + np.abs(X[:, 2:]).sum(axis=1) * X.shape[1],
                              n_features=d)
    X = rng.normal(size=(3, d))
    bg = rng.normal(size=(5, d))
    ex = explain(model, X, "exact", background=bg, target=0)
    e = explain(model, X, "gp", background=bg, budget=40, random_state=0, target=0)
    np.testing.assert_allclose(e.values, ex.values, atol=1e-5 * np.abs(ex.values).max())


@pytest.mark.parametrize("adaptive", (False, True))
def test_efficiency_holds_to_1e_6_for_every_output(adaptive):
    model, X, bg = _nonlinear()
    two = leanlens.as_model(lambda Z: np.stack([model.output(Z)[:, 0], np.cos(Z).sum(axis=1)], axis=1), n_features=8)
    e = explain(two, X, "gp", background=bg, budget=50, random_state=0, adaptive=adaptive)
    assert e.values.shape == (len(X), 8, 2) and e.stderr.shape == e.values.shape
    resid = np.abs(e.values.sum(axis=1) + e.base_values - two.output(X))
    assert resid.max() < 1e-6
    assert np.all(np.isfinite(e.values)) and np.all(np.isfinite(e.stderr)) and np.all(e.stderr >= 0)


def test_dummy_and_symmetric_features():
    d = 6
    # x_5 equals the baseline (a dummy); features 0 and 1 enter symmetrically with equal x and baseline.
    model = leanlens.as_model(lambda X: np.tanh(X[:, 0] + X[:, 1]) * X[:, 2] + X[:, 3] * X[:, 4] + X[:, 5] ** 2,
                              n_features=d)
    x = np.array([[1.0, 1.0, -1.5, 0.7, 2.0, 0.3]])
    base = np.array([[0.0, 0.0, 0.5, -0.2, 0.1, 0.3]])
    e = explain(model, x, "gp", background=base, budget=30, random_state=0, target=0)
    ex = explain(model, x, "exact", background=base, target=0)
    scale = np.abs(ex.values).max()
    np.testing.assert_allclose(ex.values[0, 5], 0.0, atol=1e-12)
    np.testing.assert_allclose(ex.values[0, 0], ex.values[0, 1], atol=1e-12)
    # a random design is symmetric only in distribution: equal up to the standard errors
    assert abs(e.values[0, 5]) <= 4 * e.stderr[0, 5] + 1e-9 and abs(e.values[0, 5]) < 1e-3 * scale
    assert abs(e.values[0, 0] - e.values[0, 1]) <= 4 * (e.stderr[0, 0] + e.stderr[0, 1])
    assert abs(e.values[0, 0] - e.values[0, 1]) < 0.1 * scale


def test_error_shrinks_towards_exact_as_the_budget_grows():
    model, X, bg = _nonlinear(d=8, seed=3, n=4)
    ex = explain(model, X, "exact", background=bg, target=0)
    errs = [np.mean([np.median(_rel_err(explain(model, X, "gp", background=bg, budget=m, random_state=s,
                                                target=0).values, ex.values)) for s in range(2)])
            for m in (16, 60, 200)]
    assert errs[0] > errs[1] > errs[2]
    assert errs[2] < 1e-3
    e = explain(model, X, "gp", background=bg, budget=2**8 - 2, random_state=0, target=0)
    np.testing.assert_allclose(e.values, ex.values, atol=1e-10)
    assert np.all(e.stderr == 0) and any("exact" in note for note in e.notes)


def test_standard_errors_cover_the_exact_values_at_a_plausible_rate():
    hits = []
    for seed in range(3):
        model, X, bg = _nonlinear(d=8, seed=seed, n=8, b=1)
        ex = explain(model, X, "exact", background=bg, target=0).values
        e = explain(model, X, "gp", background=bg, budget=40, random_state=seed, target=0)
        hits.append(np.abs(e.values - ex) <= 1.96 * e.stderr)
    coverage = np.mean(np.concatenate([h.ravel() for h in hits]))
    assert 0.8 <= coverage <= 1.0, coverage


def test_adaptive_spends_the_budget_in_batches_and_is_accurate():
    model, X, bg = _nonlinear(d=8, seed=2, n=4, b=3)
    ex = explain(model, X, "exact", background=bg, target=0).values
    e = explain(model, X, "gp", background=bg, budget=80, random_state=0, target=0, adaptive=True)
    assert e.n_model_evals == len(X) * 80 * len(bg) + len(X) + len(bg)
    assert any("adaptive" in note for note in e.notes)
    assert np.median(_rel_err(e.values, ex)) < 0.05


def test_never_nan_on_degenerate_games_and_minimal_budgets():
    const = leanlens.as_model(lambda X: np.full(len(X), 2.0), n_features=5)
    e = explain(const, np.ones((2, 5)), "gp", background=np.zeros((1, 5)), budget=7, random_state=0, target=0)
    assert np.all(e.values == 0) and np.all(e.stderr == 0)
    model, X, bg = _nonlinear(d=8)
    e = explain(model, X, "gp", background=bg, budget=10, random_state=0, target=0)  # d + 2: linear part not identified
    assert np.all(np.isfinite(e.values)) and np.all(np.isfinite(e.stderr))
    assert np.max(np.abs(e.values.sum(axis=1) + e.base_values - model.output(X)[:, 0])) < 1e-6
    small = leanlens.as_model(lambda X: np.tanh(X).prod(axis=1), n_features=3)
    rng = np.random.default_rng(0)  # the paired draws repeat coalitions (6 exist, budget 5)
    e = explain(small, rng.normal(size=(2, 3)), "gp", background=rng.normal(size=(2, 3)), budget=5, random_state=0,
                target=0)
    assert np.all(np.isfinite(e.values)) and np.all(np.isfinite(e.stderr))


def test_bad_input_gives_clear_errors():
    model, X, bg = _nonlinear(d=8)
    with pytest.raises(InvalidInputError, match=r"'budget' parameter of GPShap must be an int ≥ d \+ 2 = 10.*Got 5"):
        explain(model, X, "gp", background=bg, budget=5)
    with pytest.raises(InvalidInputError, match=r"≥ 4d \+ 2 with adaptive=True.* = 34.*Got 20"):
        explain(model, X, "gp", background=bg, budget=20, adaptive=True)
    with pytest.raises(InvalidInputError, match="'adaptive' parameter of GPShap must be True or False"):
        explain(model, X, "gp", background=bg, budget=40, adaptive="yes")
    with pytest.raises(InvalidInputError, match="'fit_points' parameter of GPShap must be an int ≥ 12"):
        explain(model, X, "gp", background=bg, budget=40, fit_points=5)
    with pytest.raises(InvalidInputError, match="'tol' parameter is not supported"):
        explain(model, X, "gp", background=bg, budget=40, tol=0.1)
    with pytest.raises(InvalidInputError, match="Unknown parameter"):
        explain(model, X, "gp", background=bg, budget=40, lengthscale=2.0)


def test_few_fit_points_per_player_fit_one_shared_length_scale():
    rng = np.random.default_rng(3)
    T, m, d = 2, 40, 6
    Z = (rng.random((T, m, d)) < 0.5).astype(float)
    y = np.tanh(Z @ rng.normal(size=d) * 0.7) + 0.3 * Z[:, :, 0] * Z[:, :, 1]
    y = (y - y.mean(axis=1, keepdims=True)) / y.std(axis=1, keepdims=True)
    sampled = np.r_[0.0, 0.0, np.ones(m - 2)]
    theta, tau, lam = fit_hyperparameters(Z, y, sampled, max_iter=15, isotropic=True)
    assert theta.shape == (T, d) and np.all(theta == theta[:, :1])  # one scale per task, repeated
    assert np.all(np.isfinite(tau)) and np.all(np.isfinite(lam))
    # the isotropic optimum is no better than the per-feature optimum (a restriction of it)
    x_iso = np.c_[np.log(theta), np.log(tau), np.log(lam)].reshape(-1)
    ard = fit_hyperparameters(Z, y, sampled, max_iter=60)
    x_ard = np.c_[np.log(ard[0]), np.log(ard[1]), np.log(ard[2])].reshape(-1)
    assert _neg_loglik(x_ard, Z, y, sampled)[0] <= _neg_loglik(x_iso, Z, y, sampled)[0] + 1e-6
    # the explainer switches by fit points per player and says so
    assert shared_length_scale(128, 30) and not shared_length_scale(128, 24) and not shared_length_scale(32, 6)
    model, X, bg = _nonlinear(d=28, n=2)
    e = GPShap(model, background=bg, budget=200, random_state=0, fit_points=128).explain(X, target=0)
    assert e.params["length_scales"] == "shared" and any("shared by the 28 players" in n for n in e.notes)
    assert e.params["fit_points"] == 128
    # by default the fit takes max(128, 8·d) coalitions (capped at budget + 2): per-player scales above 16 players
    assert [default_fit_points(d) for d in (6, 16, 17, 28)] == [128, 128, 136, 224]
    e = GPShap(model, background=bg, budget=200, random_state=0).explain(X[:1], target=0)
    assert e.params["length_scales"] == "per player" and e.params["fit_points"] == 202
    e = GPShap(model, background=bg, budget=200, random_state=0, fit_points=140).explain(X[:1], target=0)
    assert e.params["length_scales"] == "per player"  # 140 = 5 · 28
    e = GPShap(*_nonlinear(d=8, n=1)[:1], background=bg[:, :8], budget=100, random_state=0).explain(X[:1, :8], target=0)
    assert e.params["length_scales"] == "per player"
