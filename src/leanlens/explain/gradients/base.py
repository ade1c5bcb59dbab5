"""What the gradient methods share: baselines, the per-output loop in bounded chunks, Explanation assembly."""

from __future__ import annotations

import abc
import contextlib
import dataclasses
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch
from torch import nn

from ..._validation import POSITIVE_INT, Options, check_param
from ..base import Explainer
from ..explanation import Explanation

if TYPE_CHECKING:
    from ...models.base import BaseModel
    from ...models.torch_model import TorchModel

__all__ = ["BASELINE", "BASELINES", "GradientCall", "GradientExplainer", "OutputModule"]

BASELINES: tuple[str, ...] = ("zeros", "mean", "background")
#: The rule of the ``baseline`` parameter the methods share.
BASELINE = Options(BASELINES)
#: Values of one chunk of expanded inputs (rows × steps or samples × features): bounds the memory of a call.
CHUNK_VALUES = 8_000_000
#: GradientShap's Captum code draws from the process-wide torch and NumPy generators; its calls take
#: turns, so two threads explaining at once still get the numbers their seeds promise.
_CAPTUM_SHARED_STATE = threading.Lock()


class OutputModule(nn.Module):
    """The model's explained output as an ``nn.Module`` (what Captum attributes)."""

    def __init__(self, model: TorchModel) -> None:
        super().__init__()
        self.model = model
        self.net = model.module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.forward_output(x)


@dataclasses.dataclass
class GradientCall:
    """What one ``explain`` call works with; it lives as long as the call, never on the explainer."""

    model: TorchModel
    n_rows: int
    rng: np.random.Generator
    notes: list[str] = dataclasses.field(default_factory=list)
    #: Per-chunk results a method reuses across outputs (DeepLift attributes all outputs at once).
    cache: dict[str, Any] = dataclasses.field(default_factory=dict)


class GradientExplainer(Explainer):
    """Base of the gradient methods: subclasses implement ``_attribute`` and, where they differ,
    the baselines, base values and recorded parameters."""

    model_agnostic: ClassVar[bool] = False
    needs_background: ClassVar[bool] = False
    additive: ClassVar[bool] = True
    delta_hint: ClassVar[str] = "more integration steps (n_steps) make it smaller."
    per_row_baselines: ClassVar[bool] = True  # False: the baselines are one shared distribution
    #: True where Captum draws random numbers (from the global generators) for the method.
    samples_globally: ClassVar[bool] = False
    #: True where the method's Captum code touches process-wide state: its calls take turns.
    exclusive: ClassVar[bool] = False

    def _model_call_guard(self) -> contextlib.AbstractContextManager[Any]:
        # The base's finite-output check runs before _explain takes the lock; DeepLift's hooks must not see it.
        return _CAPTUM_SHARED_STATE if self.exclusive else contextlib.nullcontext()

    def _count(self, name: str, default: int, *, from_budget: bool = False) -> int:
        """The int parameter ``name`` (checked by its declared rule), else ``budget`` where it stands in, else ``default``."""
        value = self.params.get(name)
        if value is None and from_budget:
            value = check_param(self.budget, [None, POSITIVE_INT], param="budget", owner=type(self).__name__)
        return default if value is None else int(value)

    def _baseline_kind(self) -> str:
        kind = self.params.get("baseline")
        return str(kind) if kind is not None else "mean" if self.background is not None else "zeros"

    def _baselines(self, call: GradientCall, X: np.ndarray) -> tuple[np.ndarray, str]:
        """One baseline row per explained row, shape of X."""
        kind = self._baseline_kind()
        if kind == "zeros":
            return np.zeros_like(X), kind
        bg = self._background(call.model)
        if kind == "mean":
            return np.broadcast_to(bg.mean(axis=0), X.shape).astype(np.float32).copy(), kind
        return bg[call.rng.integers(0, len(bg), size=len(X))], kind

    def _explain(self, model: BaseModel, X: np.ndarray, targets: np.ndarray | None) -> Explanation:
        with _CAPTUM_SHARED_STATE if self.exclusive else contextlib.nullcontext():
            return self._explain_call(model, X, targets)

    def _explain_call(self, model: BaseModel, X: np.ndarray, targets: np.ndarray | None) -> Explanation:
        tmodel: TorchModel = model  # type: ignore[assignment]
        call = GradientCall(model=tmodel, n_rows=len(X), rng=np.random.default_rng(self.random_state))
        x = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
        base_rows, kind = self._baselines(call, X)
        b = torch.from_numpy(np.ascontiguousarray(base_rows, dtype=np.float32))
        outs = range(model.n_outputs) if targets is None else [None]
        seed = int(call.rng.integers(0, 2**31 - 1))
        step = max(1, CHUNK_VALUES // (self._evals_per_row() * model.n_features))
        chunks = [slice(i, i + step) for i in range(0, len(X), step)]
        vals: list[list[np.ndarray]] = [[] for _ in outs]
        deltas: list[list[np.ndarray]] = [[] for _ in outs]
        tmodel.module.eval()
        with seeded_global_rngs(seed) if self.samples_globally else contextlib.nullcontext():
            for c in chunks:
                xc, bc = x[c].clone().requires_grad_(), (b[c] if self.per_row_baselines else b)
                for o, j in enumerate(outs):
                    tgt: Any = j if j is not None else torch.from_numpy(np.asarray(targets)[c])
                    attr, delta = self._attribute(call, xc, bc, tgt)
                    vals[o].append(attr.detach().double().numpy().reshape(len(xc), -1))
                    if delta is not None:
                        deltas[o].append(delta.detach().double().numpy().reshape(len(xc)))
        per_out = [np.concatenate(v) for v in vals]
        values = np.stack(per_out, axis=2) if targets is None else per_out[0]
        base_all = self._base_values(call, base_rows)  # (n, k)
        rows = np.arange(len(X))
        base = base_all if targets is None else base_all[rows, targets]
        params: dict[str, Any] = {**self._record(), "baseline": kind, "random_state": self.random_state}
        if any(deltas):
            delta_arr = np.stack([np.concatenate(d) for d in deltas], axis=1) if targets is None \
                else np.concatenate(deltas[0])
            call.notes.extend(self._completeness(model, X, targets, base, delta_arr, params))
        if not self.additive:
            call.notes.append(f"{self.name} attributions are not additive: Σφ + base ≠ f(x) in general.")
        return Explanation(
            values=values, base_values=base, data=X.reshape(len(X), -1), feature_names=model.feature_names,
            output_names=model.output_names, method=self.name, params=params, targets=targets,
            n_model_evals=len(X) * self._evals_per_row() * len(outs), input_shape=model.input_shape,
            notes=tuple(call.notes),
        )

    def _completeness(self, model: BaseModel, X: np.ndarray, targets: np.ndarray | None, base: np.ndarray,
                      delta: np.ndarray, params: dict[str, Any]) -> list[str]:
        """Record how far Σφ misses f(x) − f(baseline) (per row: ``Explanation.sum_residual``)."""
        fx = model.output(X)
        fx = fx if targets is None else fx[np.arange(len(X)), targets]
        gap = np.abs(fx - base).sum()
        params["completeness_delta_max"] = float(np.abs(delta).max())
        params["completeness_delta_rel"] = float(np.abs(delta).sum() / gap) if gap > 0 else 0.0
        if params["completeness_delta_rel"] <= 0.01:
            return []
        return [f"Σφ misses f(x) − f(baseline) by {params['completeness_delta_rel']:.1%} in total "
                f"(max {params['completeness_delta_max']:.3g}); {self.delta_hint}"]

    def _base_values(self, call: GradientCall, base_rows: np.ndarray) -> np.ndarray:
        return call.model.output(base_rows)

    def _record(self) -> dict[str, Any]:
        return {}

    def _evals_per_row(self) -> int:
        return 1

    @abc.abstractmethod
    def _attribute(self, call: GradientCall, x: torch.Tensor, b: torch.Tensor, target: Any
                   ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(attributions, completeness delta or None) from the Captum method."""


@contextlib.contextmanager
def seeded_global_rngs(seed: int) -> Iterator[None]:
    """Seed torch's and NumPy's global generators for the block and restore them afterwards.

    Captum's GradientShap draws its path points with ``np.random.uniform`` and its noise
    from torch; this makes both follow ``random_state`` without changing the caller's
    global streams.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        state = np.random.get_state()  # noqa: NPY002
        np.random.seed(seed)  # noqa: NPY002 - restored below; Captum reads only the global RNG
        try:
            yield
        finally:
            np.random.set_state(state)  # noqa: NPY002
