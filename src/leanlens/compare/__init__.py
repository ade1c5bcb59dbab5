"""``leanlens.compare``: is a compressed model no farther from the original than the original's twins?"""

from .config import CompareConfig
from .core import compare, default_explainers
from .drift import bootstrap, decision_drift, explanation_distance, surrogate_drift
from .report import DriftReport
from .twins import Twins, make_twins

__all__ = [
    "CompareConfig",
    "DriftReport",
    "Twins",
    "bootstrap",
    "compare",
    "decision_drift",
    "default_explainers",
    "explanation_distance",
    "make_twins",
    "surrogate_drift",
]
