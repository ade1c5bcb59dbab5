"""Shared configuration base: frozen dataclasses that round-trip through dict, JSON and YAML."""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Self, get_args, get_origin

import yaml

from ._io import atomic_write_text
from ._validation import Spec, check_params
from .errors import ConfigError, did_you_mean, short_repr

__all__ = ["Config", "load_yaml", "loads_yaml"]

CONFIG_VERSION = 1


def load_yaml(path: str | Path, *, param: str = "config") -> Any:
    """Read a YAML file safely; every problem is a ConfigError naming the file.

    Safe means: plain YAML types only (no ``!!python/…`` or other tags), no anchors or
    aliases (the "billion laughs" expand a few hundred bytes into gigabytes), at most
    ``MAX_YAML_BYTES`` (8 MiB) on disk, ``MAX_YAML_NODES`` nodes and ``MAX_NESTING`` levels
    (caps of :mod:`leanlens.limits`), and UTF-8 text. A syntax error names the line and column.
    """
    from .limits import cap, raise_hint

    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"The {param!r} file {short_repr(str(p))} does not exist.")
    size = p.stat().st_size
    if size > cap("MAX_YAML_BYTES"):
        raise ConfigError(f"The {param!r} file {short_repr(str(p))} is {size:,} bytes; a config is at most "
                          f"{cap('MAX_YAML_BYTES'):,}. {raise_hint('MAX_YAML_BYTES')}")
    try:
        text = p.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"The {param!r} file {short_repr(str(p))} is not UTF-8 text "
                          f"(byte {exc.start} is 0x{exc.object[exc.start]:02x}); save it as UTF-8.") from None
    except OSError as exc:
        raise ConfigError(f"The {param!r} file {short_repr(str(p))} cannot be read: {exc.strerror}.") from None
    return loads_yaml(text, where=f"The {param!r} file {short_repr(str(p))}")


def loads_yaml(text: str, *, where: str = "The YAML text") -> Any:
    """Parse YAML text with the rules of :func:`load_yaml` (``where`` starts every error message)."""
    from .limits import cap

    _check_yaml_events(text, where, max_depth=cap("MAX_NESTING"), max_nodes=cap("MAX_YAML_NODES"))
    try:
        return yaml.load(text, Loader=_SafeLoader)
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, where) from None
    except RecursionError:
        raise ConfigError(f"{where} is nested too deeply.") from None


_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _check_yaml_events(text: str, where: str, *, max_depth: int, max_nodes: int) -> None:
    """Refuse anchors, aliases, tags, deep nesting and too many nodes (one pass over the parser's events)."""
    from .limits import raise_hint

    depth = nodes = 0
    try:
        for event in yaml.parse(text, Loader=_SafeLoader):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                line = event.start_mark.line + 1 if event.start_mark else "?"
                raise ConfigError(f"{where} uses a YAML anchor or alias (&/*) at line {line}; leanlens refuses "
                                  "them (they can expand a small file into gigabytes). Write the values out.")
            tag = getattr(event, "tag", None)
            if tag and not tag.startswith("tag:yaml.org,2002:") and tag != "!":
                line = event.start_mark.line + 1 if event.start_mark else "?"
                raise ConfigError(f"{where} uses the YAML tag {short_repr(tag)} at line {line}; only plain "
                                  "YAML values (strings, numbers, lists, mappings) are allowed.")
            if tag and tag.startswith("tag:yaml.org,2002:python/"):
                raise ConfigError(f"{where} uses the YAML tag {short_repr(tag)}; Python objects are never loaded.")
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > max_depth:
                    raise ConfigError(f"{where} is nested deeper than {max_depth} levels.")
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
            if isinstance(event, yaml.NodeEvent):
                nodes += 1
                if nodes > max_nodes:
                    raise ConfigError(f"{where} holds more than {max_nodes:,} values. {raise_hint('MAX_YAML_NODES')}")
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, where) from None


def _yaml_error(exc: yaml.YAMLError, where: str) -> ConfigError:
    """A YAML parse error in one line: where, and at which line and column when known."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        return ConfigError(f"{where} is not valid YAML{at}: {short_repr(exc.problem)}.")
    return ConfigError(f"{where} is not valid YAML: {short_repr(str(exc))}.")


@dataclasses.dataclass(frozen=True)
class Config:
    """Base of every config: frozen, validated in ``__post_init__``, round-trips to dict/YAML.

    ``constraints`` declares each field's rule (see :mod:`leanlens._validation`); they are
    checked first, then ``validate()`` checks what involves several fields.
    """

    #: The config's name in error messages and file paths ("train", "prune", …).
    config_name: ClassVar[str] = "config"
    constraints: ClassVar[Mapping[str, Spec]] = {}

    def validate(self) -> None:
        """Raise ConfigError on bad combinations of values. Subclasses override."""

    def __post_init__(self) -> None:
        check_params(self, self.constraints, owner=type(self).__name__, error=ConfigError)
        self.validate()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, Config):
                v = v.to_dict()
            elif isinstance(v, tuple):
                v = [x.to_dict() if isinstance(x, Config) else x for x in v]
            out[f.name] = v
        return out

    @classmethod
    def from_dict(cls, data: Any, *, path: str = "") -> Self:
        where = path or cls.config_name
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ConfigError(f"{where}: expected a mapping, got {type(data).__name__} ({short_repr(data)}).")
        fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
        kwargs: dict[str, Any] = {}
        hints = typing.get_type_hints(cls)
        for key, value in data.items():
            if key == "version":
                continue
            if key not in fields:
                raise ConfigError(
                    f"{where}: unknown key {short_repr(key)}.{did_you_mean(str(key)[:200], fields)} "
                    f"Valid keys: {', '.join(sorted(fields))}."
                )
            kwargs[key] = _coerce(value, hints[key], f"{where}.{key}")
        try:
            return cls(**kwargs)
        except TypeError as exc:
            raise ConfigError(f"{where}: {short_repr(str(exc), 400)}.") from None

    def to_yaml(self) -> str:
        return yaml.safe_dump({"version": CONFIG_VERSION, **self.to_dict()}, sort_keys=False)

    def save(self, path: str | Path) -> Path:
        return atomic_write_text(path, self.to_yaml())

    @classmethod
    def from_yaml(cls, path: str | Path) -> Self:
        return cls.from_dict(load_yaml(path), path=str(path))

    def replace(self, **changes: Any) -> Self:
        return dataclasses.replace(self, **changes)


def _coerce(value: Any, hint: Any, where: str) -> Any:
    """Turn YAML/JSON values into the field's type (lists → tuples, nested configs)."""
    origin = get_origin(hint)
    args = get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        non_none = [a for a in args if a is not type(None)]
        for a in non_none:
            if get_origin(a) is tuple and isinstance(value, list | tuple):
                return _coerce(value, a, where)
        if len(non_none) == 1:
            return _coerce(value, non_none[0], where)
        return value
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{where}: expected a list, got {type(value).__name__} ({short_repr(value)}).")
        return tuple(value)
    if isinstance(hint, type) and issubclass(hint, Config):
        return hint.from_dict(value, path=where)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value
