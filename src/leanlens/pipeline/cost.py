"""The cost parts of ``compare``, ``run`` and ``sweep``, from probes of :mod:`leanlens.explain.cost`.

Each function measures the explainers on the original with the settings the real work will
use and counts the runs that work makes (models × seeds), so that every command states its
cost the same way (:func:`leanlens.explain.cost.state_cost`).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np

from ..explain.cost import Cost, Extra, probe_cost

if TYPE_CHECKING:
    from ..compare import CompareConfig
    from ..data.dataset import Dataset
    from ..models.base import BaseModel

__all__ = ["compare_cost", "explain_cost", "twins_cost"]


def explain_cost(model: BaseModel, X: np.ndarray, method: str, *, background: np.ndarray | None,
                 budget: int | None, params: dict[str, Any], seed: int, chunk_rows: int | None = None,
                 check_seeds: bool = False) -> Cost:
    """The measured cost of explaining ``X`` once with ``method`` (see :func:`probe_cost`)."""
    from ..explain.base import get_explainer

    explainer = get_explainer(method)(model, background=background, budget=budget, random_state=seed, **params)
    return probe_cost(explainer, X, target=None, chunk_rows=chunk_rows, check_seeds=check_seeds)


def compare_cost(original: BaseModel, X: np.ndarray, background: np.ndarray, methods: list[str], *,
                 config: CompareConfig, seed: int, n_twins: int, n_compressed: int = 1,
                 reused: bool = False) -> list[Cost]:
    """What ``compare()`` explains: the original, each compressed model and each twin, at two
    seeds (one for a deterministic method), at each method's first budget (``compare()`` may
    raise it while the estimator's noise hides the twins' distance). ``reused``: the first
    seed's explanations of the original and the compressed models are a pipeline's, already paid."""
    from ..compare.measure import start_budget

    out = []
    for method in methods:
        budget = config.budget_of(method)
        if budget is None:
            budget = start_budget(method, int(original.n_features))
        c = explain_cost(original, X, method, background=background, budget=budget, params=config.params_of(method),
                         seed=seed, check_seeds=True)
        seeds = 1 if c.deterministic else 2
        runs = seeds * (1 + n_compressed + n_twins) - (1 + n_compressed if reused else 0)
        what = (f"compare with {method} (budget {budget}, raised if the noise hides the twins' distance)"
                if budget is not None and not c.deterministic else f"compare with {method}")
        out.append(c.times(runs, what))
    return out


def twins_cost(original: BaseModel, data: Dataset, n_twins: int, *, train_seconds: float | None = None) -> Extra | None:
    """Training ``n_twins`` twins: ``train_seconds`` per twin when known (a run trained the
    original), else about 3 forward passes over the training split per epoch of the recorded
    recipe (or of the fine-tune); twins already cached cost nothing."""
    if n_twins <= 0:
        return None
    md = getattr(original, "metadata", None) or {}
    recipe = md.get("train") if isinstance(md.get("train"), dict) else None
    recorded = (md.get("metrics") or {}).get("train_seconds") if recipe is not None else None
    if train_seconds is None and isinstance(recorded, int | float) and recorded > 0:
        train_seconds = float(recorded)
    if train_seconds is not None:
        return Extra(f"{n_twins} twins (retrained)", n_twins * train_seconds,
                     how="the original's recorded training time each; nothing if cached")
    from ..compare import CompareConfig

    epochs = int(recipe.get("epochs", 30)) if recipe is not None else CompareConfig().twin_epochs
    X = data.X_train[:512]
    start = time.perf_counter()
    original.output(X)
    per_epoch = 3 * (time.perf_counter() - start) * max(1.0, len(data.X_train) / len(X))
    return Extra(f"{n_twins} twins ({'retrained' if recipe is not None else 'fine-tuned'}, {epochs} epochs each)",
                 n_twins * epochs * per_epoch, how="estimated from one forward pass; nothing if cached")
