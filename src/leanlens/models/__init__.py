"""Models: the protocol, ``as_model()``, adapters, architectures, trainer, persistence."""

from .base import BaseModel, Model, as_model, register_adapter
from .persistence import load_model
from .trainer import TrainConfig, train

__all__ = ["BaseModel", "Model", "TrainConfig", "as_model", "export_onnx", "load_model", "register_adapter", "train"]


def export_onnx(model, path, *, opset: int = 17):  # type: ignore[no-untyped-def]
    """Export a torch Model to an ONNX file (see :func:`leanlens.models.onnx_model.export_onnx`)."""
    from .onnx_model import export_onnx as _export

    return _export(model, path, opset=opset)
