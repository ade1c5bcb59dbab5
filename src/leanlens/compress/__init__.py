"""Compression: ``compress(model, plan, *, data)`` with one registered handler per step config.

Steps: :class:`Prune` (unstructured / structured), :class:`Finetune`, :class:`Quantize`
(static or dynamic int8 through ONNX Runtime), :class:`Distill` (any teacher → MLP or tree student),
:class:`LowRank` (SVD factorization). Each step is measured into a :class:`CompressionRecord`.
"""

from .api import CompressionResult, StepContext, compress, load_model_or_compressed
from .plan import (
    Distill,
    Finetune,
    LowRank,
    Prune,
    Quantize,
    StepConfig,
    parse_plan,
    plan_to_list,
    register_step,
)
from .record import CompressionRecord, Measurement, StepRecord

__all__ = [
    "CompressionRecord",
    "CompressionResult",
    "Distill",
    "Finetune",
    "LowRank",
    "Measurement",
    "Prune",
    "Quantize",
    "StepConfig",
    "StepContext",
    "StepRecord",
    "compress",
    "load_model_or_compressed",
    "parse_plan",
    "plan_to_list",
    "register_step",
]
