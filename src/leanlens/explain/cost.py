"""What an explanation will cost, said before the work starts: model evaluations and seconds.

The estimate is measured, not guessed: the explainer is run on one probe row with the very
settings of the real run, and its model evaluations and wall time are scaled to all rows.
When the estimate is long, :meth:`Cost.cheaper` names the settings that cut it most while
changing the result least (a k-means summary of the background, fewer rows, a lower budget).
"""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .base import Explainer

__all__ = ["LONG_SECONDS", "Cost", "probe_cost"]

#: An estimate above this many seconds comes with cheaper settings.
LONG_SECONDS = 60.0


@dataclasses.dataclass(frozen=True)
class Cost:
    """The measured cost of explaining ``n_rows`` rows with one explainer.

    Attributes
    ----------
    method : the explanation method.
    n_rows : rows to explain.
    evals_per_row : model evaluations (input rows given to the model) per explained row.
    seconds_per_row : wall time per explained row, from the probe.
    n_background : background rows the model is evaluated against (None: the method uses none).
    budget : the method's budget (None: its default).
    """

    method: str
    n_rows: int
    evals_per_row: int
    seconds_per_row: float
    n_background: int | None = None
    budget: int | None = None

    @property
    def n_model_evals(self) -> int:
        return self.n_rows * self.evals_per_row

    @property
    def seconds(self) -> float:
        return self.n_rows * self.seconds_per_row

    def line(self) -> str:
        """One line for a person: ``explain kernel: 100 rows × 20,002 model evaluations = 2,000,200, about 3 min 56 s.``"""
        return (f"{self.method}: {self.n_rows:,} rows × {self.evals_per_row:,} model evaluations = "
                f"{self.n_model_evals:,}, about {_duration(self.seconds)} (measured on 1 and 3 rows).")

    def cheaper(self, *, limit: float = LONG_SECONDS) -> list[str]:
        """Settings that bring a long run under ``limit`` seconds, cheapest change to the result first."""
        if self.seconds <= limit:
            return []
        out = []
        factor = self.seconds / limit
        if self.n_background and self.n_background > 10:
            k = max(10, int(self.n_background / factor))
            if k < self.n_background:
                out.append(f"--background {k} (a k-means summary of the background: about "
                           f"{_duration(self.seconds * k / self.n_background)})")
        rows = max(1, int(self.n_rows / factor))
        if rows < self.n_rows:
            out.append(f"--rows 0:{rows} (about {_duration(self.seconds * rows / self.n_rows)})")
        if self.budget:
            b = int(self.budget / factor)
            if b >= 16:
                out.append(f"--budget {b} (less accurate values: about {_duration(self.seconds * b / self.budget)})")
        return out


def probe_cost(explainer: Explainer, X: np.ndarray, *, target: Any = None, chunk_rows: int | None = None) -> Cost:
    """Explain one and then three rows of ``X`` with ``explainer`` and scale to every row of ``X``.

    A call has a fixed part (validation, the background summary) and a part per row; the two
    timed probes separate them, so the estimate holds whether the run explains its rows in one
    call or in chunks of ``chunk_rows`` (None: one call). A first, untimed call pays one-off
    costs (imports, caches) that the real run pays once.
    """
    explainer.explain(X[:1], target=target)
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
    bg = getattr(explainer, "background", None)
    return Cost(method=explainer.name, n_rows=n, evals_per_row=int(evals_per_row),
                seconds_per_row=(calls * fixed + n * per_row) / n, n_background=None if bg is None else len(bg),
                budget=getattr(explainer, "budget", None))


def _duration(seconds: float) -> str:
    if seconds < 1:
        return "under a second"
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes, s = divmod(round(seconds), 60)
    if minutes < 90:
        return f"{minutes} min {s:02d} s"
    hours, m = divmod(minutes, 60)
    return f"{hours} h {m:02d} min"
