"""Issue 10, item 4: declared sizes are checked before anything is allocated; no ONNX graph runs at load."""

from __future__ import annotations

import numpy as np
import pytest

import leanlens
from leanlens.errors import LeanlensError, ModelFormatError
from leanlens.testing import hostile

from .conftest import json_lines, run_capped

TORCH_CASES = [n for n in hostile.CASES if n.startswith(("torch_", "safetensors_"))]
ONNX_CASES = [n for n in hostile.CASES if n.startswith("onnx_")]


@pytest.mark.parametrize("name", TORCH_CASES)
def test_crafted_torch_folders_are_refused_before_building(name, tmp_path, monkeypatch):
    import leanlens.models.torch_model as tm

    built = []
    monkeypatch.setattr(tm, "layers_to_module", lambda *a, **k: built.append(1))  # must never be reached
    with pytest.raises(ModelFormatError) as info:
        leanlens.load_model(hostile.CASES[name](tmp_path).path)
    assert not built
    assert len(str(info.value)) < 1000


def test_declared_huge_layer_names_the_cap_and_how_to_raise_it(tmp_path):
    with pytest.raises(ModelFormatError, match="declares 900,090,014 parameters") as info:
        leanlens.load_model(hostile.torch_declared_huge_layer(tmp_path).path)
    assert "LEANLENS_MAX_MODEL_PARAMETERS" in str(info.value)


def test_parameter_cap_can_be_raised(tmp_path, monkeypatch):
    case = hostile.torch_clean(tmp_path)
    monkeypatch.setenv("LEANLENS_MAX_MODEL_PARAMETERS", "5")
    with pytest.raises(ModelFormatError, match="declares 22 parameters"):
        leanlens.load_model(case.path)
    monkeypatch.setenv("LEANLENS_MAX_MODEL_PARAMETERS", "22")
    assert leanlens.load_model(case.path).n_features == 4


def test_clean_torch_control_loads(tmp_path):
    m = leanlens.load_model(hostile.torch_clean(tmp_path).path)
    assert m.output(np.zeros((2, 4))).shape == (2, 2)


def test_nested_sequential_is_refused_on_save_not_with_recursion(tmp_path):
    from torch import nn

    from leanlens.errors import UnsupportedModelError
    from leanlens.models.architectures import module_to_layers

    body: nn.Module = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
    for _ in range(3000):
        body = nn.Sequential(body)
    with pytest.raises(UnsupportedModelError, match="nests Sequentials deeper"):
        module_to_layers(body)


@pytest.mark.parametrize("name", ONNX_CASES)
def test_crafted_onnx_files_are_refused_without_running(name, tmp_path, monkeypatch):
    import leanlens.models.onnx_model as om

    sessions = []
    monkeypatch.setattr(om, "_session", lambda *a, **k: sessions.append(1))  # the graph must never be run
    with pytest.raises(LeanlensError) as info:
        leanlens.load_model(hostile.CASES[name](tmp_path).path)
    assert not sessions
    assert len(str(info.value)) < 1000


def test_onnx_load_reads_shapes_statically_and_runs_lazily(tmp_path):
    m = leanlens.load_model(hostile.onnx_clean(tmp_path).path)
    assert m._session is None  # loading created no session
    assert (m.task, m.input_shape, m.output_kind) == ("multiclass", (4,), "probabilities")
    out = m.output(np.ones((2, 4)))
    np.testing.assert_allclose(out, np.full((2, 3), 1 / 3), atol=1e-6)


def test_control_flow_needs_the_opt_in(tmp_path):
    import onnx
    from onnx import numpy_helper

    case = hostile.onnx_loop_hang(tmp_path)
    model = onnx.load(str(case.path))
    trip = next(t for t in model.graph.initializer if t.name == "trip")
    trip.CopyFrom(numpy_helper.from_array(np.array(3, dtype=np.int64), "trip"))  # a loop that ends
    path = tmp_path / "loop3.onnx"
    onnx.save(model, str(path))
    with pytest.raises(ModelFormatError, match="allow_control_flow=True"):
        leanlens.load_model(path)
    m = leanlens.load_model(path, allow_control_flow=True)
    z = np.array([1.0, 2.0])  # the loop passes x through; two outputs read as a binary classifier's logits
    np.testing.assert_allclose(m.output(z[None]), [np.exp(z) / np.exp(z).sum()], atol=1e-6)


def test_exported_torch_model_round_trips_through_static_loading(iris_mlp, tmp_path):
    from leanlens.models.onnx_model import onnx_from_torch

    m = onnx_from_torch(iris_mlp, tmp_path / "o")
    loaded = leanlens.load_model(tmp_path / "o" / "model.onnx")
    assert loaded.output_kind == "logits" and loaded.n_outputs == 3
    X = np.random.default_rng(0).normal(size=(4, 4)).astype(np.float32)
    np.testing.assert_allclose(loaded.output(X), m.output(X), atol=1e-5)


@pytest.mark.slow
def test_declared_size_bombs_are_refused_with_bounded_memory_and_time(tmp_path):
    """Every model-file case of the corpus, in one process capped at 1.5 GB of address space."""
    names = TORCH_CASES + ONNX_CASES
    cases = [hostile.CASES[n](tmp_path) for n in names]
    body = """
import leanlens
for path in sys.argv[1:]:
    t = time.perf_counter()
    try:
        leanlens.load_model(path)
        print(json.dumps({"path": path, "outcome": "loaded"}), flush=True)
    except leanlens.LeanlensError as exc:
        print(json.dumps({"path": path, "outcome": "refused", "s": time.perf_counter() - t}), flush=True)
"""
    proc = run_capped(body, timeout=300, args=[str(c.path) for c in cases])
    assert proc.returncode == 0, proc.stderr[-1000:]
    results = json_lines(proc.stdout)
    assert [r["outcome"] for r in results] == ["refused"] * len(cases)
