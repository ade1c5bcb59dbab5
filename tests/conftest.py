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


def pytest_collection_modifyitems(config, items):
    """Arrange the run for pytest-xdist (``-n 2 --dist loadgroup`` in pyproject's addopts).

    - One test file goes to one worker, as in a serial run: its module fixtures are built once, and
      a file that starts a shared resource (Ray, a browser) never shares it across processes. A test
      may name a wider group with ``@pytest.mark.xdist_group("name")`` (all Ray users are one group).
    - Files holding slow tests run first, so the two workers finish together instead of one
      starting a long test at the end while the other idles. The order inside a file is kept.
    Without xdist the markers are inert and only the order changes.
    """
    slow_files = {item.path for item in items if item.get_closest_marker("slow") is not None}
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(item.path.relative_to(config.rootpath).as_posix()))
    items.sort(key=lambda item: item.path not in slow_files)


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
