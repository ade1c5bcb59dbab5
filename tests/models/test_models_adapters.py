import numpy as np
import pytest
import torch
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.svm import SVC
from torch import nn

import leanlens
from leanlens.errors import InvalidInputError, UnsupportedModelError


def test_torch_module_adapter_infers_shape_and_task():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    model = leanlens.as_model(net)
    assert model.kind == "torch" and model.input_shape == (4,) and model.task == "multiclass"
    X = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    expected = torch.softmax(net(torch.from_numpy(X)), dim=1).detach().numpy()
    np.testing.assert_allclose(model.output(X), expected, rtol=1e-5)
    np.testing.assert_array_equal(model.predict(X), expected.argmax(axis=1))


def test_regression_module_outputs_values():
    net = nn.Linear(3, 1)
    model = leanlens.as_model(net)
    assert model.task == "regression"
    X = np.ones((2, 3), np.float32)
    np.testing.assert_allclose(model.predict(X), net(torch.from_numpy(X)).detach().numpy()[:, 0], rtol=1e-6)
    with pytest.raises(UnsupportedModelError, match="predict_proba"):
        model.predict_proba(X)


def test_sklearn_adapter(iris):
    est = LogisticRegression(max_iter=500).fit(iris.X_train, iris.y_train)
    model = leanlens.as_model(est, feature_names=iris.feature_names)
    assert model.kind == "sklearn" and model.task == "multiclass" and model.n_outputs == 3
    np.testing.assert_allclose(model.output(iris.X_test), est.predict_proba(iris.X_test))
    reg = leanlens.as_model(LinearRegression().fit(iris.X_train, iris.X_train[:, 0]))
    assert reg.task == "regression" and reg.output(iris.X_test).shape == (len(iris.X_test), 1)


def test_sklearn_classifier_without_predict_proba_is_refused(iris):
    with pytest.raises(UnsupportedModelError, match="no predict_proba"):
        leanlens.as_model(SVC().fit(iris.X_train, iris.y_train))


def test_unfitted_estimator_is_refused():
    with pytest.raises(UnsupportedModelError, match="not fitted"):
        leanlens.as_model(LogisticRegression())


def test_callable_adapter():
    w = np.array([1.0, -2.0, 0.5])
    model = leanlens.as_model(lambda X: X @ w, n_features=3)
    assert model.kind == "callable" and model.task == "regression"
    np.testing.assert_allclose(model.predict(np.eye(3)), w)
    clf = leanlens.as_model(lambda X: np.stack([1 / (1 + np.exp(X[:, 0])), 1 - 1 / (1 + np.exp(X[:, 0]))], axis=1),
                            n_features=2, task="binary", output_names=("a", "b"))
    assert clf.predict(np.array([[5.0, 0.0], [-5.0, 0.0]])).tolist() == [1, 0]


def test_callable_needs_a_feature_count():
    with pytest.raises(InvalidInputError, match="needs 'n_features'"):
        leanlens.as_model(lambda X: X.sum(axis=1))


def test_unsupported_object():
    with pytest.raises(UnsupportedModelError, match="cannot wrap an object of type builtins.int"):
        leanlens.as_model(3)


def test_feature_count_mismatch_at_prediction(iris_mlp):
    with pytest.raises(InvalidInputError, match="has 3 features per row; the model expects 4"):
        iris_mlp.predict(np.zeros((2, 3)))
    with pytest.raises(InvalidInputError, match="1-D array"):
        iris_mlp.predict(np.zeros(4))


def test_nan_at_prediction(iris_mlp):
    X = np.zeros((3, 4))
    X[2, 0] = np.nan
    with pytest.raises(InvalidInputError, match=r"NaN or infinite values .*in 1 rows \(first: row 2, column"):
        iris_mlp.output(X)


def test_onnx_export_matches_torch(iris_mlp, iris, tmp_path):
    from leanlens.models.onnx_model import onnx_from_torch

    onnx_model = onnx_from_torch(iris_mlp, tmp_path / "onnx")
    assert onnx_model.kind == "onnx"
    np.testing.assert_allclose(onnx_model.output(iris.X_test), iris_mlp.output(iris.X_test), atol=1e-5)
    # as_model on the bare file
    again = leanlens.as_model(str(tmp_path / "onnx" / "model.onnx"), task="multiclass")
    np.testing.assert_allclose(again.output(iris.X_test), iris_mlp.output(iris.X_test), atol=1e-5)


def test_as_model_is_idempotent(iris_mlp):
    assert leanlens.as_model(iris_mlp) is iris_mlp
