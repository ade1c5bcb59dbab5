"""Agreement with the reference implementation (shap) on the identical game."""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest

import leanlens
from leanlens.explain import explain

shap = pytest.importorskip("shap")


def _game(d=7, seed=0):
    r = np.random.default_rng(seed)
    W = r.normal(size=d)
    model = leanlens.as_model(lambda X: np.tanh(X @ W) + X[:, 0] * X[:, 1] * X[:, 2], n_features=d)
    return model, r.normal(size=(8, d)), r.normal(size=(5, d))


@pytest.mark.parametrize("method", ["exact", "kernel", "leverage"])
def test_full_budget_matches_shap_kernel_explainer(method):
    model, X, bg = _game()
    d = X.shape[1]
    f = lambda Z: model.output(Z)[:, 0]  # noqa: E731
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = np.asarray(shap.KernelExplainer(f, bg).shap_values(X, nsamples=2**d - 2, l1_reg=False, silent=True))
    ours = explain(model, X, method, background=bg, budget=2**d - 2, random_state=0, target=0)
    np.testing.assert_allclose(ours.values, ref, atol=1e-5)
    np.testing.assert_allclose(ours.base_values, f(bg).mean(), atol=1e-6)


@pytest.fixture
def shap_kernels_in_python(monkeypatch):
    """shap's numba kernels (mask building, delta masking, links) run as the Python functions they are
    compiled from, for this test only: numba compiled them on first use for ~10 s of CPU, 20x the test.

    Same algorithm, same numbers: on this test's game shap's values with and without the JIT differ by
    1.7e-16 (max abs; the values reach 1.3). The compiled functions come back after the test.
    """
    from numba.core.dispatcher import Dispatcher

    for name, module in list(sys.modules.items()):
        if name.partition(".")[0] == "shap" and module is not None:
            for attr, value in list(vars(module).items()):
                if isinstance(value, Dispatcher):
                    monkeypatch.setattr(module, attr, value.py_func)


def test_permutation_agrees_with_shap_permutation_explainer_within_sampling_noise(shap_kernels_in_python):
    model, X, bg = _game(d=6, seed=1)
    f = lambda Z: model.output(Z)[:, 0]  # noqa: E731
    exact = explain(model, X, "exact", background=bg, target=0).values
    ref = shap.PermutationExplainer(f, shap.maskers.Independent(bg, max_samples=len(bg)), seed=0)(
        X, max_evals=400, silent=True).values
    ours = explain(model, X, "permutation", background=bg, budget=400, random_state=0, target=0).values

    def err(v):
        return np.median(np.sum((v - exact) ** 2, axis=1) / np.sum(exact**2, axis=1))

    assert err(ours) < 0.02 and err(ref) < 0.02
    assert err(ours) < 5 * err(ref) + 1e-6
