"""Cost before work and progress during it, on every long command (issue 14 items 1–2):
a ``cost:`` line before the work, progress as JSON events under ``--log-json`` (event,
stage, done, total, elapsed), and ``--quiet`` silencing both. In-process, tiny models."""

from __future__ import annotations

import json

import pytest

import leanlens
from leanlens.testing.cli_events import call, cost_lines, events_of, no_output_but_warnings, stages


@pytest.fixture(scope="module")
def models(tmp_path_factory, iris, iris_mlp):
    folder = tmp_path_factory.mktemp("cost")
    iris_mlp.save(folder / "m")
    small = leanlens.compress(iris_mlp, [leanlens.Prune(amount=0.5)], data=iris, latency_reps=0)
    small.save(folder / "c")
    return folder


def test_evaluate_states_its_cost_shows_progress_and_quiet_silences_it(models, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("leanlens.progress.SHOW_AFTER", 0.0)  # keep the fast stages' bars on screen
    args = ["evaluate", str(models / "m"), "--data", "iris", "--explainer", "kernel", "--rows", "12", "--budget", "32",
            "--background", "5", "--metrics", "deletion_auc,completeness"]
    code, _, err = call([*args, "--out", str(tmp_path / "a")], capsys)
    assert code == 0, err
    lines = cost_lines(err)
    assert lines[0].startswith("cost: kernel: 12 rows × ") and "model evaluations" in lines[0]
    assert lines[1].startswith("cost: metrics (deletion_auc, completeness): ") and lines[2].startswith("cost: evaluate total:")
    assert err.index("cost: evaluate total") < err.index("\nexplain (kernel)") < err.index("\nmetrics ")  # cost first

    code, _, err = call([*args, "--out", str(tmp_path / "b"), "--log-json"], capsys)
    events = events_of(err)
    assert code == 0 and {"explain (kernel)", "metrics"} <= stages(events)
    costs = [e for e in events if e["event"] == "cost"]
    assert costs[-1]["part"] == "total" and costs[-1]["model_evals"] > 0 and costs[-1]["seconds"] > 0
    first_task = next(i for i, e in enumerate(events) if e["event"] == "task_start")
    assert max(i for i, e in enumerate(events) if e["event"] == "cost") < first_task

    code, _, err = call([*args, "--out", str(tmp_path / "c"), "--quiet"], capsys)
    assert code == 0 and no_output_but_warnings(err), err
    a, c = ([{k: v for k, v in r.items() if k != "seconds"} for r in json.loads((tmp_path / x / "metrics.json")
            .read_text())["metrics"]] for x in ("a", "c"))
    assert a == c  # what is shown does not change the numbers (only the timings)


def test_compare_states_its_cost_shows_progress_and_quiet_silences_it(models, tmp_path, capsys):
    args = ["compare", str(models / "m"), str(models / "c"), "--data", "iris", "--explainers", "kernel", "--rows", "20",
            "--background", "5", "--budget", "32", "--twins", "1", "--no-plots"]
    code, _, err = call([*args, "--out", str(tmp_path / "b"), "--log-json"], capsys)
    events = events_of(err)
    assert code == 0
    costs = [e["message"] for e in events if e["event"] == "cost"]
    # original, compressed and 1 twin at one seed: with 4 features a budget of 32 enumerates all 16
    # coalitions, so the probe finds kernel deterministic and compare() needs no second seed
    assert costs[0].startswith("compare with kernel: 3 runs × 20 rows × ")
    assert any(c.startswith("1 twin (retrained)") for c in costs)
    assert {"twins (retrained)", "compare: explain (kernel, budget 32)"} <= stages(events)

    code, _, err = call([*args, "--out", str(tmp_path / "a")], capsys)
    assert code == 0 and cost_lines(err)[0].startswith("cost: compare with kernel: 3 runs × 20 rows")
    code, out, err = call([*args, "--out", str(tmp_path / "c"), "--quiet"], capsys)
    assert code == 0 and no_output_but_warnings(err) and "verdict:" in out
