"""``leanlens.evaluate()``: score an explanation with the registered metrics.

Builds the :class:`~leanlens.metrics.base.MetricContext` once (the judged output of each
row, the background mean and spread, a way to re-run the explainer, ground truth) and
calls every chosen metric with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .._validation import check_random_state
from ..errors import InvalidInputError, LeanlensError
from ..explain.base import resolve_targets
from .base import ExplainFn, Metric, MetricContext, MetricResult, resolve_metrics

if TYPE_CHECKING:
    from ..explain.explanation import Explanation
    from ..models.base import BaseModel

__all__ = [
    "check_explanation_matches", "evaluate", "explain_by_target", "make_explain_fn", "resolve_explained_output",
    "spread_groups",
]


def resolve_explained_output(
    model: BaseModel, X: np.ndarray, explanation: Explanation, target: int | str | None
) -> tuple[np.ndarray, np.ndarray]:
    """The (n, d) attributions and the (n,) output index each row's metrics judge.

    A single-output explanation judges the output it explains. A multi-output one judges
    ``target`` (an index or output name) or, by default, each row's predicted class.
    """
    n = explanation.n_rows
    values = explanation.values
    k = model.n_outputs
    if values.ndim == 2:
        if explanation.targets is not None:
            return values, np.asarray(explanation.targets, dtype=np.int64)
        if len(explanation.output_names) == 1 and explanation.output_names[0] in model.output_names:
            return values, np.full(n, model.output_names.index(explanation.output_names[0]), dtype=np.int64)
        return values, np.zeros(n, dtype=np.int64)
    if target is None or target == "predicted":
        t = resolve_targets(model, X, "predicted")
    elif isinstance(target, str):
        if target not in explanation.output_names:
            raise InvalidInputError(
                f"The 'target' parameter must be an output index, 'predicted' or one of "
                f"{list(explanation.output_names)}. Got {target!r}."
            )
        t = np.full(n, explanation.output_names.index(target))
    else:
        if not 0 <= int(target) < values.shape[2]:
            raise InvalidInputError(f"The 'target' index must be in [0, {values.shape[2]}). Got {target!r}.")
        t = np.full(n, int(target))
    if values.shape[2] != k:
        raise InvalidInputError(
            f"The explanation has {values.shape[2]} outputs but the model has {k} ({list(model.output_names)})."
        )
    t = np.asarray(t, dtype=np.int64)
    return explanation.select(t).values, t


def check_explanation_matches(X: np.ndarray, explanation: Explanation, *, param: str = "X") -> None:
    """The explanation must explain exactly the rows of X (same count, same values)."""
    Xf = X.reshape(len(X), -1)
    if explanation.n_rows != len(Xf):
        raise InvalidInputError(
            f"The explanation explains {explanation.n_rows} rows but the {param!r} parameter has {len(Xf)}; "
            "pass the rows that were explained."
        )
    if explanation.n_features != Xf.shape[1]:
        raise InvalidInputError(
            f"The explanation has {explanation.n_features} features but the {param!r} parameter has {Xf.shape[1]}."
        )
    if explanation.data.size and not np.allclose(explanation.data, Xf, rtol=1e-4, atol=1e-5):
        bad = int(np.nonzero(~np.all(np.isclose(explanation.data, Xf, rtol=1e-4, atol=1e-5), axis=1))[0][0])
        raise InvalidInputError(
            f"The rows of {param!r} do not match the rows the explanation explains (first difference in row {bad}); "
            "pass the same rows, in the same order."
        )


def _spread_matrix(groups: Sequence[Sequence[int]], n_features: int) -> np.ndarray:
    """(g, D): row i spreads group i's value evenly over its features."""
    S = np.zeros((len(groups), n_features))
    for gi, g in enumerate(groups):
        S[gi, list(g)] = 1.0 / len(g)
    return S


def spread_groups(explanation: Explanation, feature_names: Sequence[str]) -> Explanation:
    """Per-feature attributions from group attributions (``groups=``), for the metrics.

    Each feature of a group gets an equal share of the group's value, so sums over features
    equal the group values (completeness is unchanged) and the features of one group rank
    together (deletion removes a patch at a time). Standard errors are dropped; a note says so.
    """
    import dataclasses

    groups = explanation.groups
    if groups is None:
        return explanation
    S = _spread_matrix(groups, explanation.data.shape[1])
    values = np.einsum("ng...,gd->nd...", explanation.values, S) if explanation.values.ndim == 2 else np.einsum(
        "ngk,gd->ndk", explanation.values, S)
    params = dict(explanation.params)
    params.setdefault("groups", [list(g) for g in groups])
    return dataclasses.replace(
        explanation, values=values, feature_names=tuple(feature_names), groups=None, stderr=None, params=params,
        notes=(*explanation.notes, f"The metrics score the {len(groups)} group values spread evenly over the "
                                   f"{explanation.data.shape[1]} features of their groups."))


def make_explain_fn(
    explainer: Any, explanation: Explanation, *, background: np.ndarray | None, seed: int
) -> tuple[ExplainFn | None, bool]:
    """Turn ``explainer`` (None, a method name, an Explainer class or a callable) into an ExplainFn.

    Returns the function (None when the method is not available) and whether the method
    is model-agnostic (those get fewer re-explanations in the robustness metrics). A
    registered method is run once per distinct target output, so a gradient method does
    not pay for outputs nobody looks at.
    """
    from ..explain.base import Explainer, get_explainer

    if explainer is not None and not isinstance(explainer, str | type):
        if not callable(explainer):
            raise InvalidInputError(
                "The 'explainer' parameter must be a method name, an Explainer class or a callable "
                f"(model, X) -> Explanation. Got {type(explainer).__name__}."
            )
        user = explainer

        def from_callable(model: BaseModel, X: np.ndarray, targets: np.ndarray) -> np.ndarray:
            return user(model, X).select(targets).values

        return from_callable, True
    cls: type[Explainer]
    if isinstance(explainer, type):
        if not issubclass(explainer, Explainer):
            raise InvalidInputError(f"The 'explainer' class must derive from Explainer. Got {explainer.__name__}.")
        cls = explainer
    else:
        try:
            cls = get_explainer(explainer or explanation.method)
        except LeanlensError:
            return None, True
    budget = explanation.params.get("budget") if isinstance(explanation.params, dict) else None
    groups = explanation.params.get("groups") if isinstance(explanation.params, dict) else None
    return (explain_by_target(cls, background=background, budget=budget, seed=seed, groups=groups),
            bool(cls.model_agnostic))


def explain_by_target(cls: Any, *, background: np.ndarray | None, budget: int | None, seed: int,
                      groups: Any = None) -> ExplainFn:
    """An ExplainFn running ``cls`` once per distinct target output (rows grouped by target);
    with ``groups`` (index lists), group values re-explained and spread over their features."""
    extra = {} if groups is None else {"groups": [list(g) for g in groups]}

    def explain_fn(model: BaseModel, X: np.ndarray, targets: np.ndarray) -> np.ndarray:
        out = np.zeros((len(X), model.n_features), dtype=np.float64)
        for t in np.unique(targets):
            sel = np.nonzero(targets == t)[0]
            e = cls(model, background=background, budget=budget, random_state=seed, **extra).explain(X[sel], target=int(t))
            v = e.select(np.full(len(sel), int(t))).values
            out[sel] = v if e.groups is None else v @ _spread_matrix(e.groups, model.n_features)
        return out

    return explain_fn


def evaluate(
    model: Any,
    X: Any,
    explanation: Explanation,
    metrics: str | Metric | Sequence[str | Metric] = "all",
    *,
    background: Any = None,
    target: int | str | None = None,
    explainer: Any = None,
    ground_truth: Any = None,
    random_state: int | None = None,
) -> list[MetricResult]:
    """Score an explanation of ``model`` on the rows ``X`` with explanation-quality metrics.

    Parameters
    ----------
    model : a leanlens Model (or anything :func:`leanlens.as_model` accepts).
    X : array of shape (n_samples, n_features) — the rows ``explanation`` explains.
    explanation : :class:`~leanlens.explain.Explanation` of those rows.
    metrics : ``"all"`` (default), a category (``"faithfulness"``, ``"robustness"``,
        ``"complexity"``, ``"axioms"``, ``"efficiency"``, ``"sanity"``, ``"ground_truth"``),
        metric names, or configured Metric instances (e.g. ``DeletionAUC(steps=20)``).
    background : rows standing for "feature absent"; their mean replaces removed features.
        Needed by faithfulness and robustness metrics (skipped without it).
    target : which output a multi-output explanation is judged on: an index, an output
        name, or None (each row's predicted class).
    explainer : how to re-run the explanation (robustness, sanity): a method name, an
        Explainer class, or a callable ``(model, X) -> Explanation``. Default: the
        explanation's own method, with the same background and budget.
    ground_truth : (n, d) true attributions of the explained output, or a
        :class:`~leanlens.data.GroundTruth` (its ``shapley(X)`` is used, ``relevant`` too).
    random_state : seed of every random draw (perturbations, subsets, re-explanations).

    Returns
    -------
    list of :class:`MetricResult`, one per metric, in order; metrics that do not apply are
    returned with ``skipped`` set to the reason (never an exception).

    Examples
    --------
    >>> import numpy as np, leanlens
    >>> from leanlens.explain import Explanation
    >>> w = np.array([3.0, 2.0, 1.0])
    >>> m = leanlens.as_model(lambda X: X @ w, n_features=3)
    >>> X = np.ones((1, 3))
    >>> e = Explanation(w[None] * X, np.zeros(1), X, ("a", "b", "c"), ("value",), "exact")
    >>> r = leanlens.evaluate(m, X, e, ["deletion_auc", "completeness"], background=np.zeros((4, 3)))
    >>> [round(x.value, 4) for x in r]
    [2.3333, 0.0]
    """
    from ..data.dataset import GroundTruth
    from ..explain.explanation import Explanation as _Explanation
    from ..models.base import as_model

    m = as_model(model)
    if not isinstance(explanation, _Explanation):
        raise InvalidInputError(
            f"The 'explanation' parameter must be a leanlens Explanation. Got {type(explanation).__name__}."
        )
    Xc = m.check_X(X)
    if len(Xc) == 0:
        raise InvalidInputError("The 'X' parameter has no rows.")
    if explanation.groups is not None:
        explanation = spread_groups(explanation, m.feature_names)
    check_explanation_matches(Xc, explanation)
    chosen = resolve_metrics(metrics)
    phi, targets = resolve_explained_output(m, Xc, explanation, target)
    bg = None if background is None else m.check_X(background, param="background").reshape(-1, m.n_features)
    if bg is not None and len(bg) == 0:
        raise InvalidInputError("The 'background' parameter is empty; give at least one row.")
    seed = int(np.random.default_rng(check_random_state(random_state, owner="evaluate()")).integers(2**31 - 1))
    explain_fn, agnostic = make_explain_fn(explainer, explanation, background=bg, seed=seed)
    gt: np.ndarray | None = None
    relevant: tuple[int, ...] | None = None
    if isinstance(ground_truth, GroundTruth):
        gt = np.asarray(ground_truth.shapley(Xc.reshape(len(Xc), -1)), dtype=np.float64)
        relevant = tuple(ground_truth.relevant)
    elif ground_truth is not None:
        gt = np.asarray(ground_truth, dtype=np.float64)
        if gt.shape != phi.shape:
            raise InvalidInputError(
                f"The 'ground_truth' parameter must have the explanation's shape {phi.shape}. Got {gt.shape}."
            )
    ctx = MetricContext(
        phi=phi, targets=targets, background=bg,
        baseline=None if bg is None else bg.mean(axis=0),
        scale=None if bg is None else np.where(bg.std(axis=0) > 1e-12, bg.std(axis=0), 1.0),
        explain_fn=explain_fn, model_agnostic=agnostic, ground_truth=gt, relevant=relevant, seed=seed,
    )
    from ..progress import task

    out = []
    with task("metrics", len(chosen)) as bar:
        for metric in chosen:
            out.append(metric(m, Xc, explanation, ctx))
            bar.advance(info=getattr(metric, "name", type(metric).__name__))
    return out
