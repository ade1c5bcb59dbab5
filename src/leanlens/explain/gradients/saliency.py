"""Saliency (Simonyan, Vedaldi & Zisserman, 2014) through Captum."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch

from ..._validation import InstanceOf
from ..base import register_explainer
from .base import GradientCall, GradientExplainer, OutputModule

__all__ = ["Saliency"]


@register_explainer
class Saliency(GradientExplainer):
    """Saliency (Simonyan et al., 2014): |∂f/∂x| at the row (``abs=False``: the signed gradient).
    Not additive; ``base_values`` is 0."""

    name: ClassVar[str] = "saliency"
    summary: ClassVar[str] = "Saliency (Simonyan et al. 2014): absolute gradient, Captum; torch models; not additive."
    additive: ClassVar[bool] = False
    param_constraints: ClassVar = {"abs": InstanceOf(bool)}

    def _baseline_kind(self) -> str:
        return "zeros"

    def _base_values(self, call: GradientCall, base_rows: np.ndarray) -> np.ndarray:
        return np.zeros((len(base_rows), call.model.n_outputs))

    def _record(self) -> dict[str, Any]:
        return {"abs": bool(self.params.get("abs", True))}

    def _attribute(self, call: GradientCall, x: torch.Tensor, b: torch.Tensor, target: Any
                   ) -> tuple[torch.Tensor, torch.Tensor | None]:
        from captum.attr import Saliency as CaptumSaliency

        return CaptumSaliency(OutputModule(call.model)).attribute(x, target=target, abs=bool(self.params.get("abs", True))), None
