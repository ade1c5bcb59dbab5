"""``Finetune``: a few more epochs of the trainer's loop (``fit_module``) on the training split."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import UnsupportedModelError
from .plan import Finetune, register_step

if TYPE_CHECKING:
    from ..models.base import BaseModel
    from ..models.torch_model import TorchModel
    from .api import StepContext

__all__ = ["finetune_module", "require_torch", "task_loss"]


def require_torch(model: BaseModel, step: str) -> TorchModel:
    """``model`` as a TorchModel, or an error that says which steps do apply."""
    from ..models.torch_model import TorchModel

    if not isinstance(model, TorchModel):
        raise UnsupportedModelError(
            f"The {step!r} step needs a torch model; got a {model.kind} model "
            f"({type(getattr(model, 'estimator', model)).__name__}). Use a 'distill' step to train a "
            "torch student from it first (distillation accepts any model as teacher)."
        )
    return model


def task_loss(model: TorchModel) -> Callable[[Any, Any], Any]:
    """The training loss on the module's raw outputs for the model's task and output kind."""
    import torch
    import torch.nn.functional as F

    if model.task == "regression":
        out_scale: Any = getattr(model.module, "out_scale", None)
        scale = float(out_scale[0]) if out_scale is not None else 1.0

        def mse(z: Any, y: Any) -> Any:
            return F.mse_loss(z.reshape(len(z), -1)[:, 0], y.float()) / (scale**2)

        return mse
    if model.output_kind == "probabilities":
        return lambda z, y: F.nll_loss(torch.log(z.clamp_min(1e-12)), y.long())

    def ce(z: Any, y: Any) -> Any:
        if z.ndim == 1 or z.shape[1] == 1:
            return F.binary_cross_entropy_with_logits(z.reshape(-1), y.float())
        return F.cross_entropy(z, y.long())

    return ce


def finetune_module(model: TorchModel, ctx: StepContext, *, epochs: int, lr: float, batch_size: int = 64,
                    optimizer: str = "adam", schedule: str = "cosine", weight_decay: float = 0.0,
                    description: str = "fine-tune") -> dict[str, Any]:
    """Train ``model.module`` in place on ``ctx.data``'s training split; the trainer's history."""
    from ..models.trainer import TrainConfig, fit_module

    cfg = TrainConfig(epochs=epochs, lr=lr, batch_size=batch_size, optimizer=optimizer, schedule=schedule,
                      weight_decay=weight_decay, random_state=ctx.seed())
    ds = ctx.data
    history = fit_module(model.module, task_loss(model), ds.X_train, ds.y_train, ds.X_val, ds.y_val, cfg,
                         progress=ctx.progress, description=description)
    model.module.eval()
    return history


@register_step(Finetune)
def _finetune(model: BaseModel, cfg: Finetune, ctx: StepContext) -> BaseModel:
    out = require_torch(model, "finetune").copy()
    hist = finetune_module(out, ctx, epochs=cfg.epochs, lr=cfg.lr, batch_size=cfg.batch_size,
                           optimizer=cfg.optimizer, schedule=cfg.schedule, weight_decay=cfg.weight_decay)
    if hist["train_loss"]:
        ctx.note(f"train loss {hist['train_loss'][0]:.4f} → {hist['train_loss'][-1]:.4f}")
    return out
