"""Compression step configs, the handler registry, and plan parsing (dicts / YAML).

A plan is a list of step configs, applied in order. Each config type has exactly one
registered handler ``handler(model, config, context) -> Model`` (the torchao
``quantize_(model, config)`` pattern). The same plan is writable in YAML::

    - prune: {kind: structured, amount: 0.5}
    - finetune: {epochs: 5}
    - quantize: {dtype: int8}
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar

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
from ..config import Config, load_yaml
from ..errors import ConfigError, did_you_mean
from ..limits import BATCH_SIZE, EPOCHS, FINETUNE_EPOCHS, LEARNING_RATE, THREADS, WIDTHS
from ..models.trainer import OPTIMIZERS, SCHEDULES

if TYPE_CHECKING:
    from ..models.base import BaseModel
    from .api import StepContext

__all__ = [
    "STEP_TYPES",
    "Distill",
    "Finetune",
    "LowRank",
    "Prune",
    "Quantize",
    "StepConfig",
    "handler_for",
    "parse_plan",
    "plan_to_list",
    "register_step",
]

UNSTRUCTURED_CRITERIA = ("l1", "magnitude", "random")
STRUCTURED_CRITERIA = ("magnitude", "l1", "taylor", "lamp", "fpgm", "random")


FRACTION = Interval(float, 0, 1, closed="right")  # a share that cannot be nothing
MODULE_NAMES = Each(InstanceOf(str))


@dataclasses.dataclass(frozen=True)
class StepConfig(Config):
    """Base of the compression step configs; ``step`` is the step's name in a plan."""

    step: ClassVar[str] = "step"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.config_name = cls.step  # messages say "prune: unknown key 'amout'"


@dataclasses.dataclass(frozen=True)
class Finetune(StepConfig):
    """Train a torch model a few more epochs on the training split (the trainer's loop).

    Parameters
    ----------
    epochs : training epochs (≥ 1).
    lr : learning rate (Adam by default; smaller than for training from scratch).
    batch_size, optimizer, schedule, weight_decay : as in :class:`~leanlens.TrainConfig`.
    """

    step: ClassVar[str] = "finetune"

    epochs: int = 5
    lr: float = 5e-4
    batch_size: int = 64
    optimizer: str = "adam"
    schedule: str = "cosine"
    weight_decay: float = 0.0

    constraints: ClassVar = {
        "epochs": EPOCHS, "lr": LEARNING_RATE, "batch_size": BATCH_SIZE, "optimizer": Options(OPTIMIZERS),
        "schedule": Options(SCHEDULES), "weight_decay": NON_NEGATIVE,
    }


@dataclasses.dataclass(frozen=True)
class Prune(StepConfig):
    """Remove weights (unstructured) or whole neurons/channels (structured).

    Parameters
    ----------
    kind : "structured" (Torch-Pruning removes neurons/channels and physically shrinks the
        layers: fewer MACs, smaller file, faster) or "unstructured" (zeroes single weights,
        the semantics of ``torch.nn.utils.prune``; the dense file and latency do not shrink).
    amount : fraction in [0, 1) of the weights (unstructured) or units (structured) to remove.
    scope : "global" (one ranking over all prunable layers) or "layer" (the same fraction in
        every layer).
    criterion : unstructured: "l1" (= "magnitude") or "random" (a baseline); structured:
        "magnitude" (L2 norm of the group), "l1", "taylor" (first-order Taylor, needs a
        batch of training data), "lamp", "fpgm" or "random".
    steps : reach ``amount`` in this many equal steps (iterative pruning).
    finetune_epochs : epochs of fine-tuning after each step (0: none).
    lr : learning rate of that fine-tuning.
    ignore : module names (as in ``model.module.named_modules()``) to leave alone;
        "output" names the last layer. Default: ("output",).
    round_to : structured only; keep widths multiples of this (e.g. 8 or 16 for int8 kernels).
    """

    step: ClassVar[str] = "prune"

    kind: Literal["unstructured", "structured"] = "structured"
    amount: float = 0.5
    scope: Literal["global", "layer"] = "global"
    criterion: str = "magnitude"
    steps: int = 1
    finetune_epochs: int = 0
    lr: float = 5e-4
    ignore: tuple[str, ...] = ("output",)
    round_to: int | None = None

    constraints: ClassVar = {
        "kind": Options(("unstructured", "structured")), "amount": Interval(float, 0, 1, closed="left"),
        "scope": Options(("global", "layer")), "steps": Interval(int, 1, 1000), "finetune_epochs": FINETUNE_EPOCHS, "lr": LEARNING_RATE,
        "ignore": MODULE_NAMES, "round_to": [None, POSITIVE_INT],
    }

    def validate(self) -> None:
        crit = UNSTRUCTURED_CRITERIA if self.kind == "unstructured" else STRUCTURED_CRITERIA
        check_param(self.criterion, Options(crit), param="criterion", owner=f"Prune(kind={self.kind!r})",
                    error=ConfigError)


@dataclasses.dataclass(frozen=True)
class Quantize(StepConfig):
    """int8 quantization executed by ONNX Runtime: static (calibrated) or dynamic.

    The torch model is exported to ONNX (preprocessing included, dropout removed, the output
    affine folded into the last layer). ``mode="static"`` (the default) calibrates activation
    ranges on training rows and writes a QDQ graph with int8 weights that ONNX Runtime fuses
    into integer kernels once (``QGemm``); nothing is requantized at run time, Relu stays int8
    between layers and the logits leave the last kernel in fp32. ``mode="dynamic"`` stores int8
    weights and quantizes activations on the fly (``quantize_dynamic``). The result is an
    ONNX-backed Model. Quiet benchmark (``benchmarks/compression_int8.py``, 2026-12-04, AVX2 without
    VNNI, batch 256, pruned 50 % + fine-tune 5): static is faster at equal or better accuracy on
    the digits and breast-cancer MLPs at 1 and 2 threads (digits through ``predict_proba``:
    0.41 against 0.46 ms at 1 thread, 0.34 against 0.38 ms at 2), hence the default.
    Convolutions are quantized only when ``ops`` names "Conv": on the SmallCNN, static
    ``QLinearConv`` is ~5 % faster than fp32 convolutions at 1 thread but ~24 % slower at 2
    (1.83 / 1.41 ms against 1.92 / 1.13 ms with the convolutions left fp32).

    Parameters
    ----------
    dtype : "int8".
    backend : "onnxruntime". (torch's eager-mode ``torch.ao.quantization`` is deprecated and
        its modules do not save as safetensors, so it is not offered.)
    mode : "static" (default; calibrated QDQ) or "dynamic".
    calibration_rows : static mode: an int (that many training rows, drawn with the run's
        seed) or the rows themselves, shape (n, n_features); NaN or a wrong width is an error.
    per_channel : one weight scale per output channel (default) instead of one per tensor.
    ops : ONNX operators to quantize, of "MatMul", "Gemm" (Linear layers) and "Conv".
        None: MatMul and Gemm in either mode (convolutions stay fp32: static ``QLinearConv``
        pays off only at 1 thread here, and ONNX Runtime's dynamic ``ConvInteger`` measured ~4×
        slower than fp32 convolutions on our benchmark machine).
    threads : ONNX Runtime intra-op threads of the returned model. None (default): the model
        chooses at compress time the fewest of 1, 2, 4, … up to compress()'s ``threads`` whose
        ``session.run`` on 256 training rows is within 10 % of the fastest (small graphs run
        faster on 1 thread: the hand-off between ONNX Runtime's pool threads costs more than the
        split work saves; a timing that keeps fewer threads is repeated, up to 3 times, as a slow
        spell of a core can hide the gain); the choice is saved with the model
        (``metadata["onnx_threads"]``) and noted in the record. An int fixes the count.
    """

    step: ClassVar[str] = "quantize"

    dtype: str = "int8"
    backend: str = "onnxruntime"
    mode: Literal["static", "dynamic"] = "static"
    calibration_rows: Any = 512
    per_channel: bool = True
    ops: tuple[str, ...] | None = None
    threads: int | None = None

    constraints: ClassVar = {
        "dtype": Options(("int8",)), "mode": Options(("static", "dynamic")), "per_channel": InstanceOf(bool),
        "ops": [None, Each(Options(("MatMul", "Gemm", "Conv")), min_len=1)], "threads": [None, THREADS],
    }

    def validate(self) -> None:
        if self.backend == "torch":
            from .quantize import torch_eager_quantization_available

            state = "still has" if torch_eager_quantization_available() else "no longer has"
            raise ConfigError(
                "The 'backend' parameter of Quantize must be 'onnxruntime'. Got 'torch': torch's eager-mode "
                f"dynamic quantization is deprecated (the installed torch {state} "
                "torch.ao.quantization.quantize_dynamic) and its modules cannot be saved without pickle."
            )
        check_param(self.backend, Options(("onnxruntime",)), param="backend", owner="Quantize", error=ConfigError)
        rows = self.calibration_rows
        if isinstance(rows, bool) or (isinstance(rows, int) and rows < 1):
            raise ConfigError(f"The 'calibration_rows' parameter of Quantize must be an int ≥ 1 or rows. Got {rows!r}.")
        if not isinstance(rows, int):
            import numpy as np

            from .quantize import calibration_array

            arr = np.asarray(rows, dtype=object)
            width = int(np.prod(arr.shape[1:])) if arr.ndim >= 2 else -1
            calibration_array(rows, width, arr.shape[1:] if arr.ndim >= 2 else (0,))
            # rows held as nested tuples: the config stays frozen and round-trips through YAML
            object.__setattr__(self, "calibration_rows", tuple(tuple(float(v) for v in np.ravel(r)) for r in rows))

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        if not isinstance(self.calibration_rows, int):
            out["calibration_rows"] = [list(r) for r in self.calibration_rows]
        return out

    @property
    def operators(self) -> tuple[str, ...]:
        """The operators quantized (``ops``, or the mode's default)."""
        if self.ops is not None:
            return self.ops
        return ("MatMul", "Gemm")


@dataclasses.dataclass(frozen=True)
class Distill(StepConfig):
    """Train a smaller student to imitate the current model (the teacher, any Model).

    Loss (Hinton et al., 2015): ``alpha · T² · KL(p_teacher^T ‖ p_student^T) + (1 − alpha) ·
    CE(student, y)``, with teacher logits ``log p_teacher`` so any model that gives
    probabilities can teach. With ``attribution > 0`` and a torch teacher, a term
    ``attribution · (1 − cos(∇ₓ student, ∇ₓ teacher))`` on the input gradients of the true
    class's log-probability makes the student learn the teacher's reasons, not only its
    answers (in the spirit of Srinivas & Fleuret, 2018, "Knowledge transfer with Jacobian
    matching").

    Parameters
    ----------
    student : "mlp" (an MLP with ``hidden`` widths) or "tree" (a decision tree of depth
        ``max_depth`` fitted on the teacher's blended labels over an augmented transfer set).
    hidden : hidden widths of the MLP student.
    max_depth : depth of the tree student.
    temperature : softening temperature T (> 0).
    alpha : weight of the teacher's soft targets in [0, 1]; 1 − alpha goes to the true labels.
    attribution : weight of the input-gradient matching term (torch teachers only; 0 = off).
    epochs, lr, batch_size : training of the MLP student.
    augment : the transfer set holds the training rows and this many noisy copies of them
        (Gaussian noise of 0.2 standard deviations per feature), labelled by the teacher.
    """

    step: ClassVar[str] = "distill"

    student: Literal["mlp", "tree"] = "mlp"
    hidden: tuple[int, ...] = (64,)
    max_depth: int = 8
    temperature: float = 4.0
    alpha: float = 0.7
    attribution: float = 0.0
    epochs: int = 30
    lr: float = 2e-3
    batch_size: int = 64
    augment: int = 4

    constraints: ClassVar = {
        "student": Options(("mlp", "tree")), "hidden": WIDTHS, "max_depth": Interval(int, 1, 1000), "temperature": POSITIVE,
        "alpha": Interval(float, 0, 1), "attribution": NON_NEGATIVE, "epochs": EPOCHS, "lr": LEARNING_RATE,
        "batch_size": BATCH_SIZE, "augment": Interval(int, 0, 1000),
    }


@dataclasses.dataclass(frozen=True)
class LowRank(StepConfig):
    """Factor Linear layers ``W ≈ U·V`` by truncated SVD, then optionally fine-tune.

    Exactly one of ``rank`` (absolute), ``rank_ratio`` (fraction of ``min(in, out)``) or
    ``energy`` (keep the smallest rank whose singular values hold this fraction of
    ``Σ σ²``) is given. A Linear(in, out) becomes ``Sequential(Linear(in, r, bias=False),
    Linear(r, out))``, which saves and loads like any layer.

    Parameters
    ----------
    rank, rank_ratio, energy : the rank rule (default ``rank_ratio=0.25``).
    only_if_smaller : skip layers where ``r · (in + out) ≥ in · out`` (no saving).
    min_features : leave alone layers with fewer inputs or outputs than this (the input and
        output layers of an MLP: small, cheap, and the ones a low rank hurts most).
    finetune_epochs : fine-tuning epochs after the factorization (0: none).
    lr : learning rate of that fine-tuning.
    ignore : module names to leave alone ("output" = the last layer). Default: none.
    """

    step: ClassVar[str] = "lowrank"

    rank: int | None = None
    rank_ratio: float | None = None
    energy: float | None = None
    only_if_smaller: bool = True
    min_features: int = 128
    finetune_epochs: int = 0
    lr: float = 5e-4
    ignore: tuple[str, ...] = ()

    constraints: ClassVar = {
        "rank": [None, POSITIVE_INT], "rank_ratio": [None, FRACTION], "energy": [None, FRACTION],
        "only_if_smaller": InstanceOf(bool), "min_features": POSITIVE_INT, "finetune_epochs": FINETUNE_EPOCHS,
        "lr": LEARNING_RATE, "ignore": MODULE_NAMES,
    }

    def validate(self) -> None:
        given = [n for n in ("rank", "rank_ratio", "energy") if getattr(self, n) is not None]
        if len(given) > 1:
            raise ConfigError(f"LowRank takes one of 'rank', 'rank_ratio' or 'energy'. Got {', '.join(given)}.")

    @property
    def rule(self) -> tuple[str, float]:
        """``(name, value)`` of the rank rule in force."""
        for n in ("rank", "rank_ratio", "energy"):
            v = getattr(self, n)
            if v is not None:
                return n, float(v)
        return "rank_ratio", 0.25


STEP_TYPES: dict[str, type[StepConfig]] = {c.step: c for c in (Prune, Finetune, Quantize, Distill, LowRank)}

Handler = Callable[["BaseModel", Any, "StepContext"], "BaseModel"]
_HANDLERS: dict[type[StepConfig], Handler] = {}
H = TypeVar("H", bound=Handler)


def register_step(config_type: type[StepConfig]) -> Callable[[H], H]:
    """Register the handler of a step config type (one handler per type)."""

    def deco(fn: H) -> H:
        if config_type in _HANDLERS and _HANDLERS[config_type] is not fn:
            raise ConfigError(f"A handler for {config_type.__name__} is already registered.")
        _HANDLERS[config_type] = fn
        STEP_TYPES.setdefault(config_type.step, config_type)
        return fn

    return deco


def handler_for(step: StepConfig) -> Handler:
    """The registered handler of ``step``'s type (importing the built-in handlers first)."""
    from . import distill, finetune, lowrank, prune, quantize  # noqa: F401  (registrations)

    fn = _HANDLERS.get(type(step))
    if fn is None:
        raise ConfigError(f"No handler is registered for {type(step).__name__}; use register_step().")
    return fn


def parse_plan(plan: Any) -> list[StepConfig]:
    """A plan as a list of step configs, from configs, dicts, a YAML file path, or one step.

    Each dict item has exactly one key, the step name (``prune``, ``finetune``,
    ``quantize``, ``distill``, ``lowrank``), mapping to the step's fields.

    Examples
    --------
    >>> [s.step for s in parse_plan([{"prune": {"amount": 0.5}}, {"quantize": {}}])]
    ['prune', 'quantize']
    """
    if isinstance(plan, str | Path) and not isinstance(plan, StepConfig):
        plan = load_yaml(plan, param="plan")
    if isinstance(plan, StepConfig | dict):
        plan = [plan]
    if isinstance(plan, dict) or not isinstance(plan, list | tuple):
        raise ConfigError(
            f"The 'plan' parameter must be a list of steps (configs or one-key mappings). Got {type(plan).__name__}."
        )
    if not plan:
        raise ConfigError("The 'plan' parameter is empty; give at least one step: " + ", ".join(STEP_TYPES) + ".")
    out: list[StepConfig] = []
    for i, item in enumerate(plan):
        if isinstance(item, StepConfig):
            out.append(item)
            continue
        if not isinstance(item, dict) or len(item) != 1:
            raise ConfigError(
                f"plan[{i}] must be a step config or a mapping with one key (the step name). Got {item!r}."
            )
        (name, fields), = item.items()
        if name not in STEP_TYPES:
            raise ConfigError(
                f"plan[{i}]: unknown step {name!r}.{did_you_mean(str(name), STEP_TYPES)} "
                f"Valid steps: {', '.join(STEP_TYPES)}."
            )
        out.append(STEP_TYPES[name].from_dict(fields, path=f"plan[{i}].{name}"))
    return out


def plan_to_list(plan: Sequence[StepConfig]) -> list[dict[str, Any]]:
    """The YAML/JSON form of a plan: ``[{step_name: fields}, ...]``."""
    return [{s.step: s.to_dict()} for s in plan]
