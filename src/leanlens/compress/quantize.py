"""``Quantize``: dynamic int8 through ONNX Runtime (int8 weights, activations quantized on the fly)."""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import UnsupportedModelError
from .plan import Quantize, register_step

if TYPE_CHECKING:
    from ..models.base import BaseModel
    from .api import StepContext

__all__ = ["quantize_onnx_file", "torch_eager_quantization_available"]

#: ONNX operators dynamic quantization turns into integer kernels.
QUANTIZABLE = ("MatMul", "Gemm", "Conv")
#: Operators that show a graph is already quantized.
QUANTIZED = ("MatMulInteger", "ConvInteger", "DynamicQuantizeLinear", "QLinearMatMul", "QLinearConv",
             "DynamicQuantizeMatMul", "MatMulIntegerToFloat")


def torch_eager_quantization_available() -> bool:
    """Whether the installed torch still has eager-mode ``torch.ao.quantization.quantize_dynamic``."""
    try:
        import torch.ao.quantization as q
    except ImportError:
        return False
    return callable(getattr(q, "quantize_dynamic", None))


@contextlib.contextmanager
def _quiet_root_logger() -> Iterator[None]:
    # quantize_dynamic logs a "consider pre-processing" hint on the root logger for every call.
    root = logging.getLogger()
    old = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(old)


def quantize_onnx_file(src: Path, dst: Path, *, per_channel: bool = False,
                       ops: tuple[str, ...] = QUANTIZABLE) -> Path:
    """Dynamic int8 quantization of the ONNX file ``src`` into ``dst``.

    Raises UnsupportedModelError naming the graph's operators when none is quantizable,
    or when the graph is already quantized.
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    graph_ops = sorted({n.op_type for n in onnx.load(str(src), load_external_data=False).graph.node})
    done = [o for o in graph_ops if o in QUANTIZED]
    if done:
        raise UnsupportedModelError(f"The ONNX model is already quantized (it has {', '.join(done)}).")
    if not any(o in ops for o in graph_ops):
        raise UnsupportedModelError(
            f"Dynamic int8 quantization was asked for the operators {', '.join(ops)}; this model has none "
            f"(its operators: {', '.join(graph_ops)}), so nothing would be quantized."
        )
    try:
        with _quiet_root_logger():
            # Signed int8 weights: on AVX-512 VNNI CPUs ORT runs u8 activations × s8 weights natively.
            quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, per_channel=per_channel,
                             op_types_to_quantize=list(ops))
    except Exception as exc:  # ORT raises plain Exceptions naming the node it could not handle
        raise UnsupportedModelError(f"ONNX Runtime quantization failed: {exc}") from None
    return dst


@register_step(Quantize)
def _quantize(model: BaseModel, cfg: Quantize, ctx: StepContext) -> BaseModel:
    from ..models.onnx_model import OnnxModel, export_onnx
    from ..models.torch_model import TorchModel

    tag = uuid.uuid4().hex[:8]
    output: str
    if isinstance(model, TorchModel):
        # Eval mode: dropout is not exported; the standardization is part of the graph.
        try:
            src = export_onnx(model, ctx.work_dir / f"fp32-{tag}.onnx")
        except UnsupportedModelError as exc:
            # torch appends the whole TorchScript graph to the message; its first line names the operator.
            first = str(exc).strip().splitlines()[0]
            raise UnsupportedModelError(
                f"The 'quantize' step exports the model to ONNX first, and that failed: {first}"
            ) from None
        output = model.output_kind
    elif isinstance(model, OnnxModel):
        src, output = model.path, model.output_kind
    else:
        raise UnsupportedModelError(
            f"The 'quantize' step needs a torch or ONNX model; got a {model.kind} model. "
            "Use a 'distill' step to train a torch student from it first."
        )
    dst = quantize_onnx_file(Path(src), ctx.work_dir / f"int8-{tag}.onnx", per_channel=cfg.per_channel,
                             ops=cfg.ops)
    ctx.note(f"int8 ONNX file {dst.name}: {dst.stat().st_size} bytes (fp32 export {Path(src).stat().st_size})")
    return OnnxModel(dst, task=model.task, input_shape=model.input_shape, output=output,
                     threads=cfg.threads or ctx.threads, feature_names=model.feature_names,
                     output_names=model.output_names, metadata=dict(model.metadata))
