"""The inline plan language of ``leanlens compress --prune structured:0.5 --quantize int8``."""

from __future__ import annotations

from typing import Any

from ..errors import InvalidInputError
from .plan import StepConfig, parse_plan

__all__ = ["INLINE_ORDER", "inline_plan"]

#: the order inline steps run in (a plan file gives any other order)
INLINE_ORDER = ("distill", "prune", "lowrank", "finetune", "quantize")


def inline_plan(*, prune: str | None = None, finetune: int | None = None, quantize: str | None = None,
                lowrank: float | None = None, distill: str | None = None) -> list[StepConfig]:
    """Steps from short texts, in the order distill, prune, low-rank, fine-tune, quantize.

    ``prune`` is ``KIND:AMOUNT[:CRITERION]`` or ``AMOUNT`` (structured), ``distill`` the student's
    hidden widths (``"64,32"``), ``lowrank`` the fraction of the rank kept, ``finetune`` epochs,
    ``quantize`` the dtype. An empty list when no step is given.

    Examples
    --------
    >>> [s.step for s in inline_plan(prune="unstructured:0.8", quantize="int8")]
    ['prune', 'quantize']
    """
    steps: list[dict[str, Any]] = []
    if distill is not None:
        try:
            hidden = [int(t) for t in distill.split(",") if t.strip()]
        except ValueError:
            raise InvalidInputError(f"The 'distill' parameter must be comma-separated widths such as 64,32. "
                                    f"Got {distill!r}.") from None
        steps.append({"distill": {"hidden": hidden}})
    if prune is not None:
        parts = prune.split(":")
        if len(parts) == 1:
            parts = ["structured", *parts]
        try:
            spec: dict[str, Any] = {"kind": parts[0], "amount": float(parts[1])}
        except (ValueError, IndexError):
            raise InvalidInputError(
                f"The 'prune' parameter must look like structured:0.5, unstructured:0.8 or structured:0.5:taylor. "
                f"Got {prune!r}."
            ) from None
        if len(parts) > 2:
            spec["criterion"] = parts[2]
        steps.append({"prune": spec})
    if lowrank is not None:
        steps.append({"lowrank": {"rank_ratio": lowrank}})
    if finetune is not None:
        steps.append({"finetune": {"epochs": finetune}})
    if quantize is not None:
        # "int8" (the default mode, static), "static" or "dynamic"
        steps.append({"quantize": {"mode": quantize} if quantize in ("static", "dynamic") else {"dtype": quantize}})
    return parse_plan(steps) if steps else []
