"""benchmarks/pipeline.py --quick runs and writes its result files; the demo config validates."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from leanlens.pipeline.demo import DEMO, demo_config

ROOT = Path(__file__).resolve().parents[2]


def test_demo_config_is_the_issue_default():
    cfg = demo_config()
    assert cfg.data.name == "digits" and cfg.model.train.arch == "mlp"
    steps = [[next(iter(s)) for s in p.steps] for p in cfg.plans]
    # int8 (ONNX, no gradients) left the demo: its verdict is judged by IG against retrained twins
    assert steps == [["prune", "finetune"], ["distill"]]
    assert cfg.plans[0].steps[0]["prune"] == {"kind": "structured", "amount": 0.5}
    assert [m.method for m in cfg.explain.methods] == ["permutation", "ig"]
    assert cfg.compare.twins == 3 and cfg.compare.explainers == ["ig"]
    assert DEMO["name"] == "demo"


@pytest.mark.slow
def test_pipeline_benchmark_quick_mode_runs(tmp_path, ray_lock):
    with ray_lock():  # the script starts a local Ray: never beside test_pipeline_ray.py (pytest-xdist)
        proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "pipeline.py"), "--quick", "--out",
                               str(tmp_path)], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads((tmp_path / "pipeline.json").read_text())
    assert res["quick"] is True
    assert set(res["demo"]["stages_s"]) >= {"data", "model", "compress", "explain", "compare", "report"}
    assert res["sweep"]["local"]["completed"] == res["sweep"]["ray"]["completed"] == 2
    assert res["explain_rows"]["rows"] == 80
    last = (tmp_path / "pipeline.md").read_text().strip().splitlines()[-1]
    assert last.startswith("Demo wall time") and "Ray" in last
