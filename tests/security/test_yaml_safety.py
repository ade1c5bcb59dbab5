"""Issue 10, items 3 and 11: one safe YAML loader — no aliases, tags, bombs; short errors."""

from __future__ import annotations

import pytest

from leanlens.config import load_yaml, loads_yaml
from leanlens.errors import ConfigError
from leanlens.testing import hostile

from .conftest import json_lines, run_capped

YAML_CASES = [n for n in hostile.CASES if n.startswith("yaml_") and n != "yaml_long_key"]  # valid YAML, bad config


@pytest.mark.parametrize("name", YAML_CASES)
def test_hostile_yaml_is_refused_with_a_short_message(name, tmp_path):
    case = hostile.CASES[name](tmp_path)
    with pytest.raises(ConfigError) as info:
        load_yaml(case.path)
    assert len(str(info.value)) < 600
    if case.victim is not None:  # the python-tag case names a file it would create
        assert not case.victim.exists()


@pytest.mark.parametrize(("name", "needle"), [
    ("yaml_alias_bomb", "anchor or alias"), ("yaml_single_alias", "anchor or alias"),
    ("yaml_python_tag", "python/object/apply"), ("yaml_custom_tag", "'!ray.remote'"),
    ("yaml_non_utf8", "not UTF-8 text (byte 9 is 0xe9)"), ("yaml_huge", "MAX_YAML_BYTES"),
    ("yaml_deep_nesting", "nest"),
])
def test_yaml_refusals_say_why(name, needle, tmp_path):
    with pytest.raises(ConfigError) as info:
        load_yaml(hostile.CASES[name](tmp_path).path)
    assert needle in str(info.value)


def test_plain_yaml_still_loads():
    assert loads_yaml("name: a\nplan:\n  - prune: {amount: 0.5}\n  - quantize: {dtype: int8}\nx: [1, 2.5, true]\n") == {
        "name": "a", "plan": [{"prune": {"amount": 0.5}}, {"quantize": {"dtype": "int8"}}], "x": [1, 2.5, True]}


def test_echoed_values_are_cut_to_about_200_characters(tmp_path):
    from leanlens import TrainConfig

    with pytest.raises(ConfigError) as info:
        TrainConfig.from_yaml(hostile.yaml_long_key(tmp_path).path)
    assert "unknown key" in str(info.value) and len(str(info.value)) < 800


@pytest.mark.parametrize(("command", "maker"), [
    (["run"], hostile.yaml_alias_bomb),
    (["train", "--data", "iris", "--config"], hostile.yaml_alias_bomb_train),
    (["compress", "--data", "iris", "--plan"], hostile.yaml_alias_bomb_plan),
])
def test_alias_bomb_through_the_cli_exits_2_with_one_short_line(command, maker, tmp_path, run_cli, iris_mlp):
    case = maker(tmp_path)
    args = [*command, case.path]
    if command[0] == "compress":
        args = ["compress", iris_mlp.save(tmp_path / "m"), "--data", "iris", "--plan", case.path, "--out", tmp_path / "c"]
    elif command[0] == "train":
        args = [*args, "--out", tmp_path / "t"]
    code, err = run_cli(*args)
    assert code == 2, err
    assert err.count("\n") == 1 and len(err) < 400 and "anchor or alias" in err


@pytest.mark.slow
def test_alias_bomb_run_is_fast_and_small_in_a_capped_process(tmp_path):
    case = hostile.yaml_alias_bomb(tmp_path)
    body = """
from leanlens.cli import main
main(["run", sys.argv[1]])
"""
    proc = run_capped(body, timeout=120, mem_bytes=1024**3, args=[str(case.path)])
    assert proc.returncode == 2, proc.stderr[-500:]
    assert proc.stderr.count("\n") == 1 and len(proc.stderr) < 400
    assert json_lines(proc.stdout) == []
