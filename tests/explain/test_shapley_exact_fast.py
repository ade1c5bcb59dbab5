"""Exact enumeration's two savings against the plain enumeration: null players left out, and
the first affine layer computed once per player (``BaseModel.input_affine``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn.utils import prune

import leanlens
from leanlens.explain.shapley.exact import (
    ExactShapley,
    all_coalitions,
    null_players,
    shapley_matrix,
)
from leanlens.explain.shapley.game import MaskingGame
from leanlens.models.architectures import LeanlensNet
from leanlens.models.base import InputAffine, subset_sums
from leanlens.models.torch_model import RELU_SPLIT_BITS


def _net(d: int, out: int, seed: int, *, standardize: bool) -> nn.Module:
    torch.manual_seed(seed)
    body = nn.Sequential(nn.Flatten(), nn.Linear(d, 24), nn.ReLU(), nn.Dropout(0.1), nn.Linear(24, 16), nn.Tanh(),
                         nn.Linear(16, out))
    if not standardize:
        return body.eval()
    g = torch.Generator().manual_seed(seed)
    mean, scale = torch.randn(d, generator=g), torch.rand(d, generator=g) + 0.5
    out_mean = torch.randn(out, generator=g) if out == 1 else None
    out_scale = torch.rand(out, generator=g) + 0.5 if out == 1 else None
    return LeanlensNet(body, mean, scale, out_mean, out_scale).eval()


def _plain(model, X, bg, groups=None):
    """The textbook enumeration on the masking game: every coalition, v @ shapley_matrix."""
    game = MaskingGame(model, X, bg)
    d = model.n_features if groups is None else len(groups)
    masks = all_coalitions(d)
    if groups is not None:
        member = np.zeros((d, model.n_features), dtype=bool)
        for gi, g in enumerate(groups):
            member[gi, g] = True
        masks = (masks.astype(np.int32) @ member.astype(np.int32)) > 0
    v = game(masks)  # (n, 2^d, k), ∅ and the full set included
    return np.einsum("nmk,md->ndk", v, shapley_matrix(d))


@pytest.mark.parametrize("standardize,out", [(True, 1), (False, 3)])
def test_input_affine_reproduces_the_output(rng, standardize, out):
    model = leanlens.as_model(_net(10, out, 0, standardize=standardize), n_features=10,
                              task="regression" if out == 1 else "multiclass")
    aff = model.input_affine()
    assert aff is not None and aff.A.shape == (10, 24)
    X = rng.normal(size=(50, 10)).astype(np.float32)
    got = aff.rest(X @ aff.A + aff.c)
    np.testing.assert_allclose(got, model.output(X), rtol=1e-5, atol=1e-6)
    again = aff.rest(X[:7] @ aff.A + aff.c)  # buffers are reused: earlier results stay intact
    np.testing.assert_allclose(got[:7], again, rtol=1e-6, atol=1e-7)


def test_input_affine_is_none_where_the_first_layer_is_not_affine_or_is_hooked():
    conv = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(2 * 6 * 6, 1))
    assert leanlens.as_model(conv, input_shape=(1, 8, 8), task="regression").input_affine() is None
    net = _net(10, 1, 1, standardize=False)
    prune.l1_unstructured(net[1], "weight", amount=0.5)  # a forward pre-hook applies the mask
    assert leanlens.as_model(net, n_features=10, task="regression").input_affine() is None
    assert leanlens.as_model(lambda X: X.sum(1), n_features=3).input_affine() is None


def test_subset_sums_are_every_subset_of_the_rows(rng):
    D = rng.normal(size=(5, 7)).astype(np.float32)
    np.testing.assert_allclose(subset_sums(D), all_coalitions(5).astype(np.float32) @ D, rtol=0, atol=1e-5)
    assert subset_sums(D[:0]).shape == (1, 7) and not subset_sums(D[:0]).any()


def test_relu_split_family_equals_rest_on_every_subset_sum(rng):
    """The ReLU split (units dead or linear on the whole family leave the second GEMM) gives the
    same outputs as the remaining layers on every input of the family, with all three kinds of
    unit present."""
    model = leanlens.as_model(_net(10, 3, 4, standardize=False), n_features=10, task="multiclass")
    aff = model.input_affine()
    assert aff is not None and aff.subset_bits == RELU_SPLIT_BITS
    D = rng.normal(scale=0.3, size=(6, 24)).astype(np.float32)
    offset = rng.normal(scale=2.0, size=24).astype(np.float32)
    offset[:4], offset[4:8] = -50.0, 50.0  # units 0–3 dead on the whole family, 4–7 always active
    H = offset + subset_sums(D)
    low, high = H.min(axis=0), H.max(axis=0)
    assert (high < 0).sum() >= 4 and (low > 0).sum() >= 4 and ((low < 0) & (high > 0)).sum() >= 4
    np.testing.assert_allclose(aff.subsets(D)(offset), aff.rest(H), rtol=0, atol=2e-6)
    generic = InputAffine(aff.A, aff.c, aff.rest)  # the backend-free version: rest on the built sums
    np.testing.assert_allclose(generic.subsets(D)(offset), aff.rest(H), rtol=0, atol=1e-7)
    tanh_first = nn.Sequential(nn.Linear(10, 8), nn.Tanh(), nn.Linear(8, 1)).eval()
    aff_t = leanlens.as_model(tanh_first, n_features=10, task="regression").input_affine()
    assert aff_t is not None and aff_t.subset_bits == InputAffine.SUBSET_BITS  # no split without ReLU


@pytest.mark.parametrize("standardize,out,n_bg,groups", [
    (True, 1, 1, None),            # 12 features: 4,096 coalitions through the affine path
    (False, 3, 3, "groups"),       # 11 groups of a 14-feature input, 3 background rows, 3 outputs
])
def test_fast_exact_matches_the_plain_enumeration(rng, standardize, out, n_bg, groups):
    d = 12 if groups is None else 14
    model = leanlens.as_model(_net(d, out, 2, standardize=standardize), n_features=d,
                              task="regression" if out == 1 else "multiclass")
    group_list = None if groups is None else [[0, 1], [2, 3], [4, 5], [6], [7], [8], [9], [10], [11], [12], [13]]
    X = rng.normal(size=(3, d)).astype(np.float32)
    bg = rng.normal(size=(n_bg, d)).astype(np.float32)
    params = {} if group_list is None else {"groups": group_list}
    fast = ExactShapley(model, background=bg, **params).explain(X)
    slow = ExactShapley(model, background=bg, fast=False, **params).explain(X)
    plain = _plain(model, X, bg, group_list)
    scale = np.abs(plain).max()
    assert scale > 1e-3  # a game with something to explain
    # torch's float32 results move in the last bits with the batch shape, so no enumeration of a
    # torch model is bit for bit against another; both agree with the plain one to float32 rounding
    np.testing.assert_allclose(slow.values.reshape(plain.shape), plain, rtol=0, atol=2e-6 * scale)
    np.testing.assert_allclose(fast.values.reshape(plain.shape), plain, rtol=0, atol=2e-6 * scale)
    assert np.abs(fast.values - slow.values).max() > 0  # the affine path really ran
    fx = model.output(X)
    resid = fast.values.sum(axis=1).reshape(len(X), -1) + fast.base_values.reshape(len(X), -1) - fx
    assert np.abs(resid).max() < 1e-6


def test_null_players_get_zero_and_the_others_keep_their_values(rng):
    f = lambda X: np.tanh(X[:, 0] * X[:, 1] - X[:, 2]) + X[:, 3] * X[:, 4] ** 2 + np.sin(X[:, 5] + X[:, 0])  # noqa: E731
    model = leanlens.as_model(f, n_features=6)
    bg = rng.normal(size=(1, 6)).astype(np.float32)
    X = rng.normal(size=(4, 6)).astype(np.float32)
    X[0, [1, 4]] = bg[0, [1, 4]]  # row 0: features 1 and 4 equal the baseline
    X[2, 3] = bg[0, 3]            # row 2: feature 3
    X[3] = bg[0]                  # row 3: the baseline itself
    e = ExactShapley(model, background=bg).explain(X, target=0)
    plain = _plain(model, X, bg)[:, :, 0]
    null = null_players(MaskingGame(model, X, bg))
    assert null.tolist() == [[False, True, False, False, True, False], [False] * 6,
                             [False, False, False, True, False, False], [True] * 6]
    assert np.all(e.values[null] == 0.0)
    np.testing.assert_allclose(plain[null], 0.0, atol=1e-12)  # the axiom holds for the plain enumeration too
    np.testing.assert_allclose(e.values, plain, rtol=0, atol=1e-12)
    assert any("null players" in n for n in e.notes)
    # with two background rows a feature is null only where the row equals both
    bg2 = np.concatenate([bg, bg + 1.0])
    assert not null_players(MaskingGame(model, X, bg2))[:3].any()


def test_null_players_in_a_group_game(rng):
    f = lambda X: np.tanh(X @ np.arange(1.0, 9.0)) * X[:, 0]  # noqa: E731
    model = leanlens.as_model(f, n_features=8)
    bg = rng.normal(size=(1, 8)).astype(np.float32)
    X = rng.normal(size=(2, 8)).astype(np.float32)
    X[0, [2, 3]] = bg[0, [2, 3]]  # group 1 = {2, 3} is null in row 0; group 2 = {4, 5} only half
    X[0, 4] = bg[0, 4]
    groups = [[0, 1], [2, 3], [4, 5], [6, 7]]
    e = ExactShapley(model, background=bg, groups=groups).explain(X, target=0)
    plain = _plain(model, X, bg, groups)[:, :, 0]
    assert e.values[0, 1] == 0.0 and e.values[0, 2] != 0.0
    np.testing.assert_allclose(e.values, plain, rtol=0, atol=1e-12)


def test_fast_must_be_a_bool():
    model = leanlens.as_model(lambda X: X.sum(1), n_features=3)
    with pytest.raises(leanlens.errors.InvalidInputError, match="'fast'"):
        ExactShapley(model, background=np.zeros((1, 3)), fast="yes").explain(np.ones((1, 3)), target=0)
