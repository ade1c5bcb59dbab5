"""The wrapper-split benchmark runs in quick mode and writes its results (so it does not rot)."""

from __future__ import annotations

import json

import pytest


@pytest.mark.slow
def test_onnx_wrapper_benchmark_quick(run_benchmark, tmp_path):
    assert run_benchmark("onnx_wrapper", "--quick", "--out", tmp_path) == 0
    data = json.loads((tmp_path / "onnx_wrapper.json").read_text())
    assert data["rounds"] == 300 and data["settle"] == 0
    assert {(r["model"].split()[0], r["threads"]) for r in data["rows"]} == {
        (m, t) for m in ("digits", "breast-cancer") for t in (1, 2)}
    for r in data["rows"]:
        timed = r["timed"]
        assert set(timed) == {"torch fp32 original", "session.run bare", "compiled run", "+ finiteness",
                              "+ float64", "predict_proba", "predict"}
        assert timed["session.run bare"]["diff_us"] == 0  # each call is paired with the bare call of its round
        for x in timed.values():
            assert x["median_ms"] > 0 and x["low_us"] <= x["high_us"]
    table = (tmp_path / "onnx_wrapper.md").read_text()
    assert table.count("\n| ") == 1 + len(data["rows"])  # header and one line per row
