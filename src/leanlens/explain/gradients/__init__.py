"""Gradient attributions for torch models through Captum, one method per module.

Integrated Gradients (Sundararajan, Taly & Yan, ICML 2017), Saliency (Simonyan,
Vedaldi & Zisserman, 2014), Input×Gradient (Shrikumar et al., 2016), GradientSHAP
(Lundberg & Lee, NeurIPS 2017) and DeepLift (Shrikumar, Greenside & Kundaje,
ICML 2017). They explain the model's *probabilities* (values for regression), the
same output the model-agnostic methods explain, via ``TorchModel.forward_output``.
Each call is stateless: what one ``explain`` works with lives in a :class:`GradientCall`,
never on the explainer, so one explainer may serve several calls at once.
"""

from .base import BASELINES, GradientCall, GradientExplainer
from .deeplift import DeepLift
from .gradient_shap import GradientShap
from .ig import IntegratedGradients
from .input_x_gradient import InputXGradient
from .saliency import Saliency

__all__ = [
    "BASELINES",
    "DeepLift",
    "GradientCall",
    "GradientExplainer",
    "GradientShap",
    "InputXGradient",
    "IntegratedGradients",
    "Saliency",
]
