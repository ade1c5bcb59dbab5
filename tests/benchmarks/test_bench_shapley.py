import json

import pytest


@pytest.mark.slow
def test_shapley_benchmark_quick_mode_runs(run_benchmark, tmp_path):
    assert run_benchmark("shapley", "--quick", "--out", tmp_path) == 0
    res = json.loads((tmp_path / "shapley.json").read_text())
    assert res["mode"] == "quick"
    assert len(res["cases"]) == 4
    ours = [m for m in res["methods"] if m.startswith("ours ")]
    assert {"ours shapley", "ours polyshap", "ours kernel"} <= set(ours)
    for case in res["cases"].values():
        assert case["truth_efficiency_residual"] < 1e-4
        for per_method in case["budgets"].values():
            assert "shap.KernelExplainer" in per_method
            for name in ours:
                if name not in per_method:
                    continue
                assert per_method[name]["max_efficiency_residual"] < 1e-4
                assert per_method[name]["median_rel_sq_error"] < 0.5
                assert per_method[name]["overhead_ms_per_row"] >= 0
            assert per_method["ours shapley"]["chosen"] in ("exact", "gp", "polyshap", "kernel")
    digits = res["digits_patches_exact"]
    assert res["throughput"]["seconds"] > 0 and digits["max_efficiency_residual"] < 1e-4
    assert digits["first_layer_once"] and digits["model_evals"] >= digits["rows"] * 65534
    # the quick digits MLP starts Linear → ReLU → Linear: the ReLU split runs and is counted
    assert 0 < digits["relu_split_units_kept"] <= 1 and 0 < digits["gmac_run"] < digits["model_gmac"]
    assert (tmp_path / "shapley.md").read_text().strip().splitlines()[-1].startswith("Headline:")


@pytest.mark.slow
def test_shapley_wide_seeds_quick_mode_runs(run_benchmark, tmp_path):
    """The seed-spread benchmark (d ≥ 20, several seeds per setting) runs and records every seed."""
    assert run_benchmark("shapley_wide_seeds", "--quick", "--out", tmp_path) == 0
    res = json.loads((tmp_path / "shapley_wide_seeds.json").read_text())
    assert res["mode"] == "quick" and len(res["rows"]) == 1
    row = res["rows"][0]
    assert row["d"] == 25 and row["m"] == 250 and len(row["shap_err"]) == 2
    for name in ("shapley", "kernel"):
        entry = row["methods"][name]
        assert len(entry["err"]) == len(entry["per_seed_ratio"]) == 2 and entry["median_ratio"] >= 0
    assert row["methods"]["shapley"]["picks"] == ["gp"]  # d = 25 at 10·d on a cheap model
    assert "ratio = ours ÷ shap.KernelExplainer's" in (tmp_path / "shapley_wide_seeds.md").read_text()
