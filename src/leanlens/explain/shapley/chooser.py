"""``shapley``: the recommended Shapley method, which picks an estimator for the problem at hand."""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from ...errors import InvalidInputError
from ..base import EXPLAINERS, register_explainer
from .base import ShapleyExplainer
from .exact import MAX_EXACT_FEATURES
from .game import MaskingGame
from .polyshap import choose_basis

if TYPE_CHECKING:
    from ...models.base import BaseModel
from ..explanation import Explanation

__all__ = ["RecommendedShapley", "choose_estimator"]

#: Rows of one timed model call used to measure the cost of a model row.
COST_PROBE_ROWS = 256
#: gp is chosen when its measured overhead per explained row is at most this many seconds …
GP_MAX_OVERHEAD_SECONDS = 0.05
#: … or at most this multiple of the model's own time per explained row (an expensive model
#: makes a costlier surrogate worth it: fewer model calls for the same accuracy).
GP_OVERHEAD_TO_MODEL_RATIO = 1.0
#: Above this budget gp is not tried: its exact posterior over m coalitions costs O(m³) per
#: row (seconds at m = 2,000), far above either limit, and the one-row pilot would cost as much.
GP_PILOT_MAX_BUDGET = 1024


def choose_estimator(d: int, budget: int, *, gp_available: bool, gp_overhead: float | None,
                     model_seconds_per_row: float) -> tuple[str, str]:
    """``(method, reason)`` for ``d`` players, ``budget`` coalitions per row, the measured gp
    overhead per explained row (None: not measured) and the model's seconds per explained row.

    1. exact, when the budget covers all 2^d − 2 coalitions (d ≤ 16): no error at no extra cost;
    2. gp, when it is installed and its overhead per row is small in absolute terms or next to
       the model's own time per row (it is the most accurate per model call);
    3. polyshap, when the budget supports third-order terms;
    4. kernel otherwise (polyshap's order-2 basis is KernelSHAP).
    """
    if d <= MAX_EXACT_FEATURES and (1 << d) - 2 <= budget:
        return "exact", f"the budget ({budget}) covers all 2^{d} − 2 = {(1 << d) - 2} coalitions, so exact costs no more"
    if gp_available and gp_overhead is not None:
        limit = max(GP_MAX_OVERHEAD_SECONDS, GP_OVERHEAD_TO_MODEL_RATIO * model_seconds_per_row)
        if gp_overhead <= limit:
            return "gp", (f"the Gaussian-process surrogate's overhead ({gp_overhead * 1e3:.1f} ms/row) is within "
                          f"{limit * 1e3:.1f} ms/row (max of {GP_MAX_OVERHEAD_SECONDS * 1e3:.0f} ms and the model's "
                          f"{model_seconds_per_row * 1e3:.2f} ms/row)")
        gp_note = f"gp's overhead ({gp_overhead * 1e3:.1f} ms/row) exceeds {limit * 1e3:.1f} ms/row; "
    else:
        gp_note = "gp is not available; " if not gp_available else ""
    kind, k, _ = choose_basis(d, budget)
    if kind != "order2":
        return "polyshap", gp_note + f"the budget ({budget}) supports {k} third-order terms ({kind})"
    return "kernel", gp_note + f"the budget ({budget}) is too small for third-order terms at d = {d}"


@register_explainer
class RecommendedShapley(ShapleyExplainer):
    """The recommended Shapley method: picks exact, gp, polyshap or kernel per call.

    The choice depends on the number of players d (features, or groups with ``groups=``), the
    budget and the measured cost of the model: exact when the budget covers every coalition;
    the Gaussian-process surrogate (``gp``) when its measured overhead on one row is small
    (≤ 50 ms) or no larger than the model's own time per row; PolySHAP when the budget
    supports third-order terms; KernelSHAP otherwise. The rule never looks at the answer.
    The choice and its reason are recorded in ``Explanation.params`` (``estimator``,
    ``reason``) and in a note; ``Explanation.method`` is ``"shapley"``.

    Parameters
    ----------
    model, background, budget, random_state : as for :class:`KernelShap`; every shared
        Shapley parameter (``groups``, ``baseline``, ``max_background``, ``tol``, …) is passed on.

    Examples
    --------
    >>> import numpy as np, leanlens
    >>> f = leanlens.as_model(lambda X: X @ np.arange(1.0, 6.0), n_features=5)
    >>> e = RecommendedShapley(f, background=np.zeros((1, 5)), random_state=0).explain(np.ones((1, 5)), target=0)
    >>> e.params["estimator"], np.round(e.values[0], 6).tolist()
    ('exact', [1.0, 2.0, 3.0, 4.0, 5.0])
    """

    max_players = 1000  # math.comb(d, d // 2) overflows a float past d = 1029

    name = "shapley"
    summary = "Recommended: picks exact, gp, polyshap or kernel from d, the budget and the model's cost."

    def _estimate(self, game: MaskingGame, budget: int | None, rng: np.random.Generator
                  ) -> tuple[np.ndarray, np.ndarray | None, list[str]]:
        """On a bare game (no model to time): exact, polyshap or kernel from d and the budget alone.

        ``explain`` goes through :meth:`_explain`, which can also weigh gp's measured overhead
        against the model's cost; a game gives no model call to time, so gp is not considered.
        """
        b = int(budget or self._budget(game.d))
        method, reason = choose_estimator(game.d, b, gp_available=False, gp_overhead=None, model_seconds_per_row=0.0)
        inner = EXPLAINERS[method](self.model, background=self.background, budget=b,
                                   random_state=self.random_state, **self.params)
        if not isinstance(inner, ShapleyExplainer):  # pragma: no cover - exact/polyshap/kernel all are
            raise InvalidInputError(f"The {method!r} estimator is not a Shapley estimator.")
        phi, stderr, notes = inner._estimate(game, None if method == "exact" else b, rng)
        return phi, stderr, [f"shapley chose {method}: {reason}", *notes]

    def _explain(self, model: BaseModel, X: np.ndarray, targets: np.ndarray | None) -> Explanation:
        self._check_params(model.n_features)
        groups, _ = self._players(model)
        d = model.n_features if groups is None else len(groups)
        self._check_size(d)
        budget = self._budget(d)
        bg = self._background(model).reshape(-1, model.n_features)
        n_bg = 1 if self._param("baseline", None) is not None else min(len(bg), int(self._param("max_background", 100)))
        row_cost = _seconds_per_model_row(model, bg)
        model_per_row = row_cost * budget * n_bg
        gp_available = _gp_class() is not None
        gp_overhead, pilot = None, None
        if gp_available and budget <= GP_PILOT_MAX_BUDGET and not (d <= MAX_EXACT_FEATURES and (1 << d) - 2 <= budget):
            gp_overhead, pilot = self._gp_pilot(model, X[:1], None if targets is None else targets[:1], budget, row_cost)
        method, reason = choose_estimator(d, budget, gp_available=gp_available, gp_overhead=gp_overhead,
                                          model_seconds_per_row=model_per_row)
        if gp_available and budget > GP_PILOT_MAX_BUDGET and method != "exact":
            reason = f"gp is not tried above a budget of {GP_PILOT_MAX_BUDGET} (O(m³) per row); " + reason.removeprefix(
                "gp is not available; ")
        cls = EXPLAINERS[method] if method != "gp" else _gp_class()
        if cls is None:  # pragma: no cover — gp_available was checked
            raise InvalidInputError("The 'gp' estimator is not installed.")
        if method == "gp" and pilot is not None and len(X) == 1:
            expl = pilot  # the pilot explained the only row already
        else:
            inner = cls(self.model, background=self.background, budget=None if method == "exact" else budget,
                        random_state=self.random_state, **self.params)
            with _one_blas_thread() if method == "gp" else contextlib.nullcontext():
                expl = inner._explain(model, X, targets)
        expl.method = self.name
        expl.params = {**expl.params, "budget": budget, "estimator": method, "reason": reason,
                       "seconds_per_model_row": row_cost}
        expl.notes = (f"shapley chose {method!r}: {reason}.", *expl.notes)
        return expl

    def _gp_pilot(self, model: BaseModel, X1: np.ndarray, t1: np.ndarray | None, budget: int,
                  row_cost: float) -> tuple[float | None, Explanation | None]:
        """gp's seconds per explained row excluding model calls, measured on one row (and that
        row's explanation)."""
        cls = _gp_class()
        if cls is None:
            return None, None
        try:
            start = time.perf_counter()
            with _one_blas_thread():
                e = cls(self.model, background=self.background, budget=budget, random_state=self.random_state,
                        **self.params)._explain(model, X1, t1)
            seconds = time.perf_counter() - start
        except InvalidInputError:
            return None, None
        return max(0.0, seconds - e.n_model_evals * row_cost), e


def _one_blas_thread() -> Any:
    """gp works on many small matrices: a multi-threaded BLAS only spins (several times
    slower on a busy machine)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def _gp_class() -> Any:
    if "gp" not in EXPLAINERS:
        import importlib

        try:
            importlib.import_module("leanlens.explain.shapley.gp")
        except ModuleNotFoundError as exc:
            if exc.name != "leanlens.explain.shapley.gp":
                raise
            return None
    return EXPLAINERS.get("gp")


def _seconds_per_model_row(model: BaseModel, bg: np.ndarray) -> float:
    """Measured seconds per model row on a batch of background rows (best of two calls)."""
    rows = bg[np.arange(COST_PROBE_ROWS) % len(bg)]
    best = float("inf")
    for _ in range(2):
        start = time.perf_counter()
        model.output(rows)
        best = min(best, time.perf_counter() - start)
    return best / len(rows)
