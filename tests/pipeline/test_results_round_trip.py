"""Every typed result round-trips: ``to_dict → from_dict → to_dict`` is identical (and JSON-able)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from leanlens.compare import CompareConfig, DriftReport
from leanlens.compress import CompressionRecord
from leanlens.compress.plan import Prune, Quantize
from leanlens.compress.record import Measurement, StepRecord
from leanlens.errors import ModelFormatError
from leanlens.metrics import MetricResult
from leanlens.pipeline import ModelEntry, RunResult
from leanlens.pipeline.config import parse_pipeline_config


def _json_round_trip(obj):
    d = obj.to_dict()
    again = type(obj).from_dict(json.loads(json.dumps(d)))
    assert again.to_dict() == d
    return again


def _measurement(score: float, ms: float) -> Measurement:
    return Measurement(kind="torch", parameters=100, nonzero_parameters=60, file_bytes=4096, macs=90,
                       latency_ms={"1": {"median": ms, "p95": ms * 1.2}}, speedup={"1": 1.5},
                       metrics={"test_accuracy": score}, agreement=0.97, sparsity=0.4, sparse_bytes=900)


def _record() -> CompressionRecord:
    step = StepRecord(step="prune", config={"kind": "unstructured", "amount": 0.4}, seconds=0.123456,
                      after=_measurement(0.9, 0.5), notes=["n"], warnings=["w"])
    return CompressionRecord(original=_measurement(0.92, 0.8), steps=[step], threads=2, latency_reps=5,
                             seconds=1.23456, warnings=["slower"])


def _metric(per_row=True) -> MetricResult:
    return MetricResult("deletion_auc", "faithfulness", 0.25, False,
                        per_row=np.array([0.1, np.nan, 0.4]) if per_row else None,
                        details={"curve": np.array([1.0, 0.5]), "params": {"steps": 4}}, notes=("fewer rows",),
                        seconds=0.0123456)


def _drift() -> DriftReport:
    return DriftReport(verdict="same-reasons", sentence="Same.", reasons=("ratio 1.1",), decision={"agreement": 0.95, "flip_rate": 0.05},
                       explainers={"kernel": {"agreement": {"mean": {"feature_agreement": 0.8}}, "ratio": {"value": np.nan}}},
                       surrogate={"fidelity": 0.9}, config=CompareConfig(n_rows=10, min_rows=5),
                       feature_names=("a", "b"), output_names=("no", "yes"), rows=np.arange(4), seconds=0.5,
                       notes=("note",))


def test_metric_result_round_trips():
    again = _json_round_trip(_metric())
    assert np.isnan(again.per_row[1]) and again.value == 0.25 and again.notes == ("fewer rows",)
    skipped = MetricResult("sanity", "sanity", None, True, skipped="needs torch")
    assert _json_round_trip(skipped).skipped == "needs torch"
    assert _json_round_trip(_metric(per_row=False)).per_row is None


def test_compression_record_round_trips_and_recomputes_totals():
    rec = _record()
    again = _json_round_trip(rec)
    assert again.total() == rec.total()
    assert again.final.metrics == {"test_accuracy": 0.9} and again.steps[0].notes == ["n"]


def test_drift_report_round_trips():
    again = _json_round_trip(_drift())
    assert again.verdict == "same-reasons" and again.config.n_rows == 10
    assert again.rows.tolist() == [0, 1, 2, 3]


def test_run_result_holds_typed_objects_and_round_trips(tmp_path):
    cfg = parse_pipeline_config({"plans": [{"name": "p", "steps": [{"prune": {"amount": 0.4}}, {"quantize": {}}]}]})
    res = RunResult(out_dir=tmp_path, name="x", config=cfg, models=[
        ModelEntry(name="original", scores={"test_accuracy": 0.92}, explanation_metrics={"kernel": [_metric()]}),
        ModelEntry(name="p", plan=cfg.plans[0].configs, scores={"test_accuracy": 0.9}, record=_record(),
                   drift=_drift(), agreement=0.8, skipped={"ig": "needs a torch model"}),
    ])
    res.save()
    again = RunResult.load(tmp_path)
    assert again.to_dict() == res.to_dict()
    p = again.entry("p")
    assert isinstance(p.record, CompressionRecord) and isinstance(p.drift, DriftReport)
    assert isinstance(again.original.explanation_metrics["kernel"][0], MetricResult)
    assert [type(s) for s in p.plan] == [Prune, Quantize] and p.verdict == "same-reasons"
    assert again.config is not None and again.config.plans[0].configs == cfg.plans[0].configs


@pytest.mark.parametrize("cls", [MetricResult, CompressionRecord, RunResult])
def test_from_dict_refuses_other_formats_and_newer_versions(cls, tmp_path):
    d = (_metric() if cls is MetricResult else _record() if cls is CompressionRecord
         else RunResult(out_dir=tmp_path)).to_dict()
    with pytest.raises(ModelFormatError, match="Not a leanlens"):
        cls.from_dict({**d, "format": "other"})
    with pytest.raises(ModelFormatError, match="version 99"):
        cls.from_dict({**d, "version": 99})


def test_pipeline_config_keeps_plans_and_compare_config_typed():
    cfg = parse_pipeline_config({
        "explain": {"methods": [{"method": "kernel", "budget": 64}, "permutation"], "n_rows": 12, "background": 7},
        "plans": [{"name": "p", "steps": [{"prune": {"amount": 0.3}}]}],
        "compare": {"config": {"k": 4}},
    })
    assert cfg.plans[0].configs == [Prune(amount=0.3)]
    cc = cfg.compare_config
    assert isinstance(cc, CompareConfig)
    assert (cc.n_rows, cc.n_background, cc.k, cc.min_rows) == (12, 7, 4, 12)
    assert cc.budget_of("kernel") == 64 and cc.budget_of("permutation") is None
