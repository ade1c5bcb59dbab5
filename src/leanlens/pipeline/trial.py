"""One sweep trial: compress the original with one plan and measure the three objectives.
Runs in this process or in a Ray worker (everything it needs travels in the task dict).

The trial's explanation agreement is ``compare()``'s, computed exactly as ``run`` computes it
for a plan (:func:`~leanlens.pipeline.stages.compare_models` on the same rows, background,
seeds, twins and CompareConfig, reusing explanations made the same way), so a plan reads the
same top-k explanation agreement in a run and in a sweep.
"""

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
    """Compress the original with one plan and measure the three objectives (and compare()'s
    decision agreement, twin reference and verdict)."""
    from ..compress import compress
    from ..models.evaluation import score
    from ..models.latency import interleaved
    from .distributed import explain_rows, unpack_model
    from .stages import compare_models, load_dataset

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
        timing = task["latency"]  # the pipeline's LatencySpec, as a dict
        lat = interleaved({"trial's model": model}, np.resize(ds.X_test, (LATENCY_BATCH, *ds.X_test.shape[1:])), threads=None,
                          reps=max(1000, timing["min_rounds"]), min_reps=timing["min_rounds"],
                          max_seconds=timing["trial_max_seconds"], attempts=timing["attempts"],
                          warn=False)["trial's model"]
        method = task["method"]
        # the explain stage of a run: all outputs, chunked and seeded per chunk as the run does
        expl = explain_rows(model, task["X"], method, background=task["background"], target=None,
                            budget=task["budget"], random_state=task["seed"], params=task["params"],
                            chunk_rows=task["chunk_rows"], stage=f"explain ({method}) of the trial")
        rows = task["rows"]
        drift = compare_models(original, model, ds, [method], config=task["compare_config"], seed=task["seed"],
                               twins=task["twins"], cache_dir=task["cache_dir"], rows=rows,
                               background=task["background"] if rows is not None else None,
                               explanations={"original": {method: task["expl_original"]},
                                             "compressed": {method: expl}},
                               name="the trial's model")
        own, reference = drift.top_k_agreement(method)
        e = drift.explainers[method]
        return {"accuracy": headline_score(scores), "latency_ms": lat.median,
                "agreement": float(own), "agreement_reference": reference, "k": int(e["k"]),
                "reference": drift.twins.get("source"), "decision_agreement": float(drift.decision["agreement"]),
                "verdict": drift.verdict, "sentence": drift.sentence, "drift": drift.to_dict(), "size_bytes": res.record.final.file_bytes,
                "seconds": time.perf_counter() - start, "error": None}
    except LeanlensError as exc:  # an invalid combination of values: the trial fails, the sweep goes on
        return {"error": f"{type(exc).__name__}: {exc}", "seconds": time.perf_counter() - start}

