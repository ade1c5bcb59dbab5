"""Small trained models for the compression tests (session-scoped: trained once)."""

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
def mlp64(digits: leanlens.Dataset) -> leanlens.BaseModel:
    """digits MLP 64-64-64-10 without dropout (≈ 0.9 test accuracy)."""
    cfg = leanlens.TrainConfig(hidden=(64, 64), epochs=6, dropout=0.0, lr=3e-3, random_state=0)
    with one_thread():
        return leanlens.train(digits, cfg)


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
