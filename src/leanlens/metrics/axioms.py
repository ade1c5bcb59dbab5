"""Axioms: efficiency (Shapley) / completeness (integrated gradients).

For methods that promise it, the attributions of a row add up to the change of the
explained output from the base value: ``Σ_i φ_i + φ_0 = f_t(x)`` (Shapley efficiency,
Lundberg & Lee 2017; IG completeness, Sundararajan et al. 2017). The metric reports the
mean residual ``|Σ_i φ_i + φ_0 − f_t(x)|`` (lower is better) and, in ``details``, the
residual relative to ``mean |f_t(x) − φ_0|``. Methods without the property (LIME,
saliency, gradient × input, surrogates) are skipped with the reason.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .base import Metric, MetricContext, model_output, register_metric

if TYPE_CHECKING:
    from ..explain.explanation import Explanation
    from ..models.base import BaseModel

__all__ = ["EFFICIENT_METHODS", "Completeness"]

Result = tuple[float, np.ndarray | None, dict[str, Any], tuple[str, ...]]

#: Methods whose attributions satisfy efficiency / completeness (up to estimation error).
EFFICIENT_METHODS = frozenset({
    "exact", "kernel", "leverage", "permutation", "polyshap", "gp", "shapley", "tree", "treeshap", "ig", "integrated_gradients",
    "deeplift", "deepshap", "deep_shap",
})


@register_metric
class Completeness(Metric):
    """Mean efficiency / completeness residual ``|Σφ + φ_0 − f_t(x)|`` (lower is better)."""

    name = "completeness"
    category = "axioms"
    higher_is_better = False
    applies_to = "Shapley estimators, TreeSHAP and integrated gradients (methods that promise efficiency)"
    formula = "|Σφ_i + φ_0 − f(x)|"

    def skip_reason(self, model: BaseModel, explanation: Explanation, ctx: MetricContext) -> str | None:
        if explanation.method not in EFFICIENT_METHODS:
            return (f"method {explanation.method!r} does not promise efficiency/completeness "
                    "(its attributions need not add up to f(x) − base value)")
        if explanation.base_values.size == 0:
            return "the explanation has no base values"
        return super().skip_reason(model, explanation, ctx)

    def _compute(self, model: BaseModel, X: np.ndarray, explanation: Explanation, ctx: MetricContext) -> Result:
        n = len(X)
        fx = model_output(model, X, ctx.targets)
        base = np.asarray(explanation.base_values, dtype=np.float64)
        if base.ndim == 2:
            base = base[np.arange(n), ctx.targets]
        base = np.broadcast_to(base.reshape(-1), (n,)) if base.size in (1, n) else base[:n]
        per_row = np.abs(ctx.phi.sum(axis=1) + base - fx)
        scale = float(np.mean(np.abs(fx - base)))
        rel = float(per_row.mean() / scale) if scale > 1e-12 else 0.0
        return float(per_row.mean()), per_row, {"relative": rel, "max": float(per_row.max())}, ()
