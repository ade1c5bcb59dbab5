"""``leanlens.run`` and ``leanlens.sweep``: a pipeline run (or sweep) and its HTML report.

The pipeline (:mod:`leanlens.pipeline`) produces a typed :class:`~leanlens.pipeline.RunResult`;
the report (:mod:`leanlens.report`) renders one. This module sits above both layers and joins
them: the pipeline takes the report writer as a parameter (``report=``), so it never imports the
report (ARCHITECTURE.md: layers import downwards only). The CLI's ``run``, ``sweep`` and ``demo``
call these functions. ``import leanlens`` loads this module on first use of ``leanlens.run``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ParamSpec

from .pipeline import RunResult
from .pipeline import run as _run
from .pipeline import sweep as _sweep

__all__ = ["run", "sweep"]

P = ParamSpec("P")


def with_report(fn: Callable[P, RunResult]) -> Callable[P, RunResult]:
    """``fn`` (the pipeline's ``run`` or ``sweep``) writing ``out/report.html`` with
    :func:`leanlens.report.render_report`, unless the caller passes another ``report`` (or None)."""

    @functools.wraps(fn)
    def call(*args: P.args, **kwargs: P.kwargs) -> RunResult:
        from .report import render_report

        options: dict[str, Any] = kwargs
        options.setdefault("report", render_report)
        return fn(*args, **options)

    return call


run = with_report(_run)
sweep = with_report(_sweep)
