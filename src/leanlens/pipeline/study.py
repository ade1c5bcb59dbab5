"""The Optuna study of a sweep: its storage (checked before use), sampler and stale trials."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any, Literal

from ..errors import LeanlensError

__all__ = ["DIRECTIONS", "StudyStorageError", "check_sqlite", "check_storage", "fail_stale", "open_study"]

#: the objectives' directions: accuracy ↑, latency ↓, agreement ↑ (see trial.OBJECTIVES)
DIRECTIONS: tuple[Literal["maximize", "minimize"], ...] = ("maximize", "minimize", "maximize")


class StudyStorageError(LeanlensError):
    """The study database is locked by another process, corrupt, or unusable."""


def check_storage(storage: str) -> None:
    """Refuse an Optuna storage URL that cannot work, before the sweep folder is created."""
    if not isinstance(storage, str) or not storage.strip():
        raise StudyStorageError(f"The 'storage' parameter must be a database URL such as sqlite:///study.db. Got {storage!r}.")
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        url = make_url(storage)
        url.get_dialect()
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise StudyStorageError(
            f"The 'storage' URL {storage[:200]!r} is not a usable database URL ({exc}); "
            "give one such as sqlite:///study.db."
        ) from None
    if url.get_backend_name() == "sqlite":
        db = url.database or ""
        if db in ("", ":memory:") or db.startswith("file:"):
            raise StudyStorageError(f"The 'storage' URL {storage[:200]!r} names no SQLite file; a sweep needs a file to resume from.")
        parent = Path(db).parent
        if not parent.is_dir():
            raise StudyStorageError(f"The 'storage' URL {storage[:200]!r} points into {str(parent)!r}, which is not a folder.")


def check_sqlite(path: Path, *, timeout_s: float = 2.0) -> None:
    """Raise StudyStorageError if the SQLite file is corrupt or locked by another writer."""
    if not path.exists():
        return
    try:
        con = sqlite3.connect(str(path), timeout=timeout_s)
    except sqlite3.Error as exc:
        raise StudyStorageError(f"The study database {str(path)!r} cannot be opened: {exc}.") from None
    try:
        con.execute("PRAGMA schema_version").fetchone()
        con.execute("BEGIN IMMEDIATE")
        con.execute("ROLLBACK")
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise StudyStorageError(
                f"The study database {str(path)!r} is locked by another process (is another sweep writing to it?). "
                "Wait for it to finish, or give another --out / --storage."
            ) from None
        raise StudyStorageError(f"The study database {str(path)!r} is unusable: {exc}.") from None
    except sqlite3.DatabaseError as exc:
        raise StudyStorageError(
            f"The study database {str(path)!r} is corrupt ({exc}). Delete it, or pass --overwrite to start the sweep again."
        ) from None
    finally:
        con.close()


def _sampler(name: str, seed: int) -> Any:
    import optuna

    makers = {"tpe": optuna.samplers.TPESampler, "nsga2": optuna.samplers.NSGAIISampler,
              "random": optuna.samplers.RandomSampler}
    return makers[name](seed=seed)


def open_study(storage: str, name: str, seed: int, sampler: str = "tpe") -> Any:
    import optuna

    if storage.startswith("sqlite:///"):
        check_sqlite(Path(storage.removeprefix("sqlite:///")))
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = optuna.create_study(storage=storage, study_name=name, directions=list(DIRECTIONS),
                                    load_if_exists=True, sampler=_sampler(sampler, seed))
    except Exception as exc:  # sqlalchemy / optuna storage errors: report one clear line
        raise StudyStorageError(f"Could not open the Optuna study {name!r} in {storage!r}: {type(exc).__name__}: {exc}") from None
    if list(study.directions) and [d.name.lower() for d in study.directions] != list(DIRECTIONS):
        raise StudyStorageError(f"The study {name!r} in {storage!r} has other objectives; use another study_name.")
    return study


def fail_stale(study: Any) -> int:
    """Trials left RUNNING by a killed sweep: mark them failed so they are sampled again."""
    from optuna.trial import TrialState

    stale = [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.RUNNING]
    for t in stale:
        study.tell(t.number, state=TrialState.FAIL)
    return len(stale)
