"""One convention for randomness across the public API (ARCHITECTURE.md, Conventions):
every public function or class that samples takes ``random_state: int | None = None``; None
draws a fresh seed (recorded where the result is saved: a Dataset's split, a trained model),
an int gives the same numbers on the same machine. The CLI's ``--seed`` and a pipeline file's
``seed`` default to 0: a command or a file is a recipe, and the same recipe gives the same run.
"""

from __future__ import annotations

import importlib
import inspect

import numpy as np
import pytest

import leanlens
from leanlens import datasets
from leanlens.explain.base import available_explainers

#: the public modules whose ``__all__`` is checked (``leanlens.compress`` etc. name functions on the package)
MODULES = ("leanlens", "leanlens.data", "leanlens.metrics", "leanlens.explain", "leanlens.explain.plots",
           "leanlens.explain.importance", "leanlens.explain.surrogate", "leanlens.compress", "leanlens.compress.auto",
           "leanlens.compare", "leanlens.models", "leanlens.data.source", "leanlens.pipeline.distributed")


#: ``seed`` fields that are not parameters of a sampling call: the recipe of a run (a pipeline
#: file, whose seed defaults to 0 like the CLI's --seed) and results recording the seed used.
RECIPES_AND_RECORDS = {"leanlens.PipelineConfig", "leanlens.RunResult", "leanlens.metrics.MetricContext",
                       "leanlens.compress.auto.AutoSearch"}


def _public_callables():
    seen = {}
    for mod in map(importlib.import_module, MODULES):
        for name in getattr(mod, "__all__", []):
            obj = getattr(mod, name, None)
            if callable(obj) and not isinstance(obj, type(leanlens)):
                seen[f"{mod.__name__}.{name}"] = obj
    for name, cls in available_explainers().items():
        seen[f"explainer {name}"] = cls
    return seen


def _signature(obj):
    target = getattr(obj, "__wrapped__", obj)
    try:
        return inspect.signature(target)
    except (TypeError, ValueError):
        return None


def test_every_public_random_state_defaults_to_none_and_takes_an_int():
    found, wrong = [], []
    for where, obj in _public_callables().items():
        sig = _signature(obj)
        if sig is None:
            continue
        for p in sig.parameters.values():
            if p.name == "random_state":
                found.append(where)
                if p.default is not None or "int | None" not in str(p.annotation):
                    wrong.append(f"{where}: {p}")
            elif p.name == "seed" and where not in RECIPES_AND_RECORDS:
                wrong.append(f"{where}: {p} (the parameter is named random_state)")
    assert wrong == []
    # the check saw the API it is about (explainers, compare, compress, train, evaluate, data)
    for name in ("leanlens.compare", "leanlens.compress", "leanlens.evaluate", "leanlens.explain",
                 "leanlens.data.load", "leanlens.data.from_pandas", "leanlens.data.synthetic",
                 "explainer kernel", "explainer lime", "explainer shapley", "leanlens.metrics.randomize_layers"):
        assert name in found, name
    table = leanlens.data.readers.TableOptions.__annotations__
    assert "int | None" in str(table["random_state"])  # from_csv / from_parquet pass it to from_pandas
    assert leanlens.TrainConfig().random_state is None


def test_none_draws_a_fresh_seed_and_records_it():
    a, b = datasets.load("iris"), datasets.load("iris")
    assert isinstance(a.random_state, int) and isinstance(b.random_state, int) and a.random_state != b.random_state
    again = datasets.load("iris", random_state=a.random_state)
    np.testing.assert_array_equal(again.X_test, a.X_test)
    model = leanlens.train(a, leanlens.TrainConfig(hidden=(4,), epochs=1))
    seed = model.metadata["train"]["random_state"]
    assert isinstance(seed, int) and model.metadata["dataset"]["random_state"] == a.random_state
    twin = leanlens.train(again, leanlens.TrainConfig(hidden=(4,), epochs=1, random_state=seed))
    np.testing.assert_array_equal(twin.output(a.X_test), model.output(a.X_test))


def test_the_data_of_a_model_is_split_as_in_training():
    from leanlens.data.source import data_of

    ds = datasets.load("iris", random_state=7)
    model = leanlens.train(ds, leanlens.TrainConfig(hidden=(4,), epochs=1, random_state=3))
    np.testing.assert_array_equal(data_of(model).X_test, ds.X_test)  # the split's seed, not training's


@pytest.mark.parametrize("bad", [-1, 2**32, 1.5, "0", True])
def test_a_bad_seed_is_refused_naming_the_parameter(bad):
    with pytest.raises(leanlens.InvalidInputError, match="'random_state' parameter"):
        datasets.load("iris", random_state=bad)
