"""Caps on the sizes a model file may declare, checked before anything is allocated.

A model file is hostile until checked: a few bytes can declare a 30000×30000 layer, a
10**11-element array or a 2 GB zip entry. Every loader compares what a file *declares*
with these caps (and with what the file really holds) before building anything.

Each cap is read when a file is loaded, so a user who trusts a bigger file can raise it,
in Python::

    import leanlens.models.limits as limits
    limits.MAX_MODEL_PARAMETERS = 2_000_000_000

or for the command line, with an environment variable of the same name prefixed
``LEANLENS_`` (``LEANLENS_MAX_MODEL_PARAMETERS=2000000000 leanlens info big_model/``).
"""

from __future__ import annotations

import os

__all__ = [
    "MAX_FEATURES",
    "MAX_JSON_BYTES",
    "MAX_MODEL_FILE_BYTES",
    "MAX_MODEL_PARAMETERS",
    "MAX_NESTING",
    "MAX_SAFETENSORS_HEADER_BYTES",
    "MAX_SKOPS_UNCOMPRESSED_BYTES",
    "MAX_TENSOR_ELEMENTS",
    "MAX_YAML_BYTES",
    "cap",
    "raise_hint",
]

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
#: Nesting depth of JSON documents and of layer lists (real models use < 20).
MAX_NESTING = 100
#: Elements of one ONNX tensor (initializer or inferred intermediate, batch dimension = 1).
MAX_TENSOR_ELEMENTS = 2**28
#: Input features of one model (the product of its input shape).
MAX_FEATURES = 10_000_000
#: A YAML file (configs, plans): 8 MiB.
MAX_YAML_BYTES = 8 * 1024**2


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
            f"leanlens.models.limits.{name} = … or the environment variable LEANLENS_{name}.")
