"""Gaussian-process Shapley values: a GP surrogate of the game, its Shapley values in closed form.

The game v(z), z ∈ {0,1}^d, is modelled as a linear part plus a Gaussian process with the
Hamming product kernel (Rundel et al., ICML 2026)

    v(z) = β₀ + βᵀz + g(z),    g ~ GP(0, k),    k(z, z') = σ² Π_i ρ_i^[z_i ≠ z'_i],

ρ_i = exp(−1/ℓ_i) with one length-scale ℓ_i per feature. β has a flat prior (universal
kriging, Rasmussen & Williams 2006, §2.7), so a game that is additive in the features —
linear in z — is reproduced exactly; the kernel carries the interactions.

The Shapley map is linear, so the Shapley values of the posterior mean are the posterior
mean of the Shapley values, and their posterior covariance gives the standard errors.
For a product kernel both are available in closed form: the Shapley value of
z ↦ Π_i h_i(z_i) is (h_i(1) − h_i(0)) ∫₀¹ Π_{k≠i} (h_k(0)(1−t) + h_k(1)t) dt (Owen's
multilinear extension; the Shapley weights s!(d−s−1)!/d! are Beta integrals), a polynomial
of degree d − 1 in t that Gauss–Legendre quadrature with ⌈d/2⌉ + 1 nodes integrates exactly.
That costs O(d²) per training coalition. The prior covariance of the Shapley values is the
same double integral over (t, u).

v(∅) and v(N) are observed with a negligible jitter and the remaining efficiency residual
(rounding) is spread evenly, so Σφ = v(N) − v(∅) holds to 1e-10. Hyper-parameters (ℓ, the
noise-to-signal ratio τ; σ² and β profiled out) maximise the restricted marginal
likelihood with a few L-BFGS-B steps, batched over all rows.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ...errors import InvalidInputError
from ..base import register_explainer
from .base import ShapleyExplainer
from .exact import all_coalitions, shapley_matrix
from .game import MaskingGame
from .regression import one_blas_thread
from .sampling import kernel_design, random_subsets

__all__ = ["GPShap", "default_fit_points", "hamming_shapley_map", "hamming_shapley_prior_cov"]

# Bounds of the log-parameters: θ_i = 1/ℓ_i and τ = noise variance / σ².
_LOG_THETA = (np.log(1e-3), np.log(8.0))
_LOG_TAU = (np.log(1e-6), np.log(1.0))
_LOG_LAMBDA = (np.log(1e-2), np.log(1e8))  # prior variance of the linear coefficients / σ²
_INIT_LOG_THETA = np.log(0.5)
# Hyper-parameters are fitted per row on at most max(128, 8·d) coalitions (more points fit
# better, shared hyper-parameters across rows fit worse: measured on MLPs, d = 12).
_FIT_POINTS = 128
# Above 16 players the fit takes 8 coalitions per player, enough for per-player length-scales.
# Measured over 5 seeds (benchmarks/shapley_wide_seeds.py, error ÷ shap's at equal budget): on the
# benchmark's ReLU MLP d = 30 (one baseline) 128 fit points (one shared length-scale) read 0.69 at
# 10·d and 0.70 at 40·d, 150 (5 per player, per-player scales) 0.73 and 0.92, 240 = 8·d 0.54 and
# 0.60; held-out models (shapley_heldout.py's d = 20–40) in benchmarks/results/shapley_wide_seeds.md.
_FIT_POINTS_PER_PLAYER = 8
_FIT_ITER = 20
# Per-feature length-scales need about this many fit coalitions per feature; with fewer, one
# shared length-scale is fitted. Dev runs on MLPs not in the benchmark (error ÷ shap's, 10·d / 40·d):
# at d = 30 (128 fit points, 4.3 per feature) per-feature scales read 0.59/1.01, 0.58/0.65 and
# 0.71/0.74, a shared one 0.49/0.43, 0.56/0.59 and 0.60/0.76; at d = 24 (5.3 per feature)
# per-feature scales were better (0.51/0.49 against 0.77/0.63), and at d = 6 with 32 fit points
# (5.3 per feature) only per-feature scales find a dummy feature. Hence 5.
_FIT_POINTS_PER_LENGTH_SCALE = 5
_INITIAL_PER_FEATURE = 4  # adaptive=True: an initial KernelSHAP design of 4d coalitions
_ADAPTIVE_ROUNDS = 3  # model calls after the initial design
_CANDIDATES_PER_PAIR = 4
_MAX_CANDIDATES = 256  # candidate pairs per row and round
_JITTER = 1e-9  # relative noise on v(∅) and v(N): interpolated, the residual corrected exactly
_MAX_ELEMENTS = 1 << 22  # float64 elements of kernel matrices held at once


# -- closed forms ----------------------------------------------------------------------------
def _gauss_legendre(d: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights on [0, 1], exact for polynomials of degree ≤ d."""
    x, w = np.polynomial.legendre.leggauss(d // 2 + 1)
    return (x + 1.0) / 2.0, w / 2.0


def hamming_shapley_map(Z: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """Shapley values of z ↦ k(z_j, z)/σ² for every training coalition z_j.

    Parameters
    ----------
    Z : array (T, m, d) of 0/1 — training coalitions of T tasks.
    rho : array (T, d) in (0, 1) — per-feature correlation ρ_i = exp(−θ_i).

    Returns
    -------
    array (T, m, d) — row j holds φ(k(z_j, ·)) for a unit signal variance.
    """
    d = Z.shape[-1]
    t, w = _gauss_legendre(d)
    r = rho[:, None, :]  # (T, 1, d)
    L1 = r + (1.0 - r) * t[None, :, None]  # factor of a feature in z_j, at each node: (T, Q, d)
    L0 = 1.0 - (1.0 - r) * t[None, :, None]  # of a feature outside z_j
    l1, l0 = np.log(L1), np.log(L0)
    S = Z @ (l1 - l0).transpose(0, 2, 1) + l0.sum(axis=2)[:, None, :]  # Σ_k log L_k: (T, m, Q)
    E = w * np.exp(S)
    A1 = E @ (1.0 / L1)  # Σ_q w_q Π_k L_k / L_i when z_ji = 1: (T, m, d)
    A0 = E @ (1.0 / L0)
    b = 1.0 - r  # h_i(1) − h_i(0) = ±(1 − ρ_i)
    return np.where(Z > 0.5, b * A1, -b * A0)


def hamming_shapley_prior_cov(rho: np.ndarray) -> np.ndarray:
    """Prior covariance of the Shapley values of g ~ GP(0, Π_i ρ_i^[z_i ≠ z'_i]): (T, d, d).

    Cov(φ_i, φ_l) = ∫∫ E[(g(S+i) − g(S))(g(T+l) − g(T))] dt du with S ∌ i, T ∌ l drawn
    feature-wise with probabilities t and u; per feature k ∉ {i, l} the expectation of the
    kernel factor is g_k = 1 − (1 − ρ_k)(t + u − 2tu).
    """
    d = rho.shape[1]
    t, w = _gauss_legendre(d + 1)
    tt, uu = np.meshgrid(t, t, indexing="ij")
    ww = np.outer(w, w).reshape(-1)
    p = (tt + uu - 2.0 * tt * uu).reshape(-1)  # (Q²,)
    c = 1.0 - rho  # (T, d)
    g = 1.0 - c[:, None, :] * p[None, :, None]  # (T, Q², d)
    logg = np.log(g)
    prod = np.exp(logg.sum(axis=2))  # (T, Q²)
    inv = 1.0 / g
    sign = ((2.0 * tt - 1.0) * (2.0 * uu - 1.0)).reshape(-1)
    off = np.einsum("tq,tqi,tql->til", (ww * sign) * prod, inv, inv, optimize=True)
    cov = off * c[:, :, None] * c[:, None, :]
    diag = 2.0 * c * np.einsum("tq,tqi->ti", ww * prod, inv)
    idx = np.arange(d)
    cov[:, idx, idx] = diag
    return cov


def _hamming_kernel(Za: np.ndarray, Zb: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """exp(−Σ_i θ_i [z_i ≠ z'_i]) for two batches of coalitions: (T, ma, mb).

    Σ_i θ_i [z_i ≠ z'_i] = θᵀz + θᵀz' − 2 (θ∘z)ᵀz', one matrix product; computed in place
    (the (T, ma, mb) array is the largest the estimator holds).
    """
    Zt = Za * theta[:, None, :]
    out = Zt @ Zb.transpose(0, 2, 1)
    out *= -2.0
    out += Zt.sum(axis=2)[:, :, None]
    out += (Zb @ theta[:, :, None]).transpose(0, 2, 1)
    np.minimum(np.negative(out, out=out), 0.0, out=out)
    return np.exp(out, out=out)


def _basis(Z: np.ndarray) -> np.ndarray:
    """[1, z]: the linear part's regressors, (T, m, d + 1)."""
    return np.concatenate([np.ones((*Z.shape[:2], 1)), Z], axis=2)


# -- hyper-parameters --------------------------------------------------------------------------
def _neg_loglik(params: np.ndarray, Z: np.ndarray, y: np.ndarray, sampled: np.ndarray, shared: bool = False
                ) -> tuple[float, np.ndarray]:
    """Σ over tasks of the negative log marginal likelihood with σ² profiled out, and its gradient.

    params: (T·(d+2),) = log θ (d), log τ and log λ per task, or (d+2,) shared by every task
    (``shared``; σ² stays per task). The model is
    y ~ N(0, σ²(K̃ + λHHᵀ)) with K̃ = R + τ·diag(sampled) (β ~ N(0, λσ²I) integrated out).
    With P = (K̃ + λHHᵀ)⁻¹ = K̃⁻¹ − K̃⁻¹H M⁻¹HᵀK̃⁻¹, M = HᵀK̃⁻¹H + I/λ, and q = yᵀPy the
    objective is m/2 · log q + ½ log|K̃| + ½ log|M| + p/2 · log λ and its derivative
    ½ tr(W ∂(K̃ + λHHᵀ)) with W = P − m·Py(Py)ᵀ/q.
    """
    T, m, d = Z.shape
    p = d + 1
    par = np.broadcast_to(params, (T, d + 2)) if shared else params.reshape(T, d + 2)
    theta, tau, lam = np.exp(par[:, :d]), np.exp(par[:, d]), np.exp(par[:, d + 1])
    # In place where we can: (T, m, m) temporaries cost more than their arithmetic here.
    R = _hamming_kernel(Z, Z, theta)
    Kt = R.copy()
    diag = np.arange(m)
    Kt[:, diag, diag] += tau[:, None] * sampled[None, :] + _JITTER * (1.0 - sampled[None, :])
    _, ld_K = np.linalg.slogdet(Kt)
    P = np.linalg.inv(Kt)
    del Kt
    H = _basis(Z)
    KiH = P @ H
    M = H.transpose(0, 2, 1) @ KiH + np.eye(p) / lam[:, None, None]
    P -= (KiH @ np.linalg.inv(M)) @ KiH.transpose(0, 2, 1)  # (K̃ + λHHᵀ)⁻¹ by Woodbury
    b = (P @ y[:, :, None])[:, :, 0]
    q = np.maximum(np.einsum("tm,tm->t", y, b), 1e-300)
    _, ld_M = np.linalg.slogdet(M)
    f = 0.5 * m * np.log(q) + 0.5 * ld_K + 0.5 * ld_M + 0.5 * p * np.log(lam)
    b *= np.sqrt(m / q)[:, None]
    W = P
    W -= b[:, :, None] * b[:, None, :]  # W = P − m·Py(Py)ᵀ/q
    G = R
    G *= W
    g1 = G.sum(axis=2)  # G·1, (T, m)
    # Σ_jk G_jk [z_ji ≠ z_ki] = 2 ((ZᵀG1)_i − (ZᵀGZ)_ii)
    ZGZ = np.einsum("tmi,tmn,tni->ti", Z, G, Z, optimize=True)
    dD = 2.0 * (np.einsum("tmi,tm->ti", Z, g1) - ZGZ)
    grad_theta = -0.5 * theta * dD
    grad_tau = 0.5 * tau * np.einsum("tmm,m->t", W, sampled)
    grad_lam = 0.5 * lam * np.einsum("tmi,tmn,tni->t", H, W, H, optimize=True)
    grad = np.concatenate([grad_theta, grad_tau[:, None], grad_lam[:, None]], axis=1)
    return float(f.sum()), (grad.sum(axis=0) if shared else grad.reshape(-1))


def fit_hyperparameters(Z: np.ndarray, y: np.ndarray, sampled: np.ndarray, *, max_iter: int = 30,
                        shared: bool = False, x0: np.ndarray | None = None, isotropic: bool = False
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Length-scales, noise ratio and linear-part prior of every task by maximum likelihood.

    Parameters
    ----------
    Z : array (T, m, d) of 0/1; y : array (T, m) standardized values; sampled : (m,) 1.0 for
        coalitions observed with the fitted noise, 0.0 for ∅ and N (interpolated).
    isotropic : one length-scale shared by every feature (3 parameters per task instead of d + 2).

    Returns
    -------
    theta : (T, d) = 1/ℓ. tau : (T,) noise variance / σ². lam : (T,) prior variance of the
        linear coefficients / σ².
    """
    from scipy.optimize import minimize

    T, _, d = Z.shape
    if isotropic:
        def objective(p: np.ndarray) -> tuple[float, np.ndarray]:
            q = p.reshape(T, 3)
            val, g = _neg_loglik(np.concatenate([np.repeat(q[:, :1], d, axis=1), q[:, 1:]], axis=1).reshape(-1),
                                 Z, y, sampled)
            g = g.reshape(T, d + 2)
            return val, np.concatenate([g[:, :d].sum(axis=1, keepdims=True), g[:, d:]], axis=1).reshape(-1)

        x0i = np.tile(np.r_[_INIT_LOG_THETA, np.log(1e-2), np.log(1e2)], T)
        with np.errstate(all="ignore"):
            res = minimize(objective, x0i, jac=True, method="L-BFGS-B", bounds=[_LOG_THETA, _LOG_TAU, _LOG_LAMBDA] * T,
                           options={"maxiter": max_iter})
        q = (res.x if np.all(np.isfinite(res.x)) else x0i).reshape(T, 3)
        return np.repeat(np.exp(q[:, :1]), d, axis=1), np.exp(q[:, 1]), np.exp(q[:, 2])
    k = 1 if shared else T
    if x0 is None:
        x0 = np.r_[np.full(d, _INIT_LOG_THETA), np.log(1e-2), np.log(1e2)]
    x0 = np.tile(x0, k)
    bounds = [_LOG_THETA] * d + [_LOG_TAU, _LOG_LAMBDA]
    with np.errstate(all="ignore"):
        res = minimize(_neg_loglik, x0, args=(Z, y, sampled, shared), jac=True, method="L-BFGS-B",
                       bounds=bounds * k, options={"maxiter": max_iter})
    x = res.x if np.all(np.isfinite(res.x)) else x0
    par = x.reshape(k, d + 2)
    return np.exp(par[:, :d]), np.exp(par[:, d]), np.exp(par[:, d + 1])


def default_fit_points(d: int) -> int:
    """Coalitions per row the hyper-parameter fit uses by default: max(128, 8·d) (before the cap
    at budget + 2)."""
    return max(_FIT_POINTS, _FIT_POINTS_PER_PLAYER * d)


def shared_length_scale(fit_points: int, d: int) -> bool:
    """True when ``fit_points`` coalitions are too few to fit d per-feature length-scales."""
    return fit_points < _FIT_POINTS_PER_LENGTH_SCALE * d


# -- the posterior ------------------------------------------------------------------------------
def gp_shapley(Z: np.ndarray, y: np.ndarray, sampled: np.ndarray, theta: np.ndarray, tau: np.ndarray,
               lam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Posterior mean and standard deviation of the Shapley values, per task.

    Z : (T, m, d) 0/1 coalitions, y : (T, m) standardized values, sampled : (m,),
    theta : (T, d), tau : (T,), lam : (T,). Returns φ (T, d) and its posterior sd (T, d),
    both in the units of y (σ² is its maximum-likelihood estimate given the rest).
    Universal kriging with β ~ N(0, λσ²I) (Rasmussen & Williams 2006, eqs. 2.41–2.42).
    """
    from scipy.linalg import cho_factor, cho_solve

    T, m, d = Z.shape
    p = d + 1
    rho = np.exp(-theta)
    Psi = hamming_shapley_map(Z, rho)  # (T, m, d)
    C = hamming_shapley_prior_cov(rho)  # (T, d, d)
    H = _basis(Z)
    A_H = np.concatenate([np.zeros((d, 1)), np.eye(d)], axis=1).T  # Shapley of the basis: (p, d)
    phi = np.empty((T, d))
    sd = np.empty((T, d))
    step = max(1, _MAX_ELEMENTS // (m * m))
    for a in range(0, T, step):
        sl = slice(a, min(T, a + step))
        R = _hamming_kernel(Z[sl], Z[sl], theta[sl])
        noise = tau[sl, None] * sampled[None, :] + _JITTER * (1.0 - sampled[None, :])
        R[:, np.arange(m), np.arange(m)] += noise
        for i, task in enumerate(range(sl.start, sl.stop)):
            cf = cho_factor(R[i], lower=True, check_finite=False)
            rhs = np.concatenate([y[task, :, None], H[task], Psi[task]], axis=1)
            sol = cho_solve(cf, rhs, check_finite=False)
            Kiy, KiH, KiPsi = sol[:, 0], sol[:, 1 : 1 + p], sol[:, 1 + p :]
            M = H[task].T @ KiH + np.eye(p) / lam[task]
            beta = np.linalg.solve(M, H[task].T @ Kiy)
            resid = Kiy - KiH @ beta  # K̃⁻¹(y − Hβ) = (K̃ + λHHᵀ)⁻¹y
            phi[task] = beta[1:] + Psi[task].T @ resid
            Mi = np.linalg.inv(M)
            sigma2 = _signal_variance(cf[0], KiH, Mi, resid, y[task], m)
            Rm = A_H - H[task].T @ KiPsi  # (p, d)
            cov = C[task] - Psi[task].T @ KiPsi + Rm.T @ (Mi @ Rm)
            sd[task] = np.sqrt(np.maximum(np.diagonal(cov), 0.0) * sigma2)
    return phi, sd


def _signal_variance(L: np.ndarray, KiH: np.ndarray, Mi: np.ndarray, Py: np.ndarray, y: np.ndarray, m: int) -> float:
    """σ² that scales the posterior: the larger of its maximum-likelihood and its
    leave-one-out (cross-validation) estimates.

    With P = (K̃ + λHHᵀ)⁻¹ the leave-one-out residual of point j is (Py)_j / P_jj with
    predictive variance σ²/P_jj, so σ̂²_CV = mean_j (Py)_j² / P_jj makes the standardized
    leave-one-out residuals unit-variance (Sundararajan & Keerthi, Neural Computation 2001).
    The maximum-likelihood σ̂² = yᵀPy/m is over-confident when the length-scales are
    misspecified (Bachoc, CSDA 2013) — which made gp's intervals too narrow at 40·d (coverage
    down to 0.75) — while σ̂²_CV alone is noisier with few coalitions (10·d). Taking the larger
    guards against both; it is a rule, not a constant fitted to coverage.
    ``L``: the lower Cholesky factor of K̃; ``KiH`` = K̃⁻¹H; ``Mi`` = M⁻¹; ``Py`` = P y.
    """
    from scipy.linalg import lapack

    ml = max(float(y @ Py), 0.0) / m
    Linv, info = lapack.dtrtri(L, lower=1)
    if info != 0:  # pragma: no cover — K̃ is positive definite (jitter and τ ≥ 1e-6)
        return ml
    Linv = np.tril(Linv)
    diag_P = np.einsum("ij,ij->j", Linv, Linv) - np.einsum("ip,pq,iq->i", KiH, Mi, KiH)
    cv = float(np.mean(Py**2 / np.maximum(diag_P, 1e-300)))
    return max(ml, cv if np.isfinite(cv) else 0.0)


def _variance_reduction(Z: np.ndarray, sampled: np.ndarray, theta: np.ndarray, tau: np.ndarray, lam: np.ndarray,
                        C: np.ndarray) -> np.ndarray:
    """‖Cov(φ, f(c))‖² / (Var f(c) + τ) under the posterior given Z, for candidates C (T, c, d): (T, c)."""
    from scipy.linalg import cho_factor, cho_solve

    T, m, d = Z.shape
    p = d + 1
    rho = np.exp(-theta)
    Psi, Psi_c = hamming_shapley_map(Z, rho), hamming_shapley_map(C, rho)
    H, H_c = _basis(Z), _basis(C)
    A_H = np.concatenate([np.zeros((d, 1)), np.eye(d)], axis=1).T
    out = np.empty(C.shape[:2])
    for t in range(T):
        Kt = _hamming_kernel(Z[t : t + 1], Z[t : t + 1], theta[t : t + 1])[0]
        Kt[np.arange(m), np.arange(m)] += tau[t] * sampled + _JITTER * (1.0 - sampled)
        kx = _hamming_kernel(Z[t : t + 1], C[t : t + 1], theta[t : t + 1])[0]  # (m, c)
        sol = cho_solve(cho_factor(Kt, lower=True, check_finite=False), np.concatenate([H[t], Psi[t], kx], axis=1),
                        check_finite=False)
        KiH, KiPsi, Kikx = sol[:, :p], sol[:, p : p + d], sol[:, p + d :]
        M = H[t].T @ KiH + np.eye(p) / lam[t]
        R_phi = A_H - H[t].T @ KiPsi  # (p, d)
        R_c = H_c[t].T - H[t].T @ Kikx  # (p, c)
        MiR_c = np.linalg.solve(M, R_c)
        cov = Psi_c[t].T - Psi[t].T @ Kikx + R_phi.T @ MiR_c  # (d, c)
        var = 1.0 - np.einsum("mc,mc->c", kx, Kikx) + np.einsum("pc,pc->c", R_c, MiR_c)
        out[t] = np.sum(cov**2, axis=0) / (np.maximum(var, 0.0) + tau[t])
    return out


# -- the explainer ------------------------------------------------------------------------------
@register_explainer
class GPShap(ShapleyExplainer):
    """Gaussian-process Shapley values (Rundel et al., ICML 2026), in numpy.

    Coalitions come from KernelSHAP's design (paired draws, the smallest and largest sizes
    enumerated when the budget covers them); a GP with a linear mean and the Hamming product
    kernel (per-feature length-scales, restricted-likelihood fit) is fitted to each row's
    game and its Shapley values are taken in closed form. Additive games are reproduced
    exactly; Σφ = f(x) − E f(background) holds to rounding; standard errors are posterior
    standard deviations, with the signal variance σ² the larger of its maximum-likelihood and
    leave-one-out estimates (see :func:`_signal_variance`). The GP costs O(m³) per row for
    m = budget + 2 coalitions, so it is meant for small budgets (tens of coalitions per
    feature), where it beats regression. It runs on one BLAS thread (many small matrices).

    Parameters
    ----------
    model, background, random_state : as for :class:`KernelShap`.
    budget : int ≥ d + 2, default 40·d (capped at 2^d − 2) — coalitions per explained row.
    adaptive : bool, default False — spend an initial KernelSHAP design of 4d coalitions, then
        pick the rest in 3 batches of complementary pairs where the posterior variance of φ
        shrinks most (worth it when model calls are expensive; needs budget ≥ 4d + 2).
    fit_points : int, default max(128, 8·d) — coalitions per row (a random subset, with ∅ and N)
        used to fit the hyper-parameters; the posterior uses all of them. Fewer than 5 per player
        fit one shared length-scale instead of one per player.
    fit_iter : int, default 20 — L-BFGS-B iterations of the hyper-parameter fit.

    ``Explanation.params`` reports ``overhead_ms_per_row`` (wall time outside model calls,
    per explained row) and ``overhead_cpu_ms_per_row`` (the same in process CPU time, the
    better figure on a shared machine when the BLAS runs one thread).

    Examples
    --------
    >>> import numpy as np, leanlens
    >>> f = leanlens.as_model(lambda X: X @ np.arange(1.0, 6.0), n_features=5)
    >>> e = GPShap(f, background=np.zeros((1, 5)), budget=12, random_state=0).explain(np.ones((1, 5)), target=0)
    >>> np.round(e.values[0], 6).tolist()
    [1.0, 2.0, 3.0, 4.0, 5.0]
    """

    name = "gp"
    extra_params = ("fit_points", "fit_iter")
    summary = "Gaussian-process surrogate (Hamming kernel, fitted length-scales); Shapley values in closed form."

    def __init__(self, model: Any, *, background: Any = None, budget: int | None = None,
                 random_state: int | None = None, adaptive: bool = False, **params: Any) -> None:
        super().__init__(model, background=background, budget=budget, random_state=random_state, **params)
        self.adaptive = adaptive
        self._overhead = (0.0, 0.0)  # (wall, cpu) ms per row outside model calls, of the last explain

    def _check_extra_params(self, d: int) -> None:
        if self._param("tol", None) is not None:
            raise InvalidInputError("The 'tol' parameter is not supported by the 'gp' explainer (its cost is set by 'budget').")
        for name, low in (("fit_points", d + 4), ("fit_iter", 1)):
            v = self.params.get(name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int | np.integer) or v < low):
                raise InvalidInputError(f"The {name!r} parameter of GPShap must be an int ≥ {low}. Got {v!r} instead.")
        if not isinstance(self.adaptive, bool | np.bool_):
            raise InvalidInputError(f"The 'adaptive' parameter of GPShap must be True or False. Got {self.adaptive!r}.")

    def _budget(self, d: int) -> int:
        if self.budget is None:
            return max(self._min_budget(d), min(40 * d, (1 << d) - 2 if d < 62 else 40 * d))
        return super()._budget(d)

    def _explain(self, model: Any, X: np.ndarray, targets: np.ndarray | None) -> Any:
        expl = super()._explain(model, X, targets)
        expl.params["adaptive"] = bool(self.adaptive)
        expl.params["overhead_ms_per_row"] = round(self._overhead[0], 3)
        expl.params["overhead_cpu_ms_per_row"] = round(self._overhead[1], 3)
        return expl

    def _describe(self, d: int, budget: int | None) -> tuple[dict[str, Any], list[str]]:
        points = min(int(self.params.get("fit_points") or default_fit_points(d)), int(budget or 0) + 2)
        if d < 62 and int(budget or 0) >= (1 << d) - 2:
            return {}, []
        shared = shared_length_scale(points, d)
        note = ([f"gp fits one length-scale shared by the {d} players ({points} fit coalitions are too few for "
                 f"{d} per-player scales: fewer than {_FIT_POINTS_PER_LENGTH_SCALE} per player)."] if shared else [])
        return {"length_scales": "shared" if shared else "per player", "fit_points": points}, note

    def _min_budget(self, d: int) -> int:
        if self.adaptive:  # a budget covering every coalition is exact and needs no design
            return min(_INITIAL_PER_FEATURE * d + 2, (1 << d) - 2 if d < 62 else _INITIAL_PER_FEATURE * d + 2)
        return d + self.min_budget_extra

    def _min_budget_text(self, d: int) -> str:
        if self.adaptive:
            return (f"{_INITIAL_PER_FEATURE}d + 2 with adaptive=True (an initial design of {_INITIAL_PER_FEATURE}d "
                    "coalitions, then at least one adaptively chosen pair)")
        return "d + 2"

    def _estimate(self, game: MaskingGame, budget: int | None, rng: np.random.Generator
                  ) -> tuple[np.ndarray, np.ndarray | None, list[str]]:
        with one_blas_thread():  # many small matrices: a multi-threaded BLAS only spins
            return self._estimate_one_thread(game, budget, rng)

    def _estimate_one_thread(self, game: MaskingGame, budget: int | None, rng: np.random.Generator
                             ) -> tuple[np.ndarray, np.ndarray | None, list[str]]:
        cpu0, wall0 = time.process_time(), time.perf_counter()
        model_cpu = model_wall = 0.0
        d, n, K = game.d, game.n, game.n_outputs
        m = int(budget or 0)
        notes: list[str] = []

        def play(masks: np.ndarray) -> np.ndarray:
            nonlocal model_cpu, model_wall
            c, w = time.process_time(), time.perf_counter()
            out = game(masks)  # (n, m, K)
            model_cpu += time.process_time() - c
            model_wall += time.perf_counter() - w
            return out

        if d < 62 and m >= (1 << d) - 2:
            phi, sd = self._exact(game, play)
            notes.append(f"The budget covers all {(1 << d) - 2} coalitions: the values are exact.")
        else:
            initial = _INITIAL_PER_FEATURE * d if self.adaptive else m
            masks, _, _, _ = kernel_design(d, initial, n, rng)
            values = play(masks)
            if self.adaptive:
                n_initial = masks.shape[1]
                rounds = self._adaptive_rounds(m - n_initial)
                Z, Y, sampled = self._tasks(game, masks, values)
                theta, tau, lam = self._hyper(Z, _standardize(Y)[2], sampled, rng)  # steer every round
                for pairs in rounds:
                    new = self._choose_pairs(Z, sampled, theta, tau, lam, K, pairs, rng)
                    masks = np.concatenate([masks, new], axis=1)
                    values = np.concatenate([values, play(new)], axis=1)
                    Z, Y, sampled = self._tasks(game, masks, values)
                notes.append(f"adaptive=True: {n_initial} initial coalitions per row, then {masks.shape[1] - n_initial} "
                             f"chosen in {len(rounds)} batches where the posterior variance of φ shrinks most.")
            Z, Y, sampled = self._tasks(game, masks, values)
            phi, sd = self._fit_and_solve(Z, Y, sampled, rng)
            phi = phi.reshape(n, K, d).transpose(0, 2, 1)
            sd = sd.reshape(n, K, d).transpose(0, 2, 1)
            # The GP interpolates v(∅) and v(N) up to the jitter; spread the rest evenly.
            resid = (game.full - game.empty) - phi.sum(axis=1)
            phi += resid[:, None, :] / d
        self._overhead = (1e3 * (time.perf_counter() - wall0 - model_wall) / max(n, 1),
                          1e3 * (time.process_time() - cpu0 - model_cpu) / max(n, 1))
        return phi, sd, notes

    @staticmethod
    def _tasks(game: MaskingGame, masks: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One GP task per (row, output): coalitions (T, m+2, d) with ∅ and N first, values (T, m+2)."""
        n, m, d = masks.shape
        K = values.shape[2]
        Z = np.concatenate([np.zeros((n, 1, d)), np.ones((n, 1, d)), masks.astype(np.float64)], axis=1)
        V = np.concatenate([game.empty[:, None, :], game.full[:, None, :], values], axis=1)  # (n, m+2, K)
        return np.repeat(Z, K, axis=0), V.transpose(0, 2, 1).reshape(n * K, m + 2), np.r_[0.0, 0.0, np.ones(m)]

    @staticmethod
    def _adaptive_rounds(left: int) -> list[int]:
        """Pairs per adaptive batch: the coalitions left after the initial design, in ≤ 3 model calls."""
        pairs = left // 2
        k = min(_ADAPTIVE_ROUNDS, pairs)
        return [pairs // k + (1 if i < pairs % k else 0) for i in range(k)] if k else []

    @staticmethod
    def _choose_pairs(Z: np.ndarray, sampled: np.ndarray, theta: np.ndarray, tau: np.ndarray, lam: np.ndarray,
                      K: int, pairs: int, rng: np.random.Generator) -> np.ndarray:
        """The ``pairs`` complementary pairs per row whose observation shrinks tr Cov(φ) most: (n, 2·pairs, d).

        Candidates are random pairs (sizes uniform over 1..d−1); each coalition z is scored by
        the reduction of the posterior trace of Cov(φ) from observing f(z) alone,
        ‖Cov(φ, f(z))‖² / (Var f(z) + τ), summed over the pair and the row's outputs.
        """
        T, _, d = Z.shape
        n = T // K
        n_cand = min(_CANDIDATES_PER_PAIR * pairs, _MAX_CANDIDATES)
        sizes = rng.integers(1, d, size=(n, n_cand))
        first = random_subsets(rng, (n, n_cand), d, sizes)
        cand = np.stack([first, ~first], axis=2).reshape(n, 2 * n_cand, d)
        C = np.repeat(cand.astype(np.float64), K, axis=0)  # (T, 2c, d)
        scores = _variance_reduction(Z, sampled, theta, tau, lam, C)  # (T, 2c)
        per_pair = scores.reshape(n, K, n_cand, 2).sum(axis=(1, 3))
        best = np.argpartition(-per_pair, pairs - 1, axis=1)[:, :pairs] if pairs < n_cand else np.tile(
            np.arange(n_cand), (n, 1))
        chosen = np.take_along_axis(first, best[:, :, None], axis=1)
        return np.stack([chosen, ~chosen], axis=2).reshape(n, 2 * best.shape[1], d)

    def _hyper(self, Z: np.ndarray, Ys: np.ndarray, sampled: np.ndarray, rng: np.random.Generator
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        m, d = Z.shape[1], Z.shape[2]
        fit_m = int(self.params.get("fit_points") or default_fit_points(d))
        sub = np.r_[0, 1, 2 + np.sort(rng.choice(m - 2, size=fit_m - 2, replace=False))] if fit_m < m else np.arange(m)
        return fit_hyperparameters(Z[:, sub], Ys[:, sub], sampled[sub],
                                   max_iter=int(self.params.get("fit_iter") or _FIT_ITER),
                                   isotropic=shared_length_scale(len(sub), d))

    def _fit_and_solve(self, Z: np.ndarray, Y: np.ndarray, sampled: np.ndarray, rng: np.random.Generator
                       ) -> tuple[np.ndarray, np.ndarray]:
        flat, scale, Ys = _standardize(Y)
        theta, tau, lam = self._hyper(Z, Ys, sampled, rng)
        phi, sd = gp_shapley(Z, Ys, sampled, theta, tau, lam)
        phi[flat] = 0.0
        sd[flat] = 0.0
        return phi * scale, sd * scale

    @staticmethod
    def _exact(game: MaskingGame, play: Any) -> tuple[np.ndarray, np.ndarray]:
        d = game.d
        masks = all_coalitions(d)
        v = np.concatenate([game.empty[:, None], play(masks[1:-1]), game.full[:, None]], axis=1)
        phi = np.einsum("rmk,md->rdk", v, shapley_matrix(d), optimize=True)
        return phi, np.zeros_like(phi)


def _standardize(Y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(constant-game flags (T,), scales (T, 1), standardized values): a constant game gets scale 1."""
    mean = Y.mean(axis=1, keepdims=True)
    scale = Y.std(axis=1, keepdims=True)
    flat = scale[:, 0] <= 1e-12 * (1.0 + np.abs(mean[:, 0]))
    scale = np.where(flat[:, None], 1.0, scale)
    return flat, scale, (Y - mean) / scale
