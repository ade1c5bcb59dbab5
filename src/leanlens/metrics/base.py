"""Metric base class, the registry and the result object (``leanlens.evaluate`` is in :mod:`.api`).

A metric is a small class whose metadata lives on the class (as in Quantus, Hedström et
al. 2023): ``category``, ``higher_is_better``, ``applies_to`` (a sentence) and
``requires`` (what the call needs: a background, an explainer to re-run, ground truth,
a torch model, an explanation method that satisfies efficiency). The constructor only
stores parameters; ``__call__`` computes and keeps nothing on the instance.
"""

from __future__ import annotations

import abc
import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from .._results import check_format, jsonable
from .._validation import Spec, check_params
from ..errors import InvalidInputError, did_you_mean

if TYPE_CHECKING:
    from ..explain.explanation import Explanation
    from ..models.base import BaseModel

__all__ = [
    "CATEGORIES",
    "METRICS",
    "ExplainFn",
    "Metric",
    "MetricContext",
    "MetricResult",
    "get_metric",
    "model_output",
    "register_metric",
    "resolve_metrics",
]

METRIC_RESULT_FORMAT = "leanlens-metric-result"
METRIC_RESULT_VERSION = 1
CATEGORIES = ("faithfulness", "robustness", "complexity", "axioms", "efficiency", "sanity", "ground_truth")
METRICS: dict[str, type[Metric]] = {}

#: ``explain_fn(model, X, targets) -> (n, d)`` re-runs the explainer on new rows or a new model and
#: returns the attributions of output ``targets[i]`` of each row i.
ExplainFn = Callable[["BaseModel", np.ndarray, np.ndarray], np.ndarray]


@dataclasses.dataclass
class MetricResult:
    """The outcome of one metric on one explanation.

    Attributes
    ----------
    name, category : which metric. value : the headline number (None when skipped).
    higher_is_better : how to read ``value``. per_row : (n,) values per explained row, where
    the metric has them. details : secondary figures (curves, parameters used).
    notes : what the user should know (fewer samples, rows subsampled, …).
    skipped : why the metric did not apply (None when it ran). seconds : wall time.
    """

    name: str
    category: str
    value: float | None
    higher_is_better: bool
    per_row: np.ndarray | None = None
    details: dict[str, Any] = dataclasses.field(default_factory=dict)
    notes: tuple[str, ...] = ()
    skipped: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.skipped is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": METRIC_RESULT_FORMAT,
            "version": METRIC_RESULT_VERSION,
            "name": self.name,
            "category": self.category,
            "value": jsonable(self.value),
            "higher_is_better": self.higher_is_better,
            "per_row": None if self.per_row is None else jsonable(np.asarray(self.per_row, dtype=np.float64)),
            "details": jsonable(self.details),
            "notes": list(self.notes),
            "skipped": self.skipped,
            "seconds": round(self.seconds, 6),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MetricResult:
        """The MetricResult that :meth:`to_dict` wrote (``to_dict(from_dict(d)) == d``)."""
        check_format(d, METRIC_RESULT_FORMAT, METRIC_RESULT_VERSION, what="metric result")
        per_row = d.get("per_row")
        value = d.get("value")
        return cls(
            name=str(d["name"]), category=str(d.get("category", "")),
            value=None if value is None else float(value), higher_is_better=bool(d.get("higher_is_better", True)),
            per_row=None if per_row is None else np.asarray([np.nan if v is None else v for v in per_row],
                                                             dtype=np.float64),
            details=dict(d.get("details") or {}), notes=tuple(d.get("notes") or ()), skipped=d.get("skipped"),
            seconds=float(d.get("seconds") or 0.0),
        )

    def __repr__(self) -> str:
        if self.skipped:
            return f"MetricResult({self.name!r}, skipped={self.skipped!r})"
        return f"MetricResult({self.name!r}, value={self.value:.4g}, higher_is_better={self.higher_is_better})"


@dataclasses.dataclass(frozen=True)
class MetricContext:
    """Everything a metric may use besides the model, the rows and the explanation.

    ``phi`` (n, d) are the attributions of the explained output of each row, ``targets``
    (n,) that output's index; ``baseline`` (d,) is the background mean (the value a
    removed feature takes), ``scale`` (d,) each feature's spread in the background.
    """

    phi: np.ndarray
    targets: np.ndarray
    background: np.ndarray | None
    baseline: np.ndarray | None
    scale: np.ndarray | None
    explain_fn: ExplainFn | None
    model_agnostic: bool
    ground_truth: np.ndarray | None
    relevant: tuple[int, ...] | None
    seed: int


class Metric(abc.ABC):
    """Base of every metric. Subclasses set the metadata and implement ``_compute``.

    ``_compute(model, X, explanation, ctx)`` returns ``(value, per_row, details, notes)``.
    """

    name: ClassVar[str] = ""
    category: ClassVar[str] = ""
    higher_is_better: ClassVar[bool] = True
    applies_to: ClassVar[str] = "any model and explanation"
    requires: ClassVar[tuple[str, ...]] = ()
    #: short formula shown in reports
    formula: ClassVar[str] = ""

    #: The rule of each constructor parameter (see :mod:`leanlens._validation`), checked on construction.
    param_constraints: ClassVar[Mapping[str, Spec]] = {}

    def __init__(self, **params: Any) -> None:
        check_params(params, {k: c for k, c in self.param_constraints.items() if k in params}, owner=type(self).__name__)
        self.params = params

    def skip_reason(self, model: BaseModel, explanation: Explanation, ctx: MetricContext) -> str | None:
        """Why this metric does not apply here, or None."""
        for need in self.requires:
            if need == "background" and ctx.background is None:
                return "needs a background (rows standing for 'feature absent'); pass background=..."
            if need == "explainer" and ctx.explain_fn is None:
                return (f"needs to re-run the explainer, and method {explanation.method!r} is not available; "
                        "pass explainer=...")
            if need == "ground_truth" and ctx.ground_truth is None:
                return "needs ground-truth attributions; pass ground_truth=..."
            if need == "torch" and getattr(model, "kind", None) != "torch":
                return f"needs a torch model to re-initialize layers; this model is {getattr(model, 'kind', '?')!r}"
        return None

    @abc.abstractmethod
    def _compute(
        self, model: BaseModel, X: np.ndarray, explanation: Explanation, ctx: MetricContext
    ) -> tuple[float, np.ndarray | None, dict[str, Any], tuple[str, ...]]:
        """(value, per-row values, details, notes) of this metric."""

    def __call__(self, model: BaseModel, X: np.ndarray, explanation: Explanation, ctx: MetricContext) -> MetricResult:
        start = time.perf_counter()
        reason = self.skip_reason(model, explanation, ctx)
        if reason is not None:
            return MetricResult(self.name, self.category, None, self.higher_is_better, skipped=reason)
        value, per_row, details, notes = self._compute(model, X, explanation, ctx)
        return MetricResult(
            self.name, self.category, float(value), self.higher_is_better,
            per_row=None if per_row is None else np.asarray(per_row, dtype=np.float64),
            details={"params": dict(self.params), **details}, notes=tuple(notes),
            seconds=time.perf_counter() - start,
        )

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({args})"


def register_metric(cls: type[Metric]) -> type[Metric]:
    """Class decorator: make ``cls`` available by ``cls.name`` in ``evaluate(metrics=[...])``."""
    if not cls.name or cls.category not in CATEGORIES:
        raise TypeError(f"{cls.__name__} needs a 'name' and a 'category' in {CATEGORIES}.")
    METRICS[cls.name] = cls
    return cls


def _load_builtin() -> None:
    from . import axioms, complexity, efficiency, faithfulness, ground_truth, robustness, sanity  # noqa: F401


def get_metric(name: str) -> type[Metric]:
    _load_builtin()
    if name not in METRICS:
        raise InvalidInputError(
            f"Unknown metric {name!r}.{did_you_mean(name, [*METRICS, *CATEGORIES])} "
            f"Valid: 'all', a category ({', '.join(CATEGORIES)}) or one of {', '.join(sorted(METRICS))}."
        )
    return METRICS[name]


def resolve_metrics(metrics: str | Metric | Sequence[str | Metric]) -> list[Metric]:
    """``"all"``, a category name, metric names or Metric instances → Metric instances."""
    _load_builtin()
    if isinstance(metrics, str | Metric):
        items: Sequence[str | Metric] = [metrics]
    elif isinstance(metrics, list | tuple):
        items = list(metrics)
    else:
        raise InvalidInputError(
            "The 'metrics' parameter must be 'all', a category, a metric name, a Metric or a list of these. "
            f"Got {metrics!r} ({type(metrics).__name__}) instead."
        )
    out: list[Metric] = []
    for item in items:
        if isinstance(item, Metric):
            out.append(item)
        elif item == "all":
            out += [cls() for cls in METRICS.values()]
        elif item in CATEGORIES:
            out += [cls() for cls in METRICS.values() if cls.category == item]
        elif isinstance(item, str):
            out.append(get_metric(item)())
        else:
            raise InvalidInputError(
                f"The 'metrics' parameter must hold metric names or Metric instances. Got {type(item).__name__}."
            )
    if not out:
        raise InvalidInputError("The 'metrics' parameter is empty; give 'all' or at least one metric name.")
    return out


def model_output(model: BaseModel, X: np.ndarray, targets: np.ndarray, repeats: int = 1) -> np.ndarray:
    """Output ``targets`` of the rows ``X`` (flattened (n·repeats, d)); rows i·repeats… belong to row i."""
    out = model.output(X.reshape((len(X), *model.input_shape)))
    t = np.repeat(targets, repeats)
    return np.asarray(out[np.arange(len(out)), t], dtype=np.float64)
