"""compare(): verdicts on controls, the report, and every bad-input case."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import leanlens
from leanlens.compare import CompareConfig, DriftReport, compare
from leanlens.errors import ConfigError, InvalidInputError, OutputExistsError
from leanlens.explain import explain

FAST = CompareConfig(n_rows=30, n_background=10, n_bootstrap=100, min_rows=20)


def damaged(model, features):
    """A copy whose first Linear layer no longer sees ``features`` (a positive control)."""
    c = model.copy()
    with torch.no_grad():
        first = next(m for m in c.module.body if isinstance(m, torch.nn.Linear))
        first.weight[:, features] = 0.0
    return c


@pytest.fixture(scope="module")
def self_report(iris, iris_mlp) -> DriftReport:
    return compare(iris_mlp, iris_mlp, iris, explainers=["kernel", "ig"], config=FAST, random_state=0)


def test_model_compared_with_itself_reads_same_reasons(self_report) -> None:
    r = self_report
    assert r.verdict == "same-reasons"
    assert r.decision["flip_rate"] == 0.0 and r.decision["flipped_rows"] == []
    for name in ("kernel", "ig"):
        e = r.explainers[name]
        assert e["status"] == "same"
        assert e["drift"]["value"] == pytest.approx(e["noise_floor"]["value"])
        assert e["agreement"]["global"]["feature_agreement"] == 1.0
    assert r.surrogate["split_feature_overlap"] == 1.0
    assert r.surrogate["fidelity_on_compressed"] == r.surrogate["fidelity_original"]
    assert any("decisions agree" in x for x in r.reasons)


def test_damaging_the_informative_inputs_reads_changed(iris, iris_mlp) -> None:
    e = explain(iris_mlp, iris.X_test, method="ig", target="predicted")
    top = np.argsort(-np.abs(e.values).mean(axis=0))[:2].tolist()
    r = compare(iris_mlp, damaged(iris_mlp, top), iris, explainers=["ig"], config=FAST, random_state=0)
    assert r.verdict == "changed"
    assert r.explainers["ig"]["ratio"]["lo"] >= FAST.changed_ratio
    assert "beyond the explainer's own noise" in " ".join(r.reasons)


def test_report_serializes_and_saves_plots(self_report, tmp_path) -> None:
    d = self_report.to_dict()
    text = json.dumps(d)
    assert json.loads(text)["verdict"] == "same-reasons"
    assert d["config"] == FAST.to_dict()
    assert "_flipped" not in d["decision"]
    assert len(d["explainers"]["ig"]["per_row"]["distance"]) == self_report.n_rows
    out = self_report.save(tmp_path / "drift")
    names = sorted(p.name for p in out.iterdir())
    assert "drift.json" in names
    for m in ("kernel", "ig"):
        for kind in ("global_importance", "feature_drift", "agreement_histogram"):
            png = out / f"{m}_{kind}.png"
            assert png.stat().st_size < 200_000 and png.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(OutputExistsError, match="already exists"):
        self_report.save(tmp_path / "drift")
    self_report.save(tmp_path / "drift", overwrite=True, plots=False)
    assert "verdict: same-reasons" in self_report.summary()


def test_models_with_different_feature_counts_or_outputs_are_refused(iris, iris_mlp) -> None:
    five = leanlens.as_model(lambda X: np.tile([0.5, 0.5, 0.0], (len(X), 1)), n_features=5,
                             output_names=("a", "b", "c"))
    with pytest.raises(InvalidInputError, match="different inputs: the original has 4 features .* compressed model 5"):
        compare(iris_mlp, five, iris, explainers=["kernel"], config=FAST)
    binary = leanlens.as_model(lambda X: np.tile([0.5, 0.5], (len(X), 1)), n_features=4, output_names=("no", "yes"),
                               task="binary")
    with pytest.raises(InvalidInputError, match="different output spaces"):
        compare(iris_mlp, binary, iris, explainers=["kernel"], config=FAST)


def test_too_few_rows_for_a_bootstrap_says_how_many_are_needed(iris, iris_mlp) -> None:
    X = iris.X_test[:8]
    with pytest.raises(InvalidInputError, match="at least 20 rows .*the data has 8"):
        compare(iris_mlp, iris_mlp, X, explainers=["kernel"], config=FAST)
    with pytest.raises(InvalidInputError, match="at least 20 rows .*n_rows=10 gives 10"):
        compare(iris_mlp, iris_mlp, iris, explainers=["kernel"], config=FAST.replace(n_rows=10))


def test_other_bad_inputs(iris, iris_mlp) -> None:
    with pytest.raises(InvalidInputError, match="'explainers' parameter is empty"):
        compare(iris_mlp, iris_mlp, iris, explainers=[], config=FAST)
    with pytest.raises(InvalidInputError, match="Unknown explanation method 'kernal'"):
        compare(iris_mlp, iris_mlp, iris, explainers=["kernal"], config=FAST)
    with pytest.raises(InvalidInputError, match="'config' parameter must be a CompareConfig"):
        compare(iris_mlp, iris_mlp, iris, config={"n_rows": 5})  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="labels have 3 rows but X has 30"):
        compare(iris_mlp, iris_mlp, (iris.X_test, iris.y_test[:3]), config=FAST)


def test_array_data_and_tuple_data_work(iris, iris_mlp) -> None:
    r = compare(iris_mlp, iris_mlp, (iris.X_test, iris.y_test), explainers="ig", config=FAST)
    assert r.verdict == "same-reasons"
    assert "per_class_accuracy" in r.decision
    r2 = compare(iris_mlp, iris_mlp, iris.X_test, explainers=["ig"], config=FAST, background=iris.X_train[:5])
    assert "per_class_accuracy" not in r2.decision and r2.n_rows == 30


def test_compare_config_validates_and_round_trips(tmp_path) -> None:
    cfg = CompareConfig(same_ratio=1.2, changed_ratio=3.0, budget=64)
    path = cfg.save(tmp_path / "compare.yaml")
    assert CompareConfig.from_yaml(path) == cfg
    with pytest.raises(ConfigError, match="changed_ratio ≥ same_ratio"):
        CompareConfig(same_ratio=3.0, changed_ratio=2.0)
    with pytest.raises(ConfigError, match="'n_rows' parameter of CompareConfig must be an int ≥ 1. Got 0"):
        CompareConfig(n_rows=0)
    with pytest.raises(ConfigError, match="'max_flip_rate' .* in \\[0, 1\\]"):
        CompareConfig(max_flip_rate=2.0)
    with pytest.raises(ConfigError, match="unknown key 'same_ration'"):
        CompareConfig.from_dict({"same_ration": 1.0})


def test_retrained_copy_gives_a_second_noise_floor(iris, iris_mlp) -> None:
    other = leanlens.train(iris, leanlens.TrainConfig(hidden=(16,), epochs=20, lr=1e-2, random_state=1))
    r = compare(iris_mlp, iris_mlp, iris, explainers=["ig"], config=FAST.replace(floor="max"), retrained=other)
    e = r.explainers["ig"]
    assert e["retrain_floor"]["value"] > e["noise_floor"]["value"] == 0.0  # IG is deterministic; retraining is not
    assert any("below min_floor" in n for n in r.notes)
    assert r.verdict == "same-reasons"
    wrong = leanlens.as_model(lambda X: np.tile([0.5, 0.5], (len(X), 1)), n_features=4, output_names=("a", "b"),
                              task="binary")
    with pytest.raises(InvalidInputError, match="different output spaces"):
        compare(iris_mlp, iris_mlp, iris, explainers=["ig"], config=FAST, retrained=wrong)


def test_per_method_budgets(iris, iris_mlp, tmp_path) -> None:
    cfg = FAST.replace(budget=32, budgets={"kernel": 6})
    assert cfg.budget_of("kernel") == 6 and cfg.budget_of("ig") == 32
    assert CompareConfig.from_yaml(cfg.save(tmp_path / "c.yaml")) == cfg
    with pytest.raises(ConfigError, match="'budgets' parameter of CompareConfig must map method names"):
        CompareConfig(budgets={"kernel": 0})
    exact = compare(iris_mlp, iris_mlp, iris, explainers=["kernel"], config=FAST)
    sampled = compare(iris_mlp, iris_mlp, iris, explainers=["kernel"], config=cfg)
    # 4 features: the default budget enumerates every coalition (no seed noise); 6 coalitions sample.
    assert exact.explainers["kernel"]["noise_floor"]["value"] < 1e-9
    assert sampled.explainers["kernel"]["noise_floor"]["value"] > 1e-6
