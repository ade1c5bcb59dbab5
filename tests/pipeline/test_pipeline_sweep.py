"""sweep(): Optuna multi-objective search, SQLite resume (also after a kill), bad storage, empty spaces."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys

import pytest
import yaml

from leanlens import sweep  # leanlens.pipeline.sweep with leanlens.report's writer
from leanlens.errors import ConfigError, OutputExistsError
from leanlens.pipeline import StudyStorageError, parse_pipeline_config
from leanlens.pipeline.space import build_plan


def test_build_plan_sets_fields_and_switches_steps_off():
    template = [{"prune": {"kind": "structured", "amount": 0.5}}, {"finetune": {"epochs": 2}}, {"quantize": {}}]
    plan = build_plan(template, {"prune.amount": 0.3, "quantize.enabled": False, "finetune.epochs": 4})
    assert plan == [{"prune": {"kind": "structured", "amount": 0.3}}, {"finetune": {"epochs": 4}}]
    assert template[0]["prune"]["amount"] == 0.5  # the template is not modified
    with pytest.raises(ConfigError, match="switch off every step"):
        build_plan([{"quantize": {}}], {"quantize.enabled": False})


@pytest.mark.slow
def test_sweep_runs_every_trial_and_resumes_where_it_stopped(tmp_path, make_sweep_config):
    events = []
    res = sweep(make_sweep_config(), out=tmp_path / "s", trials=2, log=events.append)
    assert res.status == "complete" and (tmp_path / "s" / "study.db").is_file()
    assert [t["state"] for t in res.trials] == ["COMPLETE", "COMPLETE"]
    for t in res.trials:
        assert 0 <= t["accuracy"] <= 1 and t["latency_ms"] > 0 and 0 <= t["agreement"] <= 1
        assert t["plan"][0]["prune"]["amount"] == pytest.approx(t["params"]["prune.amount"])
    assert any(t["pareto"] for t in res.trials)
    assert res.models[0].name == "original" and all(m.name.startswith("trial-") for m in res.models[1:])
    report = (tmp_path / "s" / "report.html").read_text()
    assert 'id="sweep"' in report and "sweep trials" in report

    events.clear()
    again = sweep(make_sweep_config(), out=tmp_path / "s", trials=3, log=events.append)
    start = next(e for e in events if e["event"] == "sweep_start")
    assert start["resumed"] is True
    assert sum(e["event"] == "trial_complete" for e in events) == 1
    assert [t["state"] for t in again.trials] == ["COMPLETE"] * 3
    assert [t["params"] for t in again.trials[:2]] == [t["params"] for t in res.trials]


@pytest.mark.slow
def test_sweep_resumes_after_being_killed(tmp_path, make_sweep_config):
    cfg_path = tmp_path / "sweep.yaml"
    cfg_path.write_text(yaml.safe_dump(make_sweep_config(sweep={**make_sweep_config()["sweep"], "trials": 50})))
    out = tmp_path / "killed"
    proc = subprocess.Popen(
        [sys.executable, "-m", "leanlens.cli", "sweep", str(cfg_path), "--out", str(out), "--log-json"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    completed = 0
    assert proc.stderr is not None
    for line in proc.stderr:
        if line.startswith("{") and json.loads(line).get("event") == "trial_complete":
            completed += 1
            if completed == 2:
                break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert completed == 2

    events = []
    res = sweep(make_sweep_config(), out=out, trials=3, log=events.append)
    start = next(e for e in events if e["event"] == "sweep_start")
    assert start["resumed"] is True and start["stale_trials"] in (0, 1)
    states = [t["state"] for t in res.trials]
    assert states.count("COMPLETE") == 3
    assert states[:2] == ["COMPLETE", "COMPLETE"]  # the trials finished before the kill are kept
    assert sum(e["event"] == "trial_complete" for e in events) <= 1


def test_locked_study_database_is_a_clear_error(tmp_path, make_sweep_config):
    db = tmp_path / "locked.db"
    holder = sqlite3.connect(str(db))
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StudyStorageError, match="locked by another process"):
            sweep(make_sweep_config(), out=tmp_path / "s", storage=f"sqlite:///{db}")
    finally:
        holder.rollback()
        holder.close()


def test_corrupt_study_database_is_a_clear_error(tmp_path, make_sweep_config):
    out = tmp_path / "s"
    out.mkdir()
    (out / "sweep.json").write_text("{}")
    (out / "study.db").write_bytes(b"this is not a database" * 100)
    with pytest.raises(StudyStorageError, match="corrupt"):
        sweep(make_sweep_config(), out=out)


@pytest.mark.parametrize("space", [{}, {"prune.amount": {"choices": [0.5]}, "quantize.enabled": {"low": 1, "high": 1}}])
def test_empty_search_space_is_refused(tmp_path, make_sweep_config, space):
    cfg = make_sweep_config()
    cfg["sweep"]["space"] = space
    with pytest.raises(ConfigError, match="search space 'sweep.space' is empty"):
        sweep(cfg, out=tmp_path / "s")
    assert not (tmp_path / "s").exists()


def test_a_pipeline_without_a_sweep_section_is_refused(tmp_path, make_config):
    with pytest.raises(ConfigError, match="no 'sweep' section"):
        sweep(make_config(), out=tmp_path / "s")


def test_space_keys_must_name_a_template_step(make_sweep_config):
    cfg = make_sweep_config()
    cfg["sweep"]["space"] = {"prun.amount": {"low": 0.1, "high": 0.5}}
    with pytest.raises(ConfigError, match=r"sweep: .*names the step 'prun'.*Did you mean 'prune'\?"):
        parse_pipeline_config(cfg)


def test_an_invalid_plan_in_the_space_is_refused_before_training(tmp_path, make_sweep_config):
    cfg = make_sweep_config()
    cfg["sweep"]["space"] = {"prune.amount": {"low": 1.5, "high": 2.0}}
    with pytest.raises(ConfigError, match="'amount' parameter of Prune"):
        sweep(cfg, out=tmp_path / "s")


def test_a_folder_that_is_not_a_sweep_is_refused(tmp_path, make_sweep_config):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(OutputExistsError, match="not a sweep folder"):
        sweep(make_sweep_config(), out=tmp_path)
