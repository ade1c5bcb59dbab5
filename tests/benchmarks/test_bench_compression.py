"""The compression benchmark runs in quick mode and writes its results (so it does not rot)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_compression_benchmark_quick(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "compression.py"), "--quick", "--reps", "5", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads((tmp_path / "compression.json").read_text())
    assert data["mode"] == "quick" and data["reps"] == 5
    plans = {(r["model"], r["plan"]) for r in data["rows"]}
    assert ("SmallCNN", "int8") in plans and any(p == "structured 50% + fine-tune + int8" for _, p in plans)
    for row in data["rows"]:
        assert row["file_bytes"] > 0 and row["speedup_b256"] > 0 and 0 <= row["agreement"] <= 1
    md = (tmp_path / "compression.md").read_text()
    assert md.rstrip().splitlines()[-1].startswith("Headline")
