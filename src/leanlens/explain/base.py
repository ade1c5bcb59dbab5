"""Explainer base class, the registry of methods, and ``leanlens.explain()``."""

from __future__ import annotations

import abc
import contextlib
import time
from collections.abc import Mapping
from typing import Any, ClassVar, overload

import numpy as np

from .._validation import Spec, check_params, check_random_state
from ..errors import InvalidInputError, UnsupportedModelError, did_you_mean
from ..models.base import BaseModel, as_model
from .explanation import Explanation

__all__ = ["EXPLAINERS", "Explainer", "available_explainers", "explain", "get_explainer", "register_explainer", "resolve_targets"]

EXPLAINERS: dict[str, type[Explainer]] = {}

Target = int | str | None


def register_explainer(cls: type[Explainer]) -> type[Explainer]:
    """Class decorator: make ``cls`` available as ``explain(..., method=cls.name)``."""
    if not getattr(cls, "name", None):
        raise TypeError(f"{cls.__name__} needs a class attribute 'name'.")
    EXPLAINERS[cls.name] = cls
    return cls


def _load_builtin_explainers() -> None:
    """Import the modules that register the built-in methods (lazily: some import Captum or shap)."""
    import importlib

    for mod in _BUILTIN_MODULES:
        try:
            importlib.import_module(mod, __package__)
        except ModuleNotFoundError as exc:
            # Only a module of ours that is not written yet may be missing; a missing library is a bug.
            if not (exc.name or "").startswith("leanlens"):
                raise


_BUILTIN_MODULES = (
    ".shapley.exact", ".shapley.kernel", ".shapley.leverage", ".shapley.permutation",
    ".shapley.polyshap", ".shapley.gp", ".shapley.chooser", ".lime", ".gradients", ".tree", ".importance", ".surrogate",
)


# Where each built-in method lives, so explain(method=...) imports only what it needs
# (Captum and shap take seconds to import; a Shapley call should not pay for them).
_METHOD_MODULES = {
    "exact": ".shapley.exact", "kernel": ".shapley.kernel", "leverage": ".shapley.leverage",
    "permutation": ".shapley.permutation", "polyshap": ".shapley.polyshap", "gp": ".shapley.gp",
    "shapley": ".shapley.chooser", "lime": ".lime", "ig": ".gradients", "saliency": ".gradients",
    "input_x_gradient": ".gradients", "gradient_shap": ".gradients", "deeplift": ".gradients", "tree": ".tree",
}


def available_explainers() -> dict[str, type[Explainer]]:
    """Every registered method (built-in ones imported first), by name."""
    _load_builtin_explainers()
    return dict(sorted(EXPLAINERS.items()))


def get_explainer(method: str) -> type[Explainer]:
    if method not in EXPLAINERS and method in _METHOD_MODULES:
        import importlib

        importlib.import_module(_METHOD_MODULES[method], __package__)
    if method not in EXPLAINERS:
        _load_builtin_explainers()
    if method not in EXPLAINERS:
        raise InvalidInputError(
            f"Unknown explanation method {method!r}.{did_you_mean(str(method), EXPLAINERS)} "
            f"Valid methods: {', '.join(sorted(EXPLAINERS))}."
        )
    return EXPLAINERS[method]


class Explainer(abc.ABC):
    """Base of every local attribution method.

    Subclasses set ``name``, ``summary`` (one line for ``leanlens explainers``),
    ``model_agnostic`` and implement ``_explain(X, targets) -> Explanation``. The
    constructor only stores; ``explain`` validates and computes.
    """

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    model_agnostic: ClassVar[bool] = True
    needs_background: ClassVar[bool] = True
    #: Most features (players) the method handles; None: no limit. Checked at entry, with a clear error,
    #: so e.g. 10,000 features do not end in an OverflowError deep in an estimator.
    max_players: ClassVar[int | None] = None
    has_budget: ClassVar[bool] = False
    params: dict[str, Any]  # method-specific parameters, as given (set in __init__)
    #: The method's own ``**params`` and the rule of each (see :mod:`leanlens._validation`); ``explain``
    #: refuses other names and checks the given values. None: the method checks its params itself.
    param_constraints: ClassVar[Mapping[str, Spec] | None] = None

    def __init__(
        self,
        model: Any,
        *,
        background: Any = None,
        budget: int | None = None,
        random_state: int | None = None,
        **params: Any,
    ) -> None:
        self.model = model
        self.background = background
        self.budget = budget
        self.random_state = random_state
        self.params: dict[str, Any] = params

    # -- validation shared by every method --------------------------------------------------
    def _model(self) -> BaseModel:
        model = as_model(self.model)
        if not self.model_agnostic and getattr(model, "kind", None) != "torch":
            raise UnsupportedModelError(
                f"The {self.name!r} method needs gradients, which a {model.kind} model does not have. "
                "Use a model-agnostic method instead: 'kernel', 'leverage', 'permutation' or 'lime'."
            )
        return model

    def _background(self, model: BaseModel) -> np.ndarray:
        if self.background is None:
            raise InvalidInputError(
                f"The {self.name!r} method needs a 'background' (rows standing for 'feature absent'), "
                "e.g. background=dataset.X_train."
            )
        bg = model.check_X(self.background, param="background")
        if len(bg) == 0:
            raise InvalidInputError("The 'background' parameter is empty; give at least one row.")
        from ..limits import MAX_BACKGROUND

        if len(bg) > MAX_BACKGROUND:
            raise InvalidInputError(
                f"The 'background' parameter has {len(bg):,} rows; at most {MAX_BACKGROUND:,} are allowed "
                "(a sample of 100-1000 rows is the usual choice)."
            )
        return bg

    def explain(self, X: Any, *, target: Target | str = None) -> Explanation:
        """Explain the rows of ``X`` (array of shape (n, *input_shape)).

        ``target=None`` explains every output, an int (or output name) one output,
        ``"predicted"`` each row's predicted class.
        """
        check_random_state(self.random_state, owner=type(self).__name__)
        self._check_declared_params()
        model = self._model()
        Xc = model.check_X(X)
        if len(Xc) == 0:
            raise InvalidInputError("The 'X' parameter has no rows to explain.")
        self._check_sizes(model, Xc)
        self._check_finite_outputs(model, Xc)
        targets = resolve_targets(model, Xc, target)
        start = time.perf_counter()
        expl = self._explain(model, Xc, targets)
        expl.seconds = time.perf_counter() - start
        return expl

    def _check_finite_outputs(self, model: BaseModel, X: np.ndarray) -> None:
        """Refuse a model whose output is NaN/inf on the explained rows or the background (one call each)."""
        with self._model_call_guard():
            _refuse_non_finite(model, X, "explained rows")
            if self.needs_background and self.background is not None:
                _refuse_non_finite(model, self._background(model), "background rows")

    def _model_call_guard(self) -> contextlib.AbstractContextManager[Any]:
        """Held around the base's own model calls; a method that puts hooks on the model returns its lock."""
        return contextlib.nullcontext()

    def _check_declared_params(self) -> None:
        declared = self.param_constraints
        if declared is None:
            return
        unknown = sorted(set(self.params) - set(declared))
        if unknown:
            hint = did_you_mean(unknown[0], declared) if len(unknown) == 1 else ""
            raise InvalidInputError(
                f"Unknown parameter(s) {unknown} for the {self.name!r} method.{hint} Valid: {sorted(declared)}."
            )
        check_params(self.params, {k: declared[k] for k in self.params}, owner=type(self).__name__)

    def _check_sizes(self, model: BaseModel, X: np.ndarray) -> None:
        """The documented bounds of leanlens.limits: rows, budget, and the coalition matrix's memory."""
        from ..limits import MAX_BUDGET, MAX_COALITION_CELLS, MAX_ROWS, check_count

        if len(X) > MAX_ROWS:
            raise InvalidInputError(f"The 'X' parameter has {len(X):,} rows; at most {MAX_ROWS:,} are explained at once.")
        d_model = int(np.prod(model.input_shape))
        if self.max_players is not None and self.params.get("groups") is None and d_model > self.max_players:
            raise InvalidInputError(
                f"The {self.name!r} method handles at most {self.max_players:,} features; this model has "
                f"{d_model:,}. Group the features (groups=…) or use method='permutation'."
            )
        if self.budget is None:
            return
        budget = check_count(self.budget, param="budget", high=MAX_BUDGET, owner=type(self).__name__)
        d = int(np.prod(model.input_shape))
        if budget is not None and budget * d > MAX_COALITION_CELLS:
            raise InvalidInputError(
                f"The 'budget' parameter of {type(self).__name__} ({budget:,}) times the {d:,} features needs a "
                f"{budget * d:,}-cell coalition matrix per row; at most {MAX_COALITION_CELLS:,} are allowed. "
                "Lower the budget or group the features."
            )

    @abc.abstractmethod
    def _explain(self, model: BaseModel, X: np.ndarray, targets: np.ndarray | None) -> Explanation:
        """Attributions of the validated rows ``X`` for ``targets`` (None: every output)."""


@overload
def resolve_targets(model: BaseModel, X: np.ndarray, target: None) -> None: ...
@overload
def resolve_targets(model: BaseModel, X: np.ndarray, target: int | str) -> np.ndarray: ...
def resolve_targets(model: BaseModel, X: np.ndarray, target: Target | str) -> np.ndarray | None:
    """Which output of ``model`` is explained for each row of ``X``: the one rule of leanlens.

    None (all outputs) or an (n,) array of output indices: ``"predicted"`` is each row's
    predicted class (the argmax of ``model.output``, as ``model.predict``; output 0 for
    regression), an int or an output name that output for every row. Select those outputs
    of a multi-output explanation with :meth:`Explanation.select`.
    """
    k = model.n_outputs
    if target is None:
        return None
    if isinstance(target, str):
        if target == "predicted":
            if model.task == "regression":
                return np.zeros(len(X), dtype=np.int64)
            return model.output(X).argmax(axis=1).astype(np.int64)
        if target in model.output_names:
            return np.full(len(X), model.output_names.index(target), dtype=np.int64)
        raise InvalidInputError(
            f"The 'target' parameter must be None, 'predicted', an output index or one of "
            f"{list(model.output_names)}. Got {target!r}."
        )
    if isinstance(target, bool) or not isinstance(target, int | np.integer):
        raise InvalidInputError(f"The 'target' parameter must be None, 'predicted' or an int. Got {target!r}.")
    if not 0 <= int(target) < k:
        raise InvalidInputError(f"The 'target' index must be in [0, {k}) for this model's {k} outputs. Got {target}.")
    return np.full(len(X), int(target), dtype=np.int64)


def explain(
    model: Any,
    X: Any,
    method: str = "shapley",
    *,
    background: Any = None,
    target: Target | str = None,
    budget: int | None = None,
    random_state: int | None = None,
    **params: Any,
) -> Explanation:
    """Explain ``model`` on the rows ``X`` with ``method`` (see ``leanlens explainers``).

    Examples
    --------
    >>> import numpy as np, leanlens
    >>> f = leanlens.as_model(lambda X: X @ np.array([1.0, 2.0, 0.0]), n_features=3)
    >>> e = leanlens.explain(f, np.ones((1, 3)), method="exact", background=np.zeros((1, 3)))
    >>> np.round(e.values, 6).tolist()
    [[[1.0], [2.0], [0.0]]]
    """
    cls = get_explainer(method)
    return cls(model, background=background, budget=budget, random_state=random_state, **params).explain(X, target=target)


def _refuse_non_finite(model: BaseModel, X: np.ndarray, what: str) -> None:
    out = np.asarray(model.output(X), dtype=np.float64).reshape(len(X), -1)
    bad = np.nonzero(~np.all(np.isfinite(out), axis=1))[0]
    if len(bad):
        shown = ", ".join(str(int(i)) for i in bad[:10]) + (", …" if len(bad) > 10 else "")
        raise InvalidInputError(
            f"The model returned NaN or infinite outputs for {len(bad)} of the {len(X)} {what} "
            f"(rows {shown}); attributions of such outputs are meaningless. Fix the model or drop those rows."
        )
