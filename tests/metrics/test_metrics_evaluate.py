"""evaluate(): registry conformance, the sanity check, skipping, and every bad-input case."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import leanlens
from leanlens.errors import InvalidInputError
from leanlens.explain import Explanation
from leanlens.metrics import (
    CATEGORIES,
    METRICS,
    Metric,
    MetricResult,
    ModelRandomization,
    evaluate,
    get_metric,
)
from leanlens.metrics.base import resolve_metrics


def grad_x_input(model, X) -> Explanation:
    """Gradient × input of every output of a torch model (a tiny local explainer)."""
    x = torch.tensor(np.asarray(X, dtype=np.float32).reshape(len(X), -1), requires_grad=True)
    out = model.forward_output(x)
    vals = []
    for j in range(out.shape[1]):
        (g,) = torch.autograd.grad(out[:, j].sum(), x, retain_graph=True)
        vals.append((g * x).detach().double().numpy())
    values = np.stack(vals, axis=2)
    base = np.zeros((len(X), out.shape[1]))
    return Explanation(values, base, x.detach().numpy(), model.feature_names, model.output_names, "grad_x_input")


@pytest.fixture(scope="module")
def setup(iris, iris_mlp):
    X = iris.X_test[:12]
    return iris_mlp, X, grad_x_input(iris_mlp, X), iris.X_train[:40]


def test_every_registered_metric_conforms(setup) -> None:
    model, X, e, bg = setup
    truth = np.random.default_rng(0).normal(size=(len(X), X.shape[1]))
    results = evaluate(model, X, e, "all", background=bg, explainer=grad_x_input, ground_truth=truth, random_state=3)
    again = evaluate(model, X, e, "all", background=bg, explainer=grad_x_input, ground_truth=truth, random_state=3)
    assert [r.name for r in results] == list(METRICS)
    assert len(METRICS) >= 17
    for r, r2 in zip(results, again, strict=True):
        cls = METRICS[r.name]
        assert isinstance(r, MetricResult)
        assert cls.category in CATEGORIES and r.category == cls.category
        assert r.higher_is_better == cls.higher_is_better
        assert cls.__doc__ and cls.formula, r.name
        if r.name == "completeness":
            assert r.skipped and "does not promise" in r.skipped  # gradient × input is not complete
            continue
        assert r.skipped is None, (r.name, r.skipped)
        assert np.isfinite(r.value), r.name
        if r.per_row is not None:
            assert r.per_row.shape == (len(X),) or "max_rows" in " ".join(r.notes)
        json.dumps(r.to_dict())
        if r.category != "efficiency":
            assert r2.value == pytest.approx(r.value), f"{r.name} is not a pure function of its inputs"


def test_randomizing_the_last_layer_lowers_similarity(setup) -> None:
    model, X, e, _bg = setup
    (r,) = evaluate(model, X, e, [ModelRandomization(layers="all")], explainer=grad_x_input, random_state=0)
    assert r.details["reference_similarity"] == pytest.approx(1.0)
    assert r.value < 0.9
    assert r.details["passed"] is True
    before = [p.detach().clone() for p in model.module.parameters()]
    (r_last,) = evaluate(model, X, e, ["model_randomization"], explainer=grad_x_input, random_state=0)
    assert r_last.value < r_last.details["reference_similarity"]
    assert all(torch.equal(a, b) for a, b in zip(before, model.module.parameters(), strict=True))  # original untouched


def test_metric_that_does_not_apply_is_skipped_with_a_reason(setup) -> None:
    model, X, e, bg = setup
    lime_like = Explanation(e.values, e.base_values, e.data, e.feature_names, e.output_names, "lime")
    rs = {r.name: r for r in evaluate(model, X, lime_like, ["completeness", "deletion_auc", "gt_feature_agreement"], random_state=0)}
    assert "'lime' does not promise efficiency" in rs["completeness"].skipped
    assert "needs a background" in rs["deletion_auc"].skipped
    assert "needs ground-truth" in rs["gt_feature_agreement"].skipped
    assert rs["completeness"].value is None and not rs["completeness"].ok
    callable_model = leanlens.as_model(lambda Z: Z.sum(axis=1), n_features=X.shape[1])
    flat = Explanation(e.values[:, :, 0], np.zeros(len(X)), X, e.feature_names, ("value",), "unknown-method")
    (r,) = evaluate(callable_model, X, flat, ["model_randomization"], random_state=0)
    assert "needs a torch model" in r.skipped
    (r,) = evaluate(model, X, flat, ["max_sensitivity"], background=bg, random_state=0)
    assert "not available" in r.skipped


def test_explanation_rows_must_match_X(setup) -> None:
    model, X, e, _ = setup
    with pytest.raises(InvalidInputError, match="explains 12 rows but the 'X' parameter has 11"):
        evaluate(model, X[:11], e, ["entropy"])
    with pytest.raises(InvalidInputError, match="do not match the rows the explanation explains .first difference in row 0"):
        evaluate(model, X + 1.0, e, ["entropy"])


def test_other_bad_inputs_name_the_parameter(setup) -> None:
    model, X, e, _ = setup
    with pytest.raises(InvalidInputError, match="Unknown metric 'entropie'.*Did you mean 'entropy'"):
        evaluate(model, X, e, ["entropie"])
    with pytest.raises(InvalidInputError, match="'explanation' parameter must be a leanlens Explanation"):
        evaluate(model, X, e.values, ["entropy"])  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="'ground_truth' parameter must have the explanation's shape"):
        evaluate(model, X, e, ["gt_rank_correlation"], ground_truth=np.ones((2, 2)))
    with pytest.raises(InvalidInputError, match="'target' index must be in"):
        evaluate(model, X, e, ["entropy"], target=7)
    with pytest.raises(InvalidInputError, match="'metrics' parameter is empty"):
        evaluate(model, X, e, [])
    with pytest.raises(InvalidInputError, match="'steps' parameter of DeletionAUC must be None or an int ≥ 1. Got 0"):
        get_metric("deletion_auc")(steps=0)
    with pytest.raises(InvalidInputError, match="'background' parameter is empty"):
        evaluate(model, X, e, ["entropy"], background=np.zeros((0, 4)))


def test_categories_and_instances_resolve() -> None:
    names = [m.name for m in resolve_metrics(["complexity", "completeness"])]
    assert names == ["entropy", "sparseness", "completeness"]
    custom = get_metric("deletion_auc")(steps=2)
    assert resolve_metrics(custom) == [custom]
    assert isinstance(custom, Metric) and "steps=2" in repr(custom)
    assert {cls.category for cls in METRICS.values()} == set(CATEGORIES)


def test_target_selects_the_judged_output(setup) -> None:
    model, X, e, _ = setup
    (r0,) = evaluate(model, X, e, ["entropy"], target=0, random_state=0)
    (r_name,) = evaluate(model, X, e, ["entropy"], target=model.output_names[0], random_state=0)
    assert r0.value == pytest.approx(r_name.value)
    from leanlens.metrics.complexity import entropy

    assert r0.value == pytest.approx(entropy(e.values[:, :, 0]).mean())
