"""Permutation importance and partial dependence / ICE on models with known answers."""

from __future__ import annotations

import json

import numpy as np
import pytest

import leanlens
from leanlens.errors import InvalidInputError
from leanlens.explain.importance import partial_dependence, permutation_importance


@pytest.fixture(scope="module")
def only_x0():
    """Regression f(x) = 3·x0 on 4 features: the other three are dummies."""
    return leanlens.as_model(lambda X: 3.0 * X[:, 0], n_features=4)


def test_permutation_importance_dummies_score_exactly_zero(only_x0, gaussian_rows):
    X = gaussian_rows[:150]
    r = permutation_importance(only_x0, X, 3.0 * X[:, 0].astype(np.float64), n_repeats=3, random_state=0)
    assert r.baseline_score == pytest.approx(1.0) and r.scoring == "r2"
    assert r.importances.shape == (4, 3)
    np.testing.assert_array_equal(r.importances_mean[1:], 0.0)
    assert r.importances_mean[0] > 1.5  # shuffling x0 destroys R² (≈ 2 for an independent shuffle)
    assert r.top_k(1) == ["x0"]
    json.dumps(r.to_dict())


def test_permutation_importance_is_seeded_and_uses_accuracy_for_classifiers(iris_forest, iris):
    a = permutation_importance(iris_forest, iris.X_test, iris.y_test, n_repeats=2, random_state=0)
    b = permutation_importance(iris_forest, iris.X_test, iris.y_test, n_repeats=2, random_state=0)
    np.testing.assert_array_equal(a.importances, b.importances)
    assert a.scoring == "accuracy"
    assert a.baseline_score == pytest.approx(float((iris_forest.predict(iris.X_test) == iris.y_test).mean()))


def test_partial_dependence_of_a_linear_feature_has_its_slope(only_x0, gaussian_rows):
    X = gaussian_rows[:100]
    pd = partial_dependence(only_x0, X, "x0", grid_resolution=11)
    assert pd.average.shape == (1, len(pd.grid)) and pd.individual.shape == (1, 100, len(pd.grid))
    np.testing.assert_allclose(np.diff(pd.average[0]) / np.diff(pd.grid), 3.0, rtol=1e-5)
    # ICE curves of an additive model are parallel: every curve is 3·grid
    np.testing.assert_allclose(pd.individual[0], np.tile(3.0 * pd.grid, (100, 1)), rtol=1e-5, atol=1e-5)
    # the grid spans the 5–95 % quantiles (scikit-learn's mquantiles): inside the data, not its extremes
    assert X[:, 0].min() < pd.grid[0] < np.median(X[:, 0]) < pd.grid[-1] < X[:, 0].max()
    np.testing.assert_allclose(pd.data, X[:, 0])
    flat = partial_dependence(only_x0, X, 2, kind="average", grid_resolution=5)
    assert flat.individual is None
    np.testing.assert_allclose(flat.average[0], flat.average[0, 0])  # a dummy feature: flat curve
    json.dumps(pd.to_dict())


def test_partial_dependence_binary_keeps_one_curve_per_output(iris):
    from sklearn.linear_model import LogisticRegression

    y = (iris.y_train == 2).astype(int)
    m = leanlens.as_model(LogisticRegression(max_iter=500).fit(iris.X_train, y))
    pd = partial_dependence(m, iris.X_test, 3, grid_resolution=6)
    assert pd.average.shape[0] == 2
    np.testing.assert_allclose(pd.average.sum(axis=0), 1.0)
    assert pd.average[1, -1] > pd.average[1, 0]  # wider petals → virginica


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda m, X: permutation_importance(m, X, np.zeros(3)), "'y' parameter must have shape (20,)"),
        (lambda m, X: permutation_importance(m, X, np.zeros(20), n_repeats=0), "'n_repeats' parameter"),
        (lambda m, X: permutation_importance(m, X, np.zeros(20), scoring="best"), "'scoring' parameter"),
        (lambda m, X: permutation_importance(m, X[:, :3], np.zeros(20)), "has 3 features per row"),
        (lambda m, X: partial_dependence(m, X, "x9"), "Unknown feature 'x9'"),
        (lambda m, X: partial_dependence(m, X, 7), "'feature' parameter must be a name or an index in [0, 4)"),
        (lambda m, X: partial_dependence(m, X, 0, kind="mean"), "'kind' parameter"),
        (lambda m, X: partial_dependence(m, X, 0, grid_resolution=1), "'grid_resolution' parameter"),
        (lambda m, X: partial_dependence(m, X[:0], 0), "'X' parameter has no rows"),
    ],
)
def test_global_view_bad_input(only_x0, gaussian_rows, call, fragment):
    with pytest.raises(InvalidInputError) as exc:
        call(only_x0, gaussian_rows[:20])
    assert fragment in str(exc.value)


def test_nan_rows_are_refused(only_x0, gaussian_rows):
    X = gaussian_rows[:20].copy()
    X[3, 1] = np.nan
    with pytest.raises(InvalidInputError, match="NaN or infinite"):
        partial_dependence(only_x0, X, 0)
