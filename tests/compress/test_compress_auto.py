"""compress(plan="auto"): the search, its constraints, replay, resume, bad input and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

import leanlens
from leanlens.compress import compress, parse_plan
from leanlens.compress.auto import AutoBudget, plan_from_params, search_space
from leanlens.errors import ConfigError, InvalidInputError

TINY = {"threads": 1, "latency_reps": 3, "steps": ("prune", "quantize")}


@pytest.mark.slow
def test_auto_returns_a_feasible_plan_that_replays_exactly(mlp64, digits, tmp_path):
    budget = AutoBudget(trials=3, max_accuracy_drop=0.05, storage=str(tmp_path / "study.db"), **TINY)
    res = compress(mlp64, "auto", data=digits, budget=budget, random_state=0)
    s = res.auto
    assert s is not None and len(s.candidates) == 3
    assert [c["speedup"] for c in s.candidates] == sorted((c["speedup"] for c in s.candidates), reverse=True)
    assert s.pareto and all(p in s.candidates for p in s.pareto)
    if s.plan:  # the winner met the budget and replays from its YAML exactly
        assert res.record.total()["score_change_points"] >= -5.0
        plan_file = tmp_path / "plan.yaml"
        plan_file.write_text(s.plan_yaml)
        again = compress(mlp64, str(plan_file), data=digits, random_state=s.seed, latency_reps=0)
        np.testing.assert_array_equal(again.model.predict(digits.X_test), res.model.predict(digits.X_test))
    else:
        assert res.model is mlp64 and "No plan" in s.message
    # resumable: the same study file with a larger budget runs only the missing trials
    more = compress(mlp64, "auto", data=digits, budget=AutoBudget(**{**budget.__dict__, "trials": 4}),
                    random_state=0)
    assert more.auto is not None and len(more.auto.candidates) == 4


def test_finalists_are_the_fastest_of_each_plan_shape_and_of_both_families():
    from leanlens.compress.auto import _candidates

    def row(trial, **params):
        return {"trial": trial, "params": params}

    # fastest first: three 32-wide 2-layer students, a 64-wide one, a 128-wide one, two pruned plans
    feasible = [row(8, student=32, student_layers=2), row(10, student=32, student_layers=2),
                row(19, student=32, student_layers=1), row(18, student=64, student_layers=2),
                row(7, student=128, student_layers=1), row(1, student=0, prune="structured", amount=0.7),
                row(0, student=0, prune="structured", amount=0.5)]
    # one of each shape before a sibling; the pruned family takes the last place when all are students
    assert [r["trial"] for r in _candidates(feasible, 4)] == [8, 19, 18, 1]
    assert [r["trial"] for r in _candidates(feasible, 5)] == [8, 19, 18, 7, 1]
    # siblings fill the places the shapes leave, fastest first; the order stays the speed order
    assert [r["trial"] for r in _candidates(feasible, 7)] == [8, 10, 19, 18, 7, 1, 0]
    assert [r["trial"] for r in _candidates(feasible[:2], 5)] == [8, 10]
    with pytest.raises(ConfigError, match="finalists"):
        AutoBudget(finalists=0)


def test_an_impossible_budget_returns_the_original_with_candidates(mlp64, digits, monkeypatch):
    from leanlens.compress import judge as judge_module

    class Report:
        verdict = "changed"
        sentence = "The reasons changed."

    calls = []
    # the judge compare() registered (the real one is leanlens.compare.compare)
    assert judge_module.judge() is leanlens.compare
    monkeypatch.setitem(judge_module._registered, "judge", lambda *a, **k: calls.append(1) or Report())
    budget = AutoBudget(trials=2, max_accuracy_drop=1.0, require="same-reasons", **TINY)
    res = compress(mlp64, "auto", data=digits, budget=budget, random_state=0)
    assert res.model is mlp64 and res.record.steps == []
    assert res.auto is not None and res.auto.plan == [] and res.auto.plan_yaml.strip() == "[]"
    assert "No plan of 2 trials met a score drop ≤ 100 points, ran faster than the original and kept a same-reasons verdict" in res.auto.message
    assert "Best candidates: ×" in res.auto.message
    # the verdict is asked only of the few fastest feasible candidates (those faster than the original)
    judged = [c for c in res.auto.candidates if c["verdict"] is not None]
    assert len(calls) == len(judged) <= 2 and all(c["verdict"] == "changed" for c in judged)


def test_an_inconclusive_finalist_is_judged_again_with_more_evidence(mlp64, digits, monkeypatch):
    from leanlens.compare import CompareConfig
    from leanlens.compress import judge as judge_module

    seen = []

    class Report:
        def __init__(self, verdict):
            self.verdict, self.sentence = verdict, f"reads {verdict}"

    def fake_judge(original, candidate, data, explainers, *, random_state, config, cache_dir, twins):
        seen.append((config.n_rows, twins, config.max_seconds))
        return Report("inconclusive" if twins == 3 else "same-reasons")  # more evidence resolves it

    monkeypatch.setitem(judge_module._registered, "judge", fake_judge)
    base = CompareConfig(n_rows=60, max_seconds=10.0)
    budget = AutoBudget(trials=2, max_accuracy_drop=1.0, require="same-reasons", compare=base, **TINY)
    res = compress(mlp64, "auto", data=digits, budget=budget, random_state=0)
    assert res.auto is not None and res.auto.plan and res.auto.verdict == "same-reasons"
    assert seen[:2] == [(60, 3, 10.0), (120, 5, 20.0)]  # the same rule, twice the rows, two more twins
    chosen = next(c for c in res.auto.candidates if c.get("judgments"))
    assert [j["verdict"] for j in chosen["judgments"]] == ["inconclusive", "same-reasons"]
    assert "inconclusive (60 rows, 3 twins) → same-reasons (120 rows, 5 twins)" in res.auto.message

    seen.clear()  # resolve=0: an inconclusive finalist is passed over, as before
    res = compress(mlp64, "auto", data=digits, budget=AutoBudget(**{**budget.__dict__, "resolve": 0}), random_state=0)
    assert res.model is mlp64 and all(twins == 3 for _, twins, _ in seen) and seen
    with pytest.raises(ConfigError, match="resolve"):
        AutoBudget(resolve=5)


def test_no_torch_body_searches_only_what_applies(digits):
    from sklearn.tree import DecisionTreeClassifier

    sk = leanlens.as_model(DecisionTreeClassifier(max_depth=3).fit(digits.X_train, digits.y_train))
    searched, left = search_space(sk)
    assert searched == ["distill", "quantize"]
    assert set(left) == {"prune", "finetune", "lowrank", "quantize"} and "torch body" in left["prune"]
    plan = plan_from_params({"student": 32, "int8": "static"}, n_features=64, threads=1)
    assert [s.step for s in plan] == ["distill", "quantize"]
    assert plan_from_params({"student": 0}, n_features=64, threads=1) == []


def test_budget_is_checked():
    with pytest.raises(ConfigError, match="max_accuracy_drop"):
        AutoBudget(max_accuracy_drop=-0.1)
    with pytest.raises(ConfigError, match="require"):
        AutoBudget(require="same")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="trials"):
        AutoBudget(trials=0)


def test_budget_without_auto_and_wrong_budget_type(mlp64, digits):
    with pytest.raises(InvalidInputError, match="for plan='auto' only"):
        compress(mlp64, [leanlens.Prune()], data=digits, budget=AutoBudget(), latency_reps=0)
    with pytest.raises(InvalidInputError, match="must be an AutoBudget"):
        compress(mlp64, "auto", data=digits, budget={"trials": 2}, latency_reps=0)  # type: ignore[arg-type]


@pytest.mark.slow
def test_cli_auto_writes_plan_and_search(mlp64, digits, tmp_path):
    from leanlens.cli import main

    mlp64.save(tmp_path / "m")
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as done:
        main(["compress", str(tmp_path / "m"), "--data", "digits", "--auto", "--trials", "1", "--search",
              "prune,quantize", "--threads", "1", "--max-accuracy-drop", "0.05", "--out", str(out), "--quiet"])
    assert done.value.code == 0
    search = json.loads((out / "auto.json").read_text())
    assert len(search["candidates"]) == 1 and "trial" in search["message"]
    assert parse_plan(yaml.safe_load((out / "plan.yaml").read_text()) or [{"finetune": {}}])
    with pytest.raises(SystemExit) as exc:
        main(["compress", str(tmp_path / "m"), "--auto", "--prune", "structured:0.5", "--out", str(tmp_path / "o2")])
    assert exc.value.code == 2


def test_an_onnx_original_searches_only_what_applies_and_says_so(mlp64, digits, tmp_path):
    from leanlens.compress.auto import auto_compress
    from leanlens.models.onnx_model import onnx_from_torch

    onnx = onnx_from_torch(mlp64, tmp_path / "onnx", threads=1)
    searched, left = search_space(onnx)
    assert searched == ["distill", "quantize"] and set(left) == {"prune", "finetune", "lowrank"}
    said: list[str] = []
    _, search = auto_compress(onnx, data=digits, budget=AutoBudget(trials=1, steps=("quantize",), threads=1,
                                                                      latency_reps=3), random_state=0, log=said.append)
    assert search.searched == ["quantize"] and len(search.candidates) == 1
    assert "left out: prune: they need a torch body and this is a onnx model" in said[0]
    assert all(next(iter(step)) == "quantize" for c in search.candidates for step in c["plan"])


def test_a_hopeless_trial_is_timed_briefly_and_a_kept_model_comes_back(mlp64, digits):
    from leanlens.compress.auto import run_trial

    task = {"model": mlp64, "data": digits, "seed": 0, "threads": 1, "batch": 16, "reps": 40, "keep": True,
            "plan": [leanlens.Prune(amount=0.5, scope="layer")]}
    hopeless = run_trial({**task, "max_drop": -1.0})
    fine = run_trial({**task, "max_drop": 1.0, "keep": False})
    assert hopeless["hopeless"] and not fine["hopeless"]
    assert hopeless["drop"] == fine["drop"] and hopeless["error"] is None
    assert hopeless["model"] is not None and fine["model"] is None
    np.testing.assert_array_equal(hopeless["model"].predict(digits.X_test[:50]).shape, (50,))


def test_max_seconds_stops_proposing_trials(mlp64, digits):
    from leanlens.compress.auto import auto_compress

    said: list[str] = []
    _, search = auto_compress(mlp64, data=digits, budget=AutoBudget(trials=5, max_seconds=1e-3, max_accuracy_drop=1.0,
                                                                     steps=("prune",), threads=1, latency_reps=3),
                              random_state=0, log=said.append)
    assert len(search.candidates) == 1  # the first trial always runs; the next would pass the limit
    assert any("stopped after 1 trials" in s for s in said)
    assert search.candidates[0]["params"] == {"prune": "structured", "amount": 0.5, "criterion": "magnitude"}
