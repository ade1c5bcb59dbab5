"""Helpers of the security regression tests: run the CLI in-process, run code in a capped subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[2] / "src")


@pytest.fixture
def run_cli(capsys):
    """``leanlens <args>`` in-process through ``cli.main``: (exit code, stderr)."""
    from leanlens.cli import main

    def run(*args: str) -> tuple[int, str]:
        with pytest.raises(SystemExit) as info:
            main([str(a) for a in args])
            raise SystemExit(0)
        return int(info.value.code or 0), capsys.readouterr().err

    return run


CAPPED = """
import json, resource, sys, time
resource.setrlimit(resource.RLIMIT_AS, ({cap}, {cap}))
{body}
"""


def run_capped(body: str, *, timeout: float, mem_bytes: int = 1536 * 1024**2,
               args: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``body`` in a fresh Python with an address-space cap (RLIMIT_AS) and a timeout."""
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-c", CAPPED.format(cap=mem_bytes, body=body), *(args or [])],
                          capture_output=True, text=True, timeout=timeout, env=env)


def json_lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]
