"""Dynamic int8 quantization through ONNX Runtime: fidelity (SQNR), file, refusals."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import leanlens
from leanlens.compress import Prune, Quantize, compress
from leanlens.errors import UnsupportedModelError
from leanlens.models.onnx_model import OnnxModel


def sqnr_db(ref: np.ndarray, approx: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(ref**2) / np.sum((ref - approx) ** 2)))


def test_int8_logits_stay_within_20_db_of_fp32(mlp64, digits):
    res = compress(mlp64, [Quantize()], data=digits, latency_reps=0)
    q = res.model
    assert isinstance(q, OnnxModel)
    ref = mlp64.logits(digits.X_test)
    got = q.session.run(None, {q.input_name: digits.X_test})[0]
    assert sqnr_db(ref, got) >= 20.0
    assert res.record.final.agreement >= 0.95
    # int8 weights: the file is well under half the fp32 one
    assert res.record.final.file_bytes < 0.5 * res.record.original.file_bytes
    assert res.record.final.macs == res.record.original.macs


def test_int8_cnn_with_convolutions_quantized(small_cnn, images):
    res = compress(small_cnn, [Quantize(ops=("MatMul", "Gemm", "Conv"))], data=images, latency_reps=0)
    ref = small_cnn.logits(images.X_test)
    got = res.model.session.run(None, {res.model.input_name: images.X_test})[0]
    assert sqnr_db(ref, got) >= 20.0


def test_int8_classifier_graph_returns_its_own_probabilities(mlp64, digits):
    from leanlens.compress.quantize import append_softmax

    for mode in ("static", "dynamic"):
        q = compress(mlp64, [Quantize(mode=mode)], data=digits, latency_reps=0, random_state=0).model
        assert q.output_kind == "probabilities"
        logits, probs = q.session.run(None, {q.input_name: digits.X_test})  # logits stay the first output
        z = logits.astype(np.float64)
        soft = np.exp(z - z.max(axis=1, keepdims=True))
        np.testing.assert_allclose(probs, soft / soft.sum(axis=1, keepdims=True), atol=1e-6)
        np.testing.assert_array_equal(q.output(digits.X_test), probs.astype(np.float64))
        np.testing.assert_array_equal(q.predict(digits.X_test), logits.argmax(axis=1))
        assert append_softmax(q.path) is False  # two outputs now: never a second softmax


def test_one_logit_graph_gets_no_softmax(tmp_path):
    from leanlens.compress.quantize import append_softmax
    from leanlens.models.onnx_model import export_onnx

    net = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 1))
    model = leanlens.as_model(net, n_features=4, task="binary", output="logits")
    path = export_onnx(model, tmp_path / "one.onnx")
    before = path.read_bytes()
    assert append_softmax(path) is False
    assert path.read_bytes() == before


def test_quantized_model_is_a_model_that_saves_and_loads(mlp64, digits, tmp_path):
    res = compress(mlp64, [Prune(amount=0.5, scope="layer"), Quantize()], data=digits, latency_reps=0)
    res.save(tmp_path / "out")
    again = leanlens.load_model(tmp_path / "out" / "model")
    assert again.kind == "onnx"
    np.testing.assert_allclose(again.output(digits.X_test), res.model.output(digits.X_test), atol=1e-6)
    on_disk = sum(f.stat().st_size for f in (tmp_path / "out" / "model").iterdir())
    assert res.record.final.file_bytes == on_disk
    assert again.metadata["compression"][0]["prune"]["amount"] == 0.5


def test_quantizing_an_onnx_model_and_refusing_a_second_pass(mlp64, digits, tmp_path):
    from leanlens.models.onnx_model import export_onnx

    path = export_onnx(mlp64, tmp_path / "m.onnx")
    onnx_model = OnnxModel(path, task="multiclass", output="logits")
    res = compress(onnx_model, [Quantize()], data=digits, latency_reps=0)
    assert res.record.final.agreement >= 0.95
    with pytest.raises(UnsupportedModelError, match="already quantized"):
        compress(res.model, [Quantize()], data=digits, latency_reps=0)


def test_export_failure_names_the_operator(digits):
    class Svd(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = nn.Linear(64, 10)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.lin(x) + torch.linalg.svdvals(x.reshape(-1, 8, 8)).sum(1, keepdim=True)

    model = leanlens.as_model(Svd(), input_shape=(64,))
    with pytest.raises(UnsupportedModelError, match=r"exports the model to ONNX.*'aten::linalg_svdvals'"):
        compress(model, [Quantize()], data=digits, latency_reps=0)


def test_nothing_to_quantize_names_the_graph_operators(small_cnn, images):
    with pytest.raises(UnsupportedModelError, match=r"asked for the operators Conv; this model has none.*Gemm"):
        # a CNN with its convolutions removed from the request: ask only for Conv on an MLP instead
        compress(leanlens.as_model(nn.Sequential(nn.Flatten(), nn.Linear(64, 10)), input_shape=(1, 8, 8)),
                 [Quantize(ops=("Conv",))], data=images, latency_reps=0)


def test_quantizing_a_callable_suggests_distillation(digits):
    model = leanlens.as_model(lambda X: np.tile(X[:, :10], 1), n_features=64, output_names=tuple("0123456789"),
                              output="probabilities")
    with pytest.raises(UnsupportedModelError, match="'quantize' step needs a torch or ONNX model.*'distill'"):
        compress(model, [Quantize()], data=digits, latency_reps=0)


# --- static int8 (calibrated QDQ) ---------------------------------------------------------

def test_static_is_the_default_and_convolutions_stay_fp32_unless_asked():
    # measured faster on the MLPs at 1 and 2 threads (benchmarks/compression_int8.py, quiet 2026-12-04)
    assert Quantize().mode == "static"
    assert Quantize().operators == ("MatMul", "Gemm") == Quantize(mode="dynamic").operators
    assert Quantize(ops=("MatMul", "Gemm", "Conv")).operators == ("MatMul", "Gemm", "Conv")


def test_default_quantize_on_a_cnn_keeps_its_convolutions_fp32(small_cnn, images):
    import onnx

    res = compress(small_cnn, [Quantize()], data=images, latency_reps=0, random_state=0)
    ops = {n.op_type for n in onnx.load(str(res.model.path)).graph.node}
    assert ops & {"Conv", "FusedConv"} and "QLinearConv" not in ops  # fp32 (ORT fuses Conv + Relu)
    assert "DynamicQuantizeLinear" not in ops  # static: nothing requantized at run time
    ref = small_cnn.logits(images.X_test)
    got = res.model.session.run(None, {res.model.input_name: images.X_test})[0]
    assert sqnr_db(ref, got) >= 20.0


def test_static_fuses_into_integer_kernels(mlp64, digits):
    import onnx

    res = compress(mlp64, [Quantize(mode="static")], data=digits, latency_reps=0, random_state=0)
    ops = {n.op_type for n in onnx.load(str(res.model.path)).graph.node}
    assert "QGemm" in ops  # optimized once and saved: no QDQ pairs left to fuse at load time
    assert not ops & {"DynamicQuantizeLinear", "Add", "Sub", "Div"}  # no run-time requantization, no output tail
    # the input mean is folded into the first layer's bias: one Mul by 1/scale is all that precedes int8
    assert [n.op_type for n in onnx.load(str(res.model.path)).graph.node][:2] == ["Mul", "QuantizeLinear"]
    # Relu stays int8, so the integer kernels chain (no fp32 round trip between layers), and the
    # logits leave the last kernel in fp32: nothing is dequantized anywhere.
    assert "DequantizeLinear" not in ops and "Relu" not in ops
    ref = mlp64.logits(digits.X_test)
    got = res.model.session.run(None, {res.model.input_name: digits.X_test})[0]
    assert sqnr_db(ref, got) >= 20.0
    assert len(np.unique(got)) > got.size // 2  # 8-bit logits would take at most 256 values
    assert res.record.final.agreement >= 0.95


def test_dynamic_mode_is_kept(mlp64, digits):
    import onnx

    res = compress(mlp64, [Quantize(mode="dynamic")], data=digits, latency_reps=0)
    ops = {n.op_type for n in onnx.load(str(res.model.path)).graph.node}
    assert "DynamicQuantizeLinear" in ops
    assert res.record.final.agreement >= 0.95


def test_static_quantizes_convolutions_when_asked(small_cnn, images):
    import onnx

    res = compress(small_cnn, [Quantize(mode="static", ops=("MatMul", "Gemm", "Conv"))], data=images,
                   latency_reps=0, random_state=0)
    ops = {n.op_type for n in onnx.load(str(res.model.path)).graph.node}
    assert "QLinearConv" in ops
    ref = small_cnn.logits(images.X_test)
    got = res.model.session.run(None, {res.model.input_name: images.X_test})[0]
    assert sqnr_db(ref, got) >= 15.0


def test_regression_output_affine_is_folded_exactly(tmp_path):
    from leanlens.compress.quantize import export_ready

    ds = leanlens.datasets.load("diabetes", random_state=0)
    m = leanlens.train(ds, leanlens.TrainConfig(hidden=(16,), epochs=2, random_state=0))
    folded = export_ready(m)
    np.testing.assert_allclose(folded.output(ds.X_test), m.output(ds.X_test), rtol=1e-4, atol=1e-3)
    one_layer = leanlens.train(ds, leanlens.TrainConfig(hidden=(), epochs=2, random_state=0))  # first = last layer
    np.testing.assert_allclose(export_ready(one_layer).output(ds.X_test), one_layer.output(ds.X_test),
                               rtol=1e-4, atol=1e-3)


def test_input_mean_folds_into_the_first_layer_exactly(mlp64, digits, small_cnn, images):
    from leanlens.compress.quantize import export_ready

    before = mlp64.logits(digits.X_test[:5])
    folded = export_ready(mlp64)
    np.testing.assert_allclose(folded.logits(digits.X_test), mlp64.logits(digits.X_test), rtol=1e-4, atol=1e-4)
    def first_bias(m):
        return next(layer for layer in m.module.body if isinstance(layer, nn.Linear)).bias

    assert not torch.equal(first_bias(folded), first_bias(mlp64))  # the copy's bias moved
    np.testing.assert_allclose(mlp64.logits(digits.X_test[:5]), before, rtol=0, atol=0)  # the original did not
    cnn = export_ready(small_cnn)  # a convolution first: zero padding does not commute with the mean
    np.testing.assert_allclose(cnn.logits(images.X_test), small_cnn.logits(images.X_test), rtol=1e-4, atol=1e-4)


def test_explicit_calibration_rows_and_their_errors(mlp64, digits):
    from leanlens.errors import ConfigError, InvalidInputError

    res = compress(mlp64, [Quantize(mode="static", calibration_rows=digits.X_train[:64])], data=digits, latency_reps=0)
    assert res.record.final.agreement >= 0.9
    bad = digits.X_train[:8].copy()
    bad[3, 5] = np.nan
    with pytest.raises(InvalidInputError, match=r"calibration_rows.*NaN.*row 3"):
        Quantize(calibration_rows=bad)
    with pytest.raises(InvalidInputError, match=r"calibration_rows.*10 features per row; the model takes 64"):
        compress(mlp64, [Quantize(mode="static", calibration_rows=digits.X_train[:8, :10])], data=digits, latency_reps=0)
    with pytest.raises(ConfigError, match="calibration_rows"):
        Quantize(calibration_rows=0)
    q = Quantize(calibration_rows=digits.X_train[:2])
    assert Quantize.from_dict(q.to_dict()).to_dict() == q.to_dict()
    assert Quantize.from_dict(q.to_dict()).calibration_rows == q.calibration_rows


# --- no temporary folder is left behind (issue 10 item 15) ---------------------------------

def _leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("leanlens-compress-"))


def test_no_temp_folder_after_success_or_interrupt(mlp64, digits, tmp_path, monkeypatch):
    import gc
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    res = compress(mlp64, [Quantize(mode="static")], data=digits, latency_reps=0)
    assert len(_leftovers(tmp_path)) == 1  # the live model's file
    res.save(tmp_path / "saved")
    del res
    gc.collect()
    assert _leftovers(tmp_path) == []

    import onnxruntime.quantization as oq

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(oq, "quantize_static", interrupted)
    with pytest.raises(KeyboardInterrupt):
        compress(mlp64, [Quantize(mode="static")], data=digits, latency_reps=0)
    gc.collect()
    assert _leftovers(tmp_path) == []
    assert leanlens.load_model(tmp_path / "saved" / "model").kind == "onnx"


@pytest.mark.slow
def test_no_temp_folder_after_the_process_exits(iris_mlp, tmp_path):
    import os
    import subprocess
    import sys

    # the model is trained here and loaded there: a child that trains pays torch's optimizer
    # import (torch._dynamo, ~2 s of CPU) for a claim about the compress step's temp folder
    model_dir = iris_mlp.save(tmp_path / "model")
    work = tmp_path / "tmp"
    work.mkdir()
    code = (
        "import sys, leanlens as lc\n"
        "ds = lc.datasets.load('iris', random_state=0)\n"
        "m = lc.load_model(sys.argv[1])\n"
        "res = lc.compress(m, [lc.Quantize()], data=ds, latency_reps=0)\n"
        "import pathlib, tempfile\n"
        "assert any(p.name.startswith('leanlens-compress-') for p in pathlib.Path(tempfile.gettempdir()).iterdir())\n"
    )
    env = {**os.environ, "TMPDIR": str(work)}
    done = subprocess.run([sys.executable, "-c", code, str(model_dir)], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert _leftovers(work) == []


def test_thread_rule_keeps_the_fewest_threads_within_ten_percent_of_the_fastest():
    from leanlens.errors import InvalidInputError
    from leanlens.models.onnx_model import choose_threads

    assert choose_threads({1: 0.40, 2: 0.54}) == 1  # the int8 digits MLP at batch 256: hand-off costs more
    assert choose_threads({1: 2.43, 2: 1.74}) == 2  # a convolution network: the split pays
    assert choose_threads({1: 1.00, 2: 0.95}) == 1  # 5 % is not worth a second core
    assert choose_threads({1: 1.00, 2: 0.80, 4: 0.78}) == 2
    with pytest.raises(InvalidInputError, match="at least one"):
        choose_threads({})


@pytest.mark.parametrize(("timings", "made", "expect", "threads"), [
    # more threads faster at once: one timing
    ([{1: 1.00, 2: 0.70}], 1, {1: 1.00, 2: 0.70}, 2),
    # a slow spell hid the gain: timed again, each count keeps its fastest time
    ([{1: 1.00, 2: 1.05}, {1: 1.10, 2: 0.75}], 2, {1: 1.00, 2: 0.75}, 2),
    # fewer threads win every time: three timings, then the rule keeps them
    ([{1: 0.40, 2: 0.54}, {1: 0.42, 2: 0.50}, {1: 0.39, 2: 0.58}], 3, {1: 0.39, 2: 0.50}, 1),
])
def test_thread_choice_times_again_while_fewer_threads_win(monkeypatch, timings, made, expect, threads):
    from leanlens.models import onnx_model

    calls = iter(timings)
    monkeypatch.setattr(onnx_model, "time_thread_counts", lambda path, X, counts: next(calls))
    ms, n = onnx_model._time_choice("unused.onnx", np.zeros((256, 4), np.float32), [1, 2])
    assert (ms, n) == (expect, made)
    assert onnx_model.choose_threads(ms) == threads
    assert next(calls, None) is None  # no timing left unread, none made beyond the list


def test_int8_model_chooses_its_threads_once_and_a_reload_keeps_the_choice(mlp64, digits, tmp_path, monkeypatch):
    from leanlens.models import onnx_model

    timed: list[list[int]] = []
    real = onnx_model.time_thread_counts

    shapes: list[tuple[int, ...]] = []

    def spy(path, X, counts, **kw):
        timed.append(list(counts))
        shapes.append(X.shape)
        return real(path, X, counts, **kw)

    monkeypatch.setattr(onnx_model, "time_thread_counts", spy)
    monkeypatch.setattr(onnx_model.os, "cpu_count", lambda: 2)
    res = compress(mlp64, [Quantize()], data=digits, latency_reps=0, threads=2, random_state=0)
    q = res.model
    choice = q.metadata["onnx_threads"]
    # a batch of the size the model will serve (timed again while fewer threads win), then one row
    assert 1 <= choice["timings"] <= onnx_model.CHOICE_TIMINGS
    assert timed == [[1, 2]] * (choice["timings"] + 1)
    assert shapes == [(256, 64)] * choice["timings"] + [(1, 64)]
    assert choice["small"]["rows_up_to"] == onnx_model.SMALL_ROWS and set(choice["small"]["ms"]) == {"1", "2"}
    assert choice["small"]["threads"] == onnx_model.choose_threads(
        {int(k): v for k, v in choice["small"]["ms"].items()})
    assert q.threads == "auto" and choice["max_threads"] == 2 and choice["batch"] == 256
    assert set(choice["ms"]) == {"1", "2"}
    assert q.threads_ == onnx_model.choose_threads({int(k): v for k, v in choice["ms"].items()})
    assert q.session.get_session_options().intra_op_num_threads == q.threads_
    assert any("intra-op threads" in n for n in res.record.steps[-1].notes)

    q.save(tmp_path / "q")

    def no_timing(*a, **k):
        raise AssertionError("a reload re-timed the threads")

    monkeypatch.setattr(onnx_model, "time_thread_counts", no_timing)
    back = leanlens.load_model(tmp_path / "q")
    assert back.threads == "auto" and back.threads_ == q.threads_
    np.testing.assert_array_equal(back.predict(digits.X_test), q.predict(digits.X_test))
    # a ceiling below the choice gets a session of its own; the user's override wins
    made: list[int | None] = []
    real_session = onnx_model._session
    monkeypatch.setattr(onnx_model, "_session", lambda path, n: made.append(n) or real_session(path, n))
    two = leanlens.load_model(tmp_path / "q")
    two.metadata["onnx_threads"]["threads"] = 2  # as if 2 threads had won, before any session exists
    # (32 rows: above SMALL_ROWS, so the batch choice applies; small calls are tested in tests/models)
    two.forward_fn(digits.X_test[:32], threads=2)()
    two.forward_fn(digits.X_test[:32], threads=1)()
    assert made == [2, 1]  # the model's own 2-thread session, then one of 1 thread for the lower ceiling
    back.set_threads(1)
    assert back.session.get_session_options().intra_op_num_threads == 1
    # other hardware (more cores): the cached choice does not apply, the model times again
    monkeypatch.setattr(onnx_model, "time_thread_counts", spy)
    monkeypatch.setattr(onnx_model.os, "cpu_count", lambda: 4)
    again = leanlens.load_model(tmp_path / "q")
    assert again.threads_ in (1, 2) and timed[-1] == [1, 2]  # still at most the 2 it was made for


def test_fixed_threads_are_not_timed(mlp64, digits, monkeypatch):
    from leanlens.errors import InvalidInputError
    from leanlens.models import onnx_model

    def no_timing(*a, **k):
        raise AssertionError("timed although the threads were fixed")

    monkeypatch.setattr(onnx_model, "time_thread_counts", no_timing)
    q = compress(mlp64, [Quantize(threads=2)], data=digits, latency_reps=0, threads=1).model
    assert q.threads == 2 and "onnx_threads" not in q.metadata
    one = compress(mlp64, [Quantize()], data=digits, latency_reps=0, threads=1).model
    assert one.threads_ == 1 and one.metadata["onnx_threads"]["ms"] == {"1": None}  # one thread allowed: no timing
    for bad in ("two", 0, True):
        with pytest.raises(InvalidInputError, match="'threads' parameter of OnnxModel"):
            OnnxModel(q.path, threads=bad)
    with pytest.raises(InvalidInputError, match="'max_threads'"):
        OnnxModel(q.path, max_threads="auto")
