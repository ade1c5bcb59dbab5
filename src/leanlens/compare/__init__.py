"""``leanlens.compare``: is a compressed model no farther from the original than the original's twins?"""

from ..compress.judge import register_judge
from .config import CompareConfig
from .core import compare, default_explainers
from .drift import bootstrap, decision_drift, explanation_distance, surrogate_drift
from .report import DriftReport
from .twins import Twins, make_twins

# compress's auto search asks compare() for its verdict; compress sits below compare, so compare
# registers itself there instead of compress importing upwards.
register_judge(compare, config=CompareConfig)

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
