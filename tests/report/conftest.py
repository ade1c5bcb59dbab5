"""One tiny digits run shared by the report tests (a 2-epoch MLP, 3 explained rows)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def report_run(tmp_path_factory):
    from leanlens import run  # the pipeline with its report

    cfg = {
        "name": "report-test", "data": {"name": "digits"},
        "model": {"train": {"hidden": [16], "epochs": 2}},
        "explain": {"methods": [{"method": "permutation", "budget": 128}], "n_rows": 3, "background": 5},
        "metrics": {"names": ["completeness"], "n_rows": 3},
        "report": {"sample_rows": 2},
        "latency": {"max_seconds": 0.2, "min_rounds": 5, "attempts": 1},  # no test here asserts a time
    }
    return run(cfg, out=tmp_path_factory.mktemp("report") / "run")
