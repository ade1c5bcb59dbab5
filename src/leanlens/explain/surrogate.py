"""A global surrogate: a small decision tree trained to imitate the model.

Craven & Shavlik, "Extracting tree-structured representations of trained
networks", NeurIPS 1995; Molnar, *Interpretable Machine Learning*, ch. "Global
surrogate". The tree learns the model's decisions (not the true labels); its
``fidelity_`` on held-out rows says how far its rules can be trusted.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InvalidInputError, NotFittedError
from ..models.base import BaseModel, as_model

__all__ = ["SurrogateTree"]


class SurrogateTree:
    """Depth-limited decision tree imitating ``model``.

    Parameters
    ----------
    model : any leanlens Model (or what ``as_model`` accepts).
    max_depth : depth of the tree (default 3: at most 8 rules).
    min_samples_leaf : smallest leaf.
    test_size : share of the rows held out to measure fidelity.
    random_state : seed of the split and the tree.

    Attributes (after ``fit``)
    ----------
    tree_ : the fitted ``DecisionTreeClassifier`` (classifiers; learns the predicted class)
        or ``DecisionTreeRegressor`` (regression; learns the predicted value).
    fidelity_ : agreement with the model on the held-out rows — accuracy of the
        surrogate against the model's predicted classes, or R² against its values.
    train_fidelity_ : the same on the rows the tree was fitted on.
    split_features_ : names of the features the tree splits on, most important first.

    Examples
    --------
    >>> import numpy as np, leanlens
    >>> from leanlens.explain.surrogate import SurrogateTree
    >>> X = np.random.default_rng(0).normal(size=(400, 3))
    >>> f = leanlens.as_model(lambda X: np.stack([X[:, 1] <= 0, X[:, 1] > 0], 1) * 1.0, n_features=3)
    >>> s = SurrogateTree(f, max_depth=1, random_state=0).fit(X)
    >>> s.split_features_, s.fidelity_ > 0.95
    (['x1'], True)
    """

    def __init__(
        self,
        model: Any,
        *,
        max_depth: int = 3,
        min_samples_leaf: int = 5,
        test_size: float = 0.25,
        random_state: int | None = None,
    ) -> None:
        self.model = model
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.test_size = test_size
        self.random_state = random_state

    def _check(self) -> None:
        if isinstance(self.max_depth, bool) or not isinstance(self.max_depth, int) or not 1 <= self.max_depth <= 20:
            raise InvalidInputError(f"The 'max_depth' parameter of SurrogateTree must be an int in [1, 20]. Got {self.max_depth!r}.")
        if isinstance(self.min_samples_leaf, bool) or not isinstance(self.min_samples_leaf, int) or self.min_samples_leaf < 1:
            raise InvalidInputError(
                f"The 'min_samples_leaf' parameter of SurrogateTree must be a positive int. Got {self.min_samples_leaf!r}."
            )
        if not isinstance(self.test_size, int | float) or not 0 < self.test_size < 1:
            raise InvalidInputError(f"The 'test_size' parameter of SurrogateTree must be in (0, 1). Got {self.test_size!r}.")

    def fit(self, X: Any) -> SurrogateTree:
        """Fit the tree to the model's decisions on the rows ``X`` (array (n, *input_shape), n ≥ 10)."""
        from sklearn.metrics import accuracy_score, r2_score
        from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

        self._check()
        model: BaseModel = as_model(self.model)
        Xc = model.check_X(X)
        if len(Xc) < 10:
            raise InvalidInputError(f"SurrogateTree.fit needs at least 10 rows in 'X'. Got {len(Xc)}.")
        Xf = Xc.reshape(len(Xc), -1).astype(np.float64)
        rng = np.random.default_rng(self.random_state)
        order = rng.permutation(len(Xf))
        n_test = max(1, round(self.test_size * len(Xf)))
        test, train = order[:n_test], order[n_test:]
        y = model.predict(Xc)
        seed = int(rng.integers(0, 2**31 - 1))
        tree: Any
        if model.task == "regression":
            tree = DecisionTreeRegressor(max_depth=self.max_depth, min_samples_leaf=self.min_samples_leaf, random_state=seed)
            metric: Any = r2_score
        else:
            tree = DecisionTreeClassifier(max_depth=self.max_depth, min_samples_leaf=self.min_samples_leaf, random_state=seed)
            metric = accuracy_score
        tree.fit(Xf[train], y[train])
        self.tree_ = tree
        self.model_ = model
        self.fidelity_ = float(metric(y[test], tree.predict(Xf[test])))
        self.train_fidelity_ = float(metric(y[train], tree.predict(Xf[train])))
        imp = tree.feature_importances_
        used = [i for i in np.argsort(-imp, kind="stable") if imp[i] > 0]
        self.split_features_ = [model.feature_names[i] for i in used]
        self.n_test_ = len(test)
        return self

    def _fitted(self) -> None:
        if not hasattr(self, "tree_"):
            raise NotFittedError("This SurrogateTree is not fitted yet; call fit(X) first.")

    def predict(self, X: Any) -> np.ndarray:
        """The surrogate's decisions: (n,) class indices or values."""
        self._fitted()
        Xc = self.model_.check_X(X)
        return np.asarray(self.tree_.predict(Xc.reshape(len(Xc), -1)))

    def class_names(self) -> list[str] | None:
        self._fitted()
        if self.model_.task == "regression":
            return None
        return [self.model_.output_names[int(c)] for c in self.tree_.classes_]

    def export_text(self, *, decimals: int = 3) -> str:
        """The tree's rules as indented text (scikit-learn's ``export_text``)."""
        from sklearn.tree import export_text

        self._fitted()
        return str(export_text(self.tree_, feature_names=list(self.model_.feature_names),
                               class_names=self.class_names(), decimals=decimals))

    def to_dict(self) -> dict[str, Any]:
        self._fitted()
        return {
            "kind": "surrogate_tree",
            "max_depth": self.max_depth,
            "n_leaves": int(self.tree_.get_n_leaves()),
            "fidelity": self.fidelity_,
            "train_fidelity": self.train_fidelity_,
            "fidelity_metric": "r2" if self.model_.task == "regression" else "accuracy",
            "n_test": self.n_test_,
            "split_features": list(self.split_features_),
            "rules": self.export_text(),
        }
