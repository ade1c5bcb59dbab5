"""One explainer's part of ``compare()``: raise its budget until its noise resolves the twins,
then measure the ratio, the per-feature share test, agreement and cross-deletion."""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from ..metrics import agreement as ag
from ..metrics.faithfulness import attribution_order, curve_auc, deletion_curve
from .estimate import ExplainedSet, explain_models
from .statistics import distances, ratio_interval, seed_distance, share_moves, shares

if TYPE_CHECKING:
    from ..models.base import BaseModel
    from .config import CompareConfig

__all__ = ["compare_estimator", "measure_explainer"]

#: What ``compare()`` runs for a method that picks its estimator per call. The ``shapley`` chooser
#: picks from the model's cost and the outputs explained, so in one comparison it picked gp for the
#: torch original and twins and polyshap/kernel for the ONNX int8 model (digits MLP, 16 patches,
#: budget 336): the models' explanations then differ by the estimators' different biases, which
#: neither the twins nor the seed-to-seed noise measure, and gp's O(m³) fit per row and output
#: made the README's default ``compare`` run past 880 s (budget 128 → 336 → 1,160). KernelSHAP
#: is (nearly) unbiased, so its seed-to-seed variance is its whole error, common random numbers
#: cancel between models, its noise falls as 1/√budget (what the budget raise assumes) and it is
#: exact once the budget covers every coalition.
COMPARE_ESTIMATORS = {"shapley": "kernel"}


def compare_estimator(method: str) -> str:
    """The explainer ``compare()`` runs for ``method`` on every model: one estimator for all
    models and budgets of a comparison (``COMPARE_ESTIMATORS``), else ``method`` itself."""
    return COMPARE_ESTIMATORS.get(method, method)


def _noise_and_floor(es: ExplainedSet, twin_names: list[str], compressed: bool = True) -> tuple[float, float]:
    """(estimator noise of the twins' and — with ``compressed`` — the compressed model's differences,
    twins' distance)."""
    o = es.phi["original"]
    ds = [distances(o, es.phi[t]) for t in twin_names]
    dc = [distances(o, es.phi["compressed"])] if compressed else []
    noise = math.sqrt(float(np.mean([d.variance.mean() for d in [*ds, *dc]])))
    floor = math.sqrt(max(float(np.mean([d.corrected.mean() for d in ds])), 0.0))
    return noise, floor


def n_players(models: dict[str, BaseModel], params: dict[str, Any]) -> int:
    """The number of players an explainer with ``params`` plays: its groups (e.g. 16 patches of
    2×2 pixels on an 8×8 image) when ``groups`` is given, else the features."""
    model = next(iter(models.values()))
    spec = params.get("groups")
    if spec is None:
        return int(model.n_features)
    from ..explain.shapley.groups import resolve_groups

    groups, _ = resolve_groups(spec, model.n_features, model.input_shape, model.feature_names)
    return len(groups)


def start_budget(method: str, d: int) -> int | None:
    """A small first budget for sampling Shapley estimators (the loop raises it while the noise is
    too large): ``max(128, 4(d + 2))`` coalitions per row for d players; None (the method's default)
    otherwise."""
    from ..explain.base import get_explainer
    from ..explain.shapley.base import ShapleyExplainer

    cls = get_explainer(method)
    if isinstance(cls, type) and issubclass(cls, ShapleyExplainer) and cls.has_budget and method != "exact":
        return max(128, 4 * (d + 2))
    return None


#: rows of the pilot pass that predicts the budget a sampling explainer needs
PILOT_ROWS = 25
#: margin on the predicted budget (the pilot's noise and twins' distance are themselves estimates)
BUDGET_MARGIN = 1.25


def _needed_budget(used: int, noise: float, target: float) -> int:
    """The budget at which the noise should reach ``target`` (noise ∝ 1/√budget), with a margin; at
    least twice ``used``, rounded up to a multiple of 8."""
    factor = (noise / target) ** 2 * BUDGET_MARGIN if target > 0 else 4.0
    return int(8 * math.ceil(max(2.0, factor) * used / 8))


def evaluations(budget: int, rows: int, background: int, runs: int) -> int:
    """Model evaluations of one pass: ``budget`` coalitions (or samples) per row, each masked with
    every background row, for ``runs`` (model, seed) runs."""
    return int(budget) * int(rows) * max(int(background), 1) * int(runs)


def _largest_budget(cfg: CompareConfig, rows: int, background: int, runs: int) -> int:
    """The largest budget (a multiple of 8) within ``max_budget`` and ``max_evaluations``."""
    per = max(rows * max(background, 1) * runs, 1)
    return max(8, min(cfg.max_budget, 8 * (cfg.max_evaluations // per // 8)))


def _pilot_budget(models: dict[str, BaseModel], method: str, X: np.ndarray, targets: np.ndarray, bg: np.ndarray,
                  cfg: CompareConfig, seeds: tuple[int, int], twin_names: list[str], start: int,
                  history: list[dict[str, Any]]) -> int:
    """The starting budget, predicted from a pass over the first ``PILOT_ROWS`` rows (a random
    subset: the rows were sampled) at ``start``: the full pass then runs once at about the budget
    that resolves the twins, instead of at ``start`` and again at a raised budget. The prediction
    uses the twins' estimator noise only (not the compressed model's), so it is the same for every
    compressed model of one original and their explanations are computed once."""
    es = explain_models(models, compare_estimator(method), X[:PILOT_ROWS], targets[:PILOT_ROWS], bg, start, seeds,
                        cfg.params_of(method))
    if es.deterministic or es.budget is None:
        return start
    # predicted from the original and its twins only, so every compressed model of one original gets
    # the same budget and reuses their explanations (memo): only its own two runs are new
    noise, floor = _noise_and_floor(es, twin_names, compressed=False)
    target = cfg.noise_fraction * floor
    history.append({"budget": es.budget, "noise": noise, "twin_distance": floor, "seconds": round(es.seconds, 3),
                    "rows": PILOT_ROWS, "pilot": True})
    if noise <= target:
        return start
    need = _needed_budget(es.budget, noise, target)
    # a predicted budget beyond the caps cannot resolve the twins: the full pass then runs at the
    # start budget (the share test still works there) and the loop below reports why it stopped
    return need if need <= _largest_budget(cfg, len(X), len(bg), es.runs) else start


def _resolve_budget(models: dict[str, BaseModel], method: str, X: np.ndarray, targets: np.ndarray, bg: np.ndarray,
                    cfg: CompareConfig, seeds: tuple[int, int], deadline: float | None, twin_names: list[str],
                    start: int | None = None) -> tuple[ExplainedSet, list[dict[str, Any]], str | None]:
    """Explain all models, raising the budget until the estimator noise is at most
    ``noise_fraction`` of the twins' distance (or until the next raise would pass ``max_evaluations``,
    ``max_budget`` or the CPU-time ``deadline``, a ``time.process_time()`` value or None). Without a
    given budget, a pilot pass on ``PILOT_ROWS`` rows predicts the starting budget first.

    Every decision here depends on counts and on the explanations (seeded), never on the clock,
    unless ``deadline`` is given: the same call gives the same verdict on any machine.

    Returns the final explanations, the history of budgets tried and, when unresolved, why.
    """
    budget = cfg.budget_of(method)
    if budget is None:
        budget = start
    history: list[dict[str, Any]] = []
    if budget is None:
        budget = start_budget(compare_estimator(method), n_players(models, cfg.params_of(method)))
        if budget is not None and twin_names and len(X) >= 2 * PILOT_ROWS:
            budget = _pilot_budget(models, method, X, targets, bg, cfg, seeds, twin_names, budget, history)
    while True:
        es = explain_models(models, compare_estimator(method), X, targets, bg, budget, seeds, cfg.params_of(method))
        if es.deterministic or not twin_names:
            history.append({"budget": es.budget, "noise": 0.0 if es.deterministic else None, "twin_distance": None,
                            "seconds": round(es.seconds, 3)})
            return es, history, None
        noise, floor = _noise_and_floor(es, twin_names)
        history.append({"budget": es.budget, "noise": noise, "twin_distance": floor, "seconds": round(es.seconds, 3)})
        target = cfg.noise_fraction * floor
        if noise <= target:
            return es, history, None
        used = es.budget
        if used is None:
            return es, history, (f"estimator noise {noise:.3f} is above {cfg.noise_fraction:g} of the twins' distance "
                                 f"{floor:.3f} and {method} has no budget to raise")
        new = _needed_budget(used, noise, target)
        runs = es.runs
        evals = evaluations(new, len(X), len(bg), runs)
        est = es.cpu_per_run * runs * (new / used)  # CPU seconds of the pass at the new budget
        left = None if deadline is None else deadline - time.process_time()
        why = ("max_budget" if new > cfg.max_budget else "max_evaluations" if evals > cfg.max_evaluations
               else "max_seconds" if left is not None and est > left else None)
        if why is not None:
            limit = (f"{cfg.max_budget:,}" if why == "max_budget" else f"{cfg.max_evaluations:,}"
                     if why == "max_evaluations" else f"{cfg.max_seconds:g}")
            return es, history, (
                f"estimator noise {noise:.3f} is above {cfg.noise_fraction:g} of the twins' distance {floor:.3f} at "
                f"budget {used}; a budget of about {new} ({evals:,} model evaluations, ≈ {est:.0f} CPU s at this "
                f"run's rate) would resolve it ({why}={limit} does not allow it)")
        budget = new


def _cross_deletion(compressed: BaseModel, X: np.ndarray, bg: np.ndarray, mo: np.ndarray, mc: np.ndarray,
                    targets: np.ndarray) -> dict[str, Any]:
    """The compressed model's deletion curve under the original's attribution order vs its own."""
    n = len(X)
    baseline = bg.reshape(len(bg), -1).mean(axis=0)
    Xf = X.reshape(n, -1).astype(np.float64)
    steps = min(Xf.shape[1], 20)
    fr, cross = deletion_curve(compressed, Xf, attribution_order(mo), targets, baseline, steps=steps)
    _, own = deletion_curve(compressed, Xf, attribution_order(mc), targets, baseline, steps=steps)
    auc_cross, auc_own = curve_auc(fr, cross), curve_auc(fr, own)
    span = float(np.mean(np.abs(cross[:, 0] - cross[:, -1]))) or 1.0
    return {
        "auc_original_order": float(auc_cross.mean()), "auc_own_order": float(auc_own.mean()),
        "gap": float(auc_cross.mean() - auc_own.mean()),
        "relative_gap": float((auc_cross.mean() - auc_own.mean()) / span),
        "fractions": fr.tolist(), "curve_original_order": cross.mean(axis=0).tolist(),
        "curve_own_order": own.mean(axis=0).tolist(),
    }


def measure_explainer(method: str, original: BaseModel, compressed: BaseModel, twins: list[BaseModel],
                      X: np.ndarray, targets: np.ndarray, bg: np.ndarray, cfg: CompareConfig, seeds: tuple[int, int],
                      deadline: float | None, rng: np.random.Generator, start: int | None = None) -> dict[str, Any]:
    """Everything ``compare()`` reports about one explainer (a JSON-able dict)."""
    twin_names = [f"twin{i}" for i in range(len(twins))]
    models = {"original": original, "compressed": compressed, **dict(zip(twin_names, twins, strict=True))}
    es, history, unresolved = _resolve_budget(models, method, X, targets, bg, cfg, seeds, deadline, twin_names,
                                              start)
    o, c = es.phi["original"], es.phi["compressed"]
    dc = distances(o, c)
    dts = [distances(o, es.phi[t]) for t in twin_names]
    seed_sq = seed_distance(o)
    if dts:
        twin_sq = np.stack([d.corrected for d in dts], axis=1)
        yard_per_twin = [d.distance() for d in dts]
        ref_phis = [es.phi[t] for t in twin_names]
    else:
        # Fallback: the explainer's seed-to-seed distance on the original is the yardstick, and the
        # compressed model's distance is taken the same way (its run at the second seed against
        # the original's first), so a model compared with itself reads 1.
        twin_sq = seed_sq[:, None]
        yard_per_twin = []
        ref_phis = [o[1:]] if len(o) > 1 else []
        if len(o) > 1:
            from .statistics import _unit_rms

            dc_sq = np.sum((_unit_rms(o[:1]) - _unit_rms(c[1:]))[0] ** 2, axis=1)
            dc = type(dc)(observed=dc_sq, variance=np.zeros(len(dc_sq)), corrected=dc_sq)
    ratio = ratio_interval(dc.corrected, twin_sq, n_resamples=cfg.n_bootstrap, confidence=cfg.confidence,
                           rng=np.random.default_rng(rng.integers(2**31 - 1)))
    yard = math.sqrt(max(float(twin_sq.mean()), 0.0))
    n = len(X)
    k = min(cfg.k, X.reshape(n, -1).shape[1])
    mo, mc = o.mean(axis=0), c.mean(axis=0)
    obs = ag.agreement(mo, mc, k=k)
    twin_ag = [ag.agreement(mo, p.mean(axis=0), k=k)["mean"]["feature_agreement"] for p in ref_phis]
    gi_o, gi_c = np.abs(mo).mean(axis=0), np.abs(mc).mean(axis=0)
    share = share_moves(o, c, ref_phis if ref_phis else [o], floor=cfg.negligible_share / 2,
                        min_move=cfg.negligible_share, alpha=cfg.share_alpha, pool=cfg.share_pool)
    # attributions to groups of features have no per-feature deletion order
    per_feature = mo.shape[1] == X.reshape(n, -1).shape[1]
    cross_deletion = _cross_deletion(compressed, X, bg, mo, mc, targets) if per_feature else None
    noise_c = dc.noise()
    est_noise = math.sqrt(float(np.mean([d.variance.mean() for d in [*dts, dc]])))
    return {
        "players": list(es.players),
        "estimator": compare_estimator(method),
        "budget": es.budget,
        "budget_history": history,
        "deterministic": es.deterministic,
        "unresolved": unresolved,
        "distance": {"value": dc.distance(), "observed": float(np.sqrt(dc.observed.mean())), "noise": noise_c},
        "twin_distances": yard_per_twin,
        "yardstick": {"value": yard, "kind": "twins" if dts else "seed-noise"},
        "estimator_noise": 0.0 if es.deterministic else est_noise,
        "seed_noise": float(np.sqrt(seed_sq.mean())),
        "ratio": ratio,
        # kept under the names the report reads: the noise-corrected distance and the estimator noise
        "drift": {"value": dc.distance(), "lo": None, "hi": None},
        "noise_floor": {"value": 0.0 if es.deterministic else est_noise},
        "share": {k_: v for k_, v in share.items() if not k_.startswith("shares_")},
        "shares": {"original": share["shares_original"], "compressed": share["shares_compressed"],
                   "twins": [shares(p).tolist() for p in ref_phis]},
        "agreement": {"mean": obs["mean"], "global": obs["global"]},
        "twin_agreement": float(np.mean(twin_ag)) if twin_ag else None,
        "global_importance": {"original": gi_o.tolist(), "compressed": gi_c.tolist()},
        "top_k": {"original": ag.top_k_indices(gi_o[None], k)[0].tolist(),
                  "compressed": ag.top_k_indices(gi_c[None], k)[0].tolist()},
        "rank_change": {"spearman": float(ag.rank_correlation(gi_o[None], gi_c[None])[0]),
                        "feature_agreement": float(obs["global"]["feature_agreement"])},
        "cross_deletion": cross_deletion,
        "per_row": {
            "distance": np.sqrt(np.maximum(dc.corrected, 0)).tolist(),
            "twin_distance": np.sqrt(np.maximum(twin_sq.mean(axis=1), 0)).tolist(),
            "feature_agreement": obs["per_row"]["feature_agreement"].tolist(),
        },
        "seconds": round(es.seconds, 3),
        "k": k,
    }
