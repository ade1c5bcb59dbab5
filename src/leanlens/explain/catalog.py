"""The built-in explanation methods' names, scope and one-line summaries, without importing them.

``leanlens explainers`` lists methods from here so that it starts without importing torch,
Captum, shap or scikit-learn (the method modules import them at the top). A test checks that
this table matches each class's ``model_agnostic`` and ``summary``; methods registered by
other code (``register_explainer``) are listed from the registry as they are.
"""

from __future__ import annotations

__all__ = ["BUILTIN_EXPLAINERS", "explainer_catalog"]

#: name → (model_agnostic, summary) of every built-in method
BUILTIN_EXPLAINERS: dict[str, tuple[bool, str]] = {
    'deeplift': (False,
        'DeepLift rescale rule (Shrikumar et al. 2017), Captum; torch models; summation-to-delta.'),
    'exact': (True,
        'Exact Shapley values by enumerating all 2^d coalitions (d ≤ 16).'),
    'gp': (True,
        'Gaussian-process surrogate (Hamming kernel, fitted length-scales); Shapley values in closed form.'),
    'gradient_shap': (False,
        'GradientSHAP / expected gradients (Lundberg & Lee 2017), Captum; torch models.'),
    'ig': (False,
        'Integrated Gradients (Sundararajan et al. 2017), Captum; torch models; completeness delta recorded.'),
    'input_x_gradient': (False,
        'Input×Gradient (Shrikumar et al. 2016), Captum; torch models; not additive.'),
    'kernel': (True,
        'KernelSHAP: paired sampling, extreme sizes enumerated, efficiency-constrained WLS.'),
    'leverage': (True,
        'Leverage SHAP: leverage-score size sampling without replacement, paired, projected regression.'),
    'lime': (True,
        'LIME (Ribeiro et al. 2016): weighted ridge on local perturbations; tabular or image patches.'),
    'permutation': (True,
        'Antithetic permutation sampling (each order and its reverse); efficiency exact.'),
    'polyshap': (True,
        'PolySHAP: paired KernelSHAP + odd 3rd-order terms (all or screened triples); efficiency exact.'),
    'saliency': (False,
        'Saliency (Simonyan et al. 2014): absolute gradient, Captum; torch models; not additive.'),
    'shapley': (True,
        "Recommended: picks exact, gp, polyshap or kernel from d, the budget and the model's cost."),
    'tree': (False,
        'TreeSHAP (Lundberg et al. 2020) via shap, exact for scikit-learn tree ensembles.'),
}


def explainer_catalog() -> dict[str, tuple[bool, str]]:
    """Every method, by name: the built-in ones from the table above and any other registered
    method (already imported) from its class; imports no method module."""
    from .base import EXPLAINERS

    out = dict(BUILTIN_EXPLAINERS)
    for name, cls in EXPLAINERS.items():
        out[name] = (bool(cls.model_agnostic), str(cls.summary))
    return dict(sorted(out.items()))
