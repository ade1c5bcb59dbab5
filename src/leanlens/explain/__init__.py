"""Explainers: Shapley estimators, LIME, gradients (Captum), TreeSHAP, global views, plots."""

from .base import EXPLAINERS, Explainer, explain, get_explainer, register_explainer
from .explanation import Explanation

__all__ = ["EXPLAINERS", "Explainer", "Explanation", "explain", "get_explainer", "register_explainer"]
