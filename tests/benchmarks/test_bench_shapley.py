import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_shapley_benchmark_quick_mode_runs(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "shapley.py"), "--quick", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    res = json.loads((tmp_path / "shapley.json").read_text())
    assert res["mode"] == "quick"
    assert len(res["cases"]) == 4
    methods = {"shap.KernelExplainer", "shap.PermutationExplainer", "ours kernel", "ours leverage", "ours permutation"}
    for case in res["cases"].values():
        assert case["truth_efficiency_residual"] < 1e-4
        for per_method in case["budgets"].values():
            assert set(per_method) == methods
            for name in ("ours kernel", "ours leverage", "ours permutation"):
                assert per_method[name]["max_efficiency_residual"] < 1e-4
                assert per_method[name]["median_rel_sq_error"] < 0.5
    assert res["throughput"]["ours kernel"]["seconds"] > 0
    assert (tmp_path / "shapley.md").read_text().strip().splitlines()[-1].startswith("Headline:")
