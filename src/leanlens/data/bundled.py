"""scikit-learn's bundled data sets (shipped with the package: nothing is downloaded)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._validation import resolve_seed
from ..errors import InvalidInputError, did_you_mean
from .dataset import Dataset
from .readers import from_numpy

__all__ = ["BUNDLED", "available", "load"]


def _sk(loader: str) -> Callable[[], Any]:
    def get() -> Any:
        import sklearn.datasets as skd

        return getattr(skd, loader)()

    return get


# name -> (loader, input_shape or None, task, one-line description)
BUNDLED: dict[str, tuple[Callable[[], Any], tuple[int, ...] | None, str, str]] = {
    "digits": (_sk("load_digits"), None, "multiclass", "8×8 handwritten digits as 64 pixel features, 10 classes, 1,797 rows"),
    "digits-images": (_sk("load_digits"), (1, 8, 8), "multiclass", "the same digits as 1×8×8 images for CNNs"),
    "breast_cancer": (_sk("load_breast_cancer"), None, "binary", "Wisconsin breast cancer, 30 features, 2 classes, 569 rows"),
    "wine": (_sk("load_wine"), None, "multiclass", "wine cultivars, 13 features, 3 classes, 178 rows"),
    "iris": (_sk("load_iris"), None, "multiclass", "iris flowers, 4 features, 3 classes, 150 rows"),
    "diabetes": (_sk("load_diabetes"), None, "regression", "diabetes progression, 10 features, regression, 442 rows"),
}


def available() -> dict[str, str]:
    """Names of the bundled data sets (plus 'synthetic') with a one-line description."""
    out = {name: desc for name, (_, _, _, desc) in BUNDLED.items()}
    out["synthetic"] = "additive synthetic data with known Shapley values (d=12), see datasets.synthetic"
    return out


def load(name: str, *, random_state: int | None = None, test_size: float = 0.2, val_size: float = 0.15) -> Dataset:
    """Load a bundled data set, split with a seeded stratified split.

    Parameters
    ----------
    name : one of ``available()``: "digits", "digits-images", "breast_cancer",
        "wine", "iris", "diabetes", "synthetic".
    random_state : seed of the split; None (default) draws a fresh one, recorded in ``Dataset.random_state``.

    Examples
    --------
    >>> ds = load("iris")
    >>> ds.task, ds.input_shape
    ('multiclass', (4,))
    """
    random_state = resolve_seed(random_state, owner="datasets.load()")
    if name == "synthetic":
        from .synthetic import synthetic

        return synthetic("additive", random_state=random_state)
    if not isinstance(name, str) or name not in BUNDLED:
        valid = [*BUNDLED, "synthetic"]
        raise InvalidInputError(
            f"Unknown dataset {name!r}.{did_you_mean(str(name), valid)} Valid names: {', '.join(valid)}."
        )
    loader, shape, task, desc = BUNDLED[name]
    bunch = loader()
    X = np.asarray(bunch.data, dtype=np.float32)
    y = np.asarray(bunch.target)
    if shape is not None:
        X = X.reshape((len(X), *shape))
        feature_names: tuple[str, ...] = tuple(f"pixel_{r}_{c}" for r in range(shape[1]) for c in range(shape[2]))
    else:
        feature_names = tuple(str(f) for f in bunch.feature_names)
    if task == "regression":
        target_names = None
    else:
        tn = getattr(bunch, "target_names", None)
        target_names = tuple(str(t) for t in tn) if tn is not None else None
    return from_numpy(
        X, y, feature_names=feature_names, target_names=target_names, task=task,  # type: ignore[arg-type]
        input_shape=shape, random_state=random_state, test_size=test_size, val_size=val_size,
        name=name, description=desc,
    )
