"""KernelSHAP: paired sampling, full enumeration of the extreme sizes, constrained WLS."""

from __future__ import annotations

import math

import numpy as np

from ..base import register_explainer
from ._common import (
    RegressionShapley,
    all_subsets,
    constrained_wls,
    kernel_size_mass,
    random_subsets,
)
from .game import MaskingGame

__all__ = ["KernelShap", "kernel_design", "paired_subsets"]


def _size_groups(d: int) -> list[int]:
    """Coalition sizes s ≤ d/2; each stands for the pair of sizes {s, d − s}."""
    return list(range(1, d // 2 + 1))


def paired_subsets(d: int, s: int) -> np.ndarray:
    """Every pair (z, z̄) with |z| = s as adjacent rows: (2·pairs, d) bool.

    For the middle size s = d/2 each pair is listed once (z holds feature d − 1).
    """
    if 2 * s == d:
        first = np.concatenate([all_subsets(d - 1, s - 1), np.ones((math.comb(d - 1, s - 1), 1), dtype=bool)], axis=1)
    else:
        first = all_subsets(d, s)
    return np.stack([first, ~first], axis=1).reshape(-1, d)


def kernel_design(d: int, budget: int, n: int, rng: np.random.Generator
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Coalitions and regression weights of KernelSHAP for ``n`` rows.

    Sizes are visited from the outside in (s and d − s together); a size pair is enumerated
    completely when its share of the remaining budget under the Shapley kernel covers all
    its coalitions (as ``shap.KernelExplainer`` does). The remaining budget is spent on
    paired draws (a coalition and its complement) with sizes drawn from the kernel over the
    sizes left, uniform within a size, with replacement.

    Returns
    -------
    masks : (n, m, d) bool. weights : (m,) regression weights. units : (m,) sampling unit
        (−1 = enumerated). n_enumerated : coalitions enumerated.
    """
    mass = kernel_size_mass(d)
    groups = _size_groups(d)
    gmass = np.array([mass[s] * (1 if 2 * s == d else 2) for s in groups])
    gsets = np.array([math.comb(d, s) * (1 if 2 * s == d else 2) for s in groups], dtype=np.float64)
    remaining, left_mass = budget, float(gmass.sum())
    n_enum = 0
    for g in range(len(groups)):
        if remaining * gmass[g] / left_mass >= gsets[g] - 1e-8:
            remaining -= int(gsets[g])
            left_mass -= float(gmass[g])
            n_enum = g + 1
        else:
            break
    parts = [paired_subsets(d, s) for s in groups[:n_enum]]
    enum_masks = np.concatenate(parts) if parts else np.zeros((0, d), dtype=bool)
    sz = enum_masks.sum(axis=1)
    enum_w = mass[sz] / np.array([math.comb(d, int(s)) for s in sz]) if len(sz) else np.zeros(0)
    rest = groups[n_enum:]
    R = remaining // 2 if rest else 0
    if R > 0:
        p = gmass[n_enum:] / gmass[n_enum:].sum()
        sizes = np.asarray(rest)[rng.choice(len(rest), size=(n, R), p=p)]
        first = random_subsets(rng, (n, R), d, sizes)
        sampled = np.stack([first, ~first], axis=2).reshape(n, 2 * R, d)
        samp_w = np.full(2 * R, left_mass / (2 * R))
    else:
        sampled = np.zeros((n, 0, d), dtype=bool)
        samp_w = np.zeros(0)
    masks = np.concatenate([np.broadcast_to(enum_masks, (n, *enum_masks.shape)), sampled], axis=1)
    weights = np.concatenate([enum_w, samp_w])
    units = np.concatenate([np.full(len(enum_masks), -1), np.repeat(np.arange(R), 2)])
    return masks, weights, units, len(enum_masks)


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
