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
    for col in ("model", "accuracy", "size", "latency ms", "decision agreement", "top-k explanation agreement (twins)",
                "verdict"):
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
    if result.compressed and not result.trials:  # a sweep's trials carry no verdict to recommend by
        console.print(result.recommend().text(), soft_wrap=True)
    if result.report:
        console.print(f"report: {(result.out_dir / result.report).resolve()}", soft_wrap=True)


def _print_trials(console: Any, trials: list[dict[str, Any]]) -> None:
    """Every trial: its number, state, objectives and plan parameters (3 significant digits)."""
    from rich.table import Table

    done = sum(1 for t in trials if t.get("state") == "COMPLETE")
    table = Table(title=f"{done} completed trials of {len(trials)}")
    for col in ("trial", "state", "accuracy", "latency ms", "top-k explanation agreement", "plan parameters"):
        table.add_column(col, justify="right" if col not in ("state", "plan parameters") else "left")
    for t in trials:
        params = ", ".join(f"{k}={significant(v)}" for k, v in (t.get("params") or {}).items())
        table.add_row(
            str(t.get("number")) + (" *" if t.get("pareto") else ""), str(t.get("state", "")).lower(),
            significant(t.get("accuracy")), significant(t.get("latency_ms")), significant(t.get("agreement")),
            params or "–",
        )
    console.print(table)


def _decision(m: Any) -> str:
    return "–" if m.drift is None else _f(m.drift.decision.get("agreement"), 3)


def _topk(m: Any) -> str:
    """Top-k explanation agreement with the original, and the twins' in brackets (first explainer)."""
    if m.drift is None or not m.drift.explainers:
        return "–"
    own, twins = m.drift.top_k_agreement()
    return f"{own:.2f}" + (f" (twins: {twins:.2f})" if twins is not None else "")


def _f(v: float | None, digits: int) -> str:
    return "–" if v is None else f"{v:.{digits}f}"
