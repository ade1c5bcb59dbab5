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
    twin = o + 0.05 * rng.normal(size=o.shape)
    moved = o * np.array([0.2, 1.0, 1.0, 3.0])
    s = share_moves(o, moved, [twin])
    assert s["feature"] in (0, 3) and s["move"] > 0.2 and s["factor"] > 2 and s["reference_factor"] < 1.2
    assert s["log_ratio"] > 5
