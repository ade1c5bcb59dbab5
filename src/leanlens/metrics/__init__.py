"""Explanation-quality metrics and agreement between explanations; ``leanlens.evaluate``."""

from . import agreement
from .agreement import agreement as explanation_agreement
from .api import evaluate
from .axioms import Completeness
from .base import (
    CATEGORIES,
    METRICS,
    Metric,
    MetricContext,
    MetricResult,
    get_metric,
    register_metric,
)
from .complexity import Entropy, GiniSparseness
from .efficiency import EvalsPerRow, SecondsPerRow
from .faithfulness import (
    DeletionAUC,
    FaithfulnessCorrelation,
    InsertionAUC,
    PredictionGapImportant,
    PredictionGapUnimportant,
    deletion_curve,
)
from .ground_truth import (
    GroundTruthFeatureAgreement,
    GroundTruthRankAgreement,
    GroundTruthRankCorrelation,
    GroundTruthSignAgreement,
    IrrelevantMass,
)
from .robustness import LocalLipschitz, MaxSensitivity
from .sanity import ModelRandomization, randomize_layers

__all__ = [
    "CATEGORIES",
    "METRICS",
    "Completeness",
    "DeletionAUC",
    "Entropy",
    "EvalsPerRow",
    "FaithfulnessCorrelation",
    "GiniSparseness",
    "GroundTruthFeatureAgreement",
    "GroundTruthRankAgreement",
    "GroundTruthRankCorrelation",
    "GroundTruthSignAgreement",
    "InsertionAUC",
    "IrrelevantMass",
    "LocalLipschitz",
    "MaxSensitivity",
    "Metric",
    "MetricContext",
    "MetricResult",
    "ModelRandomization",
    "PredictionGapImportant",
    "PredictionGapUnimportant",
    "SecondsPerRow",
    "agreement",
    "deletion_curve",
    "evaluate",
    "explanation_agreement",
    "get_metric",
    "randomize_layers",
    "register_metric",
]
