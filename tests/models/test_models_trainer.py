import hashlib

import numpy as np
import pytest

import leanlens
from leanlens.errors import ConfigError, InvalidInputError


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_same_seed_gives_byte_identical_safetensors(iris, tmp_path):
    cfg = leanlens.TrainConfig(hidden=(16, 8), epochs=3, random_state=7)
    a = leanlens.train(iris, cfg).save(tmp_path / "a")
    b = leanlens.train(iris, cfg).save(tmp_path / "b")
    c = leanlens.train(iris, cfg.replace(random_state=8)).save(tmp_path / "c")
    assert _sha(a / "model.safetensors") == _sha(b / "model.safetensors")
    assert _sha(a / "model.safetensors") != _sha(c / "model.safetensors")


def test_training_does_not_touch_the_global_torch_rng(iris):
    import torch

    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    leanlens.train(iris, leanlens.TrainConfig(random_state=0, hidden=(8,), epochs=1))
    assert torch.equal(torch.rand(3), expected)


def test_sgd_linear_regression_reaches_the_least_squares_solution():
    """The seed text's gradient-descent example: linear regression by full-batch SGD."""
    rng = np.random.default_rng(0)
    X = rng.normal(2.0, 1.5, size=(400, 3))
    y = X @ np.array([1.5, -2.0, 0.5]) + 0.7 + rng.normal(0, 0.3, 400)
    ds = leanlens.datasets.from_numpy(X, y, task="regression", random_state=0)
    cfg = leanlens.TrainConfig(hidden=(), dropout=0.0, optimizer="sgd", momentum=0.0, lr=0.1,
                               schedule="constant", batch_size=len(ds.X_train), epochs=600, random_state=0)
    model = leanlens.train(ds, cfg)
    A = np.hstack([ds.X_train.astype(np.float64), np.ones((len(ds.X_train), 1))])
    coef, *_ = np.linalg.lstsq(A, ds.y_train.astype(np.float64), rcond=None)
    # effective raw-unit coefficients of the trained model (its standardization included)
    f0 = model.predict(np.zeros((1, 3)))[0]
    w = np.array([model.predict(np.eye(3)[i : i + 1])[0] - f0 for i in range(3)])
    np.testing.assert_allclose(w, coef[:3], atol=1e-3)
    assert f0 == pytest.approx(coef[3], abs=1e-3)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "gelu"])
@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adamw", "rmsprop"])
def test_every_activation_and_optimizer_learns_iris(iris, activation, optimizer):
    lr = 0.05 if optimizer == "sgd" else 1e-2
    model = leanlens.train(iris, leanlens.TrainConfig(random_state=0, hidden=(16,), activation=activation, optimizer=optimizer,
                                                        lr=lr, epochs=30, batch_size=16, dropout=0.0))
    assert model.metadata["metrics"]["test_accuracy"] >= 0.8  # chance is 1/3


@pytest.mark.parametrize("schedule", ["constant", "exponential", "step", "cosine", "onecycle"])
def test_every_schedule_runs_and_learns(iris, schedule):
    model = leanlens.train(iris, leanlens.TrainConfig(random_state=0, hidden=(16,), schedule=schedule, lr=1e-2, epochs=20, step_size=5))
    assert model.metadata["metrics"]["test_accuracy"] >= 0.8


@pytest.mark.parametrize("loss", ["bce", "mse", "cross_entropy"])
def test_losses_on_binary_data(loss):
    ds = leanlens.datasets.load("breast_cancer", random_state=0)
    model = leanlens.train(ds, leanlens.TrainConfig(random_state=0, hidden=(32,), loss=loss, epochs=10))
    proba = model.predict_proba(ds.X_test)
    assert proba.shape == (len(ds.X_test), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1, atol=1e-5)
    assert model.metadata["metrics"]["test_accuracy"] >= 0.9


def test_regression_reports_r2():
    ds = leanlens.datasets.load("diabetes", random_state=0)
    model = leanlens.train(ds, leanlens.TrainConfig(random_state=0, hidden=(32,), epochs=30, lr=1e-2))
    assert model.metadata["metrics"]["test_r2"] > 0.3
    assert model.predict(ds.X_test).shape == (len(ds.X_test),)


def test_early_stopping_stops_and_keeps_best_weights(iris):
    model = leanlens.train(iris, leanlens.TrainConfig(random_state=0, hidden=(64,), epochs=200, lr=5e-2, patience=3))
    m = model.metadata["metrics"]
    assert m["stopped_early"] is True
    assert m["epochs_run"] < 200
    assert m["epochs_run"] - m["best_epoch"] == 3


def test_small_cnn_on_digit_images():
    ds = leanlens.datasets.load("digits-images", random_state=0)
    model = leanlens.train(ds, leanlens.TrainConfig(random_state=0, arch="cnn", channels=(8, 16), hidden=(32,), epochs=5, lr=5e-3))
    assert model.input_shape == (1, 8, 8)
    assert model.metadata["metrics"]["test_accuracy"] > 0.8


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"optimizer": "adamm"}, "'optimizer' parameter of TrainConfig must be one of .*Did you mean 'adam'"),
        ({"schedule": "cosin"}, "'schedule' parameter of TrainConfig must be one of .*Did you mean 'cosine'"),
        ({"activation": "rellu"}, "'activation' parameter of TrainConfig must be one of .*Did you mean 'relu'"),
        ({"lr": -0.1}, r"'lr' parameter of TrainConfig must be a number in \(0, 1000\]. Got -0.1"),
        ({"batch_size": 0}, "'batch_size' parameter of TrainConfig must be an int in \\[1, 1048576\\]. Got 0"),
        ({"epochs": 0}, "'epochs'"),
        ({"dropout": 1.0}, "'dropout'"),
        ({"loss": "hinge"}, "'loss' parameter of TrainConfig must be one of 'auto'"),
    ],
)
def test_bad_train_config(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        leanlens.TrainConfig(**kwargs)


def test_cnn_on_tabular_data_is_refused(iris):
    with pytest.raises(ConfigError, match="arch='cnn' needs image inputs"):
        leanlens.train(iris, leanlens.TrainConfig(arch="cnn"))


def test_bce_on_multiclass_is_refused(iris):
    with pytest.raises(ConfigError, match="binary classification"):
        leanlens.train(iris, leanlens.TrainConfig(loss="bce"))


def test_train_checks_its_arguments(iris):
    with pytest.raises(InvalidInputError, match="'dataset' parameter must be a leanlens Dataset"):
        leanlens.train("iris")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="'config' parameter must be a TrainConfig"):
        leanlens.train(iris, {"epochs": 3})  # type: ignore[arg-type]


def test_train_config_yaml_round_trip(tmp_path):
    cfg = leanlens.TrainConfig(random_state=0, hidden=(32, 16), optimizer="sgd", schedule="step", patience=4)
    path = cfg.save(tmp_path / "train.yaml")
    assert leanlens.TrainConfig.from_yaml(path) == cfg
    assert leanlens.TrainConfig.from_dict(cfg.to_dict()) == cfg


def test_train_config_unknown_key(tmp_path):
    (tmp_path / "t.yaml").write_text("hiden: [4]\n")
    with pytest.raises(ConfigError, match="unknown key 'hiden'. Did you mean 'hidden'"):
        leanlens.TrainConfig.from_yaml(tmp_path / "t.yaml")


def test_broken_yaml_names_line_and_column(tmp_path):
    (tmp_path / "t.yaml").write_text("epochs: 3\nhidden: [4, 5\n")
    with pytest.raises(ConfigError, match=r"line \d+, column \d+"):
        leanlens.TrainConfig.from_yaml(tmp_path / "t.yaml")
