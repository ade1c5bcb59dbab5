"""random_state is checked at every entry point and fails with a leanlens error naming it."""

from __future__ import annotations

import numpy as np
import pytest

import leanlens
from leanlens._validation import check_random_state
from leanlens.errors import ConfigError, InvalidInputError

BAD = ["a", -1, 1.5, True, 2**32, [0]]


@pytest.mark.parametrize("good", [None, 0, 7, np.int64(3), np.uint32(2**32 - 1)])
def test_check_random_state_accepts_none_and_non_negative_ints(good):
    got = check_random_state(good)
    assert got is None if good is None else (type(got) is int and got == int(good))


@pytest.mark.parametrize("bad", BAD)
def test_check_random_state_refuses(bad):
    with pytest.raises(InvalidInputError, match=r"The 'random_state' parameter of f\(\) must be None or an int"):
        check_random_state(bad, owner="f()")


def test_check_random_state_names_the_given_value_and_param():
    with pytest.raises(InvalidInputError, match=r"'seed'.*Got 'a' \(str\) instead"):
        check_random_state("a", param="seed")
    with pytest.raises(ConfigError, match="Got -1 instead"):
        check_random_state(-1, error=ConfigError)


@pytest.fixture(scope="module")
def linear():
    return leanlens.as_model(lambda X: X @ np.array([1.0, 2.0, 0.0]), n_features=3)


@pytest.mark.parametrize("bad", ["a", -1])
def test_explain(linear, bad):
    with pytest.raises(InvalidInputError, match="'random_state' parameter of KernelShap"):
        leanlens.explain(linear, np.ones((1, 3)), method="kernel", background=np.zeros((2, 3)), random_state=bad)


@pytest.mark.parametrize("bad", ["a", -1])
def test_compress(iris_mlp, iris, bad):
    with pytest.raises(InvalidInputError, match=r"'random_state' parameter of compress\(\)"):
        leanlens.compress(iris_mlp, [leanlens.Quantize()], data=iris, random_state=bad, latency_reps=0)


@pytest.mark.parametrize("bad", ["a", -1])
def test_compare(iris_mlp, iris, bad):
    with pytest.raises(InvalidInputError, match=r"'random_state' parameter of compare\(\)"):
        leanlens.compare(iris_mlp, iris_mlp, iris, random_state=bad)


@pytest.mark.parametrize("bad", ["a", -1])
def test_evaluate(linear, bad):
    X = np.ones((2, 3))
    e = leanlens.explain(linear, X, method="exact", background=np.zeros((1, 3)))
    with pytest.raises(InvalidInputError, match=r"'random_state' parameter of evaluate\(\)"):
        leanlens.evaluate(linear, X, e, ["completeness"], background=np.zeros((1, 3)), random_state=bad)


@pytest.mark.parametrize("bad", ["a", -1])
def test_datasets(bad):
    with pytest.raises(InvalidInputError, match=r"'random_state' parameter of datasets.load\(\)"):
        leanlens.datasets.load("iris", random_state=bad)
    with pytest.raises(InvalidInputError, match=r"'random_state' parameter of datasets.load\(\)"):
        leanlens.datasets.load("synthetic", random_state=bad)
    with pytest.raises(InvalidInputError, match=r"'random_state' parameter of synthetic\(\)"):
        leanlens.datasets.synthetic("additive", random_state=bad)
    with pytest.raises(InvalidInputError, match=r"'random_state' parameter of from_numpy\(\)"):
        leanlens.datasets.from_numpy(np.zeros((20, 2)), np.arange(20) % 2, random_state=bad)


@pytest.mark.parametrize("bad", ["a", -1])
def test_train_config(bad):
    with pytest.raises(ConfigError, match="'random_state' parameter of TrainConfig"):
        leanlens.TrainConfig(random_state=bad).validate()
