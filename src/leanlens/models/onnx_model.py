"""ONNX models run by ONNX Runtime; export of leanlens torch models to ONNX."""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._io import atomic_dir, atomic_write_bytes
from ..errors import InvalidInputError, LeanlensError, ModelFormatError, UnsupportedModelError
from .base import BaseModel, Task

if TYPE_CHECKING:
    from collections.abc import Callable

    from .torch_model import TorchModel

__all__ = ["OnnxModel", "export_onnx", "load_onnx_folder"]

FORMAT = "leanlens-onnx"
#: ONNX Runtime's names of the output types ``output()`` reads.
_FLOAT_TENSORS = ("tensor(float)", "tensor(double)", "tensor(float16)", "tensor(bfloat16)")


def _session(path: Path, threads: int | None) -> Any:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
    # ORT's pool threads busy-wait after each run by default, taking the cores from whatever runs
    # next (torch's OpenMP threads, other processes). Off: same time for the session itself at 1 and
    # 2 threads (benchmarks/compression_int8.py), and no stolen cores for the next call.
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.add_session_config_entry("session.inter_op.allow_spinning", "0")
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    try:
        return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
        raise ModelFormatError(f"ONNX Runtime could not load {str(path)!r}: {exc}") from None


class OnnxModel(BaseModel):
    """An ``.onnx`` file executed by an ONNX Runtime session.

    ``output="logits"`` applies softmax; ``"probabilities"``/``"values"`` pass through;
    ``"auto"`` reads the graph: a final Softmax/Sigmoid means probabilities.

    Loading never runs the graph: the input and output shapes are read from the file
    (see :mod:`leanlens.models.onnx_audit` for what is refused), and the ONNX Runtime
    session is created on first use. ``allow_control_flow=True`` accepts Loop/Scan/If
    nodes, whose cost cannot be known before they run; pass it only for files you trust.
    """

    kind = "onnx"

    def __init__(self, path: str | os.PathLike[str], *, task: Task | None = None, input_shape: tuple[int, ...] | None = None,
                 n_features: int | None = None, output: str = "auto", threads: int | None = None,
                 allow_control_flow: bool = False, **meta: Any) -> None:
        from ..limits import cap, raise_hint
        from .onnx_audit import inspect_onnx

        self.path = Path(path)
        if not self.path.is_file():
            raise ModelFormatError(f"The ONNX file {str(self.path)!r} does not exist.")
        self.threads = threads
        self.allow_control_flow = bool(allow_control_flow)
        self._session: Any = None
        self._out_name: str | None = None
        sig = inspect_onnx(self.path, allow_control_flow=self.allow_control_flow)
        self.input_name = sig.input_name
        if input_shape is None:
            if n_features is not None:
                input_shape = (int(n_features),)
            elif sig.input_dims and all(d is not None for d in sig.input_dims):
                input_shape = tuple(int(d) for d in sig.input_dims if d is not None)
            else:
                raise InvalidInputError(f"Cannot read the input shape of {str(self.path)!r}; pass input_shape=(…).")
        if int(np.prod(input_shape)) > cap("MAX_FEATURES"):
            raise InvalidInputError(f"input_shape {tuple(input_shape)} has too many features. {raise_hint('MAX_FEATURES')}")
        width = sig.output_width
        if width is None:
            names = meta.get("output_names")
            if names is None and task is None:
                raise InvalidInputError(
                    f"Cannot read the output width of {str(self.path)!r} from the graph (it is not fixed); "
                    "pass task=… (and output_names=… for classifiers)."
                )
            width = len(names) if names is not None else 1 if task == "regression" else 2
        if task is None:
            task = "regression" if width == 1 else "binary" if width == 2 else "multiclass"
        if output == "auto":
            output = "values" if task == "regression" else "probabilities" if sig.output_op in ("Softmax", "Sigmoid") else "logits"
        if output not in ("logits", "probabilities", "values"):
            raise InvalidInputError(f"The 'output' parameter must be 'logits', 'probabilities', 'values' or 'auto'. Got {output!r}.")
        self.output_kind = output
        if "output_names" not in meta and task != "regression":
            meta["output_names"] = tuple(str(i) for i in range(max(width, 2)))
        super().__init__(input_shape=input_shape, task=task, **meta)

    @property
    def session(self) -> Any:
        """The ONNX Runtime session, created on first use (loading a file never runs it)."""
        if self._session is None:
            self._session = _session(self.path, self.threads)
        return self._session

    def _output_name(self) -> str:
        """The graph output read: the last floating-point one (found once, from the session)."""
        if self._out_name is None:
            floats = [o.name for o in self.session.get_outputs() if str(o.type) in _FLOAT_TENSORS]
            if not floats:
                raise UnsupportedModelError(f"The ONNX model {str(self.path)!r} has no floating-point output.")
            self._out_name = floats[-1]
        return self._out_name

    def _run(self, X: np.ndarray) -> np.ndarray:
        # Only the output read is fetched; the array ONNX Runtime returns is ours to overwrite.
        out = np.asarray(self.session.run([self._output_name()], {self.input_name: X})[0])
        if out.dtype not in (np.float32, np.float64) or not out.flags.writeable:
            out = out.astype(np.float32)  # float16/bfloat16 outputs: softmax in float32
        return out.reshape(len(X), -1)

    def _output(self, X: np.ndarray) -> np.ndarray:
        z = self._run(X)
        if self.output_kind == "logits" and self.task != "regression":
            if z.shape[1] == 1:
                p = 1 / (1 + np.exp(-z.astype(np.float64)))
                return np.hstack([1 - p, p])
            # Softmax in place, in the logits' float32 (as the torch adapter's): no float64 passes.
            np.subtract(z, z.max(axis=1, keepdims=True), out=z)
            np.exp(z, out=z)
            z /= z.sum(axis=1, keepdims=True)
        return z

    def predict(self, X: Any) -> np.ndarray:
        """(n,) class indices (argmax of the logits: softmax preserves it, so it is skipped) or values."""
        if self.output_kind != "logits" or self.task == "regression":
            return super().predict(X)
        arr = self.check_X(X)
        if len(arr) == 0:
            return np.zeros(0, dtype=np.int64)
        z = self._run(arr)
        return (z[:, 0] > 0).astype(np.int64) if z.shape[1] == 1 else z.argmax(axis=1)

    def forward_fn(self, X: Any, *, threads: int | None = None) -> Callable[[], Any]:
        """One ``session.run`` on ``X`` through IO binding (input bound once: no per-call feed
        dict or copy). ``threads`` other than the model's builds a session with that many."""
        arr = self.check_X(X)
        sess = self.session if threads is None or threads == self.threads else _session(self.path, threads)
        binding = sess.io_binding()
        binding.bind_cpu_input(self.input_name, arr)
        for out in sess.get_outputs():
            binding.bind_output(out.name)

        def run() -> None:
            sess.run_with_iobinding(binding)

        run.keep = arr  # type: ignore[attr-defined]  # the bound buffer must outlive the binding
        return run

    def file_size(self) -> int:
        return self.path.stat().st_size

    def n_parameters(self, *, nonzero: bool = False) -> int:
        """Elements of the graph's initializers, without one-element tensors (scales and zero points)."""
        import onnx
        from onnx import numpy_helper

        arrays = [numpy_helper.to_array(t) for t in onnx.load(str(self.path)).graph.initializer]
        big = [a for a in arrays if a.size > 1]
        return sum(int(np.count_nonzero(a)) if nonzero else int(a.size) for a in big)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "file": str(self.path), "bytes": self.file_size()}

    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write ``model.onnx`` and ``model.json`` into the folder ``path`` (atomically)."""
        spec = {**self._spec_header(FORMAT), "output": self.output_kind, "metadata": self.metadata}
        return self._write_folder(path, spec, lambda tmp: shutil.copyfile(self.path, tmp / "model.onnx"),
                                  overwrite=overwrite)


def load_onnx_folder(folder: Path, spec: dict[str, Any], *, allow_control_flow: bool = False) -> OnnxModel:
    file = folder / "model.onnx"
    if not file.is_file():
        raise ModelFormatError(f"The model folder {str(folder)!r} has model.json but no model.onnx.")
    try:
        return OnnxModel(
            file, task=spec["task"], input_shape=tuple(spec["input_shape"]), output=spec.get("output", "auto"),
            feature_names=tuple(spec["feature_names"]), output_names=tuple(spec["output_names"]),
            metadata=spec.get("metadata"), allow_control_flow=allow_control_flow,
        )
    except KeyError as exc:
        raise ModelFormatError(f"The model folder {str(folder)!r} has an incomplete model.json (missing {exc}).") from None
    except LeanlensError:
        raise
    except (TypeError, ValueError) as exc:
        raise ModelFormatError(f"The model folder {str(folder)!r}: model.json has a field of the wrong type: {exc}") from None


def export_onnx(model: TorchModel, path: str | os.PathLike[str], *, opset: int = 17) -> Path:
    """Export a torch model (raw inputs → logits/values, preprocessing included) to an ONNX file.

    The batch dimension is dynamic. The file is written atomically.
    """
    import io

    import torch

    from .torch_model import TorchModel

    if not isinstance(model, TorchModel):
        raise UnsupportedModelError(f"export_onnx() needs a torch model. Got a {model.kind} model.")
    module = model.module.eval()
    dummy = torch.zeros((2, *model.input_shape))
    buf = io.BytesIO()
    # The TorchScript exporter is deprecated in favour of torch.export, but on these
    # Sequential MLP/CNNs it gives the same graph in ~20 ms instead of ~2 s and prints
    # nothing; torch is pinned (2.13), so we keep it and silence the notice.
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.onnx.export(
                module, (dummy,), buf,  # type: ignore[arg-type]
                input_names=["input"], output_names=["output"],
                dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}}, opset_version=opset, dynamo=False,
            )
    except Exception as exc:
        raise UnsupportedModelError(f"ONNX export failed (an operator may be unsupported): {exc}") from None
    return atomic_write_bytes(path, buf.getvalue())


def onnx_from_torch(model: TorchModel, folder: str | os.PathLike[str], *, overwrite: bool = False,
                    threads: int | None = None) -> OnnxModel:
    """Export ``model`` into ``folder/model.onnx`` and return it as an ONNX-backed Model."""
    with atomic_dir(folder, overwrite=overwrite, param="folder") as tmp:
        export_onnx(model, tmp / "model.onnx")
    return OnnxModel(Path(folder) / "model.onnx", task=model.task, input_shape=model.input_shape,
                     output=model.output_kind, threads=threads, feature_names=model.feature_names,
                     output_names=model.output_names, metadata=dict(model.metadata))
