"""Sweep output: the bar counts trials only, the console lists every trial with rounded plan
parameters, one Pareto definition (console = report = result.json), and no "Verdict: none"."""

from __future__ import annotations

import io

import numpy as np

from leanlens._format import significant
from leanlens.pipeline import ModelEntry, RunResult, pareto_front
from leanlens.pipeline.console import print_summary
from leanlens.pipeline.events import Events
from leanlens.report.render import headline


def test_sweep_bar_counts_trials_not_stages():
    with Events(progress=True, total=2, title="sweep", count_stages=False) as ev:
        for name in ("data", "model", "trials", "report"):
            with ev.stage(name):
                pass
        ev.advance(1)
        ev.advance(1)
        assert ev._bar.done == 2 and ev.reporter._progress.tasks[0].completed == 2  # not 6/2
    with Events(progress=True, total=2, title="run") as ev:  # a run's bar counts its stages
        for name in ("data", "model"):
            with ev.stage(name):
                pass
        assert ev._bar.done == 2 and ev.reporter._progress.tasks[0].completed == 2


def _sweep_result(tmp_path):
    rng = np.random.default_rng(0)
    trials = []
    for n in range(20):
        trials.append({"number": n, "state": "COMPLETE", "params": {"prune.amount": float(rng.uniform()),
                                                                     "quantize.enabled": bool(n % 2)},
                       "accuracy": float(rng.uniform(0.8, 0.95)), "latency_ms": float(rng.uniform(1, 3)),
                       "agreement": float(rng.uniform(0.5, 1))})
    trials.append({"number": 20, "state": "FAIL", "params": {"prune.amount": 0.123456}, "error": "boom"})
    done = [t for t in trials if t["state"] == "COMPLETE"]
    front = {done[i]["number"] for i in pareto_front([(t["accuracy"], t["latency_ms"], t["agreement"]) for t in done],
                                                     ["maximize", "minimize", "maximize"])}
    for t in trials:
        t["pareto"] = t["number"] in front
    res = RunResult(out_dir=tmp_path, name="s-sweep", models=[ModelEntry(name="original", scores={"test_accuracy": 0.9})],
                    trials=trials)
    res.pareto = [f"trial-{n}" for n in sorted(front)]
    return res, trials, front


def test_console_lists_every_trial_rounded_with_one_pareto_list(tmp_path):
    res, trials, front = _sweep_result(tmp_path)
    buf = io.StringIO()
    print_summary(res, stream=buf)
    out = buf.getvalue()
    assert "20 completed trials of 21" in out
    for t in trials:
        amount = t["params"]["prune.amount"]
        assert f"prune.amount={significant(amount)}" in out
        assert repr(amount) not in out  # never the raw float
    assert out.count("Pareto front") == 1 and "top-k explanation agreement" in out
    starred = {int(line.split("│")[1].split()[0]) for line in out.splitlines()
               if line.count("│") > 3 and "*" in line.split("│")[1]}
    assert front and starred == front


def test_collect_uses_one_front_for_trials_and_models(tmp_path):
    import optuna
    from optuna.distributions import FloatDistribution

    from leanlens.pipeline.sweep import _collect

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(directions=["maximize", "minimize", "maximize"])
    values = [(0.9, 2.0, 0.5), (0.9, 1.0, 0.4), (0.8, 1.0, 0.9), (0.7, 3.0, 0.3), (0.9, 2.0, 0.9)]
    for v in values:
        study.add_trial(optuna.trial.create_trial(params={"prune.amount": 0.5}, values=list(v),
                                                  distributions={"prune.amount": FloatDistribution(0, 1)}))

    class _DS:
        def summary(self):
            return {"name": "t"}

    res = RunResult(out_dir=tmp_path, name="s")
    _collect(study, res, {"original_entry": ModelEntry(name="original"), "dataset": _DS()})
    flagged = sorted(f"trial-{t['number']}" for t in res.trials if t["pareto"])
    assert flagged == ["trial-1", "trial-2", "trial-4"]  # 0 and 3 are dominated by 4
    assert sorted(res.pareto) == flagged
    assert [m.name for m in res.models[1:]] and {m.name for m in res.models[1:]} == set(flagged)


def test_sweep_headline_says_what_was_compared(tmp_path):
    res, _trials, front = _sweep_result(tmp_path)
    h = headline(res)
    assert "Verdict: none" not in h
    assert "ranked 20 trial(s)" in h and f"kept {len(front)} on the Pareto front" in h and "leanlens compare" in h
