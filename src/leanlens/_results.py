"""Shared helpers of the typed results (``to_dict``/``from_dict`` with a format and a version)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import ModelFormatError

__all__ = ["check_format", "jsonable"]


def check_format(d: Any, fmt: str, version: int, *, what: str) -> None:
    """Refuse a dict that is not ``fmt`` or is from a newer version than this library reads."""
    if not isinstance(d, dict):
        raise ModelFormatError(f"A {what} must be a mapping (from to_dict()). Got {type(d).__name__}.")
    if d.get("format") != fmt:
        raise ModelFormatError(f"Not a leanlens {what}: expected format {fmt!r}, got {d.get('format')!r}.")
    v = d.get("version")
    if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= version:
        raise ModelFormatError(f"The {what} has version {v!r}; this leanlens reads versions 1 to {version}.")


def jsonable(obj: Any) -> Any:
    """A JSON-able copy: arrays → lists, numpy scalars → Python, non-finite floats → None,
    tuples → lists, keys → strings."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return jsonable(obj.item())
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj
