"""benchmarks/drift.py runs in quick mode and writes its results (so it does not rot)."""

from __future__ import annotations

import json

import pytest


@pytest.mark.slow
def test_drift_benchmark_quick(run_benchmark, tmp_path) -> None:
    run_benchmark("drift", "--quick", "--out", tmp_path)  # an error raises
    data = json.loads((tmp_path / "drift.json").read_text())
    assert data["quick"] is True
    controls = {r["control"]: r for r in data["controls"]}
    assert len(controls) == len(data["controls"])  # quick mode: one seed, one compare per control
    assert all(r["seed"] == 0 and r["explainers"] == "kernel+ig" for r in data["controls"])
    neg = controls["negative: prune 10% + fine-tune"]
    assert neg["verdict"] == neg["expected"] == "same-reasons" and neg["correct"] is True
    assert neg["kernel_status"] == neg["ig_status"] == "same"
    zeroed = controls["positive: zero the inputs of x1 or x2"]
    assert zeroed["damaged_feature"] == "x1"  # seed 0 zeroes x1
    # x1's input weights zeroed: the model still decides like the original on most rows (its near copy
    # x12 carries x1's signal), but x1's share of the importance vanishes, far beyond the spread of
    # x1's share over the 3 retrained twins: the per-feature test must read it changed, for both
    # explainers, and name x1 (or its copy x12).
    assert zeroed["verdict"] == zeroed["expected"] == "changed" and zeroed["correct"] is True
    assert zeroed["kernel_status"] == zeroed["ig_status"] == "changed"
    for m in ("kernel", "ig"):
        share = zeroed[f"{m}_share"]
        assert share["feature"] in (0, 11) and share["z"] >= share["threshold"]
    # and the damaged model is farther from the original than the gently pruned one
    assert neg["kernel_ratio"] < zeroed["kernel_ratio"] and neg["ig_ratio"] < zeroed["ig_ratio"]
    heavy = controls["positive: prune 80%, no fine-tune"]
    assert heavy["verdict"] != "same-reasons"  # 40 rows: a 17 % flip rate is not yet *clearly* over 10 %
    assert heavy["flip_rate"] > neg["flip_rate"]
    assert {g["method"] for g in data["ground_truth"]} == {"exact (of f itself)", "exact", "kernel", "ig"}
    assert all(0 <= g["feature_agreement_k3"] <= 1 for g in data["ground_truth"])
    # the exact Shapley values of the true additive function rank its global top-3 features right
    truth = next(g for g in data["ground_truth"] if g["method"] == "exact (of f itself)")
    assert truth["global_feature_agreement_k3"] == 1.0
    assert [c["method"] for c in data["suite_cost"]] == ["ig", "kernel"]
    md = (tmp_path / "drift.md").read_text()
    assert "Headline" in md and "Command:" in md
