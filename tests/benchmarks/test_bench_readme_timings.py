"""benchmarks/readme_timings.py reads every README command, checks that each reads only the repository
or an earlier command's output, fills the README's timing table, and runs the quick ones (so it does not rot)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import readme_timings  # noqa: E402


def test_every_readme_command_is_found_and_runnable():
    commands = readme_timings.readme_commands()
    readme = (ROOT / "README.md").read_text()
    for first in ("make demo", "leanlens --version", "leanlens demo --out runs/demo", "make test"):
        assert first in commands
    # continuation lines are joined, comments dropped, each command once
    assert any("--storage runs/study.db" in c for c in commands)
    assert all("\\" not in c and "#" not in c for c in commands)
    assert len(commands) == len(set(commands))
    for c in commands:
        assert c.split()[0] in ("leanlens", "make"), c
        assert c.split()[1] in readme
        run = readme_timings.runnable(c)  # a placeholder without a RUNNABLE entry raises
        assert run is None or ("[" not in run and "HOST:PORT" not in run)


def test_every_readme_command_reads_only_the_repository_or_an_earlier_output():
    """A reader who runs the README in order after `make demo` never meets a file it did not make."""
    assert readme_timings.dependency_problems() == []
    # the check can fail: a file nobody wrote, and an output read before the command that writes it
    problems = readme_timings.dependency_problems([
        "leanlens train --data my.csv --label y --out runs/m",
        "leanlens info runs/later",
        "leanlens train --data digits --out runs/later",
        "leanlens compare runs/m runs/later --twins 0 --out runs/d",
    ])
    assert len(problems) == 2
    assert "'my.csv'" in problems[0] and "'runs/later'" in problems[1] and "info" in problems[1]


def test_only_runs_the_commands_that_make_its_inputs_first():
    commands = ["leanlens train --data digits --out runs/a", "leanlens train --data iris --out runs/x",
                "leanlens compress runs/a --quantize int8 --out runs/b", "leanlens info runs/x",
                "leanlens compare runs/a runs/b/model/model.onnx --out runs/c"]
    assert readme_timings._with_prerequisites([commands[4]], commands) == [commands[0], commands[2], commands[4]]
    assert readme_timings.inputs_outputs(commands[4]) == (["runs/a", "runs/b/model/model.onnx"], ["runs/c"])


def test_write_readme_fills_the_table_from_the_results(tmp_path, monkeypatch):
    monkeypatch.setattr(readme_timings, "HAND_TIMED", {})
    readme = tmp_path / "README.md"
    readme.write_text("# x\n\n```bash\nmake test\nleanlens --version\nleanlens datasets   # sets\n"
                      "leanlens info runs/m\n```\n\nbefore\n"
                      f"{readme_timings.BEGIN}\nold table\n{readme_timings.END}\nafter\n")
    payload = {"mode": "full", "machine": {"date": "2026-12-03 19:30:00", "cpu": "AMD EPYC", "cores": 2},
               "rows": [{"command": "make test", "ran": None, "status": "not run", "why": "the whole suite"},
                        {"command": "leanlens --version", "ran": "leanlens --version", "status": "ok",
                         "wall_s": 0.61, "cpu_s": 0.4, "load_before": 0.5, "load_after": 0.5},
                        {"command": "leanlens datasets", "ran": "leanlens datasets", "status": "exit 2",
                         "wall_s": 12.34, "cpu_s": 3.2, "load_before": 0.5, "load_after": 1.25}]}
    readme_timings.write_readme(payload, readme)
    text = readme.read_text()
    assert "old table" not in text and text.startswith("# x") and text.rstrip().endswith("after")
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert rows == ["| `make test` | – | – | – | not run: the whole suite |",
                    "| `leanlens --version` | 0.61 | 0.40 | 0.5 |  |",
                    "| `leanlens datasets` | 12.3 | 3.20 | 0.5 → 1.2 | exit 2 |",
                    "| `leanlens info runs/m` | not measured | | | |"]
    assert "2026-12-03 19:30:00 UTC" in text and "1 of 2 README commands ran (exit 0)" in text
    assert "nice" not in text
    readme_timings.write_readme(payload, readme)  # idempotent: one table, filled again
    assert text == readme.read_text()
    readme_timings.write_readme({**payload, "nice": 19}, readme)  # a niced run says so
    assert "Run at nice 19 beside other jobs" in readme.read_text()


@pytest.mark.slow
def test_quick_mode_times_the_fast_commands(run_benchmark, tmp_path):
    # the script runs in this process; each README command it times is its own child process
    assert run_benchmark("readme_timings", "--quick", "--out", tmp_path) == 0
    data = json.loads((tmp_path / "readme_timings_partial.json").read_text())
    assert data["mode"] == "quick" and len(data["rows"]) >= 4
    for row in data["rows"]:
        assert row["status"] == "ok" and row["wall_s"] > 0 and row["cpu_s"] >= 0, row
    md = (tmp_path / "readme_timings_partial.md").read_text()
    assert md.rstrip().splitlines()[-1].startswith("Headline")


def test_a_partial_run_updates_only_its_own_rows_of_the_table():
    row = {"ran": None, "status": "ok", "load_before": 1.0, "load_after": 1.0}
    full = {"mode": "full", "machine": {"date": "day 1"}, "rows": [
        {**row, "command": "leanlens --version", "wall_s": 1.0, "cpu_s": 1.0},
        {**row, "command": "leanlens compare a b", "wall_s": 602.3, "status": "timeout after 600 s"}]}
    partial = {"mode": "only compare", "machine": {"date": "day 2"}, "rows": [
        {**row, "command": "leanlens compare a b", "wall_s": 90.0, "cpu_s": 120.0, "load_before": 8.4, "load_after": 10.8}]}
    m = readme_timings.merged(full, partial)
    assert [r["command"] for r in m["rows"]] == ["leanlens --version", "leanlens compare a b"]
    assert m["rows"][0] == full["rows"][0] and m["rows"][1]["wall_s"] == 90.0
    block = readme_timings.readme_block(m, ["leanlens --version", "leanlens compare a b"])
    assert "| `leanlens compare a b` | 90.0 | 120.0 | 8.4 → 10.8 | re-timed day 2 (only compare) |" in block
    assert "timeout" not in block and "| `leanlens --version` | 1.00 | 1.00 | 1.0 |  |" in block


def test_a_hand_timed_command_shows_its_figures_instead_of_not_run(tmp_path, monkeypatch):
    monkeypatch.setattr(readme_timings, "HAND_TIMED", {"make test": {
        "wall_s": 281.2, "cpu_s": 363.0, "load": "0.8", "note": "timed by hand | from a fresh clone"}})
    readme = tmp_path / "README.md"
    readme.write_text(f"```bash\nmake test\n```\n{readme_timings.BEGIN}\n{readme_timings.END}\n")
    payload = {"mode": "full", "machine": {"date": "2026-12-04 08:37:00", "cpu": "AMD EPYC", "cores": 2},
               "rows": [{"command": "make test", "ran": None, "status": "not run", "why": "the whole suite"}]}
    readme_timings.write_readme(payload, readme)
    rows = [line for line in readme.read_text().splitlines() if line.startswith("| `")]
    assert rows == ["| `make test` | 281.2 | 363.0 | 0.8 | timed by hand \\| from a fresh clone |"]
