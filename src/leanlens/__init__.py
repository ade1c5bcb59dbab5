"""leanlens: make models smaller and faster, and show whether they still decide for the same reasons.

The public API is flat: ``leanlens.train``, ``leanlens.as_model``, ``leanlens.load_model``,
``leanlens.datasets.load`` … Heavy libraries (torch, ray, optuna) load on first use.
"""

from __future__ import annotations

from . import data as datasets
from ._version import __version__
from .compare import CompareConfig, DriftReport, compare
from .compress import (
    CompressionRecord,
    CompressionResult,
    Distill,
    Finetune,
    LowRank,
    Prune,
    Quantize,
    compress,
)
from .data import Dataset
from .errors import (
    ConfigError,
    DataError,
    InvalidInputError,
    LeanlensError,
    ModelFormatError,
    OutputError,
    OutputExistsError,
    UnsupportedModelError,
)
from .explain import Explanation
from .explain.entry import explain_entry as explain  # callable, and the explain package
from .metrics import MetricResult, evaluate
from .models import BaseModel, Model, TrainConfig, as_model, load_model, train
from .models.evaluation import score

__all__ = [
    "BaseModel",
    "CompareConfig",
    "CompressionRecord",
    "CompressionResult",
    "ConfigError",
    "DataError",
    "Dataset",
    "Distill",
    "DriftReport",
    "Explanation",
    "Finetune",
    "InvalidInputError",
    "LeanlensError",
    "LowRank",
    "MetricResult",
    "Model",
    "ModelFormatError",
    "OutputError",
    "OutputExistsError",
    "Prune",
    "Quantize",
    "TrainConfig",
    "UnsupportedModelError",
    "__version__",
    "as_model",
    "compare",
    "compress",
    "datasets",
    "evaluate",
    "explain",
    "load_model",
    "score",
    "train",
]

# End-to-end runs load pydantic/jinja2 on first use, so ``import leanlens`` stays fast. ``run`` and
# ``sweep`` are the pipeline with its report (leanlens.workflow); the types come from the pipeline.
_LAZY = {"PipelineConfig": "pipeline", "RunResult": "pipeline", "run": "workflow", "sweep": "workflow"}
__all__ += list(_LAZY)


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'leanlens' has no attribute {name!r}")
