"""The cost parts of ``compare``, ``run`` and ``sweep``, from probes of :mod:`leanlens.explain.cost`.

Each function measures the explainers on the original with the settings the real work will
use and counts the runs that work makes (models × seeds), so that every command states its
cost the same way (:func:`leanlens.explain.cost.state_cost`).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np

from ..explain.cost import Cost, Extra, count_model_rows, probe_cost

if TYPE_CHECKING:
    from ..compare import CompareConfig
    from ..data.dataset import Dataset
    from ..models.base import BaseModel
    from .config import PipelineConfig

__all__ = ["compare_cost", "explain_cost", "metrics_cost", "run_cost", "sweep_cost", "twins_cost"]


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
    from ..compare.measure import compare_estimator, evaluations, n_players, start_budget
    from ..explain.cost import about

    config = config.for_model(methods, original)[0]  # image inputs: the patches compare() plays
    out = []
    for method in methods:
        run = compare_estimator(method)  # the estimator compare() runs for it (shapley: kernel)
        budget = config.budget_of(method)
        if budget is None:
            budget = start_budget(run, n_players({"original": original}, config.params_of(method)))
        c = explain_cost(original, X, run, background=background, budget=budget, params=config.params_of(method),
                         seed=seed, check_seeds=True)
        seeds = 1 if c.deterministic else 2
        runs = seeds * (1 + n_compressed + n_twins) - (1 + n_compressed if reused else 0)
        how = f"{run} on every model, " if run != method else ""
        what = f"compare with {method}" + (f" ({how[:-2]})" if how else "")
        if budget is not None and not c.deterministic:
            # a raise explains every model again at the budget the noise needs: say how far that can go
            cap = min(config.max_evaluations, evaluations(config.max_budget, len(X), len(background), runs))
            per_eval = c.seconds_per_row / max(c.evals_per_row, 1)
            what = (f"compare with {method} ({how}budget {budget}; raised while the noise hides the twins' "
                    f"distance, each raise explaining every model again, up to {cap:,} model evaluations, "
                    f"{about(cap * per_eval)})")
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
        return Extra(f"{n_twins} twin{'s' if n_twins != 1 else ''} (retrained)", n_twins * train_seconds,
                     how="the original's recorded training time each; nothing if cached")
    from ..compare import CompareConfig

    epochs = int(recipe.get("epochs", 30)) if recipe is not None else CompareConfig().twin_epochs
    X = data.X_train[:512]
    start = time.perf_counter()
    original.output(X)
    per_epoch = 3 * (time.perf_counter() - start) * max(1.0, len(data.X_train) / len(X))
    return Extra(f"{n_twins} twin{'s' if n_twins != 1 else ''} ({'retrained' if recipe is not None else 'fine-tuned'}, "
                 f"{epochs} epochs each)",
                 n_twins * epochs * per_epoch, how="estimated from one forward pass; nothing if cached")


def metrics_cost(model: BaseModel, X: np.ndarray, explainer: Any, names: Any, *, background: Any, target: Any = None,
                 ground_truth: Any = None, seed: int = 0, probe_rows: int = 2, runs: int = 1) -> Extra:
    """The metrics' cost on all rows of ``X`` (``runs`` times), measured on ``probe_rows`` rows and
    scaled; their model evaluations are the rows the probe gave to ``model.output``."""
    from ..metrics import evaluate
    from ..progress import reporting

    k = min(probe_rows, len(X))
    expl = explainer.explain(X[:k], target=None)
    with reporting(None), count_model_rows(model) as counted:  # the probe shows no bars of its own
        start = time.perf_counter()
        evaluate(model, X[:k], expl, names, background=background, target=target, explainer=type(explainer),
                 ground_truth=ground_truth, random_state=seed)
        seconds = time.perf_counter() - start
    scale = runs * len(X) / k
    label = names if isinstance(names, str) else ", ".join(str(n) for n in names)
    return Extra(f"metrics ({label})" + (f" of {runs} explanations" if runs != 1 else ""), seconds * scale,
                 int(counted.rows * scale), how=f"measured on {k} rows")


def _n_twins(cfg: PipelineConfig) -> tuple[int, bool]:
    """(twins compare() uses, whether it trains them)."""
    if not cfg.compare.enabled:
        return 0, False
    tw = cfg.compare.twins
    return (tw, tw > 0) if isinstance(tw, int) else (len(tw), False)


def run_cost(cfg: PipelineConfig, models: dict[str, BaseModel], ds: Dataset, *, train_seconds: float | None
             ) -> list[Cost | Extra]:
    """What ``run`` still has to do after its models exist: explain every model with every
    method, score the explanations, train the twins and compare each plan (probed on the original)."""
    from ..explain.base import get_explainer
    from .stages import explanation_rows

    original = models["original"]
    X, bg = explanation_rows(ds, cfg.explain, seed=cfg.seed)
    parts: list[Cost | Extra] = []
    n = len(models)
    for spec in cfg.explain.methods:
        c = explain_cost(original, X, spec.method, background=bg, budget=spec.budget, params=spec.params,
                         seed=cfg.seed, chunk_rows=cfg.executor.chunk_rows)
        parts.append(c.times(n, f"explain {n} models with {spec.method}"))
    first = cfg.explain.methods[0]
    names: Any = cfg.metrics.names or ("deletion_auc", "completeness", "sparseness")
    explainer = get_explainer(first.method)(original, background=bg, budget=first.budget, random_state=cfg.seed,
                                            **first.params)
    parts.append(metrics_cost(original, X[: cfg.metrics.n_rows], explainer, names, background=bg, seed=cfg.seed,
                              runs=n * len(cfg.explain.methods)))
    n_twins, trains = _n_twins(cfg)
    if cfg.compare.enabled and cfg.plans:
        methods = [m.method for m in cfg.explain.methods
                   if cfg.compare.explainers is None or m.method in cfg.compare.explainers]
        rows = X if len(X) >= cfg.compare_config.min_rows else ds.X_test[: cfg.compare_config.n_rows]
        parts += compare_cost(original, rows, bg, methods, config=cfg.compare_config, seed=cfg.seed, n_twins=n_twins,
                              n_compressed=len(cfg.plans), reused=True)
        if trains:
            extra = twins_cost(original, ds, n_twins, train_seconds=train_seconds)
            if extra is not None:
                parts.append(extra)
    return parts


def sweep_cost(cfg: PipelineConfig, original: BaseModel, ds: Dataset, explanation: Any, n_trials: int
               ) -> list[Cost | Extra]:
    """What ``sweep`` still has to do once its original is explained (``explanation``, whose
    measured time and model evaluations stand for one explanation of a trial's model):
    per trial, compare() explains the trial's model at two seeds (one for a deterministic
    method) and times it for about ``latency.trial_max_seconds``; the twins are trained once. The compression of
    each trial is not included (the trials bar's ETA includes it once a trial has run)."""
    n_twins, trains = _n_twins(cfg)
    n = max(1, int(explanation.n_rows))
    per_row_evals = int(explanation.n_model_evals) // n
    seeds = 2  # compare() explains at two seeds (a deterministic method's second run is skipped)
    what = f"{n_trials} trials × {seeds} explanations ({explanation.method}) of the trial's model"
    parts: list[Cost | Extra] = [
        Cost(method=explanation.method, n_rows=n, evals_per_row=per_row_evals,
             seconds_per_row=float(explanation.seconds) / n, budget=explanation.params.get("budget"),
             n_background=explanation.params.get("n_background"), runs=n_trials * seeds, what=what,
             measured="measured on the original's explanation"),
        Extra(f"{n_trials} trials × latency", n_trials * cfg.latency.trial_max_seconds,
              how=f"about {cfg.latency.trial_max_seconds:g} s each (latency.trial_max_seconds); each trial's "
                  "compression comes on top, and the trials bar's ETA includes it"),
    ]
    if trains:
        extra = twins_cost(original, ds, n_twins)
        if extra is not None:
            parts.append(extra)
    return parts
