"""What a command will cost, said before the work starts: model evaluations and seconds.

The estimate is measured, not guessed: the explainer is run on one and three probe rows
with the very settings of the real run, and its model evaluations and wall time are scaled
to all rows (:func:`probe_cost`); other work a command does (metrics, twins, compression)
enters as measured or known :class:`Extra` parts. :func:`state_cost` says it through the
progress reporter (a ``cost:`` line, or a ``cost`` event under ``--log-json``) and, when the
estimate is long, names the cheaper settings that cut it most while changing the result
least, written as the flags (or YAML keys) of the command at hand (:class:`Flags`).

Every command that calls a model many times uses this one module: ``explain``, ``evaluate``,
``compare``, ``run`` and ``sweep`` (``compress --auto`` states its own per-trial estimate).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .base import Explainer

__all__ = ["LONG_SECONDS", "Cost", "Extra", "Flags", "count_model_rows", "probe_cost", "state_cost", "stated_cost"]

#: An estimate above this many seconds comes with cheaper settings.
LONG_SECONDS = 60.0


@dataclasses.dataclass(frozen=True)
class Flags:
    """How a command spells the three cheaper settings (``{n}`` is the new value).

    ``summary`` is the k-means summary of the background (all its rows kept, weighted
    centres given to the model: the change that moves the result least); ``background``
    draws fewer background rows; ``rows`` explains fewer rows; ``budget`` lowers the budget.
    A None entry: the command has no such setting.
    """

    summary: str | None = "--param max_background={n}"
    background: str | None = "--background {n}"
    rows: str | None = "--rows 0:{n}"
    budget: str | None = "--budget {n}"


#: The spelling of ``evaluate`` and ``compare`` (rows are a count; no method parameters).
COUNT_FLAGS = Flags(summary=None, rows="--rows {n}")
#: The spelling of a pipeline YAML (``run``, ``sweep``).
YAML_FLAGS = Flags(summary="explain.methods[].params.max_background: {n}", background="explain.background: {n}",
                   rows="explain.n_rows: {n}", budget="explain.methods[].budget: {n}")


@dataclasses.dataclass(frozen=True)
class Cost:
    """The measured cost of explaining ``n_rows`` rows ``runs`` times with one explainer.

    Attributes
    ----------
    method : the explanation method.
    n_rows : rows to explain.
    evals_per_row : model evaluations (input rows given to the model) per explained row.
    seconds_per_row : wall time per explained row, from the probe.
    n_background : background rows the model is evaluated against (None: the method uses none).
    budget : the method's budget (None: its default).
    runs : how many times the rows are explained (models × seeds: ``compare`` explains the
        original, the compressed model and each twin at two seeds).
    deterministic : two seeds gave the same values on the probe row.
    what : what the runs are, for the line (default: the method).
    summarizes : Shapley explainers summarize a background above this many rows by k-means.
    """

    method: str
    n_rows: int
    evals_per_row: int
    seconds_per_row: float
    n_background: int | None = None
    budget: int | None = None
    runs: int = 1
    deterministic: bool = False
    what: str = ""
    summarizes: int | None = None
    measured: str = "measured on 1 and 3 rows"

    @property
    def n_model_evals(self) -> int:
        return self.runs * self.n_rows * self.evals_per_row

    @property
    def seconds(self) -> float:
        return self.runs * self.n_rows * self.seconds_per_row

    def times(self, runs: int, what: str) -> Cost:
        """The same explanation run ``runs`` times (other models, other seeds)."""
        return dataclasses.replace(self, runs=max(0, int(runs)), what=what)

    def line(self) -> str:
        """One line for a person: ``kernel: 100 rows × 20,002 model evaluations = 2,000,200, about 3 min 56 s.``"""
        runs = f"{self.runs} runs × " if self.runs != 1 else ""
        return (f"{self.what or self.method}: {runs}{self.n_rows:,} rows × {self.evals_per_row:,} model evaluations = "
                f"{self.n_model_evals:,}, {about(self.seconds)} ({self.measured}).")

    def cheaper(self, *, limit: float = LONG_SECONDS, flags: Flags = Flags(), total: float | None = None) -> list[str]:
        """Settings that bring a long run under ``limit`` seconds, the smallest change to the result first.

        ``total`` is the whole command's estimate when this explanation is only part of it
        (the other parts are not changed by these settings).
        """
        whole = self.seconds if total is None else total
        if whole <= limit or self.seconds <= 0:
            return []
        rest = whole - self.seconds
        # the share of this part that must go, so that the whole comes under the limit
        keep = (limit - rest) / self.seconds if limit > rest else 0.25
        keep = min(max(keep, 0.0), 1.0)

        def after(ratio: float) -> str:
            return duration(rest + self.seconds * ratio)

        out = []
        bg = self.n_background
        if bg and bg > 10:
            k = max(10, int(bg * keep))
            if k < bg:
                if flags.summary is not None and self.summarizes is not None:
                    out.append(f"{flags.summary.format(n=k)} (a k-means summary of the {bg} background rows: "
                               f"about {after(k / min(bg, self.summarizes))})")
                elif flags.background is not None:
                    out.append(f"{flags.background.format(n=k)} (fewer background rows: about {after(k / bg)})")
        rows = max(1, int(self.n_rows * keep))
        if flags.rows is not None and rows < self.n_rows:
            out.append(f"{flags.rows.format(n=rows)} (fewer rows: about {after(rows / self.n_rows)})")
        if self.budget and flags.budget is not None:
            b = int(self.budget * keep)
            if b >= 16:
                out.append(f"{flags.budget.format(n=b)} (less accurate values: about {after(b / self.budget)})")
        return out


@dataclasses.dataclass(frozen=True)
class Extra:
    """Other work of a command: ``seconds`` measured (or taken from an earlier stage), and the
    model evaluations when they were counted."""

    what: str
    seconds: float
    n_model_evals: int | None = None
    how: str = ""

    def line(self) -> str:
        evals = "" if self.n_model_evals is None else f"{self.n_model_evals:,} model evaluations, "
        return f"{self.what}: {evals}{about(self.seconds)}" + (f" ({self.how})." if self.how else ".")


def state_cost(parts: Sequence[Cost | Extra], *, flags: Flags = Flags(), limit: float = LONG_SECONDS,
               command: str = "") -> list[str]:
    """Say the cost of a command before it starts, through the progress reporter.

    One ``cost:`` line per part, a total when there are several parts, and a ``cheaper:``
    line when the total is above ``limit`` seconds (cheaper settings of the most expensive
    explanation). Returns the tips (empty when the work is short).
    """
    from ..progress import note

    parts = [p for p in parts if not (isinstance(p, Cost) and p.runs == 0)]
    if not parts:
        return []
    total = sum(p.seconds for p in parts)
    evals = sum(p.n_model_evals or 0 for p in parts)
    for p in parts:
        note("cost", p.line(), part=p.what or getattr(p, "method", ""), model_evals=p.n_model_evals,
             seconds=round(p.seconds, 3))
    if len(parts) > 1:
        note("cost", f"{command + ' ' if command else ''}total: {evals:,} model evaluations, {about(total)}.",
             part="total", model_evals=evals, seconds=round(total, 3))
    costs = [p for p in parts if isinstance(p, Cost)]
    tips = max(costs, key=lambda c: c.seconds).cheaper(limit=limit, flags=flags, total=total) if costs else []
    if tips:
        note("cheaper", "; ".join(tips), tips=tips)
    return tips


def stated_cost(parts: Callable[[], Sequence[Cost | Extra]], **options: Any) -> list[str]:
    """:func:`state_cost` of ``parts()`` when anyone will read it (a reporter with bars or a
    log; nothing is probed under ``--quiet``). A probe that a user error stops (a method that
    does not apply to one of the models, ...) leaves a ``cost`` note saying so; the work then
    reports that error, or its own way around it, itself."""
    from ..errors import LeanlensError
    from ..progress import note, shown

    if not shown():
        return []
    try:
        measured = parts()
    except LeanlensError as exc:
        note("cost", f"not measured: the probe stopped ({exc})")
        return []
    return state_cost(measured, **options)


def probe_cost(explainer: Explainer, X: np.ndarray, *, target: Any = None, chunk_rows: int | None = None,
               check_seeds: bool = False) -> Cost:
    """Explain one and then three rows of ``X`` with ``explainer`` and scale to every row of ``X``.

    A call has a fixed part (validation, the background summary) and a part per row; the two
    timed probes separate them, so the estimate holds whether the run explains its rows in one
    call or in chunks of ``chunk_rows`` (None: one call). A first, untimed call pays one-off
    costs (imports, caches) that the real run pays once. ``check_seeds``: one more row at
    another seed tells whether the method is deterministic (then a second seed costs nothing
    in ``compare``).
    """
    first = explainer.explain(X[:1], target=target)
    timings, evals = [], []
    for k in (1, min(3, len(X))):
        start = time.perf_counter()
        e = explainer.explain(X[:k], target=target)
        timings.append(time.perf_counter() - start)
        evals.append(e.n_model_evals)
    k = min(3, len(X))
    per_row = max((timings[1] - timings[0]) / (k - 1), 0.1 * timings[0]) if k > 1 else timings[0]
    fixed = max(timings[0] - per_row, 0.0)
    n = len(X)
    calls = 1 if chunk_rows is None else -(-n // chunk_rows)
    evals_per_row = (evals[1] - evals[0]) // (k - 1) if k > 1 and evals[1] > evals[0] else evals[0]
    deterministic = False
    if check_seeds:
        seed = explainer.random_state
        other = type(explainer)(explainer.model, background=explainer.background, budget=explainer.budget,
                                random_state=(0 if seed is None else int(seed)) + 1, **explainer.params)
        deterministic = bool(np.array_equal(other.explain(X[:1], target=target).values, first.values))
    bg = getattr(explainer, "background", None)
    from .shapley.base import DEFAULT_MAX_BACKGROUND, ShapleyExplainer

    summarizes = (int(explainer.params.get("max_background", DEFAULT_MAX_BACKGROUND))
                  if isinstance(explainer, ShapleyExplainer) else None)
    return Cost(method=explainer.name, n_rows=n, evals_per_row=int(evals_per_row),
                seconds_per_row=(calls * fixed + n * per_row) / n, n_background=None if bg is None else len(bg),
                budget=getattr(explainer, "budget", None), deterministic=deterministic, summarizes=summarizes)


class count_model_rows:  # lower case: used as a context manager, like contextlib's
    """Count the rows given to ``model.output`` inside the block (a probe's model evaluations).

    The model's ``output`` is wrapped on the instance for the duration and restored after;
    forward passes that bypass ``output`` (gradients through the torch module) are not counted.
    """

    def __init__(self, model: Any) -> None:
        self.model = model
        self.rows = 0

    def __enter__(self) -> count_model_rows:
        inner = self.model.output

        def output(X: Any) -> Any:
            self.rows += len(X)
            return inner(X)

        self.model.output = output
        return self

    def __exit__(self, *exc: Any) -> None:
        del self.model.output


def about(seconds: float) -> str:
    """``about 42 s`` (or ``under a second``)."""
    text = duration(seconds)
    return text if seconds < 1 else f"about {text}"


def duration(seconds: float) -> str:
    """``under a second``, ``42 s``, ``3 min 56 s`` or ``2 h 05 min``."""
    if seconds < 1:
        return "under a second"
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes, s = divmod(round(seconds), 60)
    if minutes < 90:
        return f"{minutes} min {s:02d} s"
    hours, m = divmod(minutes, 60)
    return f"{hours} h {m:02d} min"


_duration = duration  # the name earlier code imports
