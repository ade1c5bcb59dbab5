"""A sweep's accuracy–latency chart draws the study's own 3-objective Pareto front, not a 2-D line."""

from __future__ import annotations

from pathlib import Path

from leanlens.pipeline import ModelEntry, RunResult, pareto_front
from leanlens.pipeline.study import DIRECTIONS
from leanlens.report import render_report
from leanlens.report.figures import sweep_front_figure

# (number, accuracy, latency ms, top-k explanation agreement)
TRIALS = [
    (0, 0.95, 2.0, 0.50),   # front
    (1, 0.94, 3.0, 0.90),   # front in 3-D, yet dominated by #0 in the accuracy–latency plane
    (2, 0.93, 4.0, 0.40),   # dominated by #0 on all three
    (3, 0.97, 5.0, 0.60),   # front
    (4, 0.90, 6.0, 0.30),   # dominated
]


def _flags() -> list[bool]:
    front = set(pareto_front([t[1:] for t in TRIALS], list(DIRECTIONS)))
    return [i in front for i in range(len(TRIALS))]


def test_the_chart_labels_the_three_objective_front_and_crosses_the_rest():
    flags = _flags()
    assert flags == [True, True, False, True, False]  # the 3-objective front keeps #1
    fig = sweep_front_figure([t[0] for t in TRIALS], [t[1] for t in TRIALS], [t[2] for t in TRIALS],
                             [t[3] for t in TRIALS], flags, original=(0.96, 8.0))
    ax = fig.axes[0]
    assert sorted(t.get_text() for t in ax.texts) == ["#0", "#1", "#3"]
    assert ax.get_lines() == []  # no 2-D step line pretending to be the front
    sizes = {c.get_label(): len(c.get_offsets()) for c in ax.collections}
    assert sizes == {"dominated trial (2)": 2, "Pareto front (3)": 3, "original": 1}


def test_a_sweep_report_shows_the_front_chart_not_the_two_objective_line(tmp_path: Path):
    flags = _flags()
    trials = [{"number": n, "state": "COMPLETE", "params": {"prune.amount": 0.5}, "plan": None, "error": None,
               "pareto": f, "accuracy": a, "latency_ms": ms, "agreement": g, "size_bytes": 100, "seconds": 1.0}
              for (n, a, ms, g), f in zip(TRIALS, flags, strict=True)]
    trials.append({"number": 5, "state": "FAIL", "params": {}, "plan": None, "error": "boom", "pareto": False})
    orig = ModelEntry(name="original", scores={"test_accuracy": 0.96}, latency_ms=8.0, size_bytes=400)
    models = [orig] + [ModelEntry(name=f"trial-{n}", scores={"test_accuracy": a}, latency_ms=ms, agreement=g,
                                  size_bytes=100) for (n, a, ms, g), f in zip(TRIALS, flags, strict=True) if f]
    res = RunResult(out_dir=tmp_path, name="s-sweep", status="complete", models=models, trials=trials,
                    pareto=[m.name for m in models[1:]])
    text = render_report(res, tmp_path / "report.html").read_text()
    tradeoff = text[text.index('<section id="tradeoff"'):text.index('<section id="importance"')]
    assert 'alt="sweep trials, accuracy against latency, Pareto front labelled"' in tradeoff
    assert "three objectives" in tradeoff and "Pareto front dashed" not in tradeoff
    assert text.count("<img") == 1  # one chart of the trials, not two
    assert "No recommendation" in text and "were not compared with the original" in text


def test_a_sweep_report_recommends_a_trial_that_keeps_its_reasons(tmp_path: Path):
    """The box reads every completed trial's verdict, as for a run's plans, off the front too."""
    verdicts = {0: "changed", 1: "inconclusive", 2: "same-reasons", 3: "same-reasons", 4: "same-reasons"}
    trials = [{"number": n, "state": "COMPLETE", "params": {}, "plan": None, "error": None, "pareto": f,
               "accuracy": a, "latency_ms": ms, "agreement": g, "size_bytes": 100, "seconds": 1.0,
               "verdict": verdicts[n], "decision_agreement": 1.0, "sentence": f"trial {n} keeps its reasons."}
              for (n, a, ms, g), f in zip(TRIALS, _flags(), strict=True)]
    orig = ModelEntry(name="original", scores={"test_accuracy": 0.935}, latency_ms=8.0, size_bytes=400)
    res = RunResult(out_dir=tmp_path, name="s-sweep", status="complete", models=[orig], trials=trials)
    text = render_report(res, tmp_path / "report.html").read_text()
    box = text[text.index('<section id="recommendation"'):text.index('<section id="verdict"')]
    # #0 reads changed, #1 inconclusive, #4 loses 3.5 points; #2 (off the front) and #3 qualify: #2 is faster
    assert not _flags()[2]
    assert 'class="recommend chosen"' in box and "Recommended: trial-2" in box and "2 trials" in box
    assert "trial 2 keeps its reasons." in box and "trial-0 is faster and within the budget but reads changed" in box
