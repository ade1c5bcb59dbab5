"""One conformance test run on every registered explainer: shapes for every kind of target,
determinism under a seed, serialization round-trip, and the shared bad-input answers.

A new method only has to register itself to be checked here. Model-specific methods
(``model_agnostic = False``) must refuse the models they cannot explain with an
UnsupportedModelError that points to the model-agnostic methods, and must work on at
least one of the fixture models.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from leanlens.errors import InvalidInputError, UnsupportedModelError
from leanlens.explain import Explanation
from leanlens.explain.base import EXPLAINERS, available_explainers, get_explainer

METHODS = sorted(available_explainers())  # imports every built-in module first
N_ROWS = 3


@pytest.fixture(scope="module")
def models(iris_mlp, iris_forest):
    return {"torch": iris_mlp, "sklearn": iris_forest}


def _explain(cls, model, X, bg, target, seed=0):
    return cls(model, background=bg, random_state=seed).explain(X, target=target)


def _supported(cls, model, iris):
    """Explain once; a model-specific method may refuse, but only with a helpful error."""
    try:
        return _explain(cls, model, iris.X_test[:N_ROWS], iris.X_train[:20], None)
    except UnsupportedModelError as exc:
        assert not cls.model_agnostic, f"{cls.name} claims to be model-agnostic but refused a {model.kind} model"
        assert "model-agnostic" in str(exc)
        return None


@pytest.mark.parametrize("method", METHODS)
def test_explainer_class_metadata(method):
    cls = EXPLAINERS[method]
    assert cls.name == method
    assert cls.summary and "\n" not in cls.summary
    assert get_explainer(method) is cls


@pytest.mark.parametrize("method", METHODS)
def test_explainer_supports_at_least_one_fixture_model(method, models, iris):
    cls = EXPLAINERS[method]
    works = [kind for kind, m in models.items() if _supported(cls, m, iris) is not None]
    assert works, f"{method} explains none of the fixture models"
    if cls.model_agnostic:
        assert works == list(models)


@pytest.mark.parametrize("kind", ["torch", "sklearn"])
@pytest.mark.parametrize("method", METHODS)
def test_explainer_conformance(method, kind, models, iris, tmp_path):
    cls = EXPLAINERS[method]
    model = models[kind]
    first = _supported(cls, model, iris)
    if first is None:
        pytest.skip(f"{method} does not explain {kind} models (refused as it should)")
    X, bg = iris.X_test[:N_ROWS], iris.X_train[:20]
    n, d, k = N_ROWS, model.n_features, model.n_outputs

    # target=None: every output
    assert first.values.shape == (n, d, k) and first.base_values.shape == (n, k)
    assert first.targets is None
    assert first.stderr is None or first.stderr.shape == first.values.shape
    np.testing.assert_allclose(first.data, X.reshape(n, -1))
    assert first.feature_names == model.feature_names and first.method == method
    # every method evaluates the model (or walks its trees) at least once per explained row
    assert first.n_model_evals >= n and first.seconds > 0
    assert np.all(np.isfinite(first.values)) and np.all(np.isfinite(first.base_values))

    # target=int and target="predicted": one output per row
    one = _explain(cls, model, X, bg, 1)
    assert one.values.shape == (n, d) and one.base_values.shape == (n,)
    assert one.targets.tolist() == [1] * n
    pred = _explain(cls, model, X, bg, "predicted")
    assert pred.values.shape == (n, d)
    assert pred.targets.tolist() == model.predict(X).tolist()
    named = _explain(cls, model, X, bg, model.output_names[2])
    assert named.targets.tolist() == [2] * n

    # determinism under a seed
    again = _explain(cls, model, X, bg, None)
    np.testing.assert_array_equal(again.values, first.values)
    np.testing.assert_array_equal(again.base_values, first.base_values)

    # serialization round-trips (JSON dict and JSON + npz on disk)
    for e in (first, pred):
        back = Explanation.from_dict(json.loads(json.dumps(e.to_dict())))
        np.testing.assert_array_equal(back.values, e.values)
        loaded = Explanation.load(e.save(tmp_path / f"{method}-{e.values.ndim}.json"))
        np.testing.assert_array_equal(loaded.values, e.values)
        np.testing.assert_array_equal(loaded.base_values, e.base_values)
        assert loaded.params == json.loads(json.dumps(e.to_dict()))["params"]
        assert (loaded.targets is None) == (e.targets is None)


@pytest.mark.parametrize("method", METHODS)
def test_explainer_shared_bad_input(method, models, iris):
    cls = EXPLAINERS[method]
    model = next(m for m in models.values() if _supported(cls, m, iris) is not None)
    bg = iris.X_train[:20]
    with pytest.raises(InvalidInputError, match="has 3 features per row; the model expects 4"):
        _explain(cls, model, iris.X_test[:2, :3], bg, None)
    bad = iris.X_test[:3].copy()
    bad[2, 0] = np.nan
    with pytest.raises(InvalidInputError, match="NaN or infinite values.* in 1 rows"):
        _explain(cls, model, bad, bg, None)
    with pytest.raises(InvalidInputError, match=r"'target' index must be in \[0, 3\)"):
        _explain(cls, model, iris.X_test[:2], bg, 3)
    with pytest.raises(InvalidInputError, match="'target' parameter must be None, 'predicted'"):
        _explain(cls, model, iris.X_test[:2], bg, "biggest")
    with pytest.raises(InvalidInputError, match="no rows to explain"):
        _explain(cls, model, iris.X_test[:0], bg, None)


def test_unknown_method_lists_the_valid_ones():
    with pytest.raises(InvalidInputError) as exc:
        get_explainer("limme")
    msg = str(exc.value)
    assert "Did you mean 'lime'?" in msg
    for name in ("lime", "ig", "tree", "deeplift"):
        assert name in msg


def test_registry_loads_captum_shap_and_matplotlib_lazily():
    import subprocess
    import sys

    code = (
        "import sys; from leanlens.explain.base import available_explainers; available_explainers(); "
        "print(sorted(m for m in ('captum', 'shap', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
