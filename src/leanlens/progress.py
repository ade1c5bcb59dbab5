"""Progress of long work, in one place: rich bars with an ETA, JSON events, or nothing.

Library code reports through :func:`task` (``with task("explain original", total=n) as t:
... t.advance()``) and :func:`note` (a line such as the cost of the work about to start),
and never decides how that is shown. The current :class:`Reporter` decides: the CLI sets one
per command from ``--quiet`` (nothing) and ``--log-json`` (one JSON line per event on
stderr); ``run(progress=True, log=...)`` sets one for its duration. Without a reporter the
library is silent.

Every JSON event carries ``event``, ``stage``, ``done``, ``total`` and ``elapsed``
(seconds since the stage started): ``task_start``, ``progress`` (at most every
:data:`JSON_EVERY` seconds, so a fast loop does not flood the log) and ``task_end``.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["JSON_EVERY", "SHOW_AFTER", "Log", "ProgressBar", "Reporter", "Task", "current", "json_lines_logger",
           "note", "progress_bar", "reporting", "shown", "task"]

Log = Callable[[dict[str, Any]], None]

#: Seconds between two JSON ``progress`` events of one stage (the first and last are always sent).
JSON_EVERY = 0.5
#: A finished bar stays on screen only if its stage took at least this many seconds.
SHOW_AFTER = 2.0


def json_lines_logger(stream: Any = None) -> Log:
    """A ``log`` callback printing each event as one JSON line (stderr by default)."""

    def log(event: dict[str, Any]) -> None:
        out = stream or sys.stderr
        out.write(json.dumps(event, default=str) + "\n")
        out.flush()

    return log


class Task:
    """One stage's progress: ``advance()`` as its units (rows, chunks, metrics, twins) are done."""

    def __init__(self, reporter: Reporter | None, stage: str, total: int, rich_id: Any = None) -> None:
        self.reporter = reporter
        self.stage = stage
        self.total = int(total)
        self.done = 0
        self.start = time.perf_counter()
        self._rich_id = rich_id
        self._last_json = 0.0

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def advance(self, n: int = 1, *, info: str = "") -> None:
        self.done += n
        if self.reporter is not None:
            self.reporter._advance(self, n, info)

    def update(self, advance: int = 1, *, info: str = "") -> None:
        """The same as :meth:`advance` (the older progress-bar call)."""
        self.advance(advance, info=info)

    def fields(self) -> dict[str, Any]:
        return {"stage": self.stage, "done": self.done, "total": self.total, "elapsed": round(self.elapsed, 3)}


ProgressBar = Task  # the name earlier code imports


class Reporter:
    """Where progress goes: rich bars on stderr (``bars``), events to ``log``, both or neither."""

    def __init__(self, *, bars: bool = False, log: Log | None = None, stream: Any = None) -> None:
        self.bars = bars
        self.log = log
        self.stream = stream
        self._progress: Any = None
        self._open = 0

    # -- events and notes --------------------------------------------------------------
    def emit(self, event: str, **fields: Any) -> None:
        """One event to ``log`` (nothing without one)."""
        if self.log is not None:
            self.log({"time": round(time.time(), 3), "event": event, **fields})

    def note(self, kind: str, text: str, **fields: Any) -> None:
        """A line for a person (``kind: text`` on stderr with bars) or an event ``kind`` for a machine."""
        if self.log is not None:
            self.emit(kind, message=text, **fields)
        if self.bars:
            line = f"{kind}: {text}"
            if self._progress is not None:
                self._progress.console.print(line, soft_wrap=True, markup=False, highlight=False)
            else:
                out = self.stream or sys.stderr
                out.write(line + "\n")
                out.flush()

    # -- stages ------------------------------------------------------------------------
    @contextlib.contextmanager
    def task(self, stage: str, total: int, *, description: str | None = None) -> Iterator[Task]:
        """A stage of ``total`` units. Its bar is removed at the end when it took under
        :data:`SHOW_AFTER` seconds, so that only the long stages stay on screen."""
        rich_id = None
        if self.bars:
            prog = self._rich()
            rich_id = prog.add_task(description or stage, total=max(int(total), 0), info="")
        t = Task(self, stage, total, rich_id)
        self.emit("task_start", **t.fields())
        try:
            yield t
        finally:
            if rich_id is not None and self._progress is not None:
                if t.elapsed < SHOW_AFTER:
                    self._progress.remove_task(rich_id)
                self._release()
            self.emit("task_end", **t.fields())

    def _advance(self, t: Task, n: int, info: str) -> None:
        if t._rich_id is not None and self._progress is not None:
            self._progress.update(t._rich_id, advance=n, info=info)
        if self.log is not None:
            now = time.perf_counter()
            if t.done >= t.total or now - t._last_json >= JSON_EVERY:
                t._last_json = now
                self.emit("progress", **t.fields(), **({"info": info} if info else {}))

    def _rich(self) -> Any:
        if self._progress is None:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                TextColumn("eta"), TimeRemainingColumn(), TextColumn("{task.fields[info]}"),
                console=Console(file=self.stream or sys.stderr), transient=False,
            )
            self._progress.start()
        self._open += 1
        return self._progress

    def _release(self) -> None:
        self._open -= 1
        if self._open <= 0:
            self.close()

    def close(self) -> None:
        if self._progress is not None:
            if not self._progress.tasks:  # every bar was short and removed: leave no blank line
                self._progress.live.transient = True
            self._progress.stop()
            self._progress = None
        self._open = 0


_CURRENT: contextvars.ContextVar[Reporter | None] = contextvars.ContextVar("leanlens_reporter", default=None)


def current() -> Reporter | None:
    """The reporter in charge here (None: progress is not shown anywhere)."""
    return _CURRENT.get()


@contextlib.contextmanager
def reporting(reporter: Reporter | None) -> Iterator[Reporter | None]:
    """Make ``reporter`` the current one for the duration (None: silence)."""
    token = _CURRENT.set(reporter)
    try:
        yield reporter
    finally:
        _CURRENT.reset(token)
        if reporter is not None:
            reporter.close()


@contextlib.contextmanager
def task(stage: str, total: int, *, description: str | None = None) -> Iterator[Task]:
    """A stage reported to the current reporter; silent without one."""
    rep = current()
    if rep is None:
        yield Task(None, stage, total)
        return
    with rep.task(stage, total, description=description) as t:
        yield t


def shown() -> bool:
    """Whether anyone sees progress and notes here (a reporter with bars or a log): work done
    only to be said, such as a cost probe, is skipped when not."""
    rep = current()
    return rep is not None and (rep.bars or rep.log is not None)


def note(kind: str, text: str, **fields: Any) -> None:
    """A line to the current reporter (``cost: ...``, ``cheaper: ...``); nothing without one."""
    rep = current()
    if rep is not None:
        rep.note(kind, text, **fields)


@contextlib.contextmanager
def progress_bar(*, total: int, description: str, enabled: bool = True, stage: str | None = None) -> Iterator[Task]:
    """A bar over ``total`` units. Under a current reporter (the CLI's, a run's) the reporter
    decides what is shown and ``enabled`` is ignored; otherwise ``enabled`` shows a rich bar."""
    if current() is None and enabled:
        with reporting(Reporter(bars=True)), task(stage or description, total, description=description) as t:
            yield t
        return
    with task(stage or description, total, description=description) as t:
        yield t
