"""What an ONNX file holds, learned without running it (and refused when it cannot be bounded).

Running a graph to learn its output width lets a 200-byte file allocate gigabytes
(``ConstantOfShape([30000, 30000])``) or hang (a ``Loop`` of 10**12 iterations). Here the
graph is only *read*: ``onnx.load`` without external data, the declared inputs/outputs,
and ``onnx.shape_inference`` for every intermediate tensor. Refused unless the user opts in:

- control flow (``Loop``, ``Scan``, ``If``, ``SequenceMap``): its cost is unknown until run
  (``allow_control_flow=True`` accepts it);
- operators outside the standard, ``ai.onnx.ml`` and ONNX Runtime (``com.microsoft``) domains.

Always refused: external data (a tensor's bytes read from another path, e.g. ``/etc/passwd``),
initializers whose declared size disagrees with their bytes, any tensor over
``limits.MAX_TENSOR_ELEMENTS`` (batch dimension counted as 1), tensors made by a
size-creating operator (``ConstantOfShape``, ``Expand``, ``Tile``, …) whose shape is not
known before running, inputs over ``limits.MAX_FEATURES`` and files over
``limits.MAX_MODEL_FILE_BYTES``.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

from ..errors import ModelFormatError, short_repr
from ..limits import cap, raise_hint

__all__ = ["CONTROL_FLOW_OPS", "OnnxSignature", "inspect_onnx"]

CONTROL_FLOW_OPS = frozenset({"Loop", "Scan", "If", "SequenceMap"})
#: Operators whose output size comes from a tensor's *values*: their shape must be known statically.
SIZE_CREATING_OPS = frozenset({
    "ConstantOfShape", "Expand", "Tile", "Range", "Resize", "Upsample", "Pad", "OneHot", "RandomNormal",
    "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial", "EyeLike", "CenterCropPad",
    "NonMaxSuppression", "StringSplit", "Col2Im", "SplitToSequence", "SequenceConstruct", "ConcatFromSequence",
})
_DOMAINS = frozenset({"", "ai.onnx", "ai.onnx.ml", "com.microsoft"})
_PROB_OPS = frozenset({"Softmax", "Sigmoid"})
_PASS_THROUGH = frozenset({"Identity", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Cast"})


@dataclasses.dataclass(frozen=True)
class OnnxSignature:
    """What the graph declares: its input, the explained output and how that output is produced."""

    input_name: str
    input_dims: tuple[int | None, ...]  # without the batch dimension; None where not fixed
    output_width: int | None  # per-row width of the last floating-point output, when static
    output_op: str  # the operator producing that output (Softmax → probabilities)


def _fail(path: Path, what: str) -> ModelFormatError:
    return ModelFormatError(f"The ONNX file {str(path)!r} is refused: {what}")


def inspect_onnx(path: Path, *, allow_control_flow: bool = False) -> OnnxSignature:
    """Read and check ``path`` statically; never creates an inference session."""
    import onnx

    size = path.stat().st_size
    if size > cap("MAX_MODEL_FILE_BYTES"):
        raise _fail(path, f"it is {size:,} bytes. {raise_hint('MAX_MODEL_FILE_BYTES')}")
    try:
        model = onnx.load_model_from_string(path.read_bytes())
    except Exception as exc:  # protobuf DecodeError and friends
        raise ModelFormatError(f"The file {str(path)!r} is not an ONNX model ({short_repr(str(exc))}).") from None
    graphs = _all_graphs(model, path)
    total = 0
    for g in graphs:
        for node in g.node:
            _check_node(node, path, allow_control_flow)
        for t in _tensors(g):
            total += _check_tensor(t, path)
    for fn in model.functions:
        for node in fn.node:
            _check_node(node, path, allow_control_flow)
    if total > cap("MAX_MODEL_PARAMETERS"):
        raise _fail(path, f"its initializers hold {total:,} values. {raise_hint('MAX_MODEL_PARAMETERS')}")
    try:
        inferred = onnx.shape_inference.infer_shapes(model, strict_mode=False, data_prop=True)
    except Exception as exc:
        raise _fail(path, f"its shapes cannot be inferred ({short_repr(str(exc))}).") from None
    return _signature(inferred, path)


def _all_graphs(model: Any, path: Path) -> list[Any]:
    """The main graph and every subgraph (If/Loop/Scan bodies), iteratively."""
    from onnx import AttributeProto

    out, stack = [], [(model.graph, 0)]
    while stack:
        g, depth = stack.pop()
        if depth > cap("MAX_NESTING"):
            raise _fail(path, "its subgraphs are nested too deeply.")
        out.append(g)
        for node in g.node:
            for a in node.attribute:
                if a.type == AttributeProto.GRAPH:
                    stack.append((a.g, depth + 1))
                elif a.type == AttributeProto.GRAPHS:
                    stack.extend((sub, depth + 1) for sub in a.graphs)
    return out


def _check_node(node: Any, path: Path, allow_control_flow: bool) -> None:
    if node.domain not in _DOMAINS:
        raise _fail(path, f"operator {short_repr(node.op_type)} comes from the custom domain {short_repr(node.domain)} "
                          "(it would need a native library).")
    if node.op_type in CONTROL_FLOW_OPS and not allow_control_flow:
        raise _fail(path, f"it holds a {node.op_type} node (control flow; its cost is unknown until the graph runs). "
                          "If you trust this file, pass allow_control_flow=True.")


def _tensors(g: Any) -> list[Any]:
    from onnx import AttributeProto

    ts = list(g.initializer)
    ts += [s.values for s in g.sparse_initializer]
    for node in g.node:
        for a in node.attribute:
            if a.type == AttributeProto.TENSOR:
                ts.append(a.t)
            elif a.type == AttributeProto.TENSORS:
                ts.extend(a.tensors)
            elif a.type == AttributeProto.SPARSE_TENSOR:
                ts.append(a.sparse_tensor.values)
    return ts


def _check_tensor(t: Any, path: Path) -> int:
    """Refuse external data and declared sizes the tensor's bytes do not hold; return its element count."""
    from onnx import TensorProto, helper

    name = short_repr(t.name)
    if t.data_location == TensorProto.EXTERNAL or len(t.external_data):
        where = next((e.value for e in t.external_data if e.key == "location"), "?")
        raise _fail(path, f"tensor {name} reads its data from another file ({short_repr(where)}); leanlens loads "
                          "self-contained ONNX files only (onnx.save(model, path, save_as_external_data=False)).")
    if any(d < 0 for d in t.dims):
        raise _fail(path, f"tensor {name} declares a negative dimension {list(t.dims)}.")
    n = math.prod(t.dims)
    if n > cap("MAX_TENSOR_ELEMENTS"):
        raise _fail(path, f"tensor {name} declares {n:,} elements. {raise_hint('MAX_TENSOR_ELEMENTS')}")
    if t.data_type == TensorProto.STRING:
        held = len(t.string_data)
    elif t.HasField("raw_data"):
        try:
            itemsize = helper.tensor_dtype_to_np_dtype(t.data_type).itemsize
        except Exception:
            raise _fail(path, f"tensor {name} has an unknown data type {t.data_type}.") from None
        held = len(t.raw_data) // itemsize if itemsize else n
    else:
        field = helper.tensor_dtype_to_field(t.data_type) if t.data_type else None
        held = len(getattr(t, field)) if field else 0
        if t.data_type in (TensorProto.COMPLEX64, TensorProto.COMPLEX128):
            held //= 2
        if t.data_type in (TensorProto.FLOAT16, TensorProto.BFLOAT16, TensorProto.BOOL, TensorProto.INT8,
                           TensorProto.UINT8, TensorProto.INT16, TensorProto.UINT16) or field is None:
            held = n if held >= n else held
    if held != n:
        raise _fail(path, f"tensor {name} declares shape {list(t.dims)} ({n:,} elements) but holds {held:,}.")
    return n


def _dims(type_proto: Any) -> list[int | str | None] | None:
    """A tensor type's dims: int (fixed), str (symbolic), None (unknown); None if the rank is unknown."""
    tt = type_proto.tensor_type
    if not tt.HasField("shape"):
        return None
    out: list[int | str | None] = []
    for d in tt.shape.dim:
        out.append(d.dim_value if d.HasField("dim_value") else d.dim_param if d.HasField("dim_param") else None)
    return out


def _signature(model: Any, path: Path) -> OnnxSignature:
    g = model.graph
    init_names = {t.name for t in g.initializer}
    inputs = [i for i in g.input if i.name not in init_names]
    if not inputs:
        raise _fail(path, "it has no input.")
    symbols = set()
    for i in inputs:
        for d in _dims(i.type) or []:
            if isinstance(d, str):
                symbols.add(d)
    producers = {o: n for n in g.node for o in n.output}
    limit = cap("MAX_TENSOR_ELEMENTS")
    for vi in list(g.value_info) + list(g.output) + list(inputs):
        dims = _dims(vi.type)
        node = producers.get(vi.name)
        if dims is None or any(d is None or (isinstance(d, str) and d not in symbols) for d in dims):
            if node is not None and node.op_type in SIZE_CREATING_OPS:
                raise _fail(path, f"the size of {short_repr(vi.name)} (made by {node.op_type}) depends on values known "
                                  "only when the graph runs.")
            continue
        n = math.prod(d if isinstance(d, int) else 1 for d in dims)
        if n > limit:
            raise _fail(path, f"tensor {short_repr(vi.name)} has shape {dims} ({n:,} elements per row). "
                              f"{raise_hint('MAX_TENSOR_ELEMENTS')}")
    # Size-creating nodes whose outputs shape inference could not describe at all.
    described = {vi.name for vi in list(g.value_info) + list(g.output)}
    for node in g.node:
        if node.op_type in SIZE_CREATING_OPS and any(o and o not in described for o in node.output):
            raise _fail(path, f"the size of the {node.op_type} output cannot be known before the graph runs.")
    inp = inputs[0]
    in_dims = _dims(inp.type) or []
    fixed = tuple(d if isinstance(d, int) else None for d in in_dims[1:])
    if all(isinstance(d, int) for d in fixed) and math.prod(d for d in fixed if d) > cap("MAX_FEATURES"):
        raise _fail(path, f"its input {short_repr(inp.name)} declares {math.prod(d for d in fixed if d):,} features "
                          f"per row. {raise_hint('MAX_FEATURES')}")
    from onnx import TensorProto

    floats = {TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.FLOAT16, TensorProto.BFLOAT16}
    outs = [o for o in g.output if o.type.tensor_type.elem_type in floats]
    if not outs:
        raise ModelFormatError(f"The ONNX model {str(path)!r} has no floating-point output.")
    out = outs[-1]
    odims = _dims(out.type)
    width = None
    if odims is not None and len(odims) >= 1 and all(isinstance(d, int) for d in odims[1:]):
        width = math.prod(int(d) for d in odims[1:] if isinstance(d, int)) if len(odims) > 1 else 1
    op, name = "", out.name
    while name in producers:
        node = producers[name]
        op = node.op_type
        if op not in _PASS_THROUGH or not node.input:
            break
        name = node.input[0]
    return OnnxSignature(input_name=inp.name, input_dims=fixed, output_width=width, output_op=op)
