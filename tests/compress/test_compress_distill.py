"""Distillation: loss goes down, students beat chance, any teacher, attribution matching, warnings."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import leanlens
from leanlens.compress import Distill, compress
from leanlens.compress.distill import input_gradients, kd_loss
from leanlens.errors import ConfigError


def test_kd_loss_known_answers():
    z = torch.tensor([[2.0, 0.0, -1.0]])
    y = torch.tensor([0])
    # the student equal to the teacher has zero soft loss
    assert float(kd_loss(z, y, z.clone(), temperature=3.0, alpha=1.0, regression=False)) == pytest.approx(0, abs=1e-7)
    # alpha = 0 is plain cross-entropy
    ce = float(torch.nn.functional.cross_entropy(z, y))
    assert float(kd_loss(z, y, torch.zeros(1, 3), temperature=3.0, alpha=0.0, regression=False)) == pytest.approx(ce)
    # alpha = 1 is T² · KL(p_t^T ‖ p_s^T)
    t = torch.tensor([[0.0, 1.0, 0.0]])
    T = 2.0
    pt, ps = torch.softmax(t / T, 1), torch.softmax(z / T, 1)
    kl = float((pt * (pt.log() - ps.log())).sum()) * T * T
    assert float(kd_loss(z, y, t, temperature=T, alpha=1.0, regression=False)) == pytest.approx(kl, rel=1e-5)


def test_mlp_student_loss_decreases_and_beats_chance(mlp64, digits, tmp_path):
    res = compress(mlp64, [Distill(hidden=(16,), epochs=8)], data=digits, latency_reps=0, random_state=0)
    losses = res.model.metadata["distill_history"]["train_loss"]
    assert losses[-1] < 0.7 * losses[0]
    assert res.record.final.score > 0.6  # chance is 0.1
    assert res.record.final.parameters == 64 * 16 + 16 + 16 * 10 + 10
    res.model.save(tmp_path / "student")
    assert leanlens.load_model(tmp_path / "student").predict(digits.X_test[:3]).shape == (3,)


def test_tree_student_of_a_torch_teacher(mlp64, digits):
    res = compress(mlp64, [Distill(student="tree", max_depth=8, augment=2)], data=digits, latency_reps=0, random_state=0)
    assert res.model.kind == "sklearn"
    assert res.model.estimator.get_depth() <= 8
    assert res.record.final.score > 0.5 and res.record.final.agreement > 0.5


def test_any_teacher_a_forest_teaches_an_mlp(digits):
    from sklearn.ensemble import RandomForestClassifier

    forest = RandomForestClassifier(n_estimators=20, max_depth=8, random_state=0).fit(digits.X_train, digits.y_train)
    res = compress(forest, [Distill(hidden=(32,), epochs=8)], data=digits, latency_reps=0, random_state=0)
    assert res.model.kind == "torch"
    assert res.record.final.score > 0.6
    with pytest.raises(ConfigError, match="Attribution matching needs a torch teacher"):
        compress(forest, [Distill(attribution=1.0)], data=digits, latency_reps=0)


def test_regression_teacher(digits):
    ds = leanlens.datasets.load("diabetes", random_state=0)
    teacher = leanlens.train(ds, leanlens.TrainConfig(hidden=(32,), epochs=20, lr=1e-2, random_state=0))
    res = compress(teacher, [Distill(hidden=(8,), epochs=20)], data=ds, latency_reps=0, random_state=0)
    assert res.record.final.score_name == "test_r2"
    assert res.record.final.agreement > 0.5  # R² of the student's predictions against the teacher's


def _mean_cosine(student, teacher, X, y):
    gs = input_gradients(student, X, y).reshape(len(X), -1)
    gt = input_gradients(teacher, X, y).reshape(len(X), -1)
    num = (gs * gt).sum(1)
    den = np.linalg.norm(gs, axis=1) * np.linalg.norm(gt, axis=1) + 1e-12
    return float(np.mean(num / den))


def test_attribution_matching_aligns_input_gradients(mlp64, digits):
    X, y = digits.X_test, digits.y_test
    plain = compress(mlp64, [Distill(hidden=(16,), epochs=6)], data=digits, latency_reps=0, random_state=0).model
    matched = compress(mlp64, [Distill(hidden=(16,), epochs=6, attribution=1.0)], data=digits, latency_reps=0,
                       random_state=0).model
    assert _mean_cosine(matched, mlp64, X, y) > _mean_cosine(plain, mlp64, X, y) + 0.1


def test_a_student_larger_than_its_teacher_warns(iris, iris_mlp):
    with pytest.warns(UserWarning, match="not fewer than its teacher"):
        res = compress(iris_mlp, [Distill(hidden=(64, 64), epochs=1)], data=iris, latency_reps=0)
    assert any("not fewer" in w for w in res.record.warnings)


def test_transfer_set_is_labelled_by_the_teacher(mlp64, digits):
    from leanlens.compress.distill import _transfer_set

    rng = np.random.default_rng(0)
    X, y = _transfer_set(mlp64, digits.X_train, digits.y_train, 3, rng)
    n = len(digits.X_train)
    assert X.shape == (4 * n, 64) and y.shape == (4 * n,)
    np.testing.assert_array_equal(X[:n], digits.X_train)
    np.testing.assert_array_equal(y[:n], digits.y_train)
    np.testing.assert_array_equal(y[n:], mlp64.predict(X[n:]))
    assert not np.allclose(X[n : 2 * n], digits.X_train)
    X0, y0 = _transfer_set(mlp64, digits.X_train, digits.y_train, 0, rng)
    assert X0 is digits.X_train and y0 is digits.y_train
