"""scikit-learn estimators: the adapter and skops persistence (never pickle)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, is_classifier

from ..errors import (
    InvalidInputError,
    LeanlensError,
    ModelFormatError,
    UnsupportedModelError,
    short_repr,
)
from .base import BaseModel, Task, register_adapter

__all__ = ["SklearnModel", "load_sklearn"]

FORMAT = "leanlens-sklearn"


class SklearnModel(BaseModel):
    """A fitted scikit-learn estimator: ``predict_proba`` for classifiers, ``predict`` for regressors."""

    kind = "sklearn"

    def __init__(self, estimator: Any, **meta: Any) -> None:
        if not hasattr(estimator, "predict"):
            raise UnsupportedModelError(f"{type(estimator).__name__} has no predict(); it is not a fitted estimator.")
        n_in = getattr(estimator, "n_features_in_", None)
        if n_in is None:
            raise UnsupportedModelError(
                f"The {type(estimator).__name__} estimator is not fitted (no n_features_in_); fit it first."
            )
        input_shape = tuple(meta.pop("input_shape", (int(n_in),)))
        if is_classifier(estimator):
            classes = getattr(estimator, "classes_", None)
            n_classes = len(classes) if classes is not None else 2
            task: Task = meta.pop("task", "binary" if n_classes == 2 else "multiclass")
            names = meta.pop("output_names", tuple(str(c) for c in classes) if classes is not None else None)
        else:
            task = meta.pop("task", "regression")
            names = meta.pop("output_names", ("value",))
        if task != "regression" and not hasattr(estimator, "predict_proba"):
            raise UnsupportedModelError(
                f"The classifier {type(estimator).__name__} has no predict_proba(); explainers need probabilities."
            )
        super().__init__(input_shape=input_shape, task=task, output_names=names, **meta)
        self.estimator = estimator

    def _output(self, X: np.ndarray) -> np.ndarray:
        X2 = X.reshape(len(X), -1)
        if self.task == "regression":
            return np.asarray(self.estimator.predict(X2), dtype=np.float64).reshape(len(X), -1)
        return np.asarray(self.estimator.predict_proba(X2), dtype=np.float64)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "estimator": type(self.estimator).__name__}

    def n_parameters(self, *, nonzero: bool = False) -> int | None:
        """Tree ensembles: their nodes; linear models: their coefficients; otherwise None."""
        est = self.estimator
        trees = getattr(est, "estimators_", None)
        members = list(np.ravel(trees)) if trees is not None else [est]
        if all(hasattr(e, "tree_") for e in members):
            return sum(int(e.tree_.node_count) for e in members)
        coef = getattr(est, "coef_", None)
        if coef is None:
            return None
        c = np.asarray(coef)
        return int(np.count_nonzero(c)) if nonzero else int(c.size)

    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write ``model.skops`` and ``model.json`` into the folder ``path`` (atomically)."""
        import skops.io as sio

        spec = {**self._spec_header(FORMAT), "estimator": type(self.estimator).__name__, "metadata": self.metadata}
        return self._write_folder(path, spec, lambda tmp: sio.dump(self.estimator, tmp / "model.skops"),
                                  overwrite=overwrite)


def load_sklearn(folder: Path, spec: dict[str, Any]) -> SklearnModel:
    """Load ``model.skops`` without trusting it: sizes audited first, only estimators trusted, trees validated.

    See :mod:`leanlens.models.skops_audit` for what is trusted and why.
    """
    from ..limits import cap, raise_hint
    from .skops_audit import audit_skops_bytes, refused_types, validate_loaded

    file = folder / "model.skops"
    if not file.is_file():
        raise ModelFormatError(f"The model folder {str(folder)!r} has model.json but no model.skops.")
    if file.stat().st_size > cap("MAX_MODEL_FILE_BYTES"):
        raise ModelFormatError(f"The file {str(file)!r} is {file.stat().st_size:,} bytes. {raise_hint('MAX_MODEL_FILE_BYTES')}")
    data = file.read_bytes()  # one read: what is audited is what is loaded
    audit_skops_bytes(data, str(file))
    import skops.io as sio  # after the audit: a refused file does not pay its import (~2 s of CPU)

    try:
        untrusted = sio.get_untrusted_types(data=data)
    except RecursionError:
        raise ModelFormatError(f"The file {str(file)!r} is nested too deeply to be a skops model.") from None
    except Exception as exc:
        raise ModelFormatError(f"The file {str(file)!r} is corrupt or not a skops file: {short_repr(str(exc))}") from None
    refused = refused_types(untrusted)
    if refused:
        shown = "; ".join(f"{name} ({why})" for name, why in list(refused.items())[:3])
        raise ModelFormatError(
            f"The file {str(file)!r} contains types leanlens does not trust: {short_repr(shown, 600)}. "
            "Only scikit-learn estimators and an allow-list of helper types are loaded "
            "(leanlens.models.skops_audit.HELPER_TYPES)."
        )
    try:
        est = sio.loads(data, trusted=untrusted)
    except RecursionError:
        raise ModelFormatError(f"The file {str(file)!r} is nested too deeply to be a skops model.") from None
    except Exception as exc:
        raise ModelFormatError(f"The file {str(file)!r} could not be loaded: {short_repr(str(exc))}") from None
    validate_loaded(est, str(file))
    n_in = getattr(est, "n_features_in_", None)
    declared = spec.get("input_shape")
    if n_in is not None and isinstance(declared, list) and int(np.prod(declared)) != int(n_in):
        raise ModelFormatError(
            f"The model folder {str(folder)!r}: model.json declares input shape {short_repr(declared)} but the "
            f"estimator takes {int(n_in)} features."
        )
    try:
        return SklearnModel(
            est,
            task=spec["task"],
            input_shape=tuple(spec["input_shape"]),
            feature_names=tuple(spec["feature_names"]),
            output_names=tuple(spec["output_names"]),
            metadata=spec.get("metadata"),
        )
    except KeyError as exc:
        raise ModelFormatError(f"The model folder {str(folder)!r} has an incomplete model.json (missing {exc}).") from None
    except LeanlensError:
        raise
    except (TypeError, ValueError) as exc:
        raise ModelFormatError(f"The model folder {str(folder)!r}: model.json has a field of the wrong type: {exc}") from None


@register_adapter(BaseEstimator)
def _wrap_estimator(estimator: BaseEstimator, **meta: Any) -> SklearnModel:
    if "n_features" in meta:
        n = meta.pop("n_features")
        if n != getattr(estimator, "n_features_in_", n):
            raise InvalidInputError(f"n_features={n} does not match the estimator's n_features_in_.")
    return SklearnModel(estimator, **meta)
