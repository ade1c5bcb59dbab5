"""Issue 10 item 5: every size, budget and count has a documented bound, enforced in the library
(configs and entry points) before anything is allocated, and in the CLI as one line with exit 2."""

from __future__ import annotations

import numpy as np
import pytest

import leanlens
from leanlens import limits
from leanlens.cli import main
from leanlens.errors import ConfigError, InvalidInputError


def _cli(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    return exc.value.code, capsys.readouterr().err


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"lr": 1e300}, r"'lr' parameter of TrainConfig must be a number in \(0, 1000\]"),
    ({"hidden": (10**9,)}, r"'hidden' parameter of TrainConfig must be .*each an int in \[1, 65536\]"),
    ({"hidden": (8,) * 65}, "at most 64 items"),
    ({"epochs": 10**9}, r"'epochs' .* \[1, 100000\]"),
    ({"batch_size": 10**9}, "'batch_size'"),
    ({"channels": (10**7,)}, r"'channels' parameter .*each an int in \[1, 65536\]"),
])
def test_train_config_bounds(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        leanlens.TrainConfig(**kwargs)


def test_network_size_is_estimated_before_it_is_built(iris):
    cfg = leanlens.TrainConfig(hidden=(65536, 65536), epochs=1)  # each width is allowed; the product is not
    with pytest.raises(ConfigError, match=r"4,295,\d{3},\d{3} parameters .* at most 50,000,000"):
        leanlens.train(iris, cfg)


def test_distill_width_and_compress_threads_bounds(iris_mlp, iris):
    with pytest.raises(ConfigError, match=r"'hidden' parameter of Distill .*\[1, 65536\]"):
        leanlens.Distill(hidden=(10**9,))
    with pytest.raises(InvalidInputError, match=r"'threads' parameter of compress\(\) must be an int in \[1, 256\]"):
        leanlens.compress(iris_mlp, [leanlens.Prune(amount=0.5)], data=iris, threads=100000)


def test_explainer_budget_and_memory_bounds(iris_mlp, iris):
    with pytest.raises(InvalidInputError, match=r"'budget' parameter of KernelShap must be an int in \[1, 1000000\]"):
        leanlens.explain(iris_mlp, iris.X_test[:2], method="kernel", background=iris.X_train[:5], budget=10**9)
    f = leanlens.as_model(lambda X: X.sum(axis=1), input_shape=(900,), task="regression")
    X = np.zeros((1, 900), np.float32)
    with pytest.raises(InvalidInputError, match="coalition matrix"):
        leanlens.explain(f, X, method="kernel", background=X, budget=500_000)


def test_compare_and_pipeline_bounds():
    with pytest.raises(ConfigError, match="'n_rows'"):
        leanlens.CompareConfig(n_rows=10**9)
    from leanlens.pipeline.config import parse_pipeline_config

    with pytest.raises(ConfigError):
        parse_pipeline_config({"explain": {"methods": ["kernel"], "budget": 10**9}})
    with pytest.raises(ConfigError):
        parse_pipeline_config({"compress": {"threads": 100000}})


@pytest.mark.parametrize(("argv", "fragment"), [
    (["train", "--data", "iris", "--hidden", "1000000000"], "'--hidden width'"),
    (["train", "--data", "iris", "--epochs", "1000000000"], "'--epochs'"),
    (["compress", "m", "--threads", "100000", "--prune", "0.5"], "'--threads' parameter must be an int in [1, 256]"),
    (["compress", "m", "--distill", "1000000000"], "'hidden' parameter of Distill"),
    (["explain", "m", "--budget", "1000000000"], "'--budget'"),
    (["explain", "m", "--seed", "-5"], "'--seed' parameter must be None or an int in [0, 4294967295]"),
    (["evaluate", "m", "--seed", "-1"], "'--seed'"),
    (["explain", "m", "--background", "1000000000"], "'--background'"),
    (["evaluate", "m", "--rows", "1000000000"], "'--rows'"),
    (["sweep", "p.yaml", "--trials", "1000000000"], "'--trials'"),
])
def test_cli_bounds_exit_2_with_one_line(argv, fragment, tmp_path, capsys):
    code, err = _cli([*argv, "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and fragment in err and err.count("\n") == 1
    assert not (tmp_path / "o").exists()


def test_limits_are_documented():
    doc = limits.__doc__ or ""
    for name in limits.__all__:
        if name.startswith("MAX_"):
            assert name in doc and f"{getattr(limits, name):,}" in doc, name
