"""The CLI's foundation commands, through main() and once through a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import leanlens
from leanlens.cli import main


def run(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


def test_version(capsys):
    code, out, _ = run(["--version"], capsys)
    assert code == 0 and out.strip() == f"leanlens {leanlens.__version__}"


def test_datasets_lists_every_bundled_set(capsys):
    code, out, _ = run(["datasets"], capsys)
    assert code == 0
    for name in ("digits", "digits-images", "breast_cancer", "wine", "iris", "diabetes", "synthetic"):
        assert name in out


def test_train_then_info(tmp_path, capsys):
    out_dir = tmp_path / "iris-mlp"
    code, out, _ = run(["train", "--data", "iris", "--hidden", "8", "--epochs", "3", "--out", str(out_dir), "--quiet"], capsys)
    assert code == 0, out
    assert "test_accuracy" in out and (out_dir / "model.safetensors").is_file()
    code, out, _ = run(["info", str(out_dir), "--json"], capsys)
    info = json.loads(out)
    assert info["parameters"] == 4 * 8 + 8 + 8 * 3 + 3
    assert info["size_on_disk_bytes"] == sum(p.stat().st_size for p in out_dir.iterdir())
    assert "test_accuracy" in info["metrics"]


def test_train_refuses_existing_folder_unless_overwrite(tmp_path, capsys):
    out_dir = tmp_path / "m"
    args = ["train", "--data", "iris", "--hidden", "4", "--epochs", "1", "--out", str(out_dir), "--quiet"]
    assert run(args, capsys)[0] == 0
    code, _, err = run(args, capsys)
    assert code == 2 and "already exists" in err and "--overwrite" in err
    assert len(err.strip().splitlines()) == 1
    assert run([*args, "--overwrite"], capsys)[0] == 0


def test_train_from_csv_and_yaml(tmp_path, capsys):
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(80, 3)), columns=["a", "b", "c"])
    df["label"] = (df["a"] + df["b"] > 0).astype(int)
    df.to_csv(tmp_path / "d.csv", index=False)
    (tmp_path / "train.yaml").write_text("hidden: [8]\nepochs: 2\noptimizer: sgd\nlr: 0.05\n")
    code, _out, err = run(["train", "--data", str(tmp_path / "d.csv"), "--label", "label", "--config",
                          str(tmp_path / "train.yaml"), "--out", str(tmp_path / "m"), "--quiet"], capsys)
    assert code == 0, err
    model = leanlens.load_model(tmp_path / "m")
    assert model.feature_names == ("a", "b", "c")
    assert model.metadata["train"]["optimizer"] == "sgd"


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["train", "--data", "nope"], "Unknown dataset 'nope'"),
        (["train", "--data", "iris", "--optimizer", "adamm"], "Did you mean 'adam'"),
        (["train", "--data", "iris", "--lr", "-1"], "'lr' parameter of TrainConfig must be a number in (0, 1000]"),
        (["train", "--data", "iris", "--batch-size", "0"], "'--batch-size' parameter must be an int in [1, "),
        (["train", "--data", "iris", "--hidden", "a,b"], "--hidden must be comma-separated integers"),
        (["info", "/nonexistent/model"], "does not exist"),
    ],
)
def test_user_errors_exit_2_with_one_line(argv, fragment, tmp_path, capsys):
    code, _, err = run([*argv, "--out", str(tmp_path / "o")] if argv[0] == "train" else argv, capsys)
    assert code == 2
    assert fragment in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_csv_without_target(tmp_path, capsys):
    (tmp_path / "d.csv").write_text("a,b\n1,2\n")
    code, _, err = run(["train", "--data", str(tmp_path / "d.csv"), "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and "'label' parameter is required" in err


def test_pickle_model_is_refused_in_info(tmp_path, capsys):
    import pickle

    (tmp_path / "m.pkl").write_bytes(pickle.dumps(1))
    code, _, err = run(["info", str(tmp_path / "m.pkl")], capsys)
    assert code == 2 and "never unpickles" in err


def test_help_documents_every_option(capsys):
    code, out, _ = run(["train", "--help"], capsys)
    assert code == 0
    for opt in ("--data", "--label", "--arch", "--hidden", "--optimizer", "--schedule", "--config", "--out", "--overwrite", "--quiet"):
        assert opt in out


def test_real_process_exit_codes(tmp_path):
    exe = [sys.executable, "-m", "leanlens.cli"]
    ok = subprocess.run([*exe, "--version"], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0
    bad = subprocess.run([*exe, "train", "--data", "nope", "--out", str(tmp_path / "o")], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2
    assert bad.stderr.startswith("leanlens: error: Unknown dataset") and "Traceback" not in bad.stderr
    usage = subprocess.run([*exe, "train", "--bogus"], capture_output=True, text=True, timeout=120)
    assert usage.returncode == 2


@pytest.mark.parametrize(("given", "expected"), [(None, "PASSIVE"), ("ACTIVE", "ACTIVE")])
def test_the_cli_makes_torch_threads_wait_passively_unless_told(monkeypatch, given, expected):
    """Busy-waiting OpenMP threads multiplied a 2-thread training's CPU time ~10x beside another process."""
    import os

    if given is None:
        monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    else:
        monkeypatch.setenv("OMP_WAIT_POLICY", given)
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0 and os.environ["OMP_WAIT_POLICY"] == expected


def test_the_compress_table_fits_an_80_column_terminal(iris_mlp, tmp_path, capsys, monkeypatch):
    """One column per model, so nothing is cut to "…" in a narrow terminal; sizes in KB, 3 digits."""
    monkeypatch.setenv("COLUMNS", "80")
    iris_mlp.save(tmp_path / "m")
    with pytest.raises(SystemExit) as exc:
        main(["compress", str(tmp_path / "m"), "--data", "iris", "--prune", "structured:0.5", "--finetune", "1",
              "--reps", "2", "--out", str(tmp_path / "c"), "--quiet"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if not line.startswith("saved to ")]  # the tmp path may be long
    assert max(len(line) for line in lines) <= 80 and "…" not in out
    header = next(line for line in lines if "original" in line)
    assert header.index("original") < header.index("prune") < header.index("finetune")
    size = next(line for line in lines if line.lstrip("│ ").startswith("size"))
    assert "KB" in size and "speed-up @ 256" in out and "decision agreement" in out
