"""The one latency module: interleaved rounds, counts, clocks, unreliability and adapters' forward_fn."""

from __future__ import annotations

import time

import numpy as np
import pytest

import leanlens
from leanlens.errors import InvalidInputError
from leanlens.models import latency


def test_counts_clock_and_time_limit():
    calls = {"a": 0, "b": 0}

    def bump(k):
        def f():
            calls[k] += 1
        return f

    res = latency.time_calls({"a": bump("a"), "b": bump("b")}, warmup=2, reps=7, clock="cpu", attempts=1, warn=False)
    assert res["a"].reps == res["b"].reps == 7 and calls == {"a": 9, "b": 9}
    assert res["a"].p10 <= res["a"].median <= res["a"].p95
    res = latency.time_calls({"a": bump("a")}, reps=1000, min_reps=4, max_seconds=0.0, attempts=1, warn=False)
    assert res["a"].reps == 4  # once max_seconds has passed it stops after min_reps rounds
    with pytest.raises(InvalidInputError, match="'clock' parameter must be 'wall' or 'cpu'"):
        latency.time_calls({"a": bump("a")}, clock="gpu")


def test_each_round_calls_every_model_once_in_a_varying_order():
    seen: list[str] = []
    fns = {k: (lambda k=k: seen.append(k)) for k in "abcd"}
    latency.time_calls(fns, warmup=0, reps=40, attempts=1, warn=False)
    rounds = [seen[i:i + 4] for i in range(0, len(seen), 4)]
    assert len(rounds) == 40 and all(sorted(r) == list("abcd") for r in rounds)
    # a fixed order (even with a rotated start) leaves each model behind one neighbour almost always
    before = {k: {seen[i - 1] for i in range(1, len(seen)) if seen[i] == k} for k in "abcd"}
    assert all(v >= set("abcd") - {k} for k, v in before.items())
    latency.time_calls(fns, warmup=0, reps=40, attempts=1, warn=False)
    assert seen[160:] == seen[:160]  # seeded: the same orders every run


def test_settle_calls_the_same_model_untimed_right_before_each_timed_call():
    seen: list[str] = []
    clock = {"t": 0.0}

    def make(k):
        def f():
            seen.append(k)
            clock["t"] += 1.0 if len(seen) > 1 and seen[-2] != k else 0.001  # slow after a neighbour
        return f

    fns = {k: make(k) for k in "abc"}
    real = latency.time.perf_counter
    latency.time.perf_counter = lambda: clock["t"]
    try:
        res = latency.time_calls(fns, warmup=0, reps=20, attempts=1, warn=False, settle=2, dispersion_limit=1e9)
        seen.clear()
        plain = latency.time_calls(fns, warmup=0, reps=20, attempts=1, warn=False, dispersion_limit=1e9)
    finally:
        latency.time.perf_counter = real
    # every timed call followed its own model: none paid the neighbour's cost (1 ms each, in ms)
    assert all(res[k].median == pytest.approx(1.0) and res[k].p95 == pytest.approx(1.0) for k in "abc")
    assert len(seen) == 3 * 20 and max(plain[k].p95 for k in "abc") == pytest.approx(1000.0)  # without: some did
    for bad in (-1, 1.5, True, "1"):
        with pytest.raises(InvalidInputError, match="'settle' parameter must be an int ≥ 0"):
            latency.time_calls(fns, settle=bad)


def test_scattered_times_are_flagged_repeated_and_warned():
    n = {"i": 0}

    def jumpy():  # every 4th call sleeps 20 ms, the others return at once: p95/median in the thousands
        n["i"] += 1
        if n["i"] % 4 == 0:
            time.sleep(0.02)

    with pytest.warns(UserWarning, match=r"unreliable after 3 attempt\(s\): p95/median"):
        res = latency.time_calls({"jumpy": jumpy}, warmup=0, reps=40, attempts=3)
    assert res.unreliable and res.attempts == 3 and "p95/median" in res.reason


def test_steady_times_are_trusted_when_the_machine_is_not_overloaded(monkeypatch):
    monkeypatch.setattr(latency, "_load", lambda: 0.0)
    res = latency.time_calls({"sleep": lambda: time.sleep(0.001)}, warmup=1, reps=20, attempts=2,
                             dispersion_limit=10.0)
    assert not res.unreliable and res.attempts == 1 and res.reason == ""
    monkeypatch.setattr(latency, "_load", lambda: 1000.0)
    with pytest.warns(UserWarning, match="load average 1000.0 >"):
        res = latency.time_calls({"sleep": lambda: time.sleep(0.001)}, warmup=1, reps=5, attempts=2,
                                 dispersion_limit=10.0)
    assert res.unreliable and res.attempts == 2


def test_onnx_output_is_the_softmax_of_its_logits_and_predict_their_argmax(digits, tmp_path):
    from leanlens.models.onnx_model import OnnxModel, export_onnx

    torch_model = leanlens.train(digits, leanlens.TrainConfig(hidden=(8,), epochs=1, random_state=0))
    onnx_model = OnnxModel(export_onnx(torch_model, tmp_path / "m.onnx"), task="multiclass", output="logits")
    X = digits.X_test[:40]
    for rows in (X, X.astype(np.float32), X.astype(np.float32).tolist()):
        out = onnx_model.output(rows)
        assert out.dtype == np.float64 and out.shape == (40, 10)
        np.testing.assert_allclose(out, torch_model.output(X), atol=1e-6)
        np.testing.assert_array_equal(onnx_model.predict(rows), torch_model.logits(X).argmax(axis=1))
    X32 = np.ascontiguousarray(X, dtype=np.float32)
    assert np.shares_memory(onnx_model.check_X(X32), X32)  # float32 C-contiguous rows are not copied
    bad = X32.copy()
    bad[3, 7] = np.inf
    with pytest.raises(InvalidInputError, match="row 3"):
        onnx_model.predict(bad)
    assert onnx_model.predict(X32[:0]).shape == (0,)


def test_forward_fn_of_every_adapter_runs_the_raw_forward(digits, tmp_path):
    from sklearn.linear_model import LogisticRegression

    from leanlens.models.onnx_model import OnnxModel, export_onnx

    torch_model = leanlens.train(digits, leanlens.TrainConfig(hidden=(8,), epochs=1, random_state=0))
    onnx_model = OnnxModel(export_onnx(torch_model, tmp_path / "m.onnx"), task="multiclass", output="logits")
    sk = leanlens.as_model(LogisticRegression(max_iter=50).fit(digits.X_train, digits.y_train))
    X = digits.X_test[:32]
    logits = torch_model.forward_fn(X)().numpy()
    np.testing.assert_allclose(logits, torch_model.logits(X), rtol=1e-5, atol=1e-5)
    onnx_model.forward_fn(X, threads=1)()  # a session of its own with one thread
    assert callable(sk.forward_fn(X))
    res = latency.interleaved({"torch": torch_model, "onnx": onnx_model, "sklearn": sk}, X, threads=1, reps=5,
                              attempts=1, warn=False)
    assert set(res.timings) == {"torch", "onnx", "sklearn"}
    assert res.speedup("torch", "onnx") == pytest.approx(res["torch"].median / res["onnx"].median)
    with pytest.raises(InvalidInputError, match="features per row"):
        torch_model.forward_fn(X[:, :5])
