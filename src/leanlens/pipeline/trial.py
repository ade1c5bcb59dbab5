"""One sweep trial: compress the original with one plan and measure the three objectives.
Runs in this process or in a Ray worker (everything it needs travels in the task dict)."""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np

from ..errors import LeanlensError
from .result import LATENCY_BATCH, headline_score

__all__ = ["OBJECTIVES", "evaluate_trial"]

#: what a trial measures, in the order of the study's objectives
OBJECTIVES = ("accuracy", "latency_ms", "agreement")

_DATASETS: dict[str, Any] = {}


def evaluate_trial(task: dict[str, Any]) -> dict[str, Any]:
    """Compress the original with one plan and measure the three objectives."""
    from ..compress import compress
    from ..explain import explain
    from ..metrics.agreement import agreement
    from ..models.evaluation import score
    from ..models.latency import interleaved
    from .distributed import unpack_model
    from .stages import load_dataset

    start = time.perf_counter()
    try:
        from .config import DataSpec

        key = json.dumps([task["data"], task["seed"]], sort_keys=True)
        if key not in _DATASETS:  # once per worker process, not once per trial
            _DATASETS.clear()
            _DATASETS[key] = load_dataset(DataSpec.model_validate(task["data"]), seed=task["seed"])
        ds = _DATASETS[key]
        original = unpack_model(task["model"])
        res = compress(original, task["plan"], data=ds, random_state=task["seed"], latency_reps=0,
                       threads=task["threads"])
        model = res.model
        scores = score(model, ds.X_test, ds.y_test, prefix="test_")
        lat = interleaved({"m": model}, np.resize(ds.X_test, (LATENCY_BATCH, *ds.X_test.shape[1:])), threads=None,
                          reps=1000, min_reps=20, max_seconds=1.0, warn=False)["m"]
        expl = explain(model, task["X"], method=task["method"], background=task["background"], target=None,
                       budget=task["budget"], random_state=task["seed"], **task["params"])
        phi = expl.select(task["targets"]).values
        agr = agreement(task["phi_original"], phi, k=task["k"])["mean"]["feature_agreement"]
        return {"accuracy": headline_score(scores), "latency_ms": lat.median,
                "agreement": float(agr), "size_bytes": res.record.final.file_bytes,
                "seconds": time.perf_counter() - start, "error": None}
    except LeanlensError as exc:  # an invalid combination of values: the trial fails, the sweep goes on
        return {"error": f"{type(exc).__name__}: {exc}", "seconds": time.perf_counter() - start}
