"""Pruning: structured shrinking (MLP, CNN), unstructured sparsity to the weight, refusals."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import leanlens
from leanlens.compress import Prune, compress
from leanlens.errors import ConfigError, InvalidInputError, UnsupportedModelError


def _linear_shapes(model):
    return [tuple(m.weight.shape) for m in model.module.modules() if isinstance(m, nn.Linear | nn.Conv2d)]


def _prunable_weights(model, skip_last=True):
    ws = [m.weight.detach() for m in model.module.modules() if isinstance(m, nn.Linear | nn.Conv2d)]
    return ws[:-1] if skip_last else ws


def test_structured_layer_scope_halves_hidden_layers_and_saves(mlp64, digits, tmp_path):
    res = compress(mlp64, [Prune(amount=0.5, scope="layer")], data=digits, latency_reps=0, random_state=0)
    assert _linear_shapes(res.model) == [(32, 64), (32, 32), (10, 32)]  # output layer left alone
    assert res.record.final.parameters == 64 * 32 + 32 + 32 * 32 + 32 + 32 * 10 + 10
    assert res.record.final.macs == 64 * 32 + 32 * 32 + 32 * 10
    res.model.save(tmp_path / "m")
    again = leanlens.load_model(tmp_path / "m")
    np.testing.assert_allclose(again.output(digits.X_test), res.model.output(digits.X_test), atol=1e-6)
    assert _linear_shapes(mlp64) == [(64, 64), (64, 64), (10, 64)]  # the input model is untouched


def test_structured_cnn_shrinks_channels_and_the_dense_layer(small_cnn, images, tmp_path):
    res = compress(small_cnn, [Prune(amount=0.5, scope="layer")], data=images, latency_reps=0)
    shapes = _linear_shapes(res.model)
    assert shapes[0] == (2, 1, 3, 3) and shapes[1] == (4, 2, 3, 3)
    assert shapes[2] == (8, 4 * 4 * 4) and shapes[3] == (10, 8)
    res.model.save(tmp_path / "cnn")
    again = leanlens.load_model(tmp_path / "cnn")
    np.testing.assert_allclose(again.output(images.X_test[:20]), res.model.output(images.X_test[:20]), atol=1e-6)


@pytest.mark.parametrize("criterion", ["magnitude", "l1", "taylor", "lamp", "fpgm", "random"])
def test_every_structured_criterion_runs(criterion, mlp64, digits):
    res = compress(mlp64, [Prune(amount=0.25, scope="layer", criterion=criterion)], data=digits, latency_reps=0)
    assert _linear_shapes(res.model)[:2] == [(48, 64), (48, 48)]
    assert res.record.final.agreement > 0.3


def test_structured_magnitude_keeps_the_largest_neurons(mlp64, digits):
    """Layer-scope L2 magnitude on the first layer's group keeps the neurons with the largest norms."""
    res = compress(mlp64, [Prune(amount=0.5, scope="layer", ignore=("output", "body.3"))], data=digits, latency_reps=0)
    w0 = mlp64.module.body[1].weight.detach()
    kept = res.model.module.body[1].weight.detach()
    # each kept row is one of the original rows
    matches = [int(torch.argmin((w0 - row).abs().sum(1))) for row in kept]
    assert len(set(matches)) == 32
    assert min(float((w0[i] - kept[j]).abs().max()) for j, i in enumerate(matches)) < 1e-6


def test_iterative_taylor_with_finetuning_reaches_the_target(mlp64, digits):
    plan = [Prune(amount=0.5, scope="layer", criterion="taylor", steps=2, finetune_epochs=1)]
    res = compress(mlp64, plan, data=digits, latency_reps=0, random_state=1)
    assert _linear_shapes(res.model)[:2] == [(32, 64), (32, 32)]
    assert res.record.final.score > 0.5


@pytest.mark.parametrize("amount", [0.5, 0.8, 0.9])
def test_unstructured_global_sparsity_equals_amount_to_the_weight(amount, mlp64, digits):
    res = compress(mlp64, [Prune(kind="unstructured", amount=amount)], data=digits, latency_reps=0)
    before = _prunable_weights(mlp64)
    after = _prunable_weights(res.model)
    n = sum(w.numel() for w in before)
    zeros = sum(int((w == 0).sum()) for w in after)
    assert zeros == round(amount * n)
    # global L1: every kept weight is at least as large as every removed one
    flat_b = torch.cat([w.flatten() for w in before])
    flat_a = torch.cat([w.flatten() for w in after])
    assert float(flat_b[flat_a != 0].abs().min()) >= float(flat_b[flat_a == 0].abs().max())
    assert res.record.final.sparsity == pytest.approx(zeros / (n + 64 * 10), abs=1e-9)
    # dense storage does not shrink; the sparse-storage figure does
    assert res.record.final.file_bytes >= res.record.original.file_bytes - 64
    if amount >= 0.8:
        assert res.record.final.sparse_bytes < 0.6 * res.record.final.file_bytes
    assert any("no" in n_ or "do not shrink" in n_ for n_ in res.record.steps[0].notes)


def test_unstructured_layer_scope_prunes_each_layer_to_the_amount(mlp64, digits):
    res = compress(mlp64, [Prune(kind="unstructured", amount=0.6, scope="layer")], data=digits, latency_reps=0)
    for w in _prunable_weights(res.model):
        assert int((w == 0).sum()) == round(0.6 * w.numel())


def test_random_criterion_is_seeded_and_differs_from_l1(mlp64, digits):
    plan = [Prune(kind="unstructured", amount=0.5, criterion="random")]
    a = compress(mlp64, plan, data=digits, latency_reps=0, random_state=3).model
    b = compress(mlp64, plan, data=digits, latency_reps=0, random_state=3).model
    l1 = compress(mlp64, [Prune(kind="unstructured", amount=0.5)], data=digits, latency_reps=0).model
    wa, wb, wl = (_prunable_weights(m)[0] for m in (a, b, l1))
    assert torch.equal(wa == 0, wb == 0)
    assert not torch.equal(wa == 0, wl == 0)


def test_pruning_that_would_empty_a_layer_is_refused(digits):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 10))
    with torch.no_grad():
        net[2].weight.mul_(1e-6)  # the middle layer holds the smallest weights of the network
    model = leanlens.as_model(net, input_shape=(64,))
    with pytest.raises(InvalidInputError, match=r"remove every weight of layer '2'"):
        compress(model, [Prune(kind="unstructured", amount=0.5)], data=digits, latency_reps=0)


def test_structured_pruning_of_a_forest_suggests_distillation(digits):
    from sklearn.ensemble import RandomForestClassifier

    forest = RandomForestClassifier(n_estimators=5, max_depth=4, random_state=0).fit(digits.X_train, digits.y_train)
    with pytest.raises(UnsupportedModelError, match=r"'prune' step needs a torch model; got a sklearn model.*'distill'"):
        compress(forest, [Prune(amount=0.5)], data=digits, latency_reps=0)


def test_unknown_ignored_module_is_named(mlp64, digits):
    with pytest.raises(ConfigError, match=r"names 'body.99'.*Valid: output, body.1"):
        compress(mlp64, [Prune(amount=0.5, ignore=("body.99",))], data=digits, latency_reps=0)


def test_amount_zero_is_a_no_op(mlp64, digits):
    res = compress(mlp64, [Prune(amount=0.0)], data=digits, latency_reps=0)
    np.testing.assert_array_equal(res.model.output(digits.X_test), mlp64.output(digits.X_test))
    assert res.record.final.agreement == 1.0


def test_a_structured_group_that_empties_a_layer_is_refused():
    import torch_pruning as tp

    from leanlens.compress.prune import _refuse_emptying

    net = nn.Sequential(nn.Linear(8, 6), nn.ReLU(), nn.Linear(6, 3))
    graph = tp.DependencyGraph().build_dependency(net, example_inputs=torch.zeros(1, 8))
    group = graph.get_pruning_group(net[0], tp.prune_linear_out_channels, idxs=list(range(6)))
    with pytest.raises(InvalidInputError, match=r"would remove all 6 units of layer Linear\(6, 8\)"):
        _refuse_emptying(group)
    _refuse_emptying(graph.get_pruning_group(net[0], tp.prune_linear_out_channels, idxs=[0, 1]))  # fine
