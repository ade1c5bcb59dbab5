"""Every upper bound of leanlens, in one place: what a user may ask for, and what a file may declare.

**Bounds on requests** (``MAX_WIDTH`` … ``MAX_LR``) are fixed. A number past its bound is refused with a :class:`~leanlens.errors.InvalidInputError` (a
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

**Caps on files** are read when a file is loaded. A file is hostile until checked: a few bytes
can declare a 30000×30000 layer, a 10**11-element array or a 2 GB zip entry. Every loader
compares what a file *declares* with these caps (and with what the file really holds) before
building anything.

============================  ==============  ================================================
cap                           value           applies to
============================  ==============  ================================================
MAX_MODEL_PARAMETERS          200,000,000     weights of one model file, over every tensor
MAX_MODEL_FILE_BYTES          2,147,483,648   one model file on disk (safetensors, skops, onnx)
MAX_SKOPS_UNCOMPRESSED_BYTES  1,073,741,824   the entries of a skops zip, uncompressed
MAX_JSON_BYTES                67,108,864      model.json, a skops schema, explanation.json
MAX_SAFETENSORS_HEADER_BYTES  16,777,216      the JSON header of a safetensors file
MAX_NESTING                   100             nesting of JSON/YAML documents and layer lists
MAX_TENSOR_ELEMENTS           268,435,456     elements of one ONNX tensor (batch dimension 1)
MAX_FEATURES                  10,000,000      input features of one model
MAX_YAML_BYTES                8,388,608       one YAML file (configs, plans)
MAX_YAML_NODES                200,000         values (scalars, lists, mappings) of one YAML file
============================  ==============  ================================================

A cap is read through :func:`cap`, so a user who trusts a bigger file can raise it, in Python::

    import leanlens.limits
    leanlens.limits.MAX_MODEL_PARAMETERS = 2_000_000_000

or for the command line, with an environment variable of the same name prefixed ``LEANLENS_``
(``LEANLENS_MAX_MODEL_PARAMETERS=2000000000 leanlens info big_model/``).

The two kinds differ on purpose: ``MAX_PARAMETERS`` bounds a network that leanlens is asked to
*build* (training memory), ``MAX_MODEL_PARAMETERS`` the weights a file may *hold*, so a model
built here always loads.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from typing import Any

from ._validation import Each, Interval, check_param
from .errors import InvalidInputError

__all__ = [
    "MAX_BACKGROUND",
    "MAX_BATCH_SIZE",
    "MAX_BUDGET",
    "MAX_COALITION_CELLS",
    "MAX_EPOCHS",
    "MAX_FEATURES",
    "MAX_JSON_BYTES",
    "MAX_LAYERS",
    "MAX_LR",
    "MAX_MODEL_FILE_BYTES",
    "MAX_MODEL_PARAMETERS",
    "MAX_NESTING",
    "MAX_PARAMETERS",
    "MAX_REPS",
    "MAX_ROWS",
    "MAX_SAFETENSORS_HEADER_BYTES",
    "MAX_SKOPS_UNCOMPRESSED_BYTES",
    "MAX_TENSOR_ELEMENTS",
    "MAX_THREADS",
    "MAX_TRIALS",
    "MAX_TWINS",
    "MAX_WIDTH",
    "MAX_YAML_BYTES",
    "MAX_YAML_NODES",
    "cap",
    "check_count",
    "check_mlp_size",
    "check_widths",
    "raise_hint",
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

# -- caps on what a file declares (read through cap(), raisable) ---------------------------------

#: Weights of one model, counted over every tensor (200M float32 = 800 MB).
MAX_MODEL_PARAMETERS = 200_000_000
#: Size on disk of one model file (model.safetensors, model.skops, model.onnx).
MAX_MODEL_FILE_BYTES = 2 * 1024**3
#: Sum of the uncompressed sizes of the entries of a skops zip (a zip bomb declares more).
MAX_SKOPS_UNCOMPRESSED_BYTES = 1024**3
#: model.json, a skops schema.json, explanation.json.
MAX_JSON_BYTES = 64 * 1024**2
#: The JSON header of a safetensors file (its 8-byte length prefix is checked against this).
MAX_SAFETENSORS_HEADER_BYTES = 16 * 1024**2
#: Nesting depth of JSON and YAML documents and of layer lists (real models use < 20).
MAX_NESTING = 100
#: Elements of one ONNX tensor (initializer or inferred intermediate, batch dimension = 1).
MAX_TENSOR_ELEMENTS = 2**28
#: Input features of one model (the product of its input shape).
MAX_FEATURES = 10_000_000
#: A YAML file (configs, plans): 8 MiB.
MAX_YAML_BYTES = 8 * 1024**2
#: YAML nodes (scalars, lists, mappings) of one file; real configs hold a few hundred.
MAX_YAML_NODES = 200_000


def cap(name: str) -> int:
    """The current value of the cap ``name``: ``LEANLENS_<name>`` from the environment, else this module's."""
    env = os.environ.get(f"LEANLENS_{name}")
    if env:
        try:
            return int(env)
        except ValueError:
            pass
    return int(globals()[name])


def raise_hint(name: str) -> str:
    """How to raise the cap ``name``, for the end of an error message."""
    return (f"The cap is {name} = {cap(name):,}; if you trust this file, raise it with "
            f"leanlens.limits.{name} = … or the environment variable LEANLENS_{name}.")


# -- the request bounds as constraints, and their checks -----------------------------------------

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
    """``value`` as an int if it is an int (not bool) in ``[low, high]``, else raise ``error``.

    ``allow_none`` lets None through without naming it in the message (a CLI option left out).
    """
    if value is None and allow_none:
        return None
    return int(check_param(value, Interval(int, low, high), param=param, owner=owner, error=error))


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
