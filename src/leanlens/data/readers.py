"""Build a Dataset from CSV, Parquet, pandas or NumPy: validation, task inference, split."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypedDict, Unpack

import numpy as np

from .._validation import resolve_seed
from ..errors import DataError, InvalidInputError, did_you_mean
from .dataset import TASKS, Dataset, Standardizer, Task

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DataWarning", "TableOptions", "from_csv", "from_numpy", "from_pandas", "from_parquet", "infer_task"]

Categorical = Literal["auto", "onehot", "error"]
Impute = Literal["mean", "median", "most_frequent"]
#: The ``impute`` strategies (scikit-learn's ``SimpleImputer``), fitted on the training split only.
IMPUTE_STRATEGIES: tuple[str, ...] = ("mean", "median", "most_frequent")

#: Under ``categorical="auto"``, a text column is refused (not one-hot encoded) when more than
#: this share of its non-missing values parse as numbers: it is a numeric column with junk in it.
NUMERIC_SHARE = 0.5
#: Under ``categorical="auto"``, a text column with more distinct values than this is refused
#: (an identifier or free text, not a category; one-hot encoding it would add a feature per row).
MAX_CATEGORIES = 100


def infer_task(y: np.ndarray) -> Task:
    """binary / multiclass for labels (non-float, or integral floats with ≤ 20 values); else regression."""
    y = np.asarray(y)
    uniq = np.unique(y[~_isnan(y)]) if y.dtype.kind == "f" else np.unique(y)
    if y.dtype.kind in "fc":
        integral = bool(np.all(np.mod(uniq, 1) == 0))
        if not integral or len(uniq) > 20:
            return "regression"
    return "binary" if len(uniq) == 2 else "multiclass"


def _isnan(y: np.ndarray) -> np.ndarray:
    return np.isnan(y) if y.dtype.kind == "f" else np.zeros(len(y), bool)


def _check_path(path: str | os.PathLike[str], param: str = "path") -> Path:
    p = Path(path)
    if not p.exists():
        raise DataError(f"The {param!r} file {str(p)!r} does not exist.")
    if not p.is_file():
        raise DataError(f"The {param!r} path {str(p)!r} is not a file.")
    if p.stat().st_size == 0:
        raise DataError(f"The {param!r} file {str(p)!r} is empty.")
    return p


def _csv_header(p: Path) -> list[str]:
    """The header row as the csv module reads it (pandas renames duplicates to ``y.1``)."""
    import csv

    try:
        with open(p, encoding="utf-8-sig", newline="") as fh:
            return next(csv.reader(fh), [])
    except PermissionError:
        raise DataError(f"The 'path' file {str(p)!r} cannot be read: permission denied.") from None
    except (UnicodeDecodeError, csv.Error, OSError) as exc:
        raise DataError(f"The 'path' file {str(p)!r} could not be read as CSV: {str(exc)[:200]}") from None


def _refuse_duplicates(names: list[str], p: Path | None = None) -> None:
    seen: set[str] = set()
    dupes = [n for n in names if n in seen or seen.add(n)]  # type: ignore[func-returns-value]
    if dupes:
        where = f"The file {str(p)!r}" if p is not None else "The table"
        raise DataError(
            f"{where} has duplicate column names {sorted(set(dupes))[:10]}; every column needs its own name "
            "(a repeated label column would leak into the features)."
        )


def _read_table(path: str | os.PathLike[str], fmt: Literal["CSV", "Parquet"]) -> tuple[pd.DataFrame, str]:
    import pandas as pd

    p = _check_path(path)
    if not os.access(p, os.R_OK):
        raise DataError(f"The 'path' file {str(p)!r} cannot be read: permission denied.")
    if fmt == "CSV":
        _refuse_duplicates([h.strip() for h in _csv_header(p)], p)
    try:
        df = pd.read_csv(p) if fmt == "CSV" else pd.read_parquet(p)
    except PermissionError:
        raise DataError(f"The 'path' file {str(p)!r} cannot be read: permission denied.") from None
    except MemoryError:
        raise DataError(f"The 'path' file {str(p)!r} does not fit in memory.") from None
    except Exception as exc:  # pandas and pyarrow raise many unrelated types for a bad file
        raise DataError(f"The 'path' file {str(p)!r} could not be read as {fmt}: {str(exc)[:200]}") from None
    return df, p.stem


class TableOptions(TypedDict, total=False):
    """The options :func:`from_csv` and :func:`from_parquet` pass on to :func:`from_pandas`
    (their defaults and meaning are from_pandas's): one signature for every table reader."""

    task: Task | None
    categorical: Categorical
    impute: Impute | None
    test_size: float
    val_size: float
    random_state: int | None


def from_csv(path: str | os.PathLike[str], *, target: str, **options: Unpack[TableOptions]) -> Dataset:
    """Read a CSV file with a header row; ``target`` names the label column.

    ``options`` (``task``, ``categorical``, ``impute``, ``test_size``, ``val_size``,
    ``random_state``) are those of :func:`from_pandas`.
    """
    return _from_file(path, "CSV", target, options)


def from_parquet(path: str | os.PathLike[str], *, target: str, **options: Unpack[TableOptions]) -> Dataset:
    """Read a Parquet file; ``target`` names the label column; ``options`` as for :func:`from_csv`."""
    return _from_file(path, "Parquet", target, options)


def _from_file(path: str | os.PathLike[str], fmt: Literal["CSV", "Parquet"], target: str,
               options: TableOptions) -> Dataset:
    known = list(TableOptions.__annotations__)
    for key in options:
        if key not in known:
            raise InvalidInputError(f"from_{fmt.lower()}() has no option {key!r}.{did_you_mean(key, known)} "
                                    f"Its options: target, {', '.join(known)}.")
    df, name = _read_table(path, fmt)
    return from_pandas(df, target=target, name=name, **options)


def from_pandas(
    df: pd.DataFrame,
    *,
    target: str,
    task: Task | None = None,
    categorical: Categorical = "auto",
    impute: Impute | None = None,
    test_size: float = 0.2,
    val_size: float = 0.15,
    random_state: int | None = None,
    name: str = "dataframe",
) -> Dataset:
    """A DataFrame with a target column → Dataset.

    Non-numeric feature columns are handled by ``categorical``:

    - ``"auto"`` (default): one-hot encode text columns that look categorical, and refuse
      a column that is mostly numbers (more than ``NUMERIC_SHARE`` = half of its values
      parse as numbers: a numeric column with junk in it, which one-hot encoding would turn
      into one feature per value) or that has more than ``MAX_CATEGORIES`` = 100 distinct
      values (an identifier or free text). The error names the column and the values.
    - ``"onehot"``: one-hot encode every non-numeric column (a warning names each one).
    - ``"error"``: refuse any non-numeric feature column.

    Missing values (NaN, empty cells) in numeric feature columns are refused, naming the
    columns, unless ``impute`` is ``"mean"``, ``"median"`` or ``"most_frequent"``: then
    scikit-learn's ``SimpleImputer`` is fitted on the training split only and fills every
    split; the fill value per column is kept in ``Dataset.imputation`` and saved with a model
    trained on it (see :func:`from_numpy`). Missing values in text columns are always refused.

    Duplicate column names are refused, and so are values that are not finite once cast
    to float32 (e.g. 1e300), naming the column.
    """
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise InvalidInputError(f"The 'df' parameter must be a pandas DataFrame. Got {type(df).__name__} instead.")
    if df.shape[0] == 0 or df.shape[1] == 0:
        raise DataError(f"The data is empty: {df.shape[0]} rows and {df.shape[1]} columns.")
    cols = [str(c) for c in df.columns]
    _refuse_duplicates(cols)
    if target not in cols:
        raise DataError(
            f"The 'target' column {target!r} does not exist.{did_you_mean(target, cols)} "
            f"Columns: {', '.join(cols[:20])}{' …' if len(cols) > 20 else ''}."
        )
    if categorical not in ("auto", "onehot", "error"):
        raise InvalidInputError(
            f"The 'categorical' parameter must be 'auto', 'onehot' or 'error'. Got {categorical!r} instead."
        )
    df = df.copy()
    df.columns = cols
    y_raw = df.pop(target)
    if y_raw.isna().any():
        raise DataError(f"The 'target' column {target!r} has {int(y_raw.isna().sum())} missing values.")
    non_numeric = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c])]
    bool_cols = [c for c in non_numeric if pd.api.types.is_bool_dtype(df[c])]
    for c in bool_cols:
        df[c] = df[c].astype(np.float32)
    non_numeric = [c for c in non_numeric if c not in bool_cols]
    if non_numeric:
        if categorical == "error":
            raise DataError(
                f"Non-numeric feature columns {non_numeric[:10]}: pass categorical='onehot' "
                "to one-hot encode them, or convert them to numbers first."
            )
        if df[non_numeric].isna().any().any():
            raise DataError(f"Categorical columns {non_numeric[:10]} have missing values; fill them first.")
        reasons = [_categorical_reason(df[c], c, categorical) for c in non_numeric]
        import warnings

        n_before = df.shape[1]
        df = pd.get_dummies(df, columns=non_numeric, prefix_sep="=", dtype=np.float32)
        warnings.warn(
            f"One-hot encoded {len(non_numeric)} non-numeric column(s) into {df.shape[1] - n_before + len(non_numeric)} "
            f"features: {'; '.join(reasons[:10])}.", DataWarning, stacklevel=2,
        )
    feature_names = tuple(str(c) for c in df.columns)
    X = df.to_numpy(dtype=np.float64)
    return from_numpy(X, y_raw.to_numpy(), feature_names=feature_names, task=task, impute=impute,
                      test_size=test_size, val_size=val_size, random_state=random_state, name=name)


class DataWarning(UserWarning):
    """A table was read, but not as the user may have assumed (e.g. a column was one-hot encoded)."""


def _short(value: str, limit: int = 40) -> str:
    """A value echoed in a message, cut to ``limit`` characters (a cell may hold megabytes)."""
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _categorical_reason(col: pd.Series, name: str, mode: str) -> str:
    """Why ``col`` is treated as categorical; under "auto", raise DataError if it should not be."""
    import pandas as pd

    values = col.astype(str)
    as_num = pd.to_numeric(values.str.strip(), errors="coerce")
    junk = values[as_num.isna()]
    share = 1.0 - len(junk) / max(len(values), 1)
    n_cat = int(values.nunique())
    examples = ", ".join(f"{_short(v)!r} (row {i})" for i, v in list(zip(junk.index, junk, strict=False))[:3])
    if mode == "auto" and share > NUMERIC_SHARE:
        raise DataError(
            f"The column {name!r} is mostly numeric ({share:.0%} of its values are numbers) but holds "
            f"{len(junk)} non-numeric value(s): {examples}. Fix or remove them (or convert the column), "
            "or pass categorical='onehot' to one-hot encode it on purpose."
        )
    if mode == "auto" and n_cat > MAX_CATEGORIES:
        raise DataError(
            f"The column {name!r} has {n_cat} distinct text values (at most {MAX_CATEGORIES} are one-hot encoded "
            "under categorical='auto'): it looks like an identifier or free text. Drop it, or pass "
            "categorical='onehot' to encode it anyway."
        )
    cats = ", ".join(repr(_short(v)) for v in values.unique()[:3])
    return f"{name!r} holds text ({n_cat} categories such as {cats})"


def from_numpy(
    X: np.ndarray,
    y: np.ndarray,
    *,
    feature_names: tuple[str, ...] | list[str] | None = None,
    target_names: tuple[str, ...] | list[str] | None = None,
    task: Task | None = None,
    input_shape: tuple[int, ...] | None = None,
    impute: Impute | None = None,
    test_size: float = 0.2,
    val_size: float = 0.15,
    random_state: int | None = None,
    name: str = "array",
    description: str = "",
) -> Dataset:
    """Arrays → Dataset with a seeded (stratified, for classification) train/val/test split.

    ``X`` is (n, d), or (n, *input_shape) for images; ``y`` holds labels or values.
    A NaN in ``X`` is refused unless ``impute`` names a ``SimpleImputer`` strategy
    (``"mean"``, ``"median"``, ``"most_frequent"``), fitted on the training rows only and
    applied to every split; infinite values are always refused.
    """
    random_state = resolve_seed(random_state, owner="from_numpy()")
    if impute is not None and impute not in IMPUTE_STRATEGIES:
        raise InvalidInputError(
            f"The 'impute' parameter must be one of {', '.join(map(repr, IMPUTE_STRATEGIES))} or None. "
            f"Got {impute!r} instead.{did_you_mean(str(impute), list(IMPUTE_STRATEGIES))}"
        )
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim < 2:
        raise InvalidInputError(f"The 'X' parameter must be 2-D (n_samples, n_features) or more. Got shape {X.shape}.")
    if X.dtype.kind not in "biuf":
        raise DataError(f"The 'X' array must be numeric. Got dtype {X.dtype} (convert or one-hot encode it first).")
    if y.ndim != 1 or len(y) != len(X):
        raise InvalidInputError(f"The 'y' parameter must be 1-D with {len(X)} entries. Got shape {y.shape}.")
    if len(X) < 10:
        raise DataError(f"At least 10 rows are needed to split into train/val/test. Got {len(X)}.")
    X = X.astype(np.float64)
    bad = np.isinf(X)
    if bad.any():
        rows, cols = np.nonzero(bad.reshape(len(X), -1))
        raise DataError(
            f"The features contain {int(bad.sum())} infinite values "
            f"(first at row {int(rows[0])}, column {int(cols[0])}); clean them first (imputation fills only NaN)."
        )
    input_shape = tuple(input_shape) if input_shape is not None else tuple(X.shape[1:])
    if int(np.prod(input_shape)) != int(np.prod(X.shape[1:])):
        raise InvalidInputError(f"The 'input_shape' {input_shape} does not match X's feature shape {X.shape[1:]}.")
    X = X.reshape((len(X), *input_shape))
    d = int(np.prod(input_shape))
    if feature_names is None:
        feature_names = tuple(f"x{i}" for i in range(d))
    feature_names = tuple(str(f) for f in feature_names)
    if len(feature_names) != d:
        raise InvalidInputError(f"The 'feature_names' parameter needs {d} names. Got {len(feature_names)}.")
    missing = np.isnan(X.reshape(len(X), -1))
    if impute is None and missing.any():
        cols = np.flatnonzero(missing.any(axis=0))
        per_col = ", ".join(f"{feature_names[c]!r} ({int(missing[:, c].sum())})" for c in cols[:10])
        first = int(np.flatnonzero(missing[:, cols[0]])[0])
        raise DataError(
            f"The features have {int(missing.sum())} missing values (NaN; first at row {first}, column "
            f"{feature_names[cols[0]]!r}) in {len(cols)} column(s), with counts: {per_col}"
            f"{' …' if len(cols) > 10 else ''}. Fill them first, or impute them from the training split "
            "with impute='median' (CLI: --impute median; also 'mean' or 'most_frequent')."
        )
    task = task or infer_task(y)
    if task not in TASKS:
        raise InvalidInputError(f"The 'task' parameter must be one of {TASKS}. Got {task!r} instead.")
    if not (0 < test_size < 1 and 0 < val_size < 1 and test_size + val_size < 1):
        raise InvalidInputError(
            f"The 'test_size' and 'val_size' parameters must be in (0, 1) with a sum below 1. "
            f"Got {test_size} and {val_size}."
        )
    if task == "regression":
        if y.dtype.kind not in "biuf":
            raise DataError(f"A regression target must be numeric. Got dtype {y.dtype}.")
        with np.errstate(over="ignore", invalid="ignore"):
            y_enc = y.astype(np.float32)
        if not np.all(np.isfinite(y_enc)):
            raise DataError("The regression target contains NaN or infinite values "
                            f"(or values too large for float32, |y| > {np.finfo(np.float32).max:.3g}).")
        names: tuple[str, ...] = ()
        stratify = None
    else:
        classes, inverse = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise DataError(f"The target has a single class ({classes[0]!r}); a classifier needs at least two.")
        if task == "binary" and len(classes) != 2:
            raise DataError(f"task='binary' needs exactly 2 classes. Got {len(classes)}.")
        names = tuple(str(c) for c in (target_names if target_names is not None else classes))
        if len(names) != len(classes):
            raise InvalidInputError(f"The 'target_names' parameter needs {len(classes)} names. Got {len(names)}.")
        y_enc = inverse.astype(np.int64)
        counts = np.bincount(y_enc)
        stratify = y_enc if counts.min() >= 3 else None
    # Values too large for float32 are refused before scikit-learn is imported (~1.3 s of CPU a
    # process: a refused file should not pay it) and before the split; NaN (imputed below) is no overflow.
    with np.errstate(over="ignore"):  # an overflow is reported below, naming the column
        Xf = X.astype(np.float32)
    _refuse_float32_overflow(Xf, feature_names)
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(X))
    idx_rest, idx_test = train_test_split(idx, test_size=test_size, random_state=random_state, stratify=stratify)
    strat_rest = stratify[idx_rest] if stratify is not None else None
    idx_train, idx_val = train_test_split(
        idx_rest, test_size=val_size / (1 - test_size), random_state=random_state, stratify=strat_rest
    )
    imputation = None
    if impute is not None:
        del Xf  # recast from the filled array (no second float32 copy alive meanwhile)
        X, imputation = _impute(X, idx_train, impute, feature_names)
        with np.errstate(over="ignore"):
            Xf = X.astype(np.float32)
        _refuse_float32_overflow(Xf, feature_names)  # the fill values are means/medians/modes of checked values
    return Dataset(
        name=name,
        X_train=Xf[idx_train], y_train=y_enc[idx_train],
        X_val=Xf[idx_val], y_val=y_enc[idx_val],
        X_test=Xf[idx_test], y_test=y_enc[idx_test],
        feature_names=feature_names,
        target_names=names,
        task=task,
        input_shape=input_shape,
        preprocessing=Standardizer.fit(Xf[idx_train]),
        imputation=imputation,
        description=description,
        random_state=random_state,
    )


def _impute(X: np.ndarray, idx_train: np.ndarray, strategy: str,
            feature_names: tuple[str, ...]) -> tuple[np.ndarray, dict[str, Any]]:
    """Fit ``SimpleImputer(strategy)`` on the training rows only, fill every row; return the filled
    array and the record saved with a model: ``{"strategy", "fill": {column: value}}``."""
    from sklearn.impute import SimpleImputer

    flat = X.reshape(len(X), -1)
    empty = np.flatnonzero(np.all(np.isnan(flat[idx_train]), axis=0))
    if len(empty):
        names = ", ".join(repr(feature_names[c]) for c in empty[:10])
        raise DataError(
            f"The column(s) {names} have no values in the training split, so impute={strategy!r} has "
            "nothing to fill them with; drop them first."
        )
    imputer = SimpleImputer(strategy=strategy).fit(flat[idx_train])
    fill = np.asarray(imputer.statistics_, dtype=np.float64)
    filled = np.where(np.isnan(flat), fill[None, :], flat).reshape(X.shape)
    record = {
        "strategy": strategy,
        "fitted_on": "train",
        "fill": {name: float(np.float32(v)) for name, v in zip(feature_names, fill, strict=True)},
        "columns_with_missing": [feature_names[c] for c in np.flatnonzero(np.isnan(flat).any(axis=0))],
    }
    return filled, record


def _refuse_float32_overflow(Xf: np.ndarray, feature_names: tuple[str, ...]) -> None:
    """Values finite in float64 but not in float32 (|x| > 3.4e38) would train a model with an
    infinite mean and a NaN scale; name the columns instead. ``Xf`` is the float32 cast of an array
    already checked for infinities: an infinity here is an overflow, while NaN (to be imputed) is not."""
    flat = Xf.reshape(len(Xf), -1)
    bad = np.isinf(flat)
    if bad.any():
        cols = np.flatnonzero(bad.any(axis=0))
        row = int(np.flatnonzero(bad[:, cols[0]])[0])
        names = ", ".join(repr(feature_names[c]) for c in cols[:5])
        raise DataError(
            f"The column(s) {names} hold values too large for float32 (|x| > {np.finfo(np.float32).max:.3g}; "
            f"first at row {row}); rescale them (e.g. to other units or a log scale) first."
        )

