import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_shapley_benchmark_quick_mode_runs(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "shapley.py"), "--quick", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
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
    assert res["throughput"]["seconds"] > 0 and res["digits_patches_exact"]["max_efficiency_residual"] < 1e-4
    assert (tmp_path / "shapley.md").read_text().strip().splitlines()[-1].startswith("Headline:")
