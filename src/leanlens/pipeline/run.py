"""``leanlens.run(config)``: data → model → compression plans → explain → metrics → compare → report.

The run folder::

    result.json              every figure, the config, seed, versions, timing per stage
    config.yaml              the validated pipeline
    models/<name>/           the original and one folder per plan (safetensors + JSON, or ONNX)
    explanations/<name>/<method>.json (+ .npz)
    report.html              written last, atomically, when a report writer is given
                             (``leanlens.run`` gives :func:`leanlens.report.render_report`)
    INTERRUPTED              only after Ctrl-C (result.json then says status "interrupted")
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import platform
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from .._io import (
    atomic_write_json,
    atomic_write_text,
    check_destination,
    is_leanlens_folder,
    mark_folder,
)
from ..errors import OutputExistsError
from ..models.threads import torch_threads
from .config import LatencySpec, PipelineConfig, load_pipeline_config, parse_pipeline_config
from .events import Events, Log
from .executors import Executor, make_executor
from .result import LATENCY_BATCH, ModelEntry, RunResult, pareto_front

if TYPE_CHECKING:
    from ..explain.surrogate import SurrogateTree

__all__ = ["STAGES", "ReportWriter", "coerce_config", "library_versions", "run"]

STAGES = ("data", "model", "compress", "measure", "explain", "metrics", "compare", "report")


class ReportWriter(Protocol):
    """Writes the report of a finished run to ``path`` and returns the path written.

    The pipeline takes the writer as a parameter, so it never imports the report layer above
    it (ARCHITECTURE.md: layers import downwards only); :func:`leanlens.run` and
    :func:`leanlens.sweep` pass :func:`leanlens.report.render_report`.
    """

    def __call__(self, result: RunResult, path: Path, *,
                 surrogates: dict[str, SurrogateTree] | None = None) -> Path: ...


def stages_of(report: ReportWriter | None) -> tuple[str, ...]:
    """The stages a run goes through: all of :data:`STAGES`, without "report" when nothing writes one."""
    return STAGES if report is not None else STAGES[:-1]


def coerce_config(config: Any) -> PipelineConfig:
    """A PipelineConfig from a PipelineConfig, a dict, or a YAML path."""
    if isinstance(config, PipelineConfig):
        return config
    if isinstance(config, str | os.PathLike):
        return load_pipeline_config(Path(config))
    return parse_pipeline_config(config)


def library_versions() -> dict[str, str]:
    from importlib import metadata

    out = {"python": platform.python_version()}
    for dist in ("leanlens", "torch", "numpy", "scikit-learn", "onnxruntime", "captum", "shap", "torch-pruning",
                 "optuna", "ray", "matplotlib", "jinja2", "pydantic"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[dist] = metadata.version(dist)
    return out


def _machine() -> dict[str, Any]:
    return {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "cores": os.cpu_count()}


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def open_run_folder(out: str | os.PathLike[str], *, overwrite: bool) -> Path:
    """Create the run folder; refuse an existing one unless ``overwrite`` (and then only a run folder).

    The destination is checked (creatable, not the current folder) before anything is created.
    """
    path = check_destination(out)
    if path.exists() and path.is_dir() and any(path.iterdir()):
        if not overwrite:
            raise OutputExistsError(
                f"The 'out' folder {str(path)!r} already exists. Choose another folder or pass --overwrite."
            )
        if not (is_leanlens_folder(path) or (path / "result.json").is_file()):
            raise OutputExistsError(
                f"The 'out' folder {str(path)!r} exists and is not a leanlens run folder (no result.json); "
                "refusing to replace it even with --overwrite. Choose another folder."
            )
        shutil.rmtree(path)
    elif path.exists() and not path.is_dir():
        raise OutputExistsError(f"The 'out' path {str(path)!r} exists and is not a folder.")
    path.mkdir(parents=True, exist_ok=True)
    mark_folder(path, "run")
    return path


def check_sources(cfg: PipelineConfig) -> None:
    """Fail before the run folder exists when the data or model a pipeline names is missing."""
    from ..data import available
    from ..errors import DataError, ModelFormatError

    if cfg.data.path is not None:
        p = Path(cfg.data.path)
        if not p.is_file():
            raise DataError(f"The 'data.path' file {str(p)!r} does not exist. Give an existing .csv or .parquet file.")
        if not os.access(p, os.R_OK):
            raise DataError(f"The 'data.path' file {str(p)!r} cannot be read: permission denied.")
    elif cfg.data.name not in available():
        from ..errors import did_you_mean

        raise DataError(f"The 'data.name' {cfg.data.name!r} is not a bundled data set.{did_you_mean(cfg.data.name, available())} "
                        "See `leanlens datasets`.")
    if cfg.model.path is not None and not Path(cfg.model.path).exists():
        raise ModelFormatError(
            f"The 'model.path' {str(cfg.model.path)!r} does not exist. Give a saved model folder or an .onnx file.")


def run(
    config: Any,
    *,
    out: str | os.PathLike[str],
    overwrite: bool = False,
    progress: bool = False,
    log: Log | None = None,
    executor: Executor | None = None,
    report: ReportWriter | None = None,
) -> RunResult:
    """Run a pipeline end to end and write its run folder.

    Parameters
    ----------
    config : :class:`~leanlens.pipeline.PipelineConfig`, a dict of the same shape, or the path
        of a pipeline YAML file.
    out : the run folder; must not exist (or be empty) unless ``overwrite``.
    overwrite : replace an earlier run folder.
    progress : rich progress over the stages on stderr.
    log : callback receiving one dict per event (stage start/end, info).
    executor : where explanations run (default: from ``config.executor``).
    report : writes ``out/report.html`` last, from the finished RunResult (:func:`leanlens.run`
        passes :func:`leanlens.report.render_report`); None writes no report.

    Returns
    -------
    RunResult (also written as ``out/result.json``); ``out/report.html`` is the report, if any.

    Notes
    -----
    Ctrl-C stops the run, writes ``result.json`` with ``status: interrupted`` and an
    ``INTERRUPTED`` file, and leaves no report (the report is written last, atomically).
    A run that fails (bad data, a model that cannot be loaded, a bug) removes its folder and
    raises, so that the same command can run again without ``overwrite``; a missing
    ``data.path`` or ``model.path`` is caught before the folder is created.

    Examples
    --------
    >>> import leanlens, tempfile
    >>> cfg = {"data": {"name": "iris"}, "model": {"train": {"hidden": [8], "epochs": 2}},
    ...        "explain": {"methods": ["kernel"], "n_rows": 3, "background": 5}}
    >>> res = leanlens.run(cfg, out=tempfile.mkdtemp() + "/run")  # doctest: +SKIP
    >>> res.status  # doctest: +SKIP
    'complete'
    """
    cfg = coerce_config(config)
    check_sources(cfg)
    folder = open_run_folder(out, overwrite=overwrite)
    result = RunResult(out_dir=folder, name=cfg.name, config=cfg, seed=cfg.seed,
                       versions=library_versions(), machine=_machine(), started=_now())
    atomic_write_text(folder / "config.yaml", _yaml(cfg))
    own_executor = executor is None
    executor = executor or make_executor(cfg.executor.backend, address=cfg.executor.address,
                                         num_cpus=cfg.executor.num_cpus)
    events = Events(progress=progress, log=log, total=len(stages_of(report)), title=f"leanlens run {cfg.name}")
    result.save()
    try:  # an unreachable cluster fails now, not after training
        executor.start()
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)  # a failed run leaves no folder
        if own_executor:  # a partly started Ray (local cluster, connection) is ours to shut down
            executor.close()
        raise
    try:
        with events, torch_threads(cfg.threads):
            _run_stages(cfg, result, events, executor, progress=progress, report=report)
        result.status = "complete"
    except KeyboardInterrupt:
        result.status = "interrupted"
        result.error = "interrupted by the user (Ctrl-C)"
        atomic_write_text(folder / "INTERRUPTED", f"interrupted at {_now()}; completed stages: "
                          f"{', '.join(events.timings) or 'none'}\n")
        raise
    except BaseException as exc:
        result.status = "failed"
        result.error = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        result.timings = dict(events.timings)
        result.finished = _now()
        if result.status == "failed":
            # a failed run leaves no folder: the error is raised to the caller, and the same
            # command can be run again without --overwrite
            shutil.rmtree(folder, ignore_errors=True)
        else:
            result.save()
        if own_executor:
            executor.close()
    events.emit("run_end", status=result.status, out=str(folder), report=result.report)
    return result


def _yaml(cfg: PipelineConfig) -> str:
    import yaml

    return yaml.safe_dump(cfg.to_dict(), sort_keys=False)


def _run_stages(cfg: PipelineConfig, result: RunResult, events: Events, executor: Executor, *, progress: bool,
                report: ReportWriter | None) -> None:
    from ..models.evaluation import score
    from .stages import apply_plan, fit_surrogates, load_dataset, obtain_model

    folder = result.out_dir
    with events.stage("data", source=str(cfg.data.path or cfg.data.name)):
        ds = load_dataset(cfg.data, seed=cfg.seed)
        result.dataset = ds.summary()

    with events.stage("model"):
        original = obtain_model(cfg.model, ds, data=cfg.data, seed=cfg.seed, progress=progress and events.log is None)
        models: dict[str, Any] = {"original": original}
        result.models.append(ModelEntry(name="original", scores=score(original, ds.X_test, ds.y_test, prefix="test_")))
    result.save()

    with events.stage("compress", plans=len(cfg.plans)):
        for plan in cfg.plans:
            events.info(f"compressing with plan {plan.name!r}", plan=plan.name)
            compressed, record = apply_plan(original, plan.configs, ds, seed=cfg.seed,
                                            latency_reps=cfg.compress.latency_reps, threads=cfg.compress.threads,
                                            work_dir=folder / "work" / plan.name)
            models[plan.name] = compressed
            result.models.append(ModelEntry(name=plan.name, plan=plan.configs, record=record,
                                            scores=score(compressed, ds.X_test, ds.y_test, prefix="test_")))
    result.save()

    with events.stage("measure"):
        _measure_models(models, result, ds, folder, cfg.latency)
        _update_pareto(result)
    result.save()

    from ..explain.cost import YAML_FLAGS, stated_cost
    from .cost import run_cost

    # the cost of what is left, said before the long stages (nothing probed under --quiet)
    trained = events.timings.get("model") if cfg.model.path is None else None
    stated_cost(lambda: run_cost(cfg, models, ds, train_seconds=trained), flags=YAML_FLAGS, command="run")

    with events.stage("explain", methods=[m.method for m in cfg.explain.methods]):
        explanations = _explain_models(cfg, models, result, ds, executor, events)
    result.save()

    with events.stage("metrics"):
        _metrics(cfg, models, explanations, result, ds)
    result.save()

    with events.stage("compare", plans=len(cfg.plans)):
        if cfg.compare.enabled and cfg.plans:
            _compare(cfg, models, explanations, result, ds, events)
    result.save()

    if report is not None:
        with events.stage("report"):
            result.status = "complete"
            result.timings = dict(events.timings)
            result.report = report(result, folder / "report.html",
                                   surrogates=fit_surrogates(models, ds, seed=cfg.seed)).name
    shutil.rmtree(folder / "work", ignore_errors=True)  # compress()'s scratch ONNX files (saved under models/)


def _measure_models(models: dict[str, Any], result: RunResult, ds: Any, folder: Path, spec: LatencySpec) -> None:
    from ..models.latency import interleaved
    from .measure import folder_size

    X = np.resize(ds.X_test, (LATENCY_BATCH, *ds.X_test.shape[1:]))
    for entry in result.models:
        model = models[entry.name]
        rel = f"models/{entry.name}"
        model.save(folder / rel, overwrite=True)
        entry.path = rel
        entry.size_bytes = folder_size(folder / rel)
        n_params = getattr(model, "n_parameters", None)
        entry.n_parameters = int(n_params()) if callable(n_params) else None
    latency = interleaved(models, X, threads=None, reps=max(200, spec.min_rounds), min_reps=spec.min_rounds,
                          max_seconds=spec.max_seconds, attempts=spec.attempts)
    for entry in result.models:
        lat = latency[entry.name]
        entry.latency_ms, entry.latency_p95_ms, entry.latency_batch = lat.median, lat.p95, LATENCY_BATCH


def _update_pareto(result: RunResult) -> None:
    pts = [(m.accuracy if m.accuracy is not None else np.nan, m.latency_ms if m.latency_ms is not None else np.nan)
           for m in result.models]
    result.pareto = [result.models[i].name for i in pareto_front(pts, ["maximize", "minimize"])]


def _explain_models(cfg: PipelineConfig, models: dict[str, Any], result: RunResult, ds: Any,
                    executor: Executor, events: Events) -> dict[tuple[str, str], Any]:
    from ..explain import resolve_targets
    from .distributed import explain_rows
    from .stages import explain_unsupported, explanation_rows

    X, bg = explanation_rows(ds, cfg.explain, seed=cfg.seed)
    result.targets = [int(t) for t in resolve_targets(models["original"], X, cfg.explain.target)]
    out: dict[tuple[str, str], Any] = {}
    for entry in result.models:
        for spec in cfg.explain.methods:
            t0 = time.perf_counter()
            try:
                expl = explain_rows(models[entry.name], X, spec.method, background=bg, target=None,
                                    budget=spec.budget, random_state=cfg.seed, params=spec.params,
                                    executor=executor, chunk_rows=cfg.executor.chunk_rows,
                                    stage=f"explain ({spec.method}) of {entry.name}")
            except Exception as exc:
                reason = explain_unsupported(exc)
                if reason is None:
                    raise
                events.info(f"{spec.method} does not apply to {entry.name}: {reason}", model=entry.name)
                entry.skipped[spec.method] = reason
                continue
            rel = f"explanations/{entry.name}/{spec.method}.json"
            expl.save(result.out_dir / rel)
            entry.explanations[spec.method] = rel
            out[(entry.name, spec.method)] = expl
            events.info(f"explained {len(X)} rows of {entry.name} with {spec.method}", model=entry.name,
                        method=spec.method, seconds=round(time.perf_counter() - t0, 4))
    return out


def _metrics(cfg: PipelineConfig, models: dict[str, Any], explanations: dict[tuple[str, str], Any],
             result: RunResult, ds: Any) -> None:
    from ..metrics import evaluate
    from .stages import explanation_rows

    X, bg = explanation_rows(ds, cfg.explain, seed=cfg.seed)
    n = min(cfg.metrics.n_rows, len(X))
    names: Any = cfg.metrics.names or DEFAULT_METRICS
    for entry in result.models:
        for spec in cfg.explain.methods:
            expl = explanations.get((entry.name, spec.method))
            if expl is None:
                continue
            res = evaluate(models[entry.name], X[:n], expl.rows(slice(0, n)), names, background=bg,
                           random_state=cfg.seed)
            entry.explanation_metrics[spec.method] = res


DEFAULT_METRICS = ("deletion_auc", "completeness", "sparseness")


def _compare(cfg: PipelineConfig, models: dict[str, Any], explanations: dict[tuple[str, str], Any],
             result: RunResult, ds: Any, events: Events) -> None:
    from ..errors import ConfigError
    from .stages import agreement_of, applicable_methods, compare_models, explanation_rows

    methods = [m.method for m in cfg.explain.methods]
    if cfg.compare.explainers is not None:
        unknown = sorted(set(cfg.compare.explainers) - set(methods))
        if unknown:
            raise ConfigError(f"compare.explainers names {unknown}, which the explain section does not run "
                              f"(it runs {methods}).")
        methods = [m for m in methods if m in cfg.compare.explainers]
    X, bg = explanation_rows(ds, cfg.explain, seed=cfg.seed)
    rows = np.arange(len(X)) if len(X) >= cfg.compare_config.min_rows else None
    for entry in result.compressed:
        usable, skipped = applicable_methods(models[entry.name], methods)
        if skipped:
            result.notes.append(f"{entry.name}: compared without {', '.join(skipped)} (needs gradients; the "
                                f"{getattr(models[entry.name], 'kind', '?')} model has none).")
        if not usable:
            result.notes.append(f"{entry.name}: no explainer applies to both models; not compared.")
            continue
        events.info(f"comparing {entry.name} with the original", plan=entry.name, explainers=usable)
        # the rows, background and explanations of the explain stage: the charts and the verdict agree
        reuse = {who: {m: explanations[(key, m)] for m in usable if (key, m) in explanations}
                 for who, key in (("original", "original"), ("compressed", entry.name))}
        drift = compare_models(models["original"], models[entry.name], ds, usable, config=cfg.compare_config,
                               seed=cfg.seed, twins=cfg.compare.twins, cache_dir=result.out_dir / "twins",
                               rows=rows, background=bg if rows is not None else None, explanations=reuse,
                               name=f"the {entry.name} model")
        atomic_write_json(result.out_dir / "drift" / f"{entry.name}.json", drift.to_dict())
        entry.drift = drift
        entry.agreement = agreement_of(drift)

