"""``leanlens.compare(original, compressed, data)``: does the compressed model decide for the same reasons?

A compressed model decides for the same reasons when its explanations are no farther from
the original's than those of the original's *twins* — equally good versions of it (see
:mod:`leanlens.compare.twins`). For every explainer the original, the compressed model and
the twins are explained on the same rows with common random numbers at two seeds; the
budget rises until the estimator's noise is small next to the twins' distance
(:mod:`leanlens.compare.measure`); the distances are noise-corrected and their ratio
``D(original, compressed) / D(original, twins)`` carries a bootstrap interval over rows and
twins (:mod:`leanlens.compare.statistics`). Decision drift and surrogate-tree drift complete
the picture; the rule is :class:`~leanlens.compare.config.CompareConfig`'s
(:mod:`leanlens.compare.rule`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._validation import check_random_state, check_str_or_str_sequence
from ..errors import InvalidInputError
from ..explain.base import resolve_targets
from .config import CompareConfig
from .drift import bootstrap, decision_drift, surrogate_drift
from .measure import compare_estimator, measure_explainer
from .report import DriftReport
from .rule import explainer_status, overall_verdict, sentence
from .twins import Twins, check_same_io, make_twins

if TYPE_CHECKING:
    from ..models.base import BaseModel

__all__ = ["compare", "default_explainers"]


def default_explainers() -> tuple[str, ...]:
    """The recommended Shapley method when it is registered, else KernelSHAP (``compare()`` runs
    ``shapley`` as KernelSHAP on every model: see ``measure.COMPARE_ESTIMATORS``)."""
    from ..explain.base import available_explainers

    return ("shapley",) if "shapley" in available_explainers() else ("kernel",)


def _rows_and_background(
    data: Any, background: Any, rows: Any, cfg: CompareConfig, rng: np.random.Generator, model: BaseModel
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray, np.ndarray]:
    """(X rows, labels or None, row indices, background, surrogate-fit rows)."""
    from ..data.dataset import Dataset

    if isinstance(data, Dataset):
        X_all, y_all = data.X_test, data.y_test
        pool = data.X_train
    elif isinstance(data, tuple) and len(data) == 2:
        X_all, y_all = model.check_X(data[0], param="data"), np.asarray(data[1])
        pool = X_all
    else:
        X_all, y_all = model.check_X(data, param="data"), None
        pool = X_all
    X_all = model.check_X(X_all, param="data")
    if y_all is not None and len(y_all) != len(X_all):
        raise InvalidInputError(f"The 'data' labels have {len(y_all)} rows but X has {len(X_all)}.")
    if rows is not None:
        idx = np.asarray(rows)
        if idx.ndim != 1 or idx.dtype.kind not in "iu" or len(idx) == 0 or idx.min() < 0 or idx.max() >= len(X_all):
            raise InvalidInputError(
                f"The 'rows' parameter of compare() must be a non-empty list of row indices in [0, {len(X_all)}). "
                f"Got {rows!r:.80}."
            )
        idx = idx.astype(np.int64)
    else:
        idx = np.arange(len(X_all))
        if len(idx) > cfg.n_rows:
            idx = np.sort(rng.choice(len(X_all), size=cfg.n_rows, replace=False))
    if len(idx) < cfg.min_rows:
        raise InvalidInputError(
            f"compare() needs at least {cfg.min_rows} rows for its bootstrap intervals (CompareConfig.min_rows); "
            f"it has {len(idx)}. Compare on more rows or lower min_rows."
        )
    if background is not None:
        bg = model.check_X(background, param="background")
    else:
        take = rng.choice(len(pool), size=min(cfg.n_background, len(pool)), replace=False)
        bg = pool[np.sort(take)]
    fit_rows = pool if len(pool) <= 2000 else pool[rng.choice(len(pool), 2000, replace=False)]
    return X_all[idx], (None if y_all is None else y_all[idx]), idx, bg, fit_rows


def _prime(explanations: Any, models: dict[str, BaseModel], X: np.ndarray, bg: np.ndarray, seed: int,
           cfg: CompareConfig) -> dict[str, int]:
    """Hand explanations computed elsewhere to the memo; the budgets they were computed at."""
    from .estimate import prime

    if explanations is None:
        return {}
    if not isinstance(explanations, dict):
        raise InvalidInputError("The 'explanations' parameter of compare() must map 'original'/'compressed' to "
                                f"{{method: Explanation}}. Got {type(explanations).__name__}.")
    starts: dict[str, int] = {}
    for who, per in explanations.items():
        if who not in models or not isinstance(per, dict):
            raise InvalidInputError(f"The 'explanations' parameter of compare() takes keys 'original' and "
                                    f"'compressed' mapping to {{method: Explanation}}. Got key {who!r}.")
        for method, expl in per.items():
            params = getattr(expl, "params", {}) or {}
            wanted = cfg.params_of(method)
            if params.get("random_state") != seed or any(params.get(k) != v for k, v in wanted.items()):
                continue
            run = compare_estimator(method)
            if run != method and params.get("estimator") != run:
                continue  # a chooser's explanation made with another estimator than compare() runs
            b = prime(models[who], run, X, bg, expl, wanted)
            if b is not None and who == "original":
                starts[method] = b
    return starts


def _against(t: Twins) -> tuple[str, str]:
    """(yardstick name in reasons, what the model was compared against in the sentence)."""
    if t.source == "none":
        return "explainer's seed-to-seed noise", "two runs of the explainer on the original (no twins)"
    n = len(t.models)
    twin = "twin" if n == 1 else "twins"
    what = {"retrained": f"retrained {twin}", "fine-tuned": f"fine-tuned {twin}", "given": "the twins you passed"}[t.source]
    return "twins", (f"{n} {what}" if t.source != "given" else f"{what} ({n})") + " of the original"


def compare(
    original: Any,
    compressed: Any,
    data: Any,
    explainers: Sequence[str] | str | None = None,
    *,
    twins: int | Sequence[Any] = 3,
    random_state: int | None = None,
    config: CompareConfig | None = None,
    background: Any = None,
    rows: Any = None,
    cache_dir: str | Path | None = None,
    explanations: dict[str, dict[str, Any]] | None = None,
    name: str = "the compressed model",
) -> DriftReport:
    """Does ``compressed`` still decide for the same reasons as ``original``?

    Parameters
    ----------
    original, compressed : leanlens Models (or anything :func:`leanlens.as_model` accepts)
        with the same inputs and outputs.
    data : a :class:`~leanlens.data.Dataset` (rows from its test split, background from its
        training split, twins trained on its training split), an ``(X, y)`` tuple, or an
        array X of shape (n, n_features) (no twins can be trained from those).
    explainers : method names (see ``leanlens explainers``), e.g. ``["kernel", "ig"]``;
        default: ``"shapley"`` when available, else ``"kernel"``. ``compare()`` runs ``"shapley"``
        as KernelSHAP on every model and budget (one unbiased estimator, so the two seeds measure its
        whole error; the chooser would pick per model, e.g. gp for a torch original and another
        estimator for its ONNX compression).
    twins : the yardstick. An int ``n`` (default 3): retrain ``n`` twins from the original's
        recorded recipe with seeds drawn from ``random_state`` (fine-tune twins when the recipe is
        unknown and the original is a torch model); 0: no twins, fall back to the explainer's
        seed-to-seed noise (if ``config.noise_fallback``). Or a list of models (anything
        ``as_model`` accepts) trained like the original.
    random_state : seed of row sampling, twins, explainers and bootstrap (None: fresh).
    config : :class:`CompareConfig` — rows, budgets, time, bootstrap and the verdict rule.
    background : rows standing for "feature absent" (default: ``config.n_background`` rows
        of the training split, or of X).
    rows : indices of the compared rows in the test split (or X); default a seeded sample of
        ``config.n_rows``. Passing the rows (and background) a pipeline explained lets
        ``compare()`` reuse those explanations.
    cache_dir : a folder where twins are cached by (model fingerprint, recipe, seed).
    explanations : explanations already computed, ``{"original": {method: Explanation},
        "compressed": {...}}`` (all outputs of the compared rows, with the same background, at
        seed ``random_state``): reused as the first seed's runs instead of recomputed.
    name : how the sentence calls the compressed model.

    Returns
    -------
    :class:`DriftReport` with ``verdict`` in {"same-reasons", "changed", "inconclusive"}, its
    reasons, and one ``sentence``.

    Examples
    --------
    >>> import leanlens
    >>> from leanlens.compare import CompareConfig
    >>> ds = leanlens.datasets.synthetic("additive", n=400, random_state=0)
    >>> m = leanlens.train(ds, leanlens.TrainConfig(hidden=(16,), epochs=3))
    >>> leanlens.compare(m, m, ds, explainers=["ig"], twins=2, random_state=0,
    ...                  config=CompareConfig(n_rows=30, n_background=8)).verdict
    'same-reasons'
    """
    from ..models.base import as_model

    start, cpu_start = time.perf_counter(), time.process_time()
    cfg = config if config is not None else CompareConfig()
    if not isinstance(cfg, CompareConfig):
        raise InvalidInputError(f"The 'config' parameter must be a CompareConfig. Got {type(cfg).__name__}.")
    if explainers is None:
        explainers = default_explainers()
    if isinstance(explainers, str):
        explainers = [e.strip() for e in explainers.split(",") if e.strip()]
    explainers = check_str_or_str_sequence(explainers, param="explainers", owner="compare()")
    random_state = check_random_state(random_state, owner="compare()")
    if not explainers:
        raise InvalidInputError("The 'explainers' parameter is empty; give at least one method, e.g. ['kernel'].")
    o, c = as_model(original), as_model(compressed)
    check_same_io(o, c, "the compressed model")
    rng = np.random.default_rng(random_state)
    drawn = (int(rng.integers(0, 2**31 - 2)), int(rng.integers(0, 2**31 - 2)))
    # the first seed is random_state itself, so explanations a pipeline made with it are reused
    seeds = (random_state if random_state is not None else drawn[0], drawn[1])
    twin_rng = np.random.default_rng(rng.integers(0, 2**31 - 2))
    X, y, idx, bg, fit_rows = _rows_and_background(data, background, rows, cfg, rng, o)
    tw = make_twins(o, data, twins, cfg, twin_rng, cache_dir=Path(cache_dir) if cache_dir is not None else None)
    cfg, notes = cfg.for_model(explainers, o)
    first_reason = None
    if tw.source == "none":
        if not cfg.noise_fallback:
            raise InvalidInputError(
                f"compare() has no twins to judge against ({tw.note}) and CompareConfig.noise_fallback is False. "
                "Pass twins=N with a leanlens-trained or torch original and its Dataset, or twins=[models], "
                "or allow the fallback (noise_fallback=True)."
            )
        first_reason = (f"no twins ({tw.note}): judged against the explainer's own seed-to-seed noise, a weaker "
                        "yardstick — it says whether a difference can be seen at all, not whether it exceeds what "
                        "retraining would cause")
    decision = decision_drift(o, c, X, y, regression_tolerance=cfg.regression_flip_tolerance)
    flipped = decision.pop("_flipped")
    decision.pop("_per_row_tv")
    flip_ci = bootstrap(lambda i: float(flipped[i].mean()), len(X), n_resamples=cfg.n_bootstrap,
                        confidence=cfg.confidence, rng=np.random.default_rng(seeds[0]), min_rows=cfg.min_rows)
    decision["flip_rate_ci"] = flip_ci
    decision["flipped_rows"] = idx[flipped].tolist()
    # Explain the original's decision (its predicted class) in every model: the same question asked of each.
    targets = resolve_targets(o, X, "predicted")
    yard_name, against = _against(tw)
    # optional CPU-time guard (None by default: budgets are bounded by counts, so verdicts do not depend on load)
    deadline = None if cfg.max_seconds is None else cpu_start + cfg.max_seconds
    names = tuple(o.feature_names)
    starts = _prime(explanations, {"original": o, "compressed": c}, X, bg, seeds[0], cfg)
    per: dict[str, dict[str, Any]] = {}
    statuses = {}
    for method in explainers:
        if compare_estimator(method) != method:
            notes.append(f"{method}: compare() runs {compare_estimator(method)} on every model (one unbiased estimator "
                         "for all models and budgets, so the seed-to-seed noise is its whole error and cancels "
                         "between models; the chooser would pick per model by its cost).")
        e = measure_explainer(method, o, c, tw.models, X, targets, bg, cfg, seeds, deadline, rng,
                              start=starts.get(method))
        players = tuple(e.get("players") or ()) or names
        statuses[method] = explainer_status(e, cfg, players, yard_name)
        e["status"], e["reason"] = statuses[method]
        per[method] = e
        hist = e["budget_history"] or []
        if len(hist) > 1:
            steps = " → ".join(f"{h['budget']}" + (f" (pilot on {h['rows']} rows)" if h.get("pilot") else "")
                               for h in hist)
            notes.append(f"{method}: budget {steps} until the estimator noise resolved the twins' distance.")
    notes.append("Distances are noise-corrected: the estimator's variance (from two seeds with common random "
                 "numbers) is subtracted from the squared distances.")
    surrogate = surrogate_drift(o, c, fit_rows, X, depth=cfg.surrogate_depth, random_state=seeds[0])
    verdict, reasons = overall_verdict(statuses, flip_ci, cfg, first_reason)
    text = sentence(verdict, per, decision, cfg, against, names, subject=name)
    return DriftReport(
        verdict=verdict, reasons=tuple(reasons), sentence=text, decision=decision, explainers=per,
        surrogate=surrogate, config=cfg, feature_names=names, output_names=tuple(o.output_names),
        rows=idx, seconds=time.perf_counter() - start, notes=tuple(notes),
        twins={"source": tw.source, "n": len(tw.models), "seeds": tw.seeds, "description": tw.description,
               "against": against, "seconds": round(tw.seconds, 3), "cached": tw.cached},
    )
