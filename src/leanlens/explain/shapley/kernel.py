"""KernelSHAP: paired sampling, full enumeration of the extreme sizes, constrained WLS."""

from __future__ import annotations

import numpy as np

from ..base import register_explainer
from .base import RegressionShapley
from .game import MaskingGame
from .regression import constrained_wls
from .sampling import kernel_design, paired_subsets

__all__ = ["KernelShap", "kernel_design", "paired_subsets"]


@register_explainer
class KernelShap(RegressionShapley):
    """KernelSHAP (Lundberg & Lee, NeurIPS 2017) with the improvements of Covert & Lee (2021).

    Paired (antithetic) sampling of a coalition and its complement, full enumeration of the
    smallest and largest coalition sizes when the budget covers them, and the constrained
    weighted least-squares solve, so Σφ = f(x) − E f(background) holds to rounding.
    Standard errors are sandwich estimates over the sampled pairs.

    Parameters
    ----------
    model : any model ``leanlens.as_model`` accepts.
    background : array (b, d) — rows standing for "feature absent" (k-means summarized above
        ``max_background=100`` rows, with a note); a single row is a baseline.
    budget : int ≥ d + 2, default 2d + 2048 — coalitions per explained row (∅ and the full
        set are extra); the model sees budget × b rows per explained row.
    random_state : int or None.
    tol : float, optional — stop a row after a pilot quarter of the budget once its largest
        standard error is below ``tol`` (see :class:`RegressionShapley`).

    Examples
    --------
    >>> import numpy as np, leanlens
    >>> f = leanlens.as_model(lambda X: X @ np.arange(1.0, 6.0), n_features=5)
    >>> e = KernelShap(f, background=np.zeros((1, 5)), budget=30, random_state=0).explain(np.ones((2, 5)), target=0)
    >>> np.round(e.values[0], 6).tolist()
    [1.0, 2.0, 3.0, 4.0, 5.0]
    """

    name = "kernel"
    summary = "KernelSHAP: paired sampling, extreme sizes enumerated, efficiency-constrained WLS."

    def _fit(self, game: MaskingGame, budget: int, rows: np.ndarray, rng: np.random.Generator
             ) -> tuple[np.ndarray, np.ndarray, bool]:
        masks, weights, units, n_enum = kernel_design(game.d, budget, len(rows), rng)
        values = game(masks, rows=rows)
        phi, se = constrained_wls(masks, weights, values, game.empty[rows], game.full[rows], units=units)
        exact = n_enum == masks.shape[1] and n_enum == (1 << game.d) - 2
        return phi, (np.zeros_like(phi) if exact or se is None else se), exact
