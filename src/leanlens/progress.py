"""Progress bars (rich) that can be silenced, with one interface for every long loop."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

__all__ = ["ProgressBar", "progress_bar"]


class ProgressBar:
    def __init__(self, progress: Any, task: Any) -> None:
        self._progress = progress
        self._task = task

    def update(self, advance: int = 1, *, info: str = "") -> None:
        if self._progress is not None:
            self._progress.update(self._task, advance=advance, info=info)


@contextlib.contextmanager
def progress_bar(*, total: int, description: str, enabled: bool = True) -> Iterator[ProgressBar]:
    """A rich progress bar on stderr; a silent stand-in when ``enabled`` is False."""
    if not enabled:
        yield ProgressBar(None, None)
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = Console(file=sys.stderr)
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TextColumn("eta"), TimeRemainingColumn(),
        TextColumn("{task.fields[info]}"), console=console, transient=False,
    ) as prog:
        task = prog.add_task(description, total=total, info="")
        yield ProgressBar(prog, task)
