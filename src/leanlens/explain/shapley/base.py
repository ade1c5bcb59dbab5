"""The Shapley explainer shell: parameters and budget checks → masking game → estimate →
``Explanation``. Coalition sampling lives in :mod:`.sampling`, the constrained regression
in :mod:`.regression`."""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ...errors import InvalidInputError
from ..base import Explainer
from ..explanation import Explanation
from .game import MaskingGame, summarize_background
from .groups import GroupedGame, resolve_groups

if TYPE_CHECKING:
    from ...models.base import BaseModel

__all__ = [
    "DEFAULT_BATCH_ROWS",
    "DEFAULT_BUDGET_EXTRA",
    "DEFAULT_MAX_BACKGROUND",
    "RegressionShapley",
    "ShapleyExplainer",
    "default_budget",
    "student_t_factor",
]

#: A background larger than this is summarized by weighted k-means centres.
DEFAULT_MAX_BACKGROUND = 100
#: Model rows per call to ``model.output``.
DEFAULT_BATCH_ROWS = 1 << 18
#: Default budget = 2d + this many coalitions per explained row.
DEFAULT_BUDGET_EXTRA = 2048
#: Share of the budget a row spends on its pilot fit when ``tol`` is set.
PILOT_FRACTION_DENOMINATOR = 4
_SEED_BOUND = 2**31 - 1


#: t_{0.975, ν} for ν = 1..30 (beyond, the Cornish–Fisher expansion is accurate to < 1e-4).
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
         2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
         2.045, 2.042)
_Z975 = 1.959963984540054


def student_t_factor(dof: int) -> float:
    """t_{0.975, dof} / z_{0.975}: scales a standard error estimated from ``dof`` degrees of
    freedom so that φ̂ ± 1.96·SE is an honest 95% interval (few sampled units make the
    estimated spread itself uncertain). 1 when there is no spread to scale (dof ≤ 0)."""
    if dof <= 0:
        return 1.0
    if dof <= len(_T975):
        return _T975[dof - 1] / _Z975
    z, v = _Z975, float(dof)
    return (z + (z**3 + z) / (4 * v) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * v**2)) / z


def default_budget(d: int) -> int:
    """The budget used when none is given: 2d + 2048 coalitions per explained row."""
    return 2 * d + DEFAULT_BUDGET_EXTRA


class ShapleyExplainer(Explainer):
    """Shell shared by exact/kernel/leverage/permutation: background → game → estimate → result.

    Parameters (besides those of :class:`~leanlens.explain.Explainer`)
    ----------
    max_background : int, default 100
        A larger background is summarized by weighted k-means centres (with a note).
    baseline : "mean" | "median" | array of shape (d,), optional
        Play the single-baseline game against this row instead of the background average
        (``"mean"``/``"median"`` are taken over the background).
    batch_rows : int, default 262144
        Model rows per model call.
    """

    has_budget = True
    min_budget_extra = 2  # budget ≥ d + 2
    #: Method parameters a subclass accepts besides the shared ones; check them in ``_check_extra_params``.
    extra_params: ClassVar[tuple[str, ...]] = ()

    def _param(self, name: str, default: Any) -> Any:
        return self.params.get(name, default)

    def _check_params(self, d: int) -> None:
        known = {"max_background", "baseline", "batch_rows", "tol", "groups", *self.extra_params}
        unknown = set(self.params) - known
        if unknown:
            raise InvalidInputError(
                f"Unknown parameter(s) {sorted(unknown)} for the {self.name!r} explainer. Valid: {sorted(known)}."
            )
        mb = self._param("max_background", DEFAULT_MAX_BACKGROUND)
        if isinstance(mb, bool) or not isinstance(mb, int | np.integer) or mb < 1:
            raise InvalidInputError(f"The 'max_background' parameter must be a positive int. Got {mb!r}.")
        tol = self._param("tol", None)
        if tol is not None and (isinstance(tol, bool) or not isinstance(tol, int | float) or not tol > 0):
            raise InvalidInputError(f"The 'tol' parameter must be a positive number or None. Got {tol!r}.")
        self._check_extra_params(d)

    def _check_extra_params(self, d: int) -> None:
        """Validate the subclass's own parameters (``extra_params``); nothing by default."""

    def _budget(self, d: int) -> int:
        """The validated budget (coalitions per explained row, not counting ∅ and the full set)."""
        low = self._min_budget(d)
        if self.budget is None:
            return max(low, default_budget(d))
        if isinstance(self.budget, bool) or not isinstance(self.budget, int | np.integer) or self.budget < low:
            raise InvalidInputError(
                f"The 'budget' parameter of {type(self).__name__} must be an int ≥ {self._min_budget_text(d)} = {low} "
                f"(coalitions per explained row). Got {self.budget!r} instead."
            )
        return int(self.budget)

    def _min_budget(self, d: int) -> int:
        return d + self.min_budget_extra

    def _min_budget_text(self, d: int) -> str:
        return "d + 2"

    def _game(self, model: BaseModel, X: np.ndarray, targets: np.ndarray | None, rng: np.random.Generator
              ) -> tuple[MaskingGame, list[str]]:
        bg = self._background(model).reshape(-1, model.n_features)
        notes: list[str] = []
        baseline = self._param("baseline", None)
        weights = None
        if baseline is not None:
            bg = _baseline_row(baseline, bg, model.n_features)
        else:
            seed = int(rng.integers(_SEED_BOUND))
            bg, weights, note = summarize_background(bg, int(self._param("max_background", DEFAULT_MAX_BACKGROUND)), seed)
            if note:
                notes.append(note)
        game = MaskingGame(model, X.reshape(len(X), -1), bg, weights=weights, targets=targets,
                           batch_rows=int(self._param("batch_rows", DEFAULT_BATCH_ROWS)))
        return game, notes

    def _players(self, model: BaseModel) -> tuple[tuple[tuple[int, ...], ...] | None, tuple[str, ...]]:
        """The groups (None: every feature is a player) and the players' names."""
        spec = self._param("groups", None)
        if spec is None:
            return None, tuple(model.feature_names)
        return resolve_groups(spec, model.n_features, model.input_shape, model.feature_names)

    def _explain(self, model: BaseModel, X: np.ndarray, targets: np.ndarray | None) -> Explanation:
        self._check_params(model.n_features)
        groups, names = self._players(model)
        d = model.n_features if groups is None else len(groups)
        self._check_size(d)
        budget = self._budget(d) if self.has_budget else None
        rng = np.random.default_rng(self.random_state)
        game, notes = self._game(model, X, targets, rng)
        counter = game  # counts the model evaluations
        if groups is not None:
            game = GroupedGame(game, groups)
        described, described_notes = self._describe(d, budget)
        notes.extend(described_notes)
        phi, stderr, extra = self._estimate(game, budget, rng)
        notes.extend(extra)
        base = game.empty
        if targets is not None:
            phi, base = phi[:, :, 0], base[:, 0]
            stderr = None if stderr is None else stderr[:, :, 0]
        params = {"budget": budget, "background_rows": game.n_background,
                  "random_state": self.random_state, **self.params, **described}
        if isinstance(params.get("baseline"), np.ndarray):
            params["baseline"] = params["baseline"].tolist()
        if groups is not None:
            if isinstance(params.get("groups"), str):
                params["groups_spec"] = params["groups"]
            params["groups"] = [list(g) for g in groups]
        return Explanation(
            values=phi, base_values=base, data=X.reshape(len(X), -1), feature_names=names, groups=groups,
            output_names=model.output_names, method=self.name, params=params, stderr=stderr,
            targets=targets, n_model_evals=counter.n_evals, input_shape=model.input_shape, notes=tuple(notes),
        )

    def _describe(self, d: int, budget: int | None) -> tuple[dict[str, Any], list[str]]:
        """What the estimator will do for d features and this budget, recorded in
        ``Explanation.params`` (and notes); nothing by default. A pure function of its inputs."""
        return {}, []

    def _check_size(self, d: int) -> None:
        if d < 2:
            raise InvalidInputError(f"Shapley estimators need at least 2 features. Got d = {d}.")

    @abc.abstractmethod
    def _estimate(self, game: MaskingGame, budget: int | None, rng: np.random.Generator
                  ) -> tuple[np.ndarray, np.ndarray | None, list[str]]:
        """(φ, stderr or None, notes) for every row of the game."""


class RegressionShapley(ShapleyExplainer):
    """Shared by the regression estimators (kernel, leverage): the optional early stop.

    With ``tol`` set, a pilot quarter of the budget is spent on every row; rows whose
    largest standard error is below ``tol`` stop there, the others spend the rest of the
    budget on a second, independent estimate, averaged with the pilot in proportion to the
    coalitions each used (a convex combination keeps efficiency exact).
    """

    max_players = 1000  # math.comb(d, d // 2) overflows a float past d = 1029

    @abc.abstractmethod
    def _fit(self, game: MaskingGame, budget: int, rows: np.ndarray, rng: np.random.Generator
             ) -> tuple[np.ndarray, np.ndarray, bool]:
        """One regression fit on ``rows`` of the game."""

    def _estimate(self, game: MaskingGame, budget: int | None, rng: np.random.Generator
                  ) -> tuple[np.ndarray, np.ndarray | None, list[str]]:
        d = game.d
        m = int(budget or 0)
        if d < 62:
            m = min(m, (1 << d) - 2)
        rows = np.arange(game.n)
        tol = self.params.get("tol")
        low = self._min_budget(d)
        m1 = m // PILOT_FRACTION_DENOMINATOR
        if tol is None or m1 < low or m - m1 < low:
            phi, se, exact = self._fit(game, m, rows, rng)
            notes = [f"The budget covers all {m} coalitions: the values are exact."] if exact else []
            return phi, se, notes
        phi, se, exact = self._fit(game, m1, rows, rng)
        todo = rows[se.reshape(game.n, -1).max(axis=1) >= tol]
        if len(todo):
            phi2, se2, _ = self._fit(game, m - m1, todo, rng)
            a, b = m1 / m, (m - m1) / m
            phi[todo] = a * phi[todo] + b * phi2
            se[todo] = np.sqrt((a * se[todo]) ** 2 + (b * se2) ** 2)
        notes = [f"tol={tol}: {game.n - len(todo)} of {game.n} rows stopped after {m1} of {m} coalitions."]
        return phi, se, notes


def _baseline_row(baseline: Any, bg: np.ndarray, d: int) -> np.ndarray:
    if isinstance(baseline, str):
        if baseline == "mean":
            return bg.mean(axis=0, keepdims=True)
        if baseline == "median":
            return np.median(bg, axis=0, keepdims=True)
        raise InvalidInputError(f"The 'baseline' parameter must be 'mean', 'median' or a row of {d} values. Got {baseline!r}.")
    row = np.asarray(baseline, dtype=np.float32).reshape(-1)
    if row.size != d or not np.all(np.isfinite(row)):
        raise InvalidInputError(
            f"The 'baseline' parameter must be 'mean', 'median' or a finite row of {d} values. Got {row.size} values."
        )
    return row[None, :]
