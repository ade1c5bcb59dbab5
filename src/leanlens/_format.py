"""How numbers are shown to a person: sizes in B/KB/MB/GB and values rounded to meaningful digits.

One rule for the CLI, the console tables and the HTML report, so a size or a score reads the
same everywhere.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["human_bytes", "human_count", "significant"]

_UNITS = ("B", "KB", "MB", "GB", "TB")


def human_bytes(n: Any) -> str:
    """``12345`` → ``'12.1 KB'`` (powers of 1024); ``None`` → ``'–'``."""
    if n is None:
        return "–"
    value = float(n)
    for unit in _UNITS:
        if abs(value) < 1024 or unit == _UNITS[-1]:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns at the last unit


def human_count(n: Any) -> str:
    """``1234567`` → ``'1,234,567'``; ``None`` → ``'–'``."""
    return "–" if n is None else f"{int(n):,}"


def significant(v: Any, digits: int = 3) -> str:
    """A float with ``digits`` significant digits (``0.002449244`` → ``'0.00245'``), ints as they are.

    Non-finite values and ``None`` read ``'–'``; very small or large magnitudes use an exponent.
    """
    if v is None or isinstance(v, bool):
        return "–" if v is None else str(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            return "–"
        if v == 0:
            return "0"
        mag = math.floor(math.log10(abs(v)))
        if mag < -4 or mag >= 6:
            return f"{v:.{digits - 1}e}"
        return f"{v:.{max(digits - 1 - mag, 0)}f}"
    return str(v)
