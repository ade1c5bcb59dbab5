"""Fixtures of the explain tests: small models with known answers, trained once per session."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn


@pytest.fixture(scope="session")
def linear_weights():
    return np.array([1.5, -2.0, 0.5, 0.0])


@pytest.fixture(scope="session")
def gaussian_rows():
    """300 rows of 4 independent features with different means and spreads."""
    rng = np.random.default_rng(1)
    return (rng.normal(size=(300, 4)) * [1.0, 2.0, 0.5, 3.0] + [1.0, 0.0, -1.0, 2.0]).astype(np.float32)


@pytest.fixture(scope="session")
def linear_callable(linear_weights):
    import leanlens

    return leanlens.as_model(lambda X: X @ linear_weights + 3.0, n_features=4)


@pytest.fixture(scope="session")
def linear_torch(linear_weights):
    """A torch regression model f(x) = w·x + 3 (output 'values')."""
    import leanlens

    lin = nn.Linear(4, 1)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor(linear_weights[None], dtype=torch.float32))
        lin.bias.fill_(3.0)
    return leanlens.as_model(lin, task="regression", output="values")


@pytest.fixture(scope="session")
def iris_forest(iris):
    from sklearn.ensemble import RandomForestClassifier

    import leanlens

    est = RandomForestClassifier(n_estimators=8, max_depth=3, random_state=0).fit(iris.X_train, iris.y_train)
    return leanlens.as_model(est, feature_names=iris.feature_names, output_names=iris.target_names)


@pytest.fixture(scope="session")
def iris_tanh_mlp(iris):
    import leanlens

    return leanlens.train(iris, leanlens.TrainConfig(hidden=(16,), epochs=20, lr=1e-2, activation="tanh", random_state=0),
                          progress=False)
