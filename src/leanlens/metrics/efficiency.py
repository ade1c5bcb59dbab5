"""Explanation efficiency: what one explained row costs (wall time and model evaluations).

Read from the explanation itself (``seconds`` and ``n_model_evals``), divided by the
number of explained rows. Lower is better. The time is the explainer's own wall time on
this machine and is only comparable between methods run side by side.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .base import Metric, MetricContext, register_metric

if TYPE_CHECKING:
    from ..explain.explanation import Explanation
    from ..models.base import BaseModel

__all__ = ["EvalsPerRow", "SecondsPerRow"]

Result = tuple[float, np.ndarray | None, dict[str, Any], tuple[str, ...]]


@register_metric
class SecondsPerRow(Metric):
    """Explainer wall time per explained row, ``seconds / n`` (lower is better)."""

    name = "seconds_per_row"
    category = "efficiency"
    higher_is_better = False
    formula = "seconds / n_rows"

    def _compute(self, model: BaseModel, X: np.ndarray, explanation: Explanation, ctx: MetricContext) -> Result:
        notes = () if explanation.seconds > 0 else ("the explanation recorded no time (0 s)",)
        return explanation.seconds / explanation.n_rows, None, {"seconds": explanation.seconds}, notes


@register_metric
class EvalsPerRow(Metric):
    """Model rows evaluated per explained row, ``n_model_evals / n`` (lower is better; 0 for gradient methods that record none)."""

    name = "evals_per_row"
    category = "efficiency"
    higher_is_better = False
    formula = "n_model_evals / n_rows"

    def _compute(self, model: BaseModel, X: np.ndarray, explanation: Explanation, ctx: MetricContext) -> Result:
        notes = () if explanation.n_model_evals > 0 else ("the explanation recorded no model evaluations",)
        return explanation.n_model_evals / explanation.n_rows, None, {"n_model_evals": explanation.n_model_evals}, notes
