"""The thread-choice benchmark runs in quick mode and writes its results (so it does not rot)."""

from __future__ import annotations

import json

import pytest


@pytest.mark.slow
def test_thread_choice_benchmark_quick(run_benchmark, tmp_path):
    from leanlens.models.onnx_model import CHOICE_TIMINGS

    assert run_benchmark("thread_choice", "--quick", "--out", tmp_path) == 0
    data = json.loads((tmp_path / "thread_choice.json").read_text())
    assert data["pairs"] == 4 and [r["way"] for r in data["rows"]] == ["one timing", f"up to {CHOICE_TIMINGS}"]
    one, more = data["rows"]
    assert one["choices"] == more["choices"] == 4
    assert one["timings"] == 4  # one timing per choice
    assert 4 <= more["timings"] <= 4 * CHOICE_TIMINGS
    for r in data["rows"]:
        assert 0 <= r["chose_1"] <= r["choices"] and r["gain_min"] <= r["gain_median"]
        assert len(r["gains_of_1"]) == r["chose_1"]
    # the repeats stop only when 2 threads win or the timings run out
    for c in data["choices"][f"up to {CHOICE_TIMINGS}"]:
        assert c["threads"] == 2 or c["timings"] == CHOICE_TIMINGS
    table = (tmp_path / "thread_choice.md").read_text()
    assert table.count("\n| ") == 1 + len(data["rows"])
