"""The cost stated before an explanation: measured on one row, scaled to all rows."""

from __future__ import annotations

import numpy as np

import leanlens
from leanlens.explain.cost import Cost, probe_cost


def test_probe_counts_the_model_evaluations_of_the_real_run():
    model = leanlens.as_model(lambda X: X @ np.array([1.0, -2.0, 0.5, 0.0]), n_features=4)
    rng = np.random.default_rng(0)
    X, bg = rng.normal(size=(7, 4)), rng.normal(size=(5, 4))
    from leanlens.explain.base import get_explainer

    explainer = get_explainer("kernel")(model, background=bg, budget=10, random_state=0)
    cost = probe_cost(explainer, X)
    full = explainer.explain(X)
    assert cost.n_rows == 7 and cost.n_background == 5
    # per-row work scales exactly; the fixed part (the empty and full coalitions) is counted per row
    assert full.n_model_evals <= cost.n_model_evals <= 1.2 * full.n_model_evals
    assert "7 rows ×" in cost.line()


def test_cheaper_settings_only_for_long_runs_and_each_under_the_limit():
    short = Cost("kernel", n_rows=10, evals_per_row=1000, seconds_per_row=0.1, n_background=100, budget=2000)
    assert short.cheaper() == []
    long = Cost("kernel", n_rows=100, evals_per_row=200_000, seconds_per_row=2.4, n_background=100, budget=2000)
    tips = long.cheaper(limit=60)
    assert [t.split()[0] for t in tips] == ["--background", "--rows", "--budget"]
    assert "--background 25" in tips[0] and "--rows 0:25" in tips[1] and "--budget 500" in tips[2]
    assert "4 min 00 s" in long.line()
