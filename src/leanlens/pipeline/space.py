"""The search space of a sweep: checking it, drawing one point through Optuna, and the plan of
that point (the ``sweep.plan`` template with the point's values set)."""

from __future__ import annotations

import json
from typing import Any

from ..errors import ConfigError
from .config import ParamSpec, PipelineConfig

__all__ = ["build_plan", "check_space", "suggest"]


def check_space(cfg: PipelineConfig) -> None:
    """Refuse a sweep without a search space (or one whose every dimension has a single value)."""
    sw = cfg.sweep
    if sw is None or not sw.plan:
        raise ConfigError("The pipeline has no 'sweep' section with a 'plan' template; a sweep needs "
                          "sweep.plan (the steps) and sweep.space (the values to try).")
    if not sw.space:
        raise ConfigError("The search space 'sweep.space' is empty: give at least one dimension, e.g. "
                          "prune.amount: {low: 0.2, high: 0.8}.")
    if all(_n_values(p) == 1 for p in sw.space.values()):
        raise ConfigError("The search space 'sweep.space' is empty: every dimension has a single value "
                          f"({', '.join(sw.space)}), so there is nothing to search.")
    # Every plan the space can produce must be a valid plan: check one corner now.
    from ..compress.plan import parse_plan

    corner = {k: (p.choices[0] if p.choices is not None else p.low) for k, p in sw.space.items()}
    parse_plan(build_plan(sw.plan, {k: int(v) if sw.space[k].int and v is not None else v for k, v in corner.items()}))


def _n_values(p: ParamSpec) -> int:
    if p.choices is not None:
        return len({json.dumps(c, sort_keys=True) for c in p.choices})
    return 1 if p.low == p.high else 2


def _encode(choice: Any) -> Any:
    return choice if choice is None or isinstance(choice, bool | int | float | str) else json.dumps(choice)


def suggest(trial: Any, space: dict[str, ParamSpec]) -> dict[str, Any]:
    """Draw one point of the space through an Optuna trial."""
    out: dict[str, Any] = {}
    for name, p in space.items():
        if p.choices is not None:
            encoded = [_encode(c) for c in p.choices]
            value = trial.suggest_categorical(name, encoded)
            out[name] = p.choices[encoded.index(value)]
        elif p.int:
            out[name] = trial.suggest_int(name, int(p.low or 0), int(p.high or 0), log=p.log)
        else:
            out[name] = trial.suggest_float(name, float(p.low or 0), float(p.high or 0), log=p.log)
    return out


def build_plan(template: list[dict[str, dict[str, Any]]], params: dict[str, Any]) -> list[dict[str, Any]]:
    """The plan of one trial: the template with ``step.field`` values set and ``step.enabled: false``
    steps removed.

    Examples
    --------
    >>> build_plan([{"prune": {"amount": 0.5}}, {"quantize": {}}], {"prune.amount": 0.3, "quantize.enabled": False})
    [{'prune': {'amount': 0.3}}]
    """
    plan = []
    for step in template:
        ((name, fields),) = step.items()
        if params.get(f"{name}.enabled", True) is False:
            continue
        fields = dict(fields or {})
        for key, value in params.items():
            s, _, field = key.partition(".")
            if s == name and field != "enabled":
                fields[field] = value
        plan.append({name: fields})
    if not plan:
        raise ConfigError(f"The trial parameters {params} switch off every step of sweep.plan; keep at least one.")
    return plan
