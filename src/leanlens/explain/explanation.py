"""The Explanation result object: attributions plus everything needed to trust and reuse them."""

from __future__ import annotations

import dataclasses
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from .._io import atomic_write_bytes, atomic_write_json
from ..errors import InvalidInputError, LeanlensError, ModelFormatError, short_repr

__all__ = ["Explanation"]

_ARRAYS = ("values", "base_values", "data", "stderr", "targets")


@dataclasses.dataclass(eq=False)
class Explanation:
    """Feature attributions for ``n`` explained rows.

    Attributes
    ----------
    values : array (n, d) for one output per row, or (n, d, k) for k outputs.
    base_values : array (n,) or (n, k) — the expected output the attributions start from.
    data : array (n, d) — the explained rows, flattened, in the data's own units.
    feature_names : d names. output_names : the outputs explained (k names, or 1).
    targets : (n,) output index explained per row when ``values`` is (n, d), else None.
    method, params : how it was computed. stderr : same shape as values, where the method has one.
    n_model_evals : model rows evaluated in total. seconds : wall time.
    input_shape : the model's input shape (e.g. (1, 8, 8)) for image plots.
    notes : anything the user should know (k-means summarized background, …).
    groups : for group attributions (``groups=`` of the Shapley methods), the feature indices of
        each of the g groups; ``values`` is then (n, g[, k]) per group, ``feature_names`` the g
        group names, while ``data`` keeps the d raw features (n, d). None: one value per feature.
    """

    values: np.ndarray
    base_values: np.ndarray
    data: np.ndarray
    feature_names: tuple[str, ...]
    output_names: tuple[str, ...]
    method: str
    params: dict[str, Any] = dataclasses.field(default_factory=dict)
    stderr: np.ndarray | None = None
    targets: np.ndarray | None = None
    n_model_evals: int = 0
    seconds: float = 0.0
    input_shape: tuple[int, ...] | None = None
    notes: tuple[str, ...] = ()
    groups: tuple[tuple[int, ...], ...] | None = None

    def __post_init__(self) -> None:
        self.values = np.asarray(self.values, dtype=np.float64)
        self.base_values = np.asarray(self.base_values, dtype=np.float64)
        self.data = np.asarray(self.data, dtype=np.float64)
        if self.values.ndim not in (2, 3):
            raise InvalidInputError(f"Explanation values must be (n, d) or (n, d, k). Got shape {self.values.shape}.")
        n, d = self.values.shape[:2]
        if self.groups is not None:
            self.groups = tuple(tuple(int(i) for i in g) for g in self.groups)
            if len(self.groups) != d:
                raise InvalidInputError(f"Explanation values hold {d} groups; 'groups' lists {len(self.groups)}.")
            self.data = self.data.reshape(n, -1)
        elif self.data.shape != (n, d):
            self.data = self.data.reshape(n, d)
        if len(self.feature_names) != d:
            raise InvalidInputError(f"Explanation needs {d} feature names. Got {len(self.feature_names)}.")
        self.feature_names = tuple(self.feature_names)
        self.output_names = tuple(self.output_names)
        if self.stderr is not None:
            self.stderr = np.asarray(self.stderr, dtype=np.float64)
        if self.targets is not None:
            self.targets = np.asarray(self.targets, dtype=np.int64)
        self.notes = tuple(self.notes)

    # -- shape facts ------------------------------------------------------------
    @property
    def n_rows(self) -> int:
        return int(self.values.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.values.shape[1])

    @property
    def multi_output(self) -> bool:
        return self.values.ndim == 3

    def __len__(self) -> int:
        return self.n_rows

    # -- views ---------------------------------------------------------------------
    def output(self, j: int | str) -> Explanation:
        """The explanation of one output (by index or name) as an (n, d) Explanation.

        As with ``explain(..., target=j)``, ``output_names`` keeps every output and
        ``targets`` holds ``j`` for each row.
        """
        if not self.multi_output:
            return self
        if isinstance(j, str):
            if j not in self.output_names:
                raise InvalidInputError(f"Unknown output {j!r}. Outputs: {list(self.output_names)}.")
            j = self.output_names.index(j)
        k = self.values.shape[2]
        if not -k <= j < k:
            raise InvalidInputError(f"The output index must be in [0, {k}). Got {j}.")
        return self.select(np.full(self.n_rows, j % k))

    def select(self, targets: Any) -> Explanation:
        """The (n, d) explanation of output ``targets[i]`` of each row i.

        ``targets`` is an (n,) array of output indices, e.g. each row's predicted class from
        :func:`leanlens.explain.resolve_targets`. A single-output explanation is returned as
        it is (it already explains one output per row). ``output_names`` keeps every output
        and ``targets`` records the selection, as with ``explain(..., target=...)``.
        """
        if not self.multi_output:
            return self
        t = np.asarray(targets)
        k = self.values.shape[2]
        if t.shape != (self.n_rows,) or not np.issubdtype(t.dtype, np.integer):
            raise InvalidInputError(f"The 'targets' parameter must be {self.n_rows} output indices, one per row. "
                                    f"Got an array of shape {t.shape} and dtype {t.dtype}.")
        if t.size and (t.min() < 0 or t.max() >= k):
            raise InvalidInputError(f"The 'targets' indices must be in [0, {k}). Got values in [{t.min()}, {t.max()}].")
        rows = np.arange(self.n_rows)
        return dataclasses.replace(
            self,
            values=self.values[rows, :, t],
            base_values=self.base_values[rows, t] if self.base_values.ndim == 2 else self.base_values,
            stderr=self.stderr[rows, :, t] if self.stderr is not None else None,
            targets=t.astype(np.int64),
        )

    def rows(self, idx: Any) -> Explanation:
        """A subset of the explained rows."""
        sel = np.arange(self.n_rows)[idx]
        return dataclasses.replace(
            self,
            values=self.values[sel], base_values=self.base_values[sel], data=self.data[sel],
            stderr=self.stderr[sel] if self.stderr is not None else None,
            targets=self.targets[sel] if self.targets is not None else None,
        )

    def feature_values(self) -> np.ndarray:
        """Values per raw feature: each feature carries its group's value (for image heatmaps,
        where a group shows as a cell), or ``values`` itself without groups: (n, D[, k])."""
        if self.groups is None:
            return self.values
        owner = np.empty(self.data.shape[1], dtype=np.int64)
        for gi, g in enumerate(self.groups):
            owner[list(g)] = gi
        return self.values[:, owner]

    def global_importance(self) -> np.ndarray:
        """Mean |φ| over rows: (d,) — or (d, k) for a multi-output explanation."""
        return np.abs(self.values).mean(axis=0)

    def top_k(self, k: int = 5, *, output: int | None = None) -> list[str]:
        """Names of the k features with the largest global importance (summed over outputs)."""
        if not isinstance(k, int) or k < 1:
            raise InvalidInputError(f"The 'k' parameter must be a positive int. Got {k!r}.")
        imp = self.global_importance()
        if imp.ndim == 2:
            imp = imp[:, output] if output is not None else imp.sum(axis=1)
        order = np.argsort(-imp, kind="stable")[:k]
        return [self.feature_names[i] for i in order]

    def sum_residual(self, fx: np.ndarray) -> np.ndarray:
        """|Σφ + base − f(x)| per row (and output): how far from efficiency/completeness."""
        total = self.values.sum(axis=1) + self.base_values
        return np.abs(total - np.asarray(fx).reshape(total.shape))

    # -- serialization ---------------------------------------------------------------
    def _meta(self) -> dict[str, Any]:
        return {
            "feature_names": list(self.feature_names),
            "output_names": list(self.output_names),
            "method": self.method,
            "params": _jsonable(self.params),
            "n_model_evals": int(self.n_model_evals),
            "seconds": float(self.seconds),
            "input_shape": list(self.input_shape) if self.input_shape else None,
            "notes": list(self.notes),
            "groups": None if self.groups is None else [list(g) for g in self.groups],
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (arrays as nested lists)."""
        out = self._meta()
        for name in _ARRAYS:
            arr = getattr(self, name)
            out[name] = None if arr is None else np.asarray(arr).tolist()
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Explanation:
        try:
            return cls(
                values=np.asarray(d["values"], dtype=np.float64),
                base_values=np.asarray(d["base_values"], dtype=np.float64),
                data=np.asarray(d["data"], dtype=np.float64),
                feature_names=tuple(d["feature_names"]),
                output_names=tuple(d["output_names"]),
                method=d["method"],
                params=d.get("params", {}),
                stderr=None if d.get("stderr") is None else np.asarray(d["stderr"], dtype=np.float64),
                targets=None if d.get("targets") is None else np.asarray(d["targets"], dtype=np.int64),
                n_model_evals=int(d.get("n_model_evals", 0)),
                seconds=float(d.get("seconds", 0.0)),
                input_shape=tuple(d["input_shape"]) if d.get("input_shape") else None,
                notes=tuple(d.get("notes", ())),
                groups=None if d.get("groups") is None else tuple(tuple(g) for g in d["groups"]),
            )
        except KeyError as exc:
            raise ModelFormatError(f"An explanation dict is missing the key {exc}.") from None
        except LeanlensError:
            raise
        except (TypeError, ValueError, OverflowError) as exc:
            raise ModelFormatError(f"An explanation dict has a field of the wrong type: {short_repr(str(exc))}") from None

    def save(self, path: str | Path) -> Path:
        """Write ``path`` (JSON metadata, e.g. ``explanation.json``) and its arrays beside it
        (``explanation.npz``), each atomically."""
        p = Path(path)
        if p.suffix != ".json":
            p = p / "explanation.json"
        buf = io.BytesIO()
        arrays = {n: np.asarray(getattr(self, n)) for n in _ARRAYS if getattr(self, n) is not None}
        np.savez_compressed(buf, **arrays)  # type: ignore[arg-type]
        atomic_write_bytes(p.with_suffix(".npz"), buf.getvalue())
        meta = self._meta()
        meta["arrays"] = p.with_suffix(".npz").name
        meta["shape"] = list(self.values.shape)
        meta["global_importance"] = dict(zip(self.feature_names, _rounded(self.global_importance()), strict=True))
        atomic_write_json(p, meta)
        return p

    @classmethod
    def load(cls, path: str | Path) -> Explanation:
        p = Path(path)
        if p.is_dir():
            p = p / "explanation.json"
        if not p.is_file():
            raise ModelFormatError(f"No explanation at {str(p)!r}.")
        from ..limits import cap, raise_hint

        if p.stat().st_size > cap("MAX_JSON_BYTES"):
            raise ModelFormatError(f"The explanation at {str(p)!r} is {p.stat().st_size:,} bytes. {raise_hint('MAX_JSON_BYTES')}")
        try:
            meta = json.loads(p.read_bytes().decode("utf-8"))
        except RecursionError:
            raise ModelFormatError(f"The explanation at {str(p)!r} is nested too deeply.") from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise ModelFormatError(f"The explanation at {str(p)!r} is corrupt or partial: {short_repr(str(exc))}") from None
        if not isinstance(meta, dict):
            raise ModelFormatError(
                f"The explanation at {str(p)!r} must hold a JSON object. Got a JSON {type(meta).__name__} instead."
            )
        name = meta.get("arrays", p.with_suffix(".npz").name)
        # The arrays live beside the JSON: a bare file name, never a path to elsewhere.
        if not isinstance(name, str) or not name.endswith(".npz") or Path(name).name != name or name.startswith("."):
            raise ModelFormatError(
                f"The explanation at {str(p)!r} has 'arrays' = {short_repr(name)}; expected the file name of the "
                ".npz beside it (e.g. 'explanation.npz')."
            )
        npz = p.with_name(name)
        try:
            with zipfile.ZipFile(npz) as zf:
                declared = sum(i.file_size for i in zf.infolist())
            if declared > cap("MAX_SKOPS_UNCOMPRESSED_BYTES"):
                raise ModelFormatError(f"The arrays {str(npz)!r} declare {declared:,} bytes uncompressed. "
                                       f"{raise_hint('MAX_SKOPS_UNCOMPRESSED_BYTES')}")
            with np.load(npz, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        except ModelFormatError:
            raise
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            raise ModelFormatError(f"The explanation at {str(p)!r} is corrupt or partial: {short_repr(str(exc))}") from None
        return cls.from_dict({**meta, **{k: v for k, v in arrays.items()}})

    def __repr__(self) -> str:
        return (
            f"Explanation(method={self.method!r}, values={self.values.shape}, "
            f"n_model_evals={self.n_model_evals}, seconds={self.seconds:.3f})"
        )


def _rounded(imp: np.ndarray) -> list[Any]:
    return np.round(imp, 6).tolist()


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, str | int | float | bool) or obj is None:
        return obj
    return repr(obj)
