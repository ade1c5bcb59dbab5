"""Issue 10 items 9 and 10: float32 overflow names the column; junk strings, identifier columns and
duplicate headers are refused (or, when encoded, announced)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from leanlens import datasets
from leanlens.data.readers import DataWarning
from leanlens.errors import DataError


def _numeric_frame(n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "c": rng.normal(size=n),
                         "d": rng.normal(size=n), "y": np.arange(n) % 2})


# -- item 9 --------------------------------------------------------------------------------------

def test_csv_value_past_float32_names_the_column(tmp_path):
    df = _numeric_frame()
    df["c"] = df["c"].astype(object)
    df.loc[7, "c"] = "1e300"
    df.to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(DataError, match=r"'c' hold values too large for float32 .*row"):
        datasets.from_csv(tmp_path / "t.csv", target="y")


def test_array_value_past_float32_is_refused():
    X = np.random.default_rng(0).normal(size=(40, 3))
    X[5, 2] = 1e300
    with pytest.raises(DataError, match="'x2' hold values too large for float32"):
        datasets.from_numpy(X, np.arange(40) % 2)


def test_value_past_float32_is_refused_with_impute_too_and_nan_is_no_overflow():
    X = np.random.default_rng(0).normal(size=(40, 3))
    X[[3, 9], 1] = np.nan  # imputed: not an overflow
    X[12, 2] = -1e300
    with pytest.raises(DataError, match=r"The column\(s\) 'x2' hold values too large for float32 .*first at row 12"):
        datasets.from_numpy(X, np.arange(40) % 2, impute="mean")
    X[12, 2] = 0.0
    ds = datasets.from_numpy(X, np.arange(40) % 2, impute="mean", random_state=0)
    assert all(np.isfinite(a).all() for a in (ds.X_train, ds.X_val, ds.X_test))


def test_a_model_never_gets_an_infinite_standardization():
    from leanlens.data.dataset import Standardizer

    with pytest.raises(DataError, match="not finite"):
        Standardizer(np.array([np.inf], np.float32), np.array([np.nan], np.float32))
    with pytest.raises(DataError, match="not finite"):
        Standardizer.fit(np.array([[1e300], [1.0], [2.0]]))  # a Dataset built by hand, past float32


def test_model_input_past_float32_names_the_feature(iris_mlp, iris):
    from leanlens.errors import InvalidInputError

    X = iris.X_test[:3].astype(np.float64)
    X[1, 2] = 1e300
    import re

    with pytest.raises(InvalidInputError, match=re.escape(f"row 1, column '{iris.feature_names[2]}'")):
        iris_mlp.predict(X)


# -- item 10 -------------------------------------------------------------------------------------

def test_auto_refuses_a_mostly_numeric_column_naming_it_and_the_junk(tmp_path):
    df = _numeric_frame()
    df["b"] = df["b"].astype(object)
    df.loc[3, "b"] = "n/a?"
    df.loc[9, "b"] = "oops"
    with pytest.raises(DataError, match=r"column 'b' is mostly numeric .* 2 non-numeric value\(s\): 'n/a\?' \(row 3\)"):
        datasets.from_pandas(df, target="y")
    df.to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(DataError, match="column 'b' is mostly numeric"):
        datasets.from_csv(tmp_path / "t.csv", target="y")


def test_onehot_on_purpose_encodes_it_and_says_so():
    df = _numeric_frame()
    df["b"] = df["b"].astype(object)
    df.loc[3, "b"] = "junk"
    with pytest.warns(DataWarning, match=r"One-hot encoded 1 non-numeric column\(s\) into 60 features: 'b' holds text"):
        ds = datasets.from_pandas(df, target="y", categorical="onehot", random_state=0)
    assert ds.n_features == 3 + 60


def test_auto_encodes_a_real_category_and_names_it():
    df = _numeric_frame()
    df["city"] = np.array(["oslo", "rome", "lima"])[np.arange(len(df)) % 3]
    with pytest.warns(DataWarning, match="'city' holds text \\(3 categories"):
        ds = datasets.from_pandas(df, target="y", random_state=0)
    assert ds.n_features == 4 + 3


def test_auto_refuses_an_identifier_column():
    df = _numeric_frame(300)
    df["id"] = [f"user-{i}" for i in range(300)]
    with pytest.raises(DataError, match="'id' has 300 distinct text values"):
        datasets.from_pandas(df, target="y")


def test_duplicate_headers_are_refused(tmp_path):
    p = tmp_path / "dup.csv"
    p.write_text("y,a,y\n" + "".join(f"{i % 2},{i},{i % 2}\n" for i in range(30)))
    with pytest.raises(DataError, match=r"duplicate column names \['y'\]"):
        datasets.from_csv(p, target="y")
    df = pd.DataFrame(np.zeros((20, 3)), columns=["y", "a", "y"])
    with pytest.raises(DataError, match="duplicate column names"):
        datasets.from_pandas(df, target="y")


def test_a_huge_junk_cell_is_not_echoed_whole():
    df = _numeric_frame()
    df["b"] = df["b"].astype(object)
    df.loc[2, "b"] = "x" * 1_000_000
    with pytest.raises(DataError, match="mostly numeric") as exc:
        datasets.from_pandas(df, target="y")
    assert len(str(exc.value)) < 1000
