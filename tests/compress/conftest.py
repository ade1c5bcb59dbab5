"""Small trained models for the compression tests (session-scoped: trained once; ``mlp64`` is in
tests/conftest.py, the Ray tests use it too)."""

from __future__ import annotations

import contextlib

import pytest

import leanlens


@contextlib.contextmanager
def one_thread():
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(old)


@pytest.fixture(scope="session")
def images() -> leanlens.Dataset:
    return leanlens.datasets.load("digits-images", random_state=0)


@pytest.fixture(scope="session")
def small_cnn(images: leanlens.Dataset) -> leanlens.BaseModel:
    cfg = leanlens.TrainConfig(arch="cnn", channels=(4, 8), hidden=(16,), epochs=1, dropout=0.0, random_state=0)
    with one_thread():
        return leanlens.train(images, cfg)


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Train single-threaded in these tests: on a loaded 2-core machine two OpenMP threads
    can be many times slower than one. Restored after each test."""
    with one_thread():
        yield
