"""The stages of a run, each a plain function over plain objects (the run only sequences them)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import (
    ConfigError,
    DataError,
    InvalidInputError,
    ModelFormatError,
    UnsupportedModelError,
)

if TYPE_CHECKING:
    from ..data.dataset import Dataset
    from ..models.base import BaseModel
    from .config import DataSpec, ExplainSpec, ModelSpec

__all__ = [
    "apply_plan",
    "explanation_rows",
    "load_dataset",
    "model_targets",
    "obtain_model",
    "phi_of",
]


def load_dataset(spec: DataSpec, *, seed: int) -> Dataset:
    """The bundled data set ``spec.name``, or the CSV/Parquet file ``spec.path``."""
    from .. import datasets

    if spec.path is not None:
        p = Path(spec.path)
        if not p.is_file():
            raise DataError(f"The 'data.path' file {str(p)!r} does not exist. Give an existing .csv or .parquet file.")
        reader = datasets.from_parquet if p.suffix.lower() == ".parquet" else datasets.from_csv
        return reader(p, target=str(spec.target), random_state=seed)
    return datasets.load(spec.name, random_state=seed)


def obtain_model(spec: ModelSpec, ds: Dataset, *, seed: int, progress: bool = False) -> BaseModel:
    """Load ``spec.path`` or train a network with ``spec.train`` (seeded by the pipeline seed)."""
    from ..models import TrainConfig, load_model, train

    if spec.path is not None:
        p = Path(spec.path)
        if not p.exists():
            raise ModelFormatError(f"The 'model.path' {str(p)!r} does not exist. Give a saved model folder or an .onnx file.")
        model = load_model(p)
        if model.n_features != int(np.prod(ds.input_shape)):
            raise InvalidInputError(
                f"The model at 'model.path' expects {model.n_features} features; the data set "
                f"{ds.name!r} has {int(np.prod(ds.input_shape))}."
            )
        return model
    fields = spec.train.model_dump()
    cfg = TrainConfig(**{**fields, "hidden": tuple(fields["hidden"]), "channels": tuple(fields["channels"]),
                         "random_state": seed})
    return train(ds, cfg, progress=progress)


def apply_plan(model: BaseModel, steps: list[dict[str, Any]], ds: Dataset, *, seed: int) -> tuple[BaseModel, dict[str, Any]]:
    """Compress ``model`` with one plan (YAML form); returns the new model and the record as a dict."""
    from ..compress import compress

    result = compress(model, steps, data=ds, random_state=seed)
    record = result.record
    rec = record.to_dict() if hasattr(record, "to_dict") else dict(vars(record))
    return result.model, rec


def explanation_rows(ds: Dataset, spec: ExplainSpec, *, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The explained rows (first ``n_rows`` test rows) and the background (a seeded sample of
    ``background`` training rows)."""
    X = ds.X_test[: spec.n_rows]
    rng = np.random.default_rng(seed)
    n_bg = min(spec.background, len(ds.X_train))
    bg = ds.X_train[np.sort(rng.choice(len(ds.X_train), size=n_bg, replace=False))]
    return X, bg


def model_targets(model: BaseModel, X: np.ndarray, target: Any) -> np.ndarray:
    """The output explained for each row: the original model's predicted class, or a fixed index."""
    if model.task == "regression":
        return np.zeros(len(X), dtype=np.int64)
    if target == "predicted" or target is None:
        return model.predict(X).astype(np.int64)
    if isinstance(target, int) and 0 <= target < model.n_outputs:
        return np.full(len(X), target, dtype=np.int64)
    raise ConfigError(f"The 'explain.target' must be 'predicted' or an output index in [0, {model.n_outputs}). Got {target!r}.")


def phi_of(expl: Any, targets: np.ndarray) -> np.ndarray:
    """(n, d) attributions of each row's target output."""
    v = np.asarray(expl.values)
    if v.ndim == 2:
        return v
    return v[np.arange(len(v)), :, targets]


def explain_unsupported(exc: Exception) -> str | None:
    """A short reason when an explainer does not apply to a model (e.g. gradients of an ONNX model)."""
    if isinstance(exc, UnsupportedModelError):
        return str(exc)
    return None
