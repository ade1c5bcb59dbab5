"""``LowRank``: truncated-SVD factorization of Linear layers, ``W ≈ (U√S)(√S Vᵀ)``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import InvalidInputError
from .finetune import finetune_module, require_torch
from .plan import LowRank, register_step
from .prune import resolve_ignored

if TYPE_CHECKING:
    import torch
    from torch import nn

    from ..models.base import BaseModel
    from .api import StepContext

__all__ = ["choose_rank", "factorize_linear"]


def choose_rank(s: torch.Tensor, cfg: LowRank) -> int:
    """The rank the rule of ``cfg`` keeps for singular values ``s`` (descending)."""
    full = int(s.numel())
    name, value = cfg.rule
    if name == "rank":
        return max(1, min(int(value), full))
    if name == "rank_ratio":
        return max(1, min(full, round(value * full)))
    energy = (s.double() ** 2).cumsum(0) / (s.double() ** 2).sum().clamp_min(1e-300)
    return max(1, min(full, int((energy < value - 1e-12).sum()) + 1))


def factorize_linear(layer: nn.Linear, rank: int) -> nn.Sequential:
    """``Sequential(Linear(in, r, bias=False), Linear(r, out))`` with the best rank-``r`` product."""
    import torch
    from torch import nn

    W = layer.weight.detach().double()
    U, S, Vh = torch.linalg.svd(W, full_matrices=False)
    root = S[:rank].sqrt()
    first = nn.Linear(layer.in_features, rank, bias=False)
    second = nn.Linear(rank, layer.out_features, bias=layer.bias is not None)
    with torch.no_grad():
        first.weight.copy_((root[:, None] * Vh[:rank]).float())
        second.weight.copy_((U[:, :rank] * root[None, :]).float())
        if layer.bias is not None:
            second.bias.copy_(layer.bias.detach())
    return nn.Sequential(first, second)


@register_step(LowRank)
def _lowrank(model: BaseModel, cfg: LowRank, ctx: StepContext) -> BaseModel:
    import torch
    from torch import nn

    out = require_torch(model, "lowrank").copy()
    ignored = {id(m) for m in resolve_ignored(out.module, cfg.ignore, step="LowRank")}
    linears = [(n, m) for n, m in out.module.named_modules() if isinstance(m, nn.Linear) and id(m) not in ignored]
    if not linears:
        raise InvalidInputError("LowRank found no Linear layer to factor (the model has none, or all are ignored).")
    changed = []
    for name, layer in linears:
        with torch.no_grad():
            s = torch.linalg.svdvals(layer.weight.detach().double())
        r = choose_rank(s, cfg)
        n_in, n_out = layer.in_features, layer.out_features
        if min(n_in, n_out) < cfg.min_features:
            continue
        if cfg.only_if_smaller and r * (n_in + n_out) >= n_in * n_out:
            continue
        parent_name, _, child = name.rpartition(".")
        parent = out.module.get_submodule(parent_name) if parent_name else out.module
        parent._modules[child] = factorize_linear(layer, r)
        kept = float((s[:r].double() ** 2).sum() / (s.double() ** 2).sum().clamp_min(1e-300))
        changed.append(f"{name}: {n_out}×{n_in} → rank {r} (energy kept {kept:.4f})")
    if not changed:
        ctx.warn(f"LowRank factored no layer: none has min(in, out) ≥ min_features={cfg.min_features} and a "
                 "factorization smaller than itself at the requested rank (see min_features, only_if_smaller).")
    else:
        ctx.note("; ".join(changed))
    if cfg.finetune_epochs:
        finetune_module(out, ctx, epochs=cfg.finetune_epochs, lr=cfg.lr, description="low-rank: fine-tune")
    out.module.eval()
    return out
