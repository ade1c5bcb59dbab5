import json

import pytest


@pytest.mark.slow
def test_training_benchmark_quick_mode_runs(run_benchmark, tmp_path):
    run_benchmark("training", "--quick", "--out", tmp_path)  # main() returns None; an error raises
    res = json.loads((tmp_path / "training.json").read_text())
    assert res["same_seed_identical_safetensors"] is True
    assert res["sgd_linear_regression_max_abs_error"] < 1e-3
    assert set(res["cases"]) == {"digits MLP (512, 512)", "digits-images SmallCNN", "breast_cancer MLP (512, 512)"}
    assert (tmp_path / "training.md").read_text().strip().splitlines()[-1].startswith("digits MLP training")
