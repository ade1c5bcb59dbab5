"""The thin CLI: --quiet and --log-json on every command, --label for the label column,
--data defaulting to the data recorded in model.json."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from leanlens.cli import app, main


def run(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in argv])
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


def _command_names():
    return [c.name or c.callback.__name__ for c in app.registered_commands]


@pytest.mark.parametrize("command", _command_names())
def test_every_command_takes_quiet_and_log_json(command, capsys):
    code, out, _ = run([command, "--help"], capsys)
    assert code == 0
    assert "--quiet" in out and "--log-json" in out
    assert ("--target" not in out) or command in ("explain", "evaluate"), "--target only names the explained output"


def test_log_json_logs_the_command_as_json_lines(capsys):
    code, out, err = run(["explainers", "--log-json"], capsys)
    assert code == 0 and "kernel" in out
    events = [json.loads(line) for line in err.splitlines()]
    assert [e["event"] for e in events] == ["stage_start", "stage_end"] and events[1]["stage"] == "explainers"


@pytest.fixture(scope="module")
def csv_model(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("thin")
    df = pd.DataFrame({"a": [0.1 * i for i in range(60)], "b": [(-1) ** i for i in range(60)],
                       "y": ["hi" if i % 3 else "lo" for i in range(60)]})
    df.to_csv(tmp / "d.csv", index=False)
    with pytest.raises(SystemExit) as exc:
        main(["train", "--data", str(tmp / "d.csv"), "--label", "y", "--hidden", "4", "--epochs", "1",
              "--seed", "3", "--out", str(tmp / "m"), "--quiet"])
    assert exc.value.code == 0
    return tmp


def test_data_defaults_to_what_model_json_records(csv_model, capsys):
    meta = json.loads((csv_model / "m" / "model.json").read_text())
    assert meta["metadata"]["data"] == {"source": str((csv_model / "d.csv").resolve()), "label": "y"}
    code, _, err = run(["explain", csv_model / "m", "--method", "permutation", "--budget", "16", "--rows", "0:3",
                        "--background", "5", "--no-plots", "--quiet", "--out", csv_model / "e"], capsys)
    assert code == 0, err
    params = json.loads((csv_model / "e" / "explanation.json").read_text())["params"]
    assert params["data_seed"] == 3  # the split the model was trained with


def test_a_file_without_label_names_the_label_flag(csv_model, capsys):
    code, _, err = run(["compress", csv_model / "m", "--data", csv_model / "d.csv", "--prune", "0.5",
                        "--out", csv_model / "c"], capsys)
    assert code == 2 and "'label' parameter is required" in err and "--target" not in err
