"""Gradient attributions through Captum: known answers on a linear model, IG completeness,
DeepLift summation-to-delta, baselines, RNG hygiene, and refusal of gradient-free models."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import leanlens
from leanlens.errors import InvalidInputError, UnsupportedModelError
from leanlens.explain import explain

GRADIENT_METHODS = ("ig", "saliency", "input_x_gradient", "gradient_shap", "deeplift")


@pytest.mark.parametrize("target", [None, "predicted"])
def test_ig_completeness_within_one_percent_at_64_steps_on_relu_mlp(iris_mlp, iris, target):
    X = iris.X_test
    e = explain(iris_mlp, X, method="ig", background=iris.X_train, baseline="mean", target=target)
    assert e.params["n_steps"] == 64
    fx = iris_mlp.output(X)
    if target is not None:
        fx = fx[np.arange(len(X)), e.targets]
    gap = fx - e.base_values
    delta = e.values.sum(axis=1) - gap
    rel = np.abs(delta).sum() / np.abs(gap).sum()
    assert rel <= 0.01
    assert e.params["completeness_delta_rel"] == pytest.approx(rel, rel=1e-3, abs=1e-6)


def test_ig_completeness_is_tight_on_a_smooth_mlp(iris_tanh_mlp, iris):
    e = explain(iris_tanh_mlp, iris.X_test, method="ig", baseline="zeros")
    assert e.params["completeness_delta_max"] < 1e-5
    np.testing.assert_allclose(e.base_values, iris_tanh_mlp.output(np.zeros_like(iris.X_test)), atol=1e-6)


def test_linear_model_known_answers(linear_torch, linear_weights, gaussian_rows):
    X, bg = gaussian_rows[:6], gaussian_rows
    mean = bg.astype(np.float64).mean(0)
    ig = explain(linear_torch, X, method="ig", background=bg, baseline="mean", n_steps=8)
    np.testing.assert_allclose(ig.values[:, :, 0], linear_weights * (X - mean), atol=1e-4)
    dl = explain(linear_torch, X, method="deeplift", background=bg, baseline="mean")
    np.testing.assert_allclose(dl.values[:, :, 0], linear_weights * (X - mean), atol=1e-4)
    sal = explain(linear_torch, X, method="saliency")
    np.testing.assert_allclose(sal.values[:, :, 0], np.tile(np.abs(linear_weights), (6, 1)), atol=1e-6)
    ixg = explain(linear_torch, X, method="input_x_gradient")
    np.testing.assert_allclose(ixg.values[:, :, 0], linear_weights * X, atol=1e-5)
    np.testing.assert_allclose(ixg.base_values[:, 0], 3.0, atol=1e-6)  # f(0)
    gs = explain(linear_torch, X, method="gradient_shap", background=bg, baseline="mean", random_state=0)
    np.testing.assert_allclose(gs.values[:, :, 0], linear_weights * (X - mean), atol=1e-4)
    # with background baselines it is a Monte Carlo estimate of w (x − E x): standard error ≈ |w|·sd/√n
    gs = explain(linear_torch, X, method="gradient_shap", background=bg, n_samples=4000, max_background=300, random_state=0)
    sd = bg.astype(np.float64).std(0)
    assert np.all(np.abs(gs.values[:, :, 0] - linear_weights * (X - mean)) <= 5 * np.abs(linear_weights) * sd / np.sqrt(4000) + 1e-6)
    np.testing.assert_allclose(gs.base_values[:, 0], linear_torch.output(bg).mean(), atol=1e-6)
    assert gs.notes == ()
    capped = explain(linear_torch, X, method="gradient_shap", background=bg, max_background=50, random_state=0)
    assert any("subsampled at random to 50 rows" in n for n in capped.notes)


def test_deeplift_sums_to_delta_through_the_softmax(iris_mlp, iris):
    e = explain(iris_mlp, iris.X_test, method="deeplift", background=iris.X_train, baseline="background", random_state=0)
    assert e.values.shape == (len(iris.X_test), 4, 3)
    residual = np.abs(e.values.sum(axis=1) + e.base_values - iris_mlp.output(iris.X_test))
    assert residual.max() < 1e-5
    assert e.params["completeness_delta_max"] < 1e-5


def test_baselines_set_the_base_values(iris_mlp, iris):
    X, bg = iris.X_test[:5], iris.X_train
    zeros = explain(iris_mlp, X, method="ig", baseline="zeros", target=0)
    np.testing.assert_allclose(zeros.base_values, iris_mlp.output(np.zeros_like(X))[:, 0], atol=1e-6)
    mean = explain(iris_mlp, X, method="ig", background=bg, target=0)  # default with a background: the mean
    assert mean.params["baseline"] == "mean"
    np.testing.assert_allclose(mean.base_values, iris_mlp.output(bg.mean(0, keepdims=True))[0, 0], atol=1e-6)
    sample = explain(iris_mlp, X, method="ig", background=bg, baseline="background", target=0, random_state=0)
    # each row's baseline is one background row: its output is among the background outputs
    f_bg = iris_mlp.output(bg)[:, 0]
    assert all(np.isclose(f_bg, b, atol=1e-6).any() for b in sample.base_values)
    with pytest.raises(InvalidInputError, match="needs a 'background'"):
        explain(iris_mlp, X, method="ig", baseline="mean")


def test_gradient_shap_is_seeded_and_leaves_global_torch_rng_alone(iris_mlp, iris):
    state = torch.random.get_rng_state()
    np_state = np.random.get_state()[1].copy()  # noqa: NPY002 - checking that it is left alone
    a = explain(iris_mlp, iris.X_test[:5], method="gradient_shap", background=iris.X_train, random_state=1, stdevs=0.1)
    b = explain(iris_mlp, iris.X_test[:5], method="gradient_shap", background=iris.X_train, random_state=1, stdevs=0.1)
    np.testing.assert_array_equal(a.values, b.values)
    assert torch.equal(state, torch.random.get_rng_state())
    np.testing.assert_array_equal(np_state, np.random.get_state()[1])  # noqa: NPY002


def test_image_model_gradients_keep_the_input_shape(digits):
    import torch.nn as nn

    net = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(128, 10))
    m = leanlens.as_model(net, input_shape=(1, 8, 8))
    X = digits.X_test[:3].reshape(3, 1, 8, 8)
    e = explain(m, X, method="ig", target="predicted")
    assert e.values.shape == (3, 64) and e.input_shape == (1, 8, 8)


@pytest.mark.parametrize("method", GRADIENT_METHODS)
def test_gradient_methods_refuse_models_without_gradients(method, iris_forest, iris):
    with pytest.raises(UnsupportedModelError) as exc:
        explain(iris_forest, iris.X_test[:2], method=method, background=iris.X_train)
    assert "needs gradients" in str(exc.value) and "model-agnostic" in str(exc.value)


def test_gradient_bad_parameters(iris_mlp, iris):
    with pytest.raises(InvalidInputError, match="'baseline' parameter of IntegratedGradients must be one of"):
        explain(iris_mlp, iris.X_test[:2], method="ig", baseline="median")
    with pytest.raises(InvalidInputError, match="'n_steps' parameter of IntegratedGradients must be an int ≥ 1"):
        explain(iris_mlp, iris.X_test[:2], method="ig", n_steps=0)
    with pytest.raises(InvalidInputError, match=r"Unknown parameter\(s\) \['steps'\]"):
        explain(iris_mlp, iris.X_test[:2], method="deeplift", steps=3)
    with pytest.raises(InvalidInputError, match=r"'target' index must be in \[0, 3\)"):
        explain(iris_mlp, iris.X_test[:2], method="saliency", target=3)
    with pytest.raises(InvalidInputError, match="has 5 features per row"):
        explain(iris_mlp, np.zeros((2, 5)), method="ig")


def test_deeplift_says_when_maxpool_breaks_summation_to_delta(digits, iris_tanh_mlp, iris):
    from leanlens.models.architectures import small_cnn

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = small_cnn((1, 8, 8), 10, channels=(4, 8), hidden=16)
    m = leanlens.as_model(net, input_shape=(1, 8, 8))
    X = digits.X_test[:5].reshape(5, 1, 8, 8)
    e = explain(m, X, method="deeplift", target="predicted")
    residual = np.abs(e.values.sum(1) + e.base_values - m.output(X)[np.arange(5), e.targets])
    assert e.params["completeness_delta_max"] == pytest.approx(residual.max(), abs=1e-6)
    if e.params["completeness_delta_rel"] > 0.01:
        assert any("MaxPool2d" in n for n in e.notes)
    smooth = explain(iris_tanh_mlp, iris.X_test[:5], method="deeplift")
    assert smooth.notes == ()


@pytest.mark.parametrize("method", GRADIENT_METHODS)
def test_gradient_methods_process_rows_in_chunks(method, monkeypatch, iris_mlp, iris):
    from leanlens.explain.gradients import base as gradients

    X = iris.X_test[:7]
    kwargs = {} if method in ("saliency", "input_x_gradient") else {"background": iris.X_train, "baseline": "background"}
    whole = explain(iris_mlp, X, method=method, random_state=0, **kwargs)
    per_row = 64 if method in ("ig", "deeplift") else 50 if method == "gradient_shap" else 1
    monkeypatch.setattr(gradients, "CHUNK_VALUES", 3 * 4 * per_row)  # three rows per chunk
    chunked = explain(iris_mlp, X, method=method, random_state=0, **kwargs)
    assert chunked.values.shape == whole.values.shape == (7, 4, 3)
    if method != "gradient_shap":  # its random path points are drawn per chunk
        np.testing.assert_allclose(chunked.values, whole.values, atol=1e-6)
    if "completeness_delta_max" in whole.params:
        assert chunked.params["completeness_delta_max"] == pytest.approx(whole.params["completeness_delta_max"], abs=1e-6)


@pytest.mark.parametrize("method", ["ig", "saliency", "input_x_gradient", "gradient_shap", "deeplift"])
def test_gradient_methods_keep_nothing_on_self_and_are_reentrant(method, iris_mlp, iris):
    from concurrent.futures import ThreadPoolExecutor

    from leanlens.explain import get_explainer

    e = get_explainer(method)(iris_mlp, background=iris.X_train[:20], budget=8, random_state=3)
    before = dict(vars(e))
    first = e.explain(iris.X_test[:4])
    assert vars(e).keys() == before.keys() and all(vars(e)[k] is v for k, v in before.items())
    with ThreadPoolExecutor(2) as pool:  # the same explainer serving two calls at once
        a, b = pool.map(lambda rows: e.explain(rows), [iris.X_test[:4], iris.X_test[4:9]])
    np.testing.assert_allclose(a.values, first.values, rtol=1e-6, atol=1e-9)
    assert b.values.shape[0] == 5


def test_gradient_params_follow_their_declared_rules(iris_mlp, iris):
    with pytest.raises(InvalidInputError, match=r"The 'n_steps' parameter of IntegratedGradients must be an int ≥ 1"):
        leanlens.explain(iris_mlp, iris.X_test[:2], method="ig", n_steps=0)
    with pytest.raises(InvalidInputError, match=r"Unknown parameter\(s\) \['n_step'\] for the 'ig' method. Did you mean 'n_steps'"):
        leanlens.explain(iris_mlp, iris.X_test[:2], method="ig", n_step=8)
    with pytest.raises(InvalidInputError, match="'baseline' parameter of DeepLift must be one of 'zeros', 'mean'"):
        leanlens.explain(iris_mlp, iris.X_test[:2], method="deeplift", baseline="median")
    with pytest.raises(InvalidInputError, match="'budget' parameter of GradientShap must be an int"):
        leanlens.explain(iris_mlp, iris.X_test[:2], method="gradient_shap", budget=0)
