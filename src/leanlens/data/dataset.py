"""The Dataset object and the standardizer that travels with a trained model."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Literal

import numpy as np

from ..errors import InvalidInputError

__all__ = ["Dataset", "GroundTruth", "Standardizer", "Task"]

Task = Literal["binary", "multiclass", "regression"]
TASKS: tuple[str, ...] = ("binary", "multiclass", "regression")


@dataclasses.dataclass(frozen=True)
class Standardizer:
    """Per-feature ``(x - mean) / scale``, fitted on the training split.

    Features with zero spread get ``scale = 1`` so they pass through unchanged.
    """

    mean: np.ndarray
    scale: np.ndarray

    def __post_init__(self) -> None:
        # a model must never carry (or be saved with) an infinite mean or a NaN scale
        if not (np.all(np.isfinite(self.mean)) and np.all(np.isfinite(self.scale)) and np.all(self.scale > 0)):
            from ..errors import DataError

            raise DataError(
                "The feature standardization is not finite (a mean or spread overflows float32, or a spread "
                "is not positive); rescale the features whose values exceed about 1e38 first."
            )

    @classmethod
    def fit(cls, X: np.ndarray) -> Standardizer:
        X = np.asarray(X, dtype=np.float64)
        mean = X.mean(axis=0)
        scale = X.std(axis=0)
        scale = np.where(scale < 1e-12, 1.0, scale)
        return cls(mean.astype(np.float32), scale.astype(np.float32))

    def transform(self, X: np.ndarray) -> np.ndarray:
        return ((np.asarray(X, np.float32) - self.mean) / self.scale).astype(np.float32)

    def to_dict(self) -> dict[str, Any]:
        return {"mean": self.mean.tolist(), "scale": self.scale.tolist()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Standardizer:
        return cls(np.asarray(d["mean"], np.float32), np.asarray(d["scale"], np.float32))


@dataclasses.dataclass(frozen=True)
class GroundTruth:
    """Known attributions of a synthetic data set.

    ``function(X)`` is the noise-free f; ``shapley(X)`` the interventional Shapley
    values of f in closed form (exact when the features are independent);
    ``relevant`` the indices of the features f uses.
    """

    function: Callable[[np.ndarray], np.ndarray]
    shapley: Callable[[np.ndarray], np.ndarray]
    relevant: tuple[int, ...]
    description: str = ""


@dataclasses.dataclass(frozen=True, eq=False)
class Dataset:
    """Train/validation/test splits in the data's own units.

    Attributes
    ----------
    X_train, X_val, X_test : float32 arrays of shape (n, *input_shape)
    y_train, y_val, y_test : int64 class indices (classification) or float32 values
    feature_names : tuple of str, one per flattened feature
    target_names : tuple of str, the class names (empty for regression)
    task : "binary" | "multiclass" | "regression"
    input_shape : e.g. (64,) or (1, 8, 8)
    preprocessing : Standardizer fitted on X_train
    imputation : ``{"strategy", "fitted_on", "fill": {column: value}, "columns_with_missing"}`` when
        missing values were filled (``impute=``), else None; a model trained on it saves it
    """

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    feature_names: tuple[str, ...]
    target_names: tuple[str, ...]
    task: Task
    input_shape: tuple[int, ...]
    preprocessing: Standardizer
    ground_truth: GroundTruth | None = None
    imputation: dict[str, Any] | None = None
    description: str = ""
    random_state: int | None = None

    @property
    def n_features(self) -> int:
        return int(np.prod(self.input_shape))

    @property
    def n_classes(self) -> int:
        return len(self.target_names)

    @property
    def n_outputs(self) -> int:
        return 1 if self.task == "regression" else self.n_classes

    def split(self, which: str) -> tuple[np.ndarray, np.ndarray]:
        """``(X, y)`` of ``"train" | "val" | "test"``."""
        if which not in ("train", "val", "test"):
            raise InvalidInputError(
                f"The 'split' parameter must be one of 'train', 'val', 'test'. Got {which!r} instead."
            )
        return getattr(self, f"X_{which}"), getattr(self, f"y_{which}")

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "task": self.task,
            "input_shape": list(self.input_shape),
            "n_features": self.n_features,
            "classes": list(self.target_names),
            "n_train": len(self.X_train),
            "n_val": len(self.X_val),
            "n_test": len(self.X_test),
            "random_state": self.random_state,
        }

    def __repr__(self) -> str:
        s = self.summary()
        return (
            f"Dataset({s['name']!r}, task={s['task']!r}, input_shape={tuple(s['input_shape'])}, "
            f"train/val/test={s['n_train']}/{s['n_val']}/{s['n_test']})"
        )
