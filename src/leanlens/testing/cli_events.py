"""Run the CLI in-process and read what it printed: exit code, the ``cost:`` lines, and the
JSON events of ``--log-json`` (shared by the CLI and pipeline tests of cost and progress)."""

from __future__ import annotations

import json
from typing import Any

from ..cli import main

#: Keys every progress event carries.
PROGRESS_KEYS = {"event", "stage", "done", "total", "elapsed"}


def call(argv: list[str], capsys: Any) -> tuple[Any, str, str]:
    """``(exit code, stdout, stderr)`` of ``leanlens ARGV`` run in this process; ``capsys`` is
    pytest's capture fixture."""
    try:
        main(argv)
    except SystemExit as exc:
        code = exc.code
    else:  # pragma: no cover - main() always exits
        raise AssertionError("leanlens.cli.main returned instead of exiting")
    out = capsys.readouterr()
    return code, out.out, out.err


def events_of(err: str) -> list[dict[str, Any]]:
    """Every stderr line parsed as one JSON event; progress events checked for their keys."""
    lines = [line for line in err.splitlines() if line.strip()]
    events = [json.loads(line) for line in lines]
    for e in events:
        if e["event"] in ("task_start", "progress", "task_end"):
            if not PROGRESS_KEYS <= set(e):
                raise AssertionError(f"a progress event lacks {sorted(PROGRESS_KEYS - set(e))}: {e}")
            if e["event"] != "task_end" and not 0 <= e["done"] <= e["total"]:
                raise AssertionError(f"a progress event is out of range: {e}")
    return events


def stages(events: list[dict[str, Any]]) -> set[str]:
    """The stages that ended."""
    return {e["stage"] for e in events if e["event"] == "task_end"}


def cost_lines(err: str) -> list[str]:
    """The ``cost:`` lines printed before the work."""
    return [line for line in err.splitlines() if line.startswith("cost: ")]


def no_output_but_warnings(err: str) -> bool:
    """--quiet: nothing on stderr but a timing warning that depends on the machine's load."""
    return [line for line in err.splitlines() if line.strip() and "warning" not in line] == []
