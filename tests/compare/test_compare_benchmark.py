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
    verdicts = {r["verdict"] for r in data["controls"]}
    assert verdicts <= {"same-reasons", "changed", "inconclusive"}
    assert {r["control"].split(":")[0] for r in data["controls"]} >= {"negative", "positive"}
    assert {g["method"] for g in data["ground_truth"]} == {"exact (of f itself)", "exact", "kernel", "ig"}
    assert all(0 <= g["feature_agreement_k3"] <= 1 for g in data["ground_truth"])
    assert [c["method"] for c in data["suite_cost"]] == ["ig", "kernel"]
    md = (tmp_path / "drift.md").read_text()
    assert "Headline" in md and "Command:" in md
