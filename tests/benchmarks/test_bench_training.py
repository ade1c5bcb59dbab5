import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_training_benchmark_quick_mode_runs(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "training.py"), "--quick", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    res = json.loads((tmp_path / "training.json").read_text())
    assert res["same_seed_identical_safetensors"] is True
    assert res["sgd_linear_regression_max_abs_error"] < 1e-3
    assert set(res["cases"]) == {"digits MLP (512, 512)", "digits-images SmallCNN", "breast_cancer MLP (512, 512)"}
    assert (tmp_path / "training.md").read_text().strip().splitlines()[-1].startswith("digits MLP training")
