import numpy as np
import pytest

from leanlens import datasets
from leanlens.data.synthetic import additive_function, additive_shapley
from leanlens.errors import InvalidInputError


def test_additive_layout_and_decoy():
    ds = datasets.synthetic("additive", n=2000, random_state=0)
    assert ds.input_shape == (12,)
    assert ds.feature_names[-1] == "x12_decoy"
    X = np.vstack([ds.X_train, ds.X_val, ds.X_test])
    # decoy = x1 + 0.1 ε: correlation with x1 close to 1, independent features otherwise
    corr = np.corrcoef(X.T)
    assert corr[0, 11] > 0.99
    assert abs(corr[0, 1]) < 0.1
    assert ds.task == "binary" and ds.ground_truth is not None
    assert ds.ground_truth.relevant == (0, 1, 2, 3, 4, 5)


def test_correlation_parameter_sets_ar1_covariance():
    ds = datasets.synthetic("additive", n=20000, correlation=0.5, random_state=1)
    X = np.vstack([ds.X_train, ds.X_val, ds.X_test])
    corr = np.corrcoef(X[:, :11].T)
    assert corr[0, 1] == pytest.approx(0.5, abs=0.03)
    assert corr[0, 2] == pytest.approx(0.25, abs=0.03)


def test_ground_truth_is_the_shapley_value_of_f():
    """Check the closed form against brute-force interventional Shapley on a sampled background."""
    from itertools import combinations
    from math import comb

    rng = np.random.default_rng(0)
    bg = rng.standard_normal((4000, 12))
    x = rng.standard_normal(12)
    d = 6  # only features 0..5 matter; the others have value 0 (dummy) — enumerate the 6 relevant ones

    def v(S):
        Z = bg.copy()
        Z[:, list(S)] = x[list(S)]
        return additive_function(Z).mean()

    phi = np.zeros(d)
    for i in range(d):
        others = [j for j in range(d) if j != i]
        for size in range(d):
            for S in combinations(others, size):
                w = 1.0 / (d * comb(d - 1, size))
                phi[i] += w * (v((*S, i)) - v(S))
    truth = additive_shapley(x[None, :], background_mean_x5x6=float((bg[:, 4] * bg[:, 5]).mean()))[0]
    # closed form uses population expectations; the background sample differs by O(1/sqrt(n))
    truth[0] = 2 * (x[0] - bg[:, 0].mean())
    truth[1] = -1.5 * (x[1] - bg[:, 1].mean())
    truth[2] = np.sin(2 * x[2]) - np.sin(2 * bg[:, 2]).mean()
    truth[3] = x[3] ** 2 - (bg[:, 3] ** 2).mean()
    np.testing.assert_allclose(phi, truth[:6], atol=0.05)
    # efficiency of the closed form: Σφ = f(x) − E f
    assert phi.sum() == pytest.approx(additive_function(x[None])[0] - additive_function(bg).mean(), abs=1e-9)


def test_regression_variant_and_sixteen_features():
    ds = datasets.synthetic("additive", n=500, n_features=16, task="regression", noise=0.0, random_state=0)
    assert ds.input_shape == (16,) and ds.task == "regression"
    np.testing.assert_allclose(ds.y_test, additive_function(ds.X_test), rtol=1e-4, atol=1e-4)
    phi = ds.ground_truth.shapley(ds.X_test)
    assert phi.shape == ds.X_test.shape
    assert np.all(phi[:, 6:] == 0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n": 10}, "'n' parameter"),
        ({"correlation": 1.0}, "'correlation'"),
        ({"noise": -1.0}, "'noise'"),
        ({"n_features": 5}, "'n_features'"),
    ],
)
def test_bad_parameters(kwargs, match):
    with pytest.raises(InvalidInputError, match=match):
        datasets.synthetic("additive", **kwargs)


def test_same_seed_same_data():
    a = datasets.synthetic(n=300, random_state=5)
    b = datasets.synthetic(n=300, random_state=5)
    np.testing.assert_array_equal(a.X_train, b.X_train)
