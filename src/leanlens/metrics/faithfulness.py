"""Faithfulness: do the features an explanation ranks high move the model's output?

- Deletion / insertion AUC (Petsiuk et al. 2018, RISE; Samek et al. 2017): remove
  (insert) features in attribution order, replacing them by the background mean — not by
  zero, which is a value the model may never have seen — and integrate the explained
  output over the fraction of features changed, ``AUC = ∫₀¹ f_t(x^{(s)}) ds`` (trapezoid).
  A faithful explanation makes the deletion curve fall fast (low AUC) and the insertion
  curve rise fast (high AUC).
- Faithfulness correlation (Bhatt et al. 2020, "Evaluating and Aggregating Feature-based
  Model Explanations"): over random subsets S of ≈ 15 % of the features,
  ``corr_S( Σ_{i∈S} φ_i , f(x) − f(x_{S←x̄}) )`` (Pearson), averaged over rows.
- Prediction gap on important / unimportant features (PGI / PGU; Agarwal et al. 2022,
  OpenXAI): ``E |f(x) − f(x + ε ⊙ 1_S)|`` with ``ε ~ N(0, (σ·spread)²)`` and S the top-k
  features by ``|φ|`` (PGI, higher is better) or the others (PGU, lower is better).

Every perturbed row of every explained row goes to the model in one batch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np

from .._validation import POSITIVE, POSITIVE_INT, Interval, Options
from ..errors import InvalidInputError
from .base import Metric, MetricContext, model_output, register_metric

if TYPE_CHECKING:
    from ..explain.explanation import Explanation
    from ..models.base import BaseModel

__all__ = [
    "DeletionAUC",
    "FaithfulnessCorrelation",
    "InsertionAUC",
    "PredictionGapImportant",
    "PredictionGapUnimportant",
    "attribution_order",
    "curve_auc",
    "deletion_curve",
]

Result = tuple[float, np.ndarray | None, dict[str, Any], tuple[str, ...]]


def attribution_order(phi: np.ndarray, order: str = "signed") -> np.ndarray:
    """(n, d) feature indices, most important first (by φ, or by |φ| with ``order='absolute'``)."""
    key = phi if order == "signed" else np.abs(phi)
    return np.argsort(-key, axis=1, kind="stable")


def deletion_curve(
    model: BaseModel,
    X: np.ndarray,
    order: np.ndarray,
    targets: np.ndarray,
    baseline: np.ndarray,
    *,
    steps: int | None = None,
    insertion: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Output of each row as features are removed (or inserted) in ``order``.

    Parameters
    ----------
    X : (n, d) rows; order : (n, d) feature indices, first removed first; targets : (n,)
    output index per row; baseline : (d,) value of a removed feature (background mean);
    steps : number of points after the start (default d, one feature at a time).
    insertion : start from the baseline and put the row's features back instead.

    Returns
    -------
    fractions : (steps + 1,) fraction of features changed, from 0 to 1.
    curves : (n, steps + 1) the explained output along the way.
    """
    n, d = X.shape
    steps = d if steps is None else min(int(steps), d)
    counts = np.unique(np.round(np.linspace(0, d, steps + 1)).astype(np.int64))
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(d)[None, :].repeat(n, 0), axis=1)
    # changed[i, j, f]: feature f of row i is replaced after counts[j] steps.
    changed = rank[:, None, :] < counts[None, :, None]
    start, end = (np.broadcast_to(baseline, X.shape), X) if insertion else (X, np.broadcast_to(baseline, X.shape))
    batch = np.where(changed, end[:, None, :], start[:, None, :]).reshape(-1, d)
    out = model_output(model, batch.astype(np.float32), targets, repeats=len(counts))
    return counts / d, out.reshape(n, len(counts))


def curve_auc(fractions: np.ndarray, curves: np.ndarray) -> np.ndarray:
    """(n,) trapezoid area under each row's curve ``curves`` (n, s) over ``fractions`` (s,)."""
    widths = np.diff(fractions)
    return np.asarray(((curves[:, 1:] + curves[:, :-1]) / 2 * widths).sum(axis=1), dtype=np.float64)


class _CurveMetric(Metric):
    insertion: ClassVar[bool] = False
    requires = ("background",)
    applies_to = "tabular or flattened inputs; features replaced by the background mean"

    param_constraints: ClassVar = {"steps": [None, POSITIVE_INT], "order": Options(("signed", "absolute"))}

    def __init__(self, *, steps: int | None = None, order: Literal["signed", "absolute"] = "signed") -> None:
        super().__init__(steps=steps, order=order)

    def _compute(self, model: BaseModel, X: np.ndarray, explanation: Explanation, ctx: MetricContext) -> Result:
        Xf = X.reshape(len(X), -1).astype(np.float64)
        baseline = ctx.baseline if ctx.baseline is not None else Xf.mean(axis=0)
        fr, curves = deletion_curve(
            model, Xf, attribution_order(ctx.phi, self.params["order"]), ctx.targets, baseline,
            steps=self.params["steps"], insertion=self.insertion,
        )
        per_row = curve_auc(fr, curves)
        details = {"fractions": fr.tolist(), "mean_curve": curves.mean(axis=0).tolist()}
        return float(per_row.mean()), per_row, details, ()


@register_metric
class DeletionAUC(_CurveMetric):
    """Area under the deletion curve (lower is better): ``mean_rows ∫₀¹ f_t(x with the top-s·d features → x̄) ds``.

    Petsiuk et al. (2018); removed features take the background mean. ``order="signed"``
    removes the features with the largest φ first (those pushing the output up).
    """

    name = "deletion_auc"
    category = "faithfulness"
    higher_is_better = False
    formula = "∫ f(x with top features → background mean) ds"


@register_metric
class InsertionAUC(_CurveMetric):
    """Area under the insertion curve (higher is better): features put back onto the background mean, most important first."""

    name = "insertion_auc"
    category = "faithfulness"
    higher_is_better = True
    insertion = True
    formula = "∫ f(background mean with top features ← x) ds"


@register_metric
class FaithfulnessCorrelation(Metric):
    """Faithfulness correlation (Bhatt et al. 2020), higher is better.

    For each row, ``n_subsets`` random subsets S of ``max(1, round(subset_fraction·d))``
    features are set to the background mean; the value is the Pearson correlation between
    ``Σ_{i∈S} φ_i`` and ``f(x) − f(x_{S←x̄})``, averaged over rows (a row whose subsets all
    give the same sum or drop counts 0).
    """

    name = "faithfulness_correlation"
    category = "faithfulness"
    higher_is_better = True
    requires = ("background",)
    applies_to = "tabular or flattened inputs; features replaced by the background mean"
    formula = "corr(Σ_S φ_i, f(x) − f(x_S←x̄))"

    param_constraints: ClassVar = {"n_subsets": Interval(int, 3), "subset_fraction": Interval(float, 0, 1, closed="neither")}

    def __init__(self, *, n_subsets: int = 50, subset_fraction: float = 0.15) -> None:
        super().__init__(n_subsets=n_subsets, subset_fraction=subset_fraction)

    def _compute(self, model: BaseModel, X: np.ndarray, explanation: Explanation, ctx: MetricContext) -> Result:
        rng = np.random.default_rng(ctx.seed)
        Xf = X.reshape(len(X), -1).astype(np.float64)
        n, d = Xf.shape
        S = self.params["n_subsets"]
        size = max(1, round(self.params["subset_fraction"] * d))
        chosen = rng.random((n, S, d)).argsort(axis=2)[:, :, :size]
        mask = np.zeros((n, S, d), dtype=bool)
        np.put_along_axis(mask, chosen, True, axis=2)
        baseline = ctx.baseline if ctx.baseline is not None else Xf.mean(axis=0)
        batch = np.where(mask, baseline, Xf[:, None, :]).reshape(-1, d)
        fx = model_output(model, Xf.astype(np.float32), ctx.targets)
        fp = model_output(model, batch.astype(np.float32), ctx.targets, repeats=S).reshape(n, S)
        drop = fx[:, None] - fp
        attr = (mask * ctx.phi[:, None, :]).sum(axis=2)
        per_row = _pearson_rows(attr, drop)
        return float(per_row.mean()), per_row, {"subset_size": size}, ()


def _pearson_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    den = np.sqrt((a**2).sum(axis=1) * (b**2).sum(axis=1))
    return np.asarray(np.where(den > 1e-12, (a * b).sum(axis=1) / np.maximum(den, 1e-12), 0.0), dtype=np.float64)


class _GapMetric(Metric):
    important: ClassVar[bool] = True
    requires = ("background",)
    applies_to = "tabular or flattened inputs; noise scaled by each feature's background spread"

    param_constraints: ClassVar = {"k": [None, POSITIVE_INT], "sigma": POSITIVE, "n_samples": POSITIVE_INT}

    def __init__(self, *, k: int | None = None, sigma: float = 0.1, n_samples: int = 10) -> None:
        super().__init__(k=k, sigma=sigma, n_samples=n_samples)

    def _compute(self, model: BaseModel, X: np.ndarray, explanation: Explanation, ctx: MetricContext) -> Result:
        rng = np.random.default_rng(ctx.seed)
        Xf = X.reshape(len(X), -1).astype(np.float64)
        n, d = Xf.shape
        k = self.params["k"] if self.params["k"] is not None else max(1, d // 4)
        if k > d:
            raise InvalidInputError(f"The 'k' parameter of {type(self).__name__} must be ≤ {d} features. Got {k}.")
        S = self.params["n_samples"]
        top = np.argsort(-np.abs(ctx.phi), axis=1, kind="stable")[:, :k]
        mask = np.zeros((n, d), dtype=bool)
        np.put_along_axis(mask, top, True, axis=1)
        if not self.important:
            mask = ~mask
        scale = ctx.scale if ctx.scale is not None else Xf.std(axis=0)
        noise = rng.standard_normal((n, S, d)) * self.params["sigma"] * scale
        batch = (Xf[:, None, :] + noise * mask[:, None, :]).reshape(-1, d)
        fx = model_output(model, Xf.astype(np.float32), ctx.targets)
        fp = model_output(model, batch.astype(np.float32), ctx.targets, repeats=S).reshape(n, S)
        per_row = np.abs(fx[:, None] - fp).mean(axis=1)
        return float(per_row.mean()), per_row, {"k": k}, ()


@register_metric
class PredictionGapImportant(_GapMetric):
    """PGI (Agarwal et al. 2022): mean |f(x) − f(x')| when Gaussian noise (σ × feature spread) hits the top-k features by |φ|. Higher is better."""

    name = "pgi"
    category = "faithfulness"
    higher_is_better = True
    important = True
    formula = "E|f(x) − f(x + ε·1_topk)|"


@register_metric
class PredictionGapUnimportant(_GapMetric):
    """PGU (Agarwal et al. 2022): the same gap when the noise hits every feature but the top-k. Lower is better."""

    name = "pgu"
    category = "faithfulness"
    higher_is_better = False
    important = False
    formula = "E|f(x) − f(x + ε·1_rest)|"
