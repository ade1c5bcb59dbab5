"""LIME: known answers on linear models, determinism, num_features, discretization, image patches."""

from __future__ import annotations

import numpy as np
import pytest

import leanlens
from leanlens.errors import InvalidInputError
from leanlens.explain import explain
from leanlens.explain.lime import Lime, weighted_ridge


def test_lime_recovers_linear_coefficients_exactly_without_penalty(linear_callable, linear_weights, gaussian_rows):
    X, bg = gaussian_rows[:5], gaussian_rows
    lime = Lime(linear_callable, background=bg, budget=500, random_state=0, alpha=0.0)
    e = lime.explain(X)
    np.testing.assert_allclose(lime.coef_[:, :, 0], np.tile(linear_weights, (5, 1)), atol=1e-8)
    # φ_i = w_i (x_i − mean_i): the Shapley values of a linear model
    np.testing.assert_allclose(e.values[:, :, 0], linear_weights * (X - bg.astype(np.float64).mean(0)), atol=1e-6)
    np.testing.assert_allclose(e.values.sum(1) + e.base_values, linear_callable.output(X), atol=1e-6)


def test_lime_default_ridge_shrinks_little(linear_callable, linear_weights, gaussian_rows):
    lime = Lime(linear_callable, background=gaussian_rows, random_state=0)
    lime.explain(gaussian_rows[:3])
    np.testing.assert_allclose(lime.coef_[:, :, 0], np.tile(linear_weights, (3, 1)), rtol=0.01, atol=1e-3)


def test_lime_is_deterministic_under_a_seed(iris_mlp, iris):
    a = explain(iris_mlp, iris.X_test[:4], method="lime", background=iris.X_train, budget=200, random_state=3)
    b = explain(iris_mlp, iris.X_test[:4], method="lime", background=iris.X_train, budget=200, random_state=3)
    c = explain(iris_mlp, iris.X_test[:4], method="lime", background=iris.X_train, budget=200, random_state=4)
    np.testing.assert_array_equal(a.values, b.values)
    assert not np.allclose(a.values, c.values)
    assert a.n_model_evals == 4 * 200


def test_lime_num_features_keeps_the_largest(linear_callable, gaussian_rows):
    lime = Lime(linear_callable, background=gaussian_rows, random_state=0, num_features=2, alpha=0.0)
    e = lime.explain(gaussian_rows[:6])
    nonzero = (np.abs(lime.coef_[:, :, 0]) > 1e-12).sum(axis=1)
    assert nonzero.tolist() == [2] * 6
    # in standardized units |w·scale| = [1.5, 4, 0.25, 0]: features 0 and 1 are kept
    assert set(np.nonzero(lime.coef_[0, :, 0])[0].tolist()) == {0, 1}
    np.testing.assert_allclose(e.values[:, 2:, 0], 0.0)


def test_lime_discretized_weights_follow_the_slope_and_sum_to_the_surrogate(linear_callable, gaussian_rows):
    X = np.array([[3.0, 0.0, -1.0, 2.0]], dtype=np.float32)  # feature 0 high, others at their centre
    lime = Lime(linear_callable, background=gaussian_rows, budget=2000, random_state=0, discretize=True)
    e = lime.explain(X)
    phi = e.values[0, :, 0]
    assert phi[0] > 1.0  # being in the top quartile of x0 raises w0·x0 by far
    assert abs(phi[3]) < 0.1 * phi[0]  # the unused feature gets (almost) nothing, up to sampling noise
    assert e.params["discretize"] is True
    surrogate_at_row = lime.coef_[0, :, 0].sum() + e.base_values[0, 0]  # all indicators are 1 at the row
    assert e.values[0, :, 0].sum() + e.base_values[0, 0] == pytest.approx(surrogate_at_row)


def test_lime_image_patches_localize_a_single_patch():
    # f looks only at the top-left 2×2 patch of a 1×8×8 image
    f = leanlens.as_model(lambda X: X[:, 0, :2, :2].sum(axis=(1, 2)), input_shape=(1, 8, 8))
    X = np.ones((2, 1, 8, 8), dtype=np.float32)
    lime = Lime(f, background=np.zeros((5, 1, 8, 8), dtype=np.float32), budget=400, random_state=0, alpha=0.0)
    e = lime.explain(X)
    assert e.params["mode"] == "image" and e.params["n_interpretable_features"] == 16
    assert lime.coef_.shape == (2, 16, 1)
    heat = e.values[0, :, 0].reshape(8, 8)
    np.testing.assert_allclose(heat[:2, :2], 1.0, atol=1e-8)  # patch weight 4 spread over its 4 pixels
    np.testing.assert_allclose(np.delete(heat.ravel(), [0, 1, 8, 9]), 0.0, atol=1e-8)


def test_lime_flat_digits_as_images(digits):
    from sklearn.linear_model import LogisticRegression

    m = leanlens.as_model(LogisticRegression(max_iter=200).fit(digits.X_train[:300], digits.y_train[:300]))
    e = explain(m, digits.X_test[:2], method="lime", background=digits.X_train, random_state=0, budget=100,
                image_shape=(8, 8), patch=4, target="predicted")
    assert e.values.shape == (2, 64) and e.params["n_interpretable_features"] == 4
    assert e.params["image_shape"] == [8, 8]


def test_weighted_ridge_matches_numpy_lstsq():
    rng = np.random.default_rng(0)
    Z, Y, w = rng.normal(size=(2, 50, 3)), rng.normal(size=(2, 50, 2)), rng.random((2, 50))
    coef, intercept = weighted_ridge(Z, Y, w, alpha=0.0)
    for i in range(2):
        A = np.column_stack([np.ones(50), Z[i]]) * np.sqrt(w[i])[:, None]
        sol = np.linalg.lstsq(A, Y[i] * np.sqrt(w[i])[:, None], rcond=None)[0]
        np.testing.assert_allclose(coef[i], sol[1:], atol=1e-10)
        np.testing.assert_allclose(intercept[i], sol[0], atol=1e-10)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"budget": 5}, "'budget' parameter of Lime"),
        ({"num_features": 9}, "'num_features' parameter of Lime must be an int in [1, 4]"),
        ({"alpha": -1.0}, "'alpha' parameter of Lime must be a number ≥ 0"),
        ({"kernel_width": 0}, "'kernel_width'"),
        ({"mode": "text"}, "'mode' parameter of Lime"),
        ({"mode": "image"}, "needs image inputs"),
        ({"image_shape": (3, 3)}, "'image_shape' parameter"),
        ({"colour": 1}, "Unknown parameter(s) ['colour']"),
    ],
)
def test_lime_bad_parameters(linear_callable, gaussian_rows, kwargs, fragment):
    with pytest.raises(InvalidInputError) as exc:
        explain(linear_callable, gaussian_rows[:2], method="lime", background=gaussian_rows, **kwargs)
    assert fragment in str(exc.value)


def test_lime_needs_a_background_for_tabular_rows(linear_callable, gaussian_rows):
    with pytest.raises(InvalidInputError, match="needs a 'background'"):
        explain(linear_callable, gaussian_rows[:2], method="lime")


def test_lime_rejects_wrong_columns_and_nan_rows(linear_callable, gaussian_rows):
    with pytest.raises(InvalidInputError, match="has 3 features per row; the model expects 4"):
        explain(linear_callable, gaussian_rows[:2, :3], method="lime", background=gaussian_rows)
    bad = gaussian_rows[:3].copy()
    bad[1, 2] = np.nan
    with pytest.raises(InvalidInputError, match="NaN or infinite values.* in 1 rows"):
        explain(linear_callable, bad, method="lime", background=gaussian_rows)
    with pytest.raises(InvalidInputError, match="'background' parameter has NaN"):
        explain(linear_callable, gaussian_rows[:2], method="lime", background=bad)


def test_lime_keeps_constant_background_features_fixed_and_unweighted(linear_weights, gaussian_rows):
    seen = []

    def f(X):
        seen.append(X.copy())
        return X @ linear_weights + 3.0

    model = leanlens.as_model(f, n_features=4)
    bg = gaussian_rows.copy()
    bg[:, 2] = 7.0  # no spread: perturbing it would leave the data's distribution
    X = gaussian_rows[:3].copy()
    for discretize in (False, True):
        seen.clear()
        lime = Lime(model, background=bg, budget=100, random_state=0, alpha=0.0, discretize=discretize)
        e = lime.explain(X)
        inputs = np.concatenate(seen[2:]).reshape(3, 100, 4)  # calls 0-1: explain()'s finite-output check
        np.testing.assert_array_equal(inputs[:, :, 2], np.repeat(X[:, 2:3], 100, axis=1))
        np.testing.assert_array_equal(e.values[:, 2, 0], 0.0)
        assert np.all(np.isfinite(e.values))
    lime = Lime(model, background=bg, budget=100, random_state=0, alpha=0.0, num_features=3)
    lime.explain(X)
    np.testing.assert_allclose(lime.coef_[:, [0, 1, 3], 0], np.tile(linear_weights[[0, 1, 3]], (3, 1)), atol=1e-8)


def test_lime_processes_rows_in_chunks(monkeypatch, iris_mlp, iris):
    from leanlens.explain import lime as lime_module

    monkeypatch.setattr(lime_module, "_CHUNK_VALUES", 2 * 50 * 4)  # two rows per chunk
    X, bg = iris.X_test[:5], iris.X_train
    a = explain(iris_mlp, X, method="lime", background=bg, budget=50, random_state=0, target="predicted")
    b = explain(iris_mlp, X, method="lime", background=bg, budget=50, random_state=0, target="predicted")
    assert a.values.shape == (5, 4) and a.n_model_evals == 5 * 50
    np.testing.assert_array_equal(a.values, b.values)
    assert a.targets.tolist() == iris_mlp.predict(X).tolist()


def test_lime_refuses_an_empty_or_misshapen_background(linear_callable, gaussian_rows):
    with pytest.raises(InvalidInputError, match="'background' parameter is empty"):
        explain(linear_callable, gaussian_rows[:2], method="lime", background=gaussian_rows[:0])
    with pytest.raises(InvalidInputError, match="'background' parameter has 2 features per row"):
        explain(linear_callable, gaussian_rows[:2], method="lime", background=gaussian_rows[:, :2])
