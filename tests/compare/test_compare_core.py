"""compare(): twins as the yardstick, the report, and every bad-input case."""

from __future__ import annotations

import itertools
import json
import re

import numpy as np
import pytest
import torch

import leanlens
from leanlens.compare import CompareConfig, DriftReport, compare
from leanlens.errors import ConfigError, InvalidInputError, LeanlensError, OutputExistsError
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
    return compare(iris_mlp, iris_mlp, iris, explainers=["kernel", "ig"], twins=2, config=FAST, random_state=0)


def test_model_compared_with_itself_reads_same_reasons_against_retrained_twins(self_report) -> None:
    r = self_report
    assert r.verdict == "same-reasons"
    assert r.twins["source"] == "retrained" and r.twins["n"] == 2 and len(set(r.twins["seeds"])) == 2
    assert 0 not in r.twins["seeds"]  # the original's own seed is never a twin's
    assert r.decision["flip_rate"] == 0.0 and r.decision["flipped_rows"] == []
    for name in ("kernel", "ig"):
        e = r.explainers[name]
        assert e["status"] == "same" and e["distance"]["value"] == 0.0
        assert e["deterministic"] is True and e["estimator_noise"] == 0.0  # 4 features: kernel enumerates
        assert len(e["twin_distances"]) == 2 and min(e["twin_distances"]) > 0
        assert e["ratio"]["value"] == 0.0
    assert "2 retrained twins of the original" in r.sentence and r.sentence.endswith("same reasons.")


def test_damaging_the_informative_inputs_reads_changed(iris, iris_mlp) -> None:
    e = explain(iris_mlp, iris.X_test, method="ig", target="predicted")
    top = np.argsort(-np.abs(e.values).mean(axis=0))[:2].tolist()
    r = compare(iris_mlp, damaged(iris_mlp, top), iris, explainers=["ig"], twins=2, config=FAST, random_state=0)
    assert r.verdict == "changed", r.summary()
    assert "changed" in r.sentence


def test_report_round_trips_and_saves_plots(self_report, tmp_path) -> None:
    d = self_report.to_dict()
    assert d["format"] == "leanlens.drift" and d["version"] == 2
    again = DriftReport.from_dict(json.loads(json.dumps(d)))
    assert again.to_dict() == d and again.sentence == self_report.sentence
    assert "_flipped" not in d["decision"]
    out = self_report.save(tmp_path / "drift")
    names = sorted(p.name for p in out.iterdir())
    assert "drift.json" in names and "strip_chart.png" in names
    for m in ("kernel", "ig"):
        png = out / f"{m}_agreement_histogram.png"
        assert png.stat().st_size < 200_000 and png.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(OutputExistsError, match="already exists"):
        self_report.save(tmp_path / "drift")
    assert "verdict: same-reasons" in self_report.summary()
    assert "(twins: " in self_report.summary()
    with pytest.raises(LeanlensError, match="expected format 'leanlens.drift'"):
        DriftReport.from_dict({**d, "format": "other"})
    with pytest.raises(LeanlensError, match="version 1 reports were judged against the explainer's noise"):
        DriftReport.from_dict({**d, "version": 1})


def test_given_twins_are_used_and_a_wrong_twin_is_named(iris, iris_mlp) -> None:
    other = leanlens.train(iris, leanlens.TrainConfig(hidden=(16,), epochs=20, lr=1e-2, random_state=5))
    r = compare(iris_mlp, iris_mlp, iris, explainers=["ig"], twins=[other], config=FAST, random_state=0)
    assert r.twins["source"] == "given" and r.verdict == "same-reasons"
    assert "the twins you passed (1)" in r.sentence
    wrong = leanlens.as_model(lambda X: np.tile([0.5, 0.5], (len(X), 1)), n_features=4, output_names=("a", "b"),
                              task="binary")
    with pytest.raises(InvalidInputError, match="twin 1 .* different output spaces|different output spaces.*twin 1"):
        compare(iris_mlp, iris_mlp, iris, explainers=["ig"], twins=[other, wrong], config=FAST)


def test_no_twins_falls_back_to_noise_and_says_so_first(iris, iris_mlp) -> None:
    r = compare(iris_mlp, iris_mlp, iris, explainers=["kernel"], twins=0, random_state=0,
                config=FAST.replace(budgets={"kernel": 6}))
    assert r.twins["source"] == "none"
    assert r.reasons[0].startswith("no twins (twins=0): judged against the explainer's own seed-to-seed noise")
    assert "two runs of the explainer on the original (no twins)" in r.sentence
    # a deterministic explainer has no seed noise: nothing divides by an invented minimum
    ig = compare(iris_mlp, damaged(iris_mlp, [0]), iris, explainers=["ig"], twins=0, config=FAST, random_state=0)
    assert ig.explainers["ig"]["yardstick"]["value"] == 0.0 and ig.explainers["ig"]["status"] == "unclear"
    assert ig.verdict in ("inconclusive", "changed")
    with pytest.raises(InvalidInputError, match="no twins to judge against .*noise_fallback is False"):
        compare(iris_mlp, iris_mlp, iris, explainers=["ig"], twins=0, config=FAST.replace(noise_fallback=False))


def test_a_model_without_recipe_or_torch_falls_back(iris, iris_mlp) -> None:
    fn = leanlens.as_model(lambda X: iris_mlp.output(X), n_features=4, output_names=iris_mlp.output_names)
    r = compare(fn, fn, iris, explainers=["kernel"], config=FAST, random_state=0)
    assert r.twins["source"] == "none" and "records no training recipe" in r.reasons[0]


def test_fine_tune_twins_when_the_recipe_is_unknown(iris, iris_mlp, tmp_path) -> None:
    anon = iris_mlp.copy()
    anon.metadata = {}
    cfg = FAST.replace(twin_epochs=1)
    r = compare(anon, anon, iris, explainers=["ig"], twins=2, config=cfg, random_state=0, cache_dir=tmp_path)
    assert r.twins["source"] == "fine-tuned" and "no training recipe is recorded" in r.twins["description"]
    assert r.verdict == "same-reasons" and min(r.explainers["ig"]["twin_distances"]) > 0
    assert len(list(tmp_path.iterdir())) == 2  # cached on disk by (fingerprint, recipe, seed)


def test_twins_are_cached_on_disk(iris, iris_mlp, tmp_path) -> None:
    from leanlens.compare import twins as tw

    compare(iris_mlp, iris_mlp, iris, explainers=["ig"], twins=2, config=FAST, random_state=3, cache_dir=tmp_path)
    folders = sorted(p.name for p in tmp_path.iterdir())
    assert len(folders) == 2 and all(f.endswith("-s" + f.rsplit("-s", 1)[1]) for f in folders)
    tw._CACHE.clear()
    r = compare(iris_mlp, iris_mlp, iris, explainers=["ig"], twins=2, config=FAST, random_state=3, cache_dir=tmp_path)
    assert r.twins["cached"] == 2


def test_a_recipe_that_cannot_be_replayed_is_an_error(iris_mlp) -> None:
    wine = leanlens.datasets.load("wine", random_state=0)
    with pytest.raises(InvalidInputError, match="'data' parameter has 13 features per row"):
        compare(iris_mlp, iris_mlp, wine, explainers=["ig"], config=FAST)
    renamed = leanlens.datasets.from_numpy(np.random.default_rng(0).normal(size=(150, 4)),
                                           np.arange(150) % 3, feature_names=("a", "b", "c", "d"))
    with pytest.raises(InvalidInputError, match="recipe cannot be replayed on this data: the model takes features"):
        compare(iris_mlp, iris_mlp, renamed, explainers=["ig"], config=FAST)


def test_budget_rises_until_noise_resolves_the_twins_or_time_runs_out(iris, iris_mlp) -> None:
    fuzzy = damaged(iris_mlp, [3])
    cfg = FAST.replace(budgets={"kernel": 6})
    r = compare(iris_mlp, fuzzy, iris, explainers=["kernel"], twins=2, config=cfg, random_state=0)
    e = r.explainers["kernel"]
    hist = e["budget_history"]
    assert hist[0]["budget"] == 6 and all(b["budget"] > a["budget"] for a, b in itertools.pairwise(hist))
    assert len(hist) >= 2 and hist[0]["noise"] > cfg.noise_fraction * hist[0]["twin_distance"]
    last = hist[-1]
    assert e["unresolved"] is None
    # resolved: noise small enough, or the raised budget enumerates all 2^4 coalitions (no noise)
    assert last["noise"] == 0.0 or last["noise"] <= cfg.noise_fraction * last["twin_distance"]
    short = compare(iris_mlp, iris_mlp, iris, explainers=["kernel"], twins=2, random_state=0,
                    config=cfg.replace(max_seconds=1e-6))
    assert short.verdict == "inconclusive" and "would resolve it" in short.sentence
    assert "budget 6" in short.explainers["kernel"]["unresolved"]
    assert "max_seconds=1e-06 does not allow it" in short.explainers["kernel"]["unresolved"]


def test_the_budget_cap_is_a_count_so_the_same_call_gives_the_same_verdict(iris, iris_mlp) -> None:
    # 30 rows × 10 background × 6 runs (original, compressed, 1 twin; 2 seeds) = 1,800 evaluations per
    # coalition: a cap of 20,000 allows budget 8 but not the raise the noise asks for
    cfg = FAST.replace(budgets={"kernel": 6}, max_evaluations=20_000)
    runs = [compare(iris_mlp, iris_mlp, iris, explainers=["kernel"], twins=1, config=cfg, random_state=0)
            for _ in range(2)]
    e = runs[0].explainers["kernel"]
    assert e["unresolved"] is not None and "max_evaluations=20,000 does not allow it" in e["unresolved"]
    assert runs[0].verdict == runs[1].verdict == "inconclusive"
    assert [h["budget"] for h in e["budget_history"]] == [h["budget"] for h in runs[1].explainers["kernel"]["budget_history"]]
    # the reasons differ only in the CPU-seconds estimate, which is told, never decided on
    clockless = [re.sub(r"≈ \d+ CPU s", "", r.explainers["kernel"]["unresolved"]) for r in runs]
    assert clockless[0] == clockless[1]
    assert CompareConfig().max_seconds is None  # no clock in the default rule


def test_models_with_different_feature_counts_or_outputs_are_refused(iris, iris_mlp) -> None:
    five = leanlens.as_model(lambda X: np.tile([0.5, 0.5, 0.0], (len(X), 1)), n_features=5,
                             output_names=("a", "b", "c"))
    with pytest.raises(InvalidInputError, match="different inputs: the original has 4 features .* compressed model 5"):
        compare(iris_mlp, five, iris, explainers=["kernel"], config=FAST)


def test_other_bad_inputs(iris, iris_mlp) -> None:
    with pytest.raises(InvalidInputError, match="'explainers' parameter is empty"):
        compare(iris_mlp, iris_mlp, iris, explainers=[], config=FAST)
    with pytest.raises(InvalidInputError, match="'config' parameter must be a CompareConfig"):
        compare(iris_mlp, iris_mlp, iris, config={"n_rows": 5})  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="labels have 3 rows but X has 30"):
        compare(iris_mlp, iris_mlp, (iris.X_test, iris.y_test[:3]), config=FAST)
    with pytest.raises(InvalidInputError, match="at least 20 rows .*it has 8"):
        compare(iris_mlp, iris_mlp, iris.X_test[:8], explainers=["kernel"], config=FAST)
    with pytest.raises(InvalidInputError, match="'twins' parameter of compare\\(\\) must be ≥ 0"):
        compare(iris_mlp, iris_mlp, iris, explainers=["ig"], twins=-1, config=FAST)
    with pytest.raises(InvalidInputError, match="'twins' parameter of compare\\(\\) must be an int"):
        compare(iris_mlp, iris_mlp, iris, explainers=["ig"], twins="three", config=FAST)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="'rows' parameter of compare\\(\\)"):
        compare(iris_mlp, iris_mlp, iris, explainers=["ig"], rows=[0, 999], config=FAST)


def test_array_data_has_no_twins_and_says_so(iris, iris_mlp) -> None:
    r = compare(iris_mlp, iris_mlp, iris.X_test, explainers=["ig"], config=FAST, background=iris.X_train[:5])
    assert r.twins["source"] == "none" and "no labelled Dataset" in r.reasons[0]
    assert "per_class_accuracy" not in r.decision and r.n_rows == 30


def test_compare_config_validates_and_round_trips(tmp_path) -> None:
    cfg = CompareConfig(changed_ratio=2.0, budget=64, max_seconds=30)
    assert CompareConfig.from_yaml(cfg.save(tmp_path / "compare.yaml")) == cfg
    with pytest.raises(ConfigError, match="'max_seconds' parameter of CompareConfig must be a positive number"):
        CompareConfig(max_seconds=0)
    with pytest.raises(ConfigError, match="'max_seconds' parameter of CompareConfig must be a positive number"):
        CompareConfig(max_seconds=-5)
    with pytest.raises(ConfigError, match="'max_evaluations' parameter of CompareConfig must be an int ≥ 1. Got 0"):
        CompareConfig(max_evaluations=0)
    with pytest.raises(ConfigError, match="'changed_ratio' .* must be ≥ 1"):
        CompareConfig(changed_ratio=0.5)
    with pytest.raises(ConfigError, match="'noise_fraction' .* in \\(0, 1\\)"):
        CompareConfig(noise_fraction=1.5)
    with pytest.raises(ConfigError, match="'n_rows' parameter of CompareConfig must be an int ≥ 1. Got 0"):
        CompareConfig(n_rows=0)
    with pytest.raises(ConfigError, match="unknown key 'same_ration'"):
        CompareConfig.from_dict({"same_ration": 1.0})
    with pytest.raises(ConfigError, match="'budgets' parameter of CompareConfig must map method names"):
        CompareConfig(budgets={"kernel": 0})
    with pytest.raises(ConfigError, match="'image_groups' parameter of CompareConfig must be 'patches:HxW'"):
        CompareConfig(image_groups="tiles")
    with pytest.raises(ConfigError, match="'share_alpha' parameter of CompareConfig must be in \\(0, 1\\)"):
        CompareConfig(share_alpha=1.0)


def test_image_inputs_play_patches_and_tabular_inputs_play_features(iris_mlp) -> None:
    from leanlens.data.readers import from_numpy

    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 64)).astype(np.float32)
    names = [f"pixel_{r}_{c}" for r in range(8) for c in range(8)]
    ds = from_numpy(X, (X[:, 0] > 0).astype(np.int64), feature_names=names, random_state=0, name="tiny-images")
    img = leanlens.train(ds, leanlens.TrainConfig(hidden=(4,), epochs=1, random_state=0))
    cfg, notes = CompareConfig().for_model(["kernel", "ig", "permutation"], img)
    assert cfg.params == {"kernel": {"groups": "patches:2x2"}, "permutation": {"groups": "patches:2x2"}}
    assert len(notes) == 2 and "64 pixels are played as 2x2 patches" in notes[0]
    # the user's own groups win, None keeps pixels, and a tabular model keeps its features
    own = CompareConfig(params={"kernel": {"groups": "patches:4x4"}}).for_model(["kernel"], img)[0]
    assert own.params == {"kernel": {"groups": "patches:4x4"}}
    assert CompareConfig(image_groups=None).for_model(["kernel"], img)[0].params is None
    tab = from_numpy(X, (X[:, 0] > 0).astype(np.int64), random_state=0, name="wide-table")
    wide = leanlens.train(tab, leanlens.TrainConfig(hidden=(4,), epochs=1, random_state=0))
    assert CompareConfig().for_model(["kernel"], wide) == (CompareConfig(), [])
    assert CompareConfig().for_model(["kernel"], iris_mlp) == (CompareConfig(), [])


def test_the_budget_jumps_to_the_predicted_multiple() -> None:
    from leanlens.compare.measure import _needed_budget

    # noise twice the target: 4× the budget (noise ∝ 1/√budget) with a 1.25 margin
    assert _needed_budget(128, 0.2, 0.1) == 640
    # barely above the target: still at least doubled, and a multiple of 8
    assert _needed_budget(100, 0.101, 0.1) == 200


def test_the_sentence_counts_twins_in_words():
    from leanlens.compare.core import _against
    from leanlens.compare.twins import Twins

    one = Twins(models=[object()], source="retrained", seeds=[1], description="")  # type: ignore[list-item]
    two = Twins(models=[object(), object()], source="fine-tuned", seeds=[1, 2], description="")  # type: ignore[list-item]
    assert _against(one)[1] == "1 retrained twin of the original"
    assert _against(two)[1] == "2 fine-tuned twins of the original"


def test_compare_runs_shapley_explainers_in_small_model_batches_with_the_same_values(iris, iris_mlp) -> None:
    # compare() lowers batch_rows (less memory churn); the values must be those of the default batches
    from leanlens.compare.estimate import BATCH_ROWS, clear_memo, explain_models
    from leanlens.explain.base import get_explainer

    X, bg = iris.X_test[:12], iris.X_train[:40]
    targets = np.zeros(len(X), dtype=np.int64)
    clear_memo()
    es = explain_models({"original": iris_mlp}, "kernel", X, targets, bg, 64, (3, 4))
    direct = get_explainer("kernel")(iris_mlp, background=bg, budget=64, random_state=3).explain(X, target=None)
    assert 12 * 64 * 40 > BATCH_ROWS  # several chunks under compare's batches, one under the default
    np.testing.assert_allclose(es.phi["original"][0], np.asarray(direct.values)[:, :, 0], rtol=1e-6, atol=1e-9)


def test_the_pilot_budget_depends_on_the_original_and_its_twins_only() -> None:
    # every compressed model of one original gets the same predicted budget, so the original's and the
    # twins' explanations are computed once (memo) instead of once per compressed model
    from leanlens.compare.estimate import clear_memo

    ds = leanlens.datasets.synthetic("additive", n=500, random_state=0)
    m = leanlens.train(ds, leanlens.TrainConfig(hidden=(16,), epochs=3, random_state=0))
    cfg = CompareConfig(n_rows=50, n_background=8, n_bootstrap=50, noise_fraction=0.012)
    clear_memo()
    reports = [compare(m, other, ds, explainers=["kernel"], twins=2, random_state=0, config=cfg)
               for other in (damaged(m, [0]), damaged(m, [1, 2]))]
    hist = [r.explainers["kernel"]["budget_history"] for r in reports]
    assert hist[0][0].get("pilot") and hist[0][0]["budget"] < hist[0][1]["budget"]  # the pilot predicted a raise
    assert hist[0][1]["budget"] == hist[1][1]["budget"]
    # the second compare computed only the compressed model's runs: less than half the first's time
    assert reports[1].explainers["kernel"]["seconds"] < 0.5 * reports[0].explainers["kernel"]["seconds"]


def test_shapley_runs_one_unbiased_estimator_on_every_model() -> None:
    # the chooser picks per model (gp for a cheap-to-call torch model, other estimators for dearer or
    # ONNX models), so compare() runs KernelSHAP for 'shapley' on every model and every budget: the
    # explanations of all models share one estimator's errors, which the two seeds measure
    ds = leanlens.datasets.synthetic("additive", n=400, random_state=0)
    m = leanlens.train(ds, leanlens.TrainConfig(hidden=(16,), epochs=3, random_state=0))
    assert m.n_features > 7  # the start budget (128) does not cover every coalition: sampling, not exact
    cfg = CompareConfig(n_rows=24, n_background=6, n_bootstrap=50, budget=128)
    rs = {k: compare(m, damaged(m, [0]), ds, explainers=[k], twins=2, random_state=0, config=cfg)
          for k in ("shapley", "kernel")}
    s, k = rs["shapley"].explainers["shapley"], rs["kernel"].explainers["kernel"]
    assert s["distance"] == k["distance"] and s["twin_distances"] == k["twin_distances"]
    assert s["estimator"] == "kernel" and k["estimator"] == "kernel"
    assert s["deterministic"] is False and s["budget"] == k["budget"] == 128
    assert any("shapley: compare() runs kernel on every model" in n for n in rs["shapley"].notes)
