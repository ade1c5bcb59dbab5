"""JSON schema of a config dataclass, from its field types and its declared constraints.

The same declarations that validate a config (:mod:`leanlens._validation`) describe it to a
person or an editor: ``leanlens schema`` types every plan step and every config with them,
so a plan can be written from the schema alone.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, get_args, get_origin

from ._validation import Constraint, Each, InstanceOf, Interval, Options, Spec

__all__ = ["config_schema", "constraint_schema"]

_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", dict: "object"}


def constraint_schema(spec: Spec) -> dict[str, Any]:
    """One constraint spec (a Constraint, None, or a list of alternatives) as a JSON schema."""
    if spec is None:
        return {"type": "null"}
    if isinstance(spec, Constraint):
        return _one(spec)
    alts = [constraint_schema(s) for s in spec]
    return alts[0] if len(alts) == 1 else {"anyOf": alts}


def _one(c: Constraint) -> dict[str, Any]:
    if isinstance(c, Interval):
        out: dict[str, Any] = {"type": "integer" if c.kind is int else "number"}
        left, right = c.closed in ("both", "left"), c.closed in ("both", "right")
        if c.low is not None:
            out["minimum" if left else "exclusiveMinimum"] = c.low
        if c.high is not None:
            out["maximum" if right else "exclusiveMaximum"] = c.high
        return out
    if isinstance(c, Options):
        return {"enum": list(c.options)}
    if isinstance(c, Each):
        arr: dict[str, Any] = {"type": "array", "items": _one(c.item)}
        if c.min_len:
            arr["minItems"] = c.min_len
        if c.max_len is not None:
            arr["maxItems"] = c.max_len
        return arr
    if isinstance(c, InstanceOf):
        kinds = [_JSON_TYPES[t] for t in c.types if t in _JSON_TYPES]
        return {"type": kinds[0] if len(kinds) == 1 else kinds} if kinds else {}
    return {"description": str(c)}


def _type_schema(hint: Any) -> dict[str, Any]:
    """A schema from a type hint alone (used where no constraint is declared)."""
    origin, args = get_origin(hint), get_args(hint)
    if origin in (typing.Union, types.UnionType):
        alts = [_type_schema(a) for a in args]
        return {"anyOf": alts}
    if origin is Literal:
        return {"enum": list(args)}
    if origin in (tuple, list):
        item = args[0] if args else Any
        return {"type": "array", "items": _type_schema(item)}
    if origin in (dict, Mapping):
        return {"type": "object"}
    if hint is type(None):
        return {"type": "null"}
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return config_schema(hint)
    if hint in _JSON_TYPES:
        return {"type": _JSON_TYPES[hint]}
    return {}


def config_schema(cls: type) -> dict[str, Any]:
    """The JSON schema of a :class:`~leanlens.config.Config` dataclass: one property per init field,
    typed by its declared constraint (or its type hint), with its default; unknown keys refused."""
    hints = typing.get_type_hints(cls)
    constraints: Mapping[str, Spec] = getattr(cls, "constraints", {})
    props: dict[str, Any] = {}
    required = []
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        prop = constraint_schema(constraints[f.name]) if f.name in constraints else _type_schema(hints[f.name])
        if f.default is not dataclasses.MISSING:
            default = f.default
            prop["default"] = list(default) if isinstance(default, tuple) else default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
            prop["default"] = list(default) if isinstance(default, tuple) else default
        else:
            required.append(f.name)
        props[f.name] = prop
    doc = (cls.__doc__ or "").strip().splitlines()
    out: dict[str, Any] = {"title": cls.__name__, "type": "object", "properties": props, "additionalProperties": False}
    if doc:
        out["description"] = doc[0]
    if required:
        out["required"] = required
    return out
