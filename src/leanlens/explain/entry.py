"""``leanlens.explain``: the ``explain()`` function that is also the way into the explain package.

ARCHITECTURE.md promises ``leanlens.explain(model, X, method=...)`` while
``leanlens.explain`` is also a package (``leanlens.explain.plots``, …). A plain
function bound to that name would hide the package's attributes (and break
``import leanlens.explain.plots as p``); this callable forwards attribute access
to the package instead, so every spelling works.
"""

from __future__ import annotations

import importlib
from typing import Any

from .base import explain as _explain

__all__ = ["explain_entry"]


class _ExplainEntry:
    """Call it as :func:`leanlens.explain.base.explain`; read it as the ``leanlens.explain`` package."""

    __call__ = staticmethod(_explain)

    def __init__(self) -> None:
        self.__doc__ = _explain.__doc__
        self.__wrapped__ = _explain  # inspect.signature() and help() show explain()'s signature

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        package = importlib.import_module(__package__ or "leanlens.explain")
        if hasattr(package, name):
            return getattr(package, name)
        try:
            return importlib.import_module(f"{package.__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{package.__name__}.{name}":
                raise AttributeError(f"module 'leanlens.explain' has no attribute {name!r}") from None
            raise

    def __dir__(self) -> list[str]:
        return sorted(dir(importlib.import_module(__package__ or "leanlens.explain")))

    def __repr__(self) -> str:
        return "<leanlens.explain: call it to explain a model; its attributes are the leanlens.explain package>"


explain_entry = _ExplainEntry()
