"""Checks of a saved model's ``model.json`` and ``model.safetensors`` header, before anything is built.

A small ``model.json`` can declare a 30000×30000 layer; building it first and comparing the
weights afterwards allocates gigabytes. Here the declared layers are turned into the exact
list of tensor names and shapes they would need, compared with the safetensors *header*
(read alone: an 8-byte little-endian length, then that much JSON), and counted against
``limits.MAX_MODEL_PARAMETERS`` — all before one layer is built.
"""

from __future__ import annotations

import itertools
import json
import math
import struct
from pathlib import Path
from typing import Any

from ..errors import ModelFormatError, short_repr
from ..limits import cap, raise_hint

__all__ = ["ACTIVATION_NAMES", "check_spec_header", "check_torch_weights", "expected_state", "read_safetensors_header"]

Shape = tuple[int, ...]

_DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}
_MAX_WIDTH = 10_000_000
#: The activations a saved network may name, in architectures.ACTIVATIONS' order (a test checks they agree);
#: here so that validating a TrainConfig or a model.json needs no torch.
ACTIVATION_NAMES = ("relu", "tanh", "sigmoid", "gelu", "leaky_relu")
_NO_PARAMS = {"flatten", "identity", *ACTIVATION_NAMES}


def _bad(folder: Path, what: str) -> ModelFormatError:
    return ModelFormatError(f"The model folder {str(folder)!r}: model.json {what}")


def _int(value: Any, what: str, folder: Path, lo: int = 1, hi: int = _MAX_WIDTH) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise _bad(folder, f"{what} must be an int in [{lo}, {hi:,}]. Got {short_repr(value)}.")
    return value


def _pair(value: Any, what: str, folder: Path, lo: int, hi: int) -> tuple[int, int]:
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value, value]
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise _bad(folder, f"{what} must be an int or a pair of ints. Got {short_repr(value)}.")
    return _int(value[0], what, folder, lo, hi), _int(value[1], what, folder, lo, hi)


def check_spec_header(spec: Any, folder: Path) -> None:
    """The fields every saved model shares: input shape (≤ MAX_FEATURES), names of the right length."""
    if not isinstance(spec, dict):
        raise _bad(folder, f"must hold a JSON object. Got a JSON {type(spec).__name__}.")
    for key in ("task", "input_shape", "feature_names", "output_names"):
        if key not in spec:
            raise ModelFormatError(f"The model folder {str(folder)!r} has an incomplete model.json (missing {key!r}).")
    wrong = "has a field of the wrong type: "
    shape = spec["input_shape"]
    if not isinstance(shape, list) or not 1 <= len(shape) <= 8:
        raise _bad(folder, f"{wrong}input_shape must be a list of 1 to 8 positive ints. Got {short_repr(shape)}.")
    dims = [_int(s, f"{wrong}every input_shape entry", folder, 1, cap("MAX_FEATURES")) for s in shape]
    n = math.prod(dims)
    if n > cap("MAX_FEATURES"):
        raise _bad(folder, f"declares {n:,} input features (input_shape {dims}). {raise_hint('MAX_FEATURES')}")
    names = spec["feature_names"]
    if not isinstance(names, list) or len(names) != n or not all(isinstance(x, str) for x in names):
        got = f"{len(names)} entries" if isinstance(names, list) else short_repr(names)
        raise _bad(folder, f"{wrong}feature_names must be a list of {n} strings (input_shape {dims}). Got {got}.")
    outs = spec["output_names"]
    if not isinstance(outs, list) or not 1 <= len(outs) <= 100_000 or not all(isinstance(x, str) for x in outs):
        raise _bad(folder, f"{wrong}output_names must be a list of 1 to 100,000 strings. Got {short_repr(outs)}.")


def expected_state(spec: dict[str, Any], folder: Path) -> dict[str, Shape]:
    """Names and shapes of every tensor the described network holds (LeanlensNet's state_dict)."""
    for key in ("layers", "preprocessing"):
        if key not in spec:
            raise ModelFormatError(f"The model folder {str(folder)!r} has an incomplete model.json (missing {key!r}).")
    layers = spec["layers"]
    if not isinstance(layers, list):
        raise _bad(folder, f"has layers {short_repr(layers)}; expected a list of layer descriptions.")
    state: dict[str, Shape] = {}
    _layers_state(layers, "body", state, folder, depth=0)
    pre = spec.get("preprocessing")
    if not isinstance(pre, dict):
        raise _bad(folder, f"has preprocessing {short_repr(pre)}; expected a mapping.")
    for key in ("mean", "scale", "out_mean", "out_scale"):
        state[key] = _list_shape(pre.get(key), f"preprocessing.{key}", folder)
    return state


def _list_shape(value: Any, what: str, folder: Path) -> Shape:
    """The shape of a nested list of numbers (rectangular, finite), without building an array."""
    shape: list[int] = []
    level = value
    while isinstance(level, list):
        shape.append(len(level))
        if len(shape) > 8 or not level:
            raise _bad(folder, f"{what} must be a non-empty list of numbers (at most 8 levels).")
        level = level[0]
    if not shape:
        raise _bad(folder, f"{what} must be a list of numbers. Got {short_repr(value)}.")
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, d = stack.pop()
        if d < len(shape):
            if not isinstance(item, list) or len(item) != shape[d]:
                raise _bad(folder, f"{what} is not rectangular.")
            stack.extend((x, d + 1) for x in item)
        elif isinstance(item, bool) or not isinstance(item, int | float) or not math.isfinite(item):
            raise _bad(folder, f"{what} holds {short_repr(item)}; expected finite numbers.")
    return tuple(shape)


def _layers_state(layers: list[Any], prefix: str, state: dict[str, Shape], folder: Path, *, depth: int) -> None:
    if depth >= cap("MAX_NESTING"):
        raise _bad(folder, f"nests layers deeper than {cap('MAX_NESTING')} levels.")
    if len(layers) > 100_000:
        raise _bad(folder, f"lists {len(layers):,} layers.")
    for i, layer in enumerate(layers):
        name = f"{prefix}.{i}"
        if not isinstance(layer, dict) or not isinstance(layer.get("type"), str):
            raise _bad(folder, f"layer {name} is not a layer description: {short_repr(layer)}.")
        t = layer["type"]
        if t == "sequential":
            inner = layer.get("layers")
            if not isinstance(inner, list):
                raise _bad(folder, f"layer {name} (sequential) has no list of layers.")
            _layers_state(inner, name, state, folder, depth=depth + 1)
        elif t == "linear":
            n_in, n_out = _int(layer.get("in"), f"layer {name} 'in'", folder), _int(layer.get("out"), f"layer {name} 'out'", folder)
            state[f"{name}.weight"] = (n_out, n_in)
            if _bool(layer.get("bias", True), name, folder):
                state[f"{name}.bias"] = (n_out,)
        elif t == "conv2d":
            n_in, n_out = _int(layer.get("in"), f"layer {name} 'in'", folder), _int(layer.get("out"), f"layer {name} 'out'", folder)
            kh, kw = _pair(layer.get("kernel"), f"layer {name} 'kernel'", folder, 1, 1024)
            _pair(layer.get("stride", 1), f"layer {name} 'stride'", folder, 1, 1024)
            _pair(layer.get("padding", 0), f"layer {name} 'padding'", folder, 0, 1024)
            state[f"{name}.weight"] = (n_out, n_in, kh, kw)
            if _bool(layer.get("bias", True), name, folder):
                state[f"{name}.bias"] = (n_out,)
        elif t in ("batchnorm1d", "batchnorm2d"):
            n = _int(layer.get("n"), f"layer {name} 'n'", folder)
            for p in ("weight", "bias", "running_mean", "running_var"):
                state[f"{name}.{p}"] = (n,)
            state[f"{name}.num_batches_tracked"] = ()
        elif t == "dropout":
            drop = layer.get("p")
            if isinstance(drop, bool) or not isinstance(drop, int | float) or not 0 <= drop < 1:
                raise _bad(folder, f"layer {name} (dropout) needs p in [0, 1). Got {short_repr(drop)}.")
        elif t == "maxpool2d":
            _pair(layer.get("kernel"), f"layer {name} 'kernel'", folder, 1, 1024)
        elif t not in _NO_PARAMS:
            raise _bad(folder, f"layer {name} has unknown type {short_repr(t)}.")


def _bool(value: Any, name: str, folder: Path) -> bool:
    if not isinstance(value, bool):
        raise _bad(folder, f"layer {name} 'bias' must be true or false. Got {short_repr(value)}.")
    return value


def read_safetensors_header(path: Path) -> dict[str, tuple[str, Shape]]:
    """``{name: (dtype, shape)}`` from a safetensors file's header, every size checked against the file."""
    size = path.stat().st_size
    if size > cap("MAX_MODEL_FILE_BYTES"):
        raise ModelFormatError(f"The file {str(path)!r} is {size:,} bytes. {raise_hint('MAX_MODEL_FILE_BYTES')}")
    with open(path, "rb") as fh:
        prefix = fh.read(8)
        if len(prefix) < 8:
            raise ModelFormatError(f"The file {str(path)!r} is corrupt or partial: shorter than a safetensors header.")
        (n,) = struct.unpack("<Q", prefix)
        if n > min(cap("MAX_SAFETENSORS_HEADER_BYTES"), size - 8):
            raise ModelFormatError(
                f"The file {str(path)!r} is corrupt or partial (or crafted): its header declares {n:,} bytes "
                f"(file: {size:,} bytes). {raise_hint('MAX_SAFETENSORS_HEADER_BYTES')}")
        raw = fh.read(n)
    try:
        header = json.loads(raw)
    except (ValueError, RecursionError):
        raise ModelFormatError(f"The file {str(path)!r} is corrupt or partial: its header is not valid JSON.") from None
    if not isinstance(header, dict):
        raise ModelFormatError(f"The file {str(path)!r} is corrupt or partial: its header is not a JSON object.")
    data_bytes = size - 8 - n
    out: dict[str, tuple[str, Shape]] = {}
    spans = []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype, shape, (start, stop) = info["dtype"], info["shape"], info["data_offsets"]
            itemsize = _DTYPE_BYTES[dtype]
            dims = tuple(int(s) for s in shape)
            if any(s < 0 for s in dims) or not all(isinstance(x, int) for x in (start, stop, *shape)):
                raise ValueError
        except (KeyError, TypeError, ValueError):
            raise ModelFormatError(f"The file {str(path)!r} is corrupt or partial: tensor {short_repr(name)} is malformed "
                                   f"({short_repr(info)}).") from None
        if not 0 <= start <= stop <= data_bytes or stop - start != math.prod(dims) * itemsize:
            raise ModelFormatError(
                f"The file {str(path)!r} is corrupt or partial (or crafted): tensor {short_repr(name)} declares shape {dims} "
                f"at bytes [{start:,}, {stop:,}) but the file holds {data_bytes:,} bytes of data.")
        spans.append((start, stop))
        out[str(name)] = (dtype, dims)
    spans.sort()
    if any(a[1] > b[0] for a, b in itertools.pairwise(spans)):
        raise ModelFormatError(f"The file {str(path)!r} is corrupt or partial (or crafted): its tensors overlap.")
    return out


def check_torch_weights(folder: Path, spec: dict[str, Any]) -> None:
    """Refuse a torch model folder without weights, whose model.json and safetensors header disagree, or
    that is too big (needs no torch: ``load_model`` runs it before the torch adapter is imported)."""
    if not (folder / "model.safetensors").is_file():
        raise ModelFormatError(f"The model folder {str(folder)!r} has model.json but no model.safetensors.")
    expected = expected_state(spec, folder)
    total = sum(math.prod(s) for s in expected.values())
    if total > cap("MAX_MODEL_PARAMETERS"):
        raise _bad(folder, f"declares {total:,} parameters. {raise_hint('MAX_MODEL_PARAMETERS')}")
    header = read_safetensors_header(folder / "model.safetensors")
    stored = {k: v[1] for k, v in header.items()}
    if stored != expected:
        missing = sorted(set(expected) - set(stored))
        extra = sorted(set(stored) - set(expected))
        wrong = sorted(k for k in set(expected) & set(stored) if expected[k] != stored[k])
        parts = []
        if missing:
            parts.append(f"missing {short_repr(missing[:5])}")
        if extra:
            parts.append(f"unexpected {short_repr(extra[:5])}")
        if wrong:
            k = wrong[0]
            parts.append(f"{len(wrong)} of another shape (e.g. {k!s:.80}: model.json {expected[k]}, file {stored[k]})")
        raise ModelFormatError(
            f"The model folder {str(folder)!r}: model.json and model.safetensors disagree: {'; '.join(parts)}.")
