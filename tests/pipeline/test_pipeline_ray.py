"""The Ray backend against a real local Ray instance bound to 127.0.0.1.

Every test of the suite that needs a local Ray is in this file: they share one instance (the
``ray_local`` module fixture; starting one costs seconds of CPU and imports leanlens and torch in
each of its workers), and pytest-xdist's ``--dist loadfile`` keeps them on one worker.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from leanlens.compress import compress
from leanlens.compress.auto import AutoBudget
from leanlens.pipeline import ClusterUnreachableError, RayExecutor, run, sweep
from leanlens.pipeline.distributed import explain_rows
from leanlens.pipeline.executors import check_reachable

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ray_local(ray_lock):
    ray = pytest.importorskip("ray")
    with ray_lock():
        ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False,
                 configure_logging=False)
        try:
            yield RayExecutor()
        finally:
            ray.shutdown()


def test_explaining_rows_as_ray_tasks_matches_in_process(ray_local, iris_mlp, iris):
    X, bg = iris.X_test[:25], iris.X_train[:10]
    remote = explain_rows(iris_mlp, X, "exact", background=bg, target=None, executor=ray_local, chunk_rows=10)
    local = explain_rows(iris_mlp, X, "exact", background=bg, target=None)
    assert remote.params["chunks"] == 3 and remote.values.shape == local.values.shape == (25, 4, 3)
    np.testing.assert_allclose(remote.values, local.values, atol=1e-6)
    np.testing.assert_allclose(remote.data, local.data)


def test_a_stochastic_explainer_gives_the_same_numbers_on_ray_and_locally(ray_local, iris_mlp, iris):
    from leanlens.pipeline import LocalExecutor

    X, bg = iris.X_test[:25], iris.X_train[:10]
    kw = dict(background=bg, target=None, budget=24, random_state=5, chunk_rows=10)
    remote = explain_rows(iris_mlp, X, "kernel", executor=ray_local, **kw)
    local = explain_rows(iris_mlp, X, "kernel", executor=LocalExecutor(), **kw)
    assert remote.params["chunks"] == local.params["chunks"] == 3
    np.testing.assert_array_equal(remote.values, local.values)
    np.testing.assert_array_equal(remote.base_values, local.base_values)


def test_run_and_sweep_on_ray(ray_local, tmp_path, make_config, make_sweep_config):
    res = run(make_config(executor={"backend": "ray", "chunk_rows": 2}), out=tmp_path / "run", executor=ray_local)
    assert res.status == "complete"
    assert res.explanation("original", "exact").params["chunks"] == 2
    sw = sweep(make_sweep_config(), out=tmp_path / "sweep", trials=2, executor=ray_local)
    assert [t["state"] for t in sw.trials].count("COMPLETE") == 2


def test_closed_port_is_unreachable_at_once():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, never listening: connections are refused
        start = time.perf_counter()
        with pytest.raises(ClusterUnreachableError, match="unreachable"):
            check_reachable(f"127.0.0.1:{port}")
    assert time.perf_counter() - start < 30


def test_an_address_that_is_not_ray_errors_within_30_s(tmp_path, make_config):
    """Something listens but is no Ray head: the CLI exits with one line, not a hang."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    conns = []

    def accept() -> None:
        while True:
            try:
                conns.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    import yaml

    cfg = tmp_path / "p.yaml"
    cfg.write_text(yaml.safe_dump(make_config()))
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "leanlens.cli", "run", str(cfg), "--out", str(tmp_path / "r"), "--quiet",
             "--backend", "ray", "--address", f"127.0.0.1:{server.getsockname()[1]}"],
            capture_output=True, text=True, timeout=60, env={**os.environ, "LEANLENS_RAY_CONNECT_TIMEOUT": "3"},
        )
    finally:
        server.close()
    assert proc.returncode == 2, proc.stderr
    assert "no Ray cluster answered within 3 s" in proc.stderr


def test_bad_address_format():
    from leanlens.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="host:port"):
        check_reachable("nonsense")


def test_auto_on_a_local_ray_instance_gives_the_in_process_trials(mlp64, digits, ray_local):
    budget = AutoBudget(trials=2, max_accuracy_drop=0.05, steps=("prune",), threads=1, latency_reps=3)
    with RayExecutor(num_cpus=2) as ray_ex:  # joins the module's local Ray (2 CPUs); close() leaves it up
        assert ray_ex.start().workers == 2
        remote = compress(mlp64, "auto", data=digits, budget=budget, random_state=0, executor=ray_ex)
    local = compress(mlp64, "auto", data=digits, budget=budget, random_state=0)
    assert remote.auto is not None and local.auto is not None

    def trials(s):
        return sorted((c["trial"], c["params"], round(c["drop"], 9), c["error"]) for c in s.candidates)

    assert trials(remote.auto) == trials(local.auto) and len(remote.auto.candidates) == 2
    if remote.auto.plan:  # the winner, replayed in the driver from its plan, is that plan's model
        again = compress(mlp64, remote.auto.plan, data=digits, random_state=0, latency_reps=0)
        np.testing.assert_array_equal(again.model.predict(digits.X_test), remote.model.predict(digits.X_test))


def test_pipeline_benchmark_quick_mode_runs(ray_local, run_benchmark, tmp_path):
    """benchmarks/pipeline.py --quick, in this process: its RayExecutor joins the module's Ray."""
    run_benchmark("pipeline", "--quick", "--out", tmp_path)  # main() returns None; an error raises
    res = json.loads((tmp_path / "pipeline.json").read_text())
    assert res["quick"] is True
    assert set(res["demo"]["stages_s"]) >= {"data", "model", "compress", "explain", "compare", "report"}
    assert res["sweep"]["local"]["completed"] == res["sweep"]["ray"]["completed"] == 2
    assert res["explain_rows"]["rows"] == 80
    last = (tmp_path / "pipeline.md").read_text().strip().splitlines()[-1]
    assert last.startswith("Demo wall time") and "Ray" in last
