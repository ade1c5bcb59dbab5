"""The pipeline file: validation errors name the bad key's path and the closest valid name."""

from __future__ import annotations

import json

import pytest

from leanlens.errors import ConfigError
from leanlens.pipeline import (
    PipelineConfig,
    json_schema,
    load_pipeline_config,
    parse_pipeline_config,
)


def test_defaults_validate_and_round_trip():
    cfg = parse_pipeline_config({})
    assert cfg.data.name == "digits" and cfg.explain.methods[0].method == "shapley"  # the recommended method is the default everywhere
    again = parse_pipeline_config(cfg.to_dict())
    assert again == cfg


def test_method_names_are_shorthand_for_specs():
    cfg = parse_pipeline_config({"explain": {"methods": ["kernel", {"method": "ig", "params": {"n_steps": 16}}]}})
    assert [m.method for m in cfg.explain.methods] == ["kernel", "ig"]
    assert cfg.explain.methods[1].params == {"n_steps": 16}


@pytest.mark.parametrize(
    ("data", "path", "hint"),
    [
        ({"dat": {}}, "dat", "'data'"),
        ({"explain": {"n_row": 3}}, "explain.n_row", "'n_rows'"),
        ({"plans": [{"name": "a", "stepz": []}]}, "plans[0].stepz", "'steps'"),
        ({"sweep": {"space": {"prune.amount": {"lo": 0.1, "high": 0.9}}}}, "sweep.space.prune.amount.lo", "'low'"),
        ({"model": {"train": {"epoch": 3}}}, "model.train.epoch", "'epochs'"),
    ],
)
def test_unknown_key_names_path_and_closest_name(data, path, hint):
    with pytest.raises(ConfigError) as exc:
        parse_pipeline_config(data)
    msg = str(exc.value)
    assert f"{path}: unknown key" in msg and f"Did you mean {hint}?" in msg


def test_wrong_type_names_the_path_and_the_value():
    with pytest.raises(ConfigError, match=r"seed: Input should be a valid integer.*got 'x'"):
        parse_pipeline_config({"seed": "x"})
    with pytest.raises(ConfigError, match=r"explain\.n_rows: .*greater than or equal to 1"):
        parse_pipeline_config({"explain": {"n_rows": 0}})


def test_wrong_literal_suggests_the_closest_option():
    with pytest.raises(ConfigError, match=r"executor\.backend: .*got 'rey'\. Did you mean 'ray'\?"):
        parse_pipeline_config({"executor": {"backend": "rey"}})


def test_unknown_compression_step_is_named():
    with pytest.raises(ConfigError, match=r"plans\[0\]\.steps: .*unknown step 'prun'\. Did you mean 'prune'\?"):
        parse_pipeline_config({"plans": [{"name": "p", "steps": [{"prun": {"amount": 0.5}}]}]})


def test_duplicate_or_reserved_plan_names_are_refused():
    with pytest.raises(ConfigError, match="plan names must be unique"):
        parse_pipeline_config({"plans": [{"name": "original", "steps": [{"quantize": {}}]}]})


def test_search_space_entries_need_choices_or_a_range():
    with pytest.raises(ConfigError, match=r"sweep\.space\.prune\.amount: give 'choices' or both"):
        parse_pipeline_config({"sweep": {"space": {"prune.amount": {"low": 0.1}}}})
    with pytest.raises(ConfigError, match="'choices' is empty"):
        parse_pipeline_config({"sweep": {"space": {"quantize.enabled": {"choices": []}}}})


def test_broken_yaml_names_line_and_column(tmp_path):
    p = tmp_path / "pipeline.yaml"
    p.write_text("name: x\ndata:\n  name: [digits\nseed: 1\n")
    with pytest.raises(ConfigError, match=r"not valid YAML at line \d+, column \d+"):
        load_pipeline_config(p)


def test_missing_pipeline_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_pipeline_config(tmp_path / "nope.yaml")


def test_relative_paths_resolve_against_the_file(tmp_path):
    p = tmp_path / "sub" / "pipeline.yaml"
    p.parent.mkdir()
    p.write_text("data: {path: rows.csv, target: y}\nmodel: {path: ../m}\n")
    cfg = load_pipeline_config(p)
    assert cfg.data.path == p.parent.resolve() / "rows.csv"
    assert cfg.model.path == p.parent.resolve() / "../m"


def test_schema_is_json_and_forbids_extra_keys():
    schema = json_schema()
    json.dumps(schema)
    assert schema["additionalProperties"] is False
    assert set(PipelineConfig.model_fields) <= set(schema["properties"])
    assert schema["$defs"]["ExplainSpec"]["additionalProperties"] is False


def test_latency_section_defaults_and_bounds():
    cfg = parse_pipeline_config({})
    # the defaults are the timing a run and a sweep always did: ≥ 20 rounds, then up to 5 s
    # (a run's table) or 1 s (a sweep's model), repeated up to 3 times while unreliable
    assert cfg.latency.model_dump() == {"max_seconds": 5.0, "trial_max_seconds": 1.0, "min_rounds": 20, "attempts": 3}
    with pytest.raises(ConfigError, match=r"latency\.attempts"):
        parse_pipeline_config({"latency": {"attempts": 0}})
    with pytest.raises(ConfigError, match=r"latency\.max_seconds"):
        parse_pipeline_config({"latency": {"max_seconds": -1}})
    with pytest.raises(ConfigError, match=r"latency\.rounds.*min_rounds"):
        parse_pipeline_config({"latency": {"rounds": 5}})


def test_the_latency_section_reaches_the_run_and_the_sweep_timing(monkeypatch, tmp_path, make_config,
                                                                  make_sweep_config):
    from leanlens.models import latency
    from leanlens.pipeline import run, sweep

    seen: list[dict] = []
    real = latency.interleaved

    def spy(models, X, **options):
        seen.append(options)
        return real(models, X, **options)

    monkeypatch.setattr(latency, "interleaved", spy)
    spec = {"max_seconds": 0.3, "trial_max_seconds": 0.05, "min_rounds": 4, "attempts": 2}
    run(make_config(latency=spec), out=tmp_path / "run")  # the pipeline alone (no report)
    assert [(o["min_reps"], o["max_seconds"], o["attempts"]) for o in seen] == [(4, 0.3, 2)]
    seen.clear()
    sweep(make_sweep_config(latency=spec), out=tmp_path / "sweep", trials=1)
    assert len(seen) == 2  # the original, then the one trial's model (the local executor runs it here)
    for options in seen:
        assert (options["min_reps"], options["max_seconds"], options["attempts"]) == (4, 0.05, 2)
