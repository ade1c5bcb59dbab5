"""Parameter validation: a small vocabulary of constraints, declared once and checked in one place.

A parameter's constraint is a :class:`Constraint` (an :class:`Interval`, :class:`Options`,
:class:`InstanceOf` or :class:`Each`), ``None`` (the value may be None), or a list of these
(any one may hold). Configs declare theirs in ``constraints``; explainers in ``param_constraints``.
:func:`check_param` raises with scikit-learn's message shape::

    The 'budget' parameter of KernelShap must be an int ≥ 14. Got 5 instead.

Examples
--------
>>> check_param(0.5, Interval(float, 0, 1, closed="left"), param="amount", owner="Prune")
0.5
>>> check_param(1.5, Interval(float, 0, 1, closed="left"), param="amount", owner="Prune")
Traceback (most recent call last):
...
leanlens.errors.InvalidInputError: The 'amount' parameter of Prune must be a number in [0, 1). Got 1.5 instead.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np

from .errors import InvalidInputError, did_you_mean, short_repr

__all__ = [
    "MAX_SEED",
    "NON_NEGATIVE",
    "NON_NEGATIVE_INT",
    "POSITIVE",
    "POSITIVE_INT",
    "SEED",
    "Constraint",
    "Each",
    "InstanceOf",
    "Interval",
    "Options",
    "check_param",
    "check_params",
    "check_random_state",
    "check_str_or_str_sequence",
    "describe",
    "resolve_seed",
]

#: scikit-learn (used for dataset splits and trees) refuses seeds ≥ 2**32.
MAX_SEED = 2**32 - 1

Closed = Literal["both", "left", "right", "neither"]


class Constraint(abc.ABC):
    """One rule a parameter's value may satisfy; ``str(c)`` says it in words ("an int ≥ 1")."""

    @abc.abstractmethod
    def accepts(self, value: Any) -> bool:
        """Whether ``value`` satisfies the rule."""

    def hint(self, value: Any) -> str:
        """A suffix for the error message (e.g. ' Did you mean …?'); '' by default."""
        return ""


def _is_int(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def _is_real(value: Any) -> bool:
    return (_is_int(value) or isinstance(value, float | np.floating)) and math.isfinite(float(value))


class Interval(Constraint):
    """An int (``Interval(int, 1)``) or a finite number (``Interval(float, 0, 1, closed="left")``)
    between ``low`` and ``high`` (None: unbounded on that side); ``closed`` says which ends belong."""

    def __init__(self, kind: type[int] | type[float], low: float | None = None, high: float | None = None, *,
                 closed: Closed = "both") -> None:
        if kind not in (int, float):
            raise TypeError(f"Interval kind must be int or float, not {kind!r}")
        if low is not None and high is not None and low > high:
            raise ValueError(f"Interval low {low} > high {high}")
        self.kind, self.low, self.high, self.closed = kind, low, high, closed

    def accepts(self, value: Any) -> bool:
        if not (_is_int(value) if self.kind is int else _is_real(value)):
            return False
        v = float(value)
        left, right = self.closed in ("both", "left"), self.closed in ("both", "right")
        if self.low is not None and (v < self.low or (v == self.low and not left)):
            return False
        return not (self.high is not None and (v > self.high or (v == self.high and not right)))

    def __str__(self) -> str:
        what = "an int" if self.kind is int else "a number"
        left, right = self.closed in ("both", "left"), self.closed in ("both", "right")
        if self.low is not None and self.high is not None:
            return f"{what} in {'[' if left else '('}{_num(self.low)}, {_num(self.high)}{']' if right else ')'}"
        if self.low == 0 and not left:
            return f"a positive {'int' if self.kind is int else 'number'}"
        if self.low is not None:
            return f"{what} {'≥' if left else '>'} {_num(self.low)}"
        if self.high is not None:
            return f"{what} {'≤' if right else '<'} {_num(self.high)}"
        return what


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else repr(x)


class Options(Constraint):
    """One of a fixed set of values (usually strings)."""

    def __init__(self, options: Sequence[Any]) -> None:
        self.options = tuple(options)

    def accepts(self, value: Any) -> bool:
        try:
            return value in self.options
        except TypeError:  # unhashable or uncomparable
            return False

    def hint(self, value: Any) -> str:
        strs = [o for o in self.options if isinstance(o, str)]
        return did_you_mean(str(value), strs) if isinstance(value, str) and strs else ""

    def __str__(self) -> str:
        return "one of " + ", ".join(repr(o) for o in self.options)


_TYPE_WORDS = {bool: "true or false", str: "a str", dict: "a mapping", np.ndarray: "an array"}


class InstanceOf(Constraint):
    """A value of the given type(s) (``bool`` accepts only True/False, not 0/1)."""

    def __init__(self, *types: type, description: str | None = None) -> None:
        self.types = types
        self.description = description

    def accepts(self, value: Any) -> bool:
        if bool in self.types and isinstance(value, bool | np.bool_):
            return True
        if isinstance(value, bool) and bool not in self.types:
            return False
        return isinstance(value, self.types)

    def __str__(self) -> str:
        if self.description:
            return self.description
        return " or ".join(_TYPE_WORDS.get(t, f"a {t.__name__}") for t in self.types)


class Each(Constraint):
    """A list or tuple (``min_len`` to ``max_len`` long) whose every item satisfies ``item``."""

    def __init__(self, item: Constraint, *, min_len: int = 0, max_len: int | None = None,
                 description: str | None = None) -> None:
        self.item, self.min_len, self.max_len, self.description = item, min_len, max_len, description

    def accepts(self, value: Any) -> bool:
        return (isinstance(value, list | tuple) and len(value) >= self.min_len
                and (self.max_len is None or len(value) <= self.max_len) and all(self.item.accepts(v) for v in value))

    def hint(self, value: Any) -> str:
        if isinstance(value, list | tuple):
            bad = [v for v in value if not self.item.accepts(v)]
            if bad:
                return f" ({bad[0]!r} is not {self.item}.{self.item.hint(bad[0])})"
        return ""

    def __str__(self) -> str:
        if self.description:
            return self.description
        size = "a non-empty list" if self.min_len == 1 else f"a list of ≥ {self.min_len} items" if self.min_len else "a list"
        if self.max_len is not None:
            size += f" of at most {self.max_len} items"
        return f"{size}, each {self.item}"


#: A constraint spec: a Constraint, None (None allowed), or a list of those (any one may hold).
Spec = Constraint | None | Sequence[Constraint | None]

#: A seed: None or an int in [0, 2**32 - 1].
SEED: Spec = [None, Interval(int, 0, MAX_SEED)]
#: Rules many parameters share.
POSITIVE = Interval(float, 0, None, closed="neither")
NON_NEGATIVE = Interval(float, 0, None)
POSITIVE_INT = Interval(int, 1)
NON_NEGATIVE_INT = Interval(int, 0)


def _alternatives(spec: Spec) -> list[Constraint | None]:
    if spec is None or isinstance(spec, Constraint):
        return [spec]
    return list(spec)


def describe(spec: Spec) -> str:
    """The spec in words: "None or an int ≥ 1"."""
    alts = _alternatives(spec)
    words = (["None"] if None in alts else []) + [str(c) for c in alts if c is not None]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def check_param(value: Any, spec: Spec, *, param: str, owner: str = "",
                error: type[InvalidInputError] = InvalidInputError) -> Any:
    """``value`` unchanged if one alternative of ``spec`` accepts it, else raise ``error``."""
    alts = _alternatives(spec)
    if value is None and None in alts:
        return value
    if any(c is not None and c.accepts(value) for c in alts):
        return value
    where = f" of {owner}" if owner else ""
    hints = "".join(c.hint(value) for c in alts if c is not None)
    plain = _is_real(value) or isinstance(value, bool) or value is None
    got = short_repr(value) if plain else f"{short_repr(value)} ({type(value).__name__})"
    raise error(f"The {param!r} parameter{where} must be {describe(spec)}. Got {got} instead.{hints}")


def check_params(values: Any, constraints: Mapping[str, Spec], *, owner: str,
                 error: type[InvalidInputError] = InvalidInputError) -> None:
    """Check every declared parameter: ``values`` is a mapping, or an object whose attributes they are."""
    get = values.get if isinstance(values, Mapping) else lambda n, d=None: getattr(values, n, d)
    for name, spec in constraints.items():
        check_param(get(name), spec, param=name, owner=owner, error=error)


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
    check_param(value, SEED, param=param, owner=owner, error=error)
    return None if value is None else int(value)


def resolve_seed(value: Any, *, param: str = "random_state", owner: str = "",
                 error: type[InvalidInputError] = InvalidInputError) -> int:
    """The seed to use and record: ``value`` if it is an int seed, a fresh one from the OS's entropy if None.

    The convention across leanlens: ``random_state=None`` (the default) means fresh randomness and an
    int means reproducible numbers; what is saved (a Dataset's split, a trained model) records the
    seed actually used, so a None run can be repeated afterwards.
    """
    seed = check_random_state(value, param=param, owner=owner, error=error)
    return int(np.random.SeedSequence().generate_state(1)[0]) if seed is None else seed


def check_str_or_str_sequence(value: Any, *, param: str, owner: str = "") -> list[str]:
    """``value`` as a list of str if it is a str or a list/tuple of str, else raise InvalidInputError."""
    check_param(value, [InstanceOf(str), Each(InstanceOf(str), description="a list of str")], param=param, owner=owner)
    return [value] if isinstance(value, str) else list(value)
