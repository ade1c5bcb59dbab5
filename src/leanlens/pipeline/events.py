"""Stages of a run or sweep: their timing, their bar and their events, reported through the
one progress mechanism (:mod:`leanlens.progress`).

``progress=True`` shows rich bars (stderr); ``log`` receives one dict per event
(``--log-json`` prints them as JSON lines on stderr). Under a reporter set by the caller
(the CLI's) that reporter is used, and ``progress``/``log`` are not consulted.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

from ..progress import Log, Reporter, Task, current, json_lines_logger, reporting

__all__ = ["Events", "Log", "json_lines_logger"]


class Events:
    """Stage timing, progress bar and event log of one run or sweep."""

    def __init__(self, *, progress: bool = False, log: Log | None = None, total: int = 0, title: str = "run",
                 count_stages: bool = True) -> None:
        """``total`` is what the bar counts: stages (``count_stages``, a run) or, with
        ``count_stages=False``, the caller's own units (a sweep's trials), so that a stage's
        end never advances a bar counting something else (no "25/20")."""
        self.count_stages = count_stages
        self.progress = progress
        self.total = total
        self.title = title
        self.timings: dict[str, float] = {}
        self._bar: Task | None = None
        self._stack: contextlib.ExitStack | None = None
        self._own = Reporter(bars=progress, log=log) if (progress or log is not None) else None
        self.reporter: Reporter | None = None

    @property
    def log(self) -> Log | None:
        rep = self.reporter or current() or self._own
        return None if rep is None else rep.log

    def __enter__(self) -> Events:
        self._stack = contextlib.ExitStack()
        rep = current()
        if rep is None and self._own is not None:
            rep = self._stack.enter_context(reporting(self._own))
        self.reporter = rep
        if rep is not None and self.total:
            self._bar = self._stack.enter_context(rep.task(self.title, self.total))
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._stack is not None:
            self._stack.close()
        self._stack = self._bar = None
        self.reporter = None

    def emit(self, event: str, **fields: Any) -> None:
        rep = self.reporter or current() or self._own  # the run's last event comes after its bars close
        if rep is not None:
            rep.emit(event, **fields)

    def note(self, kind: str, text: str, **fields: Any) -> None:
        """A line for a person (``cost: ...``) or an event for a machine."""
        rep = self.reporter or current() or self._own
        if rep is not None:
            rep.note(kind, text, **fields)

    def advance(self, n: int = 1, *, info: str = "") -> None:
        """Advance the run's (or sweep's) own bar."""
        if self._bar is not None:
            self._bar.advance(n, info=info)

    @contextlib.contextmanager
    def stage(self, name: str, **fields: Any) -> Iterator[None]:
        """Time a stage, log its start and end, advance the progress bar."""
        self.emit("stage_start", stage=name, **fields)
        if self._bar is not None:
            self._bar.advance(0, info=name)
        start = time.perf_counter()
        try:
            yield
        finally:
            seconds = time.perf_counter() - start
            self.timings[name] = round(self.timings.get(name, 0.0) + seconds, 4)
        self.emit("stage_end", stage=name, seconds=round(seconds, 4))
        if self._bar is not None:
            self._bar.advance(1 if self.count_stages else 0, info=f"{name} done")

    def info(self, message: str, **fields: Any) -> None:
        self.emit("info", message=message, **fields)
