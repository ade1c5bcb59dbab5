"""What a run produced: :class:`RunResult` (serialized as ``result.json``) and the Pareto front."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .._io import atomic_write_json
from ..errors import InvalidInputError, ModelFormatError

__all__ = ["RESULT_FORMAT", "ModelEntry", "RunResult", "pareto_front"]

RESULT_FORMAT = "leanlens-run"
Status = Literal["running", "complete", "interrupted", "failed"]


@dataclasses.dataclass
class ModelEntry:
    """One model of a run: the original or the output of one compression plan.

    Attributes
    ----------
    name : "original" or the plan's name.
    plan : the plan's steps in YAML form (empty for the original).
    scores : test-set scores (``test_accuracy``, …).
    size_bytes : size of the saved model folder on disk.
    n_parameters : parameter count (torch models), else None.
    latency_ms : median wall time of ``output`` on ``latency_batch`` rows, in ms.
    path : model folder, relative to the run folder.
    explanations : explanation method → file, relative to the run folder.
    record : the CompressionRecord as a dict (compressed models).
    drift : the DriftReport as a dict (compressed models, when compared).
    verdict : ``drift["verdict"]`` for short.
    agreement : explanation agreement with the original in [−1, 1] (higher is closer), when known.
    explanation_metrics : MetricResult dicts per explanation method.
    """

    name: str
    plan: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    scores: dict[str, float] = dataclasses.field(default_factory=dict)
    size_bytes: int | None = None
    n_parameters: int | None = None
    latency_ms: float | None = None
    latency_p95_ms: float | None = None
    latency_batch: int | None = None
    path: str | None = None
    explanations: dict[str, str] = dataclasses.field(default_factory=dict)
    record: dict[str, Any] | None = None
    drift: dict[str, Any] | None = None
    verdict: str | None = None
    agreement: float | None = None
    explanation_metrics: dict[str, list[dict[str, Any]]] = dataclasses.field(default_factory=dict)

    @property
    def accuracy(self) -> float | None:
        for key in ("test_accuracy", "test_r2"):
            if key in self.scores:
                return float(self.scores[key])
        return None


@dataclasses.dataclass
class RunResult:
    """Everything a run measured; ``result.json`` in the run folder is ``to_dict()``.

    Attributes
    ----------
    out_dir : the run folder.
    status : "running" | "complete" | "interrupted" | "failed".
    config : the validated pipeline config as a dict.
    seed : the pipeline seed. versions : library versions. machine : CPU and cores.
    timings : seconds per stage, in order. dataset : the Dataset's summary.
    models : one :class:`ModelEntry` per model, the original first.
    pareto : names of the models on the accuracy–latency Pareto front.
    trials : sweep trials (number, params, objectives, state), when the run is a sweep.
    notes : what the reader should know (explainers that did not apply to a model, …).
    """

    out_dir: Path
    name: str = "run"
    status: Status = "running"
    config: dict[str, Any] = dataclasses.field(default_factory=dict)
    seed: int = 0
    versions: dict[str, str] = dataclasses.field(default_factory=dict)
    machine: dict[str, Any] = dataclasses.field(default_factory=dict)
    timings: dict[str, float] = dataclasses.field(default_factory=dict)
    dataset: dict[str, Any] = dataclasses.field(default_factory=dict)
    models: list[ModelEntry] = dataclasses.field(default_factory=list)
    pareto: list[str] = dataclasses.field(default_factory=list)
    trials: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    started: str = ""
    finished: str = ""
    error: str | None = None
    report: str | None = None
    notes: list[str] = dataclasses.field(default_factory=list)

    # -- lookups -------------------------------------------------------------------------
    def entry(self, name: str) -> ModelEntry:
        for m in self.models:
            if m.name == name:
                return m
        raise InvalidInputError(f"No model named {name!r} in this run. Models: {[m.name for m in self.models]}.")

    @property
    def original(self) -> ModelEntry:
        return self.entry("original")

    @property
    def compressed(self) -> list[ModelEntry]:
        return [m for m in self.models if m.name != "original"]

    @property
    def verdict(self) -> str | None:
        """The overall verdict: "changed" if any plan changed the reasons, else the common verdict."""
        verdicts = [m.verdict for m in self.compressed if m.verdict]
        if not verdicts:
            return None
        for v in ("changed", "inconclusive"):
            if v in verdicts:
                return v
        return verdicts[0]

    def explanation(self, model: str, method: str) -> Any:
        """Load one saved explanation of this run."""
        from ..explain import Explanation

        rel = self.entry(model).explanations.get(method)
        if rel is None:
            raise InvalidInputError(f"Model {model!r} has no {method!r} explanation in this run.")
        return Explanation.load(self.out_dir / rel)

    # -- serialization ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["out_dir"] = str(self.out_dir)
        return {"format": RESULT_FORMAT, "format_version": 1, **d}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunResult:
        if d.get("format") != RESULT_FORMAT:
            raise ModelFormatError(f"Not a leanlens run result (format {d.get('format')!r}).")
        fields = {f.name for f in dataclasses.fields(cls)}
        kw = {k: v for k, v in d.items() if k in fields}
        kw["out_dir"] = Path(kw["out_dir"])
        kw["models"] = [ModelEntry(**m) for m in kw.get("models", [])]
        return cls(**kw)

    def save(self) -> Path:
        """Write ``result.json`` into the run folder (atomically)."""
        return atomic_write_json(self.out_dir / "result.json", self.to_dict())

    @classmethod
    def load(cls, path: str | Path) -> RunResult:
        p = Path(path)
        if p.is_dir():
            p = p / "result.json"
        if not p.is_file():
            raise ModelFormatError(f"No run result at {str(p)!r} (expected a run folder with result.json).")
        try:
            d = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ModelFormatError(f"The run result {str(p)!r} is corrupt: {exc}") from None
        res = cls.from_dict(d)
        res.out_dir = p.parent
        return res


def pareto_front(points: Sequence[Sequence[float]], directions: Sequence[str]) -> list[int]:
    """Indices of the non-dominated points.

    Parameters
    ----------
    points : n points of m objectives each.
    directions : m of "maximize" / "minimize".

    Examples
    --------
    >>> pareto_front([(0.9, 2.0), (0.8, 1.0), (0.7, 3.0)], ["maximize", "minimize"])
    [0, 1]
    """
    for d in directions:
        if d not in ("maximize", "minimize"):
            raise InvalidInputError(f"Each direction must be 'maximize' or 'minimize'. Got {d!r}.")
    if len(points) == 0:
        return []
    sign = np.array([1.0 if d == "maximize" else -1.0 for d in directions])
    P = np.asarray(points, dtype=np.float64) * sign
    if P.ndim != 2 or P.shape[1] != len(directions):
        raise InvalidInputError(f"'points' must be (n, {len(directions)}). Got shape {P.shape}.")
    front = []
    for i in range(len(P)):
        if np.any(np.isnan(P[i])):
            continue
        others = np.delete(P, i, axis=0)
        others = others[~np.isnan(others).any(axis=1)]
        dominated = np.any(np.all(others >= P[i], axis=1) & np.any(others > P[i], axis=1))
        if not dominated:
            front.append(i)
    return front
