"""A model.json field of the wrong type is reported as such, not as a missing field."""

from __future__ import annotations

import json

import pytest
from sklearn.ensemble import RandomForestClassifier

import leanlens
from leanlens.errors import ModelFormatError


def _spoil(folder, **fields):
    spec = json.loads((folder / "model.json").read_text())
    spec.update(fields)
    (folder / "model.json").write_text(json.dumps(spec))
    return folder


@pytest.fixture(scope="module")
def saved(iris_mlp, iris, tmp_path_factory):
    from leanlens.models.onnx_model import onnx_from_torch

    root = tmp_path_factory.mktemp("saved")
    rf = RandomForestClassifier(n_estimators=3, random_state=0).fit(iris.X_train, iris.y_train)
    return {
        "torch": iris_mlp.save(root / "torch"),
        "sklearn": leanlens.as_model(rf).save(root / "sklearn"),
        "onnx": onnx_from_torch(iris_mlp, root / "tmp-onnx").save(root / "onnx"),
    }


@pytest.mark.parametrize("kind", ["torch", "sklearn", "onnx"])
@pytest.mark.parametrize("fields", [{"feature_names": 5}, {"input_shape": 4}, {"output_names": None}])
def test_wrong_type_field(saved, kind, fields, tmp_path):
    import shutil

    folder = _spoil(shutil.copytree(saved[kind], tmp_path / kind), **fields)
    with pytest.raises(ModelFormatError, match="model.json has a field of the wrong type") as info:
        leanlens.load_model(folder)
    assert "missing" not in str(info.value)


@pytest.mark.parametrize("kind", ["torch", "sklearn", "onnx"])
def test_missing_field_is_still_reported_as_missing(saved, kind, tmp_path):
    import shutil

    folder = shutil.copytree(saved[kind], tmp_path / kind)
    spec = json.loads((folder / "model.json").read_text())
    del spec["feature_names"]
    (folder / "model.json").write_text(json.dumps(spec))
    with pytest.raises(ModelFormatError, match=r"incomplete model.json \(missing 'feature_names'\)"):
        leanlens.load_model(folder)
