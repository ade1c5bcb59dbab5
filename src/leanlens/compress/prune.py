"""``Prune``: unstructured magnitude/random pruning (made permanent) and structured pruning.

Scoring is separate from cutting (Torch-Pruning's Importance vs Pruner): the criteria
are importance objects; ``torch.nn.utils.prune`` or Torch-Pruning only cut.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ConfigError, InvalidInputError, UnsupportedModelError, did_you_mean
from .finetune import finetune_module, require_torch, task_loss
from .plan import Prune, register_step

if TYPE_CHECKING:
    from torch import nn

    from ..models.base import BaseModel
    from ..models.torch_model import TorchModel
    from .api import StepContext

__all__ = ["prunable_layers", "resolve_ignored"]


def prunable_layers(module: nn.Module) -> list[tuple[str, Any]]:
    """``(name, layer)`` of every Linear and Conv2d, in forward order."""
    from torch import nn

    return [(n, m) for n, m in module.named_modules() if isinstance(m, nn.Linear | nn.Conv2d)]


def resolve_ignored(module: nn.Module, names: tuple[str, ...], *, step: str = "Prune") -> list[nn.Module]:
    """The modules named in ``ignore`` ("output" = the last Linear/Conv2d layer)."""
    layers = prunable_layers(module)
    by_name = dict(module.named_modules())
    out: list[nn.Module] = []
    for name in names:
        if name == "output":
            if layers:
                out.append(layers[-1][1])
            continue
        if name not in by_name:
            valid = ["output", *[n for n, _ in layers]]
            raise ConfigError(
                f"The 'ignore' parameter of {step} names {name!r}, which is not a module of this model."
                f"{did_you_mean(name, valid)} Valid: {', '.join(valid)}."
            )
        out.append(by_name[name])
    return out


def _check_not_emptied(model: TorchModel) -> None:
    for name, m in prunable_layers(model.module):
        w = m.weight
        if w.numel() == 0 or not bool((w != 0).any()):
            raise InvalidInputError(
                f"Pruning would remove every weight of layer {name!r} ({type(m).__name__} "
                f"{tuple(w.shape)}), disconnecting the network. Use a smaller 'amount', scope='layer', "
                "or list the layer in 'ignore'."
            )


# --- unstructured ------------------------------------------------------------------------

def _unstructured(model: TorchModel, cfg: Prune, ctx: StepContext) -> TorchModel:
    import torch
    from torch.nn.utils import prune as tprune

    ignored = {id(m) for m in resolve_ignored(model.module, cfg.ignore)}
    targets: list[tuple[Any, str]] = [(m, "weight") for _, m in prunable_layers(model.module) if id(m) not in ignored]
    if not targets:
        raise InvalidInputError("Prune found no Linear or Conv2d layer to prune (all are ignored).")
    method: Any = tprune.RandomUnstructured if cfg.criterion == "random" else tprune.L1Unstructured
    done = 0.0
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(ctx.seed())
        for k in range(1, cfg.steps + 1):
            goal = cfg.amount * k / cfg.steps
            # torch's repeated pruning counts the fraction of the still-unpruned weights.
            frac = (goal - done) / (1.0 - done)
            if cfg.scope == "global":
                tprune.global_unstructured(targets, pruning_method=method, amount=frac)
            else:
                for m, p in targets:
                    method.apply(m, p, amount=frac)
            done = goal
            if cfg.finetune_epochs:
                finetune_module(model, ctx, epochs=cfg.finetune_epochs, lr=cfg.lr,
                                description=f"prune step {k}/{cfg.steps}: fine-tune")
    for m, p in targets:
        tprune.remove(m, p)  # make permanent: weight = weight_orig * mask
    _check_not_emptied(model)
    n = sum(m.weight.numel() for m, _ in targets)
    zeros = sum(int((m.weight == 0).sum()) for m, _ in targets)
    ctx.note(f"{zeros} of {n} prunable weights are zero ({zeros / n:.4f}); weights are stored dense and run with "
             "dense kernels, so latency and file size do not shrink (see sparse_bytes for sparse storage).")
    return model


# --- structured --------------------------------------------------------------------------

def _importance(criterion: str) -> Any:
    import torch_pruning as tp

    imp = tp.importance
    makers = {
        "magnitude": lambda: imp.GroupMagnitudeImportance(p=2),
        "l1": lambda: imp.GroupMagnitudeImportance(p=1),
        "taylor": lambda: imp.GroupTaylorImportance(),
        "lamp": lambda: imp.LAMPImportance(p=2),
        "fpgm": lambda: imp.FPGMImportance(p=2),
        "random": lambda: imp.RandomImportance(),
    }
    return makers[criterion]()


def _taylor_gradients(model: TorchModel, ctx: StepContext, rows: int = 512) -> None:
    """Fill ``.grad`` with the loss gradient on a sample of training rows (Taylor criterion)."""
    import torch

    X, y = ctx.data.X_train, ctx.data.y_train
    idx = ctx.rng.choice(len(X), size=min(rows, len(X)), replace=False)
    model.module.zero_grad(set_to_none=True)
    model.module.eval()
    loss = task_loss(model)(model.module(torch.from_numpy(X[idx])), torch.from_numpy(np.asarray(y[idx])))
    loss.backward()


def _structured(model: TorchModel, cfg: Prune, ctx: StepContext) -> TorchModel:
    import torch
    import torch_pruning as tp

    body = getattr(model.module, "body", model.module)
    ignored = resolve_ignored(model.module, cfg.ignore)
    example = torch.zeros((2, *model.input_shape))
    try:
        pruner = tp.pruner.MetaPruner(
            body, example, importance=_importance(cfg.criterion), global_pruning=cfg.scope == "global",
            pruning_ratio=cfg.amount, iterative_steps=cfg.steps, ignored_layers=ignored, round_to=cfg.round_to,
        )
    except Exception as exc:  # tracing failures come as many types
        raise UnsupportedModelError(f"Torch-Pruning could not trace this network's dependencies: {exc}") from None
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(ctx.seed())
        for k in range(1, cfg.steps + 1):
            if cfg.criterion == "taylor":
                _taylor_gradients(model, ctx)
            for group in pruner.step(interactive=True):
                _refuse_emptying(group)
                group.prune()
            model.module.zero_grad(set_to_none=True)
            if cfg.finetune_epochs:
                finetune_module(model, ctx, epochs=cfg.finetune_epochs, lr=cfg.lr,
                                description=f"prune step {k}/{cfg.steps}: fine-tune")
    model.module.eval()
    widths = [int(m.out_features if hasattr(m, "out_features") else m.out_channels) for _, m in prunable_layers(body)]
    ctx.note(f"layer widths after pruning: {widths}")
    return model


def _refuse_emptying(group: Any) -> None:
    """Torch-Pruning would remove every unit of a layer: refuse, naming it."""
    from torch import nn

    n_idx = len(group[0].idxs)
    layer = group[0].dep.target.module
    width = layer.out_features if isinstance(layer, nn.Linear) else getattr(layer, "out_channels", None)
    if width is not None and n_idx >= width:
        raise InvalidInputError(
            f"Structured pruning would remove all {width} units of layer {type(layer).__name__}"
            f"{tuple(layer.weight.shape)}. Use a smaller 'amount', scope='layer', or list it in 'ignore'."
        )


@register_step(Prune)
def _prune(model: BaseModel, cfg: Prune, ctx: StepContext) -> BaseModel:
    out = require_torch(model, "prune").copy()
    if cfg.amount == 0:
        ctx.note("amount=0: nothing pruned")
        return out
    if cfg.kind == "unstructured":
        return _unstructured(out, cfg, ctx)
    return _structured(out, cfg, ctx)
