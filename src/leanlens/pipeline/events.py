"""Progress and machine logs of a run: one :class:`Events` object every stage reports to.

``progress=True`` shows a rich progress bar over the stages (stderr); ``log`` receives one
dict per event (``--log-json`` prints them as JSON lines on stderr).
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["Events", "json_lines_logger"]

Log = Callable[[dict[str, Any]], None]


def json_lines_logger(stream: Any = None) -> Log:
    """A ``log`` callback printing each event as one JSON line (stderr by default)."""

    def log(event: dict[str, Any]) -> None:
        out = stream or sys.stderr
        out.write(json.dumps(event, default=str) + "\n")
        out.flush()

    return log


class Events:
    """Stage timing, progress bar and event log of one run or sweep."""

    def __init__(self, *, progress: bool = False, log: Log | None = None, total: int = 0, title: str = "run",
                 count_stages: bool = True) -> None:
        """``total`` is what the bar counts: stages (``count_stages``, a run) or, with
        ``count_stages=False``, the caller's own units (a sweep's trials), so that a stage's
        end never advances a bar counting something else (no "25/20")."""
        self.count_stages = count_stages
        self.progress = progress
        self.log = log
        self.total = total
        self.title = title
        self.timings: dict[str, float] = {}
        self._bar: Any = None
        self._stack: contextlib.ExitStack | None = None

    def __enter__(self) -> Events:
        if self.progress and self.total:
            from ..progress import progress_bar

            self._stack = contextlib.ExitStack()
            self._bar = self._stack.enter_context(progress_bar(total=self.total, description=self.title))
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._stack is not None:
            self._stack.close()
        self._stack = self._bar = None

    def emit(self, event: str, **fields: Any) -> None:
        if self.log is not None:
            self.log({"time": round(time.time(), 3), "event": event, **fields})

    @contextlib.contextmanager
    def stage(self, name: str, **fields: Any) -> Iterator[None]:
        """Time a stage, log its start and end, advance the progress bar."""
        self.emit("stage_start", stage=name, **fields)
        if self._bar is not None:
            self._bar.update(0, info=name)
        start = time.perf_counter()
        try:
            yield
        finally:
            seconds = time.perf_counter() - start
            self.timings[name] = round(self.timings.get(name, 0.0) + seconds, 4)
        self.emit("stage_end", stage=name, seconds=round(seconds, 4))
        if self._bar is not None:
            self._bar.update(1 if self.count_stages else 0, info=f"{name} done")

    def info(self, message: str, **fields: Any) -> None:
        self.emit("info", message=message, **fields)
