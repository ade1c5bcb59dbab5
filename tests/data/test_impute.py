"""Missing values: refused with the columns named, or imputed (SimpleImputer fitted on the
training split only) and saved with the model so that predictions survive save/load."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from leanlens.cli import main
from leanlens.data.readers import from_csv
from leanlens.data.source import data_of
from leanlens.errors import DataError, InvalidInputError
from leanlens.models import load_model


def _csv_with_nan(path):
    rng = np.random.default_rng(0)
    n = 80
    df = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(3.0, 2.0, size=n), "c": rng.uniform(size=n)})
    df["label"] = (df["a"] + 0.5 * df["c"] > 0.2).astype(int)
    df.loc[[1, 7, 20, 33, 50, 61], "b"] = np.nan
    df.loc[[4, 40], "a"] = np.nan
    df.to_csv(path, index=False)
    return df


def _run(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


def test_nan_refused_names_columns_and_suggests_impute(tmp_path):
    _csv_with_nan(tmp_path / "d.csv")
    with pytest.raises(DataError) as exc:
        from_csv(tmp_path / "d.csv", target="label")
    msg = str(exc.value)
    assert "'a' (2)" in msg and "'b' (6)" in msg and "'c'" not in msg and "impute='median'" in msg


def test_fills_are_training_statistics_and_applied_to_every_split(tmp_path):
    _csv_with_nan(tmp_path / "d.csv")
    for strategy, stat in (("median", np.nanmedian), ("mean", np.nanmean)):
        ds = from_csv(tmp_path / "d.csv", target="label", impute=strategy, random_state=0)
        assert ds.imputation is not None and ds.imputation["strategy"] == strategy
        for split in ("train", "val", "test"):
            assert np.isfinite(ds.split(split)[0]).all()
        # the fill must be the statistic of the *training* rows, not of all rows
        df = pd.read_csv(tmp_path / "d.csv")
        train_rows = _train_rows(df, ds)
        for j, col in enumerate(("a", "b", "c")):
            expected = np.float32(stat(train_rows[:, j]))
            assert ds.imputation["fill"][col] == pytest.approx(float(expected), rel=1e-6)


def _train_rows(df, ds):
    """The raw (unfilled) training rows: match each filled training row to the raw table."""
    X = df.drop(columns="label").to_numpy(np.float32)
    out = []
    for row in ds.X_train:
        same = np.all((X == row) | np.isnan(X), axis=1)
        out.append(X[np.flatnonzero(same)[0]])
    return np.asarray(out)


def test_unknown_strategy_is_a_clear_error(tmp_path, capsys):
    _csv_with_nan(tmp_path / "d.csv")
    with pytest.raises(InvalidInputError, match="'impute' parameter must be one of 'mean', 'median'"):
        from_csv(tmp_path / "d.csv", target="label", impute="medain")  # type: ignore[arg-type]
    code, _out, err = _run(["train", "--data", str(tmp_path / "d.csv"), "--label", "label", "--impute", "avg",
                            "--out", str(tmp_path / "m"), "--quiet"], capsys)
    assert code == 2 and "--impute must be one of mean, median, most_frequent" in err
    assert not (tmp_path / "m").exists()


def test_cli_train_impute_round_trip(tmp_path, capsys):
    df = _csv_with_nan(tmp_path / "d.csv")
    out = tmp_path / "m"
    code, _o, err = _run(["train", "--data", str(tmp_path / "d.csv"), "--label", "label", "--impute", "median",
                          "--hidden", "4", "--epochs", "2", "--out", str(out), "--quiet"], capsys)
    assert code == 0, err
    spec = json.loads((out / "model.json").read_text())
    fill = spec["metadata"]["impute"]["fill"]
    ds = from_csv(tmp_path / "d.csv", target="label", impute="median", random_state=0)
    train_raw = _train_rows(df, ds)
    for j, col in enumerate(("a", "b", "c")):
        assert fill[col] == pytest.approx(float(np.float32(np.nanmedian(train_raw[:, j]))), rel=1e-6)
    assert spec["metadata"]["data"]["impute"] == "median"
    # predictions on raw rows with NaN: filled with the stored values, identical after save/load
    rows = df.drop(columns="label").to_numpy(np.float32)[[1, 4, 7, 40, 2]]
    assert np.isnan(rows).any()
    model = load_model(out)
    before = model.output(rows)
    filled = np.where(np.isnan(rows), np.array([fill[c] for c in ("a", "b", "c")], np.float32), rows)
    np.testing.assert_array_equal(before, model.output(filled))
    model.save(tmp_path / "m2")
    np.testing.assert_array_equal(before, load_model(tmp_path / "m2").output(rows))
    # the recorded data re-opens with the recorded strategy (no impute= needed) and the same fills
    reopened = data_of(model)
    assert reopened.imputation is not None and reopened.imputation["fill"] == fill


def test_pipeline_data_spec_accepts_impute_and_refuses_unknown():
    from pydantic import ValidationError

    from leanlens.pipeline.config import DataSpec

    assert DataSpec(path="t.csv", target="y", impute="median").impute == "median"
    with pytest.raises(ValidationError, match="impute"):
        DataSpec(path="t.csv", target="y", impute="avg")
