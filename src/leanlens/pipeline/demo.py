"""The bundled default pipeline of ``leanlens demo``: digits MLP, two plans, a Shapley estimator and IG."""

from __future__ import annotations

from typing import Any

from .config import PipelineConfig, parse_pipeline_config

__all__ = ["DEMO", "demo_config"]

#: digits (8×8 images as 64 features); an MLP 256-256; plan 1 prunes 50 % of the hidden
#: units (structured), fine-tunes and quantizes to int8 (ONNX Runtime); plan 2 distils into a
#: 64-unit student. Explained by exact Shapley values of 16 patches of 2×2 pixels (the
#: recommended "shapley" method: its budget covers all 2^16 coalitions, so it enumerates them,
#: against the mean background row) and Integrated Gradients, on 40 test rows. The verdict is
#: judged on the same explanations against 3 retrained twins (the demo's recipe, cached in the
#: run folder's ``twins/``): both explainers are deterministic here, so no budget is raised.
DEMO: dict[str, Any] = {
    "name": "demo",
    "seed": 0,
    # Small matrices (batch 64, widths ≤ 256): a second torch thread buys little, and on a
    # busy 2-core machine it costs several times over (benchmarks/results/pipeline.md).
    "threads": 1,
    "data": {"name": "digits"},
    "model": {"train": {"hidden": [256, 256], "epochs": 12, "dropout": 0.1}},
    "plans": [
        {"name": "pruned50-ft", "steps": [
            {"prune": {"kind": "structured", "amount": 0.5}},
            {"finetune": {"epochs": 3}},
        ]},
        {"name": "distilled-64", "steps": [{"distill": {"student": "mlp", "hidden": [64], "epochs": 15}}]},
    ],
    "explain": {
        "methods": [{"method": "shapley", "budget": 65534, "params": {"groups": "patches:2x2", "baseline": "mean"}},
                    {"method": "ig"}],
        "n_rows": 40,
        "background": 20,
    },
    "metrics": {"names": ["completeness", "deletion_auc", "sparseness"], "n_rows": 20},
    "compress": {"latency_reps": 20},
    "compare": {"twins": 3, "explainers": ["ig"], "config": {"n_bootstrap": 200}},
    "report": {"sample_rows": 2, "title": "leanlens demo — digits MLP, pruned + fine-tuned and distilled"},
}


def demo_config(**overrides: Any) -> PipelineConfig:
    """The demo pipeline, with top-level keys replaced by ``overrides``."""
    return parse_pipeline_config({**DEMO, **overrides}, source="demo")
