"""leanlens run / sweep / schema / demo through main() and real subprocesses."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest
import yaml

from leanlens.cli import main


def call(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


def test_schema_prints_the_json_schema(capsys):
    code, out, _ = call(["schema"], capsys)
    schema = json.loads(out)
    assert code == 0 and schema["title"] == "leanlens pipeline" and "plans" in schema["properties"]


@pytest.mark.slow
def test_run_prints_the_table_and_the_report_path(tmp_path, capsys, make_config):
    cfg = tmp_path / "p.yaml"
    cfg.write_text(yaml.safe_dump(make_config()))
    code, out, err = call(["run", str(cfg), "--out", str(tmp_path / "r"), "--quiet"], capsys)
    assert code == 0, err
    assert "original" in out and f"report: {(tmp_path / 'r' / 'report.html').resolve()}" in out
    # --quiet: no progress bars; only a timing warning that depends on the machine's load may remain
    assert [line for line in err.splitlines() if "Latency figures are unreliable" not in line] == []


def test_run_log_json_gives_one_event_per_line(tmp_path, capsys, make_config):
    cfg = tmp_path / "p.yaml"
    cfg.write_text(yaml.safe_dump(make_config()))
    code, _, err = call(["run", str(cfg), "--out", str(tmp_path / "r"), "--log-json"], capsys)
    events = [json.loads(line) for line in err.splitlines()]
    assert code == 0 and events[-2]["event"] == "run_end"
    assert events[-1] == {**events[-1], "event": "stage_end", "stage": "run"}  # the command's own end
    assert {e["stage"] for e in events if e["event"] == "stage_end"} >= {"data", "model", "explain", "report"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("data:\n  name: [digits\nseed: 1\n", "not valid YAML at line 3, column 5"),
        ("dta: {name: iris}\n", "dta: unknown key 'dta'. Did you mean 'data'?"),
        ("explain: {methods: [exact], n_rows: many}\n", "explain.n_rows: Input should be a valid integer"),
    ],
)
def test_bad_pipeline_files_give_one_line_and_exit_2(tmp_path, capsys, text, message):
    cfg = tmp_path / "p.yaml"
    cfg.write_text(text)
    code, _, err = call(["run", str(cfg), "--out", str(tmp_path / "r")], capsys)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_missing_pipeline_file_and_existing_output(tmp_path, capsys, make_config):
    code, _, err = call(["run", str(tmp_path / "none.yaml")], capsys)
    assert code == 2 and "does not exist" in err
    cfg = tmp_path / "p.yaml"
    cfg.write_text(yaml.safe_dump(make_config()))
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "x.txt").write_text("x")
    code, _, err = call(["run", str(cfg), "--out", str(tmp_path / "r")], capsys)
    assert code == 2 and "already exists" in err and "--overwrite" in err


def test_sweep_with_an_empty_space_exits_2(tmp_path, capsys, make_sweep_config):
    cfg = make_sweep_config()
    cfg["sweep"]["space"] = {}
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(cfg))
    code, _, err = call(["sweep", str(path), "--out", str(tmp_path / "s")], capsys)
    assert code == 2 and "is empty" in err


@pytest.mark.slow
def test_ctrl_c_during_a_run(tmp_path, make_config):
    cfg = tmp_path / "p.yaml"
    cfg.write_text(yaml.safe_dump(make_config(model={"train": {"hidden": [8], "epochs": 400}})))
    out = tmp_path / "r"
    proc = subprocess.Popen([sys.executable, "-m", "leanlens.cli", "run", str(cfg), "--out", str(out), "--log-json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            # a runner started in the background may ignore SIGINT; children inherit that
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert proc.stderr is not None
    for line in proc.stderr:
        if line.startswith("{") and json.loads(line).get("stage") == "model":
            proc.send_signal(signal.SIGINT)
            break
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted" in err
    assert (out / "INTERRUPTED").is_file() and not (out / "report.html").exists()
    assert json.loads((out / "result.json").read_text())["status"] == "interrupted"
