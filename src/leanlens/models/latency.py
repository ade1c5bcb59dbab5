"""Latency, measured one way: interleaved timing of several models (or zero-argument calls).

Every model is called once per round on the same prepared input, so that load changing on a
shared machine hits all of them alike, in a fresh (seeded) random order each round, so that no
model always runs right after the same other one; medians of the same rounds are the
printed times *and* the ratios between them. A measurement is *unreliable* when any
model's p95/median exceeds :data:`DISPERSION_LIMIT` or the 1-minute load average exceeds
the number of cores; it is then repeated, up to ``attempts`` times, and the steadiest
attempt is kept with a warning that says why the figures cannot be trusted.

Models are timed through their public ``forward_fn(X)``: a zero-argument callable doing one
raw forward pass on input prepared once (no validation, no copies, no softmax).
"""

from __future__ import annotations

import dataclasses
import os
import statistics
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import numpy as np

from .threads import torch_threads

__all__ = ["DISPERSION_LIMIT", "LatencyResult", "Timing", "forward_fn", "interleaved", "time_calls"]

#: p95 / median above this (in any timed model) marks a measurement as unreliable.
#: On a quiet machine the models of our benchmarks stay below ~1.3; a busy one goes past 2.
DISPERSION_LIMIT = 1.5


@dataclasses.dataclass(frozen=True)
class Timing:
    """Per-call times of one model in milliseconds: median, p95, p10 and the number of calls."""

    median: float
    p95: float
    p10: float
    reps: int

    @property
    def dispersion(self) -> float:
        """p95 / median."""
        return self.p95 / self.median if self.median > 0 else float("inf")

    def to_dict(self) -> dict[str, float]:
        return {"median": self.median, "p95": self.p95, "p10": self.p10, "reps": self.reps}


@dataclasses.dataclass(frozen=True)
class LatencyResult:
    """One interleaved measurement: a :class:`Timing` per name, and whether to trust it."""

    timings: dict[str, Timing]
    threads: int | None
    clock: str
    load_average: float
    cores: int
    attempts: int
    unreliable: bool
    reason: str = ""

    def __getitem__(self, name: str) -> Timing:
        return self.timings[name]

    def speedup(self, reference: str, other: str) -> float:
        """``median(reference) / median(other)`` — both from the same rounds."""
        return self.timings[reference].median / self.timings[other].median

    def to_dict(self) -> dict[str, Any]:
        return {"timings": {k: t.to_dict() for k, t in self.timings.items()}, "threads": self.threads,
                "clock": self.clock, "load_average": self.load_average, "cores": self.cores,
                "attempts": self.attempts, "unreliable": self.unreliable, "reason": self.reason}


def _load() -> float:
    try:
        return float(os.getloadavg()[0])
    except (OSError, AttributeError):  # not on every platform
        return 0.0


def _summary(times: list[float]) -> Timing:
    t = sorted(times)
    n = len(t)
    return Timing(median=statistics.median(t) * 1e3, p95=t[min(n - 1, round(0.95 * (n - 1)))] * 1e3,
                  p10=t[round(0.10 * (n - 1))] * 1e3, reps=n)


def _one_attempt(fns: Mapping[str, Callable[[], Any]], *, warmup: int, reps: int, min_reps: int,
                 max_seconds: float | None, clock: str, settle: int = 0, tick: Callable[[int], None] = lambda n: None
                 ) -> dict[str, Timing]:
    now = time.perf_counter if clock == "wall" else time.thread_time
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times: dict[str, list[float]] = {k: [] for k in fns}
    items = list(fns.items())
    # Each round calls the models in a fresh random order (seeded: the same orders every run), so
    # no model always runs right after the same other one: a long torch call leaves cold caches
    # and a 2-thread session a sleeping pool thread to whatever follows. (Rotating the start of
    # one fixed order, as before, kept every model behind the same neighbour in all but one call
    # per round: the int8 model timed right after torch read ~25 % slower than the same session
    # timed elsewhere in the round, at load 7.)
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    for r in range(reps):
        if max_seconds is not None and r >= min_reps and time.perf_counter() - start > max_seconds:
            break
        for i in rng.permutation(len(items)):
            k, fn = items[i]
            for _ in range(settle):  # untimed: the timed call then follows its own model, not a neighbour
                fn()
            t0 = now()
            fn()
            times[k].append(now() - t0)
        if r % 10 == 9:  # progress between rounds, outside the timed calls
            tick(10)
    return {k: _summary(v) for k, v in times.items()}


def time_calls(fns: Mapping[str, Callable[[], Any]], *, threads: int | None = None, warmup: int = 5,
               reps: int = 200, min_reps: int = 30, max_seconds: float | None = None,
               clock: Literal["wall", "cpu"] = "wall", attempts: int = 3,
               dispersion_limit: float = DISPERSION_LIMIT, warn: bool = True, settle: int = 0) -> LatencyResult:
    """Time zero-argument calls interleaved round by round; repeat while unreliable.

    Parameters
    ----------
    fns : name → zero-argument callable.
    threads : torch intra-op threads during the timing (ONNX Runtime's are fixed by the
        callables; :func:`interleaved` builds them with this count).
    warmup : untimed rounds first.
    reps : timed rounds (at most); after ``min_reps`` rounds the timing stops once
        ``max_seconds`` have passed (None: no time limit).
    clock : "wall" (``time.perf_counter``) or "cpu" (the calling thread's CPU time, which
        other processes cannot inflate — meaningful with one thread).
    attempts : at most this many measurements while the result is unreliable; the steadiest
        (lowest worst p95/median) is returned.
    dispersion_limit : p95/median above which a measurement is unreliable.
    warn : emit a UserWarning when the returned result is unreliable.
    settle : untimed calls of the same model right before each timed one. 0 (the default): each
        timed call follows a random other model's, and inherits what that one left: its weights
        in the caches, and, after a multi-threaded ONNX Runtime session, pool threads still
        spinning for up to ``SPIN_US`` on the cores. 1 or more: each model is timed in the state a
        loop of its own calls keeps it in (its own weights cached, its own pool awake), as when
        one model scores batch after batch; rounds still interleave the models against drift.
    """
    if clock not in ("wall", "cpu"):
        from ..errors import InvalidInputError

        raise InvalidInputError(f"The 'clock' parameter must be 'wall' or 'cpu'. Got {clock!r} instead.")
    if not fns:
        from ..errors import InvalidInputError

        raise InvalidInputError("Nothing to time: 'fns' is empty.")
    if isinstance(settle, bool) or not isinstance(settle, int) or settle < 0:
        from ..errors import InvalidInputError

        raise InvalidInputError(f"The 'settle' parameter must be an int ≥ 0. Got {settle!r} instead.")
    cores = os.cpu_count() or 1
    best: tuple[float, dict[str, Timing], float] | None = None
    done = 0
    from ..progress import task

    with torch_threads(threads), task(f"latency ({', '.join(fns)})", max(1, reps)) as bar:
        while done < max(1, attempts):
            done += 1
            if done > 1:  # a repeated measurement starts the count again
                bar.advance(-bar.done, info=f"attempt {done}")
            load = _load()
            timings = _one_attempt(fns, warmup=warmup, reps=max(1, reps), min_reps=min_reps,
                                   max_seconds=max_seconds, clock=clock, settle=settle, tick=bar.advance)
            bar.advance(max(bar.total - bar.done, 0))  # stopped early by max_seconds: this attempt is done
            worst = max(t.dispersion for t in timings.values())
            if best is None or worst < best[0]:
                best = (worst, timings, max(load, _load()))
            if worst <= dispersion_limit and max(load, _load()) <= cores:
                break
    if best is None:  # the loop runs at least once: attempts is ≥ 1
        raise RuntimeError("latency: no timing attempt ran")
    worst, timings, load = best
    reasons = []
    if worst > dispersion_limit:
        name = max(timings, key=lambda k: timings[k].dispersion)
        reasons.append(f"p95/median {worst:.2f} > {dispersion_limit:g} ({name})")
    if load > cores:
        reasons.append(f"load average {load:.1f} > {cores} cores")
    result = LatencyResult(timings=timings, threads=threads, clock=clock, load_average=load, cores=cores,
                           attempts=done, unreliable=bool(reasons), reason="; ".join(reasons))
    if result.unreliable and warn:
        warnings.warn(f"Latency figures are unreliable after {done} attempt(s): {result.reason}. "
                      "Other work on this machine inflated or scattered the times; ratios measured in the "
                      "same rounds are more robust than the absolute times.", UserWarning, stacklevel=3)
    return result


def interleaved(models: Mapping[str, Any] | Sequence[Any], X: np.ndarray, *, threads: int | None = 2,
                **options: Any) -> LatencyResult:
    """Time each model's ``forward_fn`` on the same rows ``X``, interleaved (see :func:`time_calls`).

    ``models`` is a name → model mapping or a sequence (named "0", "1", …); ``threads``
    fixes torch's and ONNX Runtime's intra-op threads. Returns a :class:`LatencyResult`.
    """
    named = dict(models) if isinstance(models, Mapping) else {str(i): m for i, m in enumerate(models)}
    X = np.ascontiguousarray(X, dtype=np.float32)
    fns = {k: forward_fn(m, X, threads=threads) for k, m in named.items()}
    return time_calls(fns, threads=threads, **options)


def forward_fn(model: Any, X: np.ndarray, *, threads: int | None = None) -> Callable[[], Any]:
    """``model.forward_fn(X, threads=...)`` when the model has one, else a call of ``model.output(X)``."""
    fn = getattr(model, "forward_fn", None)
    if callable(fn):
        return fn(X, threads=threads)  # type: ignore[no-any-return]
    return lambda: model.output(X)
