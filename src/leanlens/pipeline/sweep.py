"""``leanlens.sweep(config, trials=N)``: an Optuna multi-objective search over compression plans.

Objectives: test accuracy (maximize), latency (minimize), explanation agreement with the
original (maximize). The study lives in SQLite (``<out>/study.db`` by default), so running
the same command again after a crash or Ctrl-C resumes: completed trials are kept, trials
that were running are marked failed and re-sampled.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import time
from pathlib import Path
from typing import Any

import numpy as np

from .._io import atomic_write_text, check_destination, is_leanlens_folder, mark_folder
from ..errors import ConfigError, LeanlensError, OutputExistsError
from .config import ParamSpec, PipelineConfig
from .events import Events, Log
from .executors import Executor, make_executor
from .result import ModelEntry, RunResult, headline_score, pareto_front

__all__ = ["DIRECTIONS", "StudyStorageError", "build_plan", "sweep"]

DIRECTIONS = ("maximize", "minimize", "maximize")
OBJECTIVES = ("accuracy", "latency_ms", "agreement")
LATENCY_BATCH = 256


class StudyStorageError(LeanlensError):
    """The study database is locked by another process, corrupt, or unusable."""


# -- the search space ---------------------------------------------------------------------

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


# -- one trial (runs in this process or in a Ray worker) ------------------------------------

_DATASETS: dict[str, Any] = {}


def evaluate_trial(task: dict[str, Any]) -> dict[str, Any]:
    """Compress the original with one plan and measure the three objectives."""
    from ..compress import compress
    from ..explain import explain
    from ..metrics.agreement import agreement
    from ..models.evaluation import score
    from ..models.latency import interleaved
    from .distributed import unpack_model
    from .stages import load_dataset

    start = time.perf_counter()
    try:
        from .config import DataSpec

        key = json.dumps([task["data"], task["seed"]], sort_keys=True)
        if key not in _DATASETS:  # once per worker process, not once per trial
            _DATASETS.clear()
            _DATASETS[key] = load_dataset(DataSpec.model_validate(task["data"]), seed=task["seed"])
        ds = _DATASETS[key]
        original = unpack_model(task["model"])
        res = compress(original, task["plan"], data=ds, random_state=task["seed"], latency_reps=0,
                       threads=task["threads"])
        model = res.model
        scores = score(model, ds.X_test, ds.y_test, prefix="test_")
        lat = interleaved({"m": model}, np.resize(ds.X_test, (LATENCY_BATCH, *ds.X_test.shape[1:])), threads=None,
                          reps=1000, min_reps=20, max_seconds=1.0, warn=False)["m"]
        expl = explain(model, task["X"], method=task["method"], background=task["background"], target=None,
                       budget=task["budget"], random_state=task["seed"], **task["params"])
        phi = expl.select(task["targets"]).values
        agr = agreement(task["phi_original"], phi, k=task["k"])["mean"]["feature_agreement"]
        return {"accuracy": headline_score(scores), "latency_ms": lat.median,
                "agreement": float(agr), "size_bytes": res.record.final.file_bytes,
                "seconds": time.perf_counter() - start, "error": None}
    except LeanlensError as exc:  # an invalid combination of values: the trial fails, the sweep goes on
        return {"error": f"{type(exc).__name__}: {exc}", "seconds": time.perf_counter() - start}


# -- the study ------------------------------------------------------------------------------

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
        study = optuna.create_study(storage=storage, study_name=name, directions=["maximize", "minimize", "maximize"],
                                    load_if_exists=True, sampler=_sampler(sampler, seed))
    except Exception as exc:  # sqlalchemy / optuna storage errors: report one clear line
        raise StudyStorageError(f"Could not open the Optuna study {name!r} in {storage!r}: {type(exc).__name__}: {exc}") from None
    if list(study.directions) and [d.name.lower() for d in study.directions] != list(DIRECTIONS):
        raise StudyStorageError(f"The study {name!r} in {storage!r} has other objectives; use another study_name.")
    return study


def _fail_stale(study: Any) -> int:
    """Trials left RUNNING by a killed sweep: mark them failed so they are sampled again."""
    from optuna.trial import TrialState

    stale = [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.RUNNING]
    for t in stale:
        study.tell(t.number, state=TrialState.FAIL)
    return len(stale)


def open_sweep_folder(out: Path, *, overwrite: bool) -> tuple[Path, bool]:
    """The sweep folder and whether it resumes an earlier sweep (checked creatable first)."""
    out = check_destination(out)
    if out.exists() and not out.is_dir():
        raise OutputExistsError(f"The 'out' path {str(out)!r} exists and is not a folder.")
    if out.exists() and any(out.iterdir()):
        is_sweep = (out / "sweep.json").exists()
        if overwrite:
            if not is_sweep and not (out / "result.json").exists() and not is_leanlens_folder(out):
                raise OutputExistsError(f"The 'out' folder {str(out)!r} exists and is not a leanlens sweep folder; "
                                        "refusing to replace it even with --overwrite.")
            shutil.rmtree(out)
        elif not is_sweep:
            raise OutputExistsError(f"The 'out' folder {str(out)!r} exists and is not a sweep folder to resume. "
                                    "Choose another folder or pass --overwrite.")
        else:
            return out, True
    out.mkdir(parents=True, exist_ok=True)
    mark_folder(out, "sweep")
    return out, False


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


def sweep(
    config: Any,
    *,
    out: str | os.PathLike[str],
    trials: int | None = None,
    overwrite: bool = False,
    backend: str | None = None,
    address: str | None = None,
    storage: str | None = None,
    progress: bool = False,
    log: Log | None = None,
    executor: Executor | None = None,
) -> RunResult:
    """Search the plan space of ``config.sweep`` with Optuna (accuracy ↑, latency ↓, agreement ↑).

    Parameters
    ----------
    config : PipelineConfig, dict or YAML path with a ``sweep`` section.
    out : the sweep folder. If it holds an earlier sweep, the sweep resumes (same study).
    trials : total completed trials wanted (default ``sweep.trials``); a resumed sweep runs
        only the missing ones.
    overwrite : start again in an existing folder.
    backend, address : ``"local"`` or ``"ray"`` (and a cluster address); default from the config.
    storage : Optuna storage URL; default ``sqlite:///<out>/study.db``.

    Returns
    -------
    RunResult with ``trials`` (every trial) and ``models`` (the original and the Pareto-front
    trials); ``out/report.html`` shows them.
    """
    from .run import coerce_config, library_versions

    cfg = coerce_config(config)
    check_space(cfg)
    sw = cfg.sweep
    if sw is None:  # pragma: no cover - check_space raised
        raise ConfigError("The pipeline has no 'sweep' section.")
    n_wanted = trials if trials is not None else sw.trials
    from ..limits import MAX_TRIALS, check_count

    check_count(n_wanted, param="trials", high=MAX_TRIALS, owner="sweep()", error=ConfigError)
    from .run import check_sources

    check_sources(cfg)
    if storage or sw.storage:
        check_storage(str(storage or sw.storage))
    folder, resumed = open_sweep_folder(Path(out), overwrite=overwrite)
    storage_url = storage or sw.storage or f"sqlite:///{(folder / 'study.db').resolve()}"
    backend = backend or cfg.executor.backend
    own_executor = executor is None
    executor = executor or make_executor(backend, address=address or cfg.executor.address,
                                         num_cpus=cfg.executor.num_cpus)
    executor.start()  # an unreachable cluster fails now, not after training
    result = RunResult(out_dir=folder, name=f"{cfg.name}-sweep", config=cfg, seed=cfg.seed,
                       versions=library_versions(), started=time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()))
    events = Events(progress=progress, log=log, total=n_wanted, title=f"leanlens sweep {cfg.name}")
    atomic_write_text(folder / "sweep.json", json.dumps({"storage": storage_url, "study_name": sw.study_name,
                                                         "backend": backend}, indent=2) + "\n")
    (folder / "INTERRUPTED").unlink(missing_ok=True)
    from ..models.threads import torch_threads

    try:
        with events, torch_threads(cfg.threads):
            study = open_study(storage_url, sw.study_name, cfg.seed, sw.sampler)
            stale = _fail_stale(study)
            events.emit("sweep_start", resumed=resumed, stale_trials=stale, storage=storage_url, backend=backend)
            base = _prepare_base(cfg, folder, events, resumed=resumed)
            _optimize(study, cfg, base, n_wanted, executor, events)
            _collect(study, result, base)
            with events.stage("report"):
                from ..report import render_report

                result.status = "complete"
                result.timings = dict(events.timings)
                result.report = render_report(result, folder / "report.html").name
        result.status = "complete"
    except KeyboardInterrupt:
        result.status = "interrupted"
        atomic_write_text(folder / "INTERRUPTED", "sweep interrupted; run the same command again to resume\n")
        raise
    except BaseException as exc:
        result.status = "failed"
        result.error = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        result.timings = dict(events.timings)
        result.finished = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
        if result.status == "failed" and not resumed:
            # a new sweep that failed leaves no folder, so the same command can run again
            shutil.rmtree(folder, ignore_errors=True)
        else:
            result.save()
        if own_executor:
            executor.close()
    events.emit("sweep_end", status=result.status, out=str(folder), trials=len(result.trials))
    return result


def _prepare_base(cfg: PipelineConfig, folder: Path, events: Events, *, resumed: bool) -> dict[str, Any]:
    """Data, the original model (trained once; reloaded on resume), its explanation of the rows."""
    from ..explain import explain, resolve_targets
    from ..models import load_model
    from ..models.evaluation import score
    from ..models.latency import interleaved
    from .distributed import pack_model
    from .measure import folder_size
    from .stages import explanation_rows, load_dataset, obtain_model

    sw = cfg.sweep
    if sw is None:  # pragma: no cover
        raise ConfigError("The pipeline has no 'sweep' section.")
    with events.stage("data"):
        ds = load_dataset(cfg.data, seed=cfg.seed)
    with events.stage("model"):
        saved = folder / "models" / "original"
        if resumed and (saved / "model.json").exists():
            original = load_model(saved)
        else:
            original = obtain_model(cfg.model, ds, data=cfg.data, seed=cfg.seed)
            original.save(saved, overwrite=True)
    methods = {m.method: m for m in cfg.explain.methods}
    name = sw.agreement_method or cfg.explain.methods[0].method
    if name not in methods:
        raise ConfigError(f"The 'sweep.agreement_method' {name!r} is not one of explain.methods {list(methods)}.")
    spec = methods[name]
    X, bg = explanation_rows(ds, cfg.explain, seed=cfg.seed)
    targets = resolve_targets(original, X, cfg.explain.target)
    with events.stage("explain original", method=name):
        expl = explain(original, X, method=name, background=bg, target=None, budget=spec.budget,
                       random_state=cfg.seed, **spec.params)
    lat = interleaved({"m": original}, np.resize(ds.X_test, (LATENCY_BATCH, *ds.X_test.shape[1:])), threads=None,
                      reps=1000, min_reps=20, max_seconds=1.0, warn=False)["m"]
    return {
        "dataset": ds, "original": original,
        "original_entry": ModelEntry(name="original", scores=score(original, ds.X_test, ds.y_test, prefix="test_"),
                                     latency_ms=lat.median, latency_batch=LATENCY_BATCH,
                                     size_bytes=folder_size(saved), path="models/original"),
        "task": {
            "data": cfg.data.model_dump(mode="json"), "seed": cfg.seed, "model": pack_model(original),
            "threads": cfg.compress.threads, "X": X, "background": bg, "targets": targets, "method": name,
            "budget": spec.budget, "params": spec.params, "phi_original": expl.select(targets).values,
            "k": cfg.compare_config.k,
        },
    }


def _optimize(study: Any, cfg: PipelineConfig, base: dict[str, Any], n_wanted: int, executor: Executor,
              events: Events) -> None:
    from optuna.trial import TrialState

    sw = cfg.sweep
    if sw is None:  # pragma: no cover
        return
    done = sum(1 for t in study.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE)
    remaining = max(0, n_wanted - done)
    events.emit("trials", done=done, remaining=remaining)
    if events._bar is not None and done:
        events._bar.update(min(done, n_wanted), info="resumed")

    # A Ray task holds one CPU: its torch / ONNX Runtime work runs on one thread, so that two
    # workers on two cores do not oversubscribe them.
    threads = 1 if executor.remote else base["task"]["threads"]

    def ask() -> tuple[Any, dict[str, Any]]:
        trial = study.ask()
        params = suggest(trial, sw.space)
        plan = build_plan(sw.plan, params)
        trial.set_user_attr("plan", plan)
        return trial, {**base["task"], "plan": plan, "threads": threads}

    def tell(trial: Any, out: dict[str, Any]) -> None:
        if out.get("error"):
            trial.set_user_attr("error", out["error"])
            study.tell(trial, state=TrialState.FAIL)
            events.emit("trial_failed", number=trial.number, error=out["error"])
            return
        for k in ("size_bytes", "seconds"):
            trial.set_user_attr(k, out.get(k))
        study.tell(trial, [out["accuracy"], out["latency_ms"], out["agreement"]])
        events.emit("trial_complete", number=trial.number, params=trial.params,
                    **{k: out[k] for k in OBJECTIVES}, seconds=round(out["seconds"], 3))
        if events._bar is not None:
            events._bar.update(1, info=f"trial {trial.number}: acc {out['accuracy']:.3f}")

    with events.stage("trials", backend=executor.name, remaining=remaining):
        completed = 0
        max_failures = max(10, 2 * n_wanted)
        failures = 0
        flight: list[tuple[Any, Any]] = []  # (task handle, trial)
        while completed < remaining and failures < max_failures:
            while len(flight) < min(executor.workers, remaining - completed):
                trial, task = ask()
                flight.append((executor.submit(evaluate_trial, task), trial))
            handle, out = executor.wait([h for h, _ in flight])
            i = next(i for i, (h, _) in enumerate(flight) if h is handle)
            tell(flight.pop(i)[1], out)
            if out.get("error"):
                failures += 1
            else:
                completed += 1
        executor.cancel([h for h, _ in flight])  # more were in flight than needed
        for _, trial in flight:
            study.tell(trial, state=TrialState.FAIL)
        if failures >= max_failures:
            raise ConfigError(f"{failures} trials failed (see result.json 'trials'); the search space gives "
                              "invalid plans. Last error: " + str(study.trials[-1].user_attrs.get("error")))


def _collect(study: Any, result: RunResult, base: dict[str, Any]) -> None:
    """Every trial into ``result.trials``; the original and the Pareto-front trials into ``models``."""
    from optuna.trial import TrialState

    from ..compress.plan import parse_plan

    trials = study.get_trials(deepcopy=False)
    done = [t for t in trials if t.state == TrialState.COMPLETE]
    front = {done[i].number for i in pareto_front([t.values for t in done], list(DIRECTIONS))}
    result.trials = []
    for t in trials:
        row: dict[str, Any] = {"number": t.number, "state": t.state.name, "params": dict(t.params),
                               "plan": t.user_attrs.get("plan"), "error": t.user_attrs.get("error"),
                               "pareto": t.number in front}
        if t.state == TrialState.COMPLETE:
            row.update(dict(zip(OBJECTIVES, t.values, strict=True)))
            row["size_bytes"] = t.user_attrs.get("size_bytes")
            row["seconds"] = t.user_attrs.get("seconds")
        result.trials.append(row)
    result.models = [base["original_entry"]]
    for t in sorted((t for t in done if t.number in front), key=lambda t: -t.values[0]):
        result.models.append(ModelEntry(
            name=f"trial-{t.number}", plan=parse_plan(t.user_attrs["plan"]) if t.user_attrs.get("plan") else [],
            scores={"test_accuracy": t.values[0]},
            latency_ms=t.values[1], latency_batch=LATENCY_BATCH, agreement=t.values[2],
            size_bytes=t.user_attrs.get("size_bytes")))
    pts = [(float(m.accuracy or np.nan), float(m.latency_ms or np.nan)) for m in result.models]
    result.pareto = [result.models[i].name for i in pareto_front(pts, ["maximize", "minimize"])]
    result.dataset = base["dataset"].summary()
