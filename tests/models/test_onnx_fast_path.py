"""OnnxModel's hot path (float32 C-contiguous rows of the exact shape) checks as much as the full path.

The fast path returns the rows unchanged after one allocation-free finiteness pass; every other
input goes through ``BaseModel.check_X``. Both must refuse the same inputs with the same messages
and give the same numbers on the same values.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from leanlens import Quantize, compress
from leanlens.errors import InvalidInputError
from leanlens.models import onnx_model
from leanlens.models.onnx_model import _FINITE_CHUNK, _all_finite, onnx_from_torch


@pytest.fixture(scope="module")
def logits_model(iris_mlp, tmp_path_factory):
    """An fp32 ONNX export that returns logits (softmax in the adapter)."""
    return onnx_from_torch(iris_mlp, tmp_path_factory.mktemp("onnx") / "m", threads=1)


@pytest.fixture(scope="module")
def int8_model(mlp64, digits):
    """A static int8 graph that returns its own probabilities (the compress() hot path)."""
    return compress(mlp64, [Quantize(threads=1)], data=digits, latency_reps=0, random_state=0).model


def _rows(model, n, seed=0):
    return np.random.default_rng(seed).normal(size=(n, model.n_features)).astype(np.float32)


def _general(m, X):
    """What the general path returns for ``X``."""
    return np.asarray(m._output(m.check_X(X)), dtype=np.float64)


@pytest.mark.parametrize("which", ["logits_model", "int8_model"])
def test_fast_path_gives_the_same_numbers_as_converted_inputs(which, request):
    m = request.getfixturevalue(which)
    X = _rows(m, 37)
    fast = m.predict_proba(X)
    assert m.check_X(X) is X  # the hot path: no copy
    assert fast.dtype == np.float64 and fast.shape == (37, m.n_outputs)
    assert np.allclose(fast.sum(axis=1), 1.0, atol=1e-5)
    for other in (X.astype(np.float64), np.asfortranarray(X), np.repeat(X, 2, axis=0)[::2], X.tolist()):
        assert np.array_equal(m.predict_proba(other), fast)
    assert np.array_equal(m.predict(X), fast.argmax(axis=1))
    assert m.predict_proba(X[:0]).shape == (0, m.n_outputs)


def test_output_in_one_frame_matches_the_general_path_and_refuses_what_it_refuses(int8_model):
    m = int8_model
    assert m.session is not None  # the one-frame path needs the session made
    for n in (onnx_model.SMALL_ROWS + 1, 37, _FINITE_CHUNK // m.n_features):
        X = _rows(m, n, seed=n)
        general = _general(m, X)
        out = m.output(X)
        assert m._hot[0].__self__ is m.session._sess  # the session's compiled run, not its Python wrapper
        assert out.dtype == np.float64 and out.flags.owndata and np.array_equal(out, general)
        assert np.array_equal(m.predict_proba(X), general)
        X[n // 2, 3] = np.nan  # a NaN sends the rows through the full check, and its message
        with pytest.raises(InvalidInputError, match=rf"in 1 rows \(first: row {n // 2}, column "):
            m.predict_proba(X)
    before = m.session
    m.set_threads(1)  # a new session: the hot path is looked up again, on it
    assert m._hot is None
    X = _rows(m, 37)
    assert np.array_equal(m.output(X), _general(m, X))
    assert m.session is not before and m._hot[0].__self__ is m.session._sess
    assert np.array_equal(m.output(X), _general(m, X))


@pytest.mark.parametrize("which", ["logits_model", "int8_model"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_non_finite_values_are_refused_with_the_full_message(which, bad, where, request):
    m = request.getfixturevalue(which)
    # more rows than one finiteness chunk holds, so the bad value can sit in a later chunk
    n = _FINITE_CHUNK // m.n_features + 5
    X = _rows(m, n)
    row, col = {"first": (0, 0), "middle": (n // 2, 1), "last": (n - 1, m.n_features - 1)}[where]
    X[row, col] = bad
    name = re.escape(m.feature_names[col])
    expected = rf"'X' parameter has NaN or infinite values .*in 1 rows \(first: row {row}, column '{name}'\)"
    for call in (m.predict_proba, m.predict, m.output):
        with pytest.raises(InvalidInputError, match=expected):
            call(X)
    with pytest.raises(InvalidInputError, match=expected):  # the converting path says the same
        m.predict_proba(X.astype(np.float64))


def test_values_whose_squares_overflow_are_accepted(logits_model):
    m = logits_model
    X = _rows(m, 8)
    X[3, 2] = 3e19  # finite, but its square is not a float32: the fast check falls back to the full one
    assert not _all_finite(X.reshape(-1))
    out = m.predict_proba(X)
    assert np.array_equal(out, m.predict_proba(X.astype(np.float64)))
    assert np.isfinite(out[np.arange(8) != 3]).all()


@pytest.mark.parametrize("which", ["logits_model", "int8_model"])
def test_wrong_shapes_are_refused(which, request):
    m = request.getfixturevalue(which)
    d = m.n_features
    with pytest.raises(InvalidInputError, match=rf"has {d + 1} features per row; the model expects {d}"):
        m.predict_proba(np.zeros((4, d + 1), dtype=np.float32))
    with pytest.raises(InvalidInputError, match=rf"must be 2-D \(n_samples, {d}\); got a 1-D array of {d} values"):
        m.predict_proba(np.zeros(d, dtype=np.float32))
    with pytest.raises(InvalidInputError, match="must be a numeric array"):
        m.predict_proba([["a"] * d])


def test_recorded_fill_values_still_fill_missing_values(logits_model):
    m = onnx_model.OnnxModel(logits_model.path, task=logits_model.task, output=logits_model.output_kind,
                             threads=1, feature_names=logits_model.feature_names,
                             output_names=logits_model.output_names,
                             metadata={"impute": {"fill": {n: 0.5 for n in logits_model.feature_names}}})
    X = _rows(m, 6)
    filled = X.copy()
    X[2, 1] = filled[2, 1] = np.nan
    filled[2, 1] = 0.5
    assert np.array_equal(m.predict_proba(X), m.predict_proba(filled))


def test_all_finite_reads_every_chunk():
    x = np.zeros(3 * _FINITE_CHUNK + 7, dtype=np.float32)
    assert _all_finite(x) and _all_finite(x[:0])
    for i in (0, _FINITE_CHUNK - 1, _FINITE_CHUNK, 2 * _FINITE_CHUNK + 3, len(x) - 1):
        for bad in (np.nan, np.inf, -np.inf):
            y = x.copy()
            y[i] = bad
            assert not _all_finite(y), (i, bad)


def test_sessions_spin_a_bounded_time_and_the_thread_timing_takes_the_median_of_blocks(int8_model, monkeypatch):
    """The pool threads busy-wait SPIN_US, then sleep (not ONNX Runtime's long default, not never);
    the thread choice's figure per count is the median over its timing blocks of their fast ends."""
    monkeypatch.delenv(onnx_model.SPIN_ENV, raising=False)  # the suite runs with 0 (tests/conftest.py)
    opts = onnx_model._session(int8_model.path, 2).get_session_options()
    assert opts.get_session_config_entry("session.intra_op.allow_spinning") == "1"
    assert opts.get_session_config_entry("session.intra_op.spin_duration_us") == str(onnx_model.SPIN_US)
    assert 0 < onnx_model.SPIN_US <= 200
    monkeypatch.setenv(onnx_model.SPIN_ENV, "0")
    assert onnx_model._session(int8_model.path, 2).get_session_options().get_session_config_entry(
        "session.intra_op.allow_spinning") == "0"
    for bad in ("-1", "fast", "2000000"):
        monkeypatch.setenv(onnx_model.SPIN_ENV, bad)
        with pytest.raises(InvalidInputError, match=f"{onnx_model.SPIN_ENV} must be an int from 0 to 1000000"):
            onnx_model.spin_us()
    monkeypatch.setenv(onnx_model.SPIN_ENV, "0")
    from leanlens.models import latency

    medians = iter([0.9, 1.0, 0.5, 0.6, 0.7, 0.2, 5.0, 5.0, 0.4, 0.3])  # count 1, count 2, per block

    class T:
        def __init__(self, m):
            self.p10 = m  # the fast end decides

    class R:
        def __getitem__(self, name):
            return T(next(medians))

    calls = []
    monkeypatch.setattr(latency, "time_calls", lambda fns, **kw: calls.append(kw["warmup"]) or R())
    ms = onnx_model.time_thread_counts(int8_model.path, _rows(int8_model, 8), [1, 2], blocks=5)
    assert ms == {1: 0.7, 2: 0.6}  # medians of (0.9, 0.5, 0.7, 5.0, 0.4) and (1.0, 0.6, 0.2, 5.0, 0.3)
    assert calls == [20, 2, 2, 2, 2]  # the first block warms the fresh sessions


def test_small_calls_run_on_the_threads_chosen_on_one_row(int8_model, tmp_path):
    """With a choice of 2 threads at batch 256 and 1 on one row, calls on at most SMALL_ROWS rows
    run on a 1-thread session (made on first use), larger ones on the model's; same numbers."""
    m = onnx_model.OnnxModel(int8_model.path, task=int8_model.task, input_shape=int8_model.input_shape,
                             output=int8_model.output_kind, threads="auto", max_threads=2,
                             metadata={"onnx_threads": {"threads": 2, "max_threads": 2, "cores": 2, "batch": 256,
                                                        "small": {"threads": 1, "rows_up_to": onnx_model.SMALL_ROWS}}})
    if m._max_threads() < 2:
        pytest.skip("one core: every choice is 1 thread")
    m.metadata["onnx_threads"]["cores"] = onnx_model.os.cpu_count()
    small, big = _rows(m, onnx_model.SMALL_ROWS), _rows(m, onnx_model.SMALL_ROWS + 1)
    assert m._small is None
    assert m._session_for(len(small)).get_session_options().intra_op_num_threads == 1
    assert m._session_for(len(big)).get_session_options().intra_op_num_threads == 2
    np.testing.assert_allclose(m.predict_proba(small), int8_model.predict_proba(small), rtol=1e-6)
    np.testing.assert_allclose(m.predict_proba(big), int8_model.predict_proba(big), rtol=1e-6)
    fn = m.forward_fn(small, threads=2)
    assert fn.keep.shape[0] == len(small) and m._small is not None  # the timed call runs the small session too
    # a choice made without the small entry (older files) keeps one session for every call
    del m.metadata["onnx_threads"]["small"]
    m.set_threads(2)
    assert m._session_for(1) is m.session
