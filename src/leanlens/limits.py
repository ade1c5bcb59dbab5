"""Upper bounds on every size, budget and count a user can ask for.

A number past its bound is refused with a :class:`~leanlens.errors.InvalidInputError` (a
``ConfigError`` in configs) that names the parameter, the bound and the value — before any
memory is allocated — instead of ending in a MemoryError, a libgomp abort or an hour of work.
The bounds are generous for the models and data leanlens is built for (tabular and small
image models that fit in memory); each is documented here, and the memory of a network is
estimated from its parameter count before it is built.

=====================  ==============  =====================================================
bound                  value           applies to
=====================  ==============  =====================================================
MAX_WIDTH              65,536          each hidden width / channel count (train, distill)
MAX_LAYERS             64              hidden layers of an MLP or convolutions of a CNN
MAX_PARAMETERS         50,000,000      parameters of a network built by leanlens (200 MB of
                                       float32 weights; training with Adam needs ~4x that)
MAX_EPOCHS             100,000         training and fine-tuning epochs
MAX_BATCH_SIZE         1,048,576       mini-batch size
MAX_BUDGET             1,000,000       explainer budget per row (coalitions, samples, steps)
MAX_COALITION_CELLS    100,000,000     budget x features of one row's coalition matrix (memory)
MAX_ROWS               1,000,000       rows explained, compared or evaluated at once
MAX_BACKGROUND         100,000         background rows
MAX_THREADS            256             torch / ONNX Runtime threads (more aborts libgomp)
MAX_TRIALS             10,000          sweep trials
MAX_TWINS              100             twin models of compare()
MAX_REPS               1,000,000       timed calls of a latency measurement
MAX_LR                 1,000           learning rates (train, fine-tune, distill; torch
                                       overflows on 1e300)
=====================  ==============  =====================================================
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._validation import Each, Interval
from .errors import InvalidInputError

__all__ = [
    "MAX_BACKGROUND",
    "MAX_BATCH_SIZE",
    "MAX_BUDGET",
    "MAX_COALITION_CELLS",
    "MAX_EPOCHS",
    "MAX_LAYERS",
    "MAX_LR",
    "MAX_PARAMETERS",
    "MAX_REPS",
    "MAX_ROWS",
    "MAX_THREADS",
    "MAX_TRIALS",
    "MAX_TWINS",
    "MAX_WIDTH",
    "check_count",
    "check_mlp_size",
    "check_widths",
]

MAX_WIDTH = 65_536
MAX_LAYERS = 64
MAX_PARAMETERS = 50_000_000
MAX_EPOCHS = 100_000
MAX_BATCH_SIZE = 1_048_576
MAX_BUDGET = 1_000_000
MAX_COALITION_CELLS = 100_000_000
MAX_ROWS = 1_000_000
MAX_BACKGROUND = 100_000
MAX_THREADS = 256
MAX_TRIALS = 10_000
MAX_TWINS = 100
MAX_REPS = 1_000_000
MAX_LR = 1_000


#: The bounds above as constraints for the declarative validation of configs (leanlens._validation).
EPOCHS = Interval(int, 1, MAX_EPOCHS)
FINETUNE_EPOCHS = Interval(int, 0, MAX_EPOCHS)
BATCH_SIZE = Interval(int, 1, MAX_BATCH_SIZE)
WIDTHS = Each(Interval(int, 1, MAX_WIDTH), max_len=MAX_LAYERS)
THREADS = Interval(int, 1, MAX_THREADS)
LEARNING_RATE = Interval(float, 0, MAX_LR, closed="right")


def check_count(
    value: Any,
    *,
    param: str,
    high: int,
    low: int = 1,
    owner: str = "",
    allow_none: bool = False,
    error: type[InvalidInputError] = InvalidInputError,
) -> int | None:
    """``value`` as an int if it is an int (not bool) in ``[low, high]``, else raise ``error``."""
    if value is None and allow_none:
        return None
    where = f" of {owner}" if owner else ""
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
        raise error(f"The {param!r} parameter{where} must be an int in [{low}, {high:,}]. "
                    f"Got {str(value)[:200]!r} ({type(value).__name__}) instead.")
    if not low <= int(value) <= high:
        raise error(f"The {param!r} parameter{where} must be an int in [{low}, {high:,}]. Got {int(value):,} instead.")
    return int(value)


def check_widths(widths: Sequence[Any], *, param: str = "hidden", owner: str = "",
                 error: type[InvalidInputError] = InvalidInputError, allow_empty: bool = True) -> tuple[int, ...]:
    """A tuple of layer widths, each in [1, MAX_WIDTH], at most MAX_LAYERS of them."""
    if isinstance(widths, str | bytes) or not isinstance(widths, Sequence):
        raise error(f"The {param!r} parameter must be a list of ints. Got {str(widths)[:200]!r}.")
    if len(widths) > MAX_LAYERS:
        raise error(f"The {param!r} parameter{' of ' + owner if owner else ''} may list at most {MAX_LAYERS} layers. "
                    f"Got {len(widths)}.")
    if not widths and not allow_empty:
        raise error(f"The {param!r} parameter needs at least one width.")
    return tuple(int(check_count(w, param=f"{param} width", high=MAX_WIDTH, owner=owner, error=error) or 0)
                 for w in widths)


def mlp_parameters(n_in: int, hidden: Sequence[int], n_out: int) -> int:
    """Weights + biases of an MLP ``n_in → hidden… → n_out``."""
    sizes = [int(n_in), *(int(h) for h in hidden), int(n_out)]
    return sum(a * b + b for a, b in itertools.pairwise(sizes))


def check_mlp_size(n_in: int, hidden: Sequence[int], n_out: int, *, param: str = "hidden",
                   error: type[InvalidInputError] = InvalidInputError) -> int:
    """Refuse a network over MAX_PARAMETERS before it is built; its parameter count otherwise."""
    n = mlp_parameters(n_in, hidden, n_out)
    if n > MAX_PARAMETERS:
        raise error(
            f"The {param!r} widths {list(hidden)[:8]} give a network of {n:,} parameters "
            f"(~{n * 4 / 2**30:.1f} GiB of float32 weights) for {n_in} inputs and {n_out} outputs; "
            f"at most {MAX_PARAMETERS:,} are allowed."
        )
    return n
