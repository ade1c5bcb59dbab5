"""Input×Gradient (Shrikumar et al., 2016) through Captum."""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from ..base import register_explainer
from .base import GradientCall, GradientExplainer, OutputModule

__all__ = ["InputXGradient"]


@register_explainer
class InputXGradient(GradientExplainer):
    """Input×Gradient (Shrikumar et al., 2016): x · ∂f/∂x. Additive only for linear models;
    ``base_values`` is f(0)."""

    name: ClassVar[str] = "input_x_gradient"
    summary: ClassVar[str] = "Input×Gradient (Shrikumar et al. 2016), Captum; torch models; not additive."
    additive: ClassVar[bool] = False
    param_constraints: ClassVar = {}

    def _baseline_kind(self) -> str:
        return "zeros"

    def _attribute(self, call: GradientCall, x: torch.Tensor, b: torch.Tensor, target: Any
                   ) -> tuple[torch.Tensor, torch.Tensor | None]:
        from captum.attr import InputXGradient as CaptumIxG

        return CaptumIxG(OutputModule(call.model)).attribute(x, target=target), None
