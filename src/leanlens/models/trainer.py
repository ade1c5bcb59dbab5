"""Training MLPs and SmallCNNs: ``train(dataset, TrainConfig(...)) -> TorchModel``."""

from __future__ import annotations

import dataclasses
import itertools
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np

from .._validation import (
    NON_NEGATIVE,
    POSITIVE_INT,
    SEED,
    Interval,
    Options,
    check_param,
    resolve_seed,
)
from ..config import Config
from ..errors import ConfigError, InvalidInputError
from ..limits import BATCH_SIZE, EPOCHS, LEARNING_RATE, WIDTHS

if TYPE_CHECKING:
    import torch
    from torch import nn

    from ..data.dataset import Dataset
    from .torch_model import TorchModel

__all__ = ["LOSSES", "OPTIMIZERS", "SCHEDULES", "TrainConfig", "fit_module", "train"]

OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
SCHEDULES = ("constant", "exponential", "step", "cosine", "onecycle")
LOSSES = ("auto", "cross_entropy", "bce", "mse")
ARCHS = ("mlp", "cnn")


@dataclasses.dataclass(frozen=True)
class TrainConfig(Config):
    """How to build and train a network.

    Parameters
    ----------
    arch : "mlp" | "cnn" (SmallCNN, for image inputs such as ``digits-images``).
    hidden : widths of the hidden layers (MLP) or the dense layer after the convolutions (CNN,
        first value). ``()`` gives a linear model.
    channels : convolution widths of the CNN.
    activation : "relu" | "tanh" | "sigmoid" | "gelu" | "leaky_relu".
    loss : "auto" (cross-entropy for classifiers, MSE for regression) | "cross_entropy" | "bce"
        (binary only, one output logit) | "mse".
    optimizer : "sgd" (with ``momentum``) | "adam" | "adamw" | "rmsprop".
    schedule : learning-rate schedule "constant" | "exponential" (× ``gamma`` per epoch) |
        "step" (× ``gamma`` every ``step_size`` epochs) | "cosine" | "onecycle".
    patience : early stopping on the validation loss after this many epochs without
        improvement, keeping the best weights; None (default) trains every epoch and keeps
        the last weights.
    random_state : seed for initialization, shuffling and dropout; same seed → identical weights.
        None (default): a fresh seed, recorded in the trained model's ``metadata["train"]``.
    """

    config_name: ClassVar[str] = "train"

    arch: Literal["mlp", "cnn"] = "mlp"
    hidden: tuple[int, ...] = (512, 512)
    channels: tuple[int, ...] = (32, 64)
    activation: str = "relu"
    dropout: float = 0.2
    loss: str = "auto"
    optimizer: str = "adam"
    lr: float = 1e-3
    momentum: float = 0.9
    weight_decay: float = 0.0
    schedule: str = "cosine"
    gamma: float = 0.95
    step_size: int = 10
    batch_size: int = 64
    epochs: int = 30
    patience: int | None = None
    random_state: int | None = None

    constraints: ClassVar = {
        "arch": Options(ARCHS), "hidden": WIDTHS, "channels": WIDTHS,
        "dropout": Interval(float, 0, 1, closed="left"), "loss": Options(LOSSES), "optimizer": Options(OPTIMIZERS),
        "lr": LEARNING_RATE, "momentum": Interval(float, 0, 1, closed="left"), "weight_decay": NON_NEGATIVE,
        "schedule": Options(SCHEDULES), "gamma": Interval(float, 0, 1, closed="right"), "step_size": POSITIVE_INT,
        "batch_size": BATCH_SIZE, "epochs": EPOCHS, "patience": [None, EPOCHS], "random_state": SEED,
    }

    def validate(self) -> None:
        # the names only: a config is checked (and a bad one refused) without importing torch
        from .spec_check import ACTIVATION_NAMES

        check_param(self.activation, Options(ACTIVATION_NAMES), param="activation", owner="TrainConfig",
                    error=ConfigError)


def _check_network_size(cfg: TrainConfig, input_shape: tuple[int, ...], n_out: int) -> None:
    """Refuse a network over leanlens.limits.MAX_PARAMETERS before a byte of it is allocated."""
    from ..limits import check_mlp_size

    n_in = int(np.prod(input_shape))
    if cfg.arch == "mlp":
        check_mlp_size(n_in, cfg.hidden, n_out, error=ConfigError)
        return
    # CNN: 3x3 convolutions, then a dense layer on the flattened maps (an upper bound: no pooling)
    chans = [int(input_shape[0]), *cfg.channels]
    conv = sum(9 * a * b + b for a, b in itertools.pairwise(chans))
    flat = chans[-1] * int(np.prod(input_shape[1:]))
    check_mlp_size(flat, cfg.hidden[:1], n_out, param="hidden", error=ConfigError)
    check_mlp_size(conv, (), 0, param="channels", error=ConfigError)


# --- pieces the trainer is assembled from (each a small registry) -------------------------

def _optimizer(cfg: TrainConfig, params: Any) -> torch.optim.Optimizer:
    import torch

    wd = cfg.weight_decay
    makers: dict[str, Callable[[], torch.optim.Optimizer]] = {
        "sgd": lambda: torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=wd),
        "adam": lambda: torch.optim.Adam(params, lr=cfg.lr, weight_decay=wd),
        "adamw": lambda: torch.optim.AdamW(params, lr=cfg.lr, weight_decay=wd),
        "rmsprop": lambda: torch.optim.RMSprop(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=wd),
    }
    return makers[cfg.optimizer]()


def _scheduler(cfg: TrainConfig, opt: torch.optim.Optimizer, steps_per_epoch: int) -> tuple[Any, bool]:
    """The scheduler and whether it steps per batch (True) or per epoch (False)."""
    from torch.optim import lr_scheduler as ls

    if cfg.schedule == "constant":
        return ls.ConstantLR(opt, factor=1.0, total_iters=0), False
    if cfg.schedule == "exponential":
        return ls.ExponentialLR(opt, gamma=cfg.gamma), False
    if cfg.schedule == "step":
        return ls.StepLR(opt, step_size=cfg.step_size, gamma=cfg.gamma), False
    if cfg.schedule == "cosine":
        return ls.CosineAnnealingLR(opt, T_max=cfg.epochs * steps_per_epoch), True
    return ls.OneCycleLR(opt, max_lr=cfg.lr, total_steps=cfg.epochs * steps_per_epoch), True


def _loss(cfg: TrainConfig, task: str, n_out: int) -> tuple[str, Callable[[Any, Any], Any]]:
    import torch.nn.functional as F

    name = cfg.loss
    if name == "auto":
        name = "mse" if task == "regression" else "cross_entropy"
    if name == "bce" and task != "binary":
        raise ConfigError(f"loss='bce' is for binary classification; this dataset's task is {task!r}.")
    if name in ("cross_entropy", "bce") and task == "regression":
        raise ConfigError(f"loss={name!r} needs a classification dataset; this one is regression (use 'mse').")
    if name == "cross_entropy":
        return name, lambda z, y: F.cross_entropy(z, y)
    if name == "bce":
        return name, lambda z, y: F.binary_cross_entropy_with_logits(z[:, 0], y.float())
    if task == "regression":
        return name, lambda z, y: F.mse_loss(z[:, 0], y)
    # MSE on one-hot targets for a classifier (the seed texts' squared-error network).
    return name, lambda z, y: F.mse_loss(torch_softmax(z), F.one_hot(y, n_out).float())


def torch_softmax(z: Any) -> Any:
    import torch

    return torch.softmax(z, dim=1)


def build_body(cfg: TrainConfig, input_shape: tuple[int, ...], n_out: int) -> nn.Sequential:
    from .architectures import mlp, small_cnn

    if cfg.arch == "cnn":
        return small_cnn(input_shape, n_out, channels=cfg.channels, hidden=(cfg.hidden[0] if cfg.hidden else 128),
                         activation_name=cfg.activation, dropout=cfg.dropout)
    return mlp(int(np.prod(input_shape)), cfg.hidden, n_out, activation_name=cfg.activation, dropout=cfg.dropout)


def fit_module(
    module: nn.Module,
    loss_fn: Callable[[Any, Any], Any],
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_val: np.ndarray | None,
    y_val: np.ndarray | None,
    cfg: TrainConfig,
    *,
    progress: bool = False,
    description: str = "training",
    extra_loss: Callable[[Any, Any, Any], Any] | None = None,
) -> dict[str, Any]:
    """The training loop shared by ``train``, fine-tuning and distillation.

    ``module`` maps raw inputs to outputs; ``loss_fn(outputs, targets)``; ``extra_loss(module,
    xb, yb)`` adds a term (e.g. attribution matching). Seeds are applied inside a forked RNG,
    so the caller's global RNG state is untouched. Returns a history dict.
    """
    import torch

    from ..progress import progress_bar

    Xt = torch.from_numpy(np.ascontiguousarray(X_train, dtype=np.float32))
    yt = torch.from_numpy(np.ascontiguousarray(y_train))
    has_val = X_val is not None and y_val is not None and len(X_val) > 0
    Xv = torch.from_numpy(np.ascontiguousarray(X_val, dtype=np.float32)) if has_val else None
    yv = torch.from_numpy(np.ascontiguousarray(y_val)) if has_val else None
    n = len(Xt)
    bs = min(cfg.batch_size, n)
    steps = math.ceil(n / bs)
    history: dict[str, Any] = {"train_loss": [], "val_loss": [], "epochs_run": 0, "best_epoch": 0, "stopped_early": False}
    seed = resolve_seed(cfg.random_state, owner="TrainConfig")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        gen = torch.Generator().manual_seed(seed)
        opt = _optimizer(cfg, [p for p in module.parameters() if p.requires_grad])
        sched, per_batch = _scheduler(cfg, opt, steps)
        best = math.inf
        best_state: dict[str, Any] | None = None
        bad_epochs = 0
        with progress_bar(total=cfg.epochs, description=description, enabled=progress) as bar:
            for epoch in range(cfg.epochs):
                module.train()
                perm = torch.randperm(n, generator=gen)
                total = 0.0
                for i in range(steps):
                    idx = perm[i * bs : (i + 1) * bs]
                    xb, yb = Xt[idx], yt[idx]
                    opt.zero_grad(set_to_none=True)
                    loss = loss_fn(module(xb), yb)
                    if extra_loss is not None:
                        loss = loss + extra_loss(module, xb, yb)
                    loss.backward()
                    opt.step()
                    if per_batch:
                        sched.step()
                    total += float(loss.detach()) * len(idx)
                if not per_batch:
                    sched.step()
                history["train_loss"].append(total / n)
                history["epochs_run"] = epoch + 1
                val_loss = math.nan
                if has_val:
                    module.eval()
                    with torch.no_grad():
                        val_loss = float(loss_fn(module(Xv), yv))
                    history["val_loss"].append(val_loss)
                    if val_loss < best - 1e-6:
                        best, bad_epochs, history["best_epoch"] = val_loss, 0, epoch + 1
                        if cfg.patience is not None:
                            best_state = {k: v.detach().clone() for k, v in module.state_dict().items()}
                    else:
                        bad_epochs += 1
                bar.update(1, info=f"train loss {total / n:.4f}" + (f"  val loss {val_loss:.4f}" if has_val else ""))
                if cfg.patience is not None and has_val and bad_epochs >= cfg.patience:
                    history["stopped_early"] = True
                    break
        if best_state is not None:
            module.load_state_dict(best_state)
    module.eval()
    return history


def train(dataset: Dataset, config: TrainConfig | None = None, *, progress: bool = False) -> TorchModel:
    """Train a network on ``dataset`` and return it as a Model (preprocessing included).

    Parameters
    ----------
    dataset : a :class:`~leanlens.data.Dataset`.
    config : a :class:`TrainConfig`; defaults to an MLP (512, 512) trained 30 epochs with Adam.
    progress : show a progress bar.

    Returns
    -------
    TorchModel whose ``metadata["metrics"]`` holds test accuracy (classifiers) or R² and
    the training time, and ``metadata["train"]`` the config.

    Examples
    --------
    >>> import leanlens
    >>> ds = leanlens.datasets.load("iris")
    >>> model = leanlens.train(ds, leanlens.TrainConfig(hidden=(16,), epochs=5))
    >>> model.predict(ds.X_test[:3]).shape
    (3,)
    """
    import torch

    from ..data.dataset import Dataset
    from .architectures import LeanlensNet
    from .torch_model import TorchModel

    if not isinstance(dataset, Dataset):
        raise InvalidInputError(f"The 'dataset' parameter must be a leanlens Dataset. Got {type(dataset).__name__}.")
    cfg = config or TrainConfig()
    if not isinstance(cfg, TrainConfig):
        raise InvalidInputError(f"The 'config' parameter must be a TrainConfig. Got {type(cfg).__name__}.")
    if cfg.arch == "cnn" and len(dataset.input_shape) != 3:
        raise ConfigError(
            f"arch='cnn' needs image inputs (channels, height, width); dataset {dataset.name!r} has input shape "
            f"{dataset.input_shape}. Use arch='mlp' or the 'digits-images' dataset."
        )
    start = time.perf_counter()
    task = dataset.task
    loss_name = cfg.loss if cfg.loss != "auto" else ("mse" if task == "regression" else "cross_entropy")
    n_out = 1 if (task == "regression" or loss_name == "bce") else dataset.n_classes
    pre = dataset.preprocessing
    out_mean: torch.Tensor | None = None
    out_scale: torch.Tensor | None = None
    if task == "regression":
        ym, ys = float(np.mean(dataset.y_train)), float(np.std(dataset.y_train)) or 1.0
        out_mean, out_scale = torch.tensor([ym]), torch.tensor([ys])
    _check_network_size(cfg, dataset.input_shape, n_out)
    cfg = cfg.replace(random_state=resolve_seed(cfg.random_state, owner="TrainConfig"))  # recorded in metadata
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.random_state)
        body = build_body(cfg, dataset.input_shape, n_out)
    net = LeanlensNet(body, torch.from_numpy(pre.mean), torch.from_numpy(pre.scale), out_mean, out_scale)
    _, loss_fn = _loss(cfg, task, n_out)
    if task == "regression":
        # Train on the standardized target scale: loss in units of the target's spread.
        base_loss = loss_fn
        scale = float(out_scale[0]) if out_scale is not None else 1.0

        def loss_fn(z: Any, y: Any) -> Any:
            return base_loss(z, y) / (scale**2)

    history = fit_module(net, loss_fn, dataset.X_train, dataset.y_train, dataset.X_val, dataset.y_val, cfg,
                         progress=progress, description=f"train {cfg.arch} on {dataset.name}")
    seconds = time.perf_counter() - start
    arch: dict[str, Any] = {"name": cfg.arch, "hidden": list(cfg.hidden), "activation": cfg.activation}
    if cfg.arch == "cnn":
        arch["channels"] = list(cfg.channels)
    model = TorchModel(
        net, input_shape=dataset.input_shape, task=task, feature_names=dataset.feature_names,
        output_names=dataset.target_names or ("value",), output="values" if task == "regression" else "logits",
        arch=arch,
        metadata={"train": cfg.to_dict(), "dataset": dataset.summary()},
    )
    from .evaluation import score

    model.metadata["metrics"] = {
        **score(model, dataset.X_test, dataset.y_test, prefix="test_"),
        "train_seconds": round(seconds, 3),
        "epochs_run": history["epochs_run"],
        "best_epoch": history["best_epoch"],
        "stopped_early": history["stopped_early"],
    }
    return model
