"""Robustness: do nearby inputs get nearby explanations?

Perturbations ``x' = x + δ`` are drawn uniformly from the box ``|δ_i| ≤ r·s_i`` where
``s_i`` is feature i's spread (standard deviation) in the background, so the radius is
relative to each feature's scale. All ``n × n_samples`` perturbed rows are explained in
one call of the explainer.

- Max-sensitivity (Yeh et al. 2019, "On the (In)fidelity and Sensitivity of
  Explanations"): ``max_{x'} ‖φ(x) − φ(x')‖ / ‖φ(x)‖`` (normalized as in Quantus).
- Local Lipschitz estimate (Alvarez-Melis & Jaakkola 2018, "On the Robustness of
  Interpretability Methods"): ``max_{x'} ‖φ(x) − φ(x')‖ / ‖(x − x') / s‖``.

Both are lower-is-better and averaged over rows. Model-agnostic explainers (Shapley
estimators, LIME) cost many model calls per row, so by default they get fewer samples
(``n_samples=3``, against 5 for gradient methods) on at most ``max_rows=25`` rows (50 for
gradient methods), and their own sampling noise counts as sensitivity; the result says
so in ``notes``. Pass ``n_samples`` / ``max_rows`` for a more thorough estimate.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ..errors import InvalidInputError
from .base import Metric, MetricContext, register_metric

if TYPE_CHECKING:
    from ..explain.explanation import Explanation
    from ..models.base import BaseModel

__all__ = ["LocalLipschitz", "MaxSensitivity"]

Result = tuple[float, np.ndarray | None, dict[str, Any], tuple[str, ...]]


class _Perturbation(Metric):
    requires = ("background", "explainer")
    applies_to = "any explainer that can be re-run; tabular or flattened inputs"
    lipschitz: ClassVar[bool] = False

    def __init__(self, *, radius: float = 0.1, n_samples: int | None = None, max_rows: int | None = None) -> None:
        owner = type(self).__name__
        if not radius > 0:
            raise InvalidInputError(f"The 'radius' parameter of {owner} must be > 0. Got {radius!r} instead.")
        for name, v in (("n_samples", n_samples), ("max_rows", max_rows)):
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
                raise InvalidInputError(f"The {name!r} parameter of {owner} must be an int ≥ 1 or None. Got {v!r}.")
        super().__init__(radius=radius, n_samples=n_samples, max_rows=max_rows)

    def _compute(self, model: BaseModel, X: np.ndarray, explanation: Explanation, ctx: MetricContext) -> Result:
        rng = np.random.default_rng(ctx.seed)
        notes: list[str] = []
        agnostic = ctx.model_agnostic
        S = self.params["n_samples"] or (3 if agnostic else 5)
        max_rows = self.params["max_rows"] or (25 if agnostic else 50)
        Xf = X.reshape(len(X), -1).astype(np.float64)
        rows = np.arange(len(Xf))
        if len(rows) > max_rows:
            rows = np.sort(rng.choice(len(Xf), size=max_rows, replace=False))
            notes.append(f"computed on {max_rows} of {len(Xf)} rows (max_rows={max_rows}).")
        if agnostic and self.params["n_samples"] is None:
            notes.append(f"model-agnostic explainer: {S} perturbations per row (gradient methods get 5); "
                         "its own sampling noise counts as sensitivity.")
        n, d = len(rows), Xf.shape[1]
        scale = ctx.scale if ctx.scale is not None else np.ones(d)
        delta = rng.uniform(-1.0, 1.0, size=(n, S, d)) * self.params["radius"] * scale
        Xp = (Xf[rows, None, :] + delta).reshape(-1, d)
        if ctx.explain_fn is None:  # pragma: no cover - guarded by requires
            raise InvalidInputError("No explainer to re-run.")
        Xp_model = Xp.astype(np.float32).reshape((-1, *model.input_shape))
        phi_p = ctx.explain_fn(model, Xp_model, np.repeat(ctx.targets[rows], S)).reshape(n, S, d)
        phi = ctx.phi[rows]
        diff = np.linalg.norm(phi[:, None, :] - phi_p, axis=2)
        if self.lipschitz:
            den = np.linalg.norm(delta / scale, axis=2)
        else:
            den = np.broadcast_to(np.linalg.norm(phi, axis=1)[:, None], diff.shape)
        ratio = np.divide(diff, den, out=np.zeros_like(diff), where=den > 1e-12)
        per_row = ratio.max(axis=1)
        details = {"n_samples": S, "rows": rows.tolist() if len(rows) < len(Xf) else None}
        return float(per_row.mean()), per_row, details, tuple(notes)


@register_metric
class MaxSensitivity(_Perturbation):
    """Max-sensitivity (Yeh et al. 2019): ``max ‖φ(x) − φ(x')‖ / ‖φ(x)‖`` over x' in a box of radius r·spread. Lower is better."""

    name = "max_sensitivity"
    category = "robustness"
    higher_is_better = False
    formula = "max ‖φ(x) − φ(x')‖ / ‖φ(x)‖"


@register_metric
class LocalLipschitz(_Perturbation):
    """Local Lipschitz estimate (Alvarez-Melis & Jaakkola 2018): ``max ‖φ(x) − φ(x')‖ / ‖(x − x')/s‖``. Lower is better."""

    name = "local_lipschitz"
    category = "robustness"
    higher_is_better = False
    lipschitz = True
    formula = "max ‖φ(x) − φ(x')‖ / ‖(x − x')/s‖"
