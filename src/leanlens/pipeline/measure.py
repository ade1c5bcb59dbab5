"""Size on disk of a model folder, as the run's model table reports it (latency: leanlens.models.latency)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["folder_size"]


def folder_size(path: str | Path) -> int:
    """Bytes of every file under ``path`` (or of the file ``path``)."""
    p = Path(path)
    if p.is_file():
        return p.stat().st_size
    return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
