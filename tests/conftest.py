"""Shared fixtures: small data sets and tiny trained models (session-scoped: trained once)."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


def pytest_configure(config):
    # Tests train tiny models: one torch thread is faster than two (no OpenMP hand-offs), and
    # it keeps the suite's time steady when the two cores are shared. Tests never time anything.
    import torch

    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def iris():
    import leanlens

    return leanlens.datasets.load("iris", random_state=0)


@pytest.fixture(scope="session")
def digits():
    import leanlens

    return leanlens.datasets.load("digits", random_state=0)


@pytest.fixture(scope="session")
def iris_mlp(iris):
    import leanlens

    return leanlens.train(iris, leanlens.TrainConfig(hidden=(16,), epochs=20, lr=1e-2, random_state=0))


@pytest.fixture(scope="session")
def digits_mlp_small(digits):
    import leanlens

    return leanlens.train(digits, leanlens.TrainConfig(hidden=(64,), epochs=5, random_state=0))


@pytest.fixture()
def rng():
    return np.random.default_rng(0)
