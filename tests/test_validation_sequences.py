"""'metrics' of evaluate() and 'explainers' of compare() refuse non-str values with a leanlens error."""

from __future__ import annotations

import numpy as np
import pytest

import leanlens
from leanlens.errors import InvalidInputError


@pytest.fixture(scope="module")
def linear_case():
    m = leanlens.as_model(lambda X: X @ np.array([1.0, 2.0, 0.0]), n_features=3)
    X = np.ones((2, 3))
    return m, X, leanlens.explain(m, X, method="exact", background=np.zeros((1, 3)))


@pytest.mark.parametrize("bad", [5, None, {"completeness"}])
def test_evaluate_metrics_must_be_names(linear_case, bad):
    m, X, e = linear_case
    with pytest.raises(InvalidInputError, match=r"The 'metrics' parameter must be .*Got"):
        leanlens.evaluate(m, X, e, metrics=bad, background=np.zeros((1, 3)))


def test_evaluate_metrics_list_items_must_be_names(linear_case):
    m, X, e = linear_case
    with pytest.raises(InvalidInputError, match="The 'metrics' parameter must hold metric names"):
        leanlens.evaluate(m, X, e, metrics=["completeness", 5], background=np.zeros((1, 3)))


@pytest.mark.parametrize("bad", [5, ["kernel", 5], object()])
def test_compare_explainers_must_be_str_or_list_of_str(iris_mlp, iris, bad):
    with pytest.raises(InvalidInputError, match=r"The 'explainers' parameter of compare\(\) must be a str or a list of str"):
        leanlens.compare(iris_mlp, iris_mlp, iris, explainers=bad)
