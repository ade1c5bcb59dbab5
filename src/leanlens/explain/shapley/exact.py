"""Exact Shapley values by enumerating every coalition (d ≤ 16), in batches."""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ...errors import InvalidInputError
from ...models.base import InputAffine, subset_sums
from ..base import register_explainer
from .base import ShapleyExplainer
from .game import MaskingGame
from .regression import one_blas_thread

__all__ = ["MAX_EXACT_FEATURES", "ExactShapley", "all_coalitions", "null_players", "shapley_matrix"]

MAX_EXACT_FEATURES = 16
#: Model rows (coalitions × background rows) per batch of explained rows.
EXACT_ROWS_PER_BATCH = 1 << 22
#: The smallest enumeration worth the model's first affine map (``input_affine``); below it,
#: the batched masked inputs are as fast.
AFFINE_MIN_COALITIONS = 1 << 10


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
    ground truth of the sampling estimators. ``budget`` is not used. Two exact savings:

    - *null players*: a player (feature or group) on which the row equals every background
      row changes no masked input; its value is 0 and it is left out of the enumeration
      (2^k coalitions for the k other players, with a note);
    - *the first layer once*: for a model whose first operation is affine in its inputs
      (``model.input_affine()``: torch MLPs), large enumerations (≥ 2^10 coalitions) build the
      first layer's output of every coalition from one vector per player (subset sums, one add
      per coalition) and run only the remaining layers, in families of 2^L coalitions that
      share the settings of all but the L players with the smallest first-layer effects. When
      the first layer is followed by ReLU and a Linear layer, a unit that is ≤ 0 (or ≥ 0) on a
      whole family is dropped (or folded in as an affine term), so the second layer's GEMM runs
      only over the units that switch inside the family (``InputAffine.subsets``). Values agree
      with the plain enumeration to float32 rounding (another summation order); ``fast=False``
      turns this off.

    Parameters (besides the shared ones)
    ----------
    fast : bool, default True — use ``model.input_affine()`` when the model offers it.

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
    extra_params = ("fast",)

    def _check_extra_params(self, d: int) -> None:
        fast = self._param("fast", True)
        if not isinstance(fast, bool | np.bool_):
            raise InvalidInputError(f"The 'fast' parameter of ExactShapley must be True or False. Got {fast!r}.")

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
        null = null_players(game)
        phi = np.zeros((game.n, d, game.n_outputs))
        affine = game.model.input_affine() if self._param("fast", True) else None
        patterns, which = np.unique(null, axis=0, return_inverse=True)
        which = np.asarray(which).reshape(-1)
        for pi, pattern in enumerate(patterns):
            players = np.flatnonzero(~pattern)
            rows = np.flatnonzero(which == pi)
            k = len(players)
            if k == 0:  # the row equals the background on every feature: every value is 0
                continue
            M = shapley_matrix(k)
            if affine is not None and (1 << k) >= AFFINE_MIN_COALITIONS:
                MT = np.ascontiguousarray(M.T)

                def row_values(r: int, P: np.ndarray = players, MT: np.ndarray = MT) -> np.ndarray:
                    return MT @ _affine_values(game, affine, r, P)  # (k, K)

                # rows are independent: one per thread, each running the model (and BLAS) on one thread
                with affine.one_thread(), one_blas_thread(), ThreadPoolExecutor(min(affine.threads, len(rows))) as pool:
                    for r, values in zip(rows, pool.map(row_values, (int(r) for r in rows)), strict=True):
                        phi[r, players] = values
                _count(game, len(rows) * (1 << k) * game.n_background)
                continue
            masks = np.zeros((1 << k, d), dtype=bool)
            masks[:, players] = all_coalitions(k)
            inner = slice(1, (1 << k) - 1)  # ∅ and the full set are known already
            rows_per_call = max(1, EXACT_ROWS_PER_BATCH // ((1 << k) * game.n_background))
            for a in range(0, len(rows), rows_per_call):
                batch = rows[a : a + rows_per_call]
                v = np.empty((len(batch), 1 << k, game.n_outputs))
                v[:, 0] = game.empty[batch]
                v[:, -1] = game.full[batch]
                v[:, inner] = game(masks[inner], rows=batch)
                phi[np.ix_(batch, players)] = np.einsum("rmk,md->rdk", v, M, optimize=True)
        notes = []
        if null.any():
            notes.append(f"{int(null.sum())} (row, player) pairs equal the background on every feature: null players "
                         "(value 0), left out of the enumeration.")
        return phi, None, notes


def null_players(game: MaskingGame) -> np.ndarray:
    """(n, d) bool: player p of row r is *null* when the row equals every background row on all
    of p's features. Then v(S ∪ p) = v(S) for every S (the masked inputs are identical), so
    φ_p = 0 exactly and the other players' values are those of the game without p (Shapley's
    null-player and dummy properties): 2^k coalitions for k non-null players instead of 2^d."""
    X, B = game.X, game.background
    differs = np.zeros(X.shape, dtype=bool)
    for j in range(len(B)):
        differs |= X != B[j]
    member = getattr(game, "member", None)
    if member is None:
        return ~differs
    return ~((differs.astype(np.int32) @ member.T.astype(np.int32)) > 0)


def _affine_values(game: MaskingGame, affine: InputAffine, r: int, players: np.ndarray) -> np.ndarray:
    """v(S) for all 2^k coalitions S of ``players`` of row ``r``, (2^k, K), through the model's
    first affine map (``BaseModel.input_affine``): with one background row b, a masked input's
    first layer is A·b + c + Σ_{p ∈ S} δ_p with δ_p = A·(x − b)_p, so no input is built.

    The players split into L *low* ones (the smallest |δ_p|) and the *high* rest: each setting
    of the high players is one family ``offset + bits @ δ_low`` of 2^L first-layer inputs, run
    by ``affine.subsets`` (which may exploit the structure exactly, e.g. ReLU units fixed on
    the family). ∅ and the full set take ``game.empty``/``game.full``. float32 sums in another
    order than ``model.output``: values agree to float32 rounding."""
    k = len(players)
    member = getattr(game, "member", None)
    x = game.X[r]
    low_k = min(k, affine.subset_bits)
    n_out = game.n_outputs
    target = None if game.targets is None else int(game.targets[r])
    v = np.zeros((1 << k, n_out))
    idx = np.arange(1 << k)
    for b_row, w in zip(game.background, game.weights, strict=True):
        diff = x - b_row  # (d_features,)
        if member is None:
            delta = (diff[players, None] * affine.A[players]).astype(np.float32)  # (k, h)
        else:
            delta = ((member[players] * diff[None, :]).astype(np.float32) @ affine.A).astype(np.float32)
        order = np.argsort(np.abs(delta).sum(axis=1), kind="stable")  # small effects vary inside a family
        family = affine.subsets(delta[order[:low_k]])
        offsets = subset_sums(delta[order[low_k:]]) + (b_row @ affine.A + affine.c).astype(np.float32)
        part = np.empty((len(offsets), 1 << low_k, n_out))
        for hi, offset in enumerate(offsets):
            out = family(offset)
            part[hi] = out if target is None else out[:, target : target + 1]
        # bit j of part's flat index is player order[j]; bit p of v's index is player p
        natural = np.zeros(1 << k, dtype=np.int64)
        for j, p in enumerate(order):
            natural |= ((idx >> j) & 1) << int(p)
        v[natural] += w * part.reshape(-1, n_out)
    v[0], v[-1] = game.empty[r], game.full[r]
    return v


def _count(game: MaskingGame, rows: int) -> None:
    inner = getattr(game, "game", game)  # a grouped game counts on the feature game it wraps
    inner.n_evals += rows
