"""Step configs: validation, YAML round-trips, plan parsing and its errors."""

from __future__ import annotations

import pytest
import yaml

import leanlens
from leanlens.compress import Distill, Finetune, LowRank, Prune, Quantize, parse_plan, plan_to_list
from leanlens.compress.plan import STEP_TYPES
from leanlens.compress.quantize import torch_eager_quantization_available
from leanlens.errors import ConfigError, InvalidInputError

NON_DEFAULT = [
    Prune(kind="unstructured", amount=0.8, scope="layer", criterion="random", steps=2, ignore=("output", "body.1")),
    Prune(kind="structured", amount=0.3, criterion="taylor", finetune_epochs=2, round_to=8),
    Finetune(epochs=3, lr=1e-3, optimizer="sgd", schedule="constant"),
    Quantize(per_channel=True, ops=("MatMul", "Gemm", "Conv"), threads=1),
    Distill(student="tree", hidden=(32, 16), max_depth=5, temperature=2.0, alpha=0.5, attribution=0.0),
    Distill(hidden=(8,), attribution=0.5, epochs=3),
    LowRank(energy=0.9, finetune_epochs=1, ignore=("output",)),
    LowRank(rank=4, only_if_smaller=False, min_features=1),
]


@pytest.mark.parametrize("cfg", NON_DEFAULT, ids=lambda c: f"{c.step}")
def test_every_step_config_round_trips_through_yaml(cfg, tmp_path):
    path = cfg.save(tmp_path / "step.yaml")
    assert type(cfg).from_yaml(path) == cfg
    assert type(cfg).from_dict(cfg.to_dict()) == cfg


def test_every_registered_step_type_has_a_round_trip_case():
    assert {type(c) for c in NON_DEFAULT} == set(STEP_TYPES.values())


def test_plan_yaml_in_the_architecture_form(tmp_path):
    text = "- prune: {kind: structured, amount: 0.5}\n- finetune: {epochs: 5}\n- quantize: {dtype: int8}\n"
    (tmp_path / "plan.yaml").write_text(text)
    plan = parse_plan(tmp_path / "plan.yaml")
    assert plan == [Prune(kind="structured", amount=0.5), Finetune(epochs=5), Quantize(dtype="int8")]
    again = parse_plan(yaml.safe_load(yaml.safe_dump(plan_to_list(NON_DEFAULT))))
    assert again == NON_DEFAULT


def test_prune_kind_is_a_field_and_step_is_the_name():
    p = Prune(kind="unstructured", amount=0.2)
    assert p.kind == "unstructured" and Prune.step == "prune"
    assert p.to_dict()["kind"] == "unstructured"
    assert p.replace(amount=0.4).amount == 0.4


@pytest.mark.parametrize("amount", [1.0, 1.5, -0.1, float("nan")])
def test_amount_outside_unit_interval_is_refused(amount):
    with pytest.raises(ConfigError, match=r"'amount' parameter of Prune must be a number in \[0, 1\)"):
        Prune(amount=amount)


def test_config_error_is_an_invalid_input_error():
    with pytest.raises(InvalidInputError):
        Prune(amount=2)


def test_unknown_step_lists_valid_steps_and_suggests():
    with pytest.raises(ConfigError, match=r"unknown step 'prun'\. Did you mean 'prune'\?.*Valid steps: prune, finetune"):
        parse_plan([{"prun": {"amount": 0.5}}])


def test_unknown_key_lists_valid_keys_and_suggests():
    with pytest.raises(ConfigError, match=r"plan\[1\]\.prune: unknown key 'amout'\. Did you mean 'amount'\?.*Valid keys: amount"):
        parse_plan([{"finetune": {}}, {"prune": {"amout": 0.5}}])


def test_plan_shape_errors():
    with pytest.raises(ConfigError, match="empty"):
        parse_plan([])
    with pytest.raises(ConfigError, match="one key"):
        parse_plan([{"prune": {}, "quantize": {}}])
    with pytest.raises(ConfigError, match="must be a list of steps"):
        parse_plan(42)


def test_criterion_must_fit_the_kind():
    with pytest.raises(ConfigError, match=r"'criterion' parameter of Prune\(kind='unstructured'\).*'l1'"):
        Prune(kind="unstructured", criterion="taylor")
    with pytest.raises(ConfigError, match="'kind' parameter of Prune"):
        Prune(kind="semi")


def test_lowrank_takes_one_rule():
    with pytest.raises(ConfigError, match="one of 'rank', 'rank_ratio' or 'energy'. Got rank, energy"):
        LowRank(rank=3, energy=0.9)
    assert LowRank().rule == ("rank_ratio", 0.25)
    assert LowRank(energy=0.5).rule == ("energy", 0.5)


def test_quantize_torch_backend_is_refused_with_the_detected_state():
    state = "still has" if torch_eager_quantization_available() else "no longer has"
    with pytest.raises(ConfigError, match=f"installed torch {state} torch.ao.quantization.quantize_dynamic"):
        Quantize(backend="torch")
    with pytest.raises(ConfigError, match="'dtype' parameter of Quantize"):
        Quantize(dtype="int4")
    with pytest.raises(ConfigError, match="'ops' parameter of Quantize"):
        Quantize(ops=("Relu",))


def test_eager_quantization_detection_matches_torch():
    import torch.ao.quantization as q

    assert torch_eager_quantization_available() is hasattr(q, "quantize_dynamic")


def test_distill_validation():
    with pytest.raises(ConfigError, match="'temperature' parameter of Distill must be a positive number"):
        Distill(temperature=0)
    with pytest.raises(ConfigError, match=r"'alpha' parameter of Distill must be a number in \[0, 1\]"):
        Distill(alpha=1.5)
    with pytest.raises(ConfigError, match="'hidden' parameter of Distill"):
        Distill(hidden=(0,))


def test_public_exports():
    for name in ("compress", "Prune", "Finetune", "Quantize", "Distill", "LowRank", "CompressionResult",
                 "CompressionRecord"):
        assert name in leanlens.__all__ and hasattr(leanlens, name)
