"""``leanlens.compare``: decision drift, explanation drift, noise floor and the same-reasons verdict."""

from .config import CompareConfig
from .core import compare
from .drift import bootstrap, decision_drift, explanation_distance, surrogate_drift
from .report import DriftReport

__all__ = [
    "CompareConfig",
    "DriftReport",
    "bootstrap",
    "compare",
    "decision_drift",
    "explanation_distance",
    "surrogate_drift",
]
