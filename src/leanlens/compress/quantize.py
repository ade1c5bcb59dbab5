"""``Quantize``: int8 through ONNX Runtime — static (calibrated QDQ, the default) or dynamic.

Static mode calibrates activation ranges on training rows, writes a QDQ graph with
per-channel int8 weights, lets ONNX Runtime fuse it into integer kernels (``QGemm``,
``QLinearConv``) once, and saves that optimized graph: no activation is requantized at run
time. Relu, Clip, max-pooling and reshapes between layers stay int8 (so the integer kernels
chain), and the graph's outputs stay fp32 (the last kernel's accumulator, not 8-bit logits).
Dynamic mode stores int8 weights and quantizes activations on the fly.

Before export, a classifier's output affine (``z · 1 + 0``) is dropped and a regressor's is
folded into the last Linear layer, and the no-op ``Flatten`` of a 1-D input is left out, so
the graph holds no elementwise tail that int8 would have to requantize.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import shutil
import tempfile
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InvalidInputError, UnsupportedModelError
from .plan import Quantize, register_step

if TYPE_CHECKING:
    from ..models.base import BaseModel
    from ..models.torch_model import TorchModel
    from .api import StepContext

__all__ = ["calibration_array", "quantize_onnx_file", "torch_eager_quantization_available"]

#: ONNX operators int8 quantization turns into integer kernels.
QUANTIZABLE = ("MatMul", "Gemm", "Conv")
#: Operators between quantized layers that static mode keeps in int8 too: without them each
#: ``Relu`` (or pool, reshape) sits between a DequantizeLinear and a QuantizeLinear in fp32,
#: and ONNX Runtime cannot chain the integer kernels (``QGemm → QGemm``); with them the
#: quantizer drops Relu/Clip into the preceding layer's u8 range.
PASS_THROUGH = ("Relu", "Clip", "MaxPool", "Flatten", "Reshape")
#: Operators that show a graph is already quantized.
QUANTIZED = ("MatMulInteger", "ConvInteger", "DynamicQuantizeLinear", "QLinearMatMul", "QLinearConv",
             "DynamicQuantizeMatMul", "MatMulIntegerToFloat", "QuantizeLinear", "DequantizeLinear", "QGemm")
#: Temporary folders of quantized models made by compress() carry this prefix.
TEMP_PREFIX = "leanlens-compress-"


def torch_eager_quantization_available() -> bool:
    """Whether the installed torch still has eager-mode ``torch.ao.quantization.quantize_dynamic``."""
    try:
        import torch.ao.quantization as q
    except ImportError:
        return False
    return callable(getattr(q, "quantize_dynamic", None))


@contextlib.contextmanager
def _quiet_root_logger() -> Iterator[None]:
    # onnxruntime.quantization logs a "consider pre-processing" hint on the root logger for every call.
    root = logging.getLogger()
    old = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(old)


def calibration_array(rows: Any, n_features: int, input_shape: tuple[int, ...]) -> np.ndarray:
    """Explicit calibration rows as float32 ``(n, *input_shape)``; a clear error on NaN or a wrong width."""
    try:
        arr = np.asarray(rows, dtype=np.float32)
    except (TypeError, ValueError):
        raise InvalidInputError(
            f"The 'calibration_rows' parameter of Quantize must be an int or numeric rows. Got {type(rows).__name__}."
        ) from None
    if arr.ndim < 2 or len(arr) == 0:
        raise InvalidInputError(
            f"The 'calibration_rows' parameter of Quantize must be a 2-D array (n_rows, {n_features}). "
            f"Got shape {arr.shape}."
        )
    width = int(np.prod(arr.shape[1:]))
    if width != n_features:
        raise InvalidInputError(
            f"The 'calibration_rows' parameter of Quantize has {width} features per row; the model takes {n_features}."
        )
    flat = arr.reshape(len(arr), -1)
    bad = np.nonzero(~np.isfinite(flat).all(axis=1))[0]
    if len(bad):
        raise InvalidInputError(
            f"The 'calibration_rows' parameter of Quantize has NaN or infinite values in {len(bad)} rows "
            f"(first: row {int(bad[0])})."
        )
    return np.ascontiguousarray(arr.reshape((len(arr), *input_shape)))


class _Rows:
    """onnxruntime's CalibrationDataReader over an array, in batches of 64 rows."""

    def __init__(self, name: str, X: np.ndarray, batch: int = 64) -> None:
        self._it = iter([{name: X[i:i + batch]} for i in range(0, len(X), batch)])

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._it, None)

    def rewind(self) -> None:  # not needed by MinMax calibration
        pass


def _graph_ops(path: Path) -> list[str]:
    import onnx

    return sorted({n.op_type for n in onnx.load(str(path), load_external_data=False).graph.node})


def _float_outputs(path: Path) -> None:
    """Drop the QuantizeLinear → DequantizeLinear pair in front of each graph output, in place.

    The quantizer rounds the graph's outputs to 8 bits (the digits MLP's logits took 217
    distinct values on 360 test rows); without the pair the last integer kernel writes its
    fp32 accumulator result, as dynamic mode does, which explanations of the model need.
    """
    import onnx

    model = onnx.load(str(path))
    graph = model.graph
    producer = {out: node for node in graph.node for out in node.output}
    consumers: dict[str, int] = {}
    for node in graph.node:
        for name in node.input:
            consumers[name] = consumers.get(name, 0) + 1
    for out in graph.output:
        dq = producer.get(out.name)
        if dq is None or dq.op_type != "DequantizeLinear":
            continue
        q = producer.get(dq.input[0])
        if q is None or q.op_type != "QuantizeLinear" or consumers.get(dq.input[0], 0) != 1:
            continue
        src = producer.get(q.input[0])
        if src is None or consumers.get(q.input[0], 0) != 1:
            continue
        outs = list(src.output)
        src.output[outs.index(q.input[0])] = out.name
        graph.node.remove(dq)
        graph.node.remove(q)
    used = {name for node in graph.node for name in node.input}
    for init in [i for i in graph.initializer if i.name not in used]:
        graph.initializer.remove(init)  # the dropped pair's scale and zero point
    onnx.save(model, str(path))


def append_softmax(path: Path) -> bool:
    """Add a second graph output, ``probabilities`` = ``Softmax(axis=-1)`` of the single rank-2
    output (the logits, which stay the first output), to the ONNX file ``path``, in place.

    A classifier's int8 graph then returns probabilities itself, read by :class:`OnnxModel`
    (its last floating-point output): ONNX Runtime's softmax on (256, 10) costs a few µs, the
    same in numpy 20–40 µs (reductions along rows of 10). Returns False (file unchanged) when
    the graph has several outputs, or an output whose rank is not 2 or whose width is not a
    fixed number ≥ 2 (one logit: a sigmoid, left to the adapter).
    """
    import onnx
    from onnx import TensorProto, helper

    model = onnx.load(str(path))
    graph = model.graph
    dims = graph.output[0].type.tensor_type.shape.dim if len(graph.output) == 1 else []
    if len(dims) != 2 or dims[1].dim_value < 2:
        return False
    logits = graph.output[0]
    if logits.type.tensor_type.elem_type != TensorProto.FLOAT:
        return False
    taken = {o for n in graph.node for o in n.output} | {i.name for i in graph.input} | {i.name for i in graph.initializer}
    name = next(n for n in ("probabilities", *(f"probabilities_{i}" for i in range(1, len(taken) + 2))) if n not in taken)
    graph.node.append(helper.make_node("Softmax", [logits.name], [name], axis=-1, name="leanlens_softmax"))
    batch = dims[0].dim_param or (dims[0].dim_value or None)
    graph.output.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, [batch, dims[1].dim_value]))
    onnx.save(model, str(path))
    return True


def _optimize_once(src: Path, dst: Path) -> Path:
    """Let ONNX Runtime fuse the graph (QDQ → QGemm/QLinearConv …) and save the result.

    ORT_ENABLE_EXTENDED: the fusions are portable (the NCHWc layout of ORT_ENABLE_ALL is
    tied to the CPU it was made on); each session still applies level ALL on top.
    """
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    opts.optimized_model_filepath = str(dst)
    opts.intra_op_num_threads = 1
    ort.InferenceSession(str(src), sess_options=opts, providers=["CPUExecutionProvider"])
    return dst


def quantize_onnx_file(src: Path, dst: Path, *, mode: str = "static", per_channel: bool = True,
                       ops: tuple[str, ...] = QUANTIZABLE, calibration: np.ndarray | None = None) -> Path:
    """int8 quantization of the ONNX file ``src`` into ``dst`` (static QDQ or dynamic).

    Static mode needs ``calibration`` rows (float32, the graph's input shape): u8 activations
    (asymmetric, min/max over those rows) × s8 weights, the pairing ONNX Runtime's x86
    integer kernels take natively; the graph is optimized once and saved optimized.

    Raises UnsupportedModelError naming the graph's operators when none is quantizable,
    or when the graph is already quantized.
    """
    import onnx
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_dynamic, quantize_static

    graph_ops = _graph_ops(src)
    done = [o for o in graph_ops if o in QUANTIZED]
    if done:
        raise UnsupportedModelError(f"The ONNX model is already quantized (it has {', '.join(done)}).")
    if not any(o in ops for o in graph_ops):
        raise UnsupportedModelError(
            f"int8 quantization was asked for the operators {', '.join(ops)}; this model has none "
            f"(its operators: {', '.join(graph_ops)}), so nothing would be quantized."
        )
    try:
        with _quiet_root_logger():
            if mode == "dynamic":
                quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, per_channel=per_channel,
                                 op_types_to_quantize=list(ops))
                return dst
            if calibration is None:
                raise InvalidInputError("Static int8 quantization needs calibration rows.")
            name = onnx.load(str(src), load_external_data=False).graph.input[0].name
            qdq = dst.with_name(dst.stem + "-qdq.onnx")
            quantize_static(str(src), str(qdq), _Rows(name, calibration), quant_format=QuantFormat.QDQ,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                            per_channel=per_channel, op_types_to_quantize=[*ops, *PASS_THROUGH])
            try:
                _float_outputs(qdq)
                _optimize_once(qdq, dst)
            finally:
                qdq.unlink(missing_ok=True)
    except InvalidInputError:
        raise
    except Exception as exc:  # ORT raises plain Exceptions naming the node it could not handle
        raise UnsupportedModelError(f"ONNX Runtime quantization failed: {exc}") from None
    return dst


def export_ready(model: TorchModel) -> TorchModel:
    """A copy of ``model`` whose graph has no elementwise tail and no no-op Flatten.

    A leanlens network computes ``body((x − mean) / scale) · out_scale + out_mean``. The
    output affine is folded into the last Linear layer, and the input mean into the first
    Linear layer's bias (exact up to float rounding); any other module is returned unchanged.
    """
    import torch
    from torch import nn

    from ..models.architectures import LeanlensNet
    from ..models.torch_model import TorchModel

    module: Any = model.module
    if not isinstance(module, LeanlensNet) or not isinstance(module.body, nn.Sequential):
        return model
    layers = list(module.body)
    if not layers or not isinstance(layers[-1], nn.Linear):
        return model
    last = copy.deepcopy(layers[-1])
    with torch.no_grad():
        last.weight.mul_(module.out_scale[:, None])
        if last.bias is None:
            last.bias = nn.Parameter(torch.zeros(last.out_features))
        last.bias.mul_(module.out_scale).add_(module.out_mean)
    if len(model.input_shape) == 1 and isinstance(layers[0], nn.Flatten):
        layers = layers[1:]
    modules = [*layers[:-1], last]
    mean, scale = module.mean.detach().clone(), module.scale.detach().clone()
    # (x − mean) / scale feeding a Linear layer W·+b is W·(x / scale) + (b − W·(mean / scale)): the
    # mean folds exactly into the bias, and one elementwise Mul is left of the Sub and Div (~5 % of
    # the int8 digits MLP's time). The 1/scale stays outside W: folded in, it would spread the
    # columns of a per-channel int8 weight over the features' units (breast cancer's: 1e-2 to 1e3).
    fold = isinstance(modules[0], nn.Linear) and mean.numel() == modules[0].in_features == scale.numel()
    if fold:
        first: nn.Linear = modules[0] if modules[0] is last else copy.deepcopy(modules[0])  # type: ignore[assignment]
        with torch.no_grad():
            if first.bias is None:
                first.bias = nn.Parameter(torch.zeros(first.out_features))
            first.bias.sub_(first.weight @ (mean.reshape(-1) / scale.reshape(-1)))
        modules[0] = first
    body = nn.Sequential(*modules)

    class _Standardized(nn.Module):
        mean: torch.Tensor
        scale: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.body = body
            self.register_buffer("mean", mean)
            self.register_buffer("scale", scale if not fold else 1.0 / scale)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if fold:
                return self.body(x * self.scale)  # the mean is in the first layer's bias; scale holds 1/scale
            return self.body((x - self.mean) / self.scale)

    return TorchModel(_Standardized().eval(), input_shape=model.input_shape, task=model.task,
                      output=model.output_kind, feature_names=model.feature_names,
                      output_names=model.output_names)


def _calibration(model: BaseModel, cfg: Quantize, ctx: StepContext) -> np.ndarray:
    rows = cfg.calibration_rows
    if not isinstance(rows, int):
        return calibration_array(rows, model.n_features, model.input_shape)
    X = ctx.data.X_train
    n = min(rows, len(X))
    idx = np.sort(np.random.default_rng(ctx.seed()).choice(len(X), size=n, replace=False))
    return np.ascontiguousarray(X[idx].reshape((n, *model.input_shape)), dtype=np.float32)


def _thread_rows(X: np.ndarray, input_shape: tuple[int, ...]) -> np.ndarray:
    """``THREAD_CHOICE_BATCH`` rows of ``X`` (repeated when there are fewer), shaped for the model."""
    from ..models.onnx_model import THREAD_CHOICE_BATCH

    rows = np.resize(np.asarray(X, dtype=np.float32), (THREAD_CHOICE_BATCH, *np.shape(X)[1:]))
    return np.ascontiguousarray(rows.reshape((THREAD_CHOICE_BATCH, *input_shape)))


def _remove(folder: str) -> None:
    shutil.rmtree(folder, ignore_errors=True)


@register_step(Quantize)
def _quantize(model: BaseModel, cfg: Quantize, ctx: StepContext) -> BaseModel:
    from ..models.onnx_model import THREAD_CHOICE_BATCH, THREADS_KEY, OnnxModel, export_onnx
    from ..models.torch_model import TorchModel

    if not isinstance(model, TorchModel | OnnxModel):
        raise UnsupportedModelError(
            f"The 'quantize' step needs a torch or ONNX model; got a {model.kind} model. "
            "Use a 'distill' step to train a torch student from it first."
        )
    calibration = _calibration(model, cfg, ctx) if cfg.mode == "static" else None
    # A folder of our own unless the caller named one: it lives as long as the model does.
    own = ctx.work_dir is None
    folder = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX)) if own else Path(ctx.work_dir)  # type: ignore[arg-type]
    try:
        src: Path
        output: str
        if isinstance(model, TorchModel):
            try:
                src = export_onnx(export_ready(model), folder / "fp32.onnx")
            except UnsupportedModelError as exc:
                # torch appends the whole TorchScript graph to the message; its first line names the operator.
                first = str(exc).strip().splitlines()[0]
                raise UnsupportedModelError(
                    f"The 'quantize' step exports the model to ONNX first, and that failed: {first}"
                ) from None
            output = model.output_kind
        else:
            src, output = Path(model.path), model.output_kind
        dst = folder / f"int8-{cfg.mode}-{ctx.seed():x}.onnx"
        quantize_onnx_file(src, dst, mode=cfg.mode, per_channel=cfg.per_channel, ops=cfg.operators,
                           calibration=calibration)
        if output == "logits" and model.task != "regression" and append_softmax(dst):
            output = "probabilities"  # the graph's own softmax: no numpy pass per call
        ctx.note(f"int8 ({cfg.mode}) ONNX graph: {dst.stat().st_size} bytes (fp32 export {src.stat().st_size})")
        if src.parent == folder:
            src.unlink(missing_ok=True)
        q = OnnxModel(dst, task=model.task, input_shape=model.input_shape, output=output,
                      threads=cfg.threads or "auto", max_threads=None if cfg.threads else ctx.threads,
                      feature_names=model.feature_names, output_names=model.output_names,
                      metadata={k: v for k, v in model.metadata.items() if k != THREADS_KEY})
        if cfg.threads is None:
            chosen = q.choose_threads(_thread_rows(ctx.data.X_train, model.input_shape), source="training rows")
            ms, timings = q.metadata[THREADS_KEY]["ms"], q.metadata[THREADS_KEY]["timings"]
            timed = ", ".join(f"{n} thread(s) {t:.3f} ms" for n, t in ms.items() if t is not None)
            small = q.metadata[THREADS_KEY]["small"]
            timed_one = ", ".join(f"{n} thread(s) {t:.3f} ms" for n, t in small["ms"].items() if t is not None)
            ctx.note(f"ONNX Runtime intra-op threads: {chosen} of at most {ctx.threads}"
                     + (f" (a call on {THREAD_CHOICE_BATCH} training rows, fastest of {timings} timing(s): {timed})"
                        if timed else "")
                     + f"; {small['threads']} for calls on at most {small['rows_up_to']} rows"
                     + (f" (one row: {timed_one})" if timed_one else ""))
    except BaseException:
        if own:
            _remove(str(folder))
        raise
    if own:
        weakref.finalize(q, _remove, str(folder))
    return q
