"""Measuring one model for the compression record: parameters, bytes on disk, MACs, latency, score, agreement."""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .record import Measurement

if TYPE_CHECKING:
    from ..data.dataset import Dataset
    from ..models.base import BaseModel

__all__ = ["count_macs", "count_parameters", "latency_rows", "measure", "paired_latency", "saved_bytes"]

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


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def runner(model: BaseModel, X: np.ndarray, threads: int | None = None) -> Callable[[], Any]:
    """A zero-argument call of the model's raw forward pass on ``X`` (no softmax, no checks).

    ``threads`` fixes ONNX Runtime's intra-op threads for the call (a session of its own when
    the model's session was built with another count), as torch_threads() does for torch.
    """
    from ..models.onnx_model import OnnxModel
    from ..models.torch_model import TorchModel

    if isinstance(model, TorchModel):
        import torch

        module = model.module.eval()
        xt = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))

        def run_torch() -> Any:
            with torch.inference_mode():
                return module(xt)

        return run_torch
    if isinstance(model, OnnxModel):
        from ..models.onnx_model import _session

        sess, name = model.session, model.input_name
        if threads is not None and model.threads != threads:
            sess = _session(model.path, threads)
        feed = {name: np.ascontiguousarray(X, dtype=np.float32)}
        return lambda: sess.run(None, feed)
    return lambda: model.output(X)


def paired_latency(models: list[BaseModel], X: np.ndarray, *, reps: int = 200, warmup: int = 5,
                   threads: int = 2, clock: str = "wall", max_seconds: float | None = None,
                   min_reps: int = 30) -> list[dict[str, float]]:
    """Median, p95 and p10 (ms) of each model on ``X``, interleaved call by call so noise hits all alike.

    ``clock="wall"`` times elapsed time (``time.perf_counter``); ``clock="cpu"`` times the
    calling thread's CPU time (``time.thread_time``), which other processes on a shared
    machine cannot inflate — meaningful when everything runs on the calling thread
    (``threads=1``).
    """
    if clock not in ("wall", "cpu"):
        raise ValueError(f"The 'clock' parameter must be 'wall' or 'cpu'. Got {clock!r}.")
    now = time.perf_counter if clock == "wall" else time.thread_time
    fns = [runner(m, X, threads) for m in models]
    times: list[list[float]] = [[] for _ in fns]
    with torch_threads(threads):
        for _ in range(warmup):
            for fn in fns:
                fn()
        start = time.perf_counter()
        for r in range(reps):
            if max_seconds is not None and r >= min_reps and time.perf_counter() - start > max_seconds:
                break
            for i, fn in enumerate(fns):
                t0 = now()
                fn()
                times[i].append(now() - t0)
    out = []
    for t in times:
        t.sort()
        p10 = t[round(0.10 * (len(t) - 1))]
        p95 = t[min(len(t) - 1, round(0.95 * (len(t) - 1)))]
        # p10 is the time of a call the other processes on a shared machine did not interrupt.
        out.append({"median": statistics.median(t) * 1e3, "p95": p95 * 1e3, "p10": p10 * 1e3, "reps": len(t)})
    return out


def latency_rows(data: Dataset, batch: int) -> np.ndarray:
    """``batch`` test rows (repeated if the test split is smaller)."""
    X = data.X_test
    reps = -(-batch // len(X))
    return np.ascontiguousarray(np.concatenate([X] * reps)[:batch], dtype=np.float32)


def measure(model: BaseModel, original: BaseModel, data: Dataset, *, reps: int, threads: int,
            macs: int | None = None) -> Measurement:
    """Measure ``model`` (latency interleaved with ``original``; ``reps=0`` skips latency)."""
    from ..evaluation import score

    params, nonzero = count_parameters(model)
    sparsity, sparse_bytes = sparsity_facts(model)
    latency: dict[str, dict[str, float]] = {}
    speedup: dict[str, float] = {}
    if reps > 0:
        for b in BATCHES:
            X = latency_rows(data, b)
            mine, orig = paired_latency([model, original], X, reps=reps, threads=threads) if model is not original \
                else 2 * paired_latency([model], X, reps=reps, threads=threads)
            latency[str(b)] = mine
            speedup[str(b)] = orig["median"] / mine["median"]
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
