"""Tiny pipelines shared by the pipeline tests (iris, a 2-epoch MLP, a few rows)."""

from __future__ import annotations

import copy

import pytest

#: 5 timed rounds, no repeat on a busy machine (defaults: ≥ 20 rounds, up to 5 s, 3 attempts)
QUICK_LATENCY = {"max_seconds": 0.2, "trial_max_seconds": 0.1, "min_rounds": 5, "attempts": 1}


def tiny_config(**overrides):
    cfg = {
        "name": "tiny",
        "seed": 0,
        "data": {"name": "iris"},
        "model": {"train": {"hidden": [8], "epochs": 2, "lr": 0.01}},
        "explain": {"methods": ["exact"], "n_rows": 4, "background": 8},
        "metrics": {"names": ["completeness"], "n_rows": 4},
        "report": {"sample_rows": 1},
        # a rough latency column: no test here asserts a time, and the defaults time for seconds
        "latency": QUICK_LATENCY,
    }
    for key, value in overrides.items():
        cfg[key] = value
    return copy.deepcopy(cfg)


@pytest.fixture(scope="session")
def make_config():
    """A factory of tiny pipeline dicts: ``make_config(seed=1, ...)`` replaces top-level keys."""
    return tiny_config


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    from leanlens import run  # the pipeline with its report

    out = tmp_path_factory.mktemp("runs") / "tiny"
    return run(tiny_config(), out=out)


def sweep_config(**overrides):
    """A tiny sweep: iris, prune amount × quantize on/off, exact Shapley agreement on 6 rows."""
    cfg = tiny_config(
        name="tiny-sweep",
        model={"train": {"hidden": [16], "epochs": 3, "lr": 0.01}},
        explain={"methods": ["exact"], "n_rows": 6, "background": 6},
        sweep={
            "trials": 3,
            "plan": [{"prune": {"kind": "unstructured", "amount": 0.5}}, {"quantize": {"dtype": "int8"}}],
            "space": {"prune.amount": {"low": 0.1, "high": 0.7}, "quantize.enabled": {"choices": [True, False]}},
        },
    )
    cfg.update(copy.deepcopy(overrides))
    return cfg


@pytest.fixture(scope="session")
def make_sweep_config():
    return sweep_config
