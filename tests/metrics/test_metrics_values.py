"""Each metric against a hand-computed answer on small vectors and analytic toy models."""

from __future__ import annotations

import numpy as np
import pytest

import leanlens
from leanlens.explain import Explanation
from leanlens.metrics import (
    Completeness,
    DeletionAUC,
    Entropy,
    EvalsPerRow,
    FaithfulnessCorrelation,
    GiniSparseness,
    InsertionAUC,
    LocalLipschitz,
    MaxSensitivity,
    PredictionGapImportant,
    PredictionGapUnimportant,
    SecondsPerRow,
    evaluate,
)
from leanlens.metrics.complexity import entropy, gini_sparseness


def linear(w: np.ndarray):
    return leanlens.as_model(lambda X: X @ w, n_features=len(w))


def expl(values, X, method: str = "exact", base=None, **kw) -> Explanation:
    values = np.asarray(values, dtype=float)
    n, d = values.shape[:2]
    base = np.zeros(n) if base is None else base
    return Explanation(values, base, np.asarray(X, dtype=float), tuple(f"f{i}" for i in range(d)), ("value",), method, **kw)


def one(model, X, e, metric, **kw):
    (r,) = evaluate(model, X, e, [metric], **{"random_state": 0, **kw})
    return r


W = np.array([3.0, 2.0, 1.0])
X1 = np.ones((1, 3))
BG0 = np.array([[-1.0, -1.0, -1.0], [1.0, 1.0, 1.0]])  # mean 0, spread 1


def test_deletion_and_insertion_auc_by_hand() -> None:
    m, e = linear(W), expl(W[None] * X1, X1)
    # deletion curve 6, 3, 1, 0 at 0, 1/3, 2/3, 1 → trapezoid (4.5 + 2 + 0.5) / 3 = 7/3
    r = one(m, X1, e, DeletionAUC(), background=BG0)
    assert r.value == pytest.approx(7 / 3)
    assert r.details["mean_curve"] == pytest.approx([6, 3, 1, 0])
    # insertion curve 0, 3, 5, 6 → (1.5 + 4 + 5.5) / 3 = 11/3
    assert one(m, X1, e, InsertionAUC(), background=BG0).value == pytest.approx(11 / 3)


def test_removed_features_take_the_background_mean_not_zero() -> None:
    m, e = linear(W), expl(W[None] * (X1 - 1), X1)
    bg = np.ones((3, 3))  # mean 1 = x → removing a feature changes nothing
    r = one(m, X1, e, DeletionAUC(), background=bg)
    assert r.value == pytest.approx(6.0)


def test_deletion_auc_of_true_attribution_beats_random_on_additive_model() -> None:
    rng = np.random.default_rng(0)
    w = rng.normal(size=8)
    m = linear(w)
    bg = rng.normal(size=(50, 8))
    X = rng.normal(size=(30, 8))
    true = w * (X - bg.mean(axis=0))
    rand = rng.normal(size=X.shape)
    d_true = one(m, X, expl(true, X), DeletionAUC(), background=bg).value
    d_rand = one(m, X, expl(rand, X), DeletionAUC(), background=bg).value
    assert d_true < d_rand - 0.5
    i_true = one(m, X, expl(true, X), InsertionAUC(), background=bg).value
    i_rand = one(m, X, expl(rand, X), InsertionAUC(), background=bg).value
    assert i_true > i_rand + 0.5


def test_faithfulness_correlation_is_one_for_exact_linear_attributions() -> None:
    rng = np.random.default_rng(1)
    w = rng.normal(size=10)
    X = rng.normal(size=(5, 10))
    bg = rng.normal(size=(40, 10))
    e = expl(w * (X - bg.mean(axis=0)), X)
    r = one(linear(w), X, e, FaithfulnessCorrelation(n_subsets=20), background=bg)
    assert r.value == pytest.approx(1.0)
    assert r.details["subset_size"] == 2  # round(0.15 · 10)
    anti = one(linear(w), X, expl(-e.values, X), FaithfulnessCorrelation(n_subsets=20), background=bg)
    assert anti.value == pytest.approx(-1.0)


def test_pgi_and_pgu_on_a_one_feature_model() -> None:
    m = linear(np.array([2.0, 0.0, 0.0, 0.0]))
    X = np.zeros((3, 4))
    e = expl(np.tile([2.0, 0.0, 0.0, 0.0], (3, 1)), X)
    bg = np.array([[-1.0] * 4, [1.0] * 4])  # spread 1 per feature
    pgu = one(m, X, e, PredictionGapUnimportant(k=1), background=bg)
    assert pgu.value == 0.0  # noise on unused features never moves f
    pgi = one(m, X, e, PredictionGapImportant(k=1, sigma=0.1, n_samples=4000), background=bg)
    assert pgi.value == pytest.approx(2 * 0.1 * np.sqrt(2 / np.pi), rel=0.05)  # E|2·0.1·z|


def test_entropy_and_sparseness_by_hand() -> None:
    assert entropy(np.array([[1.0, 0, 0, 0]]))[0] == 0.0
    assert entropy(np.array([[1.0, -1, 1, -1]]))[0] == pytest.approx(np.log(4))
    assert gini_sparseness(np.array([[1.0, 0, 0, 0]]))[0] == pytest.approx(0.75)
    assert gini_sparseness(np.array([[2.0, 2, 2, 2]]))[0] == pytest.approx(0.0)
    # sorted 1,2,3,4: (−3·1 − 1·2 + 1·3 + 3·4) / (4 · 10) = 0.25
    assert gini_sparseness(np.array([[4.0, -1, 3, 2]]))[0] == pytest.approx(0.25)
    X = np.zeros((2, 4))
    e = expl(np.array([[1.0, 0, 0, 0], [0.0, 0, 0, 0]]), X)
    m = linear(np.ones(4))
    r = one(m, X, e, Entropy())
    assert r.per_row.tolist() == [0.0, 0.0]
    assert "all-zero" in r.notes[0]
    assert one(m, X, e, GiniSparseness()).per_row.tolist() == [0.75, 0.0]


def test_completeness_residual_by_hand() -> None:
    m = linear(W)
    assert one(m, X1, expl(W[None] * X1, X1), Completeness()).value == pytest.approx(0.0)
    r = one(m, X1, expl(np.ones((1, 3)), X1, base=np.array([1.0])), Completeness())
    assert r.value == pytest.approx(2.0)  # |3 + 1 − 6|
    assert r.details["relative"] == pytest.approx(2.0 / 5.0)


def test_efficiency_per_row_by_hand() -> None:
    X = np.zeros((4, 3))
    e = expl(np.zeros((4, 3)), X, seconds=2.0, n_model_evals=400)
    m = linear(W)
    assert one(m, X, e, SecondsPerRow()).value == pytest.approx(0.5)
    assert one(m, X, e, EvalsPerRow()).value == pytest.approx(100.0)


def test_local_lipschitz_of_identity_explainer_is_the_feature_spread() -> None:
    # φ(x) = x: ‖φ(x) − φ(x')‖ / ‖(x − x')/s‖ = s when every feature has spread s = 2.
    rng = np.random.default_rng(2)
    X = rng.normal(size=(6, 3))
    bg = np.array([[-2.0] * 3, [2.0] * 3])

    def identity_explainer(model, Z):
        Z = Z.reshape(len(Z), -1)
        return expl(Z.copy(), Z, method="identity")

    m = linear(W)
    e = expl(X.copy(), X, method="identity")
    r = one(m, X, e, LocalLipschitz(), background=bg, explainer=identity_explainer)
    assert r.value == pytest.approx(2.0)
    assert r.details["n_samples"] == 3 and any("model-agnostic" in n for n in r.notes)

    def constant_explainer(model, Z):
        Z = Z.reshape(len(Z), -1)
        return expl(np.ones_like(Z), Z, method="constant")

    e1 = expl(np.ones_like(X), X, method="constant")
    assert one(m, X, e1, MaxSensitivity(n_samples=5), background=bg, explainer=constant_explainer).value == 0.0
    # max-sensitivity of the identity explainer is bounded by r·s·√d / ‖x‖
    ms = one(m, X, e, MaxSensitivity(radius=0.1), background=bg, explainer=identity_explainer)
    bound = 0.1 * 2 * np.sqrt(3) / np.linalg.norm(X, axis=1)
    assert np.all(ms.per_row <= bound + 1e-9) and np.all(ms.per_row > 0)


def test_ground_truth_metrics_by_hand() -> None:
    X = np.zeros((1, 4))
    gt = np.array([[4.0, -3.0, 2.0, 1.0]])
    e = expl(np.array([[0.5, 5.0, 0.1, 2.5]]), X)
    m = linear(np.ones(4))
    rs = {r.name: r for r in evaluate(m, X, e, "ground_truth", ground_truth=gt, random_state=0)}
    assert rs["gt_feature_agreement"].value == pytest.approx(2 / 3)  # {0,1,2} ∩ {1,3,0} = {0,1}
    assert rs["gt_rank_agreement"].value == 0.0  # order 0,1,2 vs 1,3,0
    assert rs["gt_sign_agreement"].value == pytest.approx(1 / 3)  # feature 0 agrees, feature 1 does not
    assert rs["gt_rank_correlation"].value == pytest.approx(0.0)
    assert rs["gt_irrelevant_mass"].value == 0.0  # every feature has a non-zero true attribution
    gt2 = np.array([[4.0, -3.0, 0.0, 0.0]])
    (r,) = evaluate(m, X, e, ["gt_irrelevant_mass"], ground_truth=gt2, random_state=0)
    assert r.value == pytest.approx(2.6 / 8.1)
    assert r.details["irrelevant_features"] == [2, 3]


def test_ground_truth_object_from_synthetic_data_is_used() -> None:
    ds = leanlens.datasets.synthetic("additive", n=200, random_state=0)
    X = ds.X_test[:10]
    truth = ds.ground_truth.shapley(X)
    m = leanlens.as_model(lambda Z: ds.ground_truth.function(Z), n_features=12)
    rs = {r.name: r for r in evaluate(m, X, expl(truth, X), "ground_truth", ground_truth=ds.ground_truth, random_state=0)}
    assert rs["gt_feature_agreement"].value == 1.0
    assert rs["gt_irrelevant_mass"].value == 0.0
    assert rs["gt_rank_correlation"].details["global"] == pytest.approx(1.0)
