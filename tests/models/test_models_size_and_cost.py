"""Each adapter answers n_parameters(), macs(batch) and saved_bytes() for itself."""

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier
from torch import nn

import leanlens
from leanlens.errors import InvalidInputError, UnsupportedModelError


def test_torch_counts_match_hand_counts():
    net = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    with torch.no_grad():
        net[0].weight[0].zero_()  # 4 zero weights
    m = leanlens.as_model(net)
    assert m.n_parameters() == 4 * 3 + 3 + 3 * 2 + 2
    assert m.n_parameters(nonzero=True) == m.n_parameters() - 4
    assert m.macs() == 4 * 3 + 3 * 2
    assert m.macs(batch=256) == 256 * (4 * 3 + 3 * 2)
    sparsity, csr = m.weight_sparsity()
    assert sparsity == pytest.approx(4 / 18)
    # CSR: 14 non-zero weights × (4 B value + 4 B index) + row pointers (4 and 3 rows + 1 each) + 5 float32 biases
    assert csr == 14 * 8 + (3 + 1) * 4 + (2 + 1) * 4 + 5 * 4
    with pytest.raises(InvalidInputError, match="'batch' parameter of macs"):
        m.macs(batch=0)


def test_conv_macs():
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(2 * 6 * 6, 2))
    m = leanlens.as_model(net, input_shape=(1, 8, 8))
    assert m.macs() == 3 * 3 * 1 * (2 * 6 * 6) + 72 * 2


def test_saved_bytes_is_the_folder_on_disk(iris_mlp, tmp_path):
    folder = iris_mlp.save(tmp_path / "m")
    on_disk = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    assert iris_mlp.saved_bytes() == on_disk


def test_foreign_torch_module_counts_its_weights_file():
    m = leanlens.as_model(nn.Sequential(nn.Linear(5, 2)))
    assert 5 * 2 * 4 + 2 * 4 < m.saved_bytes() < 5 * 2 * 4 + 2 * 4 + 1024  # float32 weights + a small header


def test_sklearn_counts(iris):
    tree = leanlens.as_model(DecisionTreeClassifier(max_depth=2, random_state=0).fit(iris.X_train, iris.y_train))
    assert tree.n_parameters() == tree.estimator.tree_.node_count
    lin = leanlens.as_model(LogisticRegression(max_iter=500).fit(iris.X_train, iris.y_train))
    assert lin.n_parameters() == lin.estimator.coef_.size
    assert tree.macs() is None
    assert tree.saved_bytes() > 0


def test_onnx_counts_initializers(iris_mlp, tmp_path):
    from leanlens.models.onnx_model import onnx_from_torch

    onnx = onnx_from_torch(iris_mlp, tmp_path / "o")
    # the export carries the weights and biases plus the preprocessing vectors (mean, scale)
    assert onnx.n_parameters() >= iris_mlp.n_parameters()
    assert onnx.n_parameters(nonzero=True) <= onnx.n_parameters()
    assert onnx.saved_bytes() > onnx.file_size()


def test_callable_has_no_sizes():
    m = leanlens.as_model(lambda X: X.sum(axis=1), n_features=3)
    assert m.n_parameters() is None and m.macs() is None and m.weight_sparsity() is None
    with pytest.raises(UnsupportedModelError):
        m.saved_bytes()
    from leanlens.compress.measurement import file_bytes

    assert file_bytes(m) is None
    assert np.isfinite(m.predict(np.ones((1, 3)))).all()
