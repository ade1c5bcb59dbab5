"""The one statistic of ``compare()``: noise-corrected explanation distances and their ratio.

Pure functions over arrays of explanations. ``phi`` arrays have shape (n_seeds, n, d): the
runs of one explainer on one model at one or two seeds (common random numbers across models).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

__all__ = ["Distances", "distances", "ratio_interval", "share_moves"]


def _unit_rms(phi: np.ndarray) -> np.ndarray:
    """Scale a model's runs by one factor so that their seed-averaged rows have unit RMS norm."""
    mean = phi.mean(axis=0)
    rms = float(np.sqrt(np.mean(np.sum(mean**2, axis=1))))
    return phi / rms if rms > 1e-12 else phi


@dataclasses.dataclass(frozen=True)
class Distances:
    """Per-row squared distances of one model's explanations to the original's.

    ``corrected[i]`` is an unbiased estimate of ``‖φ̃_orig,i − φ̃_model,i‖²``: the cross product
    ``δ¹·δ²`` of the two seeds' differences, which equals the seed-averaged squared distance
    ``observed[i]`` minus the estimator's variance ``variance[i]`` (zero for one deterministic run).
    """

    observed: np.ndarray
    variance: np.ndarray
    corrected: np.ndarray

    def distance(self) -> float:
        """Noise-corrected RMS distance over rows (0 when the correction overshoots)."""
        return float(np.sqrt(max(float(self.corrected.mean()), 0.0)))

    def noise(self) -> float:
        """RMS standard error of the seed-averaged difference (the estimator noise)."""
        return float(np.sqrt(max(float(self.variance.mean()), 0.0)))


def distances(phi_o: np.ndarray, phi_m: np.ndarray) -> Distances:
    """Noise-corrected per-row squared distances between two models' runs (same seeds)."""
    a, b = _unit_rms(phi_o), _unit_rms(phi_m)
    delta = a - b
    mean = delta.mean(axis=0)
    observed = np.sum(mean**2, axis=1)
    if len(delta) == 1:
        variance = np.zeros(len(observed))
    else:
        variance = np.sum((delta[0] - delta[1]) ** 2, axis=1) / 4.0
    return Distances(observed=observed, variance=variance, corrected=observed - variance)


def seed_distance(phi_o: np.ndarray) -> np.ndarray:
    """Per-row squared distance between the original's two runs (independent seeds): the
    explainer's seed-to-seed noise on the original (zeros for one deterministic run)."""
    if len(phi_o) < 2:
        return np.zeros(phi_o.shape[1])
    a = _unit_rms(phi_o)
    return np.asarray(np.sum((a[0] - a[1]) ** 2, axis=1), dtype=np.float64)


def ratio_interval(model_sq: np.ndarray, twin_sq: np.ndarray, *, n_resamples: int, confidence: float,
                   rng: np.random.Generator) -> dict[str, Any]:
    """``R = sqrt(mean model_sq) / sqrt(mean twin_sq)`` with a percentile bootstrap over rows and twins.

    model_sq : (n,) per-row corrected squared distances of the compared model.
    twin_sq : (n, T) the same for each of T twins (or the yardstick's per-row values, T = 1).
    The rows are resampled jointly (the same rows for the model and the twins), and the
    twins are resampled with replacement within each row resample.
    """
    n, t = twin_sq.shape
    floor = float(np.mean(twin_sq))

    def ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
        num, den = np.maximum(num, 0.0), np.maximum(den, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(den > 0, np.sqrt(num) / np.sqrt(np.where(den > 0, den, 1.0)), np.inf)

    value = float(ratio(np.array([model_sq.mean()]), np.array([floor]))[0])
    rows = rng.integers(0, n, size=(n_resamples, n))
    num = model_sq[rows].mean(axis=1)
    per_twin = twin_sq[rows].mean(axis=1)  # (B, T)
    if t > 1:
        pick = rng.integers(0, t, size=(n_resamples, t))
        den = np.take_along_axis(per_twin, pick, axis=1).mean(axis=1)
    else:
        den = per_twin[:, 0]
    samples = ratio(num, den)
    alpha = (1 - confidence) / 2
    with np.errstate(invalid="ignore"):  # an infinite ratio (a zero yardstick) is a valid sample
        lo, hi = np.quantile(samples, [alpha, 1 - alpha], method="lower")
    return {"value": value, "lo": float(lo), "hi": float(hi)}


def shares(phi: np.ndarray) -> np.ndarray:
    """Each feature's share of the global importance ``mean|φ_i| / Σ_j mean|φ_j|`` (seed-averaged)."""
    g = np.abs(phi.mean(axis=0)).mean(axis=0)
    return np.asarray(g / max(float(g.sum()), 1e-12), dtype=np.float64)


def share_moves(phi_o: np.ndarray, phi_c: np.ndarray, twins: list[np.ndarray], *, floor: float = 0.01,
                min_move: float = 0.02, alpha: float = 0.01, pool: float = 10.0) -> dict[str, Any]:
    """The per-feature test: does one feature's share of the importance lie beyond the twins' spread?

    Shares are compared on the log scale, ``L_j = log(s_j + f)`` (``f = floor``, so that features with
    almost no importance do not swing the test; a share that vanishes or appears moves far). The
    original and its T twins are T + 1 equally good models of one recipe: feature j's centre is the
    mean of their ``L_j`` and its spread their sample variance (T degrees of freedom), shrunk toward
    the typical feature's, ``σ²_j = (T·v_j + pool·σ²_typ) / (T + pool)`` (``σ²_typ``: the median over
    features of ``v_k``, scaled by the ratio of the mean to the median of χ²_T/T; worth ``pool``
    twins), because three twins alone give a variance with 3 degrees of freedom. The compressed
    model is one more draw when it decides for the same reasons, so its deviation from the centre
    has variance ``σ²_j (1 + 1/(T + 1))``: ``z_j = |L_c,j − centre_j| / (σ_j √(1 + 1/(T + 1)))`` is set
    against Student's t with ``T + pool`` degrees of freedom at level ``alpha / (2d)`` (Bonferroni
    over the d features: a model whose shares vary like a twin's flags with probability ≤ alpha).
    A feature flags only when ``z_j`` exceeds that threshold **and** its share moved by at least
    ``min_move`` from the original's. ``z_ratio = max_j z_j / threshold`` over the features that
    moved at least ``min_move``; ≥ 1 means a feature moved beyond its twins' spread.

    Centring on all T + 1 models (rather than measuring moves from the original, whose own draw
    then enters every twin's move and the compressed model's alike) gives the test
    ``√(2 / (1 + 1/(T + 1)))`` ≈ 1.26× the z of a real move at T = 3, at the same false-alarm
    level (``benchmarks/results/verdict_rescore_s5_design.md``).
    """
    from scipy import stats

    so, sc = shares(phi_o), shares(phi_c)
    d = len(so)

    def log_share(s: np.ndarray) -> np.ndarray:
        return np.asarray(np.log(s + floor), dtype=np.float64)

    st = np.stack([shares(p) for p in twins]) if twins else np.zeros((0, d))
    t = len(st)
    lo, lc = log_share(so), log_share(sc)
    group = np.vstack([lo[None], log_share(st)])  # the original and its twins: (T + 1, d)
    centre = group.mean(axis=0)
    own = group.var(axis=0, ddof=1) if t else np.zeros(d)
    # the typical feature's variance (median over features, scaled by chi²_T's median/mean so it
    # estimates σ² when all features share one spread): robust to a few features that swing in every twin
    pooled = float(np.median(own) / (stats.chi2.median(t) / t)) if t else 0.0
    sd = np.sqrt((t * own + pool * pooled) / (t + pool)) * np.sqrt(1.0 + 1.0 / (t + 1))
    dev = np.abs(lc - centre)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(sd > 0, dev / np.where(sd > 0, sd, 1.0), np.where(dev > 1e-12, np.inf, 0.0))
    threshold = float(stats.t.ppf(1 - alpha / (2 * d), df=t + pool))
    big = np.abs(sc - so) >= min_move
    candidates = np.where(big, z, -1.0)
    j = int(np.argmax(candidates)) if big.any() else int(np.argmax(np.abs(sc - so)))
    z_ratio = float(z[j] / threshold) if big.any() else 0.0
    return {
        "feature": j, "share_original": float(so[j]), "share_compressed": float(sc[j]),
        "move": float(abs(sc[j] - so[j])), "factor": float(np.exp(abs(lc[j] - lo[j]))),
        "z": float(z[j]), "threshold": threshold, "z_ratio": z_ratio,
        "twin_spread": float(np.exp(sd[j])),
        "twin_factors": [float(np.exp(abs(x - lo[j]))) for x in log_share(st[:, j])] if t else [],
        "twin_shares": [float(x) for x in st[:, j]] if t else [],
        "flagged": [int(i) for i in np.nonzero(big & (z >= threshold))[0]],
        "z_moved": [float(x) if b else None for x, b in zip(z, big, strict=True)],  # per feature; None: moved < min_move
        "shares_original": so.tolist(), "shares_compressed": sc.tolist(),
    }
