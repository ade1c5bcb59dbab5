"""The Model protocol, a shared base class, and ``as_model()`` (a registry keyed by type)."""

from __future__ import annotations

import abc
import functools
import math
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

from .._validation import POSITIVE_INT, check_param
from .._version import __version__
from ..errors import InvalidInputError, UnsupportedModelError

__all__ = ["BaseModel", "InputAffine", "Model", "ModelKind", "as_model", "folder_bytes", "register_adapter", "subset_sums"]

ModelKind = Literal["torch", "sklearn", "onnx", "callable"]
Task = Literal["binary", "multiclass", "regression"]


@runtime_checkable
class Model(Protocol):
    """What every leanlens model offers, whatever runs it."""

    kind: str
    task: str
    feature_names: tuple[str, ...]
    output_names: tuple[str, ...]
    input_shape: tuple[int, ...]

    @property
    def n_features(self) -> int: ...

    def output(self, X: Any) -> np.ndarray: ...

    def predict(self, X: Any) -> np.ndarray: ...

    def save(self, path: str | Path, *, overwrite: bool = False) -> Path: ...


class BaseModel(abc.ABC):
    """Shared behaviour: input validation, ``predict``/``predict_proba`` from ``output``.

    Subclasses implement ``_output(X)`` on a validated float32 array of shape
    ``(n, *input_shape)`` and return ``(n, k)`` (probabilities for classifiers,
    values for regression).
    """

    kind: str = "base"

    def __init__(
        self,
        *,
        input_shape: tuple[int, ...],
        task: Task,
        feature_names: tuple[str, ...] | None = None,
        output_names: tuple[str, ...] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        if task not in ("binary", "multiclass", "regression"):
            raise InvalidInputError(
                f"The 'task' parameter must be 'binary', 'multiclass' or 'regression'. Got {task!r} instead."
            )
        self.input_shape = tuple(int(s) for s in input_shape)
        d = int(np.prod(self.input_shape))
        self.task: Task = task
        self.feature_names = tuple(feature_names) if feature_names is not None else tuple(f"x{i}" for i in range(d))
        if len(self.feature_names) != d:
            raise InvalidInputError(
                f"The 'feature_names' parameter needs {d} names for input shape {self.input_shape}. "
                f"Got {len(self.feature_names)}."
            )
        if output_names is None:
            output_names = ("value",) if task == "regression" else ("0", "1")
        self.output_names = tuple(str(o) for o in output_names)
        self.metadata: dict[str, Any] = dict(metadata or {})

    # -- shape facts -------------------------------------------------------------
    @property
    def n_features(self) -> int:
        return math.prod(self.input_shape)  # math.prod: np.prod of a tuple costs ~5 µs per call

    @property
    def n_outputs(self) -> int:
        return len(self.output_names)

    @property
    def is_classifier(self) -> bool:
        return self.task != "regression"

    # -- validation --------------------------------------------------------------
    def check_X(self, X: Any, *, param: str = "X") -> np.ndarray:
        """``X`` as float32 of shape ``(n, *input_shape)``; a clear error otherwise."""
        if isinstance(X, np.ndarray) and X.dtype == np.float32:
            arr = X  # the common case of a hot path: no conversion, no copy
        else:
            try:
                with np.errstate(over="ignore"):  # an overflow to inf is reported below, naming the column
                    arr = np.asarray(X, dtype=np.float32)
            except (TypeError, ValueError):
                raise InvalidInputError(f"The {param!r} parameter must be a numeric array. Got {type(X).__name__}.") from None
        if arr.ndim == 1:
            raise InvalidInputError(
                f"The {param!r} parameter must be 2-D (n_samples, {self.n_features}); got a 1-D array of "
                f"{arr.shape[0]} values. Use X.reshape(1, -1) for a single row."
            )
        per_row = math.prod(arr.shape[1:])
        if per_row != self.n_features:
            raise InvalidInputError(
                f"The {param!r} parameter has {per_row} features per row; the model expects "
                f"{self.n_features} (input shape {self.input_shape})."
            )
        # One pass when every value is finite (the common case); the fill and the error only otherwise.
        if not np.isfinite(arr).all():
            if self.metadata.get("impute") and np.isnan(arr).any():
                arr = self._fill_missing(arr)
            finite = np.isfinite(arr.reshape(len(arr), -1))
            bad = np.nonzero(~np.all(finite, axis=1))[0]
            if len(bad):
                col = int(np.flatnonzero(~finite[bad[0]])[0])
                name = self.feature_names[col] if col < len(self.feature_names) else f"x{col}"
                raise InvalidInputError(
                    f"The {param!r} parameter has NaN or infinite values (after the cast to float32, which turns "
                    f"|x| > 3.4e38 into inf) in {len(bad)} rows (first: row {int(bad[0])}, column {name!r})."
                )
        return np.ascontiguousarray(arr.reshape((len(arr), *self.input_shape)))

    def _fill_missing(self, arr: np.ndarray) -> np.ndarray:
        """NaN → the per-column fill values recorded at training (``metadata["impute"]["fill"]``,
        a SimpleImputer fitted on the training split), so raw rows are filled as in training."""
        fill_map = (self.metadata.get("impute") or {}).get("fill")
        if not isinstance(fill_map, dict) or set(fill_map) != set(self.feature_names):
            raise InvalidInputError(
                "The model records imputation without a fill value for every feature "
                "(metadata['impute']['fill']); it cannot fill missing values."
            )
        try:
            fill = np.asarray([float(fill_map[n]) for n in self.feature_names], dtype=np.float32)
        except (TypeError, ValueError):
            raise InvalidInputError("The model's recorded fill values (metadata['impute']['fill']) are not numbers.") from None
        flat = arr.reshape(len(arr), -1)
        return np.where(np.isnan(flat), fill[None, :], flat).reshape(arr.shape).astype(np.float32)

    # -- prediction --------------------------------------------------------------
    @abc.abstractmethod
    def _output(self, X: np.ndarray) -> np.ndarray:
        """(n, k) outputs of validated rows; what ``output`` returns after checks."""

    def output(self, X: Any) -> np.ndarray:
        """The raw output explained: (n, k) probabilities for classifiers, (n, 1) values for regression."""
        arr = self.check_X(X)
        if len(arr) == 0:
            return np.zeros((0, self.n_outputs))
        out = np.asarray(self._output(arr), dtype=np.float64)
        return out.reshape(len(arr), -1)

    def predict(self, X: Any) -> np.ndarray:
        """(n,) class indices for classifiers, values for regression."""
        out = self.output(X)
        if self.task == "regression":
            return out[:, 0]
        return out.argmax(axis=1)

    def predict_proba(self, X: Any) -> np.ndarray:
        if self.task == "regression":
            raise UnsupportedModelError("predict_proba() is for classifiers; this model does regression.")
        return self.output(X)

    def forward_fn(self, X: Any, *, threads: int | None = None) -> Callable[[], Any]:
        """A zero-argument call doing one forward pass on ``X``, validated and prepared once.

        What :mod:`leanlens.models.latency` times: no per-call checks or copies. Backends
        override it with their raw forward (torch module, ONNX Runtime session);
        ``threads`` fixes the intra-op threads of backends that hold their own (ONNX Runtime).
        """
        arr = self.check_X(X)
        return lambda: self._output(arr)

    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Save into a folder; each adapter that can be saved overrides this."""
        raise UnsupportedModelError(
            f"Saving is not supported for {type(self).__name__}; wrap a torch, scikit-learn or ONNX model instead."
        )

    # -- size and cost (what compression measures; each backend answers for itself) ----------
    def n_parameters(self, *, nonzero: bool = False) -> int | None:
        """Stored parameters (``nonzero=True``: only the non-zero ones); None where the backend has none."""
        return None

    def macs(self, batch: int = 1) -> int | None:
        """Multiply-accumulates of one forward pass on ``batch`` rows; None where unknown."""
        return None

    def saved_bytes(self) -> int:
        """Bytes of everything ``save()`` writes, measured on disk.

        Raises UnsupportedModelError for a model with no file form (as ``save`` does).
        """
        with tempfile.TemporaryDirectory(prefix="leanlens-size-") as tmp:
            return folder_bytes(self.save(Path(tmp) / "m"))

    def weight_sparsity(self) -> tuple[float, int] | None:
        """``(fraction of zero weights, bytes of those weights stored sparsely)``; None where not meaningful."""
        return None

    def input_affine(self) -> InputAffine | None:
        """The model's first operation when it is affine in the raw inputs, else None.

        ``output(X) == rest(X_flat @ A + c)`` up to float32 rounding, with ``X_flat`` the rows
        flattened to (n, d). Explainers that evaluate many inputs differing in few features
        (Shapley enumeration) precompute ``A`` per feature and skip the first layer's work.
        """
        return None

    def _spec_header(self, fmt: str) -> dict[str, Any]:
        """The model.json fields every saved model shares."""
        return {
            "format": fmt,
            "format_version": 1,
            "leanlens_version": __version__,
            "task": self.task,
            "input_shape": list(self.input_shape),
            "feature_names": list(self.feature_names),
            "output_names": list(self.output_names),
        }

    @staticmethod
    def _write_folder(path: str | Path, spec: dict[str, Any], write_payload: Callable[[Path], object], *,
                      overwrite: bool) -> Path:
        """Write the payload and ``model.json`` into a temporary folder renamed to ``path`` when complete."""
        from .._io import atomic_dir, atomic_write_json

        with atomic_dir(path, overwrite=overwrite, param="path") as tmp:
            write_payload(tmp)
            atomic_write_json(tmp / "model.json", spec)
        return Path(path)

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "task": self.task,
            "input_shape": list(self.input_shape),
            "n_features": self.n_features,
            "outputs": list(self.output_names),
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}(task={self.task!r}, input_shape={self.input_shape}, outputs={self.n_outputs})"


class InputAffine:
    """A model split as ``output(X) = rest(X_flat @ A + c)`` (see :meth:`BaseModel.input_affine`).

    ``A``: float32 (d, h); ``c``: float32 (h,); ``rest``: float32 (n, h) → float32 (n, k), the
    model's remaining layers and output head, evaluated without input checks; safe to call
    from several threads at once. ``threads``: how many calls may run at once, each inside
    ``one_thread()`` (which sets the backend to one thread for its block): independent work
    spread over threads keeps each core busier than one call split by the backend.
    """

    #: Rows per :meth:`subsets` call the generic version is built for (2^13 rows × a 256-wide
    #: layer = 8 MB of activations: large calls, cache-sized).
    SUBSET_BITS = 13

    def __init__(self, A: np.ndarray, c: np.ndarray, rest: Callable[[np.ndarray], np.ndarray], *,
                 threads: int = 1, one_thread: Callable[[], Any] | None = None,
                 subsets: Callable[[np.ndarray], Callable[[np.ndarray], np.ndarray]] | None = None,
                 subset_bits: int | None = None) -> None:
        self.A = np.ascontiguousarray(A, dtype=np.float32)
        self.c = np.ascontiguousarray(c, dtype=np.float32).reshape(-1)
        self.rest = rest
        self.threads = max(1, int(threads))
        self._one_thread = one_thread
        self._subsets = subsets
        #: the number of rows of D that :meth:`subsets` suits best (2^bits rows per call)
        self.subset_bits = int(subset_bits or self.SUBSET_BITS)

    def subsets(self, D: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        """For D of shape (L, h): a function of ``offset`` (h,) returning ``rest(H)`` (2^L, k) for
        ``H[i] = offset + Σ_{j: bit j of i set} D[j]``, every subset sum of D's rows, shifted.

        That is every input of the first layer's family ``offset + bits @ D`` at once: a backend
        may exploit the structure exactly (e.g. a ReLU unit that is ≤ 0 or ≥ 0 on the whole
        family is a zero or an affine term, so only the units that switch need the next GEMM).
        The generic version builds the 2^L sums once (one add each) and calls ``rest``."""
        if self._subsets is not None:
            return self._subsets(D)
        table = subset_sums(D)
        H = np.empty_like(table)

        def run(offset: np.ndarray) -> np.ndarray:
            np.add(table, offset, out=H)
            return self.rest(H)

        return run

    def one_thread(self) -> Any:
        """A context manager running the backend on one thread (a no-op when it has none)."""
        import contextlib

        return self._one_thread() if self._one_thread is not None else contextlib.nullcontext()

    @property
    def width(self) -> int:
        return int(self.A.shape[1])


def subset_sums(D: np.ndarray) -> np.ndarray:
    """Every subset sum of D's rows, (2^L, h) float32: row i sums the rows j whose bit j of i is
    set. One add per subset by doubling (row i + 2^j = row i + D[j] for i < 2^j): a 2^L × L
    GEMM with a tiny inner dimension runs far below the BLAS peak."""
    D = np.asarray(D, dtype=np.float32)
    out = np.empty((1 << len(D), D.shape[1]), dtype=np.float32)
    out[0] = 0.0
    for j in range(len(D)):
        np.add(out[: 1 << j], D[j], out=out[1 << j : 2 << j])
    return out


def folder_bytes(path: Path) -> int:
    """Bytes of every file under the folder ``path`` (or of the file ``path``)."""
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def check_batch(batch: Any) -> int:
    """``batch`` as an int ≥ 1, else InvalidInputError."""
    return int(check_param(batch, POSITIVE_INT, param="batch", owner="macs()"))


@functools.singledispatch
def _adapt(obj: Any, **meta: Any) -> BaseModel:
    if isinstance(obj, BaseModel):
        return obj
    if callable(obj):
        from .callable import CallableModel

        return CallableModel(obj, **meta)
    raise UnsupportedModelError(
        f"as_model() cannot wrap an object of type {type(obj).__module__}.{type(obj).__name__}. "
        "Pass a torch nn.Module, a fitted scikit-learn estimator, a path to an .onnx file or a "
        "model folder, or a callable mapping (n, d) arrays to (n,) or (n, k) arrays."
    )


register_adapter = _adapt.register


def as_model(obj: Any, **meta: Any) -> BaseModel:
    """Wrap ``obj`` as a leanlens Model.

    Parameters
    ----------
    obj : torch ``nn.Module``, fitted scikit-learn estimator, path to an ``.onnx``
        file or a saved model folder, or a callable ``(n, d) -> (n,) | (n, k)``.
    **meta : ``task``, ``feature_names``, ``output_names``, ``input_shape``,
        ``n_features`` (callables and ONNX), ``output`` ("logits" | "probabilities" | "values").

    Examples
    --------
    >>> import numpy as np
    >>> m = as_model(lambda X: X.sum(axis=1), n_features=3)
    >>> m.predict(np.ones((2, 3))).tolist()
    [3.0, 3.0]
    """
    _ensure_adapters()
    if isinstance(obj, BaseModel):
        if meta:
            raise InvalidInputError("as_model() got metadata for an object that is already a leanlens Model.")
        return obj
    return _adapt(obj, **meta)


@functools.cache
def _ensure_adapters() -> None:
    """Import the adapter modules so their registrations run (lazily: torch is heavy)."""
    from . import onnx_model, persistence, sklearn_model, torch_model  # noqa: F401
