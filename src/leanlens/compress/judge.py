"""The same-reasons judge the auto search asks, registered from above.

``compress`` sits below ``compare`` (fine-tune twins use compress's steps), so the auto
search may not import :func:`leanlens.compare`. ``leanlens.compare`` registers itself here
when it is imported — and ``leanlens/__init__`` always imports it — so ``compress(plan="auto",
budget=AutoBudget(require="same-reasons"))`` is judged by exactly the verdict ``compare()``
gives, with no copy of it and no upward import.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import ConfigError

__all__ = ["config_type", "judge", "register_judge"]

_registered: dict[str, Any] = {}


def register_judge(fn: Callable[..., Any], *, config: type) -> None:
    """Register ``fn(original, candidate, data, explainers, *, random_state, config, cache_dir, twins)``
    (returning an object with ``verdict`` and ``sentence``; ``twins``: how many twins make the
    yardstick) and the type of its ``config``."""
    _registered["judge"], _registered["config"] = fn, config


def judge() -> Callable[..., Any]:
    """The registered judge; a clear error when nothing registered one."""
    if "judge" not in _registered:
        raise ConfigError("No same-reasons judge is registered: import leanlens (or leanlens.compare) first.")
    return _registered["judge"]  # type: ignore[no-any-return]


def config_type() -> type | None:
    """The type the judge's ``config`` must have (None before registration)."""
    return _registered.get("config")
