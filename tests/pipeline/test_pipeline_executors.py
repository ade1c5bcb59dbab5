"""Executors share one interface (submit, wait, map) and explain_rows chunks and seeds the same
on every backend: a stochastic explainer gives identical numbers wherever the chunks run."""

from __future__ import annotations

import numpy as np
import pytest

from leanlens.errors import InvalidInputError
from leanlens.explain import explain
from leanlens.pipeline.distributed import explain_rows
from leanlens.pipeline.executors import Executor, LocalExecutor


class _ShuffledRemote(Executor):
    """Runs tasks as a remote backend would appear to: arguments packed, finishing out of order."""

    name = "shuffled"
    remote = True

    def __init__(self) -> None:
        self.submitted = 0

    @property
    def workers(self) -> int:
        return 4

    def submit(self, fn, item):
        import pickle

        self.submitted += 1
        return [fn(pickle.loads(pickle.dumps(item)))]  # a fresh list: a unique handle

    def wait(self, handles):
        last = handles[-1]  # the last submitted finishes first
        return last, last[0]


def _rows(iris):
    return iris.X_test[:23], iris.X_train[:8]


def test_map_keeps_input_order_whatever_finishes_first():
    ex = _ShuffledRemote()
    assert ex.map(lambda x: x * x, [1, 2, 3, 4]) == [1, 4, 9, 16] and ex.submitted == 4
    assert LocalExecutor().map(lambda x: x + 1, [1, 2]) == [2, 3]


def test_local_errors_surface_at_wait_like_remote_ones():
    ex = LocalExecutor()
    h = ex.submit(lambda x: 1 / x, 0)
    with pytest.raises(ZeroDivisionError):
        ex.wait([h])


def test_stochastic_explainer_gives_identical_numbers_on_every_backend(iris_mlp, iris):
    X, bg = _rows(iris)
    kw = dict(background=bg, target=None, budget=24, random_state=7, chunk_rows=10)
    local = explain_rows(iris_mlp, X, "kernel", executor=LocalExecutor(), **kw)
    other = explain_rows(iris_mlp, X, "kernel", executor=_ShuffledRemote(), **kw)
    assert local.params["chunks"] == other.params["chunks"] == 3
    np.testing.assert_array_equal(local.values, other.values)
    np.testing.assert_array_equal(local.base_values, other.base_values)
    # the seeds are really per chunk: chunk j is explain(rows of j, random_state=7 + j)
    second = explain(iris_mlp, X[10:20], method="kernel", background=bg, budget=24, random_state=8)
    np.testing.assert_array_equal(local.values[10:20], second.values)
    # one chunk is the plain call
    whole = explain_rows(iris_mlp, X, "kernel", **{**kw, "chunk_rows": 100})
    np.testing.assert_array_equal(whole.values, explain(iris_mlp, X, method="kernel", background=bg, budget=24,
                                                        random_state=7).values)


def test_explain_rows_refuses_no_rows_and_bad_chunks(iris_mlp, iris):
    X, bg = _rows(iris)
    with pytest.raises(InvalidInputError, match="'X'"):
        explain_rows(iris_mlp, X[:0], "kernel", background=bg)
    with pytest.raises(InvalidInputError, match="'chunk_rows'"):
        explain_rows(iris_mlp, X, "kernel", background=bg, chunk_rows=True)
