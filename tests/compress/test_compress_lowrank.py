"""Low-rank SVD factorization: exact at full rank, rank rules, persistence."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import leanlens
from leanlens.compress import LowRank, compress
from leanlens.compress.lowrank import choose_rank, factorize_linear


def test_full_rank_reproduces_the_outputs(mlp64, digits):
    plan = [LowRank(rank_ratio=1.0, only_if_smaller=False, min_features=1)]
    res = compress(mlp64, plan, data=digits, latency_reps=0)
    assert sum(isinstance(m, nn.Sequential) for m in res.model.module.body) == 3  # every Linear factored
    np.testing.assert_allclose(res.model.logits(digits.X_test), mlp64.logits(digits.X_test), atol=1e-5, rtol=0)
    assert res.record.final.agreement == 1.0


def test_factorize_linear_is_the_best_rank_r_approximation():
    torch.manual_seed(0)
    lin = nn.Linear(20, 12)
    fac = factorize_linear(lin, 5)
    W = lin.weight.detach().double()
    approx = (fac[1].weight @ fac[0].weight).detach().double()
    s = torch.linalg.svdvals(W)
    # Eckart–Young: the Frobenius error of the best rank-5 approximation is sqrt(sum of the rest σ²)
    assert float(torch.linalg.norm(W - approx)) == pytest.approx(float(s[5:].pow(2).sum().sqrt()), rel=1e-5)
    torch.testing.assert_close(fac[1].bias, lin.bias)


@pytest.mark.parametrize(("rule", "expected"), [
    ({"energy": 0.5}, 1), ({"energy": 0.9}, 2), ({"energy": 1.0}, 3), ({"rank": 2}, 2), ({"rank": 9}, 3),
    ({"rank_ratio": 0.25}, 1), ({"rank_ratio": 0.67}, 2),
])
def test_choose_rank_rules(rule, expected):
    s = torch.tensor([3.0, 2.0, 1.0])  # energies 9/14, 13/14, 1
    assert choose_rank(s, LowRank(**rule)) == expected


def test_quarter_rank_on_wide_layers_and_saving(digits, tmp_path):
    model = leanlens.train(digits, leanlens.TrainConfig(hidden=(128, 128), epochs=1, dropout=0.0, random_state=0))
    res = compress(model, [LowRank(rank_ratio=0.25, finetune_epochs=1)], data=digits, latency_reps=0)
    body = res.model.module.body
    # only the 128×128 layer qualifies (min_features=128): rank 32
    assert isinstance(body[3], nn.Sequential) and tuple(body[3][0].weight.shape) == (32, 128)
    assert isinstance(body[1], nn.Linear) and isinstance(body[5], nn.Linear)
    assert res.record.final.parameters == res.record.original.parameters - (128 * 128) + 32 * 256
    res.model.save(tmp_path / "lr")
    again = leanlens.load_model(tmp_path / "lr")
    np.testing.assert_allclose(again.output(digits.X_test), res.model.output(digits.X_test), atol=1e-6)


def test_nothing_to_factor_is_said_in_the_record(mlp64, digits):
    with pytest.warns(UserWarning, match="factored no layer"):
        res = compress(mlp64, [LowRank(rank_ratio=0.25)], data=digits, latency_reps=0)
    assert any("factored no layer" in w for w in res.record.steps[0].warnings)
