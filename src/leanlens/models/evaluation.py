"""Predictive scores of a model on labelled rows (accuracy, balanced accuracy, R², …)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .base import BaseModel

__all__ = ["score"]


def score(model: BaseModel, X: Any, y: Any, *, prefix: str = "") -> dict[str, float]:
    """Accuracy and balanced accuracy for classifiers; R², RMSE and MAE for regression."""
    from sklearn import metrics as skm

    y = np.asarray(y)
    if model.task == "regression":
        pred = model.predict(X)
        return {
            f"{prefix}r2": float(skm.r2_score(y, pred)),
            f"{prefix}rmse": float(np.sqrt(skm.mean_squared_error(y, pred))),
            f"{prefix}mae": float(skm.mean_absolute_error(y, pred)),
        }
    proba = model.output(X)
    proba = proba / proba.sum(axis=1, keepdims=True)
    pred = proba.argmax(axis=1)
    out = {
        f"{prefix}accuracy": float(skm.accuracy_score(y, pred)),
        f"{prefix}balanced_accuracy": float(skm.balanced_accuracy_score(y, pred)),
    }
    try:
        out[f"{prefix}log_loss"] = float(skm.log_loss(y, np.clip(proba, 1e-12, 1), labels=np.arange(proba.shape[1])))
    except ValueError:
        pass
    return out
