"""compare() verdicts on controls with a known answer: a small MLP on the synthetic additive
data (x1 and x2 carry the signal), damaged on purpose, and a model whose classes are swapped."""

from __future__ import annotations

import pytest
import torch

import leanlens
from leanlens.compare import CompareConfig, compare

CFG = CompareConfig(n_rows=40, n_background=10, n_bootstrap=100, budget=128)


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
    r = compare(additive_mlp, zero_inputs(additive_mlp, [0, 1]), additive, explainers=[method], config=CFG,
                random_state=0)
    assert r.verdict == "changed"
    e = r.explainers[method]
    assert e["status"] == "changed"
    assert e["ratio"]["lo"] >= CFG.changed_ratio and e["drift"]["lo"] >= CFG.negligible_drift
    # the importance that vanished belongs to x1 or x2
    assert e["most_moved_feature"]["index"] in (0, 1)
    assert e["most_moved_feature"]["share_compressed"] < 0.01 < e["most_moved_feature"]["share_original"]
    assert any(x.startswith(f"{method}: explanations moved well beyond") for x in r.reasons)


def test_drift_between_the_thresholds_reads_inconclusive(additive, additive_mlp) -> None:
    # Zeroing x1 moves the explanations by ~10× the noise floor: between same_ratio=1.5 and a
    # changed_ratio of 100, so the explainer is "unclear" and the verdict inconclusive.
    cfg = CFG.replace(changed_ratio=100.0, max_flip_rate=0.5)
    r = compare(additive_mlp, zero_inputs(additive_mlp, [0]), additive, explainers=["kernel"], config=cfg,
                random_state=0)
    e = r.explainers["kernel"]
    assert cfg.same_ratio < e["ratio"]["lo"] and e["ratio"]["hi"] < cfg.changed_ratio
    assert e["status"] == "unclear"
    assert r.decision["flip_rate_ci"]["lo"] <= cfg.max_flip_rate
    assert r.verdict == "inconclusive"
    assert any("between the thresholds" in x for x in r.reasons)


def test_swapped_classes_read_changed_by_the_flip_rate_alone(additive, additive_mlp) -> None:
    # Thresholds no explanation can reach: only the flip-rate rule can call this a change.
    cfg = CFG.replace(same_ratio=1e9, changed_ratio=1e9, negligible_drift=1e9, negligible_share=1.0)
    r = compare(additive_mlp, swap_classes(additive_mlp), additive, explainers=["ig"], config=cfg, random_state=0)
    assert r.decision["flip_rate"] == 1.0 and len(r.decision["flipped_rows"]) == cfg.n_rows
    assert r.decision["flip_rate_ci"]["lo"] > cfg.max_flip_rate
    assert r.explainers["ig"]["status"] != "changed"
    assert r.verdict == "changed"
    assert len(r.reasons) == 1 and r.reasons[0].startswith("decisions changed on many rows (flip rate 1.000")


def test_swapped_classes_read_changed_with_default_thresholds(additive, additive_mlp) -> None:
    r = compare(additive_mlp, swap_classes(additive_mlp), additive, explainers=["ig"], config=CFG, random_state=0)
    assert r.verdict == "changed"
    assert "flip rate" in r.reasons[0] and r.reasons[0].startswith("decisions changed on many rows")
