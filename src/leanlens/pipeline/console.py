"""What ``leanlens run / sweep / demo`` print: a model table and where the report is."""

from __future__ import annotations

import sys
from typing import Any

from .._format import human_bytes, significant
from .result import RunResult

__all__ = ["print_summary"]

PARETO_MODELS = "no other model is both more accurate and faster."
PARETO_TRIALS = ("no other trial is at least as good on accuracy (↑), latency (↓) and top-k explanation "
                 "agreement with the original (↑), and better on one.")


def print_summary(result: RunResult, *, stream: Any = None) -> None:
    """A rich table of the run's models, the verdicts, and the report's path (stdout)."""
    from rich.console import Console
    from rich.table import Table

    console = Console(file=stream or sys.stdout, width=120)
    table = Table(title=f"leanlens {result.name}: {result.status}")
    k = next((e.get("k") for m in result.models if m.drift is not None for e in m.drift.explainers.values()), None)
    for col in ("model", "accuracy", "size", "latency ms", "decision agreement",
                f"top-{k or 'k'} explanation agreement (reference)", "verdict"):
        table.add_column(col, justify="left" if col in ("model", "verdict") else "right")
    for m in result.models:
        table.add_row(
            m.name + (" *" if m.name in result.pareto else ""),
            _f(m.accuracy, 3), human_bytes(m.size_bytes),
            _f(m.latency_ms, 3), _decision(m), _topk(m), m.verdict or ("reference" if m.name == "original" else "–"),
        )
    console.print(table)
    for m in result.models:
        if m.drift is not None:
            console.print(f"{m.name}: {m.drift.sentence}", soft_wrap=True)
    if result.trials:
        _print_trials(console, result.trials)
    if result.pareto:
        console.print("* on the Pareto front: " + (PARETO_TRIALS if result.trials else PARETO_MODELS), soft_wrap=True)
    for note in result.notes:
        console.print(f"note: {note}")
    if result.compressed or result.trials:  # a sweep: every completed trial, judged as a run's plan
        console.print(result.recommend().text(), soft_wrap=True)
    if result.report:
        console.print(f"report: {(result.out_dir / result.report).resolve()}", soft_wrap=True)


def _print_trials(console: Any, trials: list[dict[str, Any]]) -> None:
    """Every trial: its number, state, objectives and plan parameters (3 significant digits)."""
    from rich.table import Table

    done = sum(1 for t in trials if t.get("state") == "COMPLETE")
    table = Table(title=f"{done} completed trials of {len(trials)}")
    k = next((t["k"] for t in trials if t.get("k")), None)
    ref = next((t["reference"] for t in trials if t.get("reference")), None)
    topk = f"top-{k or 'k'} explanation agreement ({'noise' if ref == 'none' else 'twins'})"
    for col in ("trial", "state", "accuracy", "latency ms", "decision agreement", topk, "verdict", "plan parameters"):
        table.add_column(col, justify="left" if col in ("state", "verdict", "plan parameters") else "right",
                         overflow="fold")
    for t in trials:
        params = ", ".join(f"{k}={significant(v)}" for k, v in (t.get("params") or {}).items())
        table.add_row(
            str(t.get("number")) + (" *" if t.get("pareto") else ""), str(t.get("state", "")).lower(),
            _f(t.get("accuracy"), 3), _f(t.get("latency_ms"), 3), _f(t.get("decision_agreement"), 3),
            _agreement(t.get("agreement"), t.get("agreement_reference"), ref), t.get("verdict") or "–",
            params or "–",
        )
    console.print(table)


def _decision(m: Any) -> str:
    return "–" if m.drift is None else _f(m.drift.decision.get("agreement"), 3)


def _topk(m: Any) -> str:
    """Top-k explanation agreement with the original, and its reference in brackets (first explainer)."""
    if m.drift is None or not m.drift.explainers:
        return "–" if m.agreement is None else _f(m.agreement, 2)
    own, twins = m.drift.top_k_agreement()
    return _agreement(own, twins, m.drift.twins.get("source"))


def _agreement(own: float | None, reference: float | None, source: str | None) -> str:
    """``0.92 (twins: 0.80)``: the value and what retrained twins (or explainer noise) read."""
    if own is None:
        return "–"
    return f"{own:.2f}" + ("" if reference is None else f" ({'noise' if source == 'none' else 'twins'}: {reference:.2f})")


def _f(v: float | None, digits: int) -> str:
    return "–" if v is None else f"{v:.{digits}f}"
