"""Checks of parameters shared by several entry points."""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import InvalidInputError

__all__ = ["MAX_SEED", "check_random_state", "check_str_or_str_sequence"]

#: scikit-learn (used for dataset splits and trees) refuses seeds ≥ 2**32.
MAX_SEED = 2**32 - 1


def check_random_state(
    value: Any,
    *,
    param: str = "random_state",
    owner: str = "",
    error: type[InvalidInputError] = InvalidInputError,
) -> int | None:
    """``value`` as a plain int (or None) if it is a valid seed, else raise ``error``.

    A valid seed is None or an int (Python or NumPy, not bool) in [0, 2**32 - 1].

    Examples
    --------
    >>> check_random_state(np.int64(3))
    3
    >>> check_random_state(None) is None
    True
    """
    if value is None:
        return None
    where = f" of {owner}" if owner else ""
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
        raise error(
            f"The {param!r} parameter{where} must be None or an int in [0, {MAX_SEED}]. "
            f"Got {value!r} ({type(value).__name__}) instead."
        )
    if not 0 <= int(value) <= MAX_SEED:
        raise error(f"The {param!r} parameter{where} must be None or an int in [0, {MAX_SEED}]. Got {value!r} instead.")
    return int(value)


def check_str_or_str_sequence(value: Any, *, param: str, owner: str = "") -> list[str]:
    """``value`` as a list of str if it is a str or a list/tuple of str, else raise InvalidInputError."""
    if isinstance(value, str):
        return [value]
    where = f" of {owner}" if owner else ""
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return list(value)
    raise InvalidInputError(
        f"The {param!r} parameter{where} must be a str or a list of str. Got {value!r} ({type(value).__name__}) instead."
    )
