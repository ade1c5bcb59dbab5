"""Loading saved models (never unpickling) and ``as_model()`` for paths."""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from ..errors import InvalidInputError, ModelFormatError, short_repr
from ..limits import cap, raise_hint
from .base import BaseModel, register_adapter
from .spec_check import check_spec_header, check_torch_weights

__all__ = ["load_model"]

PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib", ".pt", ".pth", ".bin", ".sav")
PICKLE_REFUSAL = (
    "leanlens never unpickles: loading a pickle can run arbitrary code hidden in the file. "
    "Save torch models with model.save(dir) (safetensors + JSON), scikit-learn models with skops "
    "(leanlens.as_model(estimator).save(dir)), or export to ONNX."
)


#: model.json's ``format`` → (adapter module, its loader). Only the adapter a folder needs is imported,
#: after the checks that need no backend: torch, scikit-learn and ONNX Runtime each cost seconds of
#: start-up, which a refused file (or a command on another kind of model) does not pay.
_LOADERS = {"leanlens-torch": ("torch_model", "load_torch"), "leanlens-sklearn": ("sklearn_model", "load_sklearn"),
            "leanlens-onnx": ("onnx_model", "load_onnx_folder")}


def _loader(fmt: str) -> Callable[..., BaseModel]:
    module = importlib.import_module(f".{_LOADERS[fmt][0]}", __package__)
    return cast("Callable[..., BaseModel]", getattr(module, _LOADERS[fmt][1]))


def _looks_like_pickle(path: Path) -> bool:
    if path.suffix.lower() in PICKLE_SUFFIXES:
        return True
    try:
        with open(path, "rb") as fh:
            head = fh.read(2)
    except OSError:
        return False
    # Pickle protocol 2+ starts with 0x80 and the protocol number; zip (torch.save) with PK.
    return (len(head) == 2 and head[0] == 0x80 and head[1] <= 5) or head == b"PK"


def load_model(path: str | os.PathLike[str], *, allow_control_flow: bool = False) -> BaseModel:
    """Load a model folder saved by leanlens, or an ``.onnx`` file.

    Torch: ``model.safetensors`` + ``model.json``; scikit-learn: ``model.skops`` (only
    scikit-learn/NumPy/SciPy types are trusted); ONNX: ``model.onnx``. Pickle files are
    refused with an explanation. Declared sizes are checked against ``leanlens.limits``
    before anything is allocated, and no graph or constructor from the file is run to load it;
    ``allow_control_flow=True`` accepts ONNX graphs with Loop/Scan/If (files you trust).
    """
    if not isinstance(path, str | os.PathLike):
        raise InvalidInputError(
            f"The 'path' parameter of load_model must be a str or os.PathLike (a model folder or an .onnx file). "
            f"Got {short_repr(path)} ({type(path).__name__}) instead."
        )
    p = Path(path)
    if not p.exists():
        raise ModelFormatError(f"The model path {str(p)!r} does not exist.")
    if p.is_file():
        if p.suffix.lower() == ".onnx":
            from .onnx_model import OnnxModel

            return OnnxModel(p, allow_control_flow=allow_control_flow)
        if _looks_like_pickle(p):
            raise ModelFormatError(f"Refusing to load {str(p)!r}: it is a pickle file. {PICKLE_REFUSAL}")
        raise ModelFormatError(
            f"The model path {str(p)!r} is a file leanlens cannot read; give a model folder "
            "(with model.json) or an .onnx file."
        )
    spec_file = p / "model.json"
    if not spec_file.is_file():
        pickles = [f.name for f in p.iterdir() if f.suffix.lower() in PICKLE_SUFFIXES]
        if pickles:
            raise ModelFormatError(f"The folder {str(p)!r} holds pickle files ({', '.join(pickles)}). {PICKLE_REFUSAL}")
        raise ModelFormatError(f"The model folder {str(p)!r} has no model.json; it is not a saved leanlens model.")
    spec = read_spec(spec_file)
    fmt = spec.get("format")
    if not isinstance(fmt, str) or fmt not in _LOADERS:
        raise ModelFormatError(
            f"The file {str(spec_file)!r} has unknown format {short_repr(fmt)}; expected one of {sorted(_LOADERS)}."
        )
    check_spec_header(spec, p)
    if fmt == "leanlens-torch":
        check_torch_weights(p, spec)  # declared layers vs the safetensors header and the caps, before torch loads
    if fmt == "leanlens-onnx":
        return _loader(fmt)(p, spec, allow_control_flow=allow_control_flow)
    return _loader(fmt)(p, spec)


def read_spec(spec_file: Path) -> dict[str, Any]:
    """``model.json`` as a dict: size and nesting capped, every decoding problem a ModelFormatError."""
    size = spec_file.stat().st_size
    if size > cap("MAX_JSON_BYTES"):
        raise ModelFormatError(f"The file {str(spec_file)!r} is {size:,} bytes. {raise_hint('MAX_JSON_BYTES')}")
    try:
        spec = json.loads(spec_file.read_bytes().decode("utf-8"))
    except RecursionError:
        raise ModelFormatError(f"The file {str(spec_file)!r} is nested too deeply to be a model.json.") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelFormatError(f"The file {str(spec_file)!r} is corrupt (not valid JSON: {short_repr(str(exc))}).") from None
    if not isinstance(spec, dict):
        raise ModelFormatError(f"The file {str(spec_file)!r} must hold a JSON object. Got a JSON {type(spec).__name__}.")
    _check_depth(spec, spec_file)
    return spec


def _check_depth(obj: Any, where: Path) -> None:
    limit = cap("MAX_NESTING")
    stack: list[tuple[Any, int]] = [(obj, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            raise ModelFormatError(f"The file {str(where)!r} is nested deeper than {limit} levels.")
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)


@register_adapter(str)
@register_adapter(os.PathLike)
def _wrap_path(path: str | os.PathLike[str], **meta: Any) -> BaseModel:
    p = Path(path)
    if p.suffix.lower() == ".onnx" and p.is_file():
        from .onnx_model import OnnxModel

        return OnnxModel(p, **meta)
    return load_model(p)
