"""The thresholds and sizes of ``compare()``: one frozen, documented, round-tripping config."""

from __future__ import annotations

import dataclasses
from typing import ClassVar, Literal

from ..config import Config
from ..errors import ConfigError

__all__ = ["CompareConfig"]


@dataclasses.dataclass(frozen=True)
class CompareConfig(Config):
    """How ``leanlens.compare`` samples, measures and decides.

    Explanation drift of one explainer is the scale-free distance between the two
    models' explanations of the same rows (see :func:`leanlens.compare.drift.explanation_distance`)
    ``D = sqrt(mean_rows ‖φ̃_orig − φ̃_comp‖²)`` with ``φ̃ = φ / RMS(φ)``; the noise floor
    ``N`` is the same distance between two runs of the explainer (seeds ``s`` and ``s+1``)
    on the original model, and the drift ratio ``R = D / max(N, min_floor)``. The original
    is explained with seed ``s``, the compressed model with seed ``s+1``, so comparing a
    model with itself gives ``D = N`` exactly.

    A second statistic watches single features: the share shift
    ``F = max_i |s_comp,i − s_orig,i|`` with ``s_i = mean|φ_i| / Σ_j mean|φ_j|`` (a feature
    whose importance vanishes moves its whole share), its seed-to-seed noise ``F_N`` and
    ratio ``R_F = F / max(F_N, min_share_floor)``.

    Per explainer (95 % bootstrap intervals over rows, ``[lo, hi]``):

    - **changed** if ``R_lo ≥ changed_ratio`` and ``D_lo ≥ negligible_drift``, or
      ``R_F,lo ≥ changed_ratio`` and ``F_lo ≥ negligible_share``;
    - **same** if (``R_hi ≤ same_ratio`` or ``D_hi ≤ negligible_drift``) and
      (``R_F,hi ≤ same_ratio`` or ``F_hi ≤ negligible_share``) and the global top-k feature
      agreement did not drop by a whole feature more than between the two seeds;
    - otherwise **unclear**.

    Verdict: ``changed`` if any explainer reads changed or the decision flip rate's lower
    bound exceeds ``max_flip_rate``; ``same-reasons`` if every explainer reads same and
    the flip rate is ≤ ``max_flip_rate``; else ``inconclusive``.

    Parameters
    ----------
    n_rows : rows explained (taken from the test split; all rows if fewer).
    n_background : background rows (from the training split) the explainers mask with.
    k : top-k size of the agreement measures.
    budget : explainer budget passed to every explainer (coalitions per row for Shapley
        methods, steps for IG); None = each method's default.
    budgets : per-method budgets overriding ``budget``, e.g. ``{"kernel": 256, "ig": 32}``.
    n_bootstrap, confidence : bootstrap resamples and interval level.
    min_rows : fewest rows a bootstrap interval is computed from.
    same_ratio, changed_ratio : drift-ratio thresholds (see above).
    negligible_drift : a distance this small is never called a change (and always "same").
    min_floor : lower bound of the noise floor (deterministic explainers have N = 0).
    negligible_share : a share shift this small (3 percentage points) is never a change.
    min_share_floor : lower bound of the share-shift noise floor.
    max_flip_rate : share of rows whose decision may flip before the verdict is "changed".
    floor : which noise floor divides the drift: "seed" (two explainer seeds), or "max"
        of it and the retrained-copy floor when ``compare(..., retrained=...)`` is given.
    regression_flip_tolerance : a regression output "flips" when it moves by more than
        this many standard deviations of the original's outputs.
    surrogate_depth : depth of the surrogate decision trees.
    """

    config_name: ClassVar[str] = "compare"

    n_rows: int = 100
    n_background: int = 50
    k: int = 3
    budget: int | None = None
    budgets: dict[str, int] | None = None
    n_bootstrap: int = 200
    confidence: float = 0.95
    min_rows: int = 20
    same_ratio: float = 1.5
    changed_ratio: float = 2.5
    negligible_drift: float = 0.10
    min_floor: float = 0.05
    negligible_share: float = 0.03
    min_share_floor: float = 0.01
    max_flip_rate: float = 0.10
    floor: Literal["seed", "max"] = "seed"
    regression_flip_tolerance: float = 0.25
    surrogate_depth: int = 3

    def budget_of(self, method: str) -> int | None:
        """The budget ``method`` runs with: its entry in ``budgets``, else ``budget``."""
        return (self.budgets or {}).get(method, self.budget)

    def validate(self) -> None:
        for name in ("n_rows", "n_background", "k", "n_bootstrap", "min_rows", "surrogate_depth"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ConfigError(f"The {name!r} parameter of CompareConfig must be an int ≥ 1. Got {v!r} instead.")
        if self.min_rows < 2:
            raise ConfigError(f"The 'min_rows' parameter of CompareConfig must be ≥ 2. Got {self.min_rows!r}.")
        from ..limits import MAX_BACKGROUND, MAX_BUDGET, MAX_ROWS, check_count

        for name, high in (("n_rows", MAX_ROWS), ("n_background", MAX_BACKGROUND), ("n_bootstrap", 1_000_000),
                           ("min_rows", MAX_ROWS), ("k", 1_000_000), ("surrogate_depth", 1000)):
            check_count(getattr(self, name), param=name, high=high, owner="CompareConfig", error=ConfigError)
        for method, b in ({"": self.budget} | dict(self.budgets or {})).items():
            if isinstance(b, int) and not isinstance(b, bool) and b > MAX_BUDGET:
                raise ConfigError(f"The budget{' of ' + repr(method) if method else ''} in CompareConfig must be at most "
                                  f"{MAX_BUDGET:,}. Got {b:,}.")
        if self.budget is not None and (not isinstance(self.budget, int) or self.budget < 1):
            raise ConfigError(f"The 'budget' parameter of CompareConfig must be a positive int or None. Got {self.budget!r}.")
        if self.budgets is not None:
            if not isinstance(self.budgets, dict) or not all(
                    isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) and v >= 1
                    for k, v in self.budgets.items()):
                raise ConfigError(
                    "The 'budgets' parameter of CompareConfig must map method names to positive ints, "
                    f"e.g. {{'kernel': 256}}. Got {self.budgets!r}."
                )
        if not 0 < self.confidence < 1:
            raise ConfigError(f"The 'confidence' parameter of CompareConfig must be in (0, 1). Got {self.confidence!r}.")
        for name in ("same_ratio", "changed_ratio", "negligible_drift", "min_floor", "negligible_share",
                     "min_share_floor", "regression_flip_tolerance"):
            v = getattr(self, name)
            if not isinstance(v, int | float) or isinstance(v, bool) or v <= 0:
                raise ConfigError(f"The {name!r} parameter of CompareConfig must be a positive number. Got {v!r}.")
        if self.changed_ratio < self.same_ratio:
            raise ConfigError(
                f"CompareConfig needs changed_ratio ≥ same_ratio. Got changed_ratio={self.changed_ratio!r} "
                f"and same_ratio={self.same_ratio!r}."
            )
        if not 0 <= self.max_flip_rate <= 1:
            raise ConfigError(f"The 'max_flip_rate' parameter of CompareConfig must be in [0, 1]. Got {self.max_flip_rate!r}.")
        if self.floor not in ("seed", "max"):
            raise ConfigError(f"The 'floor' parameter of CompareConfig must be 'seed' or 'max'. Got {self.floor!r}.")
