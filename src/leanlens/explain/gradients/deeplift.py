"""DeepLift, Rescale rule (Shrikumar, Greenside & Kundaje, ICML 2017) through Captum, explaining probabilities."""

from __future__ import annotations

import copy
import warnings
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch

from ..._validation import POSITIVE_INT
from ..base import register_explainer
from .base import BASELINE, GradientCall, GradientExplainer

if TYPE_CHECKING:
    from ...models.torch_model import TorchModel

__all__ = ["DeepLift"]


@register_explainer
class DeepLift(GradientExplainer):
    """DeepLift, Rescale rule (Shrikumar et al., ICML 2017), explaining probabilities.

    Captum's DeepLift attributes each raw network output (logit) ``z_l`` exactly
    (summation-to-delta). Its rule for a softmax module breaks that property, so the
    softmax/sigmoid head is chained instead with its path-averaged Jacobian
    ``M = ∫ ∂p/∂z (z' + t(z − z')) dt`` (Gauss–Legendre, ``n_steps`` nodes, default 64):
    ``φ_j = Σ_l M_jl · C_l``, hence ``Σφ_j = p_j(x) − p_j(x')`` up to that
    one-dimensional integration error (recorded as for IG) — for networks of Linear,
    Conv and ReLU-like layers. Captum's rule for max-pooling is not exactly
    conservative: with ``MaxPool2d`` the recorded delta (and a note) says how far off it is.
    Captum hooks the modules it attributes, so each call attributes a copy of the network
    (memory: one more copy of the weights) and other forward passes of the model stay unhooked.
    """

    name: ClassVar[str] = "deeplift"
    summary: ClassVar[str] = "DeepLift rescale rule (Shrikumar et al. 2017), Captum; torch models; summation-to-delta."
    delta_hint: ClassVar[str] = "Captum's DeepLift rules are approximate for layers such as MaxPool2d."
    param_constraints: ClassVar = {"baseline": BASELINE, "n_steps": POSITIVE_INT}

    def _attribute(self, call: GradientCall, x: torch.Tensor, b: torch.Tensor, target: Any
                   ) -> tuple[torch.Tensor, torch.Tensor | None]:
        cached = call.cache.get("chunk")
        if cached is None or cached[0] is not x:  # every output of a chunk comes from one computation
            if "net" not in call.cache:  # Captum hooks the modules it attributes: a copy of our own keeps
                call.cache["net"] = copy.deepcopy(call.model.module).eval()  # other forward passes unhooked
            cached = call.cache["chunk"] = (x, *self._all_outputs(call.model, call.cache["net"], x, b))
        _, phi, delta = cached  # (n, *shape, k), (n, k)
        if isinstance(target, int):
            return phi[..., target], delta[:, target]
        rows = torch.arange(len(x))
        flat = phi.reshape(len(x), -1, phi.shape[-1])
        return flat[rows, :, target].reshape(x.shape), delta[rows, target]

    def _all_outputs(self, model: TorchModel, net: torch.nn.Module, x: torch.Tensor, b: torch.Tensor
                     ) -> tuple[torch.Tensor, torch.Tensor]:
        from captum.attr import DeepLift as CaptumDeepLift

        with torch.no_grad():
            z, zb = net(x).reshape(len(x), -1), net(b).reshape(len(x), -1)
        n_logits = z.shape[1]
        contribs = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # Captum: "setting hooks", "requires_grad set"
            for j in range(n_logits):
                tgt = j if z.ndim == 2 and n_logits > 1 else None
                contribs.append(CaptumDeepLift(net).attribute(x, baselines=b, target=tgt).detach().double())
        C = torch.stack(contribs, dim=-1)  # (n, *shape, L)
        steps = self._count("n_steps", 64)
        nodes, weights = np.polynomial.legendre.leggauss(steps)  # Gauss–Legendre on [0, 1]
        t = torch.from_numpy((nodes + 1) / 2)
        zt = (zb.double()[None] + t[:, None, None] * (z - zb).double()[None]).reshape(-1, n_logits)
        jac = torch.func.vmap(torch.func.jacrev(lambda v: model.head(v[None])[0]))(zt)  # (steps·n, k, L)
        wt = torch.from_numpy(weights / 2)
        M = torch.einsum("s,snkl->nkl", wt, jac.reshape(steps, len(x), -1, n_logits))  # (n, k, L)
        phi = torch.einsum("n...l,nkl->n...k", C, M)
        with torch.no_grad():
            gap = model.head(z.double()) - model.head(zb.double())
        delta = phi.reshape(len(x), -1, phi.shape[-1]).sum(dim=1) - gap
        return phi, delta
