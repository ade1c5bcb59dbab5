"""What a compression did: the facts of each model (size, MACs, latency, score, agreement), per step and in total.

The record only holds and writes these facts; :mod:`leanlens.compress.measurement` takes them.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np

from .._io import atomic_write_json
from .._results import check_format
from ..errors import ModelFormatError

__all__ = ["RECORD_FORMAT", "RECORD_VERSION", "CompressionRecord", "Measurement", "StepRecord"]

RECORD_FORMAT = "leanlens-compression-record"
RECORD_VERSION = 1


@dataclasses.dataclass
class Measurement:
    """Facts about one model.

    Attributes
    ----------
    kind : the model's backend ("torch", "onnx", "sklearn", …).
    parameters : stored parameters (tree students: nodes; ONNX: initializer elements).
    nonzero_parameters : of those, the non-zero ones.
    file_bytes : bytes of the folder ``model.save()`` writes (weights + model.json), measured on disk.
    macs : multiply-accumulates of one input row (Linear and Conv2d layers); None when unknown.
    latency_ms : ``{"1": {"median": …, "p95": …}, "256": {…}}``, milliseconds per call.
    speedup : ``{"1": original median / this median, "256": …}``, measured interleaved with the original.
    metrics : test scores (``test_accuracy`` … or ``test_r2`` …).
    agreement : classifiers: fraction of test rows with the same predicted class as the original;
        regression: R² of these predictions against the original's.
    sparsity : fraction of zero weights in the Linear/Conv layers (torch models).
    sparse_bytes : bytes of those weights stored sparsely (CSR: int32 indices + float32 values) plus
        every other tensor dense — a storage figure only; no sparse kernel runs them faster.
    """

    kind: str
    parameters: int | None
    nonzero_parameters: int | None
    file_bytes: int | None
    macs: int | None
    latency_ms: dict[str, dict[str, float]]
    speedup: dict[str, float]
    metrics: dict[str, float]
    agreement: float
    sparsity: float | None = None
    sparse_bytes: int | None = None

    @property
    def score_name(self) -> str:
        return "test_r2" if "test_r2" in self.metrics else "test_accuracy"

    @property
    def score(self) -> float:
        return float(self.metrics.get(self.score_name, float("nan")))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Measurement:
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - fields
        if unknown:
            raise ModelFormatError(f"A compression measurement has unknown keys {sorted(unknown)}.")
        return cls(**d)


@dataclasses.dataclass
class StepRecord:
    """One plan step: its config, seconds spent, the model after it, and notes/warnings."""

    step: str
    config: dict[str, Any]
    seconds: float
    after: Measurement
    notes: list[str] = dataclasses.field(default_factory=list)
    warnings: list[str] = dataclasses.field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"step": self.step, "config": self.config, "seconds": round(self.seconds, 4),
                "after": self.after.to_dict(), "notes": list(self.notes), "warnings": list(self.warnings)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StepRecord:
        return cls(step=str(d["step"]), config=dict(d["config"]), seconds=float(d["seconds"]),
                   after=Measurement.from_dict(d["after"]), notes=list(d.get("notes") or []),
                   warnings=list(d.get("warnings") or []))


@dataclasses.dataclass
class CompressionRecord:
    """The original model's measurement, one :class:`StepRecord` per step, and totals.

    ``total()`` gives the headline ratios of the final model against the original:
    parameters, file size, MACs, latency speed-ups at batch 1 and 256, score change and
    decision agreement. ``to_dict()``/``save(path)`` write JSON.
    """

    original: Measurement
    steps: list[StepRecord]
    threads: int
    latency_reps: int
    seconds: float = 0.0
    warnings: list[str] = dataclasses.field(default_factory=list)

    @property
    def final(self) -> Measurement:
        return self.steps[-1].after if self.steps else self.original

    def total(self) -> dict[str, Any]:
        o, f = self.original, self.final

        def ratio(a: float | None, b: float | None) -> float | None:
            return None if a is None or b is None or b == 0 else float(a) / float(b)

        return {
            "parameters_ratio": ratio(o.parameters, f.parameters),
            "file_ratio": ratio(o.file_bytes, f.file_bytes),
            "macs_ratio": ratio(o.macs, f.macs),
            "speedup_batch1": f.speedup.get("1"),
            "speedup_batch256": f.speedup.get("256"),
            "score_name": o.score_name,
            "score_before": o.score,
            "score_after": f.score,
            "score_change_points": 100.0 * (f.score - o.score),
            "agreement": f.agreement,
            "seconds": round(self.seconds, 4),
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict; ``total`` is derived (``from_dict`` recomputes it)."""
        return {
            "format": RECORD_FORMAT,
            "version": RECORD_VERSION,
            "threads": self.threads,
            "latency_reps": self.latency_reps,
            "original": self.original.to_dict(),
            "steps": [s.to_dict() for s in self.steps],
            "total": self.total(),
            "seconds": round(self.seconds, 4),
            "warnings": list(self.warnings),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CompressionRecord:
        """The record :meth:`to_dict` wrote (``to_dict(from_dict(d)) == d``)."""
        check_format(d, RECORD_FORMAT, RECORD_VERSION, what="compression record")
        try:
            return cls(original=Measurement.from_dict(d["original"]),
                       steps=[StepRecord.from_dict(s) for s in d["steps"]], threads=int(d["threads"]),
                       latency_reps=int(d["latency_reps"]), seconds=float(d.get("seconds") or 0.0),
                       warnings=list(d.get("warnings") or []))
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFormatError(f"The compression record is incomplete or corrupt: {type(exc).__name__}: {exc}.") from None

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, default=_json_default)

    def save(self, path: str | Path) -> Path:
        """Write the record as JSON (atomically)."""
        return atomic_write_json(path, self.to_dict())

    def table_rows(self) -> list[dict[str, Any]]:
        """One row per model (original, then after each step) for printing."""
        rows = []
        for name, m in [("original", self.original), *[(s.step, s.after) for s in self.steps]]:
            rows.append({
                "step": name, "backend": m.kind, "params": m.parameters, "nonzero": m.nonzero_parameters,
                "kB": None if m.file_bytes is None else round(m.file_bytes / 1024, 1), "MACs": m.macs,
                # both times from the same interleaved rounds: their ratio is the x@256 printed beside them
                "ms@256": _lat(m, "256"), "orig ms@256": _lat(m, "256", "original_median"),
                "x@1": round(m.speedup["1"], 2) if "1" in m.speedup else None,
                "x@256": round(m.speedup["256"], 2) if "256" in m.speedup else None,
                m.score_name.removeprefix("test_"): round(m.score, 4), "agree": round(m.agreement, 4),
            })
        return rows


def _lat(m: Measurement, b: str, key: str = "median") -> float | None:
    lat = m.latency_ms.get(b, {})
    return round(lat[key], 4) if key in lat else None


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")
