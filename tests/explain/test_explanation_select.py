"""One rule for the explained output: ``resolve_targets`` picks it, ``Explanation.select`` takes it."""

from __future__ import annotations

import numpy as np
import pytest

import leanlens
from leanlens.errors import InvalidInputError
from leanlens.explain import Explanation, resolve_targets


def _multi() -> Explanation:
    v = np.arange(2 * 3 * 2, dtype=float).reshape(2, 3, 2)
    return Explanation(values=v, base_values=np.array([[0.1, 0.9], [0.2, 0.8]]), data=np.zeros((2, 3)),
                       feature_names=("a", "b", "c"), output_names=("no", "yes"), method="m",
                       stderr=v / 10)


def test_select_takes_each_rows_output():
    e = _multi().select(np.array([1, 0]))
    assert e.values.tolist() == [[1.0, 3.0, 5.0], [6.0, 8.0, 10.0]]
    assert e.base_values.tolist() == [0.9, 0.2] and e.targets.tolist() == [1, 0]
    assert np.allclose(e.stderr, [[0.1, 0.3, 0.5], [0.6, 0.8, 1.0]])
    assert e.output_names == ("no", "yes")  # like explain(target=...): every output name kept
    assert e.select(np.array([0, 0])) is e  # one output per row already


def test_output_is_select_of_one_index():
    e = _multi()
    assert np.array_equal(e.output("yes").values, e.select(np.array([1, 1])).values)


@pytest.mark.parametrize("bad", [np.array([0]), np.array([0, 2]), np.array([0.0, 1.0]), np.array([-1, 0])])
def test_select_refuses_wrong_targets(bad):
    with pytest.raises(InvalidInputError, match="'targets'"):
        _multi().select(bad)


def test_predicted_is_the_argmax_of_the_output_as_predict():
    w = np.array([[1.0, -1.0], [-1.0, 1.0]])
    f = leanlens.as_model(lambda X: np.exp(X @ w) / np.exp(X @ w).sum(axis=1, keepdims=True), n_features=2,
                          task="multiclass")
    X = np.array([[2.0, 0.0], [0.0, 2.0], [1.0, 0.5]])
    t = resolve_targets(f, X, "predicted")
    assert t.tolist() == [0, 1, 0] and np.array_equal(t, f.predict(X))
    assert resolve_targets(f, X, 1).tolist() == [1, 1, 1] and resolve_targets(f, X, None) is None
