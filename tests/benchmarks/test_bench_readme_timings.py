"""benchmarks/readme_timings.py reads every README command and runs the quick ones (so it does not rot)."""

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
    for first in ("leanlens --version", "leanlens demo --out runs/demo", "make test"):
        assert first in commands
    # continuation lines are joined, comments dropped, each command once
    auto = [c for c in commands if "--require same-reasons" in c]
    assert auto and all("\\" not in c and "#" not in c for c in commands)
    assert len(commands) == len(set(commands))
    for c in commands:
        assert c.split()[0] in ("leanlens", "make"), c
        assert c.split()[1] in readme
        run = readme_timings.runnable(c)  # a placeholder without a RUNNABLE entry raises
        assert run is None or ("[" not in run and "HOST:PORT" not in run)


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
