"""Model-agnostic Shapley values: the masking game and four estimators sharing it.

``exact`` (enumeration, d ≤ 16), ``kernel`` (KernelSHAP), ``leverage`` (Leverage SHAP) and
``permutation`` (antithetic permutation sampling). ``budget`` counts coalitions per
explained row; the model is called on coalitions × background rows, all rows batched.
"""

from __future__ import annotations

from .exact import ExactShapley
from .game import MaskingGame, summarize_background
from .kernel import KernelShap
from .leverage import LeverageShap
from .permutation import PermutationShap

__all__ = ["ExactShapley", "KernelShap", "LeverageShap", "MaskingGame", "PermutationShap", "summarize_background"]
