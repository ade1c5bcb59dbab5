"""Cost before work and progress during it for ``run`` and ``sweep`` (issue 14 items 1–2):
a ``cost:`` line before the work, progress as JSON events under ``--log-json`` (event,
stage, done, total, elapsed), and ``--quiet`` silencing both. In-process, tiny models."""

from __future__ import annotations

import pytest
import yaml

from leanlens.testing.cli_events import call, events_of, no_output_but_warnings, stages


def _pipeline(tmp_path, make_config, **extra):
    cfg = make_config(explain={"methods": [{"method": "kernel", "budget": 32}], "n_rows": 6, "background": 5},
                      compare={"twins": 1}, compress={"latency_reps": 0},
                      plans=[{"name": "p50", "steps": [{"prune": {"kind": "unstructured", "amount": 0.5}}]}], **extra)
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.mark.slow
def test_run_states_its_cost_and_logs_progress_events(tmp_path, capsys, make_config):
    path = _pipeline(tmp_path, make_config)
    code, _, err = call(["run", str(path), "--out", str(tmp_path / "r"), "--log-json"], capsys)
    events = events_of(err)
    assert code == 0
    costs = [e for e in events if e["event"] == "cost"]
    assert [c["part"] for c in costs][:2] == ["explain 2 models with kernel", "metrics (completeness) of 2 explanations"]
    assert costs[-1]["part"] == "total" and costs[-1]["model_evals"] > 0
    explain_start = next(i for i, e in enumerate(events) if e["event"] == "stage_start" and e["stage"] == "explain")
    assert max(i for i, e in enumerate(events) if e["event"] == "cost") < explain_start  # before the long stages
    assert {"leanlens run tiny", "compress", "explain (kernel) of original", "explain (kernel) of p50", "metrics",
            "twins (retrained)"} <= stages(events)
    assert any(s.startswith("latency (") for s in stages(events))
    assert any(s.startswith("compare: explain (kernel") for s in stages(events))


@pytest.mark.slow
def test_sweep_states_its_cost_logs_progress_events_and_quiet_silences_it(tmp_path, capsys, make_config):
    sweep = {"trials": 1, "plan": [{"prune": {"kind": "unstructured", "amount": 0.5}}],
             "space": {"prune.amount": {"low": 0.2, "high": 0.8}}}
    path = _pipeline(tmp_path, make_config, sweep=sweep)
    code, _, err = call(["sweep", str(path), "--out", str(tmp_path / "s"), "--log-json"], capsys)
    events = events_of(err)
    assert code == 0
    costs = [e["message"] for e in events if e["event"] == "cost"]
    assert costs[0].startswith("1 trials × 2 explanations (kernel) of the trial's model: 2 runs × 6 rows × ")
    trials_start = next(i for i, e in enumerate(events) if e["event"] == "stage_start" and e["stage"] == "trials")
    assert max(i for i, e in enumerate(events) if e["event"] == "cost") < trials_start
    assert {"leanlens sweep tiny: trials", "compress", "explain (kernel) of the trial",
            "explain (kernel) of the original"} <= stages(events)
    code, out, err = call(["sweep", str(path), "--out", str(tmp_path / "q"), "--quiet"], capsys)
    assert code == 0 and no_output_but_warnings(err) and "completed trials of 1" in out
