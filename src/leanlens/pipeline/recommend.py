"""Which model to pick: the fastest compressed model within the accuracy budget that keeps its reasons.

:func:`recommend` reads a :class:`~leanlens.pipeline.RunResult` (``RunResult.recommend()``); the
report shows the answer in a box at its top, ``run``/``demo`` print it, and ``result.json``
holds it under ``recommendation``.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInputError

if TYPE_CHECKING:
    from .result import ModelEntry, RunResult

__all__ = ["DEFAULT_MAX_ACCURACY_DROP", "Candidate", "Recommendation", "recommend"]

#: The accuracy budget when the pipeline sets none: one point of test accuracy (0.01 of R²).
DEFAULT_MAX_ACCURACY_DROP = 0.01

#: Why a compressed model was not recommended (one model, several), in the order the conditions are checked.
_EXCLUSIONS = {
    "no-latency": ("has no latency measured", "have no latency measured"),
    "not-faster": ("is not faster than the original", "are not faster than the original"),
    "no-accuracy": ("is faster but has no accuracy measured", "are faster but have no accuracy measured"),
    "over-budget": ("is faster but loses more accuracy than the budget",
                    "are faster but lose more accuracy than the budget"),
    "changed": ("is faster and within the budget but reads changed",
                "are faster and within the budget but read changed"),
    "inconclusive": ("is faster and within the budget but reads inconclusive",
                     "are faster and within the budget but read inconclusive"),
    "not-compared": ("is faster and within the budget but was not compared with the original (no verdict)",
                     "are faster and within the budget but were not compared with the original (no verdict)"),
}


@dataclasses.dataclass(frozen=True)
class Candidate:
    """One compressed model as the recommendation saw it.

    Attributes
    ----------
    name : the model (plan or trial) name.
    speedup : the original's latency ÷ this model's (same batch), or None.
    accuracy_drop : the original's headline score minus this model's (positive = worse), or None.
    verdict : the DriftReport verdict, or None when not compared.
    excluded : None when it qualifies, else the first condition it fails (a key of the reasons:
        "no-latency", "not-faster", "no-accuracy", "over-budget", "changed", "inconclusive",
        "not-compared").
    """

    name: str
    speedup: float | None
    accuracy_drop: float | None
    verdict: str | None
    excluded: str | None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Recommendation:
    """The fastest compressed model within the accuracy budget whose verdict is same-reasons.

    Attributes
    ----------
    model : the recommended model's name, or None when none qualifies (keep the original).
    max_accuracy_drop : the accuracy budget used (a fraction: 0.01 = 1 point of accuracy).
    score_name : the headline score (``test_accuracy``, or ``test_r2`` for regression).
    speedup, size_ratio : how many times faster and smaller than the original (None if unknown).
    size_bytes, original_size_bytes : sizes on disk. accuracy, original_accuracy : headline scores.
    accuracy_drop : original minus recommended (positive = worse).
    decision_agreement : share of compared rows with the same decision as the original.
    verdict : "same-reasons" when a model is recommended. sentence : its verdict sentence.
    reason : one sentence: why this model, or why none qualifies.
    candidates : every compressed model with the condition it failed, if any.
    """

    model: str | None
    max_accuracy_drop: float
    score_name: str
    reason: str
    speedup: float | None = None
    size_ratio: float | None = None
    size_bytes: int | None = None
    original_size_bytes: int | None = None
    accuracy: float | None = None
    original_accuracy: float | None = None
    accuracy_drop: float | None = None
    decision_agreement: float | None = None
    verdict: str | None = None
    sentence: str = ""
    candidates: tuple[Candidate, ...] = ()

    @property
    def budget_text(self) -> str:
        """The budget as a person reads it: "1 point of accuracy" or "0.01 of R²"."""
        return _drop_text(self.max_accuracy_drop, self.score_name)

    @property
    def speedup_text(self) -> str:
        """"2.10×" (two decimals below 10×)."""
        return _times(self.speedup)

    @property
    def size_ratio_text(self) -> str:
        return _times(self.size_ratio)

    @property
    def accuracy_change_text(self) -> str:
        """"−0.28 points of accuracy" for a loss, "+0.10 points of accuracy" for a gain ("" if unknown)."""
        return "" if self.accuracy_drop is None else _signed_drop(self.accuracy_drop, self.score_name)

    def text(self) -> str:
        """The recommendation in one or two sentences (console and report)."""
        if self.model is None:
            return f"No recommendation: {self.reason}"
        parts = [f"{self.speedup_text} faster"]
        if self.size_ratio is not None:
            parts.append(f"{self.size_ratio_text} smaller")
        if self.accuracy_drop is not None:
            parts.append(f"{self.accuracy_change_text} (budget {self.budget_text})")
        if self.decision_agreement is not None:
            parts.append(f"decision agreement {self.decision_agreement:.1%}")
        return f"Recommended: “{self.model}” — {', '.join(parts)}; {self.verdict}."

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["candidates"] = [c.to_dict() for c in self.candidates]
        d["text"] = self.text()
        return d


@dataclasses.dataclass(frozen=True)
class _Option:
    """A compressed model as the rule reads it: a run's plan (a ModelEntry) or a sweep's trial (a row)."""

    name: str
    latency_ms: float | None
    accuracy: float | None
    size_bytes: int | None
    verdict: str | None
    decision_agreement: float | None
    sentence: str


def _options(result: RunResult) -> list[_Option]:
    """The compressed models to choose from: a run's plans; a sweep's every completed trial.

    A sweep's ``models`` hold only its Pareto-front trials, but the fastest trial that keeps its
    reasons may be off the front (dominated by a faster trial that reads changed), so a sweep is
    read from ``trials``, each judged by compare() as a run's plan is (verdict, decision agreement).
    """
    entries = {m.name: m for m in result.models}
    if not result.trials:
        return [_Option(m.name, m.latency_ms, m.accuracy, m.size_bytes, m.verdict, _decision_agreement(m),
                        m.drift.sentence if m.drift is not None else "")
                for m in result.models if m.name != "original"]
    out = []
    for t in result.trials:
        if t.get("state") != "COMPLETE":
            continue
        name = f"trial-{t['number']}"
        front = entries.get(name)
        sentence = t.get("sentence") or (front.drift.sentence if front is not None and front.drift is not None else "")
        agreement = t.get("decision_agreement")
        out.append(_Option(name, t.get("latency_ms"), t.get("accuracy"), t.get("size_bytes"), t.get("verdict"),
                           float(agreement) if isinstance(agreement, int | float) else None, sentence or ""))
    return out


def recommend(result: RunResult, max_accuracy_drop: float | None = None) -> Recommendation:
    """The fastest compressed model of ``result`` within the accuracy budget whose verdict is same-reasons.

    A compressed model qualifies when its latency is below the original's (the same batch),
    its headline test score (accuracy, or R² for regression) is at most ``max_accuracy_drop``
    below the original's, and its :class:`~leanlens.compare.DriftReport` verdict is
    ``"same-reasons"``. Among those the fastest wins; equal latencies go to the higher score,
    then the smaller file, then the earlier model in the run. When none qualifies, ``model`` is
    None and ``reason`` counts why (e.g. "2 are faster but read changed").

    Parameters
    ----------
    result : a RunResult: a run (its plans are the candidates) or a sweep (every completed
        trial is a candidate, judged by compare() exactly as a run's plan; not only the
        Pareto-front trials in ``models``).
    max_accuracy_drop : the accuracy budget as a fraction (0.01 = 1 point); default the
        pipeline's ``report.max_accuracy_drop``, else 0.01.

    Examples
    --------
    >>> rec = result.recommend()                                        # doctest: +SKIP
    >>> rec.model, rec.speedup, rec.text()                              # doctest: +SKIP
    """
    budget = _budget(result, max_accuracy_drop)
    orig = next((m for m in result.models if m.name == "original"), None)
    score_name = _score_name(orig)
    if orig is None:
        return Recommendation(model=None, max_accuracy_drop=budget, score_name=score_name,
                              reason="the run has no original model to compare with.")
    compressed = _options(result)
    if not compressed:
        return Recommendation(model=None, max_accuracy_drop=budget, score_name=score_name,
                              reason="the run has no compressed model." if not result.trials
                              else "the sweep has no completed trial.")
    cands = tuple(_candidate(m, orig, budget) for m in compressed)
    ok = [(c, m) for c, m in zip(cands, compressed, strict=True) if c.excluded is None]
    if not ok:
        return Recommendation(model=None, max_accuracy_drop=budget, score_name=score_name, candidates=cands,
                              reason=_none_reason(cands, budget, score_name))
    order = {m.name: i for i, m in enumerate(compressed)}
    best_c, best = min(ok, key=lambda cm: (cm[1].latency_ms, -(cm[1].accuracy or 0.0),
                                           cm[1].size_bytes if cm[1].size_bytes is not None else math.inf,
                                           order[cm[1].name]))
    n_ok = len(ok)
    one, many = ("trial", "trials") if result.trials else ("compressed model", "compressed models")
    reason = (f"the only {one} that is faster than the original, within the accuracy budget and same-reasons."
              if n_ok == 1 else
              f"the fastest of the {n_ok} {many} that are faster than the original, within the "
              "accuracy budget and same-reasons.")
    others = [f"{c.name} {_EXCLUSIONS[c.excluded][0]}" for c in cands if c.excluded is not None]
    if others:
        reason += f" Not chosen: {'; '.join(others)}."
    size_ratio = (orig.size_bytes / best.size_bytes) if orig.size_bytes and best.size_bytes else None
    return Recommendation(
        model=best.name, max_accuracy_drop=budget, score_name=score_name, reason=reason,
        speedup=best_c.speedup, size_ratio=size_ratio, size_bytes=best.size_bytes,
        original_size_bytes=orig.size_bytes, accuracy=best.accuracy, original_accuracy=orig.accuracy,
        accuracy_drop=best_c.accuracy_drop, decision_agreement=best.decision_agreement,
        verdict=best.verdict, sentence=best.sentence, candidates=cands,
    )


def _budget(result: RunResult, value: float | None) -> float:
    if value is None:
        report = getattr(result.config, "report", None)
        value = getattr(report, "max_accuracy_drop", None)
    if value is None:
        return DEFAULT_MAX_ACCURACY_DROP
    if isinstance(value, bool) or not isinstance(value, int | float) or not (0 <= float(value) <= 1):
        raise InvalidInputError(f"The 'max_accuracy_drop' parameter of recommend() must be a number in [0, 1] "
                                f"(0.01 = 1 point of accuracy). Got {value!r} instead.")
    return float(value)


def _score_name(orig: ModelEntry | None) -> str:
    from .result import HEADLINE_SCORES

    scores = orig.scores if orig is not None else {}
    return next((k for k in HEADLINE_SCORES if k in scores), "test_accuracy")


def _candidate(m: _Option, orig: ModelEntry, budget: float) -> Candidate:
    speedup = (orig.latency_ms / m.latency_ms) if orig.latency_ms and m.latency_ms else None
    drop = (orig.accuracy - m.accuracy) if orig.accuracy is not None and m.accuracy is not None else None
    if speedup is None:
        why: str | None = "no-latency"
    elif speedup <= 1.0:
        why = "not-faster"
    elif drop is None:
        why = "no-accuracy"
    elif drop > budget + 1e-12:  # a drop equal to the budget is within it
        why = "over-budget"
    elif m.verdict == "same-reasons":
        why = None
    else:
        why = m.verdict if m.verdict in ("changed", "inconclusive") else "not-compared"
    return Candidate(name=m.name, speedup=speedup, accuracy_drop=drop, verdict=m.verdict, excluded=why)


def _decision_agreement(m: ModelEntry) -> float | None:
    """The compared rows' decision agreement (the verdict's), else the record's on the test split."""
    if m.drift is not None and isinstance(m.drift.decision.get("agreement"), int | float):
        return float(m.drift.decision["agreement"])
    if m.record is not None:
        return float(m.record.final.agreement)
    return None


def _none_reason(cands: tuple[Candidate, ...], budget: float, score_name: str) -> str:
    """"no compressed model … : 2 are faster but read changed; 1 is not faster than the original." """
    counts: dict[str, int] = {}
    for c in cands:
        if c.excluded is not None:
            counts[c.excluded] = counts.get(c.excluded, 0) + 1
    parts = [f"{counts[key]} {one if counts[key] == 1 else many}" for key, (one, many) in _EXCLUSIONS.items()
             if counts.get(key)]
    return (f"no compressed model is faster than the original, within the accuracy budget "
            f"({_drop_text(budget, score_name)}) and same-reasons: {'; '.join(parts)}. Keep the original.")


def _times(x: float | None) -> str:
    return "?×" if x is None else (f"{x:.1f}×" if x >= 10 else f"{x:.2f}×")


def _drop_text(drop: float, score_name: str) -> str:
    if score_name == "test_accuracy":
        pts = 100 * drop
        return f"{pts:.3g} point{'' if abs(pts - 1) < 1e-9 else 's'} of accuracy"
    return f"{drop:.3g} of {score_name.removeprefix('test_').replace('r2', 'R²')}"


def _signed_drop(drop: float, score_name: str) -> str:
    """"−0.28 points of accuracy" for a loss, "+0.10 points" for a gain."""
    if score_name == "test_accuracy":
        pts = -100 * drop
        return "±0.00 points of accuracy" if abs(pts) < 0.005 else f"{pts:+.2f} points of accuracy"
    name = score_name.removeprefix("test_").replace("r2", "R²")
    return f"±0.000 {name}" if abs(drop) < 0.0005 else f"{-drop:+.3f} {name}"
