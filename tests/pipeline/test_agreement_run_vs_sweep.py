"""One vocabulary: a plan reads the same decision agreement and top-k explanation agreement
(and twin reference) in ``run`` and in ``sweep`` for the same plan and seed, because the sweep
explains the original and each trial exactly as the run's compare() does."""

from __future__ import annotations

import json

import pytest

from leanlens.pipeline import run, sweep

AMOUNTS = (0.2, 0.8)


@pytest.mark.slow
def test_run_and_sweep_read_identical_agreements_for_the_same_plan_and_seed(tmp_path, make_config):
    # a sampling explainer (kernel): its values depend on the seeds, so a sweep that explained
    # with other seeds, or without compare()'s common random numbers, would read differently
    common = make_config(
        seed=3,
        model={"train": {"hidden": [16], "epochs": 3, "lr": 0.01}},
        explain={"methods": [{"method": "kernel", "budget": 64}], "n_rows": 6, "background": 6},
        compare={"twins": 1},
    )
    plan = [{"prune": {"kind": "unstructured", "amount": 0.5}}]
    ran = run({**common, "plans": [{"name": f"p{a}", "steps": [{"prune": {"kind": "unstructured", "amount": a}}]}
                                   for a in AMOUNTS]}, out=tmp_path / "run")
    swept = sweep({**common, "sweep": {"trials": 2, "plan": plan,
                                       "space": {"prune.amount": {"choices": list(AMOUNTS)}}}},
                  out=tmp_path / "sweep")
    by_plan = {m.name: m for m in ran.models}
    compared = 0
    for t in swept.trials:
        assert t["state"] == "COMPLETE", t.get("error")
        entry = by_plan[f"p{t['params']['prune.amount']}"]
        own, twins = entry.drift.top_k_agreement()
        assert t["agreement"] == own and entry.agreement == own
        assert t["agreement_reference"] == twins and twins is not None
        assert t["decision_agreement"] == entry.drift.decision["agreement"]
        assert t["verdict"] == entry.verdict and t["k"] == entry.drift.explainers["kernel"]["k"]
        # the whole explanation comparison, not only its rounded summaries: per-row agreement and the
        # noise-corrected distance (a continuous figure that two different explanations would not share)
        trial = json.loads((tmp_path / "sweep" / "drift" / f"trial-{t['number']}.json").read_text())["explainers"]["kernel"]
        ours = entry.drift.explainers["kernel"]
        assert trial["per_row"]["feature_agreement"] == ours["per_row"]["feature_agreement"]
        assert trial["distance"]["value"] == ours["distance"]["value"] and trial["budget"] == ours["budget"]
        compared += 1
    assert compared == 2
    # the sweep's recommendation reads every completed trial with the verdict the run gives its plan
    candidates = {c.name: c.verdict for c in swept.recommend().candidates}
    assert candidates == {f"trial-{t['number']}": by_plan[f"p{t['params']['prune.amount']}"].verdict
                          for t in swept.trials}
    # the two plans really differ, so equal readings are not one constant
    distances = {m.drift.explainers["kernel"]["distance"]["value"] for m in ran.compressed}
    assert len(distances) == 2
