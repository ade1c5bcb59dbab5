"""Exact Shapley values by enumerating every coalition (d ≤ 16), in batches."""

from __future__ import annotations

import math

import numpy as np

from ...errors import InvalidInputError
from ..base import register_explainer
from .base import ShapleyExplainer
from .game import MaskingGame

__all__ = ["MAX_EXACT_FEATURES", "ExactShapley", "all_coalitions", "shapley_matrix"]

MAX_EXACT_FEATURES = 16
#: Model rows (coalitions × background rows) per batch of explained rows.
EXACT_ROWS_PER_BATCH = 1 << 22


def all_coalitions(d: int) -> np.ndarray:
    """Every subset of {0..d−1} as a (2^d, d) bool array; row i is the binary expansion of i."""
    idx = np.arange(1 << d, dtype=np.int64)
    return ((idx[:, None] >> np.arange(d)) & 1).astype(bool)


def shapley_matrix(d: int) -> np.ndarray:
    """M of shape (2^d, d) with φ = vᵀM for the values v of ``all_coalitions(d)``.

    φ_i = Σ_{S ∌ i} |S|!(d−|S|−1)!/d! · (v(S ∪ i) − v(S)) (Shapley 1953), so
    M[S, i] = w(|S|−1) if i ∈ S and −w(|S|) otherwise, with w(s) = s!(d−s−1)!/d!.
    """
    masks = all_coalitions(d)
    sizes = masks.sum(axis=1)
    w = np.array([math.factorial(s) * math.factorial(d - s - 1) / math.factorial(d) for s in range(d)] + [0.0])
    return np.where(masks, w[np.maximum(sizes - 1, 0)][:, None], -w[sizes][:, None])


@register_explainer
class ExactShapley(ShapleyExplainer):
    """Exact interventional Shapley values: all 2^d coalitions of every row, batched.

    Costs n · 2^d · b model rows (b background rows), so it is meant for d ≤ 16 and as the
    ground truth of the sampling estimators. ``budget`` is not used.

    Examples
    --------
    >>> import numpy as np, leanlens
    >>> f = leanlens.as_model(lambda X: X @ np.array([1.0, -2.0, 0.5]), n_features=3)
    >>> e = ExactShapley(f, background=np.zeros((1, 3))).explain(np.ones((1, 3)), target=0)
    >>> np.round(e.values, 6).tolist()
    [[1.0, -2.0, 0.5]]
    """

    name = "exact"
    summary = "Exact Shapley values by enumerating all 2^d coalitions (d ≤ 16)."
    has_budget = False

    def _check_size(self, d: int) -> None:
        super()._check_size(d)
        if d > MAX_EXACT_FEATURES:
            raise InvalidInputError(
                f"The 'exact' method enumerates 2^d coalitions and is limited to d ≤ {MAX_EXACT_FEATURES} features; "
                f"this model has d = {d}. Use 'kernel', 'leverage' or 'permutation' instead."
            )

    def _estimate(self, game: MaskingGame, budget: int | None, rng: np.random.Generator
                  ) -> tuple[np.ndarray, np.ndarray | None, list[str]]:
        d = game.d
        masks = all_coalitions(d)
        M = shapley_matrix(d)
        inner = slice(1, (1 << d) - 1)  # ∅ and the full set are known already
        phi = np.empty((game.n, d, game.n_outputs))
        rows_per_call = max(1, EXACT_ROWS_PER_BATCH // ((1 << d) * game.n_background))
        for a in range(0, game.n, rows_per_call):
            rows = np.arange(a, min(game.n, a + rows_per_call))
            v = np.empty((len(rows), 1 << d, game.n_outputs))
            v[:, 0] = game.empty[rows]
            v[:, -1] = game.full[rows]
            v[:, inner] = game(masks[inner], rows=rows)
            phi[rows] = np.einsum("rmk,md->rdk", v, M, optimize=True)
        return phi, None, []
