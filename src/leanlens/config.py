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
from .errors import ConfigError, did_you_mean

__all__ = ["Config", "load_yaml"]

CONFIG_VERSION = 1


def load_yaml(path: str | Path, *, param: str = "config") -> Any:
    """Read a YAML file; a syntax error names the line and column."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"The {param!r} file {str(p)!r} does not exist.")
    text = p.read_text(encoding="utf-8")
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"The {param!r} file {str(p)!r} is not valid YAML{where}: {exc.problem}.") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"The {param!r} file {str(p)!r} is not valid YAML: {exc}.") from None


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
            raise ConfigError(f"{where}: expected a mapping, got {type(data).__name__} ({data!r}).")
        fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
        kwargs: dict[str, Any] = {}
        hints = typing.get_type_hints(cls)
        for key, value in data.items():
            if key == "version":
                continue
            if key not in fields:
                raise ConfigError(
                    f"{where}: unknown key {key!r}.{did_you_mean(str(key), fields)} "
                    f"Valid keys: {', '.join(sorted(fields))}."
                )
            kwargs[key] = _coerce(value, hints[key], f"{where}.{key}")
        try:
            return cls(**kwargs)
        except TypeError as exc:
            raise ConfigError(f"{where}: {exc}.") from None

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
            raise ConfigError(f"{where}: expected a list, got {type(value).__name__} ({value!r}).")
        return tuple(value)
    if isinstance(hint, type) and issubclass(hint, Config):
        return hint.from_dict(value, path=where)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value
