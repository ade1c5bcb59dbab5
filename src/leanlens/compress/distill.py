"""``Distill``: a smaller student (MLP or decision tree) trained to imitate any teacher Model."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ConfigError
from .plan import Distill, register_step

if TYPE_CHECKING:
    from ..models.base import BaseModel
    from ..models.torch_model import TorchModel
    from .api import StepContext

__all__ = ["input_gradients", "kd_loss"]


def _teacher_logits(teacher: BaseModel, X: np.ndarray) -> np.ndarray:
    """Logits up to a per-row constant (``log p``) for classifiers; values for regression."""
    out = teacher.output(X)
    if teacher.task == "regression":
        return out[:, :1]
    return np.log(np.clip(out, 1e-7, 1.0))


def input_gradients(teacher: TorchModel, X: np.ndarray, y: np.ndarray, *, batch: int = 1024) -> np.ndarray:
    """∂ log p_y(x) / ∂x (classifiers) or ∂ f(x) / ∂x (regression) for each row, shape ``(n, *input_shape)``."""
    import torch

    grads = []
    module = teacher.module.eval()
    for i in range(0, len(X), batch):
        xb = torch.from_numpy(np.ascontiguousarray(X[i : i + batch], dtype=np.float32)).requires_grad_(True)
        out = teacher.forward_output(xb)
        if teacher.task == "regression":
            target = out[:, 0]
        else:
            yb = torch.from_numpy(np.asarray(y[i : i + batch], dtype=np.int64))
            target = torch.log(out.gather(1, yb[:, None]).clamp_min(1e-12))[:, 0]
        (g,) = torch.autograd.grad(target.sum(), xb)
        grads.append(g.detach().numpy())
    module.zero_grad(set_to_none=True)
    return np.concatenate(grads)


def kd_loss(z: Any, y: Any, teacher_logits: Any, *, temperature: float, alpha: float, regression: bool,
            scale: float = 1.0) -> Any:
    """``alpha · T² · KL(softmax(t/T) ‖ softmax(z/T)) + (1 − alpha) · CE(z, y)`` (MSE for regression)."""
    import torch.nn.functional as F

    if regression:
        zz = z.reshape(len(z), -1)[:, 0]
        return (alpha * F.mse_loss(zz, teacher_logits[:, 0]) + (1 - alpha) * F.mse_loss(zz, y)) / scale**2
    T = temperature
    soft = F.kl_div(F.log_softmax(z / T, dim=1), F.log_softmax(teacher_logits / T, dim=1),
                    log_target=True, reduction="batchmean") * (T * T)
    hard = F.cross_entropy(z, y.long())
    return alpha * soft + (1 - alpha) * hard


def _student_mlp(teacher: BaseModel, cfg: Distill, ctx: StepContext) -> TorchModel:
    import torch

    from ..models.architectures import LeanlensNet, mlp
    from ..models.torch_model import TorchModel
    from ..models.trainer import TrainConfig, fit_module

    ds = ctx.data
    regression = teacher.task == "regression"
    k = 1 if regression else teacher.n_outputs
    pre = ds.preprocessing
    out_mean = out_scale = None
    scale = 1.0
    if regression:
        scale = float(np.std(ds.y_train)) or 1.0
        out_mean, out_scale = torch.tensor([float(np.mean(ds.y_train))]), torch.tensor([scale])
    from ..errors import ConfigError
    from ..limits import check_mlp_size

    check_mlp_size(ds.n_features, cfg.hidden, k, error=ConfigError)  # before a byte is allocated
    seed = ctx.seed()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        body = mlp(ds.n_features, cfg.hidden, k)
    net = LeanlensNet(body, torch.from_numpy(pre.mean), torch.from_numpy(pre.scale), out_mean, out_scale)
    student = TorchModel(net, input_shape=teacher.input_shape, task=teacher.task, feature_names=teacher.feature_names,
                         output_names=teacher.output_names, output="values" if regression else "logits",
                         arch={"name": "mlp", "hidden": list(cfg.hidden), "distilled": True},
                         metadata=dict(teacher.metadata))
    _warn_if_larger(student, teacher, ctx)
    d = ds.n_features

    def pack(X: np.ndarray, y: np.ndarray) -> np.ndarray:
        parts = [np.asarray(y, np.float32).reshape(-1, 1), _teacher_logits(teacher, X).astype(np.float32)]
        if cfg.attribution > 0:
            parts.append(input_gradients(teacher, X, y).reshape(len(X), d).astype(np.float32))  # type: ignore[arg-type]
        return np.hstack(parts)

    X_transfer, y_transfer = _transfer_set(teacher, ds.X_train, ds.y_train, cfg.augment, ctx.rng)
    Y_train, Y_val = pack(X_transfer, y_transfer), pack(ds.X_val, ds.y_val)

    def loss_fn(z: Any, Y: Any) -> Any:
        y = Y[:, 0] if regression else Y[:, 0].long()
        return kd_loss(z, y, Y[:, 1 : 1 + k], temperature=cfg.temperature, alpha=cfg.alpha,
                       regression=regression, scale=scale)

    extra = _attribution_term(cfg, k, d, regression) if cfg.attribution > 0 else None
    train_cfg = TrainConfig(epochs=cfg.epochs, lr=cfg.lr, batch_size=cfg.batch_size, dropout=0.0, random_state=seed)
    hist = fit_module(net, loss_fn, X_transfer, Y_train, ds.X_val, Y_val, train_cfg, progress=ctx.progress,
                      description="distill", extra_loss=extra)
    ctx.note(f"student MLP {list(cfg.hidden)}: {student.n_parameters()} parameters; distillation loss "
             f"{hist['train_loss'][0]:.4f} → {hist['train_loss'][-1]:.4f}")
    student.metadata["distill_history"] = {"train_loss": [round(v, 6) for v in hist["train_loss"]]}
    return student


def _transfer_set(teacher: BaseModel, X: np.ndarray, y: np.ndarray, augment: int,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The training rows plus ``augment`` noisy copies (N(0, (0.2·std)²) per feature).

    The copies carry the teacher's answer as their label: the teacher labels the extra
    rows, which is what lets a student learn more from it than from the data alone.
    """
    if augment <= 0:
        return X, y
    flat = X.reshape(len(X), -1)
    std = flat.std(axis=0, keepdims=True)
    copies = np.concatenate([flat + rng.normal(0.0, 1.0, flat.shape).astype(np.float32) * 0.2 * std
                             for _ in range(augment)]).astype(np.float32).reshape((-1, *X.shape[1:]))
    out = teacher.output(copies)
    y_copies = out[:, 0].astype(y.dtype) if teacher.task == "regression" else out.argmax(axis=1).astype(y.dtype)
    return np.concatenate([X, copies]), np.concatenate([y, y_copies])


def _attribution_term(cfg: Distill, k: int, d: int, regression: bool) -> Any:
    import torch

    def term(module: Any, xb: Any, Y: Any) -> Any:
        x = xb.detach().clone().requires_grad_(True)
        z = module(x)
        if regression:
            target = z.reshape(len(z), -1)[:, 0]
        else:
            target = torch.log_softmax(z, dim=1).gather(1, Y[:, :1].long())[:, 0]
        (g,) = torch.autograd.grad(target.sum(), x, create_graph=True)
        gt = Y[:, 1 + k : 1 + k + d]
        cos = torch.nn.functional.cosine_similarity(g.reshape(len(x), -1), gt, dim=1, eps=1e-8)
        return cfg.attribution * (1 - cos).mean()

    return term


def _student_tree(teacher: BaseModel, cfg: Distill, ctx: StepContext) -> BaseModel:
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    from ..models.sklearn_model import SklearnModel

    ds = ctx.data
    X = ds.X_train.reshape(len(ds.X_train), -1)
    # The transfer set: the training rows plus noisy copies, all labelled by the teacher.
    std = X.std(axis=0, keepdims=True)
    copies = [X + ctx.rng.normal(0.0, 1.0, X.shape).astype(np.float32) * 0.2 * std for _ in range(cfg.augment)]
    X_aug = np.concatenate([X, *copies]).astype(np.float32)
    t_out = teacher.output(X_aug.reshape((len(X_aug), *teacher.input_shape)))
    seed = ctx.seed()
    if teacher.task == "regression":
        target = t_out[:, 0].copy()
        target[: len(X)] = cfg.alpha * target[: len(X)] + (1 - cfg.alpha) * ds.y_train
        est: Any = DecisionTreeRegressor(max_depth=cfg.max_depth, random_state=seed).fit(X_aug, target)
    else:
        k = t_out.shape[1]
        blend = t_out.copy()
        blend[: len(X)] = cfg.alpha * blend[: len(X)] + (1 - cfg.alpha) * np.eye(k)[ds.y_train.astype(int)]
        labels = blend.argmax(axis=1)
        missing = sorted(set(range(k)) - set(labels.tolist()))
        if missing:  # keep every class a column of predict_proba
            idx = np.nonzero(np.isin(ds.y_train, missing))[0]
            X_aug, labels = np.concatenate([X_aug, X[idx]]), np.concatenate([labels, ds.y_train[idx]])
        est = DecisionTreeClassifier(max_depth=cfg.max_depth, random_state=seed).fit(X_aug, labels)
    student = SklearnModel(est, input_shape=teacher.input_shape, feature_names=teacher.feature_names,
                           output_names=teacher.output_names, task=teacher.task, metadata=dict(teacher.metadata))
    ctx.note(f"tree student: depth {est.get_depth()}, {est.tree_.node_count} nodes, transfer set {len(X_aug)} rows")
    _warn_if_larger(student, teacher, ctx)
    return student


def _warn_if_larger(student: BaseModel, teacher: BaseModel, ctx: StepContext) -> None:
    s, t = student.n_parameters(), teacher.n_parameters()
    if s is not None and t is not None and s >= t:
        ctx.warn(f"The student has {s} parameters, not fewer than its teacher's {t}: distillation will not compress.")


@register_step(Distill)
def _distill(model: BaseModel, cfg: Distill, ctx: StepContext) -> BaseModel:
    from ..models.torch_model import TorchModel

    if cfg.attribution > 0 and (cfg.student != "mlp" or not isinstance(model, TorchModel)):
        raise ConfigError(
            f"Attribution matching needs a torch teacher and an MLP student; got a {model.kind} teacher and a "
            f"{cfg.student!r} student. Set attribution=0."
        )
    if model.task != "regression" and model.n_outputs < 2:
        raise ConfigError("Distill needs a classifier with at least two output columns.")
    return _student_mlp(model, cfg, ctx) if cfg.student == "mlp" else _student_tree(model, cfg, ctx)
