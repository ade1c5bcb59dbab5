"""Agreement between two explanations of the same rows (the disagreement-problem set).

Krishna et al. (2022), "The Disagreement Problem in Explainable Machine Learning: A
Practitioner's Perspective", define the top-k measures below. With ``T_k(a)`` the k
features of largest ``|a_i|`` (ties broken by feature index) and ``r_a(i)`` the rank of
feature ``i`` in that order:

- feature agreement  ``FA = |T_k(a) ∩ T_k(b)| / k``
- rank agreement     ``RA = |{j ≤ k : T_k(a)_j = T_k(b)_j}| / k`` (same feature at the same rank)
- sign agreement     ``SA = |{i ∈ T_k(a) ∩ T_k(b) : sign a_i = sign b_i}| / k``
- signed rank agreement ``SRA = |{j ≤ k : same feature at rank j and same sign}| / k``
- rank correlation   Spearman's ρ between ``|a|`` and ``|b|`` over all features
- pairwise rank agreement: the fraction of feature pairs ``(i, j)`` ordered the same way
  by ``|a|`` and ``|b|``

and two magnitude measures: cosine similarity ``a·b / (‖a‖‖b‖)`` and relative L2 distance
``‖a − b‖ / ‖a‖`` (``a`` is the reference). Every function takes ``(n, d)`` arrays and returns
``(n,)`` per-row values; :func:`agreement` bundles them, per row and on global importance.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InvalidInputError

__all__ = [
    "AGREEMENT_MEASURES",
    "agreement",
    "as_rows",
    "cosine_similarity",
    "feature_agreement",
    "pairwise_rank_agreement",
    "rank_agreement",
    "rank_correlation",
    "relative_l2",
    "sign_agreement",
    "signed_rank_agreement",
    "top_k_indices",
]

_EPS = 1e-12


def as_rows(a: Any, b: Any | None = None, *, names: tuple[str, str] = ("a", "b")) -> tuple[np.ndarray, np.ndarray]:
    """Two attribution arrays as float64 ``(n, d)``; a 1-D vector counts as one row."""
    A = np.asarray(a, dtype=np.float64)
    B = np.asarray(a if b is None else b, dtype=np.float64)
    A = A.reshape(1, -1) if A.ndim == 1 else A
    B = B.reshape(1, -1) if B.ndim == 1 else B
    if A.ndim != 2 or A.shape != B.shape:
        raise InvalidInputError(
            f"The {names[0]!r} and {names[1]!r} attributions must both have shape (n_rows, n_features). "
            f"Got {A.shape} and {B.shape}."
        )
    return A, B


def _check_k(k: int, d: int) -> int:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k <= d:
        raise InvalidInputError(f"The 'k' parameter must be an int in [1, {d}] (the number of features). Got {k!r}.")
    return int(k)


def top_k_indices(a: np.ndarray, k: int) -> np.ndarray:
    """``(n, k)`` indices of the k largest ``|a|`` per row, largest first (stable ties)."""
    return np.argsort(-np.abs(a), axis=1, kind="stable")[:, :k]


def _membership(top: np.ndarray, d: int) -> np.ndarray:
    mask = np.zeros((top.shape[0], d), dtype=bool)
    np.put_along_axis(mask, top, True, axis=1)
    return mask


def feature_agreement(a: Any, b: Any, k: int = 3) -> np.ndarray:
    """``|T_k(a) ∩ T_k(b)| / k`` per row (Krishna et al. 2022)."""
    A, B = as_rows(a, b)
    k = _check_k(k, A.shape[1])
    both = _membership(top_k_indices(A, k), A.shape[1]) & _membership(top_k_indices(B, k), A.shape[1])
    return np.asarray(both.sum(axis=1) / k, dtype=np.float64)


def rank_agreement(a: Any, b: Any, k: int = 3) -> np.ndarray:
    """Fraction of the first k ranks held by the same feature in both (per row)."""
    A, B = as_rows(a, b)
    k = _check_k(k, A.shape[1])
    return np.asarray((top_k_indices(A, k) == top_k_indices(B, k)).mean(axis=1), dtype=np.float64)


def sign_agreement(a: Any, b: Any, k: int = 3) -> np.ndarray:
    """Fraction of k features in both top-k sets with the same sign (per row)."""
    A, B = as_rows(a, b)
    k = _check_k(k, A.shape[1])
    d = A.shape[1]
    both = _membership(top_k_indices(A, k), d) & _membership(top_k_indices(B, k), d)
    same = np.sign(A) == np.sign(B)
    return np.asarray((both & same).sum(axis=1) / k, dtype=np.float64)


def signed_rank_agreement(a: Any, b: Any, k: int = 3) -> np.ndarray:
    """Fraction of the first k ranks held by the same feature with the same sign (per row)."""
    A, B = as_rows(a, b)
    k = _check_k(k, A.shape[1])
    ta, tb = top_k_indices(A, k), top_k_indices(B, k)
    same_sign = np.sign(np.take_along_axis(A, ta, 1)) == np.sign(np.take_along_axis(B, ta, 1))
    return np.asarray(((ta == tb) & same_sign).mean(axis=1), dtype=np.float64)


def _ranks(x: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata

    return np.asarray(rankdata(x, axis=1), dtype=np.float64)


def rank_correlation(a: Any, b: Any) -> np.ndarray:
    """Spearman's ρ between ``|a|`` and ``|b|`` per row (1 when either row is constant and they are equal)."""
    A, B = as_rows(a, b)
    ra, rb = _ranks(np.abs(A)), _ranks(np.abs(B))
    ra -= ra.mean(axis=1, keepdims=True)
    rb -= rb.mean(axis=1, keepdims=True)
    num = (ra * rb).sum(axis=1)
    den = np.sqrt((ra**2).sum(axis=1) * (rb**2).sum(axis=1))
    equal = np.all(np.isclose(np.abs(A), np.abs(B)), axis=1)
    out = np.where(den > _EPS, num / np.maximum(den, _EPS), np.where(equal, 1.0, 0.0))
    return np.asarray(out, dtype=np.float64)


def pairwise_rank_agreement(a: Any, b: Any, features: Any = None) -> np.ndarray:
    """Fraction of feature pairs ``(i < j)`` ordered the same way by ``|a|`` and ``|b|`` (per row).

    A pair tied in one and not in the other counts as a disagreement. ``features``
    restricts the pairs to a subset of feature indices (Krishna et al.'s "features of
    interest"); default all.
    """
    A, B = as_rows(a, b)
    if features is not None:
        idx = np.asarray(features, dtype=np.int64).ravel()
        if idx.size < 2 or idx.min() < 0 or idx.max() >= A.shape[1]:
            raise InvalidInputError(
                f"The 'features' parameter must hold ≥ 2 feature indices in [0, {A.shape[1]}). Got {features!r}."
            )
        A, B = A[:, idx], B[:, idx]
    d = A.shape[1]
    if d < 2:
        return np.ones(A.shape[0])
    i, j = np.triu_indices(d, k=1)
    sa = np.sign(np.abs(A)[:, i] - np.abs(A)[:, j])
    sb = np.sign(np.abs(B)[:, i] - np.abs(B)[:, j])
    return np.asarray((sa == sb).mean(axis=1), dtype=np.float64)


def cosine_similarity(a: Any, b: Any) -> np.ndarray:
    """``a·b / (‖a‖‖b‖)`` per row; 1 for two zero rows, 0 when exactly one is zero."""
    A, B = as_rows(a, b)
    na, nb = np.linalg.norm(A, axis=1), np.linalg.norm(B, axis=1)
    num = (A * B).sum(axis=1)
    both_zero = (na < _EPS) & (nb < _EPS)
    out = np.where(both_zero, 1.0, num / np.maximum(na * nb, _EPS))
    return np.asarray(np.clip(out, -1.0, 1.0), dtype=np.float64)


def relative_l2(a: Any, b: Any) -> np.ndarray:
    """``‖a − b‖ / ‖a‖`` per row, ``a`` the reference (a zero reference row gives 0 if b is zero too, else ∞)."""
    A, B = as_rows(a, b)
    diff = np.linalg.norm(A - B, axis=1)
    na = np.linalg.norm(A, axis=1)
    out = np.where(na > _EPS, diff / np.maximum(na, _EPS), np.where(diff > _EPS, np.inf, 0.0))
    return np.asarray(out, dtype=np.float64)


AGREEMENT_MEASURES: tuple[str, ...] = (
    "feature_agreement", "rank_agreement", "sign_agreement", "signed_rank_agreement",
    "rank_correlation", "pairwise_rank_agreement", "cosine", "relative_l2",
)


def _all_measures(A: np.ndarray, B: np.ndarray, k: int) -> dict[str, np.ndarray]:
    return {
        "feature_agreement": feature_agreement(A, B, k),
        "rank_agreement": rank_agreement(A, B, k),
        "sign_agreement": sign_agreement(A, B, k),
        "signed_rank_agreement": signed_rank_agreement(A, B, k),
        "rank_correlation": rank_correlation(A, B),
        "pairwise_rank_agreement": pairwise_rank_agreement(A, B),
        "cosine": cosine_similarity(A, B),
        "relative_l2": relative_l2(A, B),
    }


def agreement(a: Any, b: Any, *, k: int = 3) -> dict[str, Any]:
    """Every agreement measure between two explanations of the same rows.

    Parameters
    ----------
    a, b : arrays of shape (n_rows, n_features) — or :class:`~leanlens.explain.Explanation`
        objects with one output (use ``explanation.output(j)`` first for multi-output ones).
        ``a`` is the reference of the relative L2 distance.
    k : the top-k size of the top-k measures.

    Returns
    -------
    dict with ``"per_row"`` (measure → (n,) array), ``"mean"`` (measure → float) and
    ``"global"`` (measure → float, computed on the global importances mean |φ|; the sign
    measures are per row only).

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array([[3.0, -2.0, 1.0, 0.0]])
    >>> agreement(a, -a, k=2)["mean"]["sign_agreement"]
    0.0
    """
    A = _values_of(a, "a")
    B = _values_of(b, "b")
    A, B = as_rows(A, B)
    k = _check_k(k, A.shape[1])
    per_row = _all_measures(A, B, k)
    ga, gb = np.abs(A).mean(axis=0, keepdims=True), np.abs(B).mean(axis=0, keepdims=True)
    # Sign measures stay per row: the sign of a mean attribution means little for centred features.
    glob = {name: float(v[0]) for name, v in _all_measures(ga, gb, k).items() if "sign" not in name}
    return {
        "k": k,
        "per_row": per_row,
        "mean": {name: float(np.mean(v)) for name, v in per_row.items()},
        "global": glob,
    }


def _values_of(x: Any, name: str) -> np.ndarray:
    values = getattr(x, "values", x)
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 3:
        raise InvalidInputError(
            f"The {name!r} explanation has several outputs (values of shape {arr.shape}); "
            "pick one with explanation.output(j)."
        )
    return arr
