"""The global surrogate tree: fidelity on held-out rows, split features, text rules."""

from __future__ import annotations

import json

import numpy as np
import pytest

import leanlens
from leanlens.errors import InvalidInputError, NotFittedError
from leanlens.explain.surrogate import SurrogateTree


@pytest.fixture(scope="module")
def threshold_model():
    """A classifier deciding on x2 > -1 only (the median of x2 in gaussian_rows)."""
    return leanlens.as_model(
        lambda X: np.stack([X[:, 2] <= -1.0, X[:, 2] > -1.0], axis=1).astype(float),
        n_features=4, task="binary", output_names=("no", "yes"),
    )


def test_surrogate_finds_the_one_split(threshold_model, gaussian_rows):
    s = SurrogateTree(threshold_model, max_depth=2, random_state=0).fit(gaussian_rows)
    assert s.split_features_ == ["x2"]
    assert s.fidelity_ >= 0.97 and s.n_test_ == 75
    rules = s.export_text()
    assert "x2 <=" in rules and "class: yes" in rules
    d = s.to_dict()
    assert d["fidelity_metric"] == "accuracy" and d["split_features"] == ["x2"]
    json.dumps(d)
    agree = (s.predict(gaussian_rows) == threshold_model.predict(gaussian_rows)).mean()
    assert agree >= 0.97


def test_surrogate_regression_reports_r2(linear_callable, gaussian_rows):
    s = SurrogateTree(linear_callable, max_depth=4, random_state=0).fit(gaussian_rows)
    assert s.to_dict()["fidelity_metric"] == "r2"
    assert 0.5 < s.fidelity_ <= 1.0
    assert "x3" not in s.split_features_  # weight 0: never worth a split
    assert s.class_names() is None


def test_surrogate_is_seeded(iris_mlp, iris):
    a = SurrogateTree(iris_mlp, random_state=0).fit(iris.X_train)
    b = SurrogateTree(iris_mlp, random_state=0).fit(iris.X_train)
    assert a.export_text() == b.export_text() and a.fidelity_ == b.fidelity_


def test_surrogate_deeper_is_at_least_as_faithful_on_training_rows(iris_mlp, iris):
    fid = [SurrogateTree(iris_mlp, max_depth=d, random_state=0).fit(iris.X_train).train_fidelity_ for d in (1, 2, 4)]
    assert fid[0] <= fid[1] <= fid[2]


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"max_depth": 0}, "'max_depth' parameter of SurrogateTree"),
        ({"min_samples_leaf": 0}, "'min_samples_leaf' parameter"),
        ({"test_size": 1.5}, "'test_size' parameter"),
    ],
)
def test_surrogate_bad_parameters(threshold_model, gaussian_rows, kwargs, fragment):
    with pytest.raises(InvalidInputError) as exc:
        SurrogateTree(threshold_model, **kwargs).fit(gaussian_rows)
    assert fragment in str(exc.value)


def test_surrogate_bad_input(threshold_model, gaussian_rows):
    with pytest.raises(NotFittedError, match="call fit"):
        SurrogateTree(threshold_model).export_text()
    with pytest.raises(InvalidInputError, match="at least 10 rows"):
        SurrogateTree(threshold_model).fit(gaussian_rows[:5])
    with pytest.raises(InvalidInputError, match="has 2 features per row"):
        SurrogateTree(threshold_model).fit(gaussian_rows[:, :2])
