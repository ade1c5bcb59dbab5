"""Integrated Gradients (Sundararajan, Taly & Yan, ICML 2017) through Captum."""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from ..._validation import POSITIVE_INT
from ..base import register_explainer
from .base import BASELINE, GradientCall, GradientExplainer, OutputModule

__all__ = ["IntegratedGradients"]


@register_explainer
class IntegratedGradients(GradientExplainer):
    """Integrated Gradients (Sundararajan et al., ICML 2017): the path integral of the
    gradient from a baseline to the row (Gauss–Legendre, ``n_steps``, default 64; ``budget``
    is taken as ``n_steps`` when given). Completeness Σφ = f(x) − f(baseline) holds up to
    the integration error, recorded as ``params['completeness_delta_max']`` (absolute) and
    ``params['completeness_delta_rel']`` (Σ|δ| / Σ|f(x) − f(x')|); per row it is
    ``explanation.sum_residual(model.output(X))``.

    Examples
    --------
    >>> import numpy as np, torch, leanlens
    >>> from leanlens.explain import explain
    >>> net = torch.nn.Linear(3, 1)
    >>> _ = torch.nn.init.ones_(net.weight), torch.nn.init.zeros_(net.bias)
    >>> m = leanlens.as_model(net, task="regression", output="values")
    >>> e = explain(m, np.array([[1.0, 2.0, 3.0]]), method="ig", baseline="zeros")
    >>> np.round(e.values[0, :, 0], 4).tolist()  # w_i · (x_i − 0) for a linear model
    [1.0, 2.0, 3.0]
    """

    name: ClassVar[str] = "ig"
    summary: ClassVar[str] = "Integrated Gradients (Sundararajan et al. 2017), Captum; torch models; completeness delta recorded."
    has_budget: ClassVar[bool] = True
    param_constraints: ClassVar = {"baseline": BASELINE, "n_steps": POSITIVE_INT, "internal_batch_size": POSITIVE_INT}

    def _steps(self) -> int:
        return self._count("n_steps", 64, from_budget=True)

    def _record(self) -> dict[str, Any]:
        return {"n_steps": self._steps()}

    def _evals_per_row(self) -> int:
        return self._steps()

    def _attribute(self, call: GradientCall, x: torch.Tensor, b: torch.Tensor, target: Any
                   ) -> tuple[torch.Tensor, torch.Tensor | None]:
        from captum.attr import IntegratedGradients as CaptumIG

        attr, delta = CaptumIG(OutputModule(call.model)).attribute(
            x, baselines=b, target=target, n_steps=self._steps(),
            internal_batch_size=self._count("internal_batch_size", 4096), return_convergence_delta=True,
        )
        return attr, delta
