"""The statistic's pieces: noise-corrected distances, the ratio's interval, the share test."""

from __future__ import annotations

import numpy as np

from leanlens.compare.statistics import distances, ratio_interval, share_moves


def test_cross_fit_distance_removes_the_estimator_variance() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=(400, 6))
    b = a + 0.3 * rng.normal(size=(400, 6))
    true = distances(a[None], b[None]).distance()
    noisy_a = a[None] + 0.25 * rng.normal(size=(2, 400, 6))
    noisy_b = b[None] + 0.25 * rng.normal(size=(2, 400, 6))
    d = distances(noisy_a, noisy_b)
    assert np.sqrt(d.observed.mean()) > 1.2 * true  # the noise inflates the plain distance
    assert abs(d.distance() - true) < 0.1 * true  # the corrected one is close to the truth
    assert d.noise() > 0.1


def test_ratio_interval_covers_one_for_a_twin_and_excludes_it_for_a_shift() -> None:
    rng = np.random.default_rng(1)
    twins = rng.gamma(4.0, 0.05, size=(200, 3))
    same = rng.gamma(4.0, 0.05, size=200)
    far = rng.gamma(4.0, 0.05, size=200) * 4
    r_same = ratio_interval(same, twins, n_resamples=300, confidence=0.95, rng=np.random.default_rng(0))
    r_far = ratio_interval(far, twins, n_resamples=300, confidence=0.95, rng=np.random.default_rng(0))
    assert r_same["lo"] < 1 < r_same["hi"]
    assert r_far["lo"] > 1.5 and abs(r_far["value"] - 2.0) < 0.3


def test_share_moves_names_the_feature_that_moved() -> None:
    rng = np.random.default_rng(2)
    o = rng.normal(size=(1, 100, 4)) * np.array([3.0, 1.0, 1.0, 1.0])
    twins = [o * (1 + 0.05 * rng.normal(size=4)) for _ in range(3)]
    moved = o * np.array([0.2, 1.0, 1.0, 3.0])
    s = share_moves(o, moved, twins)
    assert s["feature"] in (0, 3) and s["move"] > 0.2 and s["factor"] > 2
    assert s["z_ratio"] > 5 and s["feature"] in s["flagged"]


def _importance_game(weights: np.ndarray, rng: np.random.Generator, n: int = 60) -> np.ndarray:
    """(1, n, d) attributions whose global importance follows ``weights``."""
    return (rng.normal(size=(n, len(weights))) * weights)[None]


def test_share_test_uses_each_features_own_twin_spread() -> None:
    # The old rule's failure: feature 0 loses most of its importance, but the twins swing feature 1
    # (a near-duplicate of feature 2) a lot, so "largest move of any feature in any twin" hid it.
    rng = np.random.default_rng(3)
    base = np.array([1.0, 1.5, 1.5, 1.0, 1.0, 1.0, 1.0, 1.0])
    o = _importance_game(base, rng)
    twins = []
    for _ in range(3):
        w = base * np.exp(0.04 * rng.normal(size=8))
        w[1], w[2] = (0.5, 2.5) if rng.random() < 0.5 else (2.5, 0.5)  # the duplicates trade places
        twins.append(_importance_game(w, np.random.default_rng(3)))
    moved = base.copy()
    moved[0] = 0.25
    s = share_moves(o, _importance_game(moved, np.random.default_rng(3)), twins)
    assert s["feature"] == 0 and 0 in s["flagged"] and s["z_ratio"] >= 1
    # the duplicates' own swings are large in every twin, so a model that trades them does not flag
    traded = base.copy()
    traded[1], traded[2] = 2.4, 0.6
    s2 = share_moves(o, _importance_game(traded, np.random.default_rng(3)), twins)
    assert s2["flagged"] == [] and s2["z_ratio"] < 1


def test_share_test_flags_a_twin_like_model_at_most_at_its_level() -> None:
    # Models whose shares move exactly like the twins' (same law): the family-wise rate stays near alpha.
    rng = np.random.default_rng(4)
    d, flags, runs = 12, 0, 300
    base = rng.uniform(0.5, 2.0, size=d)
    for _ in range(runs):
        o = base[None, None] * np.ones((1, 1, d))
        draw = [o * np.exp(0.15 * rng.normal(size=d)) for _ in range(4)]
        s = share_moves(o, draw[0], draw[1:], min_move=0.0)
        flags += bool(s["flagged"])
    assert flags / runs <= 0.08
    # and a tiny feature's large relative swing never flags below the minimum absolute move
    o = np.abs(_importance_game(np.r_[np.ones(9), 0.02], rng))
    c = o.copy()
    c[..., -1] *= 10
    s = share_moves(o, c, [o * 1.01, o * 0.99, o], min_move=0.03)
    assert s["flagged"] == []
