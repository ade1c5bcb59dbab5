"""``leanlens.run`` and ``leanlens.sweep``: a pipeline run (or sweep) and its HTML report.

The pipeline (:mod:`leanlens.pipeline`) produces a typed :class:`~leanlens.pipeline.RunResult`;
the report (:mod:`leanlens.report`) renders one. This module sits above both layers and joins
them: the pipeline takes the report writer as a parameter, so it never imports the report
(ARCHITECTURE.md: layers import downwards only). The CLI's ``run``, ``sweep`` and ``demo`` call
these functions.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .pipeline import RunResult
    from .pipeline.events import Log
    from .pipeline.executors import Executor

__all__ = ["run", "sweep"]


def run(
    config: Any,
    *,
    out: str | os.PathLike[str],
    overwrite: bool = False,
    progress: bool = False,
    log: Log | None = None,
    executor: Executor | None = None,
) -> RunResult:
    """Run a pipeline end to end, write its run folder, and write ``out/report.html`` last.

    The parameters, the run folder and the errors are those of :func:`leanlens.pipeline.run`.

    Examples
    --------
    >>> import leanlens, tempfile
    >>> cfg = {"data": {"name": "iris"}, "model": {"train": {"hidden": [8], "epochs": 2}},
    ...        "explain": {"methods": ["kernel"], "n_rows": 3, "background": 5}}
    >>> res = leanlens.run(cfg, out=tempfile.mkdtemp() + "/run")  # doctest: +SKIP
    >>> res.report  # doctest: +SKIP
    'report.html'
    """
    from .pipeline import run as run_pipeline
    from .report import render_report

    return run_pipeline(config, out=out, overwrite=overwrite, progress=progress, log=log, executor=executor,
                        report=render_report)


def sweep(
    config: Any,
    *,
    out: str | os.PathLike[str],
    trials: int | None = None,
    overwrite: bool = False,
    backend: str | None = None,
    address: str | None = None,
    storage: str | None = None,
    progress: bool = False,
    log: Log | None = None,
    executor: Executor | None = None,
) -> RunResult:
    """Search the plan space of ``config.sweep`` with Optuna, and write ``out/report.html`` last.

    The parameters, the sweep folder (which resumes) and the errors are those of
    :func:`leanlens.pipeline.sweep`.
    """
    from .pipeline import sweep as sweep_pipeline
    from .report import render_report

    return sweep_pipeline(config, out=out, trials=trials, overwrite=overwrite, backend=backend, address=address,
                          storage=storage, progress=progress, log=log, executor=executor, report=render_report)
