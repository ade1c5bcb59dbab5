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
    assert abs(cost.n_model_evals - full.n_model_evals) <= 0.1 * full.n_model_evals
    assert "7 rows ×" in cost.line()


def test_cheaper_settings_only_for_long_runs_and_each_under_the_limit():
    short = Cost("kernel", n_rows=10, evals_per_row=1000, seconds_per_row=0.1, n_background=100, budget=2000)
    assert short.cheaper() == []
    long = Cost("kernel", n_rows=100, evals_per_row=200_000, seconds_per_row=2.4, n_background=100, budget=2000)
    tips = long.cheaper(limit=60)
    assert [t.split()[0] for t in tips] == ["--background", "--rows", "--budget"]
    assert "--background 25" in tips[0] and "--rows 0:25" in tips[1] and "--budget 500" in tips[2]
    assert "4 min 00 s" in long.line()


def test_cli_explain_states_the_cost_first_and_shows_progress(iris_mlp, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    monkeypatch.setattr("leanlens.progress.SHOW_AFTER", 0.0)  # keep this fast stage's bar on screen

    from leanlens.cli import app

    iris_mlp.save(tmp_path / "m")
    args = ["explain", str(tmp_path / "m"), "--data", "iris", "--method", "kernel", "--rows", "0:25",
            "--budget", "30", "--background", "5", "--no-plots"]
    loud = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "a")])
    assert loud.exit_code == 0, loud.output
    err = loud.stderr
    assert err.index("cost: kernel: 25 rows ×") < err.index("explain (kernel)")
    quiet = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "b"), "--quiet"])
    assert quiet.exit_code == 0 and "cost:" not in quiet.stderr and "explain (kernel)" not in quiet.stderr
    a = leanlens.Explanation.load(tmp_path / "a" / "explanation.json")
    b = leanlens.Explanation.load(tmp_path / "b" / "explanation.json")
    np.testing.assert_array_equal(a.values, b.values)  # --quiet changes what is printed, not the numbers


def test_cheaper_names_the_k_means_summary_first_and_counts_the_other_parts():
    from leanlens.explain.cost import COUNT_FLAGS, YAML_FLAGS

    # a Shapley explainer summarizes its background by k-means: the change that moves the result least
    c = Cost("leverage", n_rows=100, evals_per_row=200_000, seconds_per_row=2.4, n_background=100, budget=2000,
             summarizes=100)
    tips = c.cheaper(limit=60)
    assert tips[0].startswith("--param max_background=25 (a k-means summary of the 100 background rows")
    assert COUNT_FLAGS.summary is None and c.cheaper(limit=60, flags=COUNT_FLAGS)[0].startswith("--background 25 ")
    assert c.cheaper(limit=60, flags=YAML_FLAGS)[1].startswith("explain.n_rows: 25 ")
    # 240 s of explanation inside a 270 s command: the explanation must shrink to 30 s (1/8) for the
    # whole to take 60 s; the tips say what the whole command would take
    whole = c.cheaper(limit=60, total=270.0)
    assert whole[1] == "--rows 0:12 (fewer rows: about 59 s)" and whole[2].startswith("--budget 250 ")


def test_state_cost_speaks_through_the_reporter_only():
    from leanlens.explain.cost import Extra, state_cost
    from leanlens.progress import Reporter, reporting

    parts = [Cost("kernel", n_rows=100, evals_per_row=2000, seconds_per_row=1.0, n_background=50, budget=1000,
                  runs=4, what="compare with kernel"), Extra("3 twins", 30.0)]
    events = []
    with reporting(Reporter(log=events.append)):
        tips = state_cost(parts, command="compare")
    kinds = [e["event"] for e in events]
    assert kinds == ["cost", "cost", "cost", "cheaper"] and tips
    assert events[0]["message"].startswith("compare with kernel: 4 runs × 100 rows × 2,000 model evaluations = 800,000")
    assert events[2]["part"] == "total" and events[2]["seconds"] == 430.0 and events[2]["model_evals"] == 800_000
    assert events[3]["tips"] == tips
    silent = []
    with reporting(Reporter()):  # --quiet: a reporter with neither bars nor log
        state_cost(parts)
    assert silent == []
