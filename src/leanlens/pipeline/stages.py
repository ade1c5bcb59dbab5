"""The stages of a run, each a plain function over plain objects (the run only sequences them)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import (
    DataError,
    InvalidInputError,
    ModelFormatError,
    UnsupportedModelError,
)

if TYPE_CHECKING:
    from ..compare import CompareConfig, DriftReport
    from ..compress import CompressionRecord
    from ..compress.plan import StepConfig
    from ..data.dataset import Dataset
    from ..explain.surrogate import SurrogateTree
    from ..models.base import BaseModel
    from .config import DataSpec, ExplainSpec, ModelSpec

__all__ = [
    "agreement_of",
    "applicable_methods",
    "apply_plan",
    "compare_models",
    "explanation_rows",
    "fit_surrogates",
    "load_dataset",
    "obtain_model",
]


def load_dataset(spec: DataSpec, *, seed: int) -> Dataset:
    """The bundled data set ``spec.name``, or the CSV/Parquet file ``spec.path``."""
    from ..data.source import open_dataset

    if spec.path is not None and not Path(spec.path).is_file():
        raise DataError(f"The 'data.path' file {str(spec.path)!r} does not exist. Give an existing .csv or .parquet file.")
    return open_dataset(spec.path if spec.path is not None else spec.name, label=spec.target, random_state=seed,
                        impute=spec.impute if spec.path is not None else None)


def obtain_model(spec: ModelSpec, ds: Dataset, *, data: DataSpec, seed: int, progress: bool = False) -> BaseModel:
    """Load ``spec.path`` or train a network with ``spec.train`` (seeded by the pipeline seed) on
    ``ds`` (opened from ``data``, which the trained model records)."""
    from ..data.source import record_data_source
    from ..models import load_model, train

    if spec.path is not None:
        p = Path(spec.path)
        if not p.exists():
            raise ModelFormatError(f"The 'model.path' {str(p)!r} does not exist. Give a saved model folder or an .onnx file.")
        model = load_model(p)
        if model.n_features != int(np.prod(ds.input_shape)):
            raise InvalidInputError(
                f"The model at 'model.path' expects {model.n_features} features; the data set "
                f"{ds.name!r} has {int(np.prod(ds.input_shape))}."
            )
        return model
    model = train(ds, spec.train.to_config(seed=seed), progress=progress)
    record_data_source(model, data.path if data.path is not None else data.name, label=data.target, dataset=ds)
    return model


def apply_plan(model: BaseModel, steps: list[StepConfig], ds: Dataset, *, seed: int, latency_reps: int = 20,
               threads: int = 2, work_dir: Path | None = None) -> tuple[BaseModel, CompressionRecord]:
    """Compress ``model`` with one plan; returns the new model and its record."""
    from ..compress import compress

    result = compress(model, steps, data=ds, random_state=seed, latency_reps=latency_reps, threads=threads,
                      work_dir=work_dir)
    return result.model, result.record


def compare_models(original: BaseModel, compressed: BaseModel, ds: Dataset, methods: list[str], *,
                   config: CompareConfig, seed: int, twins: Any = 3, cache_dir: Path | None = None,
                   rows: np.ndarray | None = None, background: np.ndarray | None = None,
                   explanations: dict[str, dict[str, Any]] | None = None, name: str = "the compressed model"
                   ) -> DriftReport:
    """``leanlens.compare`` of the two models with the run's CompareConfig (rows, background and
    each explainer's own budget; see :attr:`PipelineConfig.compare_config`), on the rows and
    background the run explained (reusing those explanations), twins cached in ``cache_dir``."""
    from ..compare import compare
    from ..models.persistence import load_model

    tw = twins if isinstance(twins, int) else [load_model(p) for p in twins]
    return compare(original, compressed, ds, explainers=methods, config=config, random_state=seed, twins=tw,
                   cache_dir=cache_dir, rows=rows, background=background, explanations=explanations, name=name)


def applicable_methods(model: BaseModel, methods: list[str]) -> tuple[list[str], list[str]]:
    """Split ``methods`` into those that can explain ``model`` and those that cannot (gradient
    methods need a torch model; an int8 ONNX model has no gradients)."""
    from ..explain import get_explainer

    ok: list[str] = []
    skipped: list[str] = []
    for m in methods:
        needs_torch = not get_explainer(m).model_agnostic
        (skipped if needs_torch and getattr(model, "kind", None) != "torch" else ok).append(m)
    return ok, skipped


def agreement_of(drift: DriftReport, method: str | None = None) -> float | None:
    """Mean top-k feature agreement between the original's and the compressed model's
    explanations (first explainer unless ``method``)."""
    if not drift.explainers:
        return None
    e = drift.explainers.get(method) if method else next(iter(drift.explainers.values()))
    if e is None:
        return None
    return float(e["agreement"]["mean"]["feature_agreement"])


def explanation_rows(ds: Dataset, spec: ExplainSpec, *, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The explained rows (first ``n_rows`` test rows) and the background (a seeded sample of
    ``background`` training rows)."""
    from ..data.source import background_rows

    return ds.X_test[: spec.n_rows], background_rows(ds, spec.background, random_state=seed)


def fit_surrogates(models: dict[str, BaseModel], ds: Dataset, *, seed: int, max_depth: int = 3,
                   max_rows: int = 1000) -> dict[str, SurrogateTree]:
    """A depth-``max_depth`` surrogate decision tree of each model, fitted on (up to ``max_rows``)
    training rows: the report draws them."""
    from ..explain.surrogate import SurrogateTree

    X = ds.X_train[:max_rows]
    return {name: SurrogateTree(model, max_depth=max_depth, random_state=seed).fit(X) for name, model in models.items()}


def explain_unsupported(exc: Exception) -> str | None:
    """A short reason when an explainer does not apply to a model (e.g. gradients of an ONNX model)."""
    if isinstance(exc, UnsupportedModelError):
        return str(exc)
    return None
