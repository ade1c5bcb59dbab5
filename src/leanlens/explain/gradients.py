"""Gradient attributions for torch models through Captum.

Integrated Gradients (Sundararajan, Taly & Yan, ICML 2017), Saliency (Simonyan,
Vedaldi & Zisserman, 2014), Input×Gradient (Shrikumar et al., 2016), GradientSHAP
(Lundberg & Lee, NeurIPS 2017) and DeepLift (Shrikumar, Greenside & Kundaje,
ICML 2017). They explain the model's *probabilities* (values for regression), the
same output the model-agnostic methods explain, via ``TorchModel.forward_output``.
"""

from __future__ import annotations

import abc
import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
import torch
from torch import nn

from ..errors import InvalidInputError
from .base import Explainer, register_explainer
from .explanation import Explanation

if TYPE_CHECKING:
    from ..models.base import BaseModel
    from ..models.torch_model import TorchModel

__all__ = ["DeepLift", "GradientShap", "InputXGradient", "IntegratedGradients", "Saliency"]

Baseline = Literal["zeros", "mean", "background"]
BASELINES: tuple[str, ...] = ("zeros", "mean", "background")
_CHUNK_VALUES = 8_000_000


class _Output(nn.Module):
    """The model's explained output as an ``nn.Module`` (what Captum attributes)."""

    def __init__(self, model: TorchModel) -> None:
        super().__init__()
        self.model = model
        self.net = model.module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.forward_output(x)


def _head(model: TorchModel, z: torch.Tensor) -> torch.Tensor:
    """The map from the network's raw output ``z`` to the explained output (as in ``forward_output``)."""
    if model.output_kind == "logits" and model.task != "regression":
        if z.shape[1] == 1:
            p = torch.sigmoid(z)
            return torch.cat([1 - p, p], dim=1)
        return torch.softmax(z, dim=1)
    return z


class _GradientExplainer(Explainer):
    """Shared machinery: baselines, per-output loop, Explanation assembly."""

    model_agnostic: ClassVar[bool] = False
    needs_background: ClassVar[bool] = False
    additive: ClassVar[bool] = True
    _delta_hint: ClassVar[str] = "more integration steps (n_steps) make it smaller."
    _per_row_baselines: ClassVar[bool] = True  # False: the baselines are one shared distribution
    _options: ClassVar[frozenset[str]] = frozenset({"baseline"})

    def _check_params(self) -> None:
        unknown = set(self.params) - self._options
        if unknown:
            raise InvalidInputError(
                f"Unknown parameter(s) {sorted(unknown)} for the {self.name!r} method. Valid: {sorted(self._options)}."
            )

    def _baseline_kind(self) -> str:
        kind = self.params.get("baseline")
        if kind is None:
            return "mean" if self.background is not None else "zeros"
        if kind not in BASELINES:
            raise InvalidInputError(
                f"The 'baseline' parameter of {self.name!r} must be one of {list(BASELINES)}. Got {kind!r}."
            )
        return str(kind)

    def _baselines(self, model: BaseModel, X: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, str]:
        """One baseline row per explained row, shape of X."""
        kind = self._baseline_kind()
        if kind == "zeros":
            return np.zeros_like(X), kind
        bg = self._background(model)
        if kind == "mean":
            return np.broadcast_to(bg.mean(axis=0), X.shape).astype(np.float32).copy(), kind
        return bg[rng.integers(0, len(bg), size=len(X))], kind

    def _explain(self, model: BaseModel, X: np.ndarray, targets: np.ndarray | None) -> Explanation:
        self._check_params()
        self._notes: list[str] = []
        rng = np.random.default_rng(self.random_state)
        tmodel: TorchModel = model  # type: ignore[assignment]
        x = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
        base_rows, kind = self._baselines(model, X, rng)
        b = torch.from_numpy(np.ascontiguousarray(base_rows, dtype=np.float32))
        k = model.n_outputs
        outs = range(k) if targets is None else [None]
        seed = int(rng.integers(0, 2**31 - 1))
        # rows in chunks so that the expanded inputs (rows × steps or samples) stay bounded
        step = max(1, _CHUNK_VALUES // (self._evals_per_row() * model.n_features))
        chunks = [slice(i, i + step) for i in range(0, len(X), step)]
        vals: list[list[np.ndarray]] = [[] for _ in outs]
        deltas: list[list[np.ndarray]] = [[] for _ in outs]
        tmodel.module.eval()
        with torch.random.fork_rng(devices=[]), _forked_numpy_global_rng(seed):
            torch.manual_seed(seed)
            for c in chunks:
                xc, bc = x[c].clone().requires_grad_(), (b[c] if self._per_row_baselines else b)
                for o, j in enumerate(outs):
                    tgt: Any = j if j is not None else torch.from_numpy(np.asarray(targets)[c])
                    attr, delta = self._attribute(tmodel, xc, bc, tgt)
                    vals[o].append(attr.detach().double().numpy().reshape(len(xc), -1))
                    if delta is not None:
                        deltas[o].append(delta.detach().double().numpy().reshape(len(xc)))
        per_out = [np.concatenate(v) for v in vals]
        deltas = [[np.concatenate(dl)] for dl in deltas if dl]
        values = np.stack(per_out, axis=2) if targets is None else per_out[0]
        base_all = self._base_values(tmodel, base_rows)  # (n, k)
        rows = np.arange(len(X))
        base = base_all if targets is None else base_all[rows, targets]
        params: dict[str, Any] = {**self._record(), "baseline": kind, "random_state": self.random_state}
        notes = list(self._notes)
        if deltas:
            delta_arr = np.stack([dl[0] for dl in deltas], axis=1) if targets is None else deltas[0][0]
            self.delta_ = delta_arr
            fx = model.output(X)
            fx = fx if targets is None else fx[rows, targets]
            gap = np.abs(fx - base).sum()
            params["completeness_delta_max"] = float(np.abs(delta_arr).max())
            params["completeness_delta_rel"] = float(np.abs(delta_arr).sum() / gap) if gap > 0 else 0.0
            if params["completeness_delta_rel"] > 0.01:
                notes.append(
                    f"Σφ misses f(x) − f(baseline) by {params['completeness_delta_rel']:.1%} in total "
                    f"(max {params['completeness_delta_max']:.3g}); {self._delta_hint}"
                )
        if not self.additive:
            notes.append(f"{self.name} attributions are not additive: Σφ + base ≠ f(x) in general.")
        return Explanation(
            values=values, base_values=base, data=X.reshape(len(X), -1), feature_names=model.feature_names,
            output_names=model.output_names, method=self.name, params=params, targets=targets,
            n_model_evals=len(X) * self._evals_per_row() * len(outs), input_shape=model.input_shape,
            notes=tuple(notes),
        )

    def _base_values(self, model: TorchModel, base_rows: np.ndarray) -> np.ndarray:
        return model.output(base_rows)

    def _record(self) -> dict[str, Any]:
        return {}

    def _evals_per_row(self) -> int:
        return 1

    @abc.abstractmethod
    def _attribute(
        self, model: TorchModel, x: torch.Tensor, b: torch.Tensor, target: Any
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(attributions, completeness delta or None) from the Captum method."""


@contextlib.contextmanager
def _forked_numpy_global_rng(seed: int) -> Iterator[None]:
    """Seed NumPy's legacy global RNG for the block and restore its state afterwards.

    Captum's GradientShap draws its path points with ``np.random.uniform``; this makes
    it follow ``random_state`` without changing the caller's global stream (the NumPy
    counterpart of ``torch.random.fork_rng``).
    """
    state = np.random.get_state()  # noqa: NPY002
    np.random.seed(seed)  # noqa: NPY002 - restored below; Captum reads only the global RNG
    try:
        yield
    finally:
        np.random.set_state(state)  # noqa: NPY002


def _positive_int(name: str, method: str, value: Any, default: int) -> int:
    v = default if value is None else value
    if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
        raise InvalidInputError(f"The {name!r} parameter of {method!r} must be a positive int. Got {v!r}.")
    return int(v)


@register_explainer
class IntegratedGradients(_GradientExplainer):
    """Integrated Gradients (Sundararajan et al., ICML 2017): the path integral of the
    gradient from a baseline to the row (Gauss–Legendre, ``n_steps``, default 64; ``budget``
    is taken as ``n_steps`` when given). Completeness Σφ = f(x) − f(baseline) holds up to
    the integration error, recorded as ``params['completeness_delta_max']`` (absolute) and
    ``params['completeness_delta_rel']`` (Σ|δ| / Σ|f(x) − f(x')|); per row in ``delta_``.

    Examples
    --------
    >>> import numpy as np, torch, leanlens
    >>> from leanlens.explain import explain
    >>> net = torch.nn.Linear(3, 1)
    >>> _ = torch.nn.init.ones_(net.weight), torch.nn.init.zeros_(net.bias)
    >>> m = leanlens.as_model(net, task="regression", output="values")
    >>> e = explain(m, np.array([[1.0, 2.0, 3.0]]), method="ig", baseline="zeros")
    >>> np.round(e.values[0, :, 0], 4).tolist()  # w_i · (x_i − 0) for a linear model
    [1.0, 2.0, 3.0]
    """

    name: ClassVar[str] = "ig"
    summary: ClassVar[str] = "Integrated Gradients (Sundararajan et al. 2017), Captum; torch models; completeness delta recorded."
    has_budget: ClassVar[bool] = True
    _options: ClassVar[frozenset[str]] = frozenset({"baseline", "n_steps", "internal_batch_size"})

    def _steps(self) -> int:
        return _positive_int("n_steps", self.name, self.params.get("n_steps", self.budget), 64)

    def _record(self) -> dict[str, Any]:
        return {"n_steps": self._steps()}

    def _evals_per_row(self) -> int:
        return self._steps()

    def _attribute(self, model: TorchModel, x: torch.Tensor, b: torch.Tensor, target: Any) -> tuple[torch.Tensor, torch.Tensor | None]:
        from captum.attr import IntegratedGradients as _IG

        ibs = _positive_int("internal_batch_size", self.name, self.params.get("internal_batch_size"), 4096)
        attr, delta = _IG(_Output(model)).attribute(
            x, baselines=b, target=target, n_steps=self._steps(), internal_batch_size=ibs,
            return_convergence_delta=True,
        )
        return attr, delta


@register_explainer
class Saliency(_GradientExplainer):
    """Saliency (Simonyan et al., 2014): |∂f/∂x| at the row. Not additive; ``base_values`` is 0."""

    name: ClassVar[str] = "saliency"
    summary: ClassVar[str] = "Saliency (Simonyan et al. 2014): absolute gradient, Captum; torch models; not additive."
    additive: ClassVar[bool] = False
    _options: ClassVar[frozenset[str]] = frozenset({"abs"})

    def _baseline_kind(self) -> str:
        return "zeros"

    def _base_values(self, model: TorchModel, base_rows: np.ndarray) -> np.ndarray:
        return np.zeros((len(base_rows), model.n_outputs))

    def _record(self) -> dict[str, Any]:
        return {"abs": bool(self.params.get("abs", True))}

    def _attribute(self, model: TorchModel, x: torch.Tensor, b: torch.Tensor, target: Any) -> tuple[torch.Tensor, torch.Tensor | None]:
        from captum.attr import Saliency as _Saliency

        return _Saliency(_Output(model)).attribute(x, target=target, abs=bool(self.params.get("abs", True))), None


@register_explainer
class InputXGradient(_GradientExplainer):
    """Input×Gradient (Shrikumar et al., 2016): x · ∂f/∂x. Additive only for linear models;
    ``base_values`` is f(0)."""

    name: ClassVar[str] = "input_x_gradient"
    summary: ClassVar[str] = "Input×Gradient (Shrikumar et al. 2016), Captum; torch models; not additive."
    additive: ClassVar[bool] = False
    _options: ClassVar[frozenset[str]] = frozenset()

    def _baseline_kind(self) -> str:
        return "zeros"

    def _attribute(self, model: TorchModel, x: torch.Tensor, b: torch.Tensor, target: Any) -> tuple[torch.Tensor, torch.Tensor | None]:
        from captum.attr import InputXGradient as _IxG

        return _IxG(_Output(model)).attribute(x, target=target), None


@register_explainer
class GradientShap(_GradientExplainer):
    """GradientSHAP (Lundberg & Lee, NeurIPS 2017; expected gradients): IG from baselines
    drawn from the background, at random points of the path with Gaussian noise
    (``n_samples`` per row, default 50, or ``budget``; ``stdevs`` default 0). Satisfies
    completeness in expectation against the mean output of the background."""

    name: ClassVar[str] = "gradient_shap"
    summary: ClassVar[str] = "GradientSHAP / expected gradients (Lundberg & Lee 2017), Captum; torch models."
    has_budget: ClassVar[bool] = True
    _per_row_baselines: ClassVar[bool] = False
    _options: ClassVar[frozenset[str]] = frozenset({"baseline", "n_samples", "stdevs", "max_background"})

    def _samples(self) -> int:
        return _positive_int("n_samples", self.name, self.params.get("n_samples", self.budget), 50)

    def _baselines(self, model: BaseModel, X: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, str]:
        kind = self.params.get("baseline") or ("background" if self.background is not None else "zeros")
        if kind not in BASELINES:
            raise InvalidInputError(
                f"The 'baseline' parameter of {self.name!r} must be one of {list(BASELINES)}. Got {kind!r}."
            )
        if kind == "zeros":
            return np.zeros((1, *X.shape[1:]), dtype=np.float32), kind
        bg = self._background(model)
        if kind == "mean":
            return bg.mean(axis=0, keepdims=True), kind
        cap = _positive_int("max_background", self.name, self.params.get("max_background"), 100)
        if len(bg) > cap:
            bg = bg[np.sort(rng.choice(len(bg), size=cap, replace=False))]
            self._notes.append(f"Background subsampled at random to {cap} rows (max_background).")
        return bg, kind

    def _base_values(self, model: TorchModel, base_rows: np.ndarray) -> np.ndarray:
        return np.broadcast_to(model.output(base_rows).mean(axis=0), (self._n_rows, model.n_outputs)).copy()

    def _explain(self, model: BaseModel, X: np.ndarray, targets: np.ndarray | None) -> Explanation:
        self._n_rows = len(X)
        return super()._explain(model, X, targets)

    def _record(self) -> dict[str, Any]:
        return {"n_samples": self._samples(), "stdevs": float(self.params.get("stdevs", 0.0))}

    def _evals_per_row(self) -> int:
        return self._samples()

    def _attribute(self, model: TorchModel, x: torch.Tensor, b: torch.Tensor, target: Any) -> tuple[torch.Tensor, torch.Tensor | None]:
        from captum.attr import GradientShap as _GS

        return _GS(_Output(model)).attribute(
            x, baselines=b, n_samples=self._samples(), stdevs=float(self.params.get("stdevs", 0.0)), target=target
        ), None


@register_explainer
class DeepLift(_GradientExplainer):
    """DeepLift, Rescale rule (Shrikumar et al., ICML 2017), explaining probabilities.

    Captum's DeepLift attributes each raw network output (logit) ``z_l`` exactly
    (summation-to-delta). Its rule for a softmax module breaks that property, so the
    softmax/sigmoid head is chained instead with its path-averaged Jacobian
    ``M = ∫ ∂p/∂z (z' + t(z − z')) dt`` (Gauss–Legendre, ``n_steps`` nodes, default 64):
    ``φ_j = Σ_l M_jl · C_l``, hence ``Σφ_j = p_j(x) − p_j(x')`` up to that
    one-dimensional integration error (recorded as for IG) — for networks of Linear,
    Conv and ReLU-like layers. Captum's rule for max-pooling is not exactly
    conservative: with ``MaxPool2d`` the recorded delta (and a note) says how far off it is.
    """
    _delta_hint: ClassVar[str] = "Captum's DeepLift rules are approximate for layers such as MaxPool2d."

    name: ClassVar[str] = "deeplift"
    summary: ClassVar[str] = "DeepLift rescale rule (Shrikumar et al. 2017), Captum; torch models; summation-to-delta."
    _options: ClassVar[frozenset[str]] = frozenset({"baseline", "n_steps"})

    def _explain(self, model: BaseModel, X: np.ndarray, targets: np.ndarray | None) -> Explanation:
        self._full: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None
        return super()._explain(model, X, targets)

    def _attribute(self, model: TorchModel, x: torch.Tensor, b: torch.Tensor, target: Any) -> tuple[torch.Tensor, torch.Tensor | None]:
        if self._full is None or self._full[0] is not x:  # one computation per chunk of rows
            self._full = (x, *self._all_outputs(model, x, b))
        _, phi, delta = self._full  # (n, *shape, k), (n, k)
        if isinstance(target, int):
            return phi[..., target], delta[:, target]
        rows = torch.arange(len(x))
        flat = phi.reshape(len(x), -1, phi.shape[-1])
        return flat[rows, :, target].reshape(x.shape), delta[rows, target]

    def _all_outputs(self, model: TorchModel, x: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        import warnings

        from captum.attr import DeepLift as _DL

        net = model.module
        with torch.no_grad():
            z, zb = net(x).reshape(len(x), -1), net(b).reshape(len(x), -1)
        n_logits = z.shape[1]
        contribs = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # Captum: "setting hooks", "requires_grad set"
            for j in range(n_logits):
                tgt = j if z.ndim == 2 and n_logits > 1 else None
                contribs.append(_DL(net).attribute(x, baselines=b, target=tgt).detach().double())
        C = torch.stack(contribs, dim=-1)  # (n, *shape, L)
        steps = _positive_int("n_steps", self.name, self.params.get("n_steps"), 64)
        nodes, weights = np.polynomial.legendre.leggauss(steps)  # Gauss–Legendre on [0, 1]
        t = torch.from_numpy((nodes + 1) / 2)
        zt = (zb.double()[None] + t[:, None, None] * (z - zb).double()[None]).reshape(-1, n_logits)
        jac = torch.func.vmap(torch.func.jacrev(lambda v: _head(model, v[None])[0]))(zt)  # (steps·n, k, L)
        wt = torch.from_numpy(weights / 2)
        M = torch.einsum("s,snkl->nkl", wt, jac.reshape(steps, len(x), -1, n_logits))  # (n, k, L)
        phi = torch.einsum("n...l,nkl->n...k", C, M)
        with torch.no_grad():
            gap = (_head(model, z.double()) - _head(model, zb.double()))
        delta = phi.reshape(len(x), -1, phi.shape[-1]).sum(dim=1) - gap
        return phi, delta
