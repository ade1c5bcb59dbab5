"""Opening a data set by its source (a bundled name or a file), the data a model was trained
on, and background rows: the rules the CLI, the pipeline and the library share."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError, InvalidInputError
from .bundled import BUNDLED, load
from .dataset import Dataset
from .readers import from_csv, from_parquet

__all__ = ["background_rows", "data_of", "open_dataset", "record_data_source", "recorded_split_seed"]

FILE_SUFFIXES = (".csv", ".parquet")


def open_dataset(source: str | Path, *, label: str | None = None, random_state: int | None = None,
                 impute: str | None = None) -> Dataset:
    """A bundled data set by name (see ``leanlens.datasets.available()``), or a .csv / .parquet
    file whose label column is ``label``; split with ``random_state``; missing values filled with
    ``impute`` (a ``SimpleImputer`` strategy fitted on the training split; files only)."""
    p = Path(source)
    if p.suffix.lower() in FILE_SUFFIXES or p.is_file():
        if not p.is_file():
            raise DataError(f"The data file {str(p)!r} does not exist. Give an existing .csv or .parquet file.")
        if not label:
            raise InvalidInputError(f"The 'label' parameter is required with a data file ({str(p)!r}): "
                                    "name the label column.")
        reader = from_parquet if p.suffix.lower() == ".parquet" else from_csv
        return reader(p, target=label, random_state=random_state, impute=impute)  # type: ignore[arg-type]
    if impute is not None:
        from .readers import IMPUTE_STRATEGIES

        if impute not in IMPUTE_STRATEGIES:
            raise InvalidInputError(f"The 'impute' parameter must be one of {', '.join(map(repr, IMPUTE_STRATEGIES))}"
                                    f" or None. Got {impute!r} instead.")
    return load(str(source), random_state=random_state)


def record_data_source(model: Any, source: str | Path, *, label: str | None = None,
                       dataset: Dataset | None = None) -> None:
    """Note in ``model.metadata`` (saved in model.json) where its training data came from, so
    that :func:`data_of` can open the same data, split the same way, later.

    When ``dataset`` had missing values imputed, its fill values per column are recorded too
    (``metadata["impute"]``): the model then fills a NaN in its raw input with them
    (see ``BaseModel.check_X``), so a saved model predicts and explains with the same fills.
    """
    p = Path(source)
    is_file = p.suffix.lower() in FILE_SUFFIXES or p.is_file()
    model.metadata["data"] = {"source": str(p.resolve()) if is_file else str(source), "label": label}
    imputation = getattr(dataset, "imputation", None)
    if imputation:
        model.metadata["data"]["impute"] = imputation["strategy"]
        model.metadata["impute"] = dict(imputation)


def data_of(model: Any, source: str | Path | None = None, *, label: str | None = None,
            random_state: int | None = None, split_seed: int | None = None, impute: str | None = None) -> Dataset:
    """The data ``model`` was trained on, split as it was in training.

    ``source`` (and ``label``) default to what ``model.json`` records (:func:`record_data_source`,
    or the name of a bundled data set); the split seed is the one the model was trained with
    (``random_state`` when the model does not record one; ``split_seed`` overrides it), so that
    the test split holds rows the model never saw. ``impute`` defaults to the strategy the
    model was trained with (``metadata["data"]["impute"]``), so its splits are filled the same way.
    """
    meta = getattr(model, "metadata", None) or {}
    recorded = meta.get("data") or {}
    if source is None:
        source = recorded.get("source")
        label = label if label is not None else recorded.get("label")
    impute = impute if impute is not None else recorded.get("impute")
    if source is None:
        name = (meta.get("dataset") or {}).get("name")
        if name not in BUNDLED:
            raise InvalidInputError(
                "The 'data' parameter is required: the model does not record the data it was trained on. "
                "Give a bundled data set name or a .csv/.parquet file."
            )
        source = name
    seed = split_seed if split_seed is not None else recorded_split_seed(meta, default=random_state)
    return open_dataset(source, label=label, random_state=seed, impute=impute)


def recorded_split_seed(metadata: dict[str, Any], *, default: int | None = None) -> int | None:
    """The seed of the split a model was trained on: the trained-on Dataset's own seed
    (``metadata["dataset"]["random_state"]``), else, for models saved before it was recorded,
    the training seed (the CLI and the pipeline split and train with one seed), else ``default``."""
    for section in ("dataset", "train"):
        seed = (metadata.get(section) or {}).get("random_state")
        if seed is not None:
            return int(seed)
    return default


def background_rows(ds: Dataset, n: int, *, random_state: int | None = None) -> np.ndarray:
    """``n`` training rows drawn without replacement (all of them if fewer), in data order: the
    rows that stand for "feature absent" in an explanation."""
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise InvalidInputError(f"The 'background' parameter must be a positive number of rows. Got {n!r}.")
    from .._validation import check_random_state

    rng = np.random.default_rng(check_random_state(random_state, owner="background_rows()"))
    size = min(int(n), len(ds.X_train))
    return ds.X_train[np.sort(rng.choice(len(ds.X_train), size=size, replace=False))]
