"""How numbers are shown: sizes and significant digits (known answers)."""

from __future__ import annotations

import math

import pytest

from leanlens._format import human_bytes, human_count, significant


@pytest.mark.parametrize(("n", "text"), [
    (0, "0 B"), (1023, "1023 B"), (1024, "1.0 KB"), (12_345, "12.1 KB"),
    (5 * 1024**2, "5.0 MB"), (3 * 1024**3, "3.0 GB"), (2 * 1024**5, "2048.0 TB"), (None, "–"),
])
def test_human_bytes(n, text):
    assert human_bytes(n) == text


@pytest.mark.parametrize(("v", "text"), [
    (0.002449244260787964, "0.00245"), (0.97222, "0.972"), (12.3456, "12.3"), (1234.5, "1234"),
    (0.0, "0"), (-0.5, "-0.500"), (1e-7, "1.00e-07"), (3.2e9, "3.20e+09"), (7, "7"),
    (math.nan, "–"), (math.inf, "–"), (None, "–"), (True, "True"),
])
def test_significant(v, text):
    assert significant(v) == text


def test_human_count():
    assert human_count(1234567) == "1,234,567" and human_count(None) == "–"


def test_info_prints_sizes_a_person_reads(iris_mlp, tmp_path):
    from typer.testing import CliRunner

    from leanlens.cli import app

    iris_mlp.save(tmp_path / "m")
    out = CliRunner().invoke(app, ["info", str(tmp_path / "m")], terminal_width=200)
    assert out.exit_code == 0, out.output
    size = sum(f.stat().st_size for f in (tmp_path / "m").iterdir())
    assert f"{human_bytes(size)} ({size:,} bytes)" in out.output
