"""Measuring one model for the compression record: parameters, bytes on disk, MACs, latency, score, agreement."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .record import Measurement

if TYPE_CHECKING:
    from ..data.dataset import Dataset
    from ..models.base import BaseModel

__all__ = ["count_macs", "count_parameters", "latency_rows", "measure", "saved_bytes", "timed_against"]

BATCHES = (1, 256)


def count_macs(model: BaseModel) -> int | None:
    """Multiply-accumulates per input row of the Linear and Conv2d layers of a torch model."""
    from ..models.torch_model import TorchModel

    if not isinstance(model, TorchModel):
        return None
    import torch
    from torch import nn

    total = 0

    def hook(mod: nn.Module, inp: Any, out: torch.Tensor) -> None:
        nonlocal total
        if isinstance(mod, nn.Linear):
            total += mod.in_features * mod.out_features * int(out.numel() // out.shape[-1])
        elif isinstance(mod, nn.Conv2d):
            k = mod.kernel_size[0] * mod.kernel_size[1] * (mod.in_channels // mod.groups)
            total += k * int(out.numel())

    handles = [m.register_forward_hook(hook) for m in model.module.modules() if isinstance(m, nn.Linear | nn.Conv2d)]
    try:
        with torch.inference_mode():
            model.module.eval()(torch.zeros((1, *model.input_shape)))
    finally:
        for h in handles:
            h.remove()
    return total


def _weight_tensors(model: BaseModel) -> list[Any]:
    from torch import nn

    mods = [m for m in model.module.modules() if isinstance(m, nn.Linear | nn.Conv2d)]  # type: ignore[attr-defined]
    return [m.weight.detach() for m in mods]


def count_parameters(model: BaseModel) -> tuple[int | None, int | None]:
    """``(parameters, non-zero parameters)`` of any backend (None when it has no notion of them)."""
    from ..models.onnx_model import OnnxModel
    from ..models.sklearn_model import SklearnModel
    from ..models.torch_model import TorchModel

    if isinstance(model, TorchModel):
        params = list(model.module.parameters())
        return sum(p.numel() for p in params), sum(int((p != 0).sum()) for p in params)
    if isinstance(model, OnnxModel):
        import onnx
        from onnx import numpy_helper

        graph = onnx.load(str(model.path)).graph
        arrays = [numpy_helper.to_array(t) for t in graph.initializer]
        big = [a for a in arrays if a.size > 1]  # scales and zero points are not parameters
        return sum(a.size for a in big), sum(int(np.count_nonzero(a)) for a in big)
    if isinstance(model, SklearnModel):
        est = model.estimator
        trees = getattr(est, "estimators_", None)
        ests = list(np.ravel(trees)) if trees is not None else [est]
        if all(hasattr(e, "tree_") for e in ests):
            n = sum(int(e.tree_.node_count) for e in ests)
            return n, n
        coef = getattr(est, "coef_", None)
        if coef is not None:
            c = np.asarray(coef)
            return c.size, int(np.count_nonzero(c))
    return None, None


def sparsity_facts(model: BaseModel) -> tuple[float | None, int | None]:
    """``(sparsity of the Linear/Conv weights, CSR storage bytes)`` for torch models."""
    from ..models.torch_model import TorchModel

    if not isinstance(model, TorchModel):
        return None, None
    weights = _weight_tensors(model)
    n = sum(w.numel() for w in weights)
    nz = sum(int((w != 0).sum()) for w in weights)
    weight_ids = {id(p) for m in model.module.modules() for p in [getattr(m, "weight", None)] if p is not None}
    dense_rest = sum(p.numel() * p.element_size() for p in model.module.state_dict(keep_vars=True).values()
                     if id(p) not in weight_ids)
    # CSR of the weight viewed as (out, rest): float32 values + int32 column indices + int32 row pointers.
    csr = sum(int((w != 0).sum()) * 8 + (w.shape[0] + 1) * 4 for w in weights)
    return (1.0 - nz / n if n else 0.0), int(csr + dense_rest)


def saved_bytes(model: BaseModel) -> int | None:
    """Bytes of everything ``model.save()`` writes, measured on disk.

    A torch module leanlens cannot save as a model folder is measured as its safetensors
    weights file; a model with no file form at all (a callable) gives None.
    """
    from ..errors import UnsupportedModelError
    from ..models.torch_model import TorchModel

    with tempfile.TemporaryDirectory(prefix="leanlens-size-") as tmp:
        folder = Path(tmp) / "m"
        try:
            model.save(folder)
        except UnsupportedModelError:  # BaseModel.save refuses kinds with no file form
            if not isinstance(model, TorchModel):
                return None
            from safetensors.torch import save_file

            folder.mkdir()
            state = {k: v.detach().contiguous().clone() for k, v in model.module.state_dict().items()}
            save_file(state, str(folder / "model.safetensors"))
        return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def latency_rows(data: Dataset, batch: int) -> np.ndarray:
    """``batch`` test rows (repeated if the test split is smaller)."""
    X = data.X_test
    reps = -(-batch // len(X))
    return np.ascontiguousarray(np.concatenate([X] * reps)[:batch], dtype=np.float32)


def timed_against(model: BaseModel, original: BaseModel, X: np.ndarray, *, reps: int, threads: int,
                  max_seconds: float | None = 2.0) -> tuple[dict[str, float], float, str]:
    """``(latency of model, speed-up, unreliability note)`` from ONE interleaved timing of both.

    The latency dict holds this model's median/p95/p10 and the original's median/p95 *of the
    same rounds*, so the printed times and the speed-up cannot disagree.
    """
    from ..models.latency import interleaved

    pair = {"model": model} if model is original else {"model": model, "original": original}
    res = interleaved(pair, X, threads=threads, reps=reps, min_reps=min(30, reps), max_seconds=max_seconds,
                      warn=False)
    mine, orig = res["model"], res["original" if "original" in pair else "model"]
    lat = {**mine.to_dict(), "original_median": orig.median, "original_p95": orig.p95,
           "unreliable": float(res.unreliable), "load_average": res.load_average}
    return lat, orig.median / mine.median, res.reason


def measure(model: BaseModel, original: BaseModel, data: Dataset, *, reps: int, threads: int,
            macs: int | None = None, notes: list[str] | None = None) -> Measurement:
    """Measure ``model`` (latency interleaved with ``original``; ``reps=0`` skips latency).

    Unreliable timings (see :mod:`leanlens.models.latency`) are described in ``notes``.
    """
    notes = [] if notes is None else notes
    from ..evaluation import score

    params, nonzero = count_parameters(model)
    sparsity, sparse_bytes = sparsity_facts(model)
    latency: dict[str, dict[str, float]] = {}
    speedup: dict[str, float] = {}
    if reps > 0:
        for b in BATCHES:
            latency[str(b)], speedup[str(b)], note = timed_against(model, original, latency_rows(data, b),
                                                                  reps=reps, threads=threads)
            if note:
                notes.append(note)
    X, y = data.X_test, data.y_test
    metrics = score(model, X, y, prefix="test_")
    if model.task == "regression":
        from sklearn.metrics import r2_score

        agreement = float(r2_score(original.predict(X), model.predict(X)))
    else:
        agreement = float(np.mean(original.predict(X) == model.predict(X)))
    return Measurement(
        kind=model.kind, parameters=params, nonzero_parameters=nonzero, file_bytes=saved_bytes(model),
        macs=count_macs(model) if macs is None else macs, latency_ms=latency, speedup=speedup, metrics=metrics,
        agreement=agreement, sparsity=sparsity, sparse_bytes=sparse_bytes,
    )
