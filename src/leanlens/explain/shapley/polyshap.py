"""PolySHAP: paired KernelSHAP whose regression also models odd third-order interactions."""

from __future__ import annotations

import math
from itertools import combinations
from typing import Any

import numpy as np

from ...errors import InvalidInputError
from ..base import register_explainer
from .base import RegressionShapley
from .game import MaskingGame
from .regression import constrained_basis_wls
from .sampling import kernel_design

__all__ = ["PolyShap", "choose_basis", "n_polynomial_terms"]

#: All triples join the basis once the budget holds this many times 1 + d + C(d,2) + C(d,3)
#: coalitions (below that the full cubic fit got worse than order 2 in the PolySHAP study).
ALL_TRIPLES_FACTOR = 2.0
#: Screened triples: at most (pairs / SCREEN_PAIRS_PER_TERM) − d of them, so every basis
#: term is backed by this many paired equations …
SCREEN_PAIRS_PER_TERM = 2.5
#: … and at most this many per feature (keeps the per-row solve O(d³)-sized for wide inputs).
MAX_SCREENED_PER_FEATURE = 8
#: … and the basis stays small enough that one row's solve, pairs × terms², is at most this
#: (d = 30 at budget 2,000 stays near 50 terms; d ≤ 16 at 40·d is not capped).
MAX_SOLVE_ENTRIES = 10_000_000
#: Candidate triples are drawn among the features with the largest first-fit |φ|, at most this many.
SCREEN_MAX_FEATURES = 16
#: A row keeps its order-2 fit unless the triples cut the leave-one-out error (PRESS) below
#: this share of order 2's.
PRESS_MARGIN = 1.0
#: Relative ridge on the triple coefficients: numerical safety only (never a singular solve).
TRIPLE_RIDGE = 1e-8


def n_polynomial_terms(d: int, order: int = 3) -> int:
    """Terms of the full polynomial of ``order`` in d variables: Σ_{j ≤ order} C(d, j)."""
    return sum(math.comb(d, j) for j in range(order + 1))


def choose_basis(d: int, budget: int, order: Any = "auto", max_triples: int | None = None) -> tuple[str, int, str | None]:
    """The basis a budget supports: ``(kind, n_triples, note)``.

    ``kind`` is ``"order2"`` (paired KernelSHAP), ``"all-triples"`` or ``"screened"``.
    ``order=2`` forces order 2; ``order=3`` asks for all triples and falls back to the largest
    basis the budget supports (with a note); ``"auto"`` grows the basis with the budget.
    """
    n_tri = math.comb(d, 3)
    if order == 2 or n_tri == 0:
        return "order2", 0, None
    pairs = budget // 2
    k_solve = int(math.sqrt(MAX_SOLVE_ENTRIES / max(pairs, 1))) - d
    if budget >= ALL_TRIPLES_FACTOR * n_polynomial_terms(d) and d + n_tri <= pairs and n_tri <= k_solve:
        k = n_tri if max_triples is None else min(n_tri, max_triples)
        return ("all-triples" if k == n_tri else "screened"), k, None
    k = int(pairs / SCREEN_PAIRS_PER_TERM) - d
    k = min(k, k_solve, MAX_SCREENED_PER_FEATURE * d, math.comb(min(d, SCREEN_MAX_FEATURES), 3))
    if max_triples is not None:
        k = min(k, max_triples)
    note = None
    if order == 3:
        need = math.ceil(ALL_TRIPLES_FACTOR * n_polynomial_terms(d))
        note = (f"order=3 needs a budget ≥ {need} for all {n_tri} triples (2 × 1 + d + C(d,2) + C(d,3)); "
                f"budget {budget} fits " + (f"{k} screened triples." if k > 0 else "order 2 only."))
    if k <= 0:
        return "order2", 0, note
    return "screened", k, note


def _triple_transform(triples: np.ndarray, d: int) -> np.ndarray:
    """Map (d linear, k triple) odd Fourier coefficients to φ: (…, d, d + k).

    For the game Σ_T a_T χ_T(x) with x = 2z − 1, φ_i = Σ_{T ∋ i, |T| odd} 2 a_T / |T|.
    """
    lead = triples.shape[:-2]
    k = triples.shape[-2]
    T = np.zeros((*lead, d, d + k))
    T[..., np.arange(d), np.arange(d)] = 2.0
    onehot = np.zeros((*lead, k, d))
    np.put_along_axis(onehot, triples, 1.0, axis=-1)
    T[..., d:] = np.swapaxes(onehot, -1, -2) * (2.0 / 3.0)
    return T


def _triple_columns(X: np.ndarray, triples: np.ndarray) -> np.ndarray:
    """χ_T(x) = x_i x_j x_k for each triple: (n, h, k) from X (n, h, d) and triples (n, k, 3) or (k, 3)."""
    if triples.ndim == 2:
        return X[:, :, triples[:, 0]] * X[:, :, triples[:, 1]] * X[:, :, triples[:, 2]]
    cols = [np.take_along_axis(X, triples[:, None, :, c], axis=2) for c in range(3)]
    return cols[0] * cols[1] * cols[2]


def _screen_triples(X: np.ndarray, w: np.ndarray, resid: np.ndarray, phi1: np.ndarray, k: int) -> np.ndarray:
    """Per row, the k triples among the top first-fit features whose characters correlate most
    with the residuals of the order-2 fit: (n, k, 3) global feature indices."""
    n, h, d = X.shape
    q = min(d, SCREEN_MAX_FEATURES)
    feats = np.argsort(-np.abs(phi1).sum(axis=2), axis=1, kind="stable")[:, :q]
    feats = np.sort(feats, axis=1)
    local = np.array(list(combinations(range(q), 3)), dtype=np.int64)  # (C, 3)
    cand = feats[:, local]  # (n, C, 3)
    out = np.empty((n, k, 3), dtype=np.int64)
    wr = resid * w[None, :, None]  # (n, h, K)
    step = max(1, 4_000_000 // max(1, h * len(local)))
    for a in range(0, n, step):
        sl = slice(a, min(n, a + step))
        Xq = np.take_along_axis(X[sl], feats[sl][:, None, :], axis=2)  # (r, h, q)
        chi = Xq[:, :, local[:, 0]] * Xq[:, :, local[:, 1]] * Xq[:, :, local[:, 2]]  # (r, h, C)
        g = np.einsum("rhc,rhk->rck", chi, wr[sl])
        score = (g**2).sum(axis=2)
        top = np.argpartition(-score, k - 1, axis=1)[:, :k] if k < len(local) else np.tile(np.arange(len(local)), (sl.stop - a, 1))
        out[sl] = np.take_along_axis(cand[sl], top[:, :, None], axis=1)
    return out


@register_explainer
class PolyShap(RegressionShapley):
    """PolySHAP (Fumagalli, Witter & Musco, "PolySHAP", ICLR 2026): paired KernelSHAP plus odd
    third-order interaction terms in the regression.

    Coalitions come as KernelSHAP draws them (pairs (z, z̄), the extreme sizes enumerated while
    the budget covers them). Paired sampling is already exact for every degree-≤ 2 part of the
    game, and φ depends only on its odd part (Fumagalli et al., "An Odd Estimator for Shapley
    Values", ICML 2026), so the pair differences (v(z) − v(z̄))/2 are regressed on the odd
    Fourier characters x_i and x_i x_j x_k (x = 2z − 1), and φ_i = 2a_i + Σ_{T ∋ i} 2a_T/3.
    The basis grows with the budget: order 2 only (= :class:`KernelShap`); all C(d, 3) triples
    once the budget is ≥ 2 × (1 + d + C(d,2) + C(d,3)); otherwise triples screened per row by how
    well they explain the residuals of a first order-2 fit, among the features with the largest
    first-fit |φ|, about one term per 3 pairs. Efficiency is a constraint of the solve, so
    Σφ = f(x) − E f(background) to rounding. Standard errors: sandwich over the sampled pairs
    with the HC3 leverage correction.

    Parameters
    ----------
    model, background, budget, random_state : as for :class:`KernelShap`.
    order : "auto" (default), 2 or 3 — 3 asks for all triples and falls back to the largest
        basis the budget supports, with a note.
    max_triples : int, optional — cap on the triples per row.
    tol : float, optional — early stop after a pilot quarter of the budget.

    Examples
    --------
    >>> import numpy as np, leanlens
    >>> f = leanlens.as_model(lambda X: X[:, 0] * X[:, 1] * X[:, 2] + X[:, 3], n_features=6)
    >>> e = PolyShap(f, background=np.zeros((1, 6)), budget=60, random_state=0).explain(np.ones((1, 6)), target=0)
    >>> np.round(e.values[0], 6).tolist()
    [0.333333, 0.333333, 0.333333, 1.0, 0.0, 0.0]
    """

    name = "polyshap"
    summary = "PolySHAP: paired KernelSHAP + odd 3rd-order terms (all or screened triples); efficiency exact."
    extra_params = ("order", "max_triples")

    def _check_extra_params(self, d: int) -> None:
        order = self._param("order", "auto")
        if order not in ("auto", 2, 3) or isinstance(order, bool):
            raise InvalidInputError(f"The 'order' parameter of PolyShap must be 'auto', 2 or 3. Got {order!r}.")
        mt = self._param("max_triples", None)
        if mt is not None and (isinstance(mt, bool) or not isinstance(mt, int | np.integer) or mt < 0):
            raise InvalidInputError(f"The 'max_triples' parameter of PolyShap must be an int ≥ 0 or None. Got {mt!r}.")

    def _fit(self, game: MaskingGame, budget: int, rows: np.ndarray, rng: np.random.Generator
             ) -> tuple[np.ndarray, np.ndarray, bool]:
        d, n = game.d, len(rows)
        masks, weights, units, n_enum = kernel_design(d, budget, n, rng)
        values = game(masks, rows=rows)
        exact = n_enum == masks.shape[1] and n_enum == (1 << d) - 2
        kind, k, _ = choose_basis(d, budget, self._param("order", "auto"), self._param("max_triples", None))
        X = 2.0 * masks[:, 0::2, :].astype(np.float64) - 1.0  # (n, h, d)
        w = 2.0 * np.asarray(weights, dtype=np.float64)[0::2]
        y = 0.5 * (values[:, 0::2] - values[:, 1::2])  # odd part of the game at each pair
        total = 0.5 * (game.full[rows] - game.empty[rows])
        pair_units = units[0::2]
        eye = 2.0 * np.eye(d)
        if exact or kind == "order2":
            phi, se = constrained_basis_wls(X, w, y, total, eye, units=None if exact else pair_units)
            return phi, (np.zeros_like(phi) if exact or se is None else se), exact
        press1 = np.empty(n)
        phi1, se1 = constrained_basis_wls(X, w, y, total, eye, units=pair_units, press=press1)
        if kind == "all-triples":
            triples: np.ndarray = np.array(list(combinations(range(d), 3)), dtype=np.int64)
        else:
            resid = y - X @ (phi1 / 2.0)
            triples = _screen_triples(X, w, resid, phi1, k)
        A = np.concatenate([X, _triple_columns(X, triples)], axis=2)
        ridge = np.r_[np.zeros(d), np.full(triples.shape[-2], TRIPLE_RIDGE)]
        press3 = np.empty(n)
        phi, se = constrained_basis_wls(A, w, y, total, _triple_transform(triples, d), units=pair_units, ridge=ridge,
                                        press=press3)
        # per row, keep the basis that predicts unseen pairs better (leave-one-out): the
        # triples must earn their place, so a game without odd 3rd-order structure keeps order 2
        keep2 = press1 <= press3 * PRESS_MARGIN
        phi[keep2], se[keep2] = phi1[keep2], se1[keep2]  # type: ignore[index]
        return phi, (np.zeros_like(phi) if se is None else se), False

    def _describe(self, d: int, budget: int | None) -> tuple[dict[str, Any], list[str]]:
        kind, k, note = choose_basis(d, int(budget or 0), self._param("order", "auto"), self._param("max_triples", None))
        return {"basis": kind, "triples": k}, ([note] if note else [])
