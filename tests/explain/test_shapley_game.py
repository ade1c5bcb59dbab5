"""The masking game: values against hand computation, batching, evaluation counts, k-means."""

from __future__ import annotations

import numpy as np
import pytest

import leanlens
from leanlens.explain.shapley import MaskingGame, summarize_background


def _model():
    # f(x) = x0 + 2·x1·x2 : non-additive, so background averaging matters
    return leanlens.as_model(lambda X: X[:, 0] + 2 * X[:, 1] * X[:, 2], n_features=3)


def test_game_values_match_hand_computation():
    X = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 2.0]], dtype=np.float32)
    bg = np.array([[0.0, 0.0, 0.0], [1.0, 1.0, -1.0]], dtype=np.float32)
    game = MaskingGame(_model(), X, bg, batch_rows=3)  # tiny batches exercise the chunking
    masks = np.array([[1, 0, 0], [0, 1, 1], [0, 1, 0]], dtype=bool)
    v = game(masks)[:, :, 0]
    f = lambda a: a[0] + 2 * a[1] * a[2]  # noqa: E731
    for i, x in enumerate(X):
        for j, mk in enumerate(masks):
            want = np.mean([f(np.where(mk, x, b)) for b in bg])
            assert v[i, j] == pytest.approx(want, abs=1e-6)
    np.testing.assert_allclose(game.full[:, 0], [1 + 12, 0.5 - 4], atol=1e-6)
    np.testing.assert_allclose(game.empty[:, 0], [np.mean([0.0, 1 - 2])] * 2, atol=1e-6)


def test_game_counts_model_rows_and_accepts_per_row_masks(rng):
    X = rng.normal(size=(4, 3)).astype(np.float32)
    bg = rng.normal(size=(5, 3)).astype(np.float32)
    game = MaskingGame(_model(), X, bg)
    assert game.n_evals == 4 + 5  # f(X) and f(background)
    masks = rng.random((4, 7, 3)) < 0.5
    v = game(masks)
    assert v.shape == (4, 7, 1)
    assert game.n_evals == 9 + 4 * 7 * 5
    # the same masks shared by all rows give the same values as a per-row copy
    shared = masks[0]
    np.testing.assert_allclose(game(shared), game(np.broadcast_to(shared, (4, 7, 3))))


def test_game_weights_and_targets(rng):
    clf = leanlens.as_model(lambda X: np.stack([X[:, 0], X[:, 1] * 3], axis=1), n_features=2,
                            output_names=("a", "b"), output="values")
    X = np.array([[1.0, 2.0]], dtype=np.float32)
    bg = np.array([[0.0, 0.0], [4.0, 4.0]], dtype=np.float32)
    game = MaskingGame(clf, X, bg, weights=np.array([3.0, 1.0]), targets=np.array([1]))
    # output b = 3·x1; coalition {x0}: x1 from background → 3·(0.75·0 + 0.25·4) = 3
    assert game(np.array([[True, False]]))[0, 0, 0] == pytest.approx(3.0)
    assert game.empty[0, 0] == pytest.approx(3.0)
    assert game.full[0, 0] == pytest.approx(6.0)


def test_summarize_background_keeps_small_and_summarizes_large(rng):
    small = rng.normal(size=(10, 3)).astype(np.float32)
    rows, w, note = summarize_background(small, 20, 0)
    assert rows is small and w is None and note is None
    big = rng.normal(size=(500, 3)).astype(np.float32)
    rows, w, note = summarize_background(big, 20, 0)
    assert rows.shape == (20, 3)
    assert w is not None and w.sum() == pytest.approx(1.0)
    # weighted centres keep the background mean
    np.testing.assert_allclose(w @ rows, big.mean(axis=0), atol=1e-4)
    assert note is not None and "k-means" in note and "500" in note
