"""compare() verdicts on controls with a known answer: a small MLP on the synthetic additive
data (x1 and x2 carry the signal), damaged on purpose, and a model whose classes are swapped."""

from __future__ import annotations

import pytest
import torch

import leanlens
from leanlens.compare import CompareConfig, compare

CFG = CompareConfig(n_rows=40, n_background=10, n_bootstrap=100, budgets={"kernel": 128})


@pytest.fixture(scope="module")
def additive():
    return leanlens.datasets.synthetic("additive", n=1500, random_state=0)


@pytest.fixture(scope="module")
def additive_mlp(additive):
    return leanlens.train(additive, leanlens.TrainConfig(hidden=(32, 32), epochs=8, random_state=0))


def zero_inputs(model, features):
    """A copy whose first Linear layer no longer sees ``features``."""
    c = model.copy()
    with torch.no_grad():
        first = next(m for m in c.module.body if isinstance(m, torch.nn.Linear))
        first.weight[:, features] = 0.0
    return c


def swap_classes(model):
    """A copy whose two output classes are swapped: every decision flips."""
    c = model.copy()
    with torch.no_grad():
        last = [m for m in c.module.body if isinstance(m, torch.nn.Linear)][-1]
        last.weight.copy_(last.weight.flip(0))
        last.bias.copy_(last.bias.flip(0))
    return c


@pytest.mark.parametrize("method", ["kernel", "ig"])
def test_zeroing_the_informative_inputs_reads_changed(additive, additive_mlp, method) -> None:
    r = compare(additive_mlp, zero_inputs(additive_mlp, [0, 1]), additive, explainers=[method], twins=2,
                config=CFG, random_state=0)
    assert r.verdict == "changed"
    e = r.explainers[method]
    assert e["status"] == "changed"
    assert e["ratio"]["lo"] >= 1.0 and e["ratio"]["value"] >= CFG.changed_ratio
    # the importance that vanished belongs to x1 or x2, and the reason names it
    assert e["share"]["feature"] in (0, 1) and e["share"]["share_compressed"] < 0.01 < e["share"]["share_original"]
    assert any(x.startswith(f"{method}: explanations moved farther than the twins'") for x in r.reasons)
    assert any(x.startswith(f"{method}:") and "the distance ratio decided" in x for x in r.reasons)
    assert "2 retrained twins of the original" in r.sentence


def test_swapped_classes_read_changed_by_the_flip_rate_alone(additive, additive_mlp) -> None:
    # Thresholds no explanation can reach: only the flip-rate rule can call this a change.
    cfg = CFG.replace(changed_ratio=1e9, negligible_share=1.0)
    r = compare(additive_mlp, swap_classes(additive_mlp), additive, explainers=["ig"], twins=2, config=cfg,
                random_state=0)
    assert r.decision["flip_rate"] == 1.0 and len(r.decision["flipped_rows"]) == cfg.n_rows
    assert r.decision["flip_rate_ci"]["lo"] > cfg.max_flip_rate
    assert r.explainers["ig"]["status"] != "changed"
    assert r.verdict == "changed"
    assert r.reasons[0].startswith("decisions changed on many rows (flip rate 1.000")
    assert "changes 100% of the original's decisions" in r.sentence


def test_a_vanished_feature_reads_changed_by_the_share_test(additive, additive_mlp) -> None:
    # x1's inputs zeroed: its near copy x12 keeps most decisions, the overall distance stays within
    # the twins' reach, but x1's share of the importance vanishes, far beyond the spread of the
    # original's and its twins' shares: the share test decides, and the reason and sentence say so.
    r = compare(additive_mlp, zero_inputs(additive_mlp, [0]), additive, explainers=["ig"], twins=2, config=CFG,
                random_state=0)
    e = r.explainers["ig"]
    assert r.verdict == "changed" and e["status"] == "changed"
    assert not (e["ratio"]["value"] >= CFG.changed_ratio and e["ratio"]["lo"] >= 1.0)  # the ratio did not decide
    assert e["share"]["feature"] == 0 and e["share"]["z"] >= e["share"]["threshold"]
    assert e["reason"].startswith("one feature's share of the importance lies beyond the spread")
    assert "the share test decided: x1's share" in e["reason"]
    assert "x1's share of the importance moved" in r.sentence and "(ig, the share test)" in r.sentence
