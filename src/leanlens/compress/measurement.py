"""Measuring one model for the compression record: parameters, bytes on disk, MACs, latency, score, agreement."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import UnsupportedModelError
from ..models.threads import torch_threads
from .record import Measurement

if TYPE_CHECKING:
    from ..data.dataset import Dataset
    from ..models.base import BaseModel

__all__ = ["file_bytes", "latency_rows", "measure", "paired_latency"]

BATCHES = (1, 256)


def file_bytes(model: BaseModel) -> int | None:
    """``model.saved_bytes()``, or None for a model with no file form (a callable)."""
    try:
        return model.saved_bytes()
    except UnsupportedModelError:
        return None


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
    from ..models.evaluation import score

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
    sparsity, sparse_bytes = model.weight_sparsity() or (None, None)
    return Measurement(
        kind=model.kind, parameters=model.n_parameters(), nonzero_parameters=model.n_parameters(nonzero=True),
        file_bytes=file_bytes(model), macs=model.macs() if macs is None else macs, latency_ms=latency,
        speedup=speedup, metrics=metrics, agreement=agreement, sparsity=sparsity, sparse_bytes=sparse_bytes,
    )
