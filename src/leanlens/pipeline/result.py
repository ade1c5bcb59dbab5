"""What a run produced: :class:`RunResult` (serialized as ``result.json``) and the Pareto front."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from .._io import atomic_write_json
from .._results import check_format, jsonable
from ..errors import InvalidInputError, ModelFormatError

if TYPE_CHECKING:
    from ..compare import DriftReport
    from ..compress import CompressionRecord
    from ..compress.plan import StepConfig
    from ..metrics import MetricResult
    from .config import PipelineConfig
    from .recommend import Recommendation

__all__ = ["LATENCY_BATCH", "RESULT_FORMAT", "RESULT_VERSION", "ModelEntry", "RunResult", "headline_score", "pareto_front"]

#: rows per call when a run or a sweep measures a model's latency
LATENCY_BATCH = 256
RESULT_FORMAT = "leanlens-run"
#: 2: typed entries (plan as step configs, ``skipped`` per method, MetricResult/DriftReport/record with formats)
RESULT_VERSION = 2
Status = Literal["running", "complete", "interrupted", "failed"]


@dataclasses.dataclass
class ModelEntry:
    """One model of a run: the original or the output of one compression plan.

    Attributes
    ----------
    name : "original" or the plan's name.
    plan : the plan's steps (step configs; empty for the original).
    scores : test-set scores (``test_accuracy``, …).
    size_bytes : size of the saved model folder on disk.
    n_parameters : parameter count (torch models), else None.
    latency_ms : median wall time of ``output`` on ``latency_batch`` rows, in ms.
    path : model folder, relative to the run folder.
    explanations : explanation method → file, relative to the run folder.
    record : the :class:`~leanlens.compress.CompressionRecord` (compressed models).
    drift : the :class:`~leanlens.compare.DriftReport` (compressed models, when compared).
    agreement : explanation agreement with the original in [−1, 1] (higher is closer), when known.
    explanation_metrics : :class:`~leanlens.metrics.MetricResult` list per explanation method.
    skipped : explanation method → why it does not apply to this model.
    """

    name: str
    plan: list[StepConfig] = dataclasses.field(default_factory=list)
    scores: dict[str, float] = dataclasses.field(default_factory=dict)
    size_bytes: int | None = None
    n_parameters: int | None = None
    latency_ms: float | None = None
    latency_p95_ms: float | None = None
    latency_batch: int | None = None
    path: str | None = None
    explanations: dict[str, str] = dataclasses.field(default_factory=dict)
    record: CompressionRecord | None = None
    drift: DriftReport | None = None
    agreement: float | None = None
    explanation_metrics: dict[str, list[MetricResult]] = dataclasses.field(default_factory=dict)
    skipped: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def accuracy(self) -> float | None:
        """The headline test score (accuracy, or R² for regression); see :func:`headline_score`."""
        value = headline_score(self.scores)
        return None if np.isnan(value) else value

    @property
    def verdict(self) -> str | None:
        """The DriftReport's verdict (None when not compared)."""
        return None if self.drift is None else str(self.drift.verdict)

    def to_dict(self) -> dict[str, Any]:
        from ..compress.plan import plan_to_list

        return {
            "name": self.name, "plan": plan_to_list(self.plan), "scores": dict(self.scores),
            "size_bytes": self.size_bytes, "n_parameters": self.n_parameters, "latency_ms": self.latency_ms,
            "latency_p95_ms": self.latency_p95_ms, "latency_batch": self.latency_batch, "path": self.path,
            "explanations": dict(self.explanations),
            "record": None if self.record is None else self.record.to_dict(),
            "drift": None if self.drift is None else self.drift.to_dict(),
            "verdict": self.verdict, "agreement": self.agreement,
            "explanation_metrics": {k: [r.to_dict() for r in v] for k, v in self.explanation_metrics.items()},
            "skipped": dict(self.skipped),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelEntry:
        from ..compare import DriftReport
        from ..compress import CompressionRecord
        from ..compress.plan import parse_plan
        from ..metrics import MetricResult

        return cls(
            name=str(d["name"]), plan=parse_plan(d["plan"]) if d.get("plan") else [],
            scores=dict(d.get("scores") or {}), size_bytes=d.get("size_bytes"), n_parameters=d.get("n_parameters"),
            latency_ms=d.get("latency_ms"), latency_p95_ms=d.get("latency_p95_ms"),
            latency_batch=d.get("latency_batch"), path=d.get("path"), explanations=dict(d.get("explanations") or {}),
            record=None if d.get("record") is None else CompressionRecord.from_dict(d["record"]),
            drift=None if d.get("drift") is None else DriftReport.from_dict(d["drift"]),
            agreement=d.get("agreement"),
            explanation_metrics={k: [MetricResult.from_dict(r) for r in v]
                                 for k, v in (d.get("explanation_metrics") or {}).items()},
            skipped=dict(d.get("skipped") or {}),
        )


@dataclasses.dataclass
class RunResult:
    """Everything a run measured; ``result.json`` in the run folder is ``to_dict()``.

    Attributes
    ----------
    out_dir : the run folder.
    status : "running" | "complete" | "interrupted" | "failed".
    config : the validated pipeline config.
    seed : the pipeline seed. versions : library versions. machine : CPU and cores.
    timings : seconds per stage, in order. dataset : the Dataset's summary.
    models : one :class:`ModelEntry` per model, the original first.
    pareto : names of the models on the accuracy–latency Pareto front.
    targets : the output explained for each explained row (``explain.target`` of the original
        model, by :func:`leanlens.explain.resolve_targets`); the report shows these outputs.
    trials : sweep trials (number, params, objectives, state), when the run is a sweep.
    notes : what the reader should know (explainers that did not apply to a model, …).
    """

    out_dir: Path
    name: str = "run"
    status: Status = "running"
    config: PipelineConfig | None = None
    seed: int = 0
    versions: dict[str, str] = dataclasses.field(default_factory=dict)
    machine: dict[str, Any] = dataclasses.field(default_factory=dict)
    timings: dict[str, float] = dataclasses.field(default_factory=dict)
    dataset: dict[str, Any] = dataclasses.field(default_factory=dict)
    models: list[ModelEntry] = dataclasses.field(default_factory=list)
    pareto: list[str] = dataclasses.field(default_factory=list)
    targets: list[int] = dataclasses.field(default_factory=list)
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

    def recommend(self, max_accuracy_drop: float | None = None) -> Recommendation:
        """The fastest compressed model within the accuracy budget whose verdict is same-reasons
        (or why none qualifies); see :func:`leanlens.pipeline.recommend.recommend`.
        ``max_accuracy_drop`` defaults to the pipeline's ``report.max_accuracy_drop`` (0.01)."""
        from .recommend import recommend

        return recommend(self, max_accuracy_drop)

    def explanation(self, model: str, method: str) -> Any:
        """Load one saved explanation of this run."""
        from ..explain import Explanation

        rel = self.entry(model).explanations.get(method)
        if rel is None:
            raise InvalidInputError(f"Model {model!r} has no {method!r} explanation in this run.")
        return Explanation.load(self.out_dir / rel)

    # -- serialization ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (the content of ``result.json``)."""
        d: dict[str, Any] = {"format": RESULT_FORMAT, "version": RESULT_VERSION}
        for f in dataclasses.fields(self):
            d[f.name] = getattr(self, f.name)
        d["out_dir"] = str(self.out_dir)
        d["config"] = None if self.config is None else self.config.to_dict()
        d["models"] = [m.to_dict() for m in self.models]
        d["recommendation"] = self.recommend().to_dict()  # derived: from_dict recomputes it
        return jsonable(d)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunResult:
        """The RunResult :meth:`to_dict` wrote (``to_dict(from_dict(d)) == d``)."""
        from .config import parse_pipeline_config

        check_format(d, RESULT_FORMAT, RESULT_VERSION, what="run result")
        fields = {f.name for f in dataclasses.fields(cls)}
        kw = {k: v for k, v in d.items() if k in fields}
        try:
            kw["out_dir"] = Path(kw["out_dir"])
            kw["config"] = None if kw.get("config") is None else parse_pipeline_config(kw["config"], source="result.json")
            kw["models"] = [ModelEntry.from_dict(m) for m in kw.get("models", [])]
            return cls(**kw)
        except (KeyError, TypeError) as exc:
            raise ModelFormatError(f"The run result is incomplete or corrupt: {type(exc).__name__}: {exc}.") from None

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


HEADLINE_SCORES = ("test_accuracy", "test_r2")


def headline_score(scores: dict[str, float]) -> float:
    """The one score a run ranks models by: test accuracy for classifiers, test R² for
    regression (NaN when neither was measured)."""
    for key in HEADLINE_SCORES:
        if key in scores:
            return float(scores[key])
    return float("nan")


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
