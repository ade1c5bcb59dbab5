"""Complexity: how many features does an explanation spread its mass over?

- Entropy (Bhatt et al. 2020): with ``p_i = |φ_i| / Σ_j |φ_j|``, ``H = −Σ p_i log p_i``
  (natural log; 0 for one feature, ``log d`` for uniform mass). Lower is simpler.
- Gini sparseness (Chalasani et al. 2020): with ``|φ|`` sorted ascending as
  ``a_(1) ≤ … ≤ a_(d)``, ``G = Σ_i (2i − d − 1) a_(i) / (d Σ_i a_(i))`` (0 for uniform mass,
  ``(d − 1)/d`` for one feature). Higher is sparser.

An all-zero row has no mass to spread: entropy 0 and sparseness 0, noted in the result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .base import Metric, MetricContext, register_metric

if TYPE_CHECKING:
    from ..explain.explanation import Explanation
    from ..models.base import BaseModel

__all__ = ["Entropy", "GiniSparseness", "entropy", "gini_sparseness"]

Result = tuple[float, np.ndarray | None, dict[str, Any], tuple[str, ...]]


def entropy(phi: np.ndarray) -> np.ndarray:
    """``−Σ p log p`` of ``p = |φ| / Σ|φ|`` per row of an (n, d) array."""
    a = np.abs(np.atleast_2d(np.asarray(phi, dtype=np.float64)))
    total = a.sum(axis=1, keepdims=True)
    p = np.divide(a, total, out=np.zeros_like(a), where=total > 0)
    logs = np.log(p, out=np.zeros_like(p), where=p > 0)
    return np.asarray(-(p * logs).sum(axis=1), dtype=np.float64)


def gini_sparseness(phi: np.ndarray) -> np.ndarray:
    """Gini index of ``|φ|`` per row of an (n, d) array (Chalasani et al. 2020)."""
    a = np.sort(np.abs(np.atleast_2d(np.asarray(phi, dtype=np.float64))), axis=1)
    d = a.shape[1]
    total = a.sum(axis=1)
    weights = 2 * np.arange(1, d + 1) - d - 1
    num = (a * weights).sum(axis=1)
    return np.asarray(np.divide(num, d * total, out=np.zeros_like(total), where=total > 0), dtype=np.float64)


def _zero_note(phi: np.ndarray) -> tuple[str, ...]:
    zero = int((np.abs(phi).sum(axis=1) == 0).sum())
    return (f"{zero} rows have all-zero attributions (counted as 0).",) if zero else ()


@register_metric
class Entropy(Metric):
    """Entropy of the normalized |φ| (Bhatt et al. 2020); lower means a simpler explanation."""

    name = "entropy"
    category = "complexity"
    higher_is_better = False
    formula = "−Σ p log p, p = |φ|/Σ|φ|"

    def _compute(self, model: BaseModel, X: np.ndarray, explanation: Explanation, ctx: MetricContext) -> Result:
        per_row = entropy(ctx.phi)
        return float(per_row.mean()), per_row, {"max_possible": float(np.log(ctx.phi.shape[1]))}, _zero_note(ctx.phi)


@register_metric
class GiniSparseness(Metric):
    """Gini sparseness of |φ| (Chalasani et al. 2020); higher means fewer features carry the mass."""

    name = "sparseness"
    category = "complexity"
    higher_is_better = True
    formula = "Σ (2i − d − 1) a_(i) / (d Σ a)"

    def _compute(self, model: BaseModel, X: np.ndarray, explanation: Explanation, ctx: MetricContext) -> Result:
        per_row = gini_sparseness(ctx.phi)
        return float(per_row.mean()), per_row, {}, _zero_note(ctx.phi)
