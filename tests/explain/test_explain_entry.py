"""``leanlens.explain`` is both the explain() function (ARCHITECTURE.md) and the explain package."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import leanlens


def test_leanlens_explain_is_callable_and_reads_as_the_package():
    f = leanlens.as_model(lambda X: X @ np.array([1.0, 2.0, 0.0]), n_features=3)
    bg = np.repeat(np.arange(5.0)[:, None], 3, axis=1)
    e = leanlens.explain(f, np.ones((1, 3)), method="lime", background=bg,
                         random_state=0)
    assert isinstance(e, leanlens.Explanation)
    from leanlens.explain import base, plots

    assert leanlens.explain.explain is base.explain
    assert leanlens.explain.plots is plots and leanlens.explain.Explanation is leanlens.Explanation
    assert "method" in inspect.signature(leanlens.explain).parameters
    assert "plots" in dir(leanlens.explain) and "Explain" in leanlens.explain.__doc__


def test_dotted_import_of_a_submodule_works():
    import leanlens.explain.surrogate as surrogate

    assert surrogate.SurrogateTree.__name__ == "SurrogateTree"


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        _ = leanlens.explain.nothing
