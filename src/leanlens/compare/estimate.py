"""Explaining the original, the compressed model and the twins with common random numbers.

Every model is explained on the same rows, background and targets with the same seed, so a
sampling explainer draws the same coalitions for each: the estimated *difference* of two
models' explanations is then the estimate of the difference game, whose noise scales with
the difference itself rather than with each model's explanation. Each model is explained at
two seeds; a deterministic explainer (the two runs on the original agree exactly) runs once.

Explanations are memoized in-process by (model fingerprint, method, budget, seed, rows,
background, targets), so the original's and the twins' explanations are computed once when
several compressed models are compared with the same original (a pipeline, a benchmark).
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from ..models.base import BaseModel

__all__ = ["ExplainedSet", "array_digest", "clear_memo", "explain_models", "model_fingerprint", "prime"]

_MEMO: OrderedDict[tuple[Any, ...], tuple[np.ndarray, int | None, float, tuple[str, ...], float]] = OrderedDict()
_MEMO_SIZE = 256
#: Model rows per model call of a sampling Shapley explainer run by compare() (unless its params give
#: ``batch_rows``). The explainers' default (262,144) makes each call of a 256-wide MLP allocate
#: hundreds of MB that glibc maps and unmaps every chunk: on the digits MLP, KernelSHAP on 20 rows took
#: 1.1–1.8 s of system time for page faults beside 1.2 s of user time; at 4,096 rows the system time
#: is 0.03 s and the user time unchanged. The values do not depend on it (row-wise chunks).
BATCH_ROWS = 8192


def array_digest(a: np.ndarray) -> str:
    a = np.ascontiguousarray(a)
    h = hashlib.sha256(str((a.shape, a.dtype.str)).encode())
    h.update(a.tobytes())
    return h.hexdigest()[:24]


def model_fingerprint(model: BaseModel) -> str:
    """A content hash of a model: its weights (torch) and its outputs on a fixed probe (any kind).

    Computed afresh on every call (never stored on the model): a copy or an in-place edit of a
    model must not inherit its fingerprint.
    """
    h = hashlib.sha256(f"{model.kind}|{model.n_features}|{tuple(model.output_names)}".encode())
    module = getattr(model, "module", None)
    if module is not None and hasattr(module, "state_dict"):
        for name, t in module.state_dict().items():
            h.update(name.encode())
            h.update(t.detach().cpu().numpy().tobytes())
    probe = np.random.default_rng(12345).normal(size=(16, *model.input_shape)).astype(np.float32)
    h.update(np.asarray(model.output(probe), dtype=np.float32).tobytes())
    return h.hexdigest()[:32]


def _key(model: BaseModel, method: str, X: np.ndarray, bg: np.ndarray, budget: int | None, seed: int,
         targets: np.ndarray | None, params: dict[str, Any]) -> tuple[Any, ...]:
    import json

    return (model_fingerprint(model), method, budget, seed, array_digest(X), array_digest(bg),
            None if targets is None else array_digest(targets), json.dumps(params, sort_keys=True, default=str))


def _select(values: np.ndarray, targets: np.ndarray) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    return v if v.ndim == 2 else v[np.arange(len(v)), :, targets]


def prime(model: BaseModel, method: str, X: np.ndarray, bg: np.ndarray, explanation: Any,
          method_params: dict[str, Any]) -> int | None:
    """Store an explanation computed elsewhere (a pipeline's: all outputs of every row of ``X``,
    one call) so that ``compare()`` reuses it; returns its budget (None if it does not fit)."""
    from ..explain.base import get_explainer

    if not get_explainer(method).model_agnostic:
        return None  # gradient methods are explained per target in compare(); deterministic anyway
    params = getattr(explanation, "params", {}) or {}
    seed, budget = params.get("random_state"), params.get("budget")
    values = np.asarray(getattr(explanation, "values", np.empty(0)))
    data = np.asarray(getattr(explanation, "data", np.empty(0)))
    if (not isinstance(seed, int) or values.ndim not in (2, 3) or len(values) != len(X)
            or data.shape != X.reshape(len(X), -1).shape or not np.array_equal(data, X.reshape(len(X), -1))):
        return None
    names = tuple(getattr(explanation, "feature_names", ()) or ())
    _store(_key(model, method, X, bg, budget, seed, None, method_params),
           (values, budget, float(explanation.seconds or 0.0), names, float(explanation.seconds or 0.0)))
    return int(budget) if isinstance(budget, int) else None


def _store(key: tuple[Any, ...], value: tuple[np.ndarray, int | None, float, tuple[str, ...], float]) -> None:
    _MEMO[key] = value
    if len(_MEMO) > _MEMO_SIZE:
        _MEMO.popitem(last=False)


def _explain_once(model: BaseModel, method: str, X: np.ndarray, targets: np.ndarray, bg: np.ndarray,
                  budget: int | None, seed: int, params: dict[str, Any]
                  ) -> tuple[np.ndarray, int | None, float, bool, tuple[str, ...], float]:
    """(n, d) attributions of each row's target output, the budget actually used, the seconds
    the run took (when it was computed), whether it came from the memo, the players' names and
    the CPU seconds of this process the run took.

    Model-agnostic explainers run once on all rows for every output (as the pipeline does, so
    its explanations can be reused); gradient explainers run once per target output.
    """
    from ..explain.base import get_explainer

    cls = get_explainer(method)
    per_target = not cls.model_agnostic
    key = _key(model, method, X, bg, budget, seed, targets if per_target else None, params)
    if key in _MEMO:
        _MEMO.move_to_end(key)
        hit_values, hit_used, hit_secs, hit_names, hit_cpu = _MEMO[key]
        return _select(hit_values, targets), hit_used, hit_secs, True, hit_names, hit_cpu
    start, cpu_start = time.perf_counter(), time.process_time()
    if per_target:
        parts: dict[int, np.ndarray] = {}
        used: int | None = budget
        for t in np.unique(targets):
            sel = np.nonzero(targets == t)[0]
            e = cls(model, background=bg, budget=budget, random_state=seed, **params).explain(X[sel], target=int(t))
            parts[int(t)] = _select(e.values, np.full(len(sel), int(t)))
            used = _used_budget(e.params, used)
        d = next(iter(parts.values())).shape[1]
        values = np.zeros((len(X), d), dtype=np.float64)
        for t, v in parts.items():
            values[targets == t] = v
    else:
        from ..explain.shapley.base import ShapleyExplainer

        kw = dict(params)
        if isinstance(cls, type) and issubclass(cls, ShapleyExplainer) and "batch_rows" not in kw:
            kw["batch_rows"] = BATCH_ROWS
        e = cls(model, background=bg, budget=budget, random_state=seed, **kw).explain(X, target=None)
        values = np.asarray(e.values, dtype=np.float64)
        used = _used_budget(e.params, budget)
    secs, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    names = tuple(e.feature_names or ())
    _store(key, (values, used, secs, names, cpu))
    return _select(values, targets), used, secs, False, names, cpu


def _used_budget(params: dict[str, Any], default: int | None) -> int | None:
    b = params.get("budget", params.get("n_steps", params.get("n_samples")))
    return int(b) if isinstance(b, int | np.integer) and not isinstance(b, bool) else default


@dataclasses.dataclass
class ExplainedSet:
    """Explanations of several models by one explainer at one budget.

    ``phi[name]`` is an array of shape (n_seeds, n, d): the runs at each seed (one run for a
    deterministic explainer). ``seconds`` is the compute time these explanations cost (memo
    hits cost nothing), ``seconds_per_run`` the time of one model's run, ``cpu_per_run`` its CPU
    seconds (for estimates), ``runs`` the number of (model, seed) runs (memo hits included).
    """

    method: str
    budget: int | None
    deterministic: bool
    phi: dict[str, np.ndarray]
    seconds: float
    seconds_per_run: float
    players: tuple[str, ...] = ()
    cpu_per_run: float = 0.0
    runs: int = 0


def explain_models(models: dict[str, BaseModel], method: str, X: np.ndarray, targets: np.ndarray,
                   bg: np.ndarray, budget: int | None, seeds: tuple[int, int],
                   params: dict[str, Any] | None = None) -> ExplainedSet:
    """Explain every model of ``models`` (the first is the original) at both ``seeds``."""
    from ..progress import task

    names = list(models)
    first = names[0]
    spent = 0.0
    runs: list[float] = []
    cpus: list[float] = []
    params = params or {}
    # progress: one unit per model and seed (a deterministic explainer's second seeds count as done)
    with task(f"compare: explain ({method}{'' if budget is None else f', budget {budget}'})",
              2 * len(names)) as bar:
        a, used, t1, hit1, players, c1 = _explain_once(models[first], method, X, targets, bg, budget, seeds[0],
                                                       params)
        bar.advance(info=first)
        b, _, t2, hit2, _, c2 = _explain_once(models[first], method, X, targets, bg, budget, seeds[1], params)
        bar.advance(info=first)
        spent += (0.0 if hit1 else t1) + (0.0 if hit2 else t2)
        runs += [t1, t2]
        cpus += [c1, c2]
        deterministic = bool(np.array_equal(a, b))
        phi = {first: np.stack([a]) if deterministic else np.stack([a, b])}
        use_seeds = seeds[:1] if deterministic else seeds
        for name in names[1:]:
            out = []
            for s in use_seeds:
                p, _, t, hit, _, c = _explain_once(models[name], method, X, targets, bg, budget, s, params)
                spent += 0.0 if hit else t
                runs.append(t)
                cpus.append(c)
                out.append(p)
                bar.advance(info=name)
            phi[name] = np.stack(out)
            if deterministic:
                bar.advance(info=name)
    per_run = float(max(runs)) if runs else 0.0
    n_runs = sum(len(p) for p in phi.values())
    return ExplainedSet(method=method, budget=used, deterministic=deterministic, phi=phi, seconds=spent,
                        seconds_per_run=per_run, players=players, cpu_per_run=float(max(cpus)) if cpus else 0.0,
                        runs=n_runs)


def clear_memo() -> None:
    """Forget memoized explanations (tests; memory)."""
    _MEMO.clear()
