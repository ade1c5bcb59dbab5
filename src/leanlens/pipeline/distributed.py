"""Explaining many rows through an executor: rows split into chunks, one task per chunk."""

from __future__ import annotations

import dataclasses
import hashlib
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InvalidInputError
from .executors import Executor, LocalExecutor

__all__ = ["clear_unpacked", "concat_explanations", "explain_rows", "pack_model", "unpack_model"]


# key → (model, the temporary folder it was unpacked into); the folder lives as long as the entry.
_UNPACKED: dict[str, tuple[Any, tempfile.TemporaryDirectory[str]]] = {}


def clear_unpacked() -> None:
    """Drop the cached unpacked models and delete their temporary folders."""
    while _UNPACKED:
        _, (_, tmp) = _UNPACKED.popitem()
        tmp.cleanup()


def pack_model(model: Any) -> dict[str, bytes]:
    """A model as the bytes of its saved folder: picklable whatever runs it (an ONNX Runtime
    session is not), and loadable on another machine of a cluster."""
    with tempfile.TemporaryDirectory(prefix="leanlens-pack-") as tmp:
        folder = Path(tmp) / "model"
        model.save(folder)
        return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def unpack_model(payload: dict[str, bytes]) -> Any:
    """The model of :func:`pack_model` (loaded once per worker process and cached)."""
    from ..models import load_model

    key = hashlib.sha256(b"".join(k.encode() + v for k, v in sorted(payload.items()))).hexdigest()
    if key not in _UNPACKED:
        clear_unpacked()  # keep one model per worker: sweeps send a new one per trial
        tmp = tempfile.TemporaryDirectory(prefix="leanlens-model-", ignore_cleanup_errors=True)
        try:
            folder = Path(tmp.name)
            for name, data in payload.items():
                (folder / name).parent.mkdir(parents=True, exist_ok=True)
                (folder / name).write_bytes(data)
            model = load_model(folder)
        except BaseException:
            tmp.cleanup()
            raise
        _UNPACKED[key] = (model, tmp)
    return _UNPACKED[key][0]


def _explain_chunk(task: dict[str, Any]) -> Any:
    """One task: explain ``task["X"]`` (runs in a Ray worker or in this process)."""
    from ..explain import explain

    model = task["model"]
    if isinstance(model, dict):  # packed for a task in another process
        model = unpack_model(model)
    return explain(model, task["X"], method=task["method"], background=task["background"], target=task["target"],
                   budget=task["budget"], random_state=task["random_state"], **task["params"])


def explain_rows(
    model: Any,
    X: np.ndarray,
    method: str,
    *,
    background: np.ndarray | None,
    target: Any = "predicted",
    budget: int | None = None,
    random_state: int | None = None,
    params: dict[str, Any] | None = None,
    executor: Executor | None = None,
    chunk_rows: int = 100,
    on_chunk: Callable[[int, int], None] | None = None,
    stage: str | None = None,
) -> Any:
    """Explain the rows of ``X`` in chunks of ``chunk_rows`` rows, one task per chunk.

    ``on_chunk(done, total)`` is called as each chunk is explained; progress is also reported,
    one unit per chunk, as the stage ``stage`` (default ``explain (<method>)``) of
    :mod:`leanlens.progress`.

    Chunk ``j`` gets the seed ``random_state + j`` on every executor, so the result depends
    on ``chunk_rows`` only: not on the backend, nor on the number of workers. With one chunk
    it is ``explain(model, X, ..., random_state=random_state)``.

    Returns
    -------
    Explanation of all rows (``seconds`` is the wall time of the whole call).
    """
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise InvalidInputError(f"The 'chunk_rows' parameter must be an int ≥ 1. Got {chunk_rows!r}.")
    if len(X) == 0:
        raise InvalidInputError("The 'X' parameter has no rows to explain.")
    executor = executor or LocalExecutor()
    start = time.perf_counter()
    model_ref = executor.put(pack_model(model) if executor.remote else model)
    bg_ref = executor.put(background)
    tasks = [
        dict(model=model_ref, background=bg_ref, X=X[i : i + chunk_rows], method=method, target=target,
             budget=budget, random_state=None if random_state is None else random_state + j, params=params or {})
        for j, i in enumerate(range(0, len(X), chunk_rows))
    ]
    from ..progress import task

    with task(stage or f"explain ({method})", len(tasks)) as bar:
        def done(k: int, n: int) -> None:
            bar.advance(info=f"{min(k * chunk_rows, len(X))}/{len(X)} rows")
            if on_chunk is not None:
                on_chunk(k, n)

        parts = executor.map(_explain_chunk, tasks, on_done=done)
    expl = concat_explanations(parts)
    expl.seconds = time.perf_counter() - start
    return expl


def concat_explanations(parts: list[Any]) -> Any:
    """Stack explanations of consecutive row blocks (same method, features and outputs)."""
    if not parts:
        raise InvalidInputError("concat_explanations needs at least one explanation.")
    first = parts[0]
    if len(parts) == 1:
        return first
    for p in parts[1:]:
        if p.feature_names != first.feature_names or p.values.shape[2:] != first.values.shape[2:]:
            raise InvalidInputError("Explanations to concatenate must share features and outputs.")

    def cat(name: str) -> Any:
        arrays = [getattr(p, name) for p in parts]
        return None if any(a is None for a in arrays) else np.concatenate(arrays)

    return dataclasses.replace(
        first,
        values=cat("values"), base_values=cat("base_values"), data=cat("data"), stderr=cat("stderr"),
        targets=cat("targets"), n_model_evals=sum(int(p.n_model_evals) for p in parts),
        notes=tuple(dict.fromkeys(n for p in parts for n in p.notes)),
        params={**first.params, "chunks": len(parts)},
    )
