"""benchmarks/verdict.py runs in quick mode and writes its confusion table (so it does not rot)."""

from __future__ import annotations

import json

import pytest


@pytest.mark.slow
def test_verdict_benchmark_quick(run_benchmark, tmp_path) -> None:
    run_benchmark("verdict", "--quick", "--out", tmp_path)  # main() returns None; an error raises
    data = json.loads((tmp_path / "verdict_quick.json").read_text())
    assert data["quick"] is True and data["done"] == [["additive", 0]]
    got = {(r["pair"], r["explainer"]): r for r in data["rows"]}
    assert set(got) == {(p, m) for p in ("heldout-twin", "proxy", "prune80") for m in ("kernel", "ig")}
    for m in ("kernel", "ig"):
        assert got[("heldout-twin", m)]["verdict"] == "same-reasons"
        assert got[("proxy", m)]["verdict"] == "changed"
        assert got[("proxy", m)]["decision_agreement"] >= 0.95  # changed reasons, same decisions
        assert got[("prune80", m)]["verdict"] == "changed"
        assert got[("proxy", m)]["share_feature_is_key"] is True  # the reason names x1 or its proxy
    md = (tmp_path / "verdict_quick.md").read_text()
    assert "| kernel | same | 1 | 0 | 0 | 100% (1/1) |" in md
