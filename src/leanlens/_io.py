"""Atomic file output: write to a temporary name in the same folder, then rename.

Output folders follow three rules, checked *before* any work starts (``prepare_out_dir``):

- the destination must be creatable: its nearest existing ancestor is a writable folder on a
  writable file system and every name fits the file system's limit;
- leanlens never writes over the current folder or one of its parents;
- ``overwrite`` only replaces a folder that leanlens wrote (it carries a ``.leanlens``
  marker file); a user's folder is never deleted.

Every file and folder written gets the mode a plain ``open()``/``mkdir()`` would give under
the process umask, and a failed or interrupted write leaves no hidden temporary behind.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import OutputError, OutputExistsError

__all__ = [
    "MARKER",
    "atomic_dir",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "check_destination",
    "is_leanlens_folder",
    "mark_folder",
    "os_error_message",
    "prepare_out_dir",
]

#: The file that marks a folder as written by leanlens (and so replaceable with ``overwrite``).
MARKER = ".leanlens"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def os_error_message(exc: OSError) -> str:
    """'permission denied', 'read-only file system', ... for an OSError (its strerror, lower case)."""
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    text = exc.strerror or (os.strerror(exc.errno) if exc.errno else str(exc))
    return text[:1].lower() + text[1:]


def _output_error(path: Path, exc: OSError, what: str = "write") -> OutputError:
    return OutputError(f"Cannot {what} {str(path)!r}: {os_error_message(exc)}.")


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file and an atomic rename."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise _output_error(path, exc) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        # mkstemp creates 0600; give the file the mode a plain open() would have.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and not isinstance(exc, OutputError):
            raise _output_error(path, exc) from None
        raise
    return path


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=_json_default) + "\n")


def _json_default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def is_leanlens_folder(path: str | os.PathLike[str]) -> bool:
    """True if ``path`` is a folder carrying the ``.leanlens`` marker (a regular file, not a link)."""
    marker = Path(path) / MARKER
    return marker.is_file() and not marker.is_symlink()


def mark_folder(path: str | os.PathLike[str], kind: str) -> None:
    """Write the ``.leanlens`` marker into a folder leanlens owns (``kind``: model, run, ...)."""
    from ._version import __version__

    atomic_write_text(Path(path) / MARKER, json.dumps({"written_by": "leanlens", "kind": kind,
                                                       "leanlens_version": __version__}) + "\n")


def _nearest_existing(path: Path) -> Path:
    p = path
    while not os.path.lexists(p) and p != p.parent:
        p = p.parent
    return p


def check_destination(path: str | os.PathLike[str], *, param: str = "out") -> Path:
    """Raise OutputError unless ``path`` could be created (or replaced) as a folder.

    Checked without leaving anything behind: not the current folder or a parent of it;
    every name within the file system's length limit; the nearest existing ancestor a
    folder where this process may create entries (probed with a temporary folder that is
    removed at once, so that read-only mounts, ``/proc`` and permissions are all caught).
    """
    if isinstance(path, bytes) or not isinstance(path, str | os.PathLike):
        raise OutputError(f"The {param!r} parameter must be a path (str or os.PathLike). Got {type(path).__name__}.")
    p = Path(path)
    if str(path) == "" or "\x00" in str(path):
        raise OutputError(f"The {param!r} path must be a non-empty path without NUL characters. Got {str(path)!r}.")
    absolute = Path(os.path.abspath(p))
    try:
        real, cwd = absolute.resolve(), Path.cwd().resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop, a vanished cwd
        raise OutputError(f"The {param!r} path {str(p)!r} cannot be resolved: {exc}.") from None
    if real == cwd or real in cwd.parents:
        raise OutputError(
            f"The {param!r} folder {str(p)!r} is the current folder or one of its parents; leanlens never "
            f"writes its output over it. Give a new folder such as {str(p / 'leanlens-out')!r}."
        )
    anchor = _nearest_existing(absolute.parent)
    try:
        name_max = os.pathconf(anchor if anchor.is_dir() else anchor.parent, "PC_NAME_MAX")
    except (OSError, ValueError):
        name_max = 255
    for part in absolute.parts:
        if len(os.fsencode(part)) > name_max:
            raise OutputError(
                f"The {param!r} path {str(p)[:80]!r}… has a name of {len(os.fsencode(part))} bytes; "
                f"the file system allows at most {name_max}."
            )
    if len(os.fsencode(str(absolute))) > 4000:
        raise OutputError(f"The {param!r} path is {len(os.fsencode(str(absolute)))} bytes long; at most 4000 are allowed.")
    if not anchor.is_dir():
        raise OutputError(f"The {param!r} path {str(p)!r} cannot be created: {str(anchor)!r} is a file, not a folder.")
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".leanlens-probe-", dir=anchor))
    except OSError as exc:
        raise OutputError(
            f"The {param!r} folder {str(p)!r} cannot be created in {str(anchor)!r}: {os_error_message(exc)}."
        ) from None
    return p


def prepare_out_dir(path: str | os.PathLike[str], *, overwrite: bool, param: str = "out") -> Path:
    """Check that an output folder may be written, before any work starts.

    Refuses a destination that cannot be created (see :func:`check_destination`), an
    existing non-empty folder unless ``overwrite``, and — even with ``overwrite`` — a folder
    leanlens did not write (no ``.leanlens`` marker).
    """
    path = check_destination(path, param=param)
    if not os.path.lexists(path):
        return path
    if not path.is_dir():
        raise OutputExistsError(f"The {param!r} path {str(path)!r} exists and is not a folder.")
    try:
        empty = not any(path.iterdir())
    except OSError as exc:
        raise _output_error(path, exc, "read the folder") from None
    if empty:
        return path
    if not overwrite:
        raise OutputExistsError(
            f"The {param!r} folder {str(path)!r} already exists. "
            "Choose another folder or pass overwrite=True (--overwrite in the CLI)."
        )
    if not is_leanlens_folder(path):
        raise OutputExistsError(
            f"The {param!r} folder {str(path)!r} exists and was not written by leanlens (no {MARKER} marker); "
            "refusing to replace it even with overwrite. Choose another folder or empty it yourself."
        )
    return path


def _chmod_tree(root: Path) -> None:
    """Give every folder and file under ``root`` the mode mkdir()/open() would give under the umask
    (writers such as safetensors create 0600 files)."""
    mask = _umask()
    for dirpath, dirnames, filenames in os.walk(root):
        os.chmod(dirpath, 0o777 & ~mask)
        for name in filenames:
            f = os.path.join(dirpath, name)
            if not os.path.islink(f):
                os.chmod(f, 0o666 & ~mask)
        for name in dirnames:
            d = os.path.join(dirpath, name)
            if os.path.islink(d):
                dirnames.remove(name)


def _remove_created_parents(created: list[Path]) -> None:
    for d in created:  # deepest first
        with contextlib.suppress(OSError):
            d.rmdir()  # only if still empty


def _make_parents(folder: Path) -> list[Path]:
    """mkdir -p ``folder``; the folders it created, deepest first."""
    created: list[Path] = []
    p = Path(os.path.abspath(folder))
    while not os.path.lexists(p) and p != p.parent:
        created.append(p)
        p = p.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _remove_created_parents(created)
        raise _output_error(folder, exc, "create the folder") from None
    return created


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike[str], *, overwrite: bool = False, param: str = "out",
               kind: str = "output") -> Iterator[Path]:
    """Build a folder under a temporary name and rename it into place when the block succeeds.

    An interrupted or failed block leaves nothing at ``path`` (no hidden temporary folder, no
    parent folder it created), and an existing folder is only replaced once the new one is
    complete. The finished folder carries the ``.leanlens`` marker.
    """
    final = prepare_out_dir(path, overwrite=overwrite, param=param)
    created = _make_parents(final.parent)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    except OSError as exc:
        _remove_created_parents(created)
        raise _output_error(final, exc) from None
    old: Path | None = None
    try:
        yield tmp
        mark_folder(tmp, kind)
        _chmod_tree(tmp)
        if os.path.lexists(final):
            # checked again: the folder may have been filled while the work ran
            prepare_out_dir(final, overwrite=overwrite, param=param)
            old = final.with_name(f".{final.name}.old-{os.getpid()}")
            os.replace(final, old)
        os.replace(tmp, final)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and not os.path.lexists(final):
            with contextlib.suppress(OSError):
                os.replace(old, final)  # put the earlier folder back
        _remove_created_parents(created)
        if isinstance(exc, OSError) and not isinstance(exc, OutputError | OutputExistsError):
            raise _output_error(final, exc) from None
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
