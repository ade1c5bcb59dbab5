"""The efficiency-constrained weighted least-squares solve of the regression estimators,
with sandwich standard errors over the sampled units."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import student_t_factor

__all__ = ["constrained_basis_wls", "constrained_wls", "one_blas_thread"]

#: Matrix entries (rows × pairs × d) handled per chunk of the batched solve (memory cap).
SOLVE_CHUNK_ENTRIES = 4_000_000
#: ‖H H⁻¹ − I‖ above this marks a row's inverse as unreliable (→ pseudo-inverse).
INVERSE_CHECK_TOL = 1e-6
#: HC3 leverage correction: 1 − leverage is floored here (a pair the fit interpolates).
_MIN_ONE_MINUS_LEVERAGE = 0.05


def _constrained_wls(
    masks: np.ndarray,
    weights: np.ndarray,
    values: np.ndarray,
    empty: np.ndarray,
    full: np.ndarray,
    *,
    units: np.ndarray | None = None,
    strata: np.ndarray | None = None,
    fpc: np.ndarray | None = None,
    chunk: int = SOLVE_CHUNK_ENTRIES,
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
        Ginv = _projected_inverse(P @ (ZwT @ Z) @ P)
        phi = Ginv @ (ZwT @ target) + b[:, None, :] / d  # (r, d, K)
        out[sl] = phi
        if se is not None and units is not None:
            resid = target - Z @ (phi - b[:, None, :] / d)
            # HC3: a pair's residual is divided by 1 − its leverage (the fit pulls towards the pairs)
            lev = np.einsum("rhp,rhp->rh", Z @ Ginv, Z) * w2[None, :]
            resid = resid / np.maximum(1.0 - lev, _MIN_ONE_MINUS_LEVERAGE)[:, :, None]
            se[sl] = _sandwich_stderr(ZwT, resid, Ginv, np.asarray(units)[0::2], strata, fpc)
    return out, se


def _projected_inverse(PGP: np.ndarray) -> np.ndarray:
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
        probe = np.ones((d, 1)) / np.sqrt(d) + np.arange(d)[:, None] / d  # H (H⁻¹ v) = v on a fixed v
        ok &= np.linalg.norm(H @ (inv @ probe) - probe, axis=(1, 2)) < INVERSE_CHECK_TOL * np.linalg.norm(probe)
    except np.linalg.LinAlgError:
        inv = np.zeros_like(H)
        ok = np.zeros(r, dtype=bool)
    if not ok.all():
        inv[~ok] = np.linalg.pinv(PGP[~ok], hermitian=True)
    # P X P by centring rows and columns: the same as two products with P, in O(d²)
    return inv - inv.mean(axis=1, keepdims=True) - inv.mean(axis=2, keepdims=True) + inv.mean(axis=(1, 2), keepdims=True)


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
    root_c = np.sqrt(np.repeat(c_g, gsize)) * student_t_factor(n_units - len(gstarts))
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


def _constrained_basis_wls(
    A: np.ndarray,
    weights: np.ndarray,
    y: np.ndarray,
    total: np.ndarray,
    transform: np.ndarray,
    *,
    units: np.ndarray | None = None,
    ridge: np.ndarray | None = None,
    press: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Constrained weighted least squares on a general basis, mapped to Shapley values.

    Per row solves min_a Σ_z w_z (y_z − A_z a)² subject to 1ᵀa = total, then returns
    φ = T a. With the odd Fourier basis of :mod:`.polyshap` (paired targets), the constraint
    is efficiency, so Σφ = 2·total holds to rounding. The constraint is removed by writing
    a = (total/p)·1 + u with u ∈ 1⊥ (as in :func:`constrained_wls`).

    Parameters
    ----------
    A : (n, h, p) basis values of each pair's first coalition. weights : (h,) — pair weights.
    y : (n, h, K) targets. total : (n, K) — the value 1ᵀa must take.
    transform : (n, d, p) or (d, p) — coefficients → φ.
    units : (h,) int, optional — sampling unit of each pair (negative = enumerated) for
        sandwich standard errors with the HC3 leverage correction (the basis can be large
        next to the sampled pairs, where the plain sandwich is too small).
    ridge : (p,), optional — a tiny penalty per coefficient that keeps the solve regular
        when the design cannot separate some terms (it never changes a well-posed fit by more
        than rounding at the sizes used).
    press : (n,) array, optional — filled with each row's leave-one-out prediction error
        (PRESS, Σ over sampled pairs and outputs of (e/(1 − leverage))²): how well the basis
        predicts pairs it has not seen, used to choose between bases. Needs ``units``.

    Returns
    -------
    phi : (n, d, K); stderr : (n, d, K) or None.
    """
    n, h, p = A.shape
    K = y.shape[2]
    T = transform
    d = T.shape[-2]
    w = np.asarray(weights, dtype=np.float64)
    out = np.empty((n, d, K))
    se = np.empty((n, d, K)) if units is not None else None
    step = max(1, SOLVE_CHUNK_ENTRIES // max(1, h * p))
    for a in range(0, n, step):
        sl = slice(a, min(n, a + step))
        Ab = A[sl]
        Tb = T[sl] if T.ndim == 3 else T[None]
        a0 = total[sl][:, None, :] / p  # (r, 1, K)
        resid0 = y[sl] - Ab.sum(axis=2, keepdims=True) * a0  # y − A a0 with a0 = (total/p)·1
        AwT = (Ab * w[None, :, None]).transpose(0, 2, 1)  # (r, p, h)
        G = AwT @ Ab
        if ridge is not None:
            scale = np.trace(G, axis1=1, axis2=2)[:, None] / p
            G = G + np.einsum("rp,pq->rpq", scale * ridge[None, :], np.eye(p))
        # P G P by centring rows and columns (O(p²), not two p³ products)
        PGP = G - G.mean(axis=1, keepdims=True) - G.mean(axis=2, keepdims=True) + G.mean(axis=(1, 2), keepdims=True)
        Ginv = _projected_inverse(PGP)
        u = Ginv @ (AwT @ resid0)  # (r, p, K)
        coef = u + a0
        out[sl] = Tb @ coef
        if se is not None and units is not None:
            resid = resid0 - Ab @ u  # (r, h, K)
            sampled = np.nonzero(np.asarray(units) >= 0)[0]
            if len(sampled) == 0:
                se[sl] = 0.0
                if press is not None:
                    press[sl] = 0.0
                continue
            As = Ab[:, sampled, :]
            lev = np.einsum("rhp,rhp->rh", As @ Ginv, As) * w[sampled]
            adj = resid[:, sampled, :] / np.maximum(1.0 - lev, _MIN_ONE_MINUS_LEVERAGE)[:, :, None]
            if press is not None:
                press[sl] = (adj**2).sum(axis=(1, 2))
            k = len(sampled)
            # φ̂ − φ ≈ T G⁺ Σ_u s_u with unit scores s_u = w_u A_u e_u: project the scores to φ first
            # (d × units) so the covariance never needs a p × p product per output.
            proj = (Tb @ Ginv) @ AwT[:, :, sampled]  # (r, d, k)
            for j in range(K):
                s = proj * adj[:, None, :, j]
                s = s - s.mean(axis=2, keepdims=True)
                se[sl, :, j] = np.sqrt((s**2).sum(axis=2) * (k / max(k - 1, 1))) * student_t_factor(k - 1)
    return out, se


def one_blas_thread() -> Any:
    """Many small matrices: a multi-threaded BLAS only spins (5× slower on a busy 2-core
    machine), so the solves run on one BLAS thread; the model calls are not affected."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def constrained_wls(*args: Any, **kwargs: Any) -> tuple[np.ndarray, np.ndarray | None]:
    with one_blas_thread():
        return _constrained_wls(*args, **kwargs)


def constrained_basis_wls(*args: Any, **kwargs: Any) -> tuple[np.ndarray, np.ndarray | None]:
    with one_blas_thread():
        return _constrained_basis_wls(*args, **kwargs)


constrained_wls.__doc__ = _constrained_wls.__doc__
constrained_basis_wls.__doc__ = _constrained_basis_wls.__doc__
