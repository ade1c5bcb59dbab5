"""Every bad input issue 3 lists, for the Shapley estimators: error type and message."""

from __future__ import annotations

import numpy as np
import pytest

import leanlens
from leanlens.errors import InvalidInputError
from leanlens.explain import explain, get_explainer

METHODS = ("exact", "kernel", "leverage", "permutation")


@pytest.fixture()
def model():
    return leanlens.as_model(lambda X: X @ np.arange(1.0, 6.0), n_features=5)


@pytest.fixture()
def bg(rng):
    return rng.normal(size=(10, 5))


@pytest.mark.parametrize("method", METHODS)
def test_wrong_number_of_columns(method, model, bg):
    with pytest.raises(InvalidInputError, match="'X' parameter has 4 features per row; the model expects 5"):
        explain(model, np.ones((2, 4)), method, background=bg)
    with pytest.raises(InvalidInputError, match="'background' parameter has 6 features"):
        explain(model, np.ones((2, 5)), method, background=np.ones((3, 6)))


@pytest.mark.parametrize("method", METHODS)
def test_nan_rows(method, model, bg):
    X = np.ones((3, 5))
    X[1, 2] = np.nan
    with pytest.raises(InvalidInputError, match="'X' parameter has NaN or infinite values.* in 1 rows.*row 1"):
        explain(model, X, method, background=bg)
    bad_bg = bg.copy()
    bad_bg[4, 0] = np.inf
    with pytest.raises(InvalidInputError, match="'background' parameter has NaN"):
        explain(model, np.ones((1, 5)), method, background=bad_bg)


@pytest.mark.parametrize("method", METHODS)
def test_empty_or_missing_background(method, model):
    with pytest.raises(InvalidInputError, match="'background' parameter is empty"):
        explain(model, np.ones((1, 5)), method, background=np.zeros((0, 5)))
    with pytest.raises(InvalidInputError, match="needs a 'background'"):
        explain(model, np.ones((1, 5)), method)


@pytest.mark.parametrize("method", METHODS)
def test_too_large_background_is_summarized_with_a_notice(method, model, rng):
    big = rng.normal(size=(400, 5))
    e = explain(model, np.ones((2, 5)), method, background=big, max_background=16, budget=20,
                random_state=0, target=0)
    assert e.params["background_rows"] == 16
    assert any("k-means" in n and "400 rows" in n for n in e.notes)
    # linear model: weighted k-means centres keep the mean, so φ stays exact
    want = np.arange(1.0, 6.0) * (1 - big.astype(np.float32).mean(0))
    np.testing.assert_allclose(e.values, np.broadcast_to(want, e.values.shape), atol=1e-3)


@pytest.mark.parametrize("method", ("kernel", "leverage"))
def test_budget_below_d_plus_2(method, model, bg):
    with pytest.raises(InvalidInputError, match=r"'budget' parameter of \w+ must be an int ≥ d \+ 2 = 7.*Got 6"):
        explain(model, np.ones((1, 5)), method, background=bg, budget=6)
    with pytest.raises(InvalidInputError, match="'budget'.*Got 'many'"):
        explain(model, np.ones((1, 5)), method, background=bg, budget="many")


def test_permutation_budget_below_two_orders(model, bg):
    with pytest.raises(InvalidInputError, match=r"must be an int ≥ max\(d \+ 2, 2\(d − 1\)\) = 8.*Got 7"):
        explain(model, np.ones((1, 5)), "permutation", background=bg, budget=7)


def test_unknown_method_lists_valid_ones():
    with pytest.raises(InvalidInputError, match="Unknown explanation method 'levrage'.*Did you mean 'leverage'"):
        get_explainer("levrage")
    with pytest.raises(InvalidInputError, match="Valid methods:.*exact.*kernel.*leverage.*permutation"):
        get_explainer("nope")


def test_exact_with_more_than_16_features(rng):
    model = leanlens.as_model(lambda X: X.sum(1), n_features=20)
    with pytest.raises(InvalidInputError, match="limited to d ≤ 16.*d = 20.*'kernel', 'leverage' or 'permutation'"):
        explain(model, np.ones((1, 20)), "exact", background=np.zeros((1, 20)))


@pytest.mark.parametrize("method", METHODS)
def test_target_index_out_of_range(method, model, bg):
    with pytest.raises(InvalidInputError, match=r"'target' index must be in \[0, 1\).*Got 3"):
        explain(model, np.ones((1, 5)), method, background=bg, target=3)


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"max_background": 0}, "'max_background' parameter must be a positive int. Got 0"),
        ({"tol": -1.0}, "'tol' parameter must be a positive number or None. Got -1.0"),
        ({"baseline": [1.0, 2.0]}, "'baseline' parameter must be 'mean', 'median' or a finite row of 5 values. Got 2"),
        ({"baseline": "mode"}, "'baseline' parameter must be 'mean', 'median' or a row of 5 values. Got 'mode'"),
        ({"budgett": 10}, r"Unknown parameter\(s\) \['budgett'\] for the 'kernel' explainer"),
    ],
)
def test_bad_parameters(params, fragment, model, bg):
    with pytest.raises(InvalidInputError, match=fragment):
        explain(model, np.ones((1, 5)), "kernel", background=bg, **params)
