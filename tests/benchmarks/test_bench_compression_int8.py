"""The int8 benchmark runs in quick mode (without the searches) and writes its results."""

from __future__ import annotations

import json

import pytest


@pytest.mark.slow
def test_int8_benchmark_quick(run_benchmark, tmp_path):
    assert run_benchmark("compression_int8", "--quick", "--no-auto", "--reps", "3", "--out", tmp_path) == 0
    data = json.loads((tmp_path / "compression_int8.json").read_text())
    variants = {(r["model"], r["variant"], r["threads"]) for r in data["rows"]}
    for model in ("SmallCNN", "breast-cancer MLP 30-64-64-2"):
        for t in (1, 2):
            assert (model, "int8 static (pruned)", t) in variants and (model, "int8 dynamic (pruned)", t) in variants
    fp32 = {(r["model"], r["threads"]): r for r in data["rows"] if r["variant"] == "ORT fp32 pruned"}
    for r in data["rows"]:
        assert r["ms_b256"] > 0 and r["speedup"] > 0
        if r["variant"].startswith("int8"):
            # quick mode's models are barely trained and pruning alone moves decisions; what int8 must
            # not do is move them further than the fp32 pruned model it was made from
            assert abs(r["agreement"] - fp32[(r["model"], r["threads"])]["agreement"]) <= 0.05
            assert r["gmac_s"] > 0
