"""The spin benchmark runs in quick mode and writes its results (so it does not rot)."""

from __future__ import annotations

import json

import pytest


@pytest.mark.slow
def test_onnx_spin_benchmark_quick(run_benchmark, tmp_path):
    run_benchmark("onnx_spin", "--quick", "--out", tmp_path)
    data = json.loads((tmp_path / "onnx_spin.json").read_text())
    assert data["quick"] is True
    seen = {(r["model"], r["spin"]) for r in data["rows"]}
    assert {s for _, s in seen} == {"none", "50"} and len({m for m, _ in seen}) == 2
    for r in data["rows"]:
        for b in (1, 256, 1024):
            assert r[f"b{b}"]["one_ms"] > 0 and r[f"b{b}"]["two_ms"] > 0
            assert r[f"b{b}"]["gain"] == pytest.approx(r[f"b{b}"]["one_ms"] / r[f"b{b}"]["two_ms"])
        assert r["torch_ms"] > 0 and r["cpu_us_per_call_1ms_apart"] > 0
    table = (tmp_path / "onnx_spin.md").read_text()
    assert table.count("\n| ") == 1 + len(data["rows"])  # header and one line per row
