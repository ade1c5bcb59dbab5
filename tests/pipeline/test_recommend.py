"""The recommendation: the fastest compressed model within the accuracy budget whose verdict is same-reasons."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from leanlens.compare import CompareConfig, DriftReport
from leanlens.errors import InvalidInputError
from leanlens.pipeline import ModelEntry, RunResult, parse_pipeline_config, recommend


def _drift(verdict: str, agreement: float = 0.99) -> DriftReport:
    return DriftReport(verdict=verdict, sentence=f"sentence of a {verdict} model.", reasons=(),  # type: ignore[arg-type]
                       decision={"agreement": agreement}, explainers={}, surrogate={}, config=CompareConfig(),
                       feature_names=(), output_names=(), rows=np.arange(3))


def _model(name: str, acc: float, ms: float, verdict: str | None, size: int = 1000,
           agreement: float = 0.99) -> ModelEntry:
    return ModelEntry(name=name, scores={"test_accuracy": acc}, latency_ms=ms, size_bytes=size,
                      drift=None if verdict is None else _drift(verdict, agreement))


def _run(*models: ModelEntry, orig_acc: float = 0.95, orig_ms: float = 10.0, config=None) -> RunResult:
    orig = ModelEntry(name="original", scores={"test_accuracy": orig_acc}, latency_ms=orig_ms, size_bytes=4000)
    return RunResult(out_dir=Path("."), models=[orig, *models], config=config)


def test_the_fastest_same_reasons_model_within_the_budget_wins():
    res = _run(
        _model("slow-same", 0.948, 5.0, "same-reasons"),
        _model("fastest-changed", 0.95, 1.0, "changed"),
        _model("fast-but-lossy", 0.93, 2.0, "same-reasons"),      # 2 points lost: over the 1-point budget
        _model("winner", 0.945, 4.0, "same-reasons", size=500, agreement=0.975),
        _model("inconclusive", 0.95, 3.0, "inconclusive"),
    )
    rec = res.recommend()
    assert rec.model == "winner"
    assert rec.speedup == pytest.approx(2.5) and rec.size_ratio == pytest.approx(8.0)
    assert rec.accuracy_drop == pytest.approx(0.005) and rec.decision_agreement == pytest.approx(0.975)
    assert rec.verdict == "same-reasons" and rec.sentence == "sentence of a same-reasons model."
    assert rec.max_accuracy_drop == 0.01 and rec.budget_text == "1 point of accuracy"
    assert "2 compressed models" in rec.reason  # slow-same and winner qualify
    assert "Not chosen: fastest-changed is faster and within the budget but reads changed; fast-but-lossy is " \
           "faster but loses more accuracy than the budget; inconclusive is" in rec.reason
    excluded = {c.name: c.excluded for c in rec.candidates}
    assert excluded == {"slow-same": None, "fastest-changed": "changed", "fast-but-lossy": "over-budget",
                        "winner": None, "inconclusive": "inconclusive"}
    assert rec.text().startswith("Recommended: “winner” — 2.50× faster, 8.00× smaller, -0.50 points of accuracy")
    # a larger budget lets the lossy one in, and it is faster
    assert res.recommend(max_accuracy_drop=0.02).model == "fast-but-lossy"


def test_none_qualifies_says_why_and_names_the_budget():
    res = _run(_model("a", 0.95, 2.0, "changed"), _model("b", 0.96, 3.0, "changed"),
               _model("c", 0.95, 12.0, "same-reasons"), _model("d", 0.90, 1.0, "same-reasons"),
               _model("e", 0.95, 4.0, None))
    rec = recommend(res)
    assert rec.model is None and rec.speedup is None
    assert rec.reason.startswith("no compressed model is faster than the original, within the accuracy budget "
                                 "(1 point of accuracy) and same-reasons: ")
    for part in ("1 is not faster than the original", "1 is faster but loses more accuracy than the budget",
                 "2 are faster and within the budget but read changed",
                 "1 is faster and within the budget but was not compared with the original (no verdict)"):
        assert part in rec.reason
    assert rec.text().startswith("No recommendation: no compressed model")


def test_ties_go_to_accuracy_then_size_then_run_order():
    same = "same-reasons"
    assert _run(_model("a", 0.944, 5.0, same), _model("b", 0.946, 5.0, same)).recommend().model == "b"
    assert _run(_model("a", 0.945, 5.0, same, size=900), _model("b", 0.945, 5.0, same, size=800)).recommend().model == "b"
    assert _run(_model("a", 0.945, 5.0, same), _model("b", 0.945, 5.0, same)).recommend().model == "a"


def test_budget_edges_and_equal_latency():
    # a drop exactly equal to the budget is within it; a model as fast as the original is not faster
    rec = _run(_model("edge", 0.94, 5.0, "same-reasons")).recommend(max_accuracy_drop=0.01)
    assert rec.model == "edge"
    assert _run(_model("as-fast", 0.95, 10.0, "same-reasons")).recommend().candidates[0].excluded == "not-faster"
    # no change reads ±0.00, not -0.00
    assert "±0.00 points of accuracy" in _run(_model("same", 0.95, 5.0, "same-reasons")).recommend().text()
    with pytest.raises(InvalidInputError, match="'max_accuracy_drop'.*Got 5"):
        _run().recommend(max_accuracy_drop=5)


def test_budget_comes_from_the_pipeline_config_and_shows_in_json():
    cfg = parse_pipeline_config({"report": {"max_accuracy_drop": 0.03}}, source="test")
    res = _run(_model("lossy", 0.93, 2.0, "same-reasons"), config=cfg)
    assert res.recommend().model == "lossy" and res.recommend().budget_text == "3 points of accuracy"
    d = res.to_dict()
    assert d["recommendation"]["model"] == "lossy" and d["recommendation"]["max_accuracy_drop"] == 0.03
    assert d["recommendation"]["text"].startswith("Recommended: “lossy”")
    assert RunResult.from_dict(d).to_dict() == d  # derived, so it round-trips


def test_regression_budget_in_r2_and_a_sweep_without_verdicts():
    orig = ModelEntry(name="original", scores={"test_r2": 0.8}, latency_ms=4.0, size_bytes=10)
    trial = ModelEntry(name="trial-3", scores={"test_r2": 0.799}, latency_ms=1.0, size_bytes=5)
    rec = RunResult(out_dir=Path("."), models=[orig, trial]).recommend()
    assert rec.model is None and "was not compared with the original" in rec.reason
    assert "(0.01 of R²)" in rec.reason


def _trial(n: int, acc: float, ms: float, verdict: str | None, *, pareto: bool = False) -> dict:
    return {"number": n, "state": "COMPLETE", "params": {}, "plan": [], "pareto": pareto, "accuracy": acc,
            "latency_ms": ms, "agreement": 0.8, "decision_agreement": 0.99, "verdict": verdict,
            "sentence": f"sentence of trial {n}.", "size_bytes": 100 * (n + 1)}


def test_a_sweep_recommends_from_every_completed_trial_not_only_the_front():
    """The fastest same-reasons trial can be off the 3-objective front (a faster, more accurate,
    more agreeing trial that reads changed dominates it); the sweep's recommendation still finds it."""
    orig = ModelEntry(name="original", scores={"test_accuracy": 0.95}, latency_ms=10.0, size_bytes=4000)
    front = ModelEntry(name="trial-0", scores={"test_accuracy": 0.95}, latency_ms=1.0, size_bytes=100,
                       drift=_drift("changed"))
    trials = [_trial(0, 0.95, 1.0, "changed", pareto=True), _trial(1, 0.948, 2.0, "same-reasons"),
              _trial(2, 0.949, 3.0, "same-reasons"), _trial(3, 0.90, 0.5, "same-reasons"),
              {"number": 4, "state": "FAIL", "params": {}, "plan": [], "pareto": False, "error": "x"}]
    res = RunResult(out_dir=Path("."), models=[orig, front], trials=trials)
    rec = res.recommend()
    assert rec.model == "trial-1" and rec.speedup == pytest.approx(5.0)
    assert rec.sentence == "sentence of trial 1." and rec.decision_agreement == pytest.approx(0.99)
    assert rec.size_bytes == 200 and rec.size_ratio == pytest.approx(20.0)
    assert [c.name for c in rec.candidates] == ["trial-0", "trial-1", "trial-2", "trial-3"]  # not the failed one
    assert {c.name: c.excluded for c in rec.candidates} == {
        "trial-0": "changed", "trial-1": None, "trial-2": None, "trial-3": "over-budget"}
    assert rec.reason.startswith("the fastest of the 2 trials that are faster than the original")
    # none qualifies: the reason counts the trials' causes
    none = RunResult(out_dir=Path("."), models=[orig, front], trials=trials[:1] + trials[3:]).recommend()
    assert none.model is None and "1 is faster and within the budget but reads changed" in none.reason


def test_console_prints_a_sweeps_recommendation():
    from leanlens.pipeline.console import print_summary

    orig = ModelEntry(name="original", scores={"test_accuracy": 0.95}, latency_ms=10.0, size_bytes=4000)
    out = io.StringIO()
    print_summary(RunResult(out_dir=Path("."), models=[orig], trials=[_trial(1, 0.95, 4.0, "same-reasons")]),
                  stream=out)
    assert "Recommended: “trial-1” — 2.50× faster" in out.getvalue()


def test_console_prints_the_recommendation():
    from leanlens.pipeline.console import print_summary

    out = io.StringIO()
    print_summary(_run(_model("winner", 0.95, 5.0, "same-reasons")), stream=out)
    assert "Recommended: “winner” — 2.00× faster" in out.getvalue()
