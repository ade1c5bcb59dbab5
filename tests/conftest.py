"""Shared fixtures: small data sets and tiny trained models (session-scoped: trained once)."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
# One OpenBLAS thread (NumPy's and SciPy's; read when the library loads, so set before NumPy is
# imported; child processes inherit it). The tests' matrices are small: a second BLAS thread only
# spins, and two xdist workers on 2 cores each spinning a second thread take the core the other
# worker needs (measured: the Shapley chooser and GP files, -n 0 at load 14-15, run twice each way:
# 16.5 / 17.4 s of user CPU with the default 2 threads, 13.8 / 13.9 s with 1). leanlens already
# solves its many small systems on one BLAS thread (explain/shapley/regression.py, one_blas_thread).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
# torch's OpenMP threads sleep when idle instead of busy-waiting (libgomp reads this when torch is
# first imported, so it is set before anything imports torch; child processes and Ray workers
# inherit it). Two xdist workers share the 2 cores: with the default, a 2-thread torch region
# (benchmark --quick runs, compress()'s measurement, ``threads: 2`` pipelines) spins against the
# other worker and ran 15-70x slower under load (1.4 s vs 45-100 s wall for the same training and
# forward passes; 0.7 s vs 12-14 s of CPU). No test times anything, so no assertion depends on it.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# The same for ONNX Runtime's pool threads (leanlens.models.onnx_model.SPIN_US, 50 µs by default):
# two workers on 2 cores, each session's second thread spinning after every kernel, cost the suite
# ~10 s of wall time (110.5 s with 0, 120.5 s with 50, one run each on a fresh clone).
os.environ.setdefault("LEANLENS_ONNX_SPIN_US", "0")

import numpy as np  # after the thread settings above

ROOT = Path(__file__).resolve().parents[1]

#: os.fsync as Python has it. fsync(2) makes a written file survive a power cut: nothing a test can
#: observe, and on this machine's disk each call waits ~5 ms (measured: 200 small files, 5.0 ms with
#: fsync, 0.15 ms without) while the suite's in-process writes make ~1,550 of them (counted: 1,552 and
#: 1,545 in two whole-suite runs; results, models, reports), ~8 s in which a worker's core idles. Tests in this
#: process get an fstat in its place (it still fails on a bad descriptor, as fsync would); the tests of
#: the atomic write itself keep the real call (``real_fsync`` fixture, tests/test_io_atomic.py), and
#: child processes (CLI tests, benchmarks' subprocesses) are untouched.
REAL_FSYNC = os.fsync


def _fsync_in_tests(fd: int) -> None:
    os.fstat(fd)


@pytest.fixture
def real_fsync(monkeypatch):
    """The real os.fsync for this test (see REAL_FSYNC)."""
    monkeypatch.setattr(os, "fsync", REAL_FSYNC)


def pytest_configure(config):
    os.fsync = _fsync_in_tests  # see REAL_FSYNC
    # Tests train tiny models: one torch thread is faster than two (no OpenMP hand-offs), and
    # it keeps the suite's time steady when the two cores are shared. Tests never time anything.
    if "PYTEST_XDIST_WORKER" not in os.environ and getattr(config.option, "numprocesses", None):
        return  # the pytest-xdist controller runs no test: no torch import (~3 s of CPU) there
    import torch

    torch.set_num_threads(1)


#: The longest files, longest first (measured: `--durations`; order only, no test depends on it).
#: Under ``--dist loadfile`` a worker takes the next file when it is nearly done with its own, so
#: starting the longest files first leaves only short files for the end, when a worker that
#: finishes early would otherwise idle beside one still running a long file.
LONGEST_FIRST = (
    "pipeline/test_pipeline_ray.py",
    "benchmarks/test_bench_robustness.py",
    "benchmarks/test_bench_shapley.py",
    "compare/test_compare_benchmark.py",
    "security/test_skops_trust.py",
    "explain/test_shapley_groups_chooser.py",
    "pipeline/test_pipeline_sweep.py",
    "benchmarks/test_bench_compression.py",
    "report/test_report_browser.py",
    "benchmarks/test_bench_readme_timings.py",
)


def pytest_collection_modifyitems(config, items):
    """The longest files first, then the other files holding slow tests, then the rest
    (pyproject's addopts: ``-n 2 --dist loadfile --no-loadscope-reorder``): the two pytest-xdist
    workers then finish together instead of one starting a long file at the end while the other
    idles. A file runs on one worker, as in a serial run; the order inside a file is kept."""
    tests = Path(__file__).resolve().parent
    rank = {tests / name: i for i, name in enumerate(LONGEST_FIRST)}
    slow_files = {item.path for item in items if item.get_closest_marker("slow") is not None}
    items.sort(key=lambda item: (rank.get(item.path, len(rank)), item.path not in slow_files))


@pytest.fixture(scope="session")
def ray_lock(tmp_path_factory):
    """``with ray_lock():`` around the life of a local Ray instance. Under pytest-xdist two files
    run at once; the tests that start Ray take this lock, so two Ray instances never run together."""
    import contextlib
    import fcntl

    @contextlib.contextmanager
    def hold():
        if "PYTEST_XDIST_WORKER" not in os.environ:  # one process: nothing runs beside us
            yield
            return
        path = tmp_path_factory.getbasetemp().parent / "ray.lock"  # shared by this run's workers
        with open(path, "w") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    return hold


@pytest.fixture(scope="session")
def iris():
    import leanlens

    return leanlens.datasets.load("iris", random_state=0)


@pytest.fixture(scope="session")
def digits():
    import leanlens

    return leanlens.datasets.load("digits", random_state=0)


@pytest.fixture(scope="session")
def iris_mlp(iris):
    import leanlens

    return leanlens.train(iris, leanlens.TrainConfig(hidden=(16,), epochs=20, lr=1e-2, random_state=0))


@pytest.fixture(scope="session")
def digits_mlp_small(digits):
    import leanlens

    return leanlens.train(digits, leanlens.TrainConfig(hidden=(64,), epochs=5, random_state=0))


@pytest.fixture(scope="session")
def mlp64(digits):
    """digits MLP 64-64-64-10 without dropout (≈ 0.9 test accuracy), trained on one torch thread."""
    import torch

    import leanlens

    cfg = leanlens.TrainConfig(hidden=(64, 64), epochs=6, dropout=0.0, lr=3e-3, random_state=0)
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return leanlens.train(digits, cfg)
    finally:
        torch.set_num_threads(old)


@pytest.fixture()
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def run_benchmark(monkeypatch):
    """``run_benchmark("drift", "--quick", "--out", d)`` runs ``benchmarks/drift.py`` through its
    ``main()`` in this process and returns what main returns.

    The same code as ``python benchmarks/drift.py --quick --out d`` (argv goes through sys.argv),
    without a second interpreter importing torch, scikit-learn and ONNX Runtime again (~4-5 s of
    CPU a script). The torch thread count a script sets for its timings is restored afterwards.
    """
    import torch

    def run(name: str, *argv: object) -> object:
        path = ROOT / "benchmarks" / f"{name}.py"
        spec = importlib.util.spec_from_file_location(f"benchmarks_{name}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        monkeypatch.setattr(sys, "argv", [str(path), *map(str, argv)])
        monkeypatch.setattr(sys, "path", list(sys.path))  # the scripts put benchmarks/ first
        threads = torch.get_num_threads()
        try:
            spec.loader.exec_module(module)
            return module.main()
        finally:
            torch.set_num_threads(threads)

    return run
