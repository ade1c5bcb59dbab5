"""RunResult serialization and the Pareto front."""

from __future__ import annotations

import math

import pytest

from leanlens.errors import InvalidInputError, ModelFormatError
from leanlens.pipeline import ModelEntry, RunResult, pareto_front


def test_pareto_front_two_and_three_objectives():
    pts = [(0.9, 2.0), (0.8, 1.0), (0.7, 3.0), (0.9, 2.0)]
    assert pareto_front(pts, ["maximize", "minimize"]) == [0, 1, 3]  # ties are both kept
    pts3 = [(0.9, 2.0, 0.5), (0.9, 2.0, 0.6), (0.5, 0.5, 0.1)]
    assert pareto_front(pts3, ["maximize", "minimize", "maximize"]) == [1, 2]
    assert pareto_front([(math.nan, 1.0), (0.5, 2.0)], ["maximize", "minimize"]) == [1]
    assert pareto_front([], ["maximize"]) == []
    with pytest.raises(InvalidInputError, match="'maximize' or 'minimize'"):
        pareto_front([(1.0,)], ["up"])


def test_run_result_round_trip(tmp_path):
    res = RunResult(out_dir=tmp_path, name="x", seed=3, timings={"data": 0.1},
                    models=[ModelEntry(name="original", scores={"test_accuracy": 0.9}),
                            ModelEntry(name="p", scores={"test_accuracy": 0.8}, drift=_drift("changed"))])
    res.save()
    again = RunResult.load(tmp_path)
    assert again.to_dict() == res.to_dict()
    assert again.original.accuracy == 0.9 and again.verdict == "changed"
    with pytest.raises(InvalidInputError, match="No model named 'q'"):
        again.entry("q")


def _drift(verdict):
    import numpy as np

    from leanlens.compare import CompareConfig, DriftReport

    return DriftReport(verdict=verdict, sentence="s.", reasons=("r",), decision={"agreement": 1.0}, explainers={},
                       surrogate={}, config=CompareConfig(), feature_names=("a",), output_names=("y",),
                       rows=np.arange(3))


def test_load_refuses_missing_and_foreign_files(tmp_path):
    with pytest.raises(ModelFormatError, match="No run result"):
        RunResult.load(tmp_path)
    (tmp_path / "result.json").write_text('{"format": "other"}')
    with pytest.raises(ModelFormatError, match="Not a leanlens run result"):
        RunResult.load(tmp_path)
    (tmp_path / "result.json").write_text("{broken")
    with pytest.raises(ModelFormatError, match="corrupt"):
        RunResult.load(tmp_path)
