"""TreeSHAP through shap: against a brute-force interventional Shapley enumeration, efficiency,
path-dependent mode, and refusal of models that are not scikit-learn trees."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeRegressor

import leanlens
from leanlens.errors import InvalidInputError, UnsupportedModelError
from leanlens.explain import explain


def brute_force_shapley(f, x, background):
    """Interventional Shapley values by enumerating all 2^d coalitions:
    v(S) = mean_b f(x_S, b_rest); φ_i = Σ_S |S|!(d−|S|−1)!/d! (v(S ∪ i) − v(S))."""
    d = len(x)

    def v(S):
        Z = background.copy()
        Z[:, list(S)] = x[list(S)]
        return f(Z).mean(axis=0)

    phi = np.zeros((d, *np.shape(v(()))))
    for i in range(d):
        others = [j for j in range(d) if j != i]
        for size in range(d):
            w = math.factorial(size) * math.factorial(d - size - 1) / math.factorial(d)
            for S in itertools.combinations(others, size):
                phi[i] += w * (v((*S, i)) - v(S))
    return phi


@pytest.fixture(scope="module")
def small_tree_data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4)).astype(np.float32)
    y = (X[:, 0] > 0) * 2.0 + X[:, 1] * X[:, 2] + 0.1 * rng.normal(size=200)
    return X, y


def test_tree_matches_brute_force_on_a_small_regression_tree(small_tree_data):
    X, y = small_tree_data
    est = DecisionTreeRegressor(max_depth=4, random_state=0).fit(X, y)
    bg = X[:25]
    e = explain(est, X[100:105], method="tree", background=bg)
    f = lambda Z: est.predict(Z)[:, None]  # noqa: E731
    for r in range(5):
        # 1e-6: shap accumulates leaf values of float32 inputs; the largest gap seen is 8e-8
        np.testing.assert_allclose(e.values[r], brute_force_shapley(f, X[100 + r].astype(np.float64), bg.astype(np.float64)), atol=1e-6)
    np.testing.assert_allclose(e.base_values[:, 0], est.predict(bg).mean(), atol=1e-10)


def test_tree_matches_brute_force_on_forest_probabilities(iris):
    est = RandomForestClassifier(n_estimators=5, max_depth=3, random_state=0).fit(iris.X_train, iris.y_train)
    bg = iris.X_train[:20].astype(np.float64)
    e = explain(est, iris.X_test[:3], method="tree", background=bg)
    assert e.values.shape == (3, 4, 3)
    for r in range(3):
        np.testing.assert_allclose(e.values[r], brute_force_shapley(est.predict_proba, iris.X_test[r].astype(np.float64), bg), atol=1e-6)


def test_tree_agrees_with_our_exact_estimator(small_tree_data):
    pytest.importorskip("leanlens.explain.shapley.exact")
    X, y = small_tree_data
    est = DecisionTreeRegressor(max_depth=4, random_state=0).fit(X, y)
    bg = X[:25]
    tree = explain(est, X[100:110], method="tree", background=bg)
    exact = explain(est, X[100:110], method="exact", background=bg)
    np.testing.assert_allclose(tree.values, exact.values, atol=1e-6)


def test_tree_efficiency_and_target_selection(iris_forest, iris):
    X = iris.X_test[:6]
    e = explain(iris_forest, X, method="tree", background=iris.X_train[:50], target="predicted")
    fx = iris_forest.output(X)[np.arange(6), e.targets]
    np.testing.assert_allclose(e.values.sum(1) + e.base_values, fx, atol=1e-8)
    assert e.targets.tolist() == iris_forest.predict(X).tolist()


def test_tree_notes_shaps_float32_threshold_ties():
    from sklearn.tree import DecisionTreeClassifier

    # trained on 1.6 and 1.8: scikit-learn's float64 threshold 1.69999998… lies below float32(1.7)
    X = np.array([[1.6], [1.8]] * 5, dtype=np.float32)
    est = DecisionTreeClassifier().fit(X, [0, 1] * 5)
    e = explain(est, np.array([[1.6]], dtype=np.float32), method="tree", background=np.array([[1.7]], dtype=np.float32))
    assert est.predict(np.array([[1.7]], dtype=np.float32)).tolist() == [1]
    residual = np.abs(e.values.sum(1) + e.base_values - est.predict_proba(np.array([[1.6]]))).max()
    if residual > 1e-6:  # shap took the other branch: the explanation must say so
        assert any("split threshold" in n for n in e.notes)
    else:
        assert not e.notes


def test_tree_path_dependent(iris_forest, iris):
    e = explain(iris_forest, iris.X_test[:5], method="tree", feature_perturbation="tree_path_dependent")
    assert e.params["feature_perturbation"] == "tree_path_dependent" and e.params["n_background"] == 0
    np.testing.assert_allclose(e.values.sum(1) + e.base_values, iris_forest.output(iris.X_test[:5]), atol=1e-8)


def test_tree_binary_boosting_gives_both_outputs(digits):
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    est = GradientBoostingClassifier(n_estimators=10, max_depth=2, random_state=0).fit(X, y)
    m = leanlens.as_model(est)
    e = explain(m, X[:4], method="tree", background=X[:50])
    assert e.values.shape == (4, 30, 2)
    np.testing.assert_allclose(e.values.sum(1) + e.base_values, m.output(X[:4]), atol=1e-6)
    np.testing.assert_allclose(e.values[:, :, 0], -e.values[:, :, 1])
    p = explain(m, X[:4], method="tree", feature_perturbation="path_dependent")
    assert any("log-odds" in n for n in p.notes)


def test_tree_large_background_is_subsampled_with_a_note(iris_forest, iris):
    e = explain(iris_forest, iris.X_test[:2], method="tree", background=iris.X_train, max_background=10, random_state=0)
    assert e.params["n_background"] == 10
    assert any("subsampled" in n for n in e.notes)


def test_tree_refuses_models_that_are_not_trees(iris, iris_mlp):
    lr = LogisticRegression(max_iter=500).fit(iris.X_train, iris.y_train)
    with pytest.raises(UnsupportedModelError) as exc:
        explain(lr, iris.X_test[:2], method="tree", background=iris.X_train)
    assert "LogisticRegression" in str(exc.value) and "'kernel'" in str(exc.value)
    with pytest.raises(UnsupportedModelError, match="Got a torch model"):
        explain(iris_mlp, iris.X_test[:2], method="tree", background=iris.X_train)


def test_tree_bad_parameters(iris_forest, iris):
    with pytest.raises(InvalidInputError, match="'feature_perturbation' parameter of TreeShap must be one of"):
        explain(iris_forest, iris.X_test[:2], method="tree", background=iris.X_train, feature_perturbation="causal")
    with pytest.raises(InvalidInputError, match="needs a 'background'"):
        explain(iris_forest, iris.X_test[:2], method="tree")
    with pytest.raises(InvalidInputError, match="'max_background' parameter"):
        explain(iris_forest, iris.X_test[:2], method="tree", background=iris.X_train, max_background=0)
    with pytest.raises(InvalidInputError, match=r"'target' index must be in \[0, 3\)"):
        explain(iris_forest, iris.X_test[:2], method="tree", background=iris.X_train, target=5)


def test_tree_refuses_an_empty_background(iris_forest, iris):
    with pytest.raises(InvalidInputError, match="'background' parameter is empty"):
        explain(iris_forest, iris.X_test[:2], method="tree", background=iris.X_train[:0])
