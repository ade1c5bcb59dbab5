"""``shapley``: the recommended Shapley method, which picks an estimator for the problem at hand.

The choice is a pure function of the number of players d, the budget, the number of
background rows and outputs, and the *cost class* of one model row (its process CPU time,
measured once on one batch of background rows, rounded to a half-decade so that noise does
not flip it).
Each estimator's overhead (its work outside model calls) comes from a cost model with
calibrated constants, never from timing an estimator on the user's rows, so the choice does
not depend on how busy the machine is while it is made.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
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

__all__ = ["Choice", "RecommendedShapley", "choose", "choose_estimator", "gp_fit_points", "model_cost_class",
           "overhead_allowance", "predicted_overhead"]

#: Rows of the one timed model call that measures the cost of a model row.
COST_PROBE_ROWS = 256

# -- the cost model ------------------------------------------------------------------------------
# Overhead = CPU milliseconds per explained row and output outside model calls, one BLAS thread.
#
# gp (per task; m = budget + 2 coalitions, p = min(max(128, 8·d), m) fit points):
#   GP_ROW_MS                             fixed work per task (Python and small-array overhead)
# + GP_FIT_MS · p³ / 1e6                   hyper-parameter fit (≈ 20 L-BFGS steps of p × p inverses)
# + GP_POSTERIOR_MS · m²(m/3 + 2d + 2) / 1e6   Cholesky of the m × m kernel matrix and its solves
# + GP_MAP_MS · m d² / 1e6                 the closed-form Shapley map of every coalition, the
#                                          kernel matrix and the leave-one-out variance
# Refitted (non-negative least squares on relative error) on 28 settings, d = 8…40, budget
# 10·d…2,000, 128 and 8·d fit points, 12 rows, a cheap numpy model, process CPU time
# (`python benchmarks/shapley.py --calibrate --methods gp`, benchmarks/results/shapley_calibration.md)
# at load 7.7–12.2 on 2026-12-04 05:02–05:19 UTC. CPU time moved little with load at the small
# settings (d = 16, budget 160: 22.1 ms measured, 23.0 from the quiet 2026-12-03 calibration), so
# the loaded grid stands in for a quiet one; the lead re-runs it quiet. The previous form
# (GP_FIT_MS · p²(p + d)) under-predicted d = 30 at 20·d–40·d by 1.36–1.37× and over-predicted
# 8·d fit points by 1.3–1.8× (d = 40, 320 points: 198 ms measured, 359 predicted); this one is
# within −26…+15 % of every point with d ≥ 12 (e.g. d = 30, 300: 85 ms measured, 94 predicted).
GP_ROW_MS = 8.35
GP_FIT_MS = 5.66
GP_POSTERIOR_MS = 0.0714
GP_MAP_MS = 21.9
#: gp's fit points: max(GP_FIT_POINTS, GP_FIT_POINTS_PER_PLAYER · d) by default (as
#: ``gp.default_fit_points``; a test keeps the two equal). When that is too dear for the allowance,
#: the chooser falls back to GP_FIT_POINTS (one shared length-scale above 25 players).
GP_FIT_POINTS = 128
GP_FIT_POINTS_PER_PLAYER = 8
#
# kernel / polyshap (per row): small-matrix numpy, O(pairs · terms²).
#   kernel   ≈ KERNEL_FIXED_MS + KERNEL_MS · pairs · d² / 1e6
#   polyshap ≈ kernel + POLY_MS · pairs · (d² + C(q, 3) + (d + k)²) / 1e6   (q = min(d, 16), k triples:
#              the first fit, the screening of candidate triples, the fit with triples)
# Measured in one process with gp (CPU time, one BLAS thread, 16 rows) under load 9–17, where
# gp read 2.4–7× its quiet figures, so these constants are rough: kernel 0.36–0.45 ms/row at
# d = 12–16, budgets 120–480, and ~1.5 ms at d = 30, budget 2,000; polyshap 1.0–2.2 ms at
# d = 12–16 and ~20 ms at d = 30, budget 2,000 (70 screened triples). Constants set at about
# half the loaded figures. They only decide polyshap against kernel, where a factor 2 moves
# the boundary by a factor 2 in model cost.
KERNEL_FIXED_MS = 0.2
KERNEL_MS = 1.0
POLY_MS = 1.0

# -- the rule ------------------------------------------------------------------------------------
#: Overhead per explained row the recommended method may always spend for accuracy (the
#: issue's limit: ≤ 50 ms per row at 40·d for d ≤ 16) …
OVERHEAD_ALLOWANCE_SECONDS = 0.05
#: … and above 16 players, as (d/16)^1.5 (50 ms × (d/16)^1.5: 128 ms at d = 30, 198 ms at d = 40).
#: gp's cost grows as d³ at a fixed budget multiple (m ∝ d, p = 8·d), so a linear allowance dropped
#: it exactly where it helps most; shap.KernelExplainer itself spends ≈ 100–150 ms per row outside
#: model calls at d = 30, budget 300 (benchmarks/results/shapley.json, loaded), so this is the
#: reference's own class of cost. Session 4 (× d/16) validated on held-out models (MLPs, GBC, RF;
#: d = 20–40, seeds 2401–2412); session 5 (× (d/16)^1.5, 8·d fit points) over 5 seeds on the same
#: held-out models and the benchmark's d = 30 cases: benchmarks/results/shapley_wide_seeds.md.
OVERHEAD_ALLOWANCE_PLAYERS = 16
OVERHEAD_ALLOWANCE_EXPONENT = 1.5
#: gp's median error is ≤ 0.4× KernelSHAP's at equal budget (held-out MLPs, d = 10–16, 10·d and
#: 40·d: 0.15/0.39 and 0.06/0.51), so KernelSHAP would need ≥ 2.5× the model calls to match:
#: gp may also spend up to 1.5× the model's own time per row.
GP_EXTRA_MODEL_TIME = 1.5
#: PolySHAP's gain over KernelSHAP is at most about that of doubling the budget (median 0.87 vs
#: 0.89 at 10·d, 0.45 vs 0.56 at 40·d), so it is worth its overhead only when that costs no
#: more than the model time and KernelSHAP's overhead of one more explanation (no allowance).
POLY_EXTRA_MODEL_TIME = 1.0
#: Above this budget gp is never chosen: O(m³) per row (the cost model predicts ≥ 0.2 s).
GP_MAX_BUDGET = 2000
#: Cost classes per decade of seconds per model row (2: half-decades, √10 ≈ 3.2× apart).
COST_CLASSES_PER_DECADE = 2


def model_cost_class(seconds_per_row: float) -> float:
    """The measured seconds per model row rounded to a half-decade (1e-6, 3.16e-6, 1e-5, …):
    the only model-dependent input of the choice, coarse so that load noise does not flip it."""
    if not seconds_per_row > 0:
        return 0.0
    k = round(COST_CLASSES_PER_DECADE * math.log10(seconds_per_row))
    return float(10.0 ** (k / COST_CLASSES_PER_DECADE))


def overhead_allowance(d: int) -> float:
    """Seconds per explained row the recommended method may always spend on gp's overhead:
    50 ms up to 16 players, then 50 ms × (d/16)^1.5."""
    return OVERHEAD_ALLOWANCE_SECONDS * max(1.0, d / OVERHEAD_ALLOWANCE_PLAYERS) ** OVERHEAD_ALLOWANCE_EXPONENT


def gp_fit_points(d: int) -> int:
    """gp's default fit points for d players: max(128, 8·d) (before the cap at budget + 2)."""
    return max(GP_FIT_POINTS, GP_FIT_POINTS_PER_PLAYER * d)


def predicted_overhead(method: str, d: int, budget: int, *, outputs: int = 1, fit_points: int | None = None) -> float:
    """Predicted seconds of work per explained row outside model calls (cost model above);
    ``outputs`` outputs explained at once cost ``outputs`` times one (one GP or solve each)."""
    m = budget + 2
    pairs = budget / 2
    if method == "exact":
        return 0.0
    if method == "gp":
        p = min(int(fit_points or gp_fit_points(d)), m)
        ms = GP_ROW_MS + (GP_FIT_MS * p**3 + GP_POSTERIOR_MS * m * m * (m / 3 + 2 * d + 2) + GP_MAP_MS * m * d * d) / 1e6
        return outputs * ms / 1e3
    kernel_ms = KERNEL_FIXED_MS + KERNEL_MS * pairs * d * d / 1e6
    if method == "kernel":
        return outputs * kernel_ms / 1e3
    if method == "polyshap":
        _, k, _ = choose_basis(d, budget)
        q = min(d, 16)
        ms = kernel_ms + POLY_MS * pairs * (d * d + math.comb(q, 3) + (d + k) ** 2) / 1e6
        return outputs * ms / 1e3
    raise InvalidInputError(f"No cost model for the {method!r} estimator.")


@dataclass(frozen=True)
class Choice:
    """What :func:`choose` picked: the estimator, why, and the parameters it runs with."""

    method: str
    reason: str
    params: dict[str, Any] = field(default_factory=dict)


def choose(d: int, budget: int, *, model_seconds_per_row: float = 0.0, outputs: int = 1,
           gp_available: bool = True) -> Choice:
    """The estimator for ``d`` players and ``budget`` coalitions per explained row, and why.

    ``model_seconds_per_row`` is the model's time per *explained* row (budget × background
    rows × the cost class of one model row; 0 when unknown); ``outputs`` the outputs explained
    at once (each is one more GP or solve). Deterministic in its arguments.

    1. exact, when the budget covers all 2^d − 2 coalitions (d ≤ 16): no error at no extra cost;
    2. gp, the most accurate per model call, when its predicted overhead per row is within
       max(50 ms × max(1, d/16)^1.5, 1.5 × the model's time per row) and the budget is ≤ 2,000 —
       with its default max(128, 8·d) fit points, or else (d > 16) with 128 fit points;
    3. polyshap, when the budget supports third-order terms and its extra overhead over
       KernelSHAP is no more than the model time plus KernelSHAP's overhead per row;
    4. kernel otherwise (polyshap's order-2 basis is KernelSHAP).
    """
    if d <= MAX_EXACT_FEATURES and (1 << d) - 2 <= budget:
        return Choice("exact", f"the budget ({budget}) covers all 2^{d} − 2 = {(1 << d) - 2} coalitions, so exact costs no more")
    notes = []
    if not gp_available:
        notes.append("gp is not available (needs scipy)")
    elif budget > GP_MAX_BUDGET:
        notes.append(f"gp is not used above a budget of {GP_MAX_BUDGET} (O(m³) per row)")
    else:
        allowance = overhead_allowance(d)
        limit = max(allowance, GP_EXTRA_MODEL_TIME * model_seconds_per_row)
        within = (f"within {limit * 1e3:.0f} ms/row (max of {allowance * 1e3:.0f} ms and {GP_EXTRA_MODEL_TIME} × the "
                  f"model's {model_seconds_per_row * 1e3:.2g} ms/row)")
        default = min(gp_fit_points(d), budget + 2)
        # the fallback keeps gp for wide inputs when the default fit is too dear (it must fit d + 4 points)
        options = [default] + ([GP_FIT_POINTS] if default > GP_FIT_POINTS >= d + 4 else [])
        costs = [predicted_overhead("gp", d, budget, outputs=outputs, fit_points=p) for p in options]
        if costs[0] <= limit:
            return Choice("gp", f"gp's predicted overhead ({costs[0] * 1e3:.0f} ms/row) is {within}")
        if len(options) > 1 and costs[1] <= limit:
            return Choice("gp", f"gp's predicted overhead with {options[1]} fit points ({costs[1] * 1e3:.0f} ms/row) is "
                          f"{within}; with its default {default} fit points it is {costs[0] * 1e3:.0f} ms/row",
                          {"fit_points": options[1]})
        notes.append(f"gp's predicted overhead ({costs[-1] * 1e3:.0f} ms/row"
                     + (f" with {options[-1]} fit points" if len(options) > 1 else "") + f") exceeds {limit * 1e3:.0f} ms/row")
    kind, k, _ = choose_basis(d, budget)
    if kind == "order2":
        notes.append(f"the budget ({budget}) is too small for third-order terms at d = {d}")
        return Choice("kernel", "; ".join(notes))
    poly = predicted_overhead("polyshap", d, budget, outputs=outputs)
    kern = predicted_overhead("kernel", d, budget, outputs=outputs)
    worth = POLY_EXTRA_MODEL_TIME * (model_seconds_per_row + kern)
    if poly - kern <= worth:
        notes.append(f"polyshap's extra overhead ({(poly - kern) * 1e3:.2g} ms/row, {k} triples) costs less than "
                     f"doubling KernelSHAP's budget ({worth * 1e3:.2g} ms/row)")
        return Choice("polyshap", "; ".join(notes))
    notes.append(f"polyshap's extra overhead ({(poly - kern) * 1e3:.2g} ms/row) exceeds the cost of doubling "
                 f"KernelSHAP's budget ({worth * 1e3:.2g} ms/row)")
    return Choice("kernel", "; ".join(notes))


def choose_estimator(d: int, budget: int, *, model_seconds_per_row: float = 0.0, outputs: int = 1,
                     gp_available: bool = True) -> tuple[str, str]:
    """``(method, reason)`` of :func:`choose` (its parameters left out)."""
    c = choose(d, budget, model_seconds_per_row=model_seconds_per_row, outputs=outputs, gp_available=gp_available)
    return c.method, c.reason


@register_explainer
class RecommendedShapley(ShapleyExplainer):
    """The recommended Shapley method: picks exact, gp, polyshap or kernel per call.

    The choice depends on the number of players d (features, or groups with ``groups=``), the
    budget, the background rows, the outputs explained and the cost class of one model row
    (measured once on a batch of background rows): exact when the budget covers every
    coalition; the Gaussian-process surrogate (``gp``) when its predicted overhead is at
    most 50 ms per row (× (d/16)^1.5 above 16 players) or 1.5× the model's own time per row; PolySHAP when its extra overhead
    costs less than doubling KernelSHAP's budget; KernelSHAP otherwise. Overheads come from a
    calibrated cost model (see :func:`predicted_overhead`), not from timing on the user's
    rows, so the rule is deterministic and never looks at the answer. The choice and its
    reason are recorded in ``Explanation.params`` (``estimator``, ``reason``,
    ``model_cost_class``) and in a note; ``Explanation.method`` is ``"shapley"``.

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

    def _inner(self, method: str, budget: int, extra: dict[str, Any] | None = None) -> ShapleyExplainer:
        params = {**self.params, **(extra or {})}
        if method == "gp":
            params.pop("tol", None)  # gp's cost is set by the budget alone (said in a note)
        cls = EXPLAINERS[method] if method != "gp" else _gp_class()
        if cls is None:  # pragma: no cover — gp_available was checked
            raise InvalidInputError("The 'gp' estimator is not installed.")
        inner = cls(self.model, background=self.background, budget=None if method == "exact" else budget,
                    random_state=self.random_state, **params)
        if not isinstance(inner, ShapleyExplainer):  # pragma: no cover - every choice is
            raise InvalidInputError(f"The {method!r} estimator is not a Shapley estimator.")
        return inner

    def _estimate(self, game: MaskingGame, budget: int | None, rng: np.random.Generator
                  ) -> tuple[np.ndarray, np.ndarray | None, list[str]]:
        """On a bare game (no model to time): the same rule with the model's cost unknown (0)."""
        b = int(budget or self._budget(game.d))
        c = choose(game.d, b, outputs=game.n_outputs, gp_available=_gp_class() is not None)
        phi, stderr, notes = self._inner(c.method, b, c.params)._estimate(game, None if c.method == "exact" else b, rng)
        return phi, stderr, [f"shapley chose {c.method}: {c.reason}", *notes]

    def _explain(self, model: BaseModel, X: np.ndarray, targets: np.ndarray | None) -> Explanation:
        self._check_params(model.n_features)
        groups, _ = self._players(model)
        d = model.n_features if groups is None else len(groups)
        self._check_size(d)
        budget = self._budget(d)
        bg = self._background(model).reshape(-1, model.n_features)
        n_bg = 1 if self._param("baseline", None) is not None else min(len(bg), int(self._param("max_background", 100)))
        outputs = 1 if targets is not None else int(model.n_outputs)
        exact = d <= MAX_EXACT_FEATURES and (1 << d) - 2 <= budget
        row_cost = 0.0 if exact else _seconds_per_model_row(model, bg)
        cost_class = model_cost_class(row_cost)
        c = choose(d, budget, model_seconds_per_row=cost_class * budget * n_bg, outputs=outputs,
                   gp_available=_gp_class() is not None)
        method, reason = c.method, c.reason
        expl = self._inner(method, budget, c.params)._explain(model, X, targets)
        expl.method = self.name
        predicted = predicted_overhead(method, d, budget, outputs=outputs, fit_points=c.params.get("fit_points"))
        expl.params = {**expl.params, "budget": budget, "estimator": method, "reason": reason,
                       "estimator_params": dict(c.params), "seconds_per_model_row": row_cost,
                       "model_cost_class": cost_class, "predicted_overhead_ms_per_row": round(1e3 * predicted, 3)}
        notes = [f"shapley chose {method!r}: {reason}."]
        if method == "gp" and self.params.get("tol") is not None:
            notes.append("'tol' is not used by gp (its cost is set by the budget).")
        expl.notes = (*notes, *expl.notes)
        return expl


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


#: fp32 multiply-accumulates per second of one core at batch 256, used to turn a model's own MAC
#: count into seconds per row without timing it: benchmarks/compression_int8.py measured 26–28 G
#: MAC/s for the torch fp32 digits and breast-cancer MLPs (2026-12-03); 25 G rounds down, and the
#: half-decade cost classes absorb a factor of 3 either way.
MACS_PER_SECOND = 25e9


def _seconds_per_model_row(model: BaseModel, bg: np.ndarray) -> float:
    """Seconds per model row. From the model's own MAC count when the backend knows it
    (torch: deterministic, so the choice cannot move with the machine's load); otherwise
    measured on one batch of background rows: process CPU time, best of three calls (the
    first also warms the model up).

    CPU time, not wall time: on a busy machine a call's wall time grows with every other job
    (a 256-row torch call read 30–100× its quiet time at load 30, which moved the cost class
    and made the chooser take gp at budget 2,000), while the work it does stays put."""
    macs = model.macs(batch=1)
    if macs:
        return float(macs) / MACS_PER_SECOND
    rows = bg[np.arange(COST_PROBE_ROWS) % len(bg)]
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        model.output(rows)
        best = min(best, time.process_time() - start)
    return max(best, 0.0) / len(rows)
