"""The compression benchmark runs in quick mode and writes its results (so it does not rot)."""

from __future__ import annotations

import json

import pytest


@pytest.mark.slow
def test_compression_benchmark_quick(run_benchmark, tmp_path):
    assert run_benchmark("compression", "--quick", "--reps", "5", "--out", tmp_path) == 0
    data = json.loads((tmp_path / "compression.json").read_text())
    assert data["mode"] == "quick" and data["reps"] == 5
    plans = {(r["model"], r["plan"]) for r in data["rows"]}
    assert ("SmallCNN", "int8") in plans and any(p == "structured 50% + fine-tune + int8" for _, p in plans)
    for row in data["rows"]:
        assert row["file_bytes"] > 0 and row["speedup_b256"] > 0 and 0 <= row["agreement"] <= 1
        # agreement is the share of test rows keeping the original's decision: the accuracy
        # can move by at most the share of rows that changed
        assert row["score_name"] == "test_accuracy"
        assert abs(row["score_after"] - row["score_before"]) <= 1 - row["agreement"] + 1e-9, row["plan"]
    rows = {(r["model"], r["plan"]): r for r in data["rows"]}
    int8 = [r for (m, p), r in rows.items() if p.startswith("int8")]
    assert int8 and all(r["agreement"] >= 0.9 for r in int8)  # int8 keeps nearly every decision
    for model in {m for m, _ in rows}:
        if (model, "int8") in rows and (model, "unstructured 80%") in rows:
            assert rows[model, "int8"]["agreement"] > rows[model, "unstructured 80%"]["agreement"]
    md = (tmp_path / "compression.md").read_text()
    assert md.rstrip().splitlines()[-1].startswith("Headline")
