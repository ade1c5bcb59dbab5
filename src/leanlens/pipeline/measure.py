"""Size on disk and inference latency of a model, as the run's model table reports them."""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["folder_size", "inference_latency", "interleaved_latency"]


def folder_size(path: str | Path) -> int:
    """Bytes of every file under ``path`` (or of the file ``path``)."""
    p = Path(path)
    if p.is_file():
        return p.stat().st_size
    return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())


def inference_latency(model: Any, X: np.ndarray, *, warmup: int = 5, min_reps: int = 20,
                      min_seconds: float = 0.2, max_seconds: float = 2.0) -> dict[str, float]:
    """Median and p95 wall time (ms) of ``model.output(X)`` after ``warmup`` calls.

    Torch runs on the threads torch is set to use; the caller fixes them for comparisons.
    """
    for _ in range(warmup):
        model.output(X)
    times: list[float] = []
    start = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        model.output(X)
        times.append(time.perf_counter() - t0)
        elapsed = time.perf_counter() - start
        if (len(times) >= min_reps and elapsed >= min_seconds) or elapsed >= max_seconds:
            break
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return {"median_ms": statistics.median(times) * 1e3, "p95_ms": p95 * 1e3, "reps": float(len(times))}


def interleaved_latency(models: dict[str, Any], X: np.ndarray, *, warmup: int = 5, min_rounds: int = 20,
                        min_seconds: float = 0.5, max_seconds: float = 5.0) -> dict[str, dict[str, float]]:
    """Median and p95 wall time (ms) of ``model.output(X)`` per model, timed in interleaved
    rounds (one call of each model per round) so that load changing on a shared machine hits
    every model alike."""
    for m in models.values():
        for _ in range(warmup):
            m.output(X)
    times: dict[str, list[float]] = {name: [] for name in models}
    start = time.perf_counter()
    while True:
        for name, m in models.items():
            t0 = time.perf_counter()
            m.output(X)
            times[name].append(time.perf_counter() - t0)
        rounds = len(next(iter(times.values())))
        elapsed = time.perf_counter() - start
        if (rounds >= min_rounds and elapsed >= min_seconds) or elapsed >= max_seconds:
            break
    out = {}
    for name, ts in times.items():
        ts.sort()
        out[name] = {"median_ms": statistics.median(ts) * 1e3,
                     "p95_ms": ts[min(len(ts) - 1, round(0.95 * (len(ts) - 1)))] * 1e3, "reps": float(len(ts))}
    return out
