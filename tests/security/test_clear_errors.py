"""Issue 10, items 11 and 12: clear leanlens errors instead of tracebacks; a NaN-returning model is refused."""

from __future__ import annotations

import numpy as np
import pytest

import leanlens
from leanlens.errors import InvalidInputError, ModelFormatError
from leanlens.testing import hostile


@pytest.mark.parametrize("method", ["kernel", "leverage", "shapley"])
def test_too_many_features_for_regression_shapley_is_a_clear_error(method):
    f = leanlens.as_model(lambda X: X.sum(axis=1), n_features=10_000)
    with pytest.raises(InvalidInputError, match="at most 1,000 features; this model has 10,000"):
        leanlens.explain(f, np.zeros((1, 10_000)), method=method, background=np.zeros((2, 10_000)), random_state=0)


def test_load_model_none_is_a_clear_error():
    with pytest.raises(InvalidInputError, match="'path' parameter of load_model must be a str or os.PathLike"):
        leanlens.load_model(None)  # type: ignore[arg-type]


@pytest.mark.parametrize("maker", [hostile.explanation_arrays_int, hostile.explanation_arrays_escape])
def test_explanation_load_refuses_bad_arrays_field(maker, tmp_path):
    with pytest.raises(ModelFormatError, match="has 'arrays' = "):
        leanlens.Explanation.load(maker(tmp_path).path)


def test_explanation_load_reports_wrong_field_types(tmp_path):
    e = leanlens.Explanation(values=np.ones((1, 2)), base_values=np.zeros(1), data=np.ones((1, 2)),
                             feature_names=("a", "b"), output_names=("v",), method="kernel")
    p = e.save(tmp_path / "explanation.json")
    import json

    meta = json.loads(p.read_text())
    meta["n_model_evals"] = [1, 2]
    p.write_text(json.dumps(meta))
    with pytest.raises(ModelFormatError, match="wrong type"):
        leanlens.Explanation.load(p)


@pytest.mark.parametrize("argv", [["explain", "--seed", "-5"], ["evaluate", "--seed", "-1"]])
def test_negative_cli_seeds_exit_2(argv, run_cli, iris_mlp, tmp_path):
    folder = iris_mlp.save(tmp_path / "m")
    code, err = run_cli(argv[0], folder, "--data", "iris", *argv[1:])
    assert code == 2 and err.count("\n") == 1
    assert "'--seed' parameter must be None or an int in [0, 4294967295]" in err


def _nan_on_positive_first(X):
    out = X.sum(axis=1)
    return np.where(X[:, 0] > 0, np.nan, out)


@pytest.mark.parametrize("method", ["kernel", "permutation", "exact", "lime"])
def test_model_returning_nan_is_refused_naming_the_rows(method):
    f = leanlens.as_model(_nan_on_positive_first, n_features=3)
    X = np.array([[-1.0, 0, 0], [1.0, 0, 0], [-2.0, 1, 1], [3.0, 0, 0]])
    with pytest.raises(InvalidInputError, match=r"NaN or infinite outputs for 2 of the 4 explained rows \(rows 1, 3\)"):
        leanlens.explain(f, X, method=method, background=-np.ones((2, 3)), random_state=0)


def test_model_returning_inf_on_background_is_refused():
    f = leanlens.as_model(lambda X: np.where(X[:, 1] > 5, np.inf, X[:, 0]), n_features=2)
    bg = np.array([[0.0, 0.0], [0.0, 9.0]])
    with pytest.raises(InvalidInputError, match=r"1 of the 2 background rows \(rows 1\)"):
        leanlens.explain(f, np.zeros((1, 2)), method="kernel", background=bg, random_state=0)
