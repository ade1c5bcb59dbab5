"""``compress(model, plan, *, data)``: apply the plan's steps in order and measure each."""

from __future__ import annotations

import dataclasses
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._validation import check_random_state
from ..errors import InvalidInputError
from .measurement import measure
from .plan import StepConfig, handler_for, parse_plan
from .record import CompressionRecord, Measurement, StepRecord

if TYPE_CHECKING:
    from ..data.dataset import Dataset
    from ..models.base import BaseModel
    from .auto import AutoBudget, AutoSearch

__all__ = ["CompressionResult", "StepContext", "compress", "load_model_or_compressed"]


@dataclasses.dataclass
class StepContext:
    """What a step handler may use besides the model and its config.

    ``notes``/``warnings`` collect what the handler wants in the record; ``warn()`` also
    emits a Python warning. ``seed()`` draws a fresh seed from the run's generator.
    """

    data: Dataset
    original: BaseModel
    rng: np.random.Generator
    work_dir: Path | None
    threads: int = 2
    progress: bool = False
    notes: list[str] = dataclasses.field(default_factory=list)
    warnings: list[str] = dataclasses.field(default_factory=list)

    def seed(self) -> int:
        return int(self.rng.integers(0, 2**31 - 1))

    def note(self, text: str) -> None:
        self.notes.append(text)

    def warn(self, text: str) -> None:
        self.warnings.append(text)
        warnings.warn(text, UserWarning, stacklevel=3)


@dataclasses.dataclass
class CompressionResult:
    """The compressed model and the :class:`CompressionRecord` of how it got there."""

    model: BaseModel
    record: CompressionRecord
    auto: AutoSearch | None = None

    def save(self, folder: str | Path, *, overwrite: bool = False) -> Path:
        """Write the compressed folder (atomically): ``model/`` (the model's own format),
        ``record.json``, ``plan.yaml`` (the plan that made it, reusable as ``--plan``) and, after
        ``plan="auto"``, ``auto.json`` (the search: candidates, Pareto front, message)."""
        import yaml

        from .._io import atomic_dir, atomic_write_json, atomic_write_text

        with atomic_dir(folder, overwrite=overwrite) as tmp:
            self.model.save(tmp / "model")
            self.record.save(tmp / "record.json")
            plan = [{s.step: s.config} for s in self.record.steps]
            atomic_write_text(tmp / "plan.yaml", yaml.safe_dump(plan, sort_keys=False))
            if self.auto is not None:
                atomic_write_json(tmp / "auto.json", self.auto.to_dict())
        return Path(folder)


def load_model_or_compressed(path: str | Path) -> BaseModel:
    """A saved model folder, an .onnx file, or a compressed folder (:meth:`CompressionResult.save`;
    its ``model/``)."""
    from ..models import load_model

    p = Path(path)
    if p.is_dir() and not (p / "model.json").is_file() and (p / "model").is_dir():
        return load_model(p / "model")
    return load_model(p)


def compress(
    model: Any,
    plan: Any,
    *,
    data: Dataset,
    random_state: int | None = None,
    progress: bool = False,
    latency_reps: int = 200,
    threads: int = 2,
    work_dir: str | Path | None = None,
    budget: AutoBudget | None = None,
    executor: Any = None,
) -> CompressionResult:
    """Compress ``model`` by applying ``plan``'s steps in order, measuring after each.

    Parameters
    ----------
    model : any leanlens Model (or anything :func:`leanlens.as_model` wraps). It is not modified.
    plan : list of step configs (:class:`Prune`, :class:`Finetune`, :class:`Quantize`,
        :class:`Distill`, :class:`LowRank`), of one-key dicts (``[{"prune": {"amount": 0.5}}]``),
        a YAML file path holding such a list, or ``"auto"``: search the plan (Optuna) for the
        fastest model within ``budget`` (see :mod:`leanlens.compress.auto`); the result's
        ``.auto`` then holds the search (chosen plan as YAML, Pareto front, candidates).
    data : the Dataset: training split for fine-tuning/distillation, test split for the record.
    random_state : seed of every random choice (pruning baseline, fine-tuning, students).
    progress : show progress bars.
    latency_reps : timed calls per batch size (1 and 256) after 5 warm-up calls, interleaved
        with the original model; 0 skips latency (and with it the check that no step made the model slower).
    threads : torch and ONNX Runtime intra-op threads while measuring and for ONNX models made here.
    budget : ``plan="auto"`` only: an :class:`~leanlens.compress.auto.AutoBudget` (default: ≤ 1 point
        of accuracy, 20 trials, batch 256).
    executor : ``plan="auto"`` only: runs the trials (``map(fn, items)``; e.g. the pipeline's Ray executor).
    work_dir : where ONNX files of quantized models live. Default: a temporary folder per
        quantized model (``leanlens-compress-*``), removed when that model is garbage-collected
        or the interpreter exits, and at once when a step fails or is interrupted.

    Returns
    -------
    CompressionResult with ``.model`` and ``.record``.

    Examples
    --------
    >>> import leanlens
    >>> ds = leanlens.datasets.load("iris")
    >>> m = leanlens.train(ds, leanlens.TrainConfig(hidden=(32,), epochs=3))
    >>> res = leanlens.compress(m, [leanlens.Prune(amount=0.5)], data=ds, latency_reps=0)
    >>> res.model.module.body[1].out_features
    16
    """
    from ..data.dataset import Dataset
    from ..models.base import as_model
    from ..models.evaluation import score

    if not isinstance(data, Dataset):
        raise InvalidInputError(f"The 'data' parameter of compress() must be a leanlens Dataset. Got {type(data).__name__}.")
    if isinstance(plan, str) and plan == "auto":
        from .auto import AutoBudget, auto_compress

        if budget is not None and not isinstance(budget, AutoBudget):
            raise InvalidInputError(f"The 'budget' parameter must be an AutoBudget. Got {type(budget).__name__}.")
        b = budget or AutoBudget(threads=threads)
        result, search = auto_compress(model, data=data, budget=b, random_state=random_state, progress=progress,
                                       executor=executor, log=(lambda s: print(s)) if progress else None)
        result.auto = search
        return result
    if budget is not None or executor is not None:
        raise InvalidInputError("The 'budget' and 'executor' parameters are for plan='auto' only.")
    from ..limits import MAX_REPS, MAX_THREADS, check_count

    check_count(latency_reps, param="latency_reps", low=0, high=MAX_REPS, owner="compress()")
    check_count(threads, param="threads", high=MAX_THREADS, owner="compress()")
    random_state = check_random_state(random_state, owner="compress()")
    original = as_model(model)
    steps: list[StepConfig] = parse_plan(plan)
    if original.n_features != data.n_features:
        raise InvalidInputError(
            f"The model takes {original.n_features} features but the dataset {data.name!r} has {data.n_features}."
        )
    handlers = [handler_for(s) for s in steps]  # fail on an unregistered step before any work
    wd = Path(work_dir) if work_dir is not None else None
    if wd is not None:
        wd.mkdir(parents=True, exist_ok=True)
    ctx = StepContext(data=data, original=original, rng=np.random.default_rng(random_state), work_dir=wd,
                      threads=threads, progress=progress)
    start = time.perf_counter()
    timing_notes: list[str] = []
    from ..progress import task

    # progress (minimal hook): measuring the original, then each step (export and quantization included)
    with task("compress", len(steps) + 1) as bar:
        before = measure(original, original, data, reps=latency_reps, threads=threads, notes=timing_notes)
        bar.advance(info="original measured")
        record = CompressionRecord(original=before, steps=[], threads=threads, latency_reps=latency_reps)
        current = original
        prev: Measurement = before
        for i, (step, handler) in enumerate(zip(steps, handlers, strict=True)):
            ctx.notes, ctx.warnings = [], []
            t0 = time.perf_counter()
            new = handler(current, step, ctx)
            seconds = time.perf_counter() - t0
            new.metadata = {
                **new.metadata,
                "metrics": score(new, data.X_test, data.y_test, prefix="test_"),
                "compression": [*current.metadata.get("compression", []), {step.step: step.to_dict()}],
            }
            # Quantization keeps the MAC count; ONNX graphs are not walked for it.
            after = measure(new, original, data, reps=latency_reps, threads=threads,
                            macs=prev.macs if new.kind == "onnx" else None, notes=timing_notes)
            slower = _slower(prev, after)
            if slower and step.step != "finetune":
                ctx.warn(f"step {i} ({step.step}) made the model slower: {slower}.")
            record.steps.append(StepRecord(step=step.step, config=step.to_dict(), seconds=seconds, after=after,
                                           notes=list(ctx.notes), warnings=list(ctx.warnings)))
            record.warnings.extend(f"{step.step}: {w}" for w in ctx.warnings)
            current, prev = new, after
            bar.advance(info=f"{step.step} done")
    record.seconds = time.perf_counter() - start
    if timing_notes:
        msg = ("Latency figures are unreliable (timing repeated up to 3 times; the machine is busy or the "
               f"times scatter): {'; '.join(dict.fromkeys(timing_notes))}.")
        record.warnings.append(msg)
        warnings.warn(msg, UserWarning, stacklevel=2)
    slower = _slower(before, record.final)
    if slower and record.steps:
        msg = f"The compressed model is slower than the original: {slower}."
        record.warnings.append(msg)
        warnings.warn(msg, UserWarning, stacklevel=2)
    return CompressionResult(model=current, record=record)


def _slower(a: Measurement, b: Measurement, *, margin: float = 1.10) -> str:
    """Where ``b`` is slower than ``a`` by more than ``margin``, as text ('' if nowhere).

    Both speed-ups were measured interleaved with the original model, so their ratio is
    robust to the machine's load changing between the two measurements.
    """
    parts = [
        f"batch {k}: {a.latency_ms[k]['median']:.3f} → {b.latency_ms[k]['median']:.3f} ms "
        f"(speed-up vs original {a.speedup[k]:.2f}× → {b.speedup[k]:.2f}×)"
        for k in b.speedup
        if k in a.speedup and b.speedup[k] * margin < a.speedup[k]
    ]
    return "; ".join(parts)
