"""TreeSHAP for scikit-learn tree ensembles through ``shap.TreeExplainer``.

Lundberg et al., "From local explanations to global understanding with explainable
AI for trees", Nature Machine Intelligence 2020. Exact Shapley values of tree
models in polynomial time: interventional (against a background, the same game as
our model-agnostic estimators) or path-dependent (the trees' own cover statistics).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from .._validation import POSITIVE_INT, Options
from ..errors import UnsupportedModelError
from .base import Explainer, register_explainer
from .explanation import Explanation

if TYPE_CHECKING:
    from ..models.base import BaseModel

__all__ = ["TreeShap", "is_tree_model"]

_ALIASES = {"interventional": "interventional", "tree_path_dependent": "tree_path_dependent",
            "path_dependent": "tree_path_dependent"}
# Margin-space ensembles: shap's raw output is the log-odds, not the probability.
_MARGIN_MODELS = ("GradientBoostingClassifier", "HistGradientBoostingClassifier")


def is_tree_model(estimator: Any) -> bool:
    """True for the scikit-learn trees and tree ensembles TreeExplainer understands."""
    from sklearn.ensemble import (
        ExtraTreesClassifier,
        ExtraTreesRegressor,
        GradientBoostingClassifier,
        GradientBoostingRegressor,
        HistGradientBoostingClassifier,
        HistGradientBoostingRegressor,
        IsolationForest,
        RandomForestClassifier,
        RandomForestRegressor,
    )
    from sklearn.tree import BaseDecisionTree

    kinds = (BaseDecisionTree, RandomForestClassifier, RandomForestRegressor, ExtraTreesClassifier,
             ExtraTreesRegressor, GradientBoostingClassifier, GradientBoostingRegressor,
             HistGradientBoostingClassifier, HistGradientBoostingRegressor, IsolationForest)
    return isinstance(estimator, kinds)


@register_explainer
class TreeShap(Explainer):
    """Exact TreeSHAP of a scikit-learn tree model.

    Parameters (``explain(..., method="tree", **params)``)
    ----------
    feature_perturbation : "interventional" (default; needs ``background``, explains the
        probabilities of classifiers — the same game as 'exact'/'kernel') or
        "tree_path_dependent" (no background; explains shap's raw tree output: the
        probabilities of decision trees and random forests, the log-odds of gradient
        boosting classifiers — said in ``notes``).
    max_background : background rows kept (default 200; a random subsample above that,
        said in ``notes``). TreeSHAP's interventional cost grows linearly with it.

    Examples
    --------
    >>> import numpy as np, leanlens
    >>> from sklearn.tree import DecisionTreeRegressor
    >>> from leanlens.explain import explain
    >>> X = np.random.default_rng(0).normal(size=(100, 3))
    >>> m = DecisionTreeRegressor(max_depth=2).fit(X, X[:, 0])
    >>> e = explain(m, X[:2], method="tree", background=X)
    >>> bool(np.allclose(e.values[..., 0].sum(1) + e.base_values[:, 0], m.predict(X[:2])))
    True
    """

    name: ClassVar[str] = "tree"
    summary: ClassVar[str] = "TreeSHAP (Lundberg et al. 2020) via shap, exact for scikit-learn tree ensembles."
    model_agnostic: ClassVar[bool] = False

    def _model(self) -> BaseModel:
        from ..models.base import as_model

        model = as_model(self.model)
        est = getattr(model, "estimator", None)
        if model.kind != "sklearn" or not is_tree_model(est):
            what = type(est).__name__ if est is not None else f"{model.kind} model"
            raise UnsupportedModelError(
                f"The 'tree' method needs a scikit-learn decision tree or tree ensemble (random forest, "
                f"extra trees, gradient boosting). Got a {what}. Use a model-agnostic method instead: "
                "'exact', 'kernel', 'leverage', 'permutation' or 'lime'."
            )
        return model

    param_constraints: ClassVar = {"feature_perturbation": Options(tuple(_ALIASES)), "max_background": POSITIVE_INT}

    def _perturbation(self) -> str:
        return _ALIASES[self.params.get("feature_perturbation", "interventional")]

    def _explain(self, model: BaseModel, X: np.ndarray, targets: np.ndarray | None) -> Explanation:
        import shap

        est = model.estimator  # type: ignore[attr-defined]
        fp = self._perturbation()
        notes: list[str] = []
        bg = None
        if fp == "interventional":
            bg = self._background(model).reshape(-1, model.n_features).astype(np.float64)
            cap = self.params.get("max_background", 200)
            if len(bg) > cap:
                rng = np.random.default_rng(self.random_state)
                bg = bg[np.sort(rng.choice(len(bg), size=cap, replace=False))]
                notes.append(f"Background subsampled at random to {cap} rows (max_background).")
            output = "probability" if model.task != "regression" else "raw"
        else:
            output = "raw"
            if model.task != "regression" and type(est).__name__ in _MARGIN_MODELS:
                notes.append(f"Path-dependent TreeSHAP explains the log-odds of {type(est).__name__}, not its probabilities.")
        Xf = X.reshape(len(X), -1).astype(np.float64)
        explainer = shap.TreeExplainer(est, data=bg, feature_perturbation=fp, model_output=output)
        sv = np.asarray(explainer.shap_values(Xf, check_additivity=False), dtype=np.float64)
        ev = np.atleast_1d(np.asarray(explainer.expected_value, dtype=np.float64))
        k = model.n_outputs
        if sv.ndim == 2:
            sv = sv[:, :, None]
        if sv.shape[2] == 1 and k == 2:
            # a binary model explained through one output (class 1): class 0 mirrors it
            sv = np.concatenate([-sv, sv], axis=2)
            ev = np.array([1.0 - ev[0], ev[0]]) if output == "probability" else np.array([-ev[0], ev[0]])
        base = np.broadcast_to(ev, (len(X), k)).copy()
        if not any("log-odds" in n for n in notes):
            # shap compares in float32 where scikit-learn compares float32 inputs with float64
            # thresholds: a value lying on a rounded threshold can take the other branch.
            resid = float(np.abs(sv.sum(axis=1) + base - model.output(X)).max())
            if resid > 1e-6:
                notes.append(
                    f"Σφ + base misses the model output by up to {resid:.3g}: shap's float32 split "
                    "comparisons disagree with scikit-learn's on a value lying on a split threshold."
                )
        n_bg = 0 if bg is None else len(bg)
        expl = Explanation(
            values=sv, base_values=base, data=Xf, feature_names=model.feature_names,
            output_names=model.output_names, method=self.name,
            params={"feature_perturbation": fp, "model_output": output, "n_background": n_bg,
                    "random_state": self.random_state},
            n_model_evals=len(X), input_shape=model.input_shape, notes=tuple(notes),
        )
        return expl if targets is None else expl.select(targets)
