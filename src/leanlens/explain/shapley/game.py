"""The masking game that every Shapley estimator plays: v_x(S) for many rows and coalitions.

For an explained row ``x`` and a coalition ``S`` (a boolean mask over the d features) the
interventional value is

    v_x(S) = Σ_j ω_j f(x_S, b_j,S̄)

— the features in ``S`` come from ``x``, the others from background row ``b_j`` with weight
``ω_j`` (uniform over the background, or k-means cluster sizes when the background was
summarized). A background of one row is the *baseline* game ``v_x(S) = f(x_S, b_S̄)``.
This is the game of Janzing, Minorics & Blöbaum (AISTATS 2020) and of
``shap.KernelExplainer`` / ``shap.maskers.Independent``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ...errors import InvalidInputError

if TYPE_CHECKING:
    from ...models.base import BaseModel

__all__ = ["MaskingGame", "summarize_background"]


class MaskingGame:
    """Interventional (or single-baseline) value function for ``n`` explained rows.

    Parameters
    ----------
    model : BaseModel
        The model whose ``output`` is explained.
    X : array of shape (n, d)
        The explained rows (flattened inputs).
    background : array of shape (b, d)
        Rows that stand for "feature absent"; one row gives the baseline game.
    weights : array of shape (b,), optional
        Background weights (summing to 1); uniform when None.
    targets : array of shape (n,) of int, optional
        The output explained for each row; None keeps all ``k`` outputs.
    batch_rows : int
        Model rows per call to ``model.output`` (coalitions × background rows are
        evaluated in batches of about this size).

    Attributes
    ----------
    full : array (n, K) — ``v_x(all features) = f(x)``. empty : array (n, K) — ``E_ω f(b)``.
    n_evals : int — model rows evaluated so far (coalitions × background rows).
    """

    def __init__(
        self,
        model: BaseModel,
        X: np.ndarray,
        background: np.ndarray,
        *,
        weights: np.ndarray | None = None,
        targets: np.ndarray | None = None,
        batch_rows: int = 1 << 18,
    ) -> None:
        self.model = model
        self.X = np.ascontiguousarray(np.asarray(X, dtype=np.float32).reshape(len(X), -1))
        self.background = np.ascontiguousarray(np.asarray(background, dtype=np.float32).reshape(len(background), -1))
        if self.background.shape[1] != self.X.shape[1]:
            raise InvalidInputError(
                f"The 'background' has {self.background.shape[1]} features per row; X has {self.X.shape[1]}."
            )
        b = len(self.background)
        self.weights = np.full(b, 1.0 / b) if weights is None else np.asarray(weights, dtype=np.float64) / np.sum(weights)
        self.targets = None if targets is None else np.asarray(targets, dtype=np.int64)
        self.batch_rows = int(batch_rows)
        self.n_evals = 0
        self.full = self._select(self._raw(self.X), np.arange(len(self.X)))
        bg_out = self._raw(self.background)  # (b, k)
        mean_bg = self.weights @ bg_out  # (k,)
        self.empty = self._select(np.broadcast_to(mean_bg, (len(self.X), len(mean_bg))), np.arange(len(self.X)))

    # -- shape facts -------------------------------------------------------------
    @property
    def n(self) -> int:
        return int(self.X.shape[0])

    @property
    def d(self) -> int:
        return int(self.X.shape[1])

    @property
    def n_background(self) -> int:
        return int(self.background.shape[0])

    @property
    def n_outputs(self) -> int:
        return int(self.full.shape[1])

    # -- evaluation ----------------------------------------------------------------
    def _raw(self, rows: np.ndarray) -> np.ndarray:
        self.n_evals += len(rows)
        out = np.asarray(self.model.output(rows), dtype=np.float64)
        return out.reshape(len(rows), -1)

    def _select(self, out: np.ndarray, row_idx: np.ndarray) -> np.ndarray:
        """(P, k) outputs → (P, K): the target column per row, or all columns."""
        if self.targets is None:
            return np.array(out, dtype=np.float64)
        return np.asarray(out[np.arange(len(out)), self.targets[row_idx]], dtype=np.float64)[:, None]

    def __call__(self, masks: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """Values of the coalitions ``masks`` for every explained row.

        Parameters
        ----------
        masks : bool array of shape (m, d) (same coalitions for every row) or (n, m, d)
            (one set per row); True = the feature comes from the explained row.
        rows : int array of shape (n',), optional
            Evaluate only these explained rows (``masks`` then has n' rows when 3-D).

        Returns
        -------
        array of shape (n', m, K) — v_x(S) per row and coalition.
        """
        row_idx = np.arange(self.n) if rows is None else np.asarray(rows, dtype=np.int64)
        n, d = len(row_idx), self.d
        masks = np.asarray(masks, dtype=bool)
        if masks.ndim == 2:
            masks = np.broadcast_to(masks, (n, *masks.shape))
        m = masks.shape[1]
        if masks.shape != (n, m, d):
            raise InvalidInputError(f"Coalition masks must be (m, {d}) or ({n}, m, {d}). Got {masks.shape}.")
        b = self.n_background
        flat = masks.reshape(n * m, d)
        pair_row = np.repeat(row_idx, m)
        out = np.empty((n * m, self.n_outputs))
        step = max(1, self.batch_rows // b)
        for start in range(0, n * m, step):
            stop = min(n * m, start + step)
            mk = flat[start:stop]
            xs = self.X[pair_row[start:stop]]
            # (P, b, d): coalition features from x, the rest from each background row.
            inputs = np.where(mk[:, None, :], xs[:, None, :], self.background[None, :, :])
            raw = self._raw(inputs.reshape(-1, d)).reshape(stop - start, b, -1)
            avg = np.einsum("pbk,b->pk", raw, self.weights)
            out[start:stop] = self._select(avg, pair_row[start:stop])
        return out.reshape(n, m, self.n_outputs)


def summarize_background(
    background: np.ndarray, max_rows: int, random_state: int | None
) -> tuple[np.ndarray, np.ndarray | None, str | None]:
    """Shrink a large background to ``max_rows`` weighted k-means centres.

    Returns ``(rows, weights, note)``: the background unchanged (weights None, note None)
    when it has at most ``max_rows`` rows; otherwise the centres, their cluster shares and a
    note for ``Explanation.notes``. Centres are averages, so the summarized game only
    approximates the one over the full background (as ``shap.kmeans`` does).
    """
    if len(background) <= max_rows:
        return background, None, None
    from sklearn.cluster import KMeans

    flat = background.reshape(len(background), -1).astype(np.float64)
    km = KMeans(n_clusters=max_rows, n_init=1, random_state=random_state).fit(flat)
    counts = np.bincount(km.labels_, minlength=max_rows).astype(np.float64)
    keep = counts > 0
    centres = km.cluster_centers_[keep].astype(np.float32)
    note = (
        f"The background of {len(background)} rows was summarized by k-means to {int(keep.sum())} "
        f"weighted centres (max_background={max_rows}); pass a smaller background or raise "
        "max_background to use every row."
    )
    return centres, counts[keep] / counts.sum(), note
