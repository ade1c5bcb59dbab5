import numpy as np
import pandas as pd
import pytest

from leanlens import datasets
from leanlens.errors import DataError, InvalidInputError


def _frame(n=60, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.normal(40, 10, n),
            "income": rng.normal(5e4, 1e4, n),
            "city": rng.choice(["paris", "rome", "oslo"], n),
            "label": rng.choice(["yes", "no"], n),
        }
    )


def test_from_pandas_one_hot_encodes_and_infers_binary():
    ds = datasets.from_pandas(_frame(), target="label", random_state=0)
    assert ds.task == "binary"
    assert ds.target_names == ("no", "yes")
    assert ds.feature_names == ("age", "income", "city=oslo", "city=paris", "city=rome")
    assert ds.X_train.shape[1] == 5


def test_categorical_error_mode_refuses_text_columns():
    with pytest.raises(DataError, match="Non-numeric feature columns"):
        datasets.from_pandas(_frame(), target="label", categorical="error")


def test_task_inference():
    assert datasets.infer_task(np.array([0, 1, 1, 0])) == "binary"
    assert datasets.infer_task(np.array([0, 1, 2, 3])) == "multiclass"
    assert datasets.infer_task(np.array(["a", "b", "c"])) == "multiclass"
    assert datasets.infer_task(np.linspace(0, 1, 50)) == "regression"
    assert datasets.infer_task(np.array([1.0, 2.0, 3.0, 1.0])) == "multiclass"


def test_csv_and_parquet_round_trip(tmp_path):
    df = _frame()
    df.to_csv(tmp_path / "d.csv", index=False)
    df.to_parquet(tmp_path / "d.parquet")
    a = datasets.from_csv(tmp_path / "d.csv", target="label", random_state=0)
    b = datasets.from_parquet(tmp_path / "d.parquet", target="label", random_state=0)
    np.testing.assert_allclose(a.X_train, b.X_train, rtol=1e-6)
    assert a.name == "d"


def test_file_readers_pass_their_options_on_and_refuse_unknown_ones(tmp_path):
    df = _frame()
    df.to_csv(tmp_path / "d.csv", index=False)
    df.to_parquet(tmp_path / "d.parquet")
    a = datasets.from_csv(tmp_path / "d.csv", target="label", test_size=0.5, random_state=4)
    b = datasets.from_pandas(df, target="label", test_size=0.5, random_state=4, name="d")
    np.testing.assert_array_equal(a.X_test, b.X_test)
    with pytest.raises(InvalidInputError, match="from_parquet\\(\\) has no option 'randomstate'. Did you mean 'random_state'"):
        datasets.from_parquet(tmp_path / "d.parquet", target="label", randomstate=1)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        datasets.from_csv(tmp_path / "nope.csv", target="y")


def test_empty_file(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match="is empty"):
        datasets.from_csv(tmp_path / "empty.csv", target="y")


def test_unknown_target_suggests_closest(tmp_path):
    _frame().to_csv(tmp_path / "d.csv", index=False)
    with pytest.raises(DataError, match="Did you mean 'label'"):
        datasets.from_csv(tmp_path / "d.csv", target="labels")


def test_nan_and_inf_features_are_refused():
    X = np.random.default_rng(0).normal(size=(30, 3))
    X[4, 1] = np.nan
    with pytest.raises(DataError, match=r"missing values \(NaN; first at row 4, column 'x1'\).*impute="):
        datasets.from_numpy(X, np.arange(30) % 2)
    X[4, 1] = np.inf
    with pytest.raises(DataError, match="infinite values .*row 4, column 1"):
        datasets.from_numpy(X, np.arange(30) % 2)


def test_single_class_target_is_refused():
    X = np.zeros((30, 2))
    with pytest.raises(DataError, match="single class"):
        datasets.from_numpy(X, np.ones(30, dtype=int), task="multiclass")


def test_non_numeric_array_is_refused():
    X = np.array([["a", "b"]] * 30)
    with pytest.raises(DataError, match="must be numeric"):
        datasets.from_numpy(X, np.arange(30) % 2)


def test_shapes_and_names_are_checked():
    with pytest.raises(InvalidInputError, match="'y' parameter must be 1-D with 30"):
        datasets.from_numpy(np.zeros((30, 2)), np.zeros(29))
    with pytest.raises(InvalidInputError, match="needs 2 names"):
        datasets.from_numpy(np.zeros((30, 2)), np.arange(30) % 2, feature_names=["a"])
    with pytest.raises(InvalidInputError, match="test_size"):
        datasets.from_numpy(np.zeros((30, 2)), np.arange(30) % 2, test_size=0.9, val_size=0.2)


def test_regression_target_and_standardizer():
    rng = np.random.default_rng(1)
    X = rng.normal(3.0, 2.0, size=(200, 4))
    ds = datasets.from_numpy(X, X @ np.array([1.0, 2.0, 0.0, -1.0]), random_state=0)
    assert ds.task == "regression" and ds.target_names == ()
    Z = ds.preprocessing.transform(ds.X_train)
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(Z.std(axis=0), 1, atol=1e-4)


def test_constant_feature_gets_unit_scale():
    X = np.random.default_rng(0).normal(size=(40, 3))
    X[:, 1] = 7.0
    ds = datasets.from_numpy(X, np.arange(40) % 2, random_state=0)
    assert ds.preprocessing.scale[1] == 1.0
    assert np.all(np.isfinite(ds.preprocessing.transform(ds.X_test)))
