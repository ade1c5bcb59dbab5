"""LIME: local surrogate models fitted on perturbations (Ribeiro, Singh & Guestrin, KDD 2016).

Our own implementation, vectorized over rows: every row's perturbations go to the
model in one batch and the weighted ridge regressions are solved as one stacked
linear system.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from .._validation import (
    NON_NEGATIVE,
    POSITIVE,
    POSITIVE_INT,
    Each,
    InstanceOf,
    Interval,
    Options,
    check_param,
)
from ..errors import InvalidInputError
from .base import Explainer, register_explainer
from .explanation import Explanation

if TYPE_CHECKING:
    from ..models.base import BaseModel

__all__ = ["Lime", "weighted_ridge"]

_DEFAULT_SAMPLES = 1000
_CHUNK_VALUES = 4_000_000


def weighted_ridge(
    Z: np.ndarray, Y: np.ndarray, w: np.ndarray, *, alpha: float = 1.0, mask: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Solve many weighted ridge regressions at once (the intercept is not penalized).

    Parameters
    ----------
    Z : array of shape (n, m, p) — m samples of p features for each of n problems.
    Y : array of shape (n, m, k) — k responses.
    w : array of shape (n, m) — sample weights.
    alpha : ridge penalty on the coefficients.
    mask : optional bool array of shape (n, k, p); features outside it get coefficient 0.

    Returns
    -------
    coef : array of shape (n, p, k). intercept : array of shape (n, k).
    """
    wsum = w.sum(axis=1, keepdims=True)
    wn = w / np.where(wsum > 0, wsum, 1.0)
    zbar = np.matmul(wn[:, None, :], Z)[:, 0]
    ybar = np.matmul(wn[:, None, :], Y)[:, 0]
    Zc = Z - zbar[:, None, :]
    Zw = np.ascontiguousarray(np.swapaxes(Zc * wn[:, :, None], 1, 2))  # (n, p, m) for batched BLAS
    A = np.matmul(Zw, Zc)
    B = np.matmul(Zw, Y - ybar[:, None, :])
    p = Z.shape[2]
    # alpha is scaled by 1/m so its strength does not depend on the number of samples
    reg = (alpha / Z.shape[1]) * np.eye(p)
    if mask is None:
        coef = np.linalg.solve(A + reg, B)
    else:
        n, k = Y.shape[0], Y.shape[2]
        mm = mask.astype(np.float64)  # (n, k, p)
        Am = A[:, None] * mm[:, :, :, None] * mm[:, :, None, :] + reg
        Am = Am + np.eye(p) * (1.0 - mm)[:, :, :, None]
        Bm = np.transpose(B, (0, 2, 1)) * mm  # (n, k, p)
        coef = np.linalg.solve(Am, Bm[..., None])[..., 0].transpose(0, 2, 1)
        coef = coef.reshape(n, p, k)
    intercept = ybar - np.einsum("np,npk->nk", zbar, coef)
    return coef, intercept


@register_explainer
class Lime(Explainer):
    """LIME for tabular rows and for 8×8 digit images (square patches as superpixels).

    Tabular: perturbations are drawn from the training statistics of ``background``
    (Gaussian with its per-feature mean and spread, as in ``lime``'s
    ``LimeTabularExplainer``), or — with ``discretize=True`` — by redrawing each
    feature's quartile bin and a background value inside it. Each perturbation gets
    the exponential kernel weight ``√exp(-D²/width²)`` (D: distance to the row in
    standardized units, or √(number of changed bins)) and a weighted ridge is fitted
    per row and output.

    Continuous features: ``coef_`` holds the local slopes in the data's units and the
    attribution is ``φ_i = coef_i · (x_i − mean_i)`` (for a linear model this is its
    Shapley value), with ``base = surrogate(mean)``. Discretized: ``φ_i`` is the
    weight of "feature i is in the row's bin". Images: each patch is on or off (off
    = the background mean, or 0) and its weight is spread evenly over its pixels.
    In every case ``Σφ + base`` equals the local surrogate at the explained row.

    Parameters (``explain(..., method="lime", **params)``)
    ----------
    budget : perturbations per row (default 1000).
    num_features : keep only this many features per row and output (largest |weight|
        of the full fit), refit, and give the others 0. None keeps all.
    kernel_width : default ``0.75·√p`` (tabular, p features) or 0.25 (images, cosine
        distance), as in ``lime``.
    discretize : quartile bins from the background (tabular only).
    alpha : ridge penalty (default 1.0).
    mode : "auto" (image when the model's input is (c, h, w)), "tabular" or "image".
    patch : side of the square superpixels (default 2 → 16 patches on 8×8).
    image_shape : (h, w) to treat flat inputs as images (e.g. (8, 8) for ``digits``).

    Examples
    --------
    >>> import numpy as np, leanlens
    >>> from leanlens.explain import explain
    >>> f = leanlens.as_model(lambda X: X @ np.array([1.0, -2.0, 0.5]), n_features=3)
    >>> bg = np.random.default_rng(0).normal(size=(200, 3))
    >>> e = explain(f, bg[:2], method="lime", background=bg, random_state=0)
    >>> e.values.shape
    (2, 3, 1)
    """

    name: ClassVar[str] = "lime"
    summary: ClassVar[str] = (
        "LIME (Ribeiro et al. 2016): weighted ridge on local perturbations; tabular or image patches."
    )
    has_budget: ClassVar[bool] = True

    param_constraints: ClassVar = {
        "num_features": [None, POSITIVE_INT], "kernel_width": [None, POSITIVE], "discretize": InstanceOf(bool),
        "alpha": NON_NEGATIVE, "mode": Options(("auto", "tabular", "image")), "patch": POSITIVE_INT,
        "image_shape": [None, Each(POSITIVE_INT, min_len=2)],
    }

    # -- parameters ---------------------------------------------------------------
    def _options(self, model: BaseModel) -> dict[str, Any]:
        m = self.budget if self.budget is not None else _DEFAULT_SAMPLES
        check_param(m, Interval(int, 10), param="budget", owner="Lime (perturbations per row)")
        opts: dict[str, Any] = {
            "budget": int(m),
            "num_features": self.params.get("num_features"),
            "kernel_width": self.params.get("kernel_width"),
            "discretize": bool(self.params.get("discretize", False)),
            "alpha": float(self.params.get("alpha", 1.0)),
            "patch": int(self.params.get("patch", 2)),
        }
        mode = self.params.get("mode", "auto")
        image_shape = self.params.get("image_shape")
        if image_shape is None and len(model.input_shape) == 3:
            image_shape = model.input_shape[1:]
        if mode == "auto":
            mode = "image" if image_shape is not None else "tabular"
        if mode == "image":
            if image_shape is None:
                raise InvalidInputError("Lime mode='image' needs image inputs (c, h, w) or image_shape=(h, w).")
            image_shape = tuple(int(s) for s in image_shape)
            per_channel = model.n_features // int(np.prod(image_shape)) if np.prod(image_shape) else 0
            if len(image_shape) != 2 or per_channel * int(np.prod(image_shape)) != model.n_features:
                raise InvalidInputError(
                    f"The 'image_shape' parameter must be (h, w) with h·w dividing the {model.n_features} "
                    f"features. Got {image_shape!r}."
                )
            if not 1 <= opts["patch"] <= min(image_shape):
                raise InvalidInputError(f"The 'patch' parameter must be in [1, {min(image_shape)}]. Got {opts['patch']}.")
        opts["mode"] = mode
        opts["image_shape"] = image_shape
        return opts

    # -- computation --------------------------------------------------------------
    def _explain(self, model: BaseModel, X: np.ndarray, targets: np.ndarray | None) -> Explanation:
        opts = self._options(model)
        rng = np.random.default_rng(self.random_state)
        Xf = X.reshape(len(X), -1).astype(np.float64)
        notes: list[str] = []
        m = opts["budget"]
        run: Any
        if opts["mode"] == "image":
            bg = self._background(model).reshape(-1, model.n_features) if self.background is not None else None
            if bg is None:
                notes.append("No background: switched-off patches are set to 0.")
            run = self._image
        else:
            bg = self._background(model).reshape(-1, model.n_features).astype(np.float64)
            run = self._tabular
        # rows in chunks of about _CHUNK_VALUES perturbed values: bounded memory, still large batches
        step = max(1, _CHUNK_VALUES // (m * model.n_features))
        parts = [run(model, Xf[i : i + step], bg, opts, rng) for i in range(0, len(Xf), step)]
        values = np.concatenate([q[0] for q in parts])
        base = np.concatenate([q[1] for q in parts])
        coef = np.concatenate([q[2] for q in parts])
        p = parts[0][3]
        self.coef_ = coef if targets is None else coef[np.arange(len(X)), :, targets]
        params = {k: v for k, v in opts.items() if k != "image_shape"}
        params["image_shape"] = list(opts["image_shape"]) if opts["image_shape"] else None
        params["random_state"] = self.random_state
        params["n_interpretable_features"] = p
        expl = Explanation(
            values=values, base_values=base, data=Xf, feature_names=model.feature_names,
            output_names=model.output_names,
            method=self.name, params=params, n_model_evals=len(X) * m,
            input_shape=model.input_shape, notes=tuple(notes),
        )
        return expl if targets is None else expl.select(targets)

    def _tabular(
        self, model: BaseModel, X: np.ndarray, bg: np.ndarray, opts: dict[str, Any], rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        n, d = X.shape
        m = opts["budget"]
        mean = bg.mean(axis=0)
        spread = bg.std(axis=0)
        const = spread < 1e-12
        scale = np.where(const, 1.0, spread)
        width = opts["kernel_width"] or 0.75 * np.sqrt(d)
        if opts["discretize"]:
            Zs, Zint, dist = self._discretized_samples(X, bg, m, rng)
        else:
            # LIME's default: Gaussian around the training mean; the first sample is the row itself
            Zs = rng.standard_normal((n, m, d))
            Zs[:, 0, :] = (X - mean) / scale
            Zint = Zs
        # A feature without spread in the background cannot be perturbed in-distribution:
        # it keeps the row's value in every sample and gets no weight.
        Zs[:, :, const] = ((X - mean) / scale)[:, None, const]
        if not opts["discretize"]:
            dist = np.sqrt(((Zs - ((X - mean) / scale)[:, None, :]) ** 2).sum(axis=2))
        Zraw = Zs * scale + mean
        Y = model.output(Zraw.reshape(n * m, d).astype(np.float32)).reshape(n, m, -1)
        w = np.sqrt(np.exp(-(dist**2) / width**2))  # lime's exponential kernel
        coef, intercept = self._fit(Zint, Y, w, opts, allowed=~const)
        if opts["discretize"]:
            values = coef
            base = intercept
        else:
            coef = coef / scale[None, :, None]  # slopes in the data's own units
            values = coef * (X - mean)[:, :, None]
            base = intercept  # the standardized fit's intercept is the surrogate at the mean
        return values, base, coef, d

    def _discretized_samples(
        self, X: np.ndarray, bg: np.ndarray, m: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Redraw every feature's quartile bin (by its background frequency) and a background
        value inside it; return the standardized samples, the 0/1 "same bin as the row"
        representation, and the distances (√ number of changed bins)."""
        n, d = X.shape
        mean = bg.mean(axis=0)
        scale = bg.std(axis=0)
        scale = np.where(scale < 1e-12, 1.0, scale)
        edges = np.quantile(bg, [0.25, 0.5, 0.75], axis=0).T  # (d, 3)
        sorted_bg = np.sort(bg, axis=0)
        # background rows of each bin occupy a contiguous range of the sorted column
        bins_bg = np.stack([np.searchsorted(edges[j], sorted_bg[:, j], side="left") for j in range(d)], axis=1)
        row_bins = np.stack([np.searchsorted(edges[j], X[:, j], side="left") for j in range(d)], axis=1)
        pick = rng.integers(0, len(bg), size=(n, m, d))  # a random background value per feature…
        cols = np.broadcast_to(np.arange(d), (n, m, d))
        values = sorted_bg[pick, cols]
        drawn_bins = bins_bg[pick, cols]  # …whose bin follows the background bin frequencies
        values[:, 0, :] = X
        drawn_bins[:, 0, :] = row_bins
        same = (drawn_bins == row_bins[:, None, :]).astype(np.float64)
        dist = np.sqrt((1.0 - same).sum(axis=2))
        return (values - mean) / scale, same, dist

    def _image(
        self, model: BaseModel, X: np.ndarray, bg: np.ndarray | None, opts: dict[str, Any], rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        n, d = X.shape
        m = opts["budget"]
        h, w_ = opts["image_shape"]
        c = d // (h * w_)
        s = opts["patch"]
        seg = (np.arange(h)[:, None] // s) * (-(-w_ // s)) + (np.arange(w_)[None, :] // s)
        seg = np.broadcast_to(seg, (c, h, w_)).reshape(-1)  # (d,) patch id of every input value
        p = int(seg.max()) + 1
        fill = bg.mean(axis=0) if bg is not None else np.zeros(d)
        Z = (rng.random((n, m, p)) < 0.5).astype(np.float64)
        Z[:, 0, :] = 1.0
        on = Z[:, :, seg]  # (n, m, d)
        imgs = X[:, None, :] * on + fill[None, None, :] * (1.0 - on)
        Y = model.output(imgs.reshape((n * m, *model.input_shape)).astype(np.float32)).reshape(n, m, -1)
        # cosine distance between each mask and the all-on mask, as in lime's image explainer
        cos = Z.sum(axis=2) / (np.sqrt(p) * np.sqrt(np.maximum(Z.sum(axis=2), 1e-12)))
        dist = 1.0 - cos
        width = opts["kernel_width"] or 0.25
        weight = np.sqrt(np.exp(-(dist**2) / width**2))
        coef, intercept = self._fit(Z, Y, weight, opts)
        sizes = np.bincount(seg, minlength=p).astype(np.float64)
        values = coef[:, seg, :] / sizes[seg][None, :, None]
        return values, intercept, coef, p

    def _fit(
        self, Z: np.ndarray, Y: np.ndarray, w: np.ndarray, opts: dict[str, Any], *, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Weighted ridge per row and output; ``allowed`` (p,) bool: features that may get a weight."""
        nf = opts["num_features"]
        n, _, p = Z.shape
        k = Y.shape[2]
        if nf is not None and (isinstance(nf, bool) or not isinstance(nf, int | np.integer) or not 1 <= nf <= p):
            raise InvalidInputError(f"The 'num_features' parameter of Lime must be an int in [1, {p}]. Got {nf!r}.")
        base_mask = None
        if allowed is not None and not allowed.all():
            base_mask = np.broadcast_to(allowed, (n, k, p))
        coef, intercept = weighted_ridge(Z, Y, w, alpha=opts["alpha"], mask=base_mask)
        if nf is None or nf >= int(allowed.sum() if allowed is not None else p):
            return coef, intercept
        # "highest weights" selection of lime: the nf largest |coef| of the full fit, then refit
        order = np.argsort(-np.abs(coef), axis=1, kind="stable")[:, :nf, :]  # (n, nf, k)
        mask = np.zeros(coef.shape, dtype=bool)
        np.put_along_axis(mask, order, True, axis=1)
        return weighted_ridge(Z, Y, w, alpha=opts["alpha"], mask=mask.transpose(0, 2, 1))
