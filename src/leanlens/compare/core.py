"""``leanlens.compare(original, compressed, data)``: does the compressed model decide for the same reasons?

For every explainer the original is explained twice (seeds s and s+1) and the compressed
model once (seed s+1) on the same rows with the same background. The distance between
the two runs on the original is the explainer's own noise floor; the distance between
the original (seed s) and the compressed model (seed s+1) is the observed drift. A model
compared with itself therefore gives drift = noise floor and ratio 1. Decision drift,
surrogate-tree drift and cross-deletion complete the picture; the verdict rule and its
thresholds are those of :class:`~leanlens.compare.config.CompareConfig`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .._validation import check_random_state, check_str_or_str_sequence
from ..errors import InvalidInputError
from ..explain.base import resolve_targets
from ..metrics import agreement as ag
from ..metrics.api import explain_by_target
from ..metrics.faithfulness import _auc, attribution_order, deletion_curve
from .config import CompareConfig
from .drift import (
    bootstrap,
    decision_drift,
    explanation_distance,
    per_row_distance,
    surrogate_drift,
)
from .report import DriftReport, Verdict

if TYPE_CHECKING:
    from ..models.base import BaseModel

__all__ = ["compare"]


def _check_models(original: BaseModel, compressed: BaseModel) -> None:
    if original.n_features != compressed.n_features:
        raise InvalidInputError(
            f"The models take different inputs: the original has {original.n_features} features "
            f"(input shape {original.input_shape}), the compressed model {compressed.n_features} "
            f"(input shape {compressed.input_shape}). compare() needs the same feature space."
        )
    if original.task != compressed.task or original.n_outputs != compressed.n_outputs:
        raise InvalidInputError(
            f"The models have different output spaces: the original is {original.task!r} with outputs "
            f"{list(original.output_names)}, the compressed model {compressed.task!r} with outputs "
            f"{list(compressed.output_names)}. compare() needs the same outputs."
        )


def _rows_and_background(
    data: Any, background: Any, cfg: CompareConfig, rng: np.random.Generator, model: BaseModel
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
    if len(X_all) < cfg.min_rows:
        raise InvalidInputError(
            f"compare() needs at least {cfg.min_rows} rows for its bootstrap intervals (CompareConfig.min_rows); "
            f"the data has {len(X_all)}."
        )
    rows = np.arange(len(X_all))
    if len(rows) > cfg.n_rows:
        rows = np.sort(rng.choice(len(X_all), size=cfg.n_rows, replace=False))
    if len(rows) < cfg.min_rows:
        raise InvalidInputError(
            f"A bootstrap interval needs at least {cfg.min_rows} rows (CompareConfig.min_rows); "
            f"n_rows={cfg.n_rows} gives {len(rows)}."
        )
    if background is not None:
        bg = model.check_X(background, param="background")
    else:
        take = rng.choice(len(pool), size=min(cfg.n_background, len(pool)), replace=False)
        bg = pool[np.sort(take)]
    fit_rows = pool if len(pool) <= 2000 else pool[rng.choice(len(pool), 2000, replace=False)]
    return X_all[rows], (None if y_all is None else y_all[rows]), rows, bg, fit_rows


def _explain(model: BaseModel, X: np.ndarray, method: str, bg: np.ndarray, budget: int | None,
             seed: int, targets: np.ndarray) -> tuple[np.ndarray, float]:
    """(n, d) attributions of output ``targets[i]`` of each row, and the wall time."""
    from ..explain.base import get_explainer

    cls = get_explainer(method)
    start = time.perf_counter()
    phi = explain_by_target(cls, background=bg, budget=budget, seed=seed)(model, X, targets)
    return phi, time.perf_counter() - start


def _explainer_drift(
    method: str, original: BaseModel, compressed: BaseModel, retrained: BaseModel | None,
    X: np.ndarray, targets: np.ndarray, bg: np.ndarray, cfg: CompareConfig, seed: int, rng: np.random.Generator,
) -> dict[str, Any]:
    phi_o, t_o = _explain(original, X, method, bg, cfg.budget_of(method), seed, targets)
    phi_o2, _ = _explain(original, X, method, bg, cfg.budget_of(method), seed + 1, targets)
    phi_c, t_c = _explain(compressed, X, method, bg, cfg.budget_of(method), seed + 1, targets)
    n = len(X)
    k = min(cfg.k, X.reshape(n, -1).shape[1])
    d_obs = per_row_distance(phi_o, phi_c)
    d_noise = per_row_distance(phi_o, phi_o2)
    floor_retrain: dict[str, float] | None = None
    phi_r = None
    if retrained is not None:
        phi_r, _ = _explain(retrained, X, method, bg, cfg.budget_of(method), seed + 1, targets)

    def dist(idx: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
        return explanation_distance(a[idx], b[idx])

    def floor_of(idx: np.ndarray) -> float:
        f = dist(idx, phi_o, phi_o2)
        if cfg.floor == "max" and phi_r is not None:
            f = max(f, dist(idx, phi_o, phi_r))
        return max(f, cfg.min_floor)

    def boot(stat: Any) -> dict[str, float]:
        return bootstrap(stat, n, n_resamples=cfg.n_bootstrap, confidence=cfg.confidence,
                         rng=np.random.default_rng(seed), min_rows=cfg.min_rows)

    drift = boot(lambda i: dist(i, phi_o, phi_c))
    noise = boot(lambda i: dist(i, phi_o, phi_o2))
    ratio = boot(lambda i: dist(i, phi_o, phi_c) / floor_of(i))
    if phi_r is not None:
        pr = phi_r
        floor_retrain = boot(lambda i: dist(i, phi_o, pr))
    share = boot(lambda i: share_shift(phi_o[i], phi_c[i]))
    share_noise = boot(lambda i: share_shift(phi_o[i], phi_o2[i]))
    share_ratio = boot(lambda i: share_shift(phi_o[i], phi_c[i]) / max(share_shift(phi_o[i], phi_o2[i]),
                                                                         cfg.min_share_floor))
    shares_o = np.abs(phi_o).mean(axis=0) / max(float(np.abs(phi_o).mean(axis=0).sum()), 1e-12)
    shares_c = np.abs(phi_c).mean(axis=0) / max(float(np.abs(phi_c).mean(axis=0).sum()), 1e-12)
    moved = int(np.argmax(np.abs(shares_c - shares_o)))
    obs = ag.agreement(phi_o, phi_c, k=k)
    floor_ag = ag.agreement(phi_o, phi_o2, k=k)
    gi_o, gi_c = np.abs(phi_o).mean(axis=0), np.abs(phi_c).mean(axis=0)
    top_o = ag.top_k_indices(gi_o[None], k)[0].tolist()
    top_c = ag.top_k_indices(gi_c[None], k)[0].tolist()
    # Cross-deletion: the compressed model's deletion curve under the original's order vs its own.
    baseline = bg.reshape(len(bg), -1).mean(axis=0)
    Xf = X.reshape(n, -1).astype(np.float64)
    steps = min(Xf.shape[1], 20)
    fr, cross = deletion_curve(compressed, Xf, attribution_order(phi_o), targets, baseline, steps=steps)
    _, own = deletion_curve(compressed, Xf, attribution_order(phi_c), targets, baseline, steps=steps)
    auc_cross, auc_own = _auc(fr, cross), _auc(fr, own)
    span = float(np.mean(np.abs(cross[:, 0] - cross[:, -1]))) or 1.0
    return {
        "drift": drift, "noise_floor": noise, "ratio": ratio, "retrain_floor": floor_retrain,
        "share_shift": share, "share_noise_floor": share_noise, "share_ratio": share_ratio,
        "most_moved_feature": {"index": moved, "share_original": float(shares_o[moved]),
                               "share_compressed": float(shares_c[moved])},
        "agreement": {"mean": obs["mean"], "global": obs["global"]},
        "noise_agreement": {"mean": floor_ag["mean"], "global": floor_ag["global"]},
        "global_importance": {"original": gi_o.tolist(), "compressed": gi_c.tolist()},
        "top_k": {"original": top_o, "compressed": top_c},
        "rank_change": {
            "spearman": float(ag.rank_correlation(gi_o[None], gi_c[None])[0]),
            "feature_agreement": float(obs["global"]["feature_agreement"]),
            "noise_feature_agreement": float(floor_ag["global"]["feature_agreement"]),
        },
        "cross_deletion": {
            "auc_original_order": float(auc_cross.mean()), "auc_own_order": float(auc_own.mean()),
            "gap": float(auc_cross.mean() - auc_own.mean()),
            "relative_gap": float((auc_cross.mean() - auc_own.mean()) / span),
            "fractions": fr.tolist(), "curve_original_order": cross.mean(axis=0).tolist(),
            "curve_own_order": own.mean(axis=0).tolist(),
        },
        "per_row": {
            "distance": np.sqrt(d_obs).tolist(), "noise_distance": np.sqrt(d_noise).tolist(),
            "feature_agreement": obs["per_row"]["feature_agreement"].tolist(),
            "noise_feature_agreement": floor_ag["per_row"]["feature_agreement"].tolist(),
        },
        "seconds": {"original": t_o, "compressed": t_c},
        "k": k,
    }


def share_shift(a: np.ndarray, b: np.ndarray) -> float:
    """Largest change of one feature's share of the global importance, ``max_i |s_b,i − s_a,i|``
    with ``s_i = mean|φ_i| / Σ_j mean|φ_j|``."""
    ga, gb = np.abs(a).mean(axis=0), np.abs(b).mean(axis=0)
    sa, sb = ga / max(float(ga.sum()), 1e-12), gb / max(float(gb.sum()), 1e-12)
    return float(np.max(np.abs(sb - sa)))


def _status(e: dict[str, Any], cfg: CompareConfig, names: tuple[str, ...]) -> tuple[str, str]:
    """(status, reason) of one explainer under the rule of CompareConfig."""
    r, d = e["ratio"], e["drift"]
    sr, sh = e["share_ratio"], e["share_shift"]
    k = e["k"]
    ga_drop = e["rank_change"]["noise_feature_agreement"] - e["rank_change"]["feature_agreement"]
    big_ratio = r["lo"] >= cfg.changed_ratio and d["lo"] >= cfg.negligible_drift
    big_share = sr["lo"] >= cfg.changed_ratio and sh["lo"] >= cfg.negligible_share
    small = r["hi"] <= cfg.same_ratio or d["hi"] <= cfg.negligible_drift
    small_share = sr["hi"] <= cfg.same_ratio or sh["hi"] <= cfg.negligible_share
    fig = (f"drift {d['value']:.3f} [{d['lo']:.3f}, {d['hi']:.3f}] vs noise floor {e['noise_floor']['value']:.3f}, "
           f"ratio {r['value']:.2f} [{r['lo']:.2f}, {r['hi']:.2f}]")
    mv = e["most_moved_feature"]
    share_fig = (f"{names[mv['index']]}'s share of importance {100 * mv['share_original']:.1f}% → "
                 f"{100 * mv['share_compressed']:.1f}%, shift {sh['value']:.3f} [{sh['lo']:.3f}, {sh['hi']:.3f}] vs "
                 f"noise {e['share_noise_floor']['value']:.3f}, ratio {sr['value']:.2f} [{sr['lo']:.2f}, {sr['hi']:.2f}]")
    if big_ratio:
        return "changed", f"explanations moved well beyond the explainer's own noise ({fig} ≥ {cfg.changed_ratio})"
    if big_share:
        return "changed", f"a feature's importance moved well beyond the explainer's own noise ({share_fig})"
    if not small_share:
        small = False
    if small and ga_drop < 1 / k - 1e-9:
        return "same", f"explanations moved no more than the explainer's own noise ({fig})"
    if small:
        return "unclear", (f"explanations are close ({fig}) but the global top-{k} features changed "
                           f"({e['top_k']['original']} → {e['top_k']['compressed']})")
    return "unclear", (f"explanation drift is between the thresholds ({fig}; {share_fig}; "
                       f"same ≤ {cfg.same_ratio}, changed ≥ {cfg.changed_ratio})")


def _verdict(statuses: dict[str, tuple[str, str]], flip: dict[str, float], cfg: CompareConfig) -> tuple[Verdict, list[str]]:
    reasons: list[str] = []
    flip_txt = f"flip rate {flip['value']:.3f} [{flip['lo']:.3f}, {flip['hi']:.3f}]"
    changed = [m for m, (s, _) in statuses.items() if s == "changed"]
    if flip["lo"] > cfg.max_flip_rate:
        reasons.append(f"decisions changed on many rows ({flip_txt} > {cfg.max_flip_rate})")
    for m in changed:
        reasons.append(f"{m}: {statuses[m][1]}")
    if reasons:
        return "changed", reasons
    if all(s == "same" for s, _ in statuses.values()) and flip["value"] <= cfg.max_flip_rate:
        return "same-reasons", [f"decisions agree ({flip_txt} ≤ {cfg.max_flip_rate})"] + [
            f"{m}: {why}" for m, (_, why) in statuses.items()]
    if flip["value"] > cfg.max_flip_rate:
        reasons.append(f"the flip rate exceeds {cfg.max_flip_rate} but not clearly ({flip_txt})")
    reasons += [f"{m}: {why}" for m, (s, why) in statuses.items() if s != "same"]
    reasons += [f"{m}: {why}" for m, (s, why) in statuses.items() if s == "same"]
    return "inconclusive", reasons


def compare(
    original: Any,
    compressed: Any,
    data: Any,
    explainers: Sequence[str] = ("shapley",),
    *,
    config: CompareConfig | None = None,
    background: Any = None,
    retrained: Any = None,
    random_state: int | None = 0,
) -> DriftReport:
    """Does ``compressed`` still decide for the same reasons as ``original``?

    Parameters
    ----------
    original, compressed : leanlens Models (or anything :func:`leanlens.as_model` accepts)
        with the same inputs and outputs.
    data : a :class:`~leanlens.data.Dataset` (rows from its test split, background from its
        training split), an ``(X, y)`` tuple, or an array X of shape (n, n_features).
    explainers : method names (see ``leanlens explainers``), e.g. ``["kernel", "ig"]``.
    config : :class:`CompareConfig` — rows, budget, bootstrap and the verdict thresholds.
    background : rows standing for "feature absent" (default: ``config.n_background`` rows
        of the training split, or of X).
    retrained : optionally, the original architecture retrained with another seed; its
        explanation distance to the original is reported as ``retrain_floor`` (and used as
        the floor when ``config.floor == "max"``).
    random_state : seed of row sampling, explainers and bootstrap.

    Returns
    -------
    :class:`DriftReport` with ``verdict`` in {"same-reasons", "changed", "inconclusive"}.

    Examples
    --------
    >>> import leanlens
    >>> from leanlens.compare import CompareConfig
    >>> ds = leanlens.datasets.synthetic("additive", n=400, random_state=0)
    >>> m = leanlens.train(ds, leanlens.TrainConfig(hidden=(16,), epochs=3))
    >>> leanlens.compare(m, m, ds, explainers=["ig"],
    ...                  config=CompareConfig(n_rows=30, n_background=8)).verdict
    'same-reasons'
    """
    from ..models.base import as_model

    start = time.perf_counter()
    cfg = config or CompareConfig()
    if not isinstance(cfg, CompareConfig):
        raise InvalidInputError(f"The 'config' parameter must be a CompareConfig. Got {type(cfg).__name__}.")
    if isinstance(explainers, str):
        explainers = [e.strip() for e in explainers.split(",") if e.strip()]
    explainers = check_str_or_str_sequence(explainers, param="explainers", owner="compare()")
    random_state = check_random_state(random_state, owner="compare()")
    if not explainers:
        raise InvalidInputError("The 'explainers' parameter is empty; give at least one method, e.g. ['kernel'].")
    o, c = as_model(original), as_model(compressed)
    _check_models(o, c)
    r = as_model(retrained) if retrained is not None else None
    if r is not None:
        _check_models(o, r)
    rng = np.random.default_rng(random_state)
    seed = int(rng.integers(0, 2**31 - 2))
    X, y, rows, bg, fit_rows = _rows_and_background(data, background, cfg, rng, o)
    notes: list[str] = []
    decision = decision_drift(o, c, X, y, regression_tolerance=cfg.regression_flip_tolerance)
    flipped = decision.pop("_flipped")
    decision.pop("_per_row_tv")
    flip_ci = bootstrap(lambda i: float(flipped[i].mean()), len(X), n_resamples=cfg.n_bootstrap,
                        confidence=cfg.confidence, rng=np.random.default_rng(seed), min_rows=cfg.min_rows)
    decision["flip_rate_ci"] = flip_ci
    decision["flipped_rows"] = rows[flipped].tolist()
    # Explain the original's decision (its predicted class) in both models: same question asked of each.
    targets = resolve_targets(o, X, "predicted")
    per_explainer: dict[str, dict[str, Any]] = {}
    statuses: dict[str, tuple[str, str]] = {}
    for method in explainers:
        e = _explainer_drift(method, o, c, r, X, targets, bg, cfg, seed, rng)
        statuses[method] = _status(e, cfg, tuple(o.feature_names))
        e["status"], e["reason"] = statuses[method]
        per_explainer[method] = e
        if e["noise_floor"]["value"] < cfg.min_floor:
            notes.append(f"{method}: noise floor {e['noise_floor']['value']:.3g} is below min_floor={cfg.min_floor}; "
                         "the ratio divides by min_floor (deterministic explainers have no seed noise).")
    surrogate = surrogate_drift(o, c, fit_rows, X, depth=cfg.surrogate_depth, random_state=seed)
    verdict, reasons = _verdict(statuses, flip_ci, cfg)
    return DriftReport(
        verdict=verdict, reasons=tuple(reasons), decision=decision, explainers=per_explainer,
        surrogate=surrogate, config=cfg, feature_names=tuple(o.feature_names), output_names=tuple(o.output_names),
        rows=rows, seconds=time.perf_counter() - start, notes=tuple(notes),
    )
