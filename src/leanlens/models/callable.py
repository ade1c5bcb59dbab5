"""Adapter for plain Python callables mapping (n, d) arrays to (n,) or (n, k) arrays."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import InvalidInputError
from .base import BaseModel, Task

__all__ = ["CallableModel"]


class CallableModel(BaseModel):
    """A function as a model. ``output="probabilities"`` (default for 2-D outputs) or ``"values"``."""

    kind = "callable"

    def __init__(
        self,
        fn: Callable[[np.ndarray], Any],
        *,
        n_features: int | None = None,
        input_shape: tuple[int, ...] | None = None,
        task: Task | None = None,
        feature_names: tuple[str, ...] | None = None,
        output_names: tuple[str, ...] | None = None,
        output: str = "auto",
    ) -> None:
        if input_shape is None:
            if n_features is None and feature_names is not None:
                n_features = len(feature_names)
            if n_features is None:
                raise InvalidInputError(
                    "A callable model needs 'n_features' (or 'feature_names' or 'input_shape'): "
                    "as_model(fn, n_features=d)."
                )
            if not isinstance(n_features, int) or n_features < 1:
                raise InvalidInputError(f"The 'n_features' parameter must be a positive int. Got {n_features!r}.")
            input_shape = (n_features,)
        if output not in ("auto", "probabilities", "values"):
            raise InvalidInputError(
                f"The 'output' parameter of a callable model must be 'auto', 'probabilities' or 'values'. Got {output!r}."
            )
        if task is None:
            task = "regression" if output in ("auto", "values") and output_names is None else "multiclass"
        super().__init__(input_shape=input_shape, task=task, feature_names=feature_names, output_names=output_names)
        self.fn = fn

    def _output(self, X: np.ndarray) -> np.ndarray:
        out = np.asarray(self.fn(X.reshape(len(X), -1) if len(self.input_shape) == 1 else X), dtype=np.float64)
        if out.ndim == 1:
            out = out[:, None]
        if out.shape[0] != len(X):
            raise InvalidInputError(f"The model callable returned {out.shape[0]} rows for {len(X)} inputs.")
        if out.shape[1] != self.n_outputs:
            # A callable's output width is only known once it is called: fix the task then.
            if self.task == "regression" and out.shape[1] > 1:
                self.task = "binary" if out.shape[1] == 2 else "multiclass"
            self.output_names = tuple(str(i) for i in range(out.shape[1])) if out.shape[1] > 1 else ("value",)
        return out
