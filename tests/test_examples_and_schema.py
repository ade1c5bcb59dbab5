"""The example YAML files validate against `leanlens schema` and load with the real loaders."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
import yaml

from leanlens.errors import InvalidInputError
from leanlens.pipeline.config import json_schema, load_pipeline_config

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_example_pipeline_validates_against_the_schema_and_loads():
    data = yaml.safe_load((EXAMPLES / "pipeline.yaml").read_text())
    jsonschema.validate(data, json_schema())
    cfg = load_pipeline_config(EXAMPLES / "pipeline.yaml")
    assert [p.name for p in cfg.plans] == ["pruned-int8", "distilled"]


def test_example_train_yaml_validates_against_the_schema_and_loads():
    from leanlens import TrainConfig

    data = yaml.safe_load((EXAMPLES / "train.yaml").read_text())
    jsonschema.validate(data, json_schema("train"))
    cfg = TrainConfig.from_yaml(EXAMPLES / "train.yaml")
    assert cfg.hidden == (256, 256) and cfg.schedule == "cosine"


@pytest.mark.parametrize(("step", "bad"), [
    ({"prune": {"amount": 1.5}}, "amount"),
    ({"prune": {"amout": 0.5}}, "amout"),
    ({"quantize": {"dtype": "int4"}}, "int4"),
    ({"pruning": {}}, "pruning"),
])
def test_schema_types_plan_steps(step, bad):
    """A plan can be written from the schema alone: a bad step is caught by the schema itself."""
    with pytest.raises(jsonschema.ValidationError) as exc:
        jsonschema.validate([step], json_schema("plan"))
    assert bad in str(exc.value)


def test_schema_types_compare_config_and_train_fields():
    schema = json_schema()
    compare = schema["$defs"]["CompareSpec"]["properties"]["config"]["properties"]
    assert compare["n_rows"]["type"] == "integer" and "default" in compare["n_rows"]
    train = schema["$defs"]["TrainSpec"]["properties"]
    assert set(train["optimizer"]["enum"]) == {"sgd", "adam", "adamw", "rmsprop"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"compare": {"config": {"n_rowz": 3}}}, schema)


def test_unknown_schema_name_is_a_clear_error():
    with pytest.raises(InvalidInputError, match="Did you mean 'train'"):
        json_schema("trian")
