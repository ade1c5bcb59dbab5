"""The stages of a run, each a plain function over plain objects (the run only sequences them)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import (
    ConfigError,
    DataError,
    InvalidInputError,
    ModelFormatError,
    UnsupportedModelError,
)

if TYPE_CHECKING:
    from ..data.dataset import Dataset
    from ..models.base import BaseModel
    from .config import DataSpec, ExplainSpec, ModelSpec

__all__ = [
    "agreement_of",
    "applicable_methods",
    "apply_plan",
    "compare_models",
    "explanation_rows",
    "load_dataset",
    "model_targets",
    "obtain_model",
    "phi_of",
]


def load_dataset(spec: DataSpec, *, seed: int) -> Dataset:
    """The bundled data set ``spec.name``, or the CSV/Parquet file ``spec.path``."""
    from .. import datasets

    if spec.path is not None:
        p = Path(spec.path)
        if not p.is_file():
            raise DataError(f"The 'data.path' file {str(p)!r} does not exist. Give an existing .csv or .parquet file.")
        reader = datasets.from_parquet if p.suffix.lower() == ".parquet" else datasets.from_csv
        return reader(p, target=str(spec.target), random_state=seed)
    return datasets.load(spec.name, random_state=seed)


def obtain_model(spec: ModelSpec, ds: Dataset, *, seed: int, progress: bool = False) -> BaseModel:
    """Load ``spec.path`` or train a network with ``spec.train`` (seeded by the pipeline seed)."""
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
    return train(ds, spec.train.to_config(seed=seed), progress=progress)


def apply_plan(model: BaseModel, steps: list[dict[str, Any]], ds: Dataset, *, seed: int, latency_reps: int = 20,
               threads: int = 2, work_dir: Path | None = None) -> tuple[BaseModel, dict[str, Any]]:
    """Compress ``model`` with one plan (YAML form); returns the new model and the record as a dict."""
    from ..compress import compress

    result = compress(model, steps, data=ds, random_state=seed, latency_reps=latency_reps, threads=threads,
                      work_dir=work_dir)
    return result.model, result.record.to_dict()


def compare_models(original: BaseModel, compressed: BaseModel, ds: Dataset, methods: list[str], *,
                   config: dict[str, Any], n_rows: int, n_background: int, seed: int,
                   budgets: dict[str, int | None] | None = None) -> dict[str, Any]:
    """``leanlens.compare`` with the run's rows and background sizes (unless ``config`` sets them)
    and each explainer's own budget; returns the DriftReport as a dict.

    ``CompareConfig.budget`` is one budget for every explainer (a Shapley budget of 256
    coalitions would become 256 IG steps), so explainers with different budgets are compared
    in separate calls on the same rows and seed, and their reports merged: per-explainer
    results side by side, the verdict the most severe of the calls' verdicts — the rule
    ``compare`` itself applies across explainers (changed > inconclusive > same-reasons).
    """
    from ..compare import CompareConfig, compare

    fields = {"n_rows": n_rows, "n_background": n_background, **config}
    fields.setdefault("min_rows", min(20, max(2, int(fields["n_rows"]))))
    groups: dict[Any, list[str]] = {}
    for m in methods:
        b = config.get("budget", (budgets or {}).get(m))
        groups.setdefault(b, []).append(m)
    reports = []
    for budget, group in groups.items():
        cfg = CompareConfig.from_dict({**fields, "budget": budget}, path="compare.config")
        reports.append(compare(original, compressed, ds, explainers=group, config=cfg, random_state=seed).to_dict())
    return merge_drift(reports)


SEVERITY = {"same-reasons": 0, "inconclusive": 1, "changed": 2}


def merge_drift(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """One DriftReport dict from several over the same rows and seed (different explainers)."""
    merged = dict(reports[0])
    if len(reports) == 1:
        return merged
    merged["verdict"] = max((r["verdict"] for r in reports), key=lambda v: SEVERITY.get(v, 1))
    merged["reasons"] = list(dict.fromkeys(x for r in reports for x in r.get("reasons", [])))
    merged["notes"] = list(dict.fromkeys(x for r in reports for x in r.get("notes", [])))
    merged["explainers"] = {k: v for r in reports for k, v in (r.get("explainers") or {}).items()}
    merged["config"] = [r.get("config") for r in reports]
    merged["seconds"] = sum(float(r.get("seconds") or 0) for r in reports)
    return merged


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


def agreement_of(drift: dict[str, Any], method: str | None = None) -> float | None:
    """Mean top-k feature agreement between the original's and the compressed model's
    explanations (first explainer unless ``method``), from a DriftReport dict."""
    per = drift.get("explainers") or {}
    if not per:
        return None
    e = per.get(method) if method else next(iter(per.values()))
    if e is None:
        return None
    try:
        return float(e["agreement"]["mean"]["feature_agreement"])
    except (KeyError, TypeError):
        return None


def explanation_rows(ds: Dataset, spec: ExplainSpec, *, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The explained rows (first ``n_rows`` test rows) and the background (a seeded sample of
    ``background`` training rows)."""
    X = ds.X_test[: spec.n_rows]
    rng = np.random.default_rng(seed)
    n_bg = min(spec.background, len(ds.X_train))
    bg = ds.X_train[np.sort(rng.choice(len(ds.X_train), size=n_bg, replace=False))]
    return X, bg


def model_targets(model: BaseModel, X: np.ndarray, target: Any) -> np.ndarray:
    """The output explained for each row: the original model's predicted class, or a fixed index."""
    if model.task == "regression":
        return np.zeros(len(X), dtype=np.int64)
    if target == "predicted" or target is None:
        return model.predict(X).astype(np.int64)
    if isinstance(target, int) and 0 <= target < model.n_outputs:
        return np.full(len(X), target, dtype=np.int64)
    raise ConfigError(f"The 'explain.target' must be 'predicted' or an output index in [0, {model.n_outputs}). Got {target!r}.")


def phi_of(expl: Any, targets: np.ndarray) -> np.ndarray:
    """(n, d) attributions of each row's target output."""
    v = np.asarray(expl.values)
    if v.ndim == 2:
        return v
    return v[np.arange(len(v)), :, targets]


def explain_unsupported(exc: Exception) -> str | None:
    """A short reason when an explainer does not apply to a model (e.g. gradients of an ONNX model)."""
    if isinstance(exc, UnsupportedModelError):
        return str(exc)
    return None
