"""Agreement with known attributions (synthetic data with a closed-form answer).

The explanation's attributions of the explained output are compared with the true
attributions ``φ*`` (e.g. ``dataset.ground_truth.shapley(X)``) using the agreement
measures of Krishna et al. (2022) (see :mod:`leanlens.metrics.agreement`): feature, rank
and sign agreement at k, Spearman rank correlation, and the share of attribution mass
on features the function never uses, ``Σ_{i∉R} |φ_i| / Σ_i |φ_i|`` (lower is better).

Each reports the per-row mean as ``value`` and (except sign agreement) the same measure
on global importance (mean |φ| against mean |φ*|) in ``details["global"]``. Note that φ* is the attribution
of the data's function f: for a classifier explained on a probability, ranks and signs
are comparable (the probability is monotone in f) but magnitudes are not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from . import agreement as ag
from .base import Metric, MetricContext, register_metric

if TYPE_CHECKING:
    from ..explain.explanation import Explanation
    from ..models.base import BaseModel

__all__ = [
    "GroundTruthFeatureAgreement",
    "GroundTruthRankAgreement",
    "GroundTruthRankCorrelation",
    "GroundTruthSignAgreement",
    "IrrelevantMass",
]

Result = tuple[float, np.ndarray | None, dict[str, Any], tuple[str, ...]]


class _TopKTruth(Metric):
    requires = ("ground_truth",)
    applies_to = "data with known attributions (leanlens.datasets.synthetic)"
    measure: ClassVar[str] = ""

    def __init__(self, *, k: int = 3) -> None:
        super().__init__(k=k)

    def _compute(self, model: BaseModel, X: np.ndarray, explanation: Explanation, ctx: MetricContext) -> Result:
        gt = np.asarray(ctx.ground_truth, dtype=np.float64)
        k = min(self.params["k"], gt.shape[1])
        fn = getattr(ag, self.measure)
        per_row = fn(gt, ctx.phi, k)
        details: dict[str, Any] = {"k": k}
        if self.measure != "sign_agreement":  # a mean attribution's sign means little for centred features
            details["global"] = float(fn(np.abs(gt).mean(axis=0), np.abs(ctx.phi).mean(axis=0), k)[0])
        return float(per_row.mean()), per_row, details, ()


@register_metric
class GroundTruthFeatureAgreement(_TopKTruth):
    """``|T_k(φ*) ∩ T_k(φ)| / k`` against the true attributions, mean over rows (higher is better)."""

    name = "gt_feature_agreement"
    category = "ground_truth"
    measure = "feature_agreement"
    formula = "|top_k(φ*) ∩ top_k(φ)| / k"


@register_metric
class GroundTruthRankAgreement(_TopKTruth):
    """Fraction of the first k ranks held by the same feature as in the truth (higher is better)."""

    name = "gt_rank_agreement"
    category = "ground_truth"
    measure = "rank_agreement"
    formula = "|{j ≤ k: same feature at rank j}| / k"


@register_metric
class GroundTruthSignAgreement(_TopKTruth):
    """Fraction of k features in both top-k sets whose sign matches the truth (higher is better)."""

    name = "gt_sign_agreement"
    category = "ground_truth"
    measure = "sign_agreement"
    formula = "|{i ∈ top_k ∩ top_k*: sign φ_i = sign φ*_i}| / k"


@register_metric
class GroundTruthRankCorrelation(Metric):
    """Spearman ρ between |φ| and |φ*| over all features, mean over rows (higher is better)."""

    name = "gt_rank_correlation"
    category = "ground_truth"
    requires = ("ground_truth",)
    applies_to = "data with known attributions (leanlens.datasets.synthetic)"
    formula = "spearman(|φ|, |φ*|)"

    def _compute(self, model: BaseModel, X: np.ndarray, explanation: Explanation, ctx: MetricContext) -> Result:
        gt = np.asarray(ctx.ground_truth, dtype=np.float64)
        per_row = ag.rank_correlation(gt, ctx.phi)
        glob = ag.rank_correlation(np.abs(gt).mean(axis=0), np.abs(ctx.phi).mean(axis=0))
        return float(per_row.mean()), per_row, {"global": float(glob[0])}, ()


@register_metric
class IrrelevantMass(Metric):
    """Share of |φ| on features the function does not use, ``Σ_{i∉R}|φ_i| / Σ|φ_i|`` (lower is better).

    R is ``ground_truth.relevant`` when a GroundTruth is given, else the features with a
    non-zero true attribution in some row.
    """

    name = "gt_irrelevant_mass"
    category = "ground_truth"
    higher_is_better = False
    requires = ("ground_truth",)
    applies_to = "data with known attributions (leanlens.datasets.synthetic)"
    formula = "Σ_{i∉R}|φ_i| / Σ|φ_i|"

    def _compute(self, model: BaseModel, X: np.ndarray, explanation: Explanation, ctx: MetricContext) -> Result:
        gt = np.asarray(ctx.ground_truth, dtype=np.float64)
        d = gt.shape[1]
        relevant = np.zeros(d, dtype=bool)
        if ctx.relevant is not None:
            relevant[list(ctx.relevant)] = True
        else:
            relevant = np.any(np.abs(gt) > 1e-12, axis=0)
        a = np.abs(ctx.phi)
        total = a.sum(axis=1)
        per_row = np.divide(a[:, ~relevant].sum(axis=1), total, out=np.zeros_like(total), where=total > 0)
        return float(per_row.mean()), per_row, {"irrelevant_features": np.nonzero(~relevant)[0].tolist()}, ()
