"""Leverage SHAP (Musco & Witter, ICLR 2025): leverage-score sampling of coalition sizes."""

from __future__ import annotations

import math

import numpy as np

from ..base import register_explainer
from .base import RegressionShapley
from .game import MaskingGame
from .regression import constrained_wls
from .sampling import kernel_size_mass, paired_subsets, unique_random_subsets

__all__ = ["LeverageShap", "leverage_allocation"]


def leverage_allocation(d: int, pairs: int) -> tuple[list[int], np.ndarray, np.ndarray]:
    """Pairs of coalitions per size group s ≤ d/2 under leverage-score sampling.

    The leverage scores of the (projected, kernel-weighted) regression are equal for every
    coalition size (Musco & Witter 2025, Lemma 3.2), so each size s = 1..d−1 gets the same
    number of coalitions, capped at the C(d, s) that exist, the excess going to the other
    sizes (water-filling). Group s holds size s and its complement size d − s (one pair =
    one of each); the middle size d/2 (d even) has C(d, d/2)/2 pairs and half the share.

    Returns ``(sizes, k, cap)``: group sizes, pairs drawn per group, pairs that exist.
    """
    sizes = list(range(1, d // 2 + 1))
    cap = np.array([math.comb(d, s) // (2 if 2 * s == d else 1) for s in sizes], dtype=np.float64)
    omega = np.array([0.5 if 2 * s == d else 1.0 for s in sizes])
    pairs = int(min(pairs, cap.sum()))
    k_real = np.zeros(len(sizes))
    free = np.ones(len(sizes), dtype=bool)
    left = float(pairs)
    while free.any():
        c = left / omega[free].sum()
        capped = free & (cap <= c * omega)
        if not capped.any():
            k_real[free] = c * omega[free]
            break
        k_real[capped] = cap[capped]
        left -= cap[capped].sum()
        free &= ~capped
    k = np.floor(k_real + 1e-9)
    short = pairs - int(k.sum())
    order = np.argsort(-(k_real - k), kind="stable")
    for g in order:
        if short <= 0:
            break
        if k[g] < cap[g]:
            k[g] += 1
            short -= 1
    return sizes, k.astype(np.int64), cap.astype(np.int64)


@register_explainer
class LeverageShap(RegressionShapley):
    """Leverage SHAP (Musco & Witter, "Provably Accurate Shapley Value Estimation via
    Leverage Score Sampling", ICLR 2025; arXiv 2410.01917).

    Coalition sizes are allocated by their leverage scores (the same number of coalitions
    for every size, where KernelSHAP's kernel puts almost all mass on the extreme sizes),
    coalitions are drawn without replacement within a size and always with their complement,
    each weighted by its Shapley-kernel weight over its inclusion probability, and φ comes
    from the projected regression (P = I − 11ᵀ/d), so Σφ = f(x) − E f(background) exactly.
    Within a size the number of draws is fixed (stratified) rather than Binomial as in the
    paper's Bernoulli sampling — the same inclusion probabilities with less variance.
    Standard errors: stratified sandwich estimates with finite-population correction.

    Parameters
    ----------
    model, background, budget, random_state : as for :class:`KernelShap` (budget = coalitions
        per explained row, ≥ d + 2, default 2d + 2048; rounded down to an even number).
    tol : float, optional — early stop after a pilot quarter of the budget (see
        :class:`RegressionShapley`).

    Examples
    --------
    An interaction is split equally between its two features (with d = 3 a budget of 6 covers
    every coalition, so the values are exact):

    >>> import numpy as np, leanlens
    >>> f = leanlens.as_model(lambda X: X[:, 0] * X[:, 1] + X[:, 2], n_features=3)
    >>> e = LeverageShap(f, background=np.zeros((1, 3)), budget=6, random_state=0).explain(np.ones((1, 3)), target=0)
    >>> np.round(e.values[0], 6).tolist()
    [0.5, 0.5, 1.0]
    """

    name = "leverage"
    summary = "Leverage SHAP: leverage-score size sampling without replacement, paired, projected regression."

    def _fit(self, game: MaskingGame, budget: int, rows: np.ndarray, rng: np.random.Generator
             ) -> tuple[np.ndarray, np.ndarray, bool]:
        d, n = game.d, len(rows)
        mass = kernel_size_mass(d)
        sizes, k, cap = leverage_allocation(d, budget // 2)
        parts, weights, units, strata, fpc = [], [], [], [], []
        n_units = 0
        for g, s in enumerate(sizes):
            kg = int(k[g])
            if kg == 0:
                continue
            middle = 2 * s == d
            if kg == cap[g]:
                first = np.broadcast_to(paired_subsets(d, s)[0::2], (n, kg, d))
                unit = np.full(2 * kg, -1)
            else:
                if middle:  # pairs {z, z̄} of size d/2: let z be the member holding feature d−1
                    first = unique_random_subsets(rng, n, kg, d - 1, s - 1)
                    first = np.concatenate([first, np.ones((n, kg, 1), dtype=bool)], axis=2)
                else:
                    first = unique_random_subsets(rng, n, kg, d, s)
                unit = np.repeat(np.arange(n_units, n_units + kg), 2)
                strata.append(np.full(kg, g))
                fpc.append(np.full(kg, 1.0 - kg / cap[g]))
                n_units += kg
            parts.append(np.stack([first, ~first], axis=2).reshape(n, 2 * kg, d))
            inclusion = kg / cap[g]
            weights.append(np.full(2 * kg, mass[s] / math.comb(d, s) / inclusion))
            units.append(unit)
        masks = np.concatenate(parts, axis=1)
        values = game(masks, rows=rows)
        phi, se = constrained_wls(
            masks, np.concatenate(weights), values, game.empty[rows], game.full[rows], units=np.concatenate(units),
            strata=np.concatenate(strata) if strata else None, fpc=np.concatenate(fpc) if fpc else None,
        )
        exact = n_units == 0 and masks.shape[1] == (1 << d) - 2
        return phi, (np.zeros_like(phi) if exact or se is None else se), exact
