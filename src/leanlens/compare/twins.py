"""Twins: equally good versions of the original, the yardstick of ``compare()``.

Where they come from, in order of preference:

1. **given** — models the user passes (``twins=[...]``, anything ``as_model`` accepts);
2. **retrained** — the original's recorded recipe (``metadata["train"]``, a TrainConfig)
   replayed on the data given with other seeds;
3. **fine-tuned** — the recipe is unknown (or the original was itself compressed) but the
   original is a torch model and labelled data are given: a short continued training from the
   original's weights with other seeds (``CompareConfig.twin_epochs`` / ``twin_lr``);
4. **none** — e.g. an ONNX original without a recipe: ``compare()`` falls back to the
   explainer's noise and says so.

Twins are cached by (model fingerprint, recipe, seed): in-process, and on disk under
``cache_dir`` (a run folder's ``twins/``), so several compressed models of one original
train them once.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ..errors import InvalidInputError
from ..progress import task
from .estimate import model_fingerprint

if TYPE_CHECKING:
    from ..data.dataset import Dataset
    from ..models.base import BaseModel
    from .config import CompareConfig

__all__ = ["TwinSource", "Twins", "check_same_io", "clear_cache", "make_twins"]

TwinSource = Literal["given", "retrained", "fine-tuned", "none"]

_CACHE: OrderedDict[str, BaseModel] = OrderedDict()
_CACHE_SIZE = 32


@dataclasses.dataclass
class Twins:
    """The twins found for an original: the models, where they came from, and in words."""

    models: list[BaseModel]
    source: TwinSource
    seeds: list[int]
    description: str
    note: str = ""
    seconds: float = 0.0
    cached: int = 0


def clear_cache() -> None:
    """Forget the twins cached in this process (a benchmark timing a cold compare(); memory)."""
    _CACHE.clear()


def check_same_io(original: BaseModel, other: BaseModel, name: str) -> None:
    """Raise when ``other`` (called ``name`` in the message) takes other inputs or gives other outputs."""
    if original.n_features != other.n_features:
        raise InvalidInputError(
            f"The models take different inputs: the original has {original.n_features} features "
            f"(input shape {original.input_shape}), {name} {other.n_features} "
            f"(input shape {other.input_shape}). compare() needs the same feature space."
        )
    if original.task != other.task or original.n_outputs != other.n_outputs:
        raise InvalidInputError(
            f"The models have different output spaces: the original is {original.task!r} with outputs "
            f"{list(original.output_names)}, {name} {other.task!r} with outputs "
            f"{list(other.output_names)}. compare() needs the same outputs."
        )


def _recipe(original: BaseModel) -> dict[str, Any] | None:
    """The replayable TrainConfig dict of a model trained by leanlens (and not compressed since)."""
    md = getattr(original, "metadata", None) or {}
    train = md.get("train")
    if not isinstance(train, dict) or md.get("compression"):
        return None
    return train


def _key(fp: str, recipe: dict[str, Any], seed: int) -> str:
    text = json.dumps(recipe, sort_keys=True, default=str)
    return f"{fp[:16]}-{hashlib.sha256(text.encode()).hexdigest()[:12]}-s{seed}"


def _cached(key: str, cache_dir: Path | None, build: Any) -> tuple[BaseModel, bool]:
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key], True
    model: BaseModel | None = None
    hit = False
    folder = cache_dir / key if cache_dir is not None else None
    if folder is not None and (folder / "model.json").is_file():
        from ..models.persistence import load_model

        model, hit = load_model(folder), True
    if model is None:
        model = build()
        if folder is not None:
            model.save(folder, overwrite=True)
    _CACHE[key] = model
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return model, hit


def _draw_seeds(n: int, rng: np.random.Generator, avoid: int | None) -> list[int]:
    seeds: list[int] = []
    while len(seeds) < n:
        s = int(rng.integers(0, 2**31 - 1))
        if s != avoid and s not in seeds:
            seeds.append(s)
    return seeds


def _check_replayable(original: BaseModel, data: Dataset) -> None:
    md = getattr(original, "metadata", None) or {}
    rec = md.get("dataset") or {}
    names = tuple(data.feature_names)
    if tuple(original.feature_names) != names or data.n_features != original.n_features:
        raise InvalidInputError(
            "The original's recipe cannot be replayed on this data: the model takes features "
            f"{list(original.feature_names)[:8]}{'…' if original.n_features > 8 else ''} but the data "
            f"{data.name!r} has {list(names)[:8]}{'…' if len(names) > 8 else ''}. Pass the data the model was "
            "trained on, or twins=[...] / twins=0."
        )
    if rec.get("task") not in (None, data.task):
        raise InvalidInputError(
            f"The original's recipe cannot be replayed on this data: it was trained for a {rec.get('task')!r} "
            f"task, the data {data.name!r} is {data.task!r}."
        )


def make_twins(original: BaseModel, data: Any, twins: int | Sequence[Any], cfg: CompareConfig,
               rng: np.random.Generator, *, cache_dir: Path | None = None) -> Twins:
    """Find or build the original's twins (see the module docstring for the order)."""
    import time

    from ..data.dataset import Dataset
    from ..models.base import as_model

    start = time.perf_counter()
    if not isinstance(twins, int | np.integer) or isinstance(twins, bool):
        if isinstance(twins, str | bytes) or not isinstance(twins, Sequence):
            raise InvalidInputError(
                f"The 'twins' parameter of compare() must be an int ≥ 0 or a list of models. Got {type(twins).__name__}."
            )
        models = []
        for i, t in enumerate(twins):
            m = t if hasattr(t, "n_features") and hasattr(t, "output") else as_model(t)
            check_same_io(original, m, f"twin {i} ({getattr(m, 'kind', type(t).__name__)})")
            models.append(m)
        if not models:
            twins = 0
        else:
            return Twins(models, "given", [], f"{len(models)} twin{'s' if len(models) != 1 else ''} you passed")
    n = int(twins)
    if n < 0:
        raise InvalidInputError(f"The 'twins' parameter of compare() must be ≥ 0. Got {n}.")
    if n == 0:
        return Twins([], "none", [], "the explainer's own seed-to-seed noise (no twins: twins=0)",
                     note="twins=0")
    recipe = _recipe(original)
    labelled = isinstance(data, Dataset)
    fp = model_fingerprint(original)
    if recipe is not None and labelled:
        from ..models.trainer import TrainConfig, train

        _check_replayable(original, data)
        base = TrainConfig.from_dict(recipe, path="the original's recorded recipe (metadata.train)")
        seeds = _draw_seeds(n, rng, base.random_state)
        recipe_key = {**recipe, "random_state": None, "data": data.summary()}
        out, hits = [], 0
        with task("twins (retrained)", len(seeds)) as bar:
            for s in seeds:
                cfg_s = base.replace(random_state=s)
                m, hit = _cached(_key(fp, recipe_key, s), cache_dir, lambda c=cfg_s: train(data, c))
                out.append(m)
                hits += hit
                bar.advance(info="cached" if hit else "")
        desc = f"{n} retrained twin{'s' if n != 1 else ''} (the original's recipe, other seeds)"
        return Twins(out, "retrained", seeds, desc, seconds=time.perf_counter() - start, cached=hits)
    if getattr(original, "kind", None) == "torch" and labelled:
        _check_replayable(original, data)
        seeds = _draw_seeds(n, rng, None)
        recipe_key = {"finetune": {"epochs": cfg.twin_epochs, "lr": cfg.twin_lr}, "data": data.summary()}
        out, hits = [], 0
        with task("twins (fine-tuned)", len(seeds)) as bar:
            for s in seeds:
                m, hit = _cached(_key(fp, recipe_key, s), cache_dir,
                                 lambda s=s: _finetune_twin(original, data, cfg.twin_epochs, cfg.twin_lr, s))
                out.append(m)
                hits += hit
                bar.advance(info="cached" if hit else "")
        why = "the original was compressed, so its training recipe alone does not remake it" \
            if (getattr(original, "metadata", None) or {}).get("compression") else "no training recipe is recorded"
        desc = (f"{n} fine-tuned twin{'s' if n != 1 else ''} ({cfg.twin_epochs} epochs at lr {cfg.twin_lr:g} from "
                f"the original's weights, other seeds; {why})")
        return Twins(out, "fine-tuned", seeds, desc, seconds=time.perf_counter() - start, cached=hits)
    if recipe is None and getattr(original, "kind", None) != "torch":
        why = f"the {getattr(original, 'kind', '?')} original records no training recipe"
    else:
        why = "no labelled Dataset was given to train them on"
    return Twins([], "none", [], "the explainer's own seed-to-seed noise (no twins could be made: " + why + ")",
                 note=why)


def _finetune_twin(original: BaseModel, data: Dataset, epochs: int, lr: float, seed: int) -> BaseModel:
    from ..compress.finetune import task_loss
    from ..models.trainer import TrainConfig, fit_module

    twin = original.copy()  # type: ignore[attr-defined]
    cfg = TrainConfig(epochs=epochs, lr=lr, optimizer="adam", schedule="constant", random_state=seed)
    fit_module(twin.module, task_loss(twin), data.X_train, data.y_train, data.X_val, data.y_val, cfg,
               description="fine-tune twin")
    twin.module.eval()
    twin.metadata = {**{k: v for k, v in (original.metadata or {}).items() if k != "metrics"},
                     "twin": {"kind": "fine-tuned", "epochs": epochs, "lr": lr, "seed": seed}}
    return twin
