"""Explainers: Shapley estimators, LIME, gradients (Captum), TreeSHAP, global views, plots."""

from .base import EXPLAINERS, Explainer, explain, get_explainer, register_explainer, resolve_targets
from .explanation import Explanation
from .shapley import ExactShapley, KernelShap, LeverageShap, PermutationShap

__all__ = [
    "EXPLAINERS",
    "ExactShapley",
    "Explainer",
    "Explanation",
    "KernelShap",
    "LeverageShap",
    "PermutationShap",
    "explain",
    "get_explainer",
    "register_explainer",
    "resolve_targets",
]
