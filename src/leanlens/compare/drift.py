"""The measurements behind ``compare()``: decision drift, explanation distance, surrogate trees, bootstrap.

Pure functions over arrays; ``compare()`` (in :mod:`leanlens.compare.core`) calls them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InvalidInputError

if TYPE_CHECKING:
    from ..models.base import BaseModel

__all__ = [
    "bootstrap",
    "decision_drift",
    "explanation_distance",
    "per_row_distance",
    "surrogate_drift",
]


def _rms_normalize(phi: np.ndarray) -> np.ndarray:
    rms = float(np.sqrt(np.mean(np.sum(phi**2, axis=1))))
    return phi / rms if rms > 1e-12 else phi


def per_row_distance(reference: np.ndarray, other: np.ndarray) -> np.ndarray:
    """Squared per-row distances ``‖φ̃_a − φ̃_b‖²`` after scaling each set to unit RMS row norm."""
    a, b = _rms_normalize(reference), _rms_normalize(other)
    return np.asarray(np.sum((a - b) ** 2, axis=1), dtype=np.float64)


def explanation_distance(reference: np.ndarray, other: np.ndarray) -> float:
    """Scale-free distance between two explanations of the same rows.

    ``D = sqrt(mean_i ‖φ̃_a,i − φ̃_b,i‖²)`` with ``φ̃ = φ / sqrt(mean_i ‖φ_i‖²)``: a relative L2
    distance pooled over rows, blind to a common rescaling of all attributions (e.g. a
    fine-tuned model with sharper probabilities). 0 for identical explanations, 2 for a
    negation; about 1.41 for unrelated ones.
    """
    return float(np.sqrt(np.mean(per_row_distance(reference, other))))


def bootstrap(
    stat: Callable[[np.ndarray], float],
    n: int,
    *,
    n_resamples: int,
    confidence: float,
    rng: np.random.Generator,
    min_rows: int,
) -> dict[str, float]:
    """Percentile bootstrap over rows: ``stat(idx)`` on resampled row indices → estimate, lo, hi."""
    if n < min_rows:
        raise InvalidInputError(
            f"A bootstrap interval needs at least {min_rows} rows (CompareConfig.min_rows); got {n}. "
            "Compare on more rows (n_rows / more test data) or lower min_rows."
        )
    est = stat(np.arange(n))
    idx = rng.integers(0, n, size=(n_resamples, n))
    samples = np.array([stat(i) for i in idx])
    samples = samples[np.isfinite(samples)]
    alpha = (1 - confidence) / 2
    lo, hi = (np.quantile(samples, [alpha, 1 - alpha]) if samples.size else (np.nan, np.nan))
    return {"value": float(est), "lo": float(lo), "hi": float(hi)}


def decision_drift(
    original: BaseModel,
    compressed: BaseModel,
    X: np.ndarray,
    y: np.ndarray | None,
    *,
    regression_tolerance: float,
) -> dict[str, Any]:
    """How the decisions changed on the rows X.

    Classifiers: prediction agreement, total-variation distance ``½ Σ_c |p_c − q_c|``
    (mean over rows), per-class accuracy change (needs ``y``), flipped rows. Regression:
    a row "flips" when its output moves by more than ``regression_tolerance`` standard
    deviations of the original outputs; mean absolute change in those units.
    """
    po, pc = original.output(X), compressed.output(X)
    out: dict[str, Any] = {}
    if original.task == "regression":
        sd = float(np.std(po[:, 0])) or 1.0
        change = np.abs(po[:, 0] - pc[:, 0]) / sd
        flipped = change > regression_tolerance
        out["mean_abs_change_sd"] = float(change.mean())
        out["tv_distance"] = None
        per_row_tv = change
    else:
        lo, lc = po.argmax(axis=1), pc.argmax(axis=1)
        flipped = lo != lc
        per_row_tv = 0.5 * np.abs(po - pc).sum(axis=1)
        out["tv_distance"] = float(per_row_tv.mean())
        if y is not None:
            yy = np.asarray(y).astype(np.int64)
            per_class = {}
            for c, name in enumerate(original.output_names):
                sel = yy == c
                if sel.any():
                    per_class[name] = {
                        "n": int(sel.sum()),
                        "accuracy_original": float((lo[sel] == c).mean()),
                        "accuracy_compressed": float((lc[sel] == c).mean()),
                        "change": float((lc[sel] == c).mean() - (lo[sel] == c).mean()),
                    }
            out["per_class_accuracy"] = per_class
            out["accuracy_original"] = float((lo == yy).mean())
            out["accuracy_compressed"] = float((lc == yy).mean())
    out["agreement"] = float(1 - flipped.mean())
    out["flip_rate"] = float(flipped.mean())
    out["flipped_rows"] = np.nonzero(flipped)[0].tolist()
    out["_flipped"] = flipped
    out["_per_row_tv"] = per_row_tv
    return out


def surrogate_drift(
    original: BaseModel,
    compressed: BaseModel,
    X_fit: np.ndarray,
    X_eval: np.ndarray,
    *,
    depth: int,
    random_state: int | None = None,
) -> dict[str, Any]:
    """Depth-``depth`` trees fit to each model's decisions on ``X_fit``, scored on ``X_eval``
    (both trees with one seed: ``random_state``, or one drawn when None).

    ``fidelity_original``: the original's tree against the original's decisions;
    ``fidelity_on_compressed``: the same tree against the compressed model's decisions
    (accuracy, or R² for regression); ``split_feature_overlap``: Jaccard overlap of the
    features the two trees split on.
    """
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    from .._validation import resolve_seed

    seed = resolve_seed(random_state, owner="surrogate_drift()")
    reg = original.task == "regression"

    def decisions(m: BaseModel, X: np.ndarray) -> np.ndarray:
        return m.predict(X)

    def fit(m: BaseModel) -> Any:
        tree = (DecisionTreeRegressor if reg else DecisionTreeClassifier)(max_depth=depth, random_state=seed)
        return tree.fit(X_fit.reshape(len(X_fit), -1), decisions(m, X_fit))

    def score(tree: Any, y: np.ndarray) -> float:
        pred = tree.predict(X_eval.reshape(len(X_eval), -1))
        if reg:
            ss = float(np.sum((y - y.mean()) ** 2)) or 1.0
            return float(1 - np.sum((y - pred) ** 2) / ss)
        return float(np.mean(pred == y))

    t_o, t_c = fit(original), fit(compressed)
    yo, yc = decisions(original, X_eval), decisions(compressed, X_eval)
    fo = {int(f) for f in t_o.tree_.feature if f >= 0}
    fc = {int(f) for f in t_c.tree_.feature if f >= 0}
    union = fo | fc
    return {
        "depth": depth,
        "fidelity_original": score(t_o, yo),
        "fidelity_on_compressed": score(t_o, yc),
        "fidelity_compressed_own": score(t_c, yc),
        "split_features_original": sorted(fo),
        "split_features_compressed": sorted(fc),
        "split_feature_overlap": float(len(fo & fc) / len(union)) if union else 1.0,
    }
