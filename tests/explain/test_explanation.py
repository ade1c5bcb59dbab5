"""The Explanation result object: views, global importance, serialization round-trips, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from leanlens.errors import InvalidInputError, ModelFormatError
from leanlens.explain import Explanation


def make(n=4, d=3, k=2, *, stderr=True, seed=0):
    rng = np.random.default_rng(seed)
    return Explanation(
        values=rng.normal(size=(n, d, k)), base_values=rng.random((n, k)), data=rng.normal(size=(n, d)),
        feature_names=("a", "b", "c"), output_names=("no", "yes"), method="test",
        params={"budget": 10, "arr": np.arange(2), "nested": {"x": np.float32(1.5)}},
        stderr=rng.random((n, d, k)) if stderr else None, n_model_evals=40, seconds=0.5,
        input_shape=(3,), notes=("a note",),
    )


def assert_same(a: Explanation, b: Explanation):
    for name in ("values", "base_values", "data"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    for name in ("stderr", "targets"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None)
        if x is not None:
            np.testing.assert_array_equal(x, y)
    assert a.feature_names == b.feature_names and a.output_names == b.output_names
    assert a.method == b.method and a.n_model_evals == b.n_model_evals and a.seconds == b.seconds
    assert a.input_shape == b.input_shape and a.notes == b.notes


def test_shape_facts():
    e = make()
    assert (e.n_rows, e.n_features, e.multi_output, len(e)) == (4, 3, True, 4)
    assert "values=(4, 3, 2)" in repr(e)


def test_output_view_by_index_and_name():
    e = make()
    one = e.output("yes")
    np.testing.assert_array_equal(one.values, e.values[:, :, 1])
    np.testing.assert_array_equal(one.base_values, e.base_values[:, 1])
    np.testing.assert_array_equal(one.stderr, e.stderr[:, :, 1])
    assert one.targets.tolist() == [1] * 4 and one.output_names == ("no", "yes")
    assert not one.multi_output and one.output(0) is one
    np.testing.assert_array_equal(e.output(-1).values, one.values)
    with pytest.raises(InvalidInputError, match="Unknown output 'maybe'"):
        e.output("maybe")
    with pytest.raises(InvalidInputError, match=r"must be in \[0, 2\)"):
        e.output(2)


def test_rows_view():
    e = make().output(0)
    sub = e.rows([0, 2])
    np.testing.assert_array_equal(sub.values, e.values[[0, 2]])
    np.testing.assert_array_equal(sub.data, e.data[[0, 2]])
    np.testing.assert_array_equal(sub.base_values, e.base_values[[0, 2]])
    assert sub.targets.tolist() == [0, 0]
    assert make().rows(slice(1, 3)).n_rows == 2


def test_global_importance_and_top_k():
    values = np.array([[1.0, -3.0, 0.0], [-1.0, 1.0, 0.5]])
    e = Explanation(values=values, base_values=np.zeros(2), data=np.zeros((2, 3)), feature_names=("a", "b", "c"),
                    output_names=("y",), method="m")
    np.testing.assert_allclose(e.global_importance(), [1.0, 2.0, 0.25])
    assert e.top_k(2) == ["b", "a"]
    multi = make()
    assert multi.global_importance().shape == (3, 2)
    gi = np.abs(multi.values).mean(0)
    assert multi.top_k(1, output=1) == [multi.feature_names[int(np.argmax(gi[:, 1]))]]
    assert multi.top_k(1) == [multi.feature_names[int(np.argmax(gi.sum(1)))]]
    with pytest.raises(InvalidInputError, match="'k' parameter must be a positive int"):
        e.top_k(0)


def test_sum_residual():
    e = make(stderr=False)
    fx = e.values.sum(axis=1) + e.base_values
    np.testing.assert_allclose(e.sum_residual(fx), 0.0, atol=1e-12)
    np.testing.assert_allclose(e.sum_residual(fx + 0.25), 0.25)


def test_dict_round_trip_is_json_able():
    e = make()
    d = json.loads(json.dumps(e.to_dict()))
    assert d["params"] == {"budget": 10, "arr": [0, 1], "nested": {"x": 1.5}}
    assert_same(Explanation.from_dict(d), e)
    t = make(stderr=False).output(1)
    assert_same(Explanation.from_dict(json.loads(json.dumps(t.to_dict()))), t)


def test_save_load_round_trip(tmp_path):
    e = make()
    p = e.save(tmp_path / "expl.json")
    assert p.name == "expl.json" and (tmp_path / "expl.npz").is_file()
    meta = json.loads(p.read_text())
    assert meta["shape"] == [4, 3, 2] and set(meta["global_importance"]) == {"a", "b", "c"}
    assert_same(Explanation.load(p), e)
    folder = tmp_path / "dir"
    folder.mkdir()
    e.output(0).save(folder)  # a folder gets explanation.json + explanation.npz
    assert_same(Explanation.load(folder), e.output(0))


def test_load_refuses_missing_or_corrupt_files(tmp_path):
    with pytest.raises(ModelFormatError, match="No explanation at"):
        Explanation.load(tmp_path / "nothing.json")
    p = make().save(tmp_path / "e.json")
    (tmp_path / "e.npz").write_bytes(b"not a zip")
    with pytest.raises(ModelFormatError, match="corrupt or partial"):
        Explanation.load(p)
    with pytest.raises(ModelFormatError, match="missing the key 'values'"):
        Explanation.from_dict({"base_values": [0.0]})


def test_constructor_validates_shapes():
    with pytest.raises(InvalidInputError, match=r"must be \(n, d\) or \(n, d, k\)"):
        Explanation(values=np.zeros(3), base_values=np.zeros(1), data=np.zeros(3), feature_names=("a",) * 3,
                    output_names=("y",), method="m")
    with pytest.raises(InvalidInputError, match="needs 3 feature names. Got 2"):
        Explanation(values=np.zeros((1, 3)), base_values=np.zeros(1), data=np.zeros((1, 3)), feature_names=("a", "b"),
                    output_names=("y",), method="m")
