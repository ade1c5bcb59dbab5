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
