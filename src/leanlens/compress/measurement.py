"""Measuring one model for the compression record: parameters, bytes on disk, MACs, latency, score, agreement."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import UnsupportedModelError
from .record import Measurement

if TYPE_CHECKING:
    from ..data.dataset import Dataset
    from ..models.base import BaseModel

__all__ = ["file_bytes", "latency_rows", "measure", "timed_against"]

BATCHES = (1, 256)


def file_bytes(model: BaseModel) -> int | None:
    """``model.saved_bytes()``, or None for a model with no file form (a callable)."""
    try:
        return model.saved_bytes()
    except UnsupportedModelError:
        return None


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
    from ..models.evaluation import score

    notes = [] if notes is None else notes
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
    sparsity, sparse_bytes = model.weight_sparsity() or (None, None)
    return Measurement(
        kind=model.kind, parameters=model.n_parameters(), nonzero_parameters=model.n_parameters(nonzero=True),
        file_bytes=file_bytes(model), macs=model.macs() if macs is None else macs, latency_ms=latency,
        speedup=speedup, metrics=metrics, agreement=agreement, sparsity=sparsity, sparse_bytes=sparse_bytes,
    )
