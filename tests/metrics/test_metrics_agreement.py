"""Agreement measures against hand-computed answers (Krishna et al. 2022 definitions)."""

from __future__ import annotations

import numpy as np
import pytest

from leanlens.errors import InvalidInputError
from leanlens.metrics import agreement as ag

A = np.array([[4.0, -3.0, 2.0, 1.0]])
# top-2 of A: features 0, 1; of B: features 1, 3 (|−5| then |2.5|)
B = np.array([[0.5, 5.0, 0.1, 2.5]])


def test_feature_agreement_by_hand() -> None:
    assert ag.feature_agreement(A, B, 2).tolist() == [0.5]  # {0,1} ∩ {1,3} = {1}
    assert ag.feature_agreement(A, B, 4).tolist() == [1.0]


def test_rank_agreement_by_hand() -> None:
    # ranks of A: 0,1,2,3; of B: 1,3,0,2 → no position matches
    assert ag.rank_agreement(A, B, 4).tolist() == [0.0]
    C = np.array([[4.0, -3.0, 0.5, 1.0]])  # ranks 0,1,3,2
    assert ag.rank_agreement(A, C, 4).tolist() == [0.5]


def test_sign_and_signed_rank_agreement_by_hand() -> None:
    # shared top-2 feature 1 has sign − in A and + in B → 0
    assert ag.sign_agreement(A, B, 2).tolist() == [0.0]
    C = np.array([[4.0, 3.0, 2.0, 1.0]])  # same ranks, sign of feature 1 flipped
    assert ag.sign_agreement(A, C, 2).tolist() == [0.5]
    assert ag.signed_rank_agreement(A, C, 4).tolist() == [0.75]


def test_rank_correlation_by_hand() -> None:
    # |A| ranks (1-based, ascending): 4,3,2,1; |B|: 2,4,1,3 → ρ = 1 − 6Σd²/(n(n²−1)) = 1 − 6·(4+1+1+4)/60 = 0
    assert ag.rank_correlation(A, B)[0] == pytest.approx(0.0)
    assert ag.rank_correlation(A, 2 * A)[0] == pytest.approx(1.0)


def test_pairwise_rank_agreement_by_hand() -> None:
    # pairs (i<j) by |A|: all "i > j"; by |B|: (0,1)<, (0,2)>, (0,3)<, (1,2)>, (1,3)>, (2,3)< → 3 of 6
    assert ag.pairwise_rank_agreement(A, B).tolist() == [0.5]
    assert ag.pairwise_rank_agreement(A, B, features=[0, 2]).tolist() == [1.0]


def test_cosine_and_relative_l2_by_hand() -> None:
    a = np.array([[3.0, 4.0]])
    b = np.array([[4.0, 3.0]])
    assert ag.cosine_similarity(a, b)[0] == pytest.approx(24 / 25)
    assert ag.relative_l2(a, b)[0] == pytest.approx(np.sqrt(2) / 5)
    assert ag.relative_l2(np.zeros((1, 2)), np.zeros((1, 2)))[0] == 0.0


def test_self_agreement_is_one_and_negation_has_sign_agreement_zero() -> None:
    rng = np.random.default_rng(0)
    phi = rng.standard_normal((20, 6))
    same = ag.agreement(phi, phi, k=3)
    for name in ("feature_agreement", "rank_agreement", "sign_agreement", "signed_rank_agreement",
                 "rank_correlation", "pairwise_rank_agreement", "cosine"):
        assert same["mean"][name] == pytest.approx(1.0), name
        if "sign" not in name:
            assert same["global"][name] == pytest.approx(1.0), name
    assert same["mean"]["relative_l2"] == 0.0
    neg = ag.agreement(phi, -phi, k=3)
    assert neg["mean"]["sign_agreement"] == 0.0
    assert neg["mean"]["signed_rank_agreement"] == 0.0
    assert neg["mean"]["feature_agreement"] == 1.0
    assert neg["mean"]["cosine"] == pytest.approx(-1.0)
    assert neg["mean"]["relative_l2"] == pytest.approx(2.0)
    assert neg["per_row"]["sign_agreement"].shape == (20,)


def test_agreement_rejects_mismatched_shapes_and_bad_k() -> None:
    with pytest.raises(InvalidInputError, match="must both have shape"):
        ag.agreement(np.ones((3, 4)), np.ones((2, 4)))
    with pytest.raises(InvalidInputError, match="'k' parameter must be an int in \\[1, 4\\]"):
        ag.feature_agreement(A, B, 5)
    with pytest.raises(InvalidInputError, match="several outputs"):
        ag.agreement(np.ones((2, 3, 2)), np.ones((2, 3, 2)))
