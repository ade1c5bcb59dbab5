import json
import pickle

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier

import leanlens
from leanlens.errors import ModelFormatError, OutputExistsError


def test_torch_round_trip(iris_mlp, iris, tmp_path):
    path = iris_mlp.save(tmp_path / "m")
    assert sorted(p.name for p in path.iterdir()) == [".leanlens", "model.json", "model.safetensors"]
    spec = json.loads((path / "model.json").read_text())
    assert spec["format"] == "leanlens-torch" and spec["leanlens_version"] == leanlens.__version__
    assert spec["feature_names"] == list(iris.feature_names)
    assert spec["output_names"] == list(iris.target_names)
    assert "mean" in spec["preprocessing"] and spec["layers"][0]["type"] == "flatten"
    loaded = leanlens.load_model(path)
    np.testing.assert_array_equal(loaded.output(iris.X_test), iris_mlp.output(iris.X_test))
    assert loaded.metadata["metrics"] == iris_mlp.metadata["metrics"]


def test_cnn_round_trip(tmp_path):
    ds = leanlens.datasets.load("digits-images", random_state=0)
    model = leanlens.train(ds, leanlens.TrainConfig(random_state=0, arch="cnn", channels=(4, 8), hidden=(16,), epochs=1))
    loaded = leanlens.load_model(model.save(tmp_path / "cnn"))
    np.testing.assert_array_equal(loaded.output(ds.X_test[:20]), model.output(ds.X_test[:20]))


def test_sklearn_round_trip_uses_skops(iris, tmp_path):
    est = RandomForestClassifier(n_estimators=5, random_state=0).fit(iris.X_train, iris.y_train)
    path = leanlens.as_model(est).save(tmp_path / "rf")
    assert (path / "model.skops").is_file()
    loaded = leanlens.load_model(path)
    np.testing.assert_array_equal(loaded.output(iris.X_test), est.predict_proba(iris.X_test))


def test_onnx_folder_round_trip(iris_mlp, iris, tmp_path):
    from leanlens.models.onnx_model import onnx_from_torch

    onnx_model = onnx_from_torch(iris_mlp, tmp_path / "tmp-onnx")
    loaded = leanlens.load_model(onnx_model.save(tmp_path / "onnx-folder"))
    assert loaded.kind == "onnx"
    np.testing.assert_allclose(loaded.output(iris.X_test), iris_mlp.output(iris.X_test), atol=1e-5)


def test_pickle_file_is_refused_with_a_reason(tmp_path):
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps({"weights": [1, 2, 3]}))
    with pytest.raises(ModelFormatError, match="never unpickles: loading a pickle can run arbitrary code"):
        leanlens.load_model(path)
    # also without the suffix: detected by its header
    other = tmp_path / "weights.dat"
    other.write_bytes(pickle.dumps([1]))
    with pytest.raises(ModelFormatError, match="pickle"):
        leanlens.load_model(other)
    with pytest.raises(ModelFormatError, match="pickle"):
        leanlens.as_model(str(path))


def test_folder_of_pickles_is_refused(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "model.joblib").write_bytes(b"\x80\x04")
    with pytest.raises(ModelFormatError, match="holds pickle files"):
        leanlens.load_model(tmp_path / "m")


def test_missing_and_partial_folders(iris_mlp, tmp_path):
    with pytest.raises(ModelFormatError, match="does not exist"):
        leanlens.load_model(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelFormatError, match="no model.json"):
        leanlens.load_model(tmp_path / "empty")
    path = iris_mlp.save(tmp_path / "m")
    (path / "model.safetensors").unlink()
    with pytest.raises(ModelFormatError, match="no model.safetensors"):
        leanlens.load_model(path)


def test_corrupt_files(iris_mlp, tmp_path):
    path = iris_mlp.save(tmp_path / "m")
    data = (path / "model.safetensors").read_bytes()
    (path / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFormatError, match="corrupt or partial"):
        leanlens.load_model(path)
    path2 = iris_mlp.save(tmp_path / "m2")
    (path2 / "model.json").write_text("{not json")
    with pytest.raises(ModelFormatError, match="not valid JSON"):
        leanlens.load_model(path2)
    spec = json.loads((iris_mlp.save(tmp_path / "m3") / "model.json").read_text())
    del spec["layers"]
    (tmp_path / "m3" / "model.json").write_text(json.dumps(spec))
    with pytest.raises(ModelFormatError, match="incomplete model.json"):
        leanlens.load_model(tmp_path / "m3")


def test_existing_output_folder_is_refused_unless_overwrite(iris_mlp, tmp_path):
    path = iris_mlp.save(tmp_path / "m")
    with pytest.raises(OutputExistsError, match="already exists"):
        iris_mlp.save(path)
    iris_mlp.save(path, overwrite=True)
    assert (path / "model.safetensors").is_file()
    # nothing temporary left behind
    assert [p.name for p in tmp_path.iterdir()] == ["m"]


def test_interrupted_save_leaves_nothing(iris_mlp, tmp_path, monkeypatch):
    import safetensors.torch

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(safetensors.torch, "save_file", boom)
    with pytest.raises(KeyboardInterrupt):
        iris_mlp.save(tmp_path / "m")
    assert list(tmp_path.iterdir()) == []


def test_crafted_skops_file_cannot_run_code(iris, tmp_path):
    """A skops file whose tree node is rewritten to call builtins.exec is refused before loading."""
    import zipfile

    from sklearn.tree import DecisionTreeClassifier

    est = DecisionTreeClassifier(max_depth=2, random_state=0).fit(iris.X_train, iris.y_train)
    path = leanlens.as_model(est).save(tmp_path / "sk")
    skops_file = path / "model.skops"
    with zipfile.ZipFile(skops_file) as z:
        files = {n: z.read(n) for n in z.namelist()}
    schema = json.loads(files["schema.json"])
    marker = tmp_path / "PWNED"
    node = schema["content"]["content"]["tree_"]
    node.update({"__class__": "exec", "__module__": "builtins", "__loader__": "LossNode",
                 "content": {"__class__": "dict", "__module__": "builtins", "__loader__": "DictNode", "content": {},
                             "key_types": {"__class__": "list", "__module__": "builtins", "__loader__": "ListNode",
                                           "content": []}}})
    node["__reduce__"]["args"]["content"] = [
        {"__class__": "str", "__module__": "builtins", "__loader__": "JsonNode",
         "content": json.dumps(f"open({str(marker)!r}, 'w').write('x')"), "is_json": True, "__id__": 1}
    ]
    files["schema.json"] = json.dumps(schema).encode()
    with zipfile.ZipFile(skops_file, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    with pytest.raises(ModelFormatError, match=r"does not trust: 'builtins.exec \(not a scikit-learn estimator\)"):
        leanlens.load_model(path)
    assert not marker.exists()


def test_skops_trust_is_limited_to_sklearn_estimators_and_the_allow_list():
    from leanlens.models.skops_audit import refused_types

    trusted = ["sklearn.tree._tree.Tree", "sklearn.ensemble._forest.RandomForestClassifier",
               "sklearn.neural_network._stochastic_optimizers.AdamOptimizer"]
    assert refused_types(trusted) == {}
    refused = refused_types([
        "builtins.exec", "numpy.memmap",
        "sklearn.utils.validation.check_array",  # a function, not a class
        "sklearn.nope.Missing",
        "sklearn.datasets._covtype.GzipFile",  # gzip.GzipFile re-exported by sklearn
        "sklearn.externals.array_api_compat.torch.PyTorchFileWriter",
        "sklearn.ensemble.RandomForestClassifier",  # a real estimator under a path that is not its own
        "sklearn.neighbors._kd_tree.KDTree",  # sklearn's own class, but not an estimator
    ])
    assert len(refused) == 8
    assert "re-export of gzip.GzipFile" in refused["sklearn.datasets._covtype.GzipFile"]
