"""Errors raised by leanlens.

Every user mistake raises a subclass of :class:`LeanlensError` whose message names
the parameter, what was expected and what was given. The CLI turns these into one
line on stderr and exit code 2; any other exception is a bug (exit code 1).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "ConfigError",
    "DataError",
    "InvalidInputError",
    "LeanlensError",
    "ModelFormatError",
    "NotFittedError",
    "OutputError",
    "OutputExistsError",
    "UnsupportedModelError",
    "closest",
    "did_you_mean",
    "short_repr",
]

#: Longest echo of a user value in an error message (a hostile file can hold a 300 MB string).
ECHO_LIMIT = 200


class LeanlensError(Exception):
    """Base class of every error leanlens raises on purpose."""


class InvalidInputError(LeanlensError, ValueError):
    """A parameter or an array has the wrong value, shape or content."""


class DataError(InvalidInputError):
    """A data file or table cannot be turned into a Dataset."""


class ConfigError(InvalidInputError):
    """A configuration (YAML, dict or dataclass) is invalid."""


class UnsupportedModelError(LeanlensError, TypeError):
    """The model's type is not supported by the operation asked of it."""


class ModelFormatError(LeanlensError, ValueError):
    """A saved model is missing, partial, corrupt or of a refused format (pickle)."""


class OutputExistsError(LeanlensError, FileExistsError):
    """An output path exists and overwriting was not asked for."""


class OutputError(LeanlensError, OSError):
    """An output path cannot be written: permission denied, read-only, name too long, not a folder."""


class NotFittedError(LeanlensError, RuntimeError):
    """An object was used before the step that fits it."""


def closest(name: str, options: Iterable[str]) -> str | None:
    """The option closest to ``name`` (difflib ratio ≥ 0.5), or None."""
    matches = difflib.get_close_matches(name, list(options), n=1, cutoff=0.5)
    return matches[0] if matches else None


def did_you_mean(name: str, options: Iterable[str]) -> str:
    """A ' Did you mean X?' suffix for an error message, or ''."""
    best = closest(name, options)
    return f" Did you mean {best!r}?" if best else ""


def short_repr(value: object, limit: int = ECHO_LIMIT) -> str:
    """``repr(value)`` cut to about ``limit`` characters, for echoing user values in errors.

    Every error that quotes something a user (or a file) gave goes through this, so a
    hostile input cannot turn one error line into megabytes.

    >>> short_repr("x" * 1000, limit=20)
    "'xxxxxxxxxxxxxxx… (1002 characters)"
    """
    try:
        text = repr(value)
    except Exception:  # a repr that raises or recurses forever
        text = f"<{type(value).__name__}>"
    if len(text) <= limit:
        return text
    return f"{text[: max(limit - 4, 1)]}… ({len(text)} characters)"
