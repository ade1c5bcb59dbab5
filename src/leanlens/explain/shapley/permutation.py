"""Antithetic permutation sampling of Shapley values."""

from __future__ import annotations

import numpy as np

from ..base import register_explainer
from .base import ShapleyExplainer, student_t_factor
from .game import MaskingGame

__all__ = ["PermutationShap"]


@register_explainer
class PermutationShap(ShapleyExplainer):
    """Permutation sampling (Castro, Gómez & Tejada 2009) with antithetic pairs.

    Each sampled feature order π is followed by its reverse (Mitchell et al., JMLR 2022):
    walking an order adds one feature at a time, and the value gained is that feature's
    marginal contribution. One order costs d − 1 coalitions (∅ and the full set are known),
    so a budget of m coalitions buys ⌊m / (2(d − 1))⌋ antithetic pairs. Every order's
    contributions sum to f(x) − E f(background), so efficiency holds exactly; the standard
    error is the spread of the pair means over √(pairs).

    Parameters
    ----------
    model, background, random_state : as for :class:`KernelShap`.
    budget : int ≥ 2(d − 1), default 2d + 2048 — coalitions per explained row.
    tol : float, optional
        Stop a row early once the largest standard error of its values is below ``tol``
        (checked after every tenth of the budget).

    Examples
    --------
    >>> import numpy as np, leanlens
    >>> f = leanlens.as_model(lambda X: X @ np.arange(1.0, 5.0), n_features=4)
    >>> e = PermutationShap(f, background=np.zeros((1, 4)), budget=12, random_state=0).explain(np.ones((1, 4)), target=0)
    >>> np.round(e.values[0], 6).tolist()
    [1.0, 2.0, 3.0, 4.0]
    """

    name = "permutation"
    summary = "Antithetic permutation sampling (each order and its reverse); efficiency exact."

    def _min_budget(self, d: int) -> int:
        return max(d + 2, 2 * (d - 1))

    def _min_budget_text(self, d: int) -> str:
        return "max(d + 2, 2(d − 1))"

    def _estimate(self, game: MaskingGame, budget: int | None, rng: np.random.Generator
                  ) -> tuple[np.ndarray, np.ndarray | None, list[str]]:
        d, n, K = game.d, game.n, game.n_outputs
        total_pairs = max(1, int(budget or 0) // (2 * (d - 1)))
        tol = self.params.get("tol")
        per_round = total_pairs if tol is None else max(2, -(-total_pairs // 10))
        s1 = np.zeros((n, d, K))
        s2 = np.zeros((n, d, K))
        done = np.zeros(n, dtype=np.int64)
        active = np.arange(n)
        while len(active):
            r = int(min(per_round, total_pairs - done[active].min()))
            means = self._pair_means(game, active, r, rng)  # (a, r, d, K)
            s1[active] += means.sum(axis=1)
            s2[active] += (means**2).sum(axis=1)
            done[active] += r
            cnt = done[active][:, None, None]
            var = np.maximum(s2[active] / cnt - (s1[active] / cnt) ** 2, 0.0) * cnt / np.maximum(cnt - 1, 1)
            se_active = np.sqrt(var / cnt)
            finished = done[active] >= total_pairs
            if tol is not None:
                finished |= (done[active] >= 2) & (se_active.reshape(len(active), -1).max(axis=1) < tol)
            active = active[~finished]
        cnt = done[:, None, None].astype(np.float64)
        phi = s1 / cnt
        stderr = None
        if done.min() >= 2:
            var = np.maximum(s2 / cnt - phi**2, 0.0) * cnt / (cnt - 1)
            stderr = np.sqrt(var / cnt) * np.array([student_t_factor(int(c) - 1) for c in done])[:, None, None]
        notes = []
        if tol is not None and done.min() < total_pairs:
            notes.append(f"tol={tol}: {int((done < total_pairs).sum())} of {n} rows stopped early.")
        return phi, stderr, notes

    @staticmethod
    def _pair_means(game: MaskingGame, rows: np.ndarray, r: int, rng: np.random.Generator) -> np.ndarray:
        """Average marginal contributions of ``r`` antithetic pairs per row: (len(rows), r, d, K)."""
        a, d = len(rows), game.d
        order = np.argsort(rng.random((a, r, d), dtype=np.float32), axis=-1)
        order = np.stack([order, order[..., ::-1]], axis=2).reshape(a, 2 * r, d)
        rank = np.empty_like(order)
        np.put_along_axis(rank, order, np.broadcast_to(np.arange(d), order.shape).copy(), axis=-1)
        # prefix j (j = 1..d−1) of each order = the features ranked < j
        masks = rank[:, :, None, :] < np.arange(1, d)[None, None, :, None]  # (a, 2r, d−1, d)
        v = game(masks.reshape(a, 2 * r * (d - 1), d), rows=rows).reshape(a, 2 * r, d - 1, -1)
        K = v.shape[-1]
        path = np.concatenate([
            np.broadcast_to(game.empty[rows][:, None, None, :], (a, 2 * r, 1, K)),
            v,
            np.broadcast_to(game.full[rows][:, None, None, :], (a, 2 * r, 1, K)),
        ], axis=2)
        gains = np.diff(path, axis=2)  # (a, 2r, d, K): gain of the feature at position j
        contrib = np.take_along_axis(gains, rank[..., None], axis=2)  # back to feature order
        return contrib.reshape(a, r, 2, d, K).mean(axis=2)
