"""Sanity check: model-parameter randomization (Adebayo et al. 2018, "Sanity Checks for Saliency Maps").

An explanation that reflects what the model learned must change when the model's
learned weights are destroyed. The test re-initializes the last layer (``layers="last"``)
or every layer (``layers="all"``, the cascade's end point) of a copy of a torch model,
re-runs the explainer, and reports the mean per-row Spearman rank correlation of |φ|
between the original and the randomized model's explanations (lower is better: the
similarity must drop). ``details["reference_similarity"]`` is the same correlation
between the explanation and a second run on the intact model (1 for deterministic
methods), and ``details["passed"]`` says whether the randomized similarity is below it
by more than ``margin``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ..errors import InvalidInputError
from . import agreement as ag
from .base import Metric, MetricContext, register_metric

if TYPE_CHECKING:
    from ..explain.explanation import Explanation
    from ..models.base import BaseModel

__all__ = ["ModelRandomization", "randomize_layers"]

Result = tuple[float, np.ndarray | None, dict[str, Any], tuple[str, ...]]


def randomize_layers(model: Any, *, layers: Literal["last", "all"] = "last", random_state: int | None = None) -> Any:
    """A copy of a torch Model with its last (or every) parametrized layer re-initialized
    (``random_state``: seed of the new weights; None draws a fresh one)."""
    import torch

    from .._validation import resolve_seed

    seed = resolve_seed(random_state, owner="randomize_layers()")
    if getattr(model, "kind", None) != "torch":
        raise InvalidInputError(f"Layer randomization needs a torch model. Got a {getattr(model, 'kind', '?')!r} model.")
    clone = model.copy()
    modules = [m for m in clone.module.modules() if hasattr(m, "reset_parameters") and any(
        True for _ in m.parameters(recurse=False))]
    if not modules:
        raise InvalidInputError("The model has no layer with parameters to randomize.")
    chosen = modules[-1:] if layers == "last" else modules
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for m in chosen:
            m.reset_parameters()
    clone.module.eval()
    return clone


@register_metric
class ModelRandomization(Metric):
    """Similarity (Spearman of |φ|) between explanations of the trained and a layer-randomized model; lower is better."""

    name = "model_randomization"
    category = "sanity"
    higher_is_better = False
    requires = ("torch", "explainer")
    applies_to = "torch models with an explainer that can be re-run"
    formula = "spearman(|φ(model)|, |φ(randomized model)|)"

    def __init__(self, *, layers: Literal["last", "all"] = "last", max_rows: int | None = None,
                 margin: float = 0.1) -> None:
        if layers not in ("last", "all"):
            raise InvalidInputError(f"The 'layers' parameter of ModelRandomization must be 'last' or 'all'. Got {layers!r}.")
        if max_rows is not None and (isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 1):
            raise InvalidInputError(f"The 'max_rows' parameter of ModelRandomization must be an int ≥ 1. Got {max_rows!r}.")
        super().__init__(layers=layers, max_rows=max_rows, margin=margin)

    def _compute(self, model: BaseModel, X: np.ndarray, explanation: Explanation, ctx: MetricContext) -> Result:
        if ctx.explain_fn is None:  # pragma: no cover - guarded by requires
            raise InvalidInputError("No explainer to re-run.")
        rng = np.random.default_rng(ctx.seed)
        notes: list[str] = []
        max_rows = self.params["max_rows"] or (25 if ctx.model_agnostic else 100)
        rows = np.arange(len(X))
        if len(rows) > max_rows:
            rows = np.sort(rng.choice(len(X), size=max_rows, replace=False))
            notes.append(f"computed on {max_rows} of {len(X)} rows (max_rows={max_rows}).")
        Xs, t, phi = X[rows], ctx.targets[rows], ctx.phi[rows]
        randomized = randomize_layers(model, layers=self.params["layers"], random_state=ctx.seed)
        # Both runs in one batch would mix models; two calls, each vectorized over rows.
        phi_rand = ctx.explain_fn(randomized, Xs, t)
        phi_again = ctx.explain_fn(model, Xs, t)
        per_row = ag.rank_correlation(phi, phi_rand)
        reference = float(ag.rank_correlation(phi, phi_again).mean())
        value = float(per_row.mean())
        details = {
            "reference_similarity": reference,
            "cosine_randomized": float(ag.cosine_similarity(phi, phi_rand).mean()),
            "passed": bool(value < reference - self.params["margin"]),
            "layers": self.params["layers"],
        }
        return value, per_row, details, tuple(notes)
