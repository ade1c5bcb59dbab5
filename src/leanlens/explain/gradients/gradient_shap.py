"""GradientSHAP / expected gradients (Lundberg & Lee, NeurIPS 2017) through Captum."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch

from ..._validation import NON_NEGATIVE, POSITIVE_INT
from ..base import register_explainer
from .base import BASELINE, GradientCall, GradientExplainer, OutputModule

__all__ = ["GradientShap"]


@register_explainer
class GradientShap(GradientExplainer):
    """GradientSHAP (Lundberg & Lee, NeurIPS 2017; expected gradients): IG from baselines
    drawn from the background, at random points of the path with Gaussian noise
    (``n_samples`` per row, default 50, or ``budget``; ``stdevs`` default 0). Satisfies
    completeness in expectation against the mean output of the background."""

    name: ClassVar[str] = "gradient_shap"
    summary: ClassVar[str] = "GradientSHAP / expected gradients (Lundberg & Lee 2017), Captum; torch models."
    has_budget: ClassVar[bool] = True
    per_row_baselines: ClassVar[bool] = False
    samples_globally: ClassVar[bool] = True
    exclusive: ClassVar[bool] = True
    param_constraints: ClassVar = {"baseline": BASELINE, "n_samples": POSITIVE_INT, "stdevs": NON_NEGATIVE,
                                   "max_background": POSITIVE_INT}

    def _samples(self) -> int:
        return self._count("n_samples", 50, from_budget=True)

    def _baselines(self, call: GradientCall, X: np.ndarray) -> tuple[np.ndarray, str]:
        kind = self.params.get("baseline") or ("background" if self.background is not None else "zeros")
        if kind == "zeros":
            return np.zeros((1, *X.shape[1:]), dtype=np.float32), kind
        bg = self._background(call.model)
        if kind == "mean":
            return bg.mean(axis=0, keepdims=True), kind
        cap = self._count("max_background", 100)
        if len(bg) > cap:
            bg = bg[np.sort(call.rng.choice(len(bg), size=cap, replace=False))]
            call.notes.append(f"Background subsampled at random to {cap} rows (max_background).")
        return bg, kind

    def _base_values(self, call: GradientCall, base_rows: np.ndarray) -> np.ndarray:
        mean = call.model.output(base_rows).mean(axis=0)
        return np.broadcast_to(mean, (call.n_rows, call.model.n_outputs)).copy()

    def _record(self) -> dict[str, Any]:
        return {"n_samples": self._samples(), "stdevs": float(self.params.get("stdevs", 0.0))}

    def _evals_per_row(self) -> int:
        return self._samples()

    def _attribute(self, call: GradientCall, x: torch.Tensor, b: torch.Tensor, target: Any
                   ) -> tuple[torch.Tensor, torch.Tensor | None]:
        from captum.attr import GradientShap as CaptumGradientShap

        return CaptumGradientShap(OutputModule(call.model)).attribute(
            x, baselines=b, n_samples=self._samples(), stdevs=float(self.params.get("stdevs", 0.0)), target=target
        ), None
