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
import time
from pathlib import Path
from typing import Any

import numpy as np

from .._format import significant
from .._io import (
    atomic_write_json,
    atomic_write_text,
    check_destination,
    is_leanlens_folder,
    mark_folder,
)
from ..errors import ConfigError, OutputExistsError
from .config import PipelineConfig
from .events import Events, Log
from .executors import Executor, make_executor
from .result import HEADLINE_SCORES, LATENCY_BATCH, ModelEntry, RunResult, pareto_front
from .run import ReportWriter
from .space import build_plan, check_space, suggest
from .study import DIRECTIONS, StudyStorageError, check_storage, fail_stale, open_study
from .trial import OBJECTIVES, evaluate_trial

__all__ = ["DIRECTIONS", "TRIAL_FIGURES", "StudyStorageError", "build_plan", "sweep"]

#: what a trial records besides its objectives: compare()'s decision agreement, the top-k
#: explanation agreement's k and its reference (twins' or explainer noise) and the verdict
TRIAL_FIGURES = ("decision_agreement", "agreement_reference", "k", "reference", "verdict", "sentence", "size_bytes",
                 "seconds")


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
    report: ReportWriter | None = None,
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
    report : writes ``out/report.html`` from the finished RunResult (:func:`leanlens.sweep` passes
        :func:`leanlens.report.render_report`); None writes no report.

    Returns
    -------
    RunResult with ``trials`` (every trial) and ``models`` (the original and the Pareto-front
    trials); ``out/report.html`` shows them, if a report writer was given.
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
    events = Events(progress=progress, log=log, total=n_wanted, title=f"leanlens sweep {cfg.name}: trials",
                    count_stages=False)
    atomic_write_text(folder / "sweep.json", json.dumps({"storage": storage_url, "study_name": sw.study_name,
                                                         "backend": backend}, indent=2) + "\n")
    (folder / "INTERRUPTED").unlink(missing_ok=True)
    from ..models.threads import torch_threads

    try:
        with events, torch_threads(cfg.threads):
            study = open_study(storage_url, sw.study_name, cfg.seed, sw.sampler)
            stale = fail_stale(study)
            events.emit("sweep_start", resumed=resumed, stale_trials=stale, storage=storage_url, backend=backend)
            base = _prepare_base(cfg, folder, events, resumed=resumed)
            from ..explain.cost import YAML_FLAGS, stated_cost
            from .cost import sweep_cost

            # the cost of the trials, said before them (nothing probed under --quiet)
            left = n_wanted - sum(1 for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE")
            stated_cost(lambda: sweep_cost(cfg, base["original"], base["dataset"], base["task"]["expl_original"],
                                           max(0, left)), flags=YAML_FLAGS, command="sweep")
            _optimize(study, cfg, base, n_wanted, executor, events)
            _collect(study, result, base)
            if report is not None:
                with events.stage("report"):
                    result.status = "complete"
                    result.timings = dict(events.timings)
                    result.report = report(result, folder / "report.html").name
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
    from ..models import load_model
    from ..models.evaluation import score
    from ..models.latency import interleaved
    from .distributed import explain_rows, pack_model
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
    with events.stage("explain original", method=name):
        # as a run's explain stage does it (chunks seeded per chunk), so that compare() in each
        # trial reuses it exactly as it reuses a run's: a plan's agreement is the same in both
        expl = explain_rows(original, X, name, background=bg, target=None, budget=spec.budget,
                            random_state=cfg.seed, params=spec.params, chunk_rows=cfg.executor.chunk_rows,
                            stage=f"explain ({name}) of the original")
    timing = cfg.latency
    lat = interleaved({"original": original}, np.resize(ds.X_test, (LATENCY_BATCH, *ds.X_test.shape[1:])), threads=None,
                      reps=max(1000, timing.min_rounds), min_reps=timing.min_rounds, max_seconds=timing.trial_max_seconds,
                      attempts=timing.attempts, warn=False)["original"]
    return {
        "dataset": ds, "original": original, "folder": folder,
        "original_entry": ModelEntry(name="original", scores=score(original, ds.X_test, ds.y_test, prefix="test_"),
                                     latency_ms=lat.median, latency_batch=LATENCY_BATCH,
                                     size_bytes=folder_size(saved), path="models/original"),
        "task": {
            "data": cfg.data.model_dump(mode="json"), "seed": cfg.seed, "model": pack_model(original),
            "threads": cfg.compress.threads, "latency": timing.model_dump(), "X": X, "background": bg, "method": name,
            "budget": spec.budget, "params": spec.params, "chunk_rows": cfg.executor.chunk_rows,
            "expl_original": expl, "compare_config": cfg.compare_config,
            # compare()'s yardstick: the run's twins (cached in the sweep folder), or its noise
            "twins": cfg.compare.twins if cfg.compare.enabled else 0,
            "cache_dir": str(folder / "twins"),
            "rows": np.arange(len(X)) if len(X) >= cfg.compare_config.min_rows else None,
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
    if done:
        events.advance(min(done, n_wanted), info="resumed")

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
        for k in TRIAL_FIGURES:
            trial.set_user_attr(k, out.get(k))
        if out.get("drift") is not None:  # compare()'s whole report, for the Pareto trials' entries
            atomic_write_json(base["folder"] / "drift" / f"trial-{trial.number}.json", out["drift"])
        study.tell(trial, [out["accuracy"], out["latency_ms"], out["agreement"]])
        events.emit("trial_complete", number=trial.number, params=trial.params,
                    **{k: out[k] for k in OBJECTIVES}, decision_agreement=out.get("decision_agreement"),
                    verdict=out.get("verdict"), seconds=round(out["seconds"], 3))
        events.advance(1, info=f"trial {trial.number}: accuracy {significant(out['accuracy'])}")

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


def _trial_drift(folder: Path, number: int) -> Any:
    """compare()'s DriftReport of a trial, as the trial wrote it (None for a sweep made before)."""
    from ..compare import DriftReport

    path = folder / "drift" / f"trial-{number}.json"
    if not path.is_file():
        return None
    return DriftReport.from_dict(json.loads(path.read_text()))


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
            row.update({k: t.user_attrs.get(k) for k in TRIAL_FIGURES})
        result.trials.append(row)
    result.models = [base["original_entry"]]
    # a trial's first objective is the original's headline score (accuracy, or R² for regression)
    headline = next((k for k in HEADLINE_SCORES if k in base["original_entry"].scores), "test_accuracy")
    for t in sorted((t for t in done if t.number in front), key=lambda t: -t.values[0]):
        result.models.append(ModelEntry(
            name=f"trial-{t.number}", plan=parse_plan(t.user_attrs["plan"]) if t.user_attrs.get("plan") else [],
            scores={headline: t.values[0]},
            latency_ms=t.values[1], latency_batch=LATENCY_BATCH, agreement=t.values[2],
            size_bytes=t.user_attrs.get("size_bytes"), drift=_trial_drift(result.out_dir, t.number)))
    # one Pareto definition for the console, the report and result.json: the trials' front over
    # all three objectives (accuracy ↑, latency ↓, top-k explanation agreement ↑)
    result.pareto = [f"trial-{t.number}" for t in done if t.number in front]
    result.dataset = base["dataset"].summary()
