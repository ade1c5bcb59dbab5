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
