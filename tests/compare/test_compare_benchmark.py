"""benchmarks/drift.py runs in quick mode and writes its results (so it does not rot)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_drift_benchmark_quick(tmp_path) -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "drift.py"), "--quick", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
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
    # Known miss of the twin-based verdict (issue 9, see benchmarks/results/verdict.md): with this
    # quick, weakly trained recipe (8 epochs, test accuracy ~0.8) the model moves its reliance from
    # x1 to its near copy x12 and 98 % of decisions agree, and the 3 retrained twins already move
    # feature shares about as much, so it reads same-reasons. What the run must still show: the
    # damaged model is farther from the original than the gently pruned one, for both explainers.
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
