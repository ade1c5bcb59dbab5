"""What the Shapley estimators share: the explainer shell, budget checks, coalition
sampling and the efficiency-constrained weighted least-squares solve."""

from __future__ import annotations

import abc
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from ...errors import InvalidInputError
from ..base import Explainer
from ..explanation import Explanation
from .game import MaskingGame, summarize_background

if TYPE_CHECKING:
    from ...models.base import BaseModel

__all__ = [
    "RegressionShapley",
    "ShapleyExplainer",
    "all_subsets",
    "constrained_wls",
    "kernel_size_mass",
    "random_subsets",
    "unique_random_subsets",
]

DEFAULT_MAX_BACKGROUND = 100


class ShapleyExplainer(Explainer):
    """Shell shared by exact/kernel/leverage/permutation: background → game → estimate → result.

    Parameters (besides those of :class:`~leanlens.explain.Explainer`)
    ----------
    max_background : int, default 100
        A larger background is summarized by weighted k-means centres (with a note).
    baseline : "mean" | "median" | array of shape (d,), optional
        Play the single-baseline game against this row instead of the background average
        (``"mean"``/``"median"`` are taken over the background).
    batch_rows : int, default 262144
        Model rows per model call.
    """

    has_budget = True
    min_budget_extra = 2  # budget ≥ d + 2

    def _param(self, name: str, default: Any) -> Any:
        return self.params.get(name, default)

    def _check_params(self, d: int) -> None:
        known = {"max_background", "baseline", "batch_rows", "tol"}
        unknown = set(self.params) - known
        if unknown:
            raise InvalidInputError(
                f"Unknown parameter(s) {sorted(unknown)} for the {self.name!r} explainer. Valid: {sorted(known)}."
            )
        mb = self._param("max_background", DEFAULT_MAX_BACKGROUND)
        if isinstance(mb, bool) or not isinstance(mb, int | np.integer) or mb < 1:
            raise InvalidInputError(f"The 'max_background' parameter must be a positive int. Got {mb!r}.")
        tol = self._param("tol", None)
        if tol is not None and (isinstance(tol, bool) or not isinstance(tol, int | float) or not tol > 0):
            raise InvalidInputError(f"The 'tol' parameter must be a positive number or None. Got {tol!r}.")

    def _budget(self, d: int) -> int:
        """The validated budget (coalitions per explained row, not counting ∅ and the full set)."""
        low = self._min_budget(d)
        if self.budget is None:
            return max(low, 2 * d + 2048)
        if isinstance(self.budget, bool) or not isinstance(self.budget, int | np.integer) or self.budget < low:
            raise InvalidInputError(
                f"The 'budget' parameter of {type(self).__name__} must be an int ≥ {self._min_budget_text(d)} = {low} "
                f"(coalitions per explained row). Got {self.budget!r} instead."
            )
        return int(self.budget)

    def _min_budget(self, d: int) -> int:
        return d + self.min_budget_extra

    def _min_budget_text(self, d: int) -> str:
        return "d + 2"

    def _game(self, model: BaseModel, X: np.ndarray, targets: np.ndarray | None, rng: np.random.Generator
              ) -> tuple[MaskingGame, list[str]]:
        bg = self._background(model).reshape(-1, model.n_features)
        notes: list[str] = []
        baseline = self._param("baseline", None)
        weights = None
        if baseline is not None:
            bg = _baseline_row(baseline, bg, model.n_features)
        else:
            seed = int(rng.integers(2**31 - 1))
            bg, weights, note = summarize_background(bg, int(self._param("max_background", DEFAULT_MAX_BACKGROUND)), seed)
            if note:
                notes.append(note)
        game = MaskingGame(model, X.reshape(len(X), -1), bg, weights=weights, targets=targets,
                           batch_rows=int(self._param("batch_rows", 1 << 18)))
        return game, notes

    def _explain(self, model: BaseModel, X: np.ndarray, targets: np.ndarray | None) -> Explanation:
        d = model.n_features
        self._check_params(d)
        self._check_size(d)
        budget = self._budget(d) if self.has_budget else None
        rng = np.random.default_rng(self.random_state)
        game, notes = self._game(model, X, targets, rng)
        phi, stderr, extra = self._estimate(game, budget, rng)
        notes.extend(extra)
        base = game.empty
        if targets is not None:
            phi, base = phi[:, :, 0], base[:, 0]
            stderr = None if stderr is None else stderr[:, :, 0]
        params = {"budget": budget, "background_rows": game.n_background,
                  "random_state": self.random_state, **self.params}
        if isinstance(params.get("baseline"), np.ndarray):
            params["baseline"] = params["baseline"].tolist()
        return Explanation(
            values=phi, base_values=base, data=X.reshape(len(X), -1), feature_names=model.feature_names,
            output_names=model.output_names, method=self.name, params=params, stderr=stderr,
            targets=targets, n_model_evals=game.n_evals, input_shape=model.input_shape, notes=tuple(notes),
        )

    def _check_size(self, d: int) -> None:
        if d < 2:
            raise InvalidInputError(f"Shapley estimators need at least 2 features. Got d = {d}.")

    @abc.abstractmethod
    def _estimate(self, game: MaskingGame, budget: int | None, rng: np.random.Generator
                  ) -> tuple[np.ndarray, np.ndarray | None, list[str]]:
        """(φ, stderr or None, notes) for every row of the game."""


class RegressionShapley(ShapleyExplainer):
    """Shared by the regression estimators (kernel, leverage): the optional early stop.

    With ``tol`` set, a pilot quarter of the budget is spent on every row; rows whose
    largest standard error is below ``tol`` stop there, the others spend the rest of the
    budget on a second, independent estimate, averaged with the pilot in proportion to the
    coalitions each used (a convex combination keeps efficiency exact).
    """

    @abc.abstractmethod
    def _fit(self, game: MaskingGame, budget: int, rows: np.ndarray, rng: np.random.Generator
             ) -> tuple[np.ndarray, np.ndarray, bool]:
        """One regression fit on ``rows`` of the game."""

    def _estimate(self, game: MaskingGame, budget: int | None, rng: np.random.Generator
                  ) -> tuple[np.ndarray, np.ndarray | None, list[str]]:
        d = game.d
        m = int(budget or 0)
        if d < 62:
            m = min(m, (1 << d) - 2)
        rows = np.arange(game.n)
        tol = self.params.get("tol")
        low = self._min_budget(d)
        if tol is None or m // 4 < low or m - m // 4 < low:
            phi, se, exact = self._fit(game, m, rows, rng)
            notes = [f"The budget covers all {m} coalitions: the values are exact."] if exact else []
            return phi, se, notes
        m1 = m // 4
        phi, se, exact = self._fit(game, m1, rows, rng)
        todo = rows[se.reshape(game.n, -1).max(axis=1) >= tol]
        if len(todo):
            phi2, se2, _ = self._fit(game, m - m1, todo, rng)
            a, b = m1 / m, (m - m1) / m
            phi[todo] = a * phi[todo] + b * phi2
            se[todo] = np.sqrt((a * se[todo]) ** 2 + (b * se2) ** 2)
        notes = [f"tol={tol}: {game.n - len(todo)} of {game.n} rows stopped after {m1} of {m} coalitions."]
        return phi, se, notes


def _baseline_row(baseline: Any, bg: np.ndarray, d: int) -> np.ndarray:
    if isinstance(baseline, str):
        if baseline == "mean":
            return bg.mean(axis=0, keepdims=True)
        if baseline == "median":
            return np.median(bg, axis=0, keepdims=True)
        raise InvalidInputError(f"The 'baseline' parameter must be 'mean', 'median' or a row of {d} values. Got {baseline!r}.")
    row = np.asarray(baseline, dtype=np.float32).reshape(-1)
    if row.size != d or not np.all(np.isfinite(row)):
        raise InvalidInputError(
            f"The 'baseline' parameter must be 'mean', 'median' or a finite row of {d} values. Got {row.size} values."
        )
    return row[None, :]


# -- coalition sizes and sampling ----------------------------------------------------------
def kernel_size_mass(d: int) -> np.ndarray:
    """Shapley-kernel mass of each coalition size s = 0..d: (d−1)/(s(d−s)), 0 at s ∈ {0, d}.

    Every coalition of size s has kernel weight mass[s] / C(d, s) (Lundberg & Lee, NeurIPS 2017).
    """
    s = np.arange(d + 1, dtype=np.float64)
    mass = np.zeros(d + 1)
    inner = (s > 0) & (s < d)
    mass[inner] = (d - 1) / (s[inner] * (d - s[inner]))
    return mass


def random_subsets(rng: np.random.Generator, shape: tuple[int, ...], d: int, sizes: np.ndarray | int) -> np.ndarray:
    """Uniform random subsets of {0..d−1} with the given sizes: bool array ``(*shape, d)``.

    ``sizes`` broadcasts to ``shape``. A subset of size s is the s smallest of d uniform
    keys; one partial sort per distinct size (not per row) keeps this O(d) per subset.
    """
    size = np.broadcast_to(np.asarray(sizes, dtype=np.int64), shape).reshape(-1)
    out = np.zeros((len(size), d), dtype=bool)
    for s in np.unique(size):
        if s <= 0:
            continue
        idx = np.nonzero(size == s)[0]
        keys = rng.random((len(idx), d))
        if s >= d:
            out[idx] = True
            continue
        kth = np.partition(keys, s - 1, axis=1)[:, s - 1 : s]
        out[idx] = keys <= kth
    return out.reshape(*shape, d)


def _codes(masks: np.ndarray) -> np.ndarray:
    """One comparable code per mask (last axis): bytes of the packed bits as a void scalar."""
    packed = np.packbits(masks, axis=-1)
    return np.ascontiguousarray(packed).view(np.dtype((np.void, packed.shape[-1])))[..., 0]


def unique_random_subsets(rng: np.random.Generator, n: int, k: int, d: int, s: int, *, max_rounds: int = 200
                          ) -> np.ndarray:
    """``k`` distinct uniform subsets of size ``s`` of {0..d−1} for each of ``n`` rows: (n, k, d) bool.

    Simple random sampling without replacement: every subset is included with probability
    k / C(d, s). Small populations are enumerated and permuted; large ones are drawn and
    duplicates redrawn (rare when k ≪ C(d, s)).
    """
    total = math.comb(d, s)
    if k > total:
        raise InvalidInputError(f"Cannot draw {k} distinct subsets of size {s} from {d} features (only {total}).")
    if total <= max(4 * k, 64) and n * total <= 20_000_000:
        allsets = all_subsets(d, s)
        pick = np.argpartition(rng.random((n, total)), k - 1, axis=1)[:, :k] if k < total else np.tile(np.arange(total), (n, 1))
        return allsets[pick]
    masks = random_subsets(rng, (n, k), d, s)
    for _ in range(max_rounds):
        codes = _codes(masks)
        order = np.argsort(codes, axis=1, kind="stable")
        sorted_codes = np.take_along_axis(codes, order, axis=1)
        dup_sorted = np.zeros((n, k), dtype=bool)
        dup_sorted[:, 1:] = sorted_codes[:, 1:] == sorted_codes[:, :-1]
        if not dup_sorted.any():
            return masks
        dup = np.zeros((n, k), dtype=bool)
        np.put_along_axis(dup, order, dup_sorted, axis=1)
        rows, cols = np.nonzero(dup)
        masks[rows, cols] = random_subsets(rng, (len(rows),), d, s)
    raise RuntimeError("Could not draw distinct coalitions; this is a bug.")  # pragma: no cover


def all_subsets(d: int, s: int) -> np.ndarray:
    """Every subset of size s of {0..d−1} as a (C(d, s), d) bool array."""
    from itertools import combinations

    if s == 0:
        return np.zeros((1, d), dtype=bool)
    combos = np.array(list(combinations(range(d), s)), dtype=np.int64).reshape(-1, s)
    out = np.zeros((len(combos), d), dtype=bool)
    np.put_along_axis(out, combos, True, axis=1)
    return out


# -- the regression ----------------------------------------------------------------------
def constrained_wls(
    masks: np.ndarray,
    weights: np.ndarray,
    values: np.ndarray,
    empty: np.ndarray,
    full: np.ndarray,
    *,
    units: np.ndarray | None = None,
    strata: np.ndarray | None = None,
    fpc: np.ndarray | None = None,
    chunk: int = 4_000_000,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Shapley values as the efficiency-constrained weighted least-squares fit, for paired designs.

    Solves, per row, min_φ Σ_z w_z (v(z) − v(∅) − zᵀφ)² subject to 1ᵀφ = v(full) − v(∅)
    (Lundberg & Lee 2017; Covert & Lee, AISTATS 2021) through the projection of Musco &
    Witter (ICLR 2025): φ = (b/d)·1 + β with β ∈ 1⊥, so Σφ = b holds to rounding whatever
    the samples. The coalitions must come in adjacent complementary pairs (z, z̄) of equal
    weight; since Pz̄ = −Pz the pair's two terms collapse into one row z with weight 2w and
    target (t_z − t_z̄)/2, which halves the work.

    Parameters
    ----------
    masks : bool (n, 2h, d) or (2h, d) — pairs (z, z̄) at positions (2i, 2i+1).
    weights : (2h,) regression weights (equal within a pair).
    values : (n, 2h, K) game values. empty, full : (n, K) — v(∅) and v(all).
    units : int (2h,), optional — sampling unit of each coalition for the sandwich standard
        error (a pair is one unit); negative = enumerated (no sampling variance).
    strata : int (U,), optional — stratum of each unit (units in a stratum are exchangeable
        draws). fpc : (U,) finite-population correction (1 − sampling fraction) per unit.

    Returns
    -------
    phi : (n, d, K); stderr : (n, d, K) or None (when ``units`` is None).
    """
    n, m, K = values.shape
    d = masks.shape[-1]
    h = m // 2
    first = masks[..., 0::2, :]
    w2 = 2.0 * np.asarray(weights, dtype=np.float64)[0::2]
    out = np.empty((n, d, K))
    se = np.empty((n, d, K)) if units is not None else None
    P = np.eye(d) - 1.0 / d
    step = max(1, chunk // max(1, h * d))
    for a in range(0, n, step):
        sl = slice(a, min(n, a + step))
        r = sl.stop - a
        Z = (first[sl] if first.ndim == 3 else np.broadcast_to(first, (r, h, d))).astype(np.float64)
        b = full[sl] - empty[sl]  # (r, K)
        size = Z.sum(axis=2)[:, :, None]
        # t_z − t_z̄ with t = v − v(∅) − |z| b/d, and |z̄| = d − |z|
        diff = values[sl, 0::2] - values[sl, 1::2] - (2 * size - d) * (b[:, None, :] / d)
        target = 0.5 * diff
        ZwT = (Z * w2[None, :, None]).transpose(0, 2, 1)  # (r, d, h)
        Ginv = _projected_inverse(P @ (ZwT @ Z) @ P, P)
        phi = Ginv @ (ZwT @ target) + b[:, None, :] / d  # (r, d, K)
        out[sl] = phi
        if se is not None and units is not None:
            resid = target - Z @ (phi - b[:, None, :] / d)
            se[sl] = _sandwich_stderr(ZwT, resid, Ginv, np.asarray(units)[0::2], strata, fpc)
    return out, se


def _projected_inverse(PGP: np.ndarray, P: np.ndarray) -> np.ndarray:
    """P (PGP)⁺ P for a stack of d×d matrices whose range lies in 1⊥.

    Adding c·11ᵀ/d makes the matrix invertible when PGP has rank d − 1, and P kills the
    added direction again; a batched LU solve is far faster than an SVD per row. Rows that
    are rank-deficient (tiny budgets) fall back to the pseudo-inverse.
    """
    r, d, _ = PGP.shape
    c = np.trace(PGP, axis1=1, axis2=2) / d
    c = np.where(c > 0, c, 1.0)
    H = PGP + c[:, None, None] * (np.ones((d, d)) / d)
    try:
        inv = np.linalg.inv(H)
        ok = np.all(np.isfinite(inv), axis=(1, 2))
        ok &= np.linalg.norm(H @ inv - np.eye(d), axis=(1, 2)) < 1e-6
    except np.linalg.LinAlgError:
        inv = np.zeros_like(H)
        ok = np.zeros(r, dtype=bool)
    if not ok.all():
        inv[~ok] = np.linalg.pinv(PGP[~ok], hermitian=True)
    return P @ inv @ P


def _sandwich_stderr(ZwT: np.ndarray, resid: np.ndarray, Ginv: np.ndarray, units: np.ndarray,
                     strata: np.ndarray | None, fpc: np.ndarray | None) -> np.ndarray:
    """Sandwich (heteroskedasticity-robust) standard errors of the WLS fit over sampled units.

    φ̂ − φ ≈ G⁺ Σ_u s_u with unit scores s_u = Σ_{z ∈ u} w_z z e_z; the units of a stratum are
    exchangeable draws, so Var ≈ Σ_strata (1 − f) k/(k − 1) Σ_u (G⁺(s_u − s̄))².
    """
    r, d, _ = ZwT.shape
    K = resid.shape[2]
    sampled = np.nonzero(units >= 0)[0]
    if len(sampled) == 0:
        return np.zeros((r, d, K))
    u = units[sampled]
    st = np.zeros(len(u), dtype=np.int64) if strata is None else np.asarray(strata)[u]
    order = np.lexsort((u, st))  # units contiguous, strata contiguous
    sampled, u, st = sampled[order], u[order], st[order]
    starts = np.nonzero(np.r_[True, u[1:] != u[:-1]])[0]
    n_units = len(starts)
    st_u = st[starts]
    fpc_u = np.ones(n_units) if fpc is None else np.asarray(fpc, dtype=np.float64)[u[starts]]
    gstarts = np.nonzero(np.r_[True, st_u[1:] != st_u[:-1]])[0]
    gsize = np.diff(np.r_[gstarts, n_units])
    c_g = np.where(gsize > 1, gsize / np.maximum(gsize - 1, 1) * fpc_u[gstarts], 0.0)
    root_c = np.sqrt(np.repeat(c_g, gsize))
    out = np.empty((r, d, K))
    Zs = ZwT[:, :, sampled]
    for k in range(K):
        scores = Zs * resid[:, None, sampled, k]  # (r, d, sampled coalitions)
        if n_units < len(sampled):  # several coalitions per unit: sum them
            scores = np.add.reduceat(scores, starts, axis=2)  # (r, d, U)
        # Σ_g c_g Σ_{u∈g} (s_u − s̄_g)(s_u − s̄_g)ᵀ = Σ_u c_u s_u s_uᵀ − Σ_g c_g M_g M_gᵀ / k_g, M_g = Σ_{u∈g} s_u
        scaled = scores * root_c
        M = np.add.reduceat(scores, gstarts, axis=2)  # (r, d, G)
        C = scaled @ scaled.transpose(0, 2, 1) - (M * (c_g / gsize)) @ M.transpose(0, 2, 1)
        V = Ginv @ C @ Ginv
        out[:, :, k] = np.sqrt(np.maximum(np.diagonal(V, axis1=1, axis2=2), 0.0))
    return out
