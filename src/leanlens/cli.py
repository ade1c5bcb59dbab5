"""The ``leanlens`` command line: a thin Typer layer over the public API.

Exit codes: 0 success, 2 user error (one line on stderr), 1 bug (traceback).
"""

from __future__ import annotations

import errno
import functools
import inspect
import json
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from ._version import __version__
from .errors import InvalidInputError, LeanlensError

app = typer.Typer(
    name="leanlens",
    help="Make ML models smaller and faster, and show whether they still decide for the same reasons.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

Label = Annotated[str | None, typer.Option("--label", help="Label column of a .csv/.parquet file.")]
Impute = Annotated[str | None, typer.Option(
    "--impute", help="Fill missing values of a .csv/.parquet file: mean, median or most_frequent "
    "(fitted on the training split; default: refuse NaN).")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars; print only results.")]
Overwrite = Annotated[bool, typer.Option("--overwrite", help="Replace the output folder if it exists.")]


def _check_seed(value: int | None) -> int | None:
    """Typer callback of every --seed option: an int in [0, 2**32 - 1] (what numpy and sklearn accept)."""
    from ._validation import check_random_state

    return check_random_state(value, param="--seed")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"leanlens {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
) -> None:
    """leanlens: compress models and check they still decide for the same reasons."""


LogJson = Annotated[bool, typer.Option("--log-json", help="Machine logs: one JSON event per line on stderr (no progress bars).")]


def _common_flags(fn: Callable[..., None]) -> Callable[..., None]:
    """Give a command ``--quiet`` and ``--log-json`` (where it lacks them) and the progress
    reporter they choose (:mod:`leanlens.progress`): rich bars with an ETA on stderr by default,
    nothing with ``--quiet``, one JSON event per line on stderr with ``--log-json`` (which
    implies ``--quiet`` for the printed tables). The command's start and end are events too."""
    sig = inspect.signature(fn, eval_str=True)
    own = set(sig.parameters)
    extra = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=False, annotation=ann)
             for name, ann in (("quiet", Quiet), ("log_json", LogJson)) if name not in own]

    @functools.wraps(fn)
    def command(**kwargs: Any) -> None:
        from .pipeline.events import Events
        from .progress import Reporter, json_lines_logger, reporting

        log_json, quiet = bool(kwargs.get("log_json")), bool(kwargs.get("quiet"))
        if log_json and "quiet" in own:
            kwargs["quiet"] = True
        reporter = Reporter(bars=not (quiet or log_json), log=json_lines_logger() if log_json else None)
        with reporting(reporter), Events() as events, events.stage(fn.__name__.removesuffix("_command")):
            fn(**{k: v for k, v in kwargs.items() if k in own})

    command.__signature__ = sig.replace(parameters=[*sig.parameters.values(), *extra])  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in command.__signature__.parameters.values()}  # type: ignore[attr-defined]
    return command


def _print_table(title: str, rows: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    from ._format import significant

    table = Table(title=title, show_header=False)
    for k, v in rows.items():  # floats to 4 significant digits: 0.9722, 57.80 s, 0.0002072
        table.add_row(str(k), significant(v, 4) if isinstance(v, float) else str(v))
    Console().print(table)


@app.command()
@_common_flags
def datasets() -> None:
    """List the bundled data sets (shipped with scikit-learn; nothing is downloaded)."""
    from .data import available

    for name, desc in available().items():
        typer.echo(f"{name:<15} {desc}")


@app.command()
@_common_flags
def train(
    data: Annotated[str, typer.Option(help="Bundled dataset name (see `leanlens datasets`) or a .csv/.parquet file.")] = "digits",
    label: Label = None,
    impute: Impute = None,
    arch: Annotated[str, typer.Option(help="Architecture: mlp or cnn (SmallCNN, for digits-images).")] = "mlp",
    hidden: Annotated[str, typer.Option(help="Hidden layer widths, comma-separated ('' for a linear model).")] = "512,512",
    activation: Annotated[str, typer.Option(help="relu, tanh, sigmoid, gelu or leaky_relu.")] = "relu",
    loss: Annotated[str, typer.Option(help="auto, cross_entropy, bce or mse.")] = "auto",
    optimizer: Annotated[str, typer.Option(help="sgd, adam, adamw or rmsprop.")] = "adam",
    lr: Annotated[float, typer.Option(help="Learning rate.")] = 1e-3,
    schedule: Annotated[str, typer.Option(help="constant, exponential, step, cosine or onecycle.")] = "cosine",
    batch_size: Annotated[int, typer.Option(help="Mini-batch size.")] = 64,
    epochs: Annotated[int, typer.Option(help="Training epochs.")] = 30,
    dropout: Annotated[float, typer.Option(help="Dropout after each hidden layer.")] = 0.2,
    weight_decay: Annotated[float, typer.Option(help="L2 weight decay.")] = 0.0,
    patience: Annotated[int | None, typer.Option(help="Early stopping patience in epochs (off by default).")] = None,
    seed: Annotated[int, typer.Option(callback=_check_seed, help="Seed of the split, initialization and shuffling.")] = 0,
    config: Annotated[Path | None, typer.Option(help="A train.yaml (TrainConfig fields); overrides the options above.")] = None,
    out: Annotated[Path, typer.Option(help="Output model folder.")] = Path("runs/model"),
    overwrite: Overwrite = False,
    quiet: Quiet = False,
) -> None:
    """Train an MLP or SmallCNN and save it (model.safetensors + model.json)."""
    from . import TrainConfig
    from . import train as train_fn
    from ._io import prepare_out_dir
    from .data.source import open_dataset, record_data_source
    from .limits import MAX_BATCH_SIZE, MAX_EPOCHS

    _bounded(epochs, "epochs", MAX_EPOCHS)
    _bounded(batch_size, "batch-size", MAX_BATCH_SIZE)
    _seed(seed)
    _impute_choice(impute)
    prepare_out_dir(out, overwrite=overwrite)
    if config is not None:
        cfg = TrainConfig.from_yaml(config)
    else:
        cfg = TrainConfig(
            arch=arch, hidden=_ints(hidden, "hidden"), activation=activation, loss=loss,  # type: ignore[arg-type]
            optimizer=optimizer, lr=lr, schedule=schedule, batch_size=batch_size, epochs=epochs,
            dropout=dropout, weight_decay=weight_decay, patience=patience, random_state=seed,
        )
    ds = open_dataset(data, label=label, random_state=seed, impute=impute)
    model = train_fn(ds, cfg, progress=not quiet)
    record_data_source(model, data, label=label, dataset=ds)
    model.save(out, overwrite=overwrite)
    shape = (f"cnn, channels {list(cfg.channels)}, dense {list(cfg.hidden)}" if cfg.arch == "cnn"
             else f"mlp {list(cfg.hidden)}")
    _print_table(f"{ds.name}: {shape}", model.metadata["metrics"])
    typer.echo(f"saved to {out}")


def _ints(text: str, name: str) -> tuple[int, ...]:
    from .limits import check_widths

    try:
        widths = tuple(int(t) for t in text.split(",") if t.strip())
    except ValueError:
        raise InvalidInputError(f"--{name} must be comma-separated integers such as 512,512. Got {text[:200]!r}.") from None
    return check_widths(widths, param=f"--{name}")


def _impute_choice(value: str | None) -> None:
    from .data.readers import IMPUTE_STRATEGIES

    if value is not None and value not in IMPUTE_STRATEGIES:
        from .errors import InvalidInputError

        raise InvalidInputError(f"--impute must be one of {', '.join(IMPUTE_STRATEGIES)}. Got {value!r} instead.")


def _seed(value: int | None, name: str = "seed") -> None:
    """A --seed is an int in [0, 2**32 - 1] (numpy and scikit-learn refuse others), checked before any work."""
    from ._validation import check_random_state

    check_random_state(value, param=f"--{name}")


def _bounded(value: int | None, name: str, high: int, low: int = 1) -> None:
    """An option's documented bound (leanlens.limits), checked before any work starts."""
    from .limits import check_count

    check_count(value, param=f"--{name}", high=high, low=low, allow_none=True)


@app.command()
@_common_flags
def info(
    model_dir: Annotated[Path, typer.Argument(help="A saved model folder or an .onnx file.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Show a saved model: architecture, parameter count, size on disk, metrics."""
    from .models import load_model

    model = load_model(model_dir)
    desc = model.describe()
    size = sum(f.stat().st_size for f in Path(model_dir).rglob("*") if f.is_file()) if Path(model_dir).is_dir() else Path(model_dir).stat().st_size
    desc["size_on_disk_bytes"] = size
    desc["metrics"] = model.metadata.get("metrics", {})
    if as_json:
        typer.echo(json.dumps(desc, indent=2))
        return
    from ._format import human_bytes, human_count

    rows = {k: v for k, v in desc.items() if k not in ("metrics", "size_on_disk_bytes")}
    rows.update({k: human_count(v) for k, v in rows.items() if isinstance(v, int) and not isinstance(v, bool) and "param" in k})
    rows["size on disk"] = f"{human_bytes(size)} ({size:,} bytes)"
    rows.update({f"metric: {k}": v for k, v in desc["metrics"].items()})
    _print_table(str(model_dir), rows)


Backend = Annotated[str | None, typer.Option("--backend", help="Where explanations and trials run: local or ray (default: the pipeline's executor.backend).")]
Address = Annotated[str | None, typer.Option("--address", help="Ray cluster address (host:port or ray://host:port); default: start a local Ray instance.")]


def _pipeline_options(quiet: bool, log_json: bool) -> dict[str, Any]:
    """run()/sweep() report through the command's reporter (set by ``_common_flags``)."""
    return {"progress": not (quiet or log_json), "log": None}


def _with_executor(cfg: Any, backend: str | None, address: str | None) -> Any:
    if backend is None and address is None:
        return cfg
    executor = cfg.executor.model_copy(update={k: v for k, v in (("backend", backend or "ray"), ("address", address)) if v is not None})
    return cfg.model_copy(update={"executor": executor})


@app.command()
@_common_flags
def demo(
    out: Annotated[Path, typer.Option(help="Output folder of the demo run.")] = Path("runs/demo"),
    overwrite: Annotated[bool, typer.Option("--overwrite/--no-overwrite", help="Replace an earlier demo run.")] = True,
    quiet: Quiet = False,
    log_json: LogJson = False,
    backend: Backend = None,
    address: Address = None,
) -> None:
    """The whole pipeline on digits: MLP, pruned+fine-tuned and distilled, Shapley + IG, judged against retrained twins, HTML report."""
    from .pipeline.console import print_summary
    from .pipeline.demo import demo_config
    from .workflow import run

    result = run(_with_executor(demo_config(), backend, address), out=out, overwrite=overwrite,
                 **_pipeline_options(quiet, log_json))
    print_summary(result)


@app.command("run")
@_common_flags
def run_command(
    pipeline: Annotated[Path, typer.Argument(help="The pipeline YAML (see `leanlens schema`).")],
    out: Annotated[Path, typer.Option(help="Run folder (result.json, models, explanations, report.html).")] = Path("runs/run"),
    overwrite: Overwrite = False,
    quiet: Quiet = False,
    log_json: LogJson = False,
    backend: Backend = None,
    address: Address = None,
) -> None:
    """Run a pipeline: data → model → compression plans → explain → metrics → compare → report."""
    from .pipeline import load_pipeline_config
    from .pipeline.console import print_summary
    from .workflow import run

    cfg = _with_executor(load_pipeline_config(pipeline), backend, address)
    print_summary(run(cfg, out=out, overwrite=overwrite, **_pipeline_options(quiet, log_json)))


@app.command("sweep")
@_common_flags
def sweep_command(
    pipeline: Annotated[Path, typer.Argument(help="The pipeline YAML with a 'sweep' section (plan template and search space).")],
    trials: Annotated[int | None, typer.Option("--trials", help="Completed trials wanted (default: sweep.trials).")] = None,
    out: Annotated[Path, typer.Option(help="Sweep folder; running again on the same folder resumes.")] = Path("runs/sweep"),
    storage: Annotated[str | None, typer.Option(help="Optuna storage URL (default sqlite:///<out>/study.db).")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Start again instead of resuming.")] = False,
    quiet: Quiet = False,
    log_json: LogJson = False,
    backend: Backend = None,
    address: Address = None,
) -> None:
    """Optuna search over compression plans: accuracy ↑, latency ↓, explanation agreement ↑."""
    from .limits import MAX_TRIALS
    from .pipeline import load_pipeline_config
    from .pipeline.console import print_summary
    from .workflow import sweep

    _bounded(trials, "trials", MAX_TRIALS)
    cfg = load_pipeline_config(pipeline)
    result = sweep(cfg, out=out, trials=trials, overwrite=overwrite, backend=backend, address=address,
                   storage=storage, **_pipeline_options(quiet, log_json))
    print_summary(result)


@app.command()
@_common_flags
def schema(
    of: Annotated[str, typer.Argument(help="Which file: pipeline (pipeline.yaml), train (train.yaml for "
                                           "`train --config`), compare (compare.yaml for `compare --config`) "
                                           "or plan (one step of a plan).")] = "pipeline",
) -> None:
    """Print the JSON schema of a YAML file leanlens reads: types, bounds and defaults of every key."""
    from .pipeline import json_schema

    typer.echo(json.dumps(json_schema(of), indent=2))


@app.command()
@_common_flags
def explainers() -> None:
    """List every registered explanation method, one line each."""
    from .explain.catalog import explainer_catalog  # no torch / Captum / shap / sklearn import

    for name, (agnostic, summary) in explainer_catalog().items():
        scope = "any model" if agnostic else "specific"
        typer.echo(f"{name:<18} [{scope:<9}] {summary}")


def _parse_rows(text: str, n: int, split: str) -> Any:
    """'a:b', 'a:', ':b', 'i' or 'i,j,k' → row indices into a split of n rows (a slice's
    stop is clipped to n, as in Python; a start or an index past the end is an error)."""
    import numpy as np

    try:
        if ":" in text:
            a, _, b = text.partition(":")
            start, stop = int(a) if a.strip() else 0, int(b) if b.strip() else n
            idx = np.arange(start, min(stop, n)) if start >= 0 else np.array([-1])
        else:
            idx = np.array([int(t) for t in text.split(",") if t.strip()], dtype=np.int64)
    except ValueError:
        raise InvalidInputError(f"--rows must look like 0:100, 5 or 0,3,7. Got {text!r}.") from None
    if len(idx) == 0 or idx.min() < 0 or idx.max() >= n:
        raise InvalidInputError(f"--rows {text} is out of range for the {split} split, which has {n} rows (0:{n}).")
    return idx


def _parse_params(items: list[str] | None) -> dict[str, Any]:
    """--param KEY=VALUE items → method parameters (values read as YAML: 10, 0.5, true, [8, 8])."""
    from .config import loads_yaml
    from .errors import ConfigError, short_repr

    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InvalidInputError(f"--param must look like KEY=VALUE (e.g. baseline=zeros). Got {short_repr(item)}.")
        try:
            out[key.strip()] = loads_yaml(value, where="--param")  # no aliases, tags or deep nesting
        except ConfigError:
            out[key.strip()] = value
    return out


def _parse_target(text: str) -> int | str | None:
    if text.lower() in ("all", "none"):
        return None
    return int(text) if text.lstrip("-").isdigit() else text


@app.command("explain")
@_common_flags
def explain_command(
    model_dir: Annotated[Path, typer.Argument(help="A saved model folder or an .onnx file.")],
    data: Annotated[str | None, typer.Option(help="Bundled dataset name or a .csv/.parquet file; default: the data recorded in model.json.")] = None,
    label: Label = None,
    impute: Impute = None,
    method: Annotated[str, typer.Option(help="Explanation method (see `leanlens explainers`).")] = "shapley",
    split: Annotated[str, typer.Option(help="Split the rows come from: train, val or test.")] = "test",
    rows: Annotated[str, typer.Option(help="Rows of the split: 0:100, 5 or 0,3,7.")] = "0:100",
    budget: Annotated[int | None, typer.Option(help="Method budget (coalitions, samples or steps per row).")] = None,
    background: Annotated[int, typer.Option(help="Background rows drawn from the training split.")] = 100,
    target: Annotated[str, typer.Option(help="Output explained: predicted, all, an index or an output name.")] = "predicted",
    seed: Annotated[int, typer.Option(callback=_check_seed, help="Seed of the background draw and the method.")] = 0,
    data_seed: Annotated[int | None, typer.Option(
        callback=_check_seed, help="Seed of the train/val/test split; default: the seed the model was trained with, else --seed.")] = None,
    param: Annotated[list[str] | None, typer.Option(
        "--param", help="Method parameter KEY=VALUE, repeatable: baseline=zeros, num_features=10, …")] = None,
    plots: Annotated[bool, typer.Option("--plots/--no-plots", help="Also write the PNG plots.")] = True,
    out: Annotated[Path, typer.Option(help="Output folder (explanation.json, .npz and plots).")] = Path("runs/explanation"),
    overwrite: Overwrite = False,
    quiet: Quiet = False,
) -> None:
    """Explain rows of a saved model; write explanation.json (+ .npz) and plots into --out."""
    from ._io import atomic_dir, prepare_out_dir
    from .data.source import background_rows, data_of
    from .explain.base import get_explainer
    from .explain.plots import save_explanation_plots
    from .limits import MAX_BACKGROUND, MAX_BUDGET
    from .models import load_model

    _bounded(budget, "budget", MAX_BUDGET)
    _bounded(background, "background", MAX_BACKGROUND)
    _seed(seed)
    _seed(data_seed, "data-seed")
    prepare_out_dir(out, overwrite=overwrite)
    cls = get_explainer(method)
    model = load_model(model_dir)
    # the split the model was trained on, so that --split test holds rows it never saw
    ds = data_of(model, data, label=label, impute=impute, random_state=seed, split_seed=data_seed)
    X, _ = ds.split(split)
    idx = _parse_rows(rows, len(X), split)
    bg = background_rows(ds, background, random_state=seed)
    params = _parse_params(param)
    explainer = cls(model, background=bg, budget=budget, random_state=seed, **params)
    expl = _explain_with_cost_and_progress(explainer, X[idx], target=_parse_target(target), command="explain")
    expl.params = {**expl.params, "data": ds.name, "split": split, "data_seed": ds.random_state, "rows": rows,
                   "n_background": len(bg)}
    image_shape = (8, 8) if ds.name.startswith("digits") and model.n_features == 64 else None
    with atomic_dir(out, overwrite=overwrite) as tmp:
        expl.save(tmp / "explanation.json")
        if plots:
            save_explanation_plots(expl, tmp, image_shape=image_shape)
    if not quiet:
        _print_table(f"{method} on {len(idx)} rows of {ds.name} ({split})", {
            "values shape": tuple(expl.values.shape),
            "model evaluations": expl.n_model_evals,
            "seconds": float(expl.seconds),
            "top features": ", ".join(expl.top_k(5)),
            **{f"note {i + 1}": n for i, n in enumerate(expl.notes)},
        })
    typer.echo(f"explanation written to {out}")


#: Rows explained per progress step by the CLI (also the seeding rule's chunk: chunk j gets seed + j).
EXPLAIN_CHUNK_ROWS = 10


def _explain_with_cost_and_progress(explainer: Any, X: Any, *, target: Any, flags: Any = None,
                                    extra: Callable[[], list[Any]] | None = None, command: str = "") -> Any:
    """State the measured cost first (and cheaper settings when it is long; ``extra()`` adds the
    command's other parts), then explain the rows in chunks of EXPLAIN_CHUNK_ROWS, one progress
    unit per chunk. What is shown is the reporter's (--quiet, --log-json); the numbers do not
    depend on it."""
    from .explain.cost import Flags, probe_cost, state_cost
    from .pipeline.distributed import explain_rows
    from .progress import shown

    if shown():  # nobody reads a cost under --quiet; a failing probe is the explanation's own error, raised now
        cost = probe_cost(explainer, X, target=target, chunk_rows=EXPLAIN_CHUNK_ROWS)
        state_cost([cost, *(extra() if extra is not None else [])], flags=flags or Flags(), command=command)
    return explain_rows(explainer.model, X, explainer.name, background=explainer.background, target=target,
                        budget=explainer.budget, random_state=explainer.random_state, params=explainer.params,
                        chunk_rows=EXPLAIN_CHUNK_ROWS)


@app.command("compress")
@_common_flags
def compress_command(
    model_dir: Annotated[Path, typer.Argument(help="A saved model folder (or an .onnx file).")],
    data: Annotated[str | None, typer.Option(help="Bundled dataset name or a .csv/.parquet file; default: the data recorded in model.json.")] = None,
    label: Label = None,
    impute: Impute = None,
    plan: Annotated[Path | None, typer.Option(help="A plan.yaml: a list of steps such as - prune: {amount: 0.5}.")] = None,
    prune: Annotated[str | None, typer.Option(help="Inline step: KIND:AMOUNT[:CRITERION], e.g. structured:0.5.")] = None,
    finetune: Annotated[int | None, typer.Option(help="Inline step: fine-tune this many epochs.")] = None,
    quantize: Annotated[str | None, typer.Option(help="Inline step: int8 or static (the same: static int8 calibrated on training rows, the default), or dynamic; ONNX Runtime, Linear layers (see Quantize for convolutions).")] = None,
    lowrank: Annotated[float | None, typer.Option(help="Inline step: SVD low-rank at this fraction of the rank.")] = None,
    distill: Annotated[str | None, typer.Option(help="Inline step: distill into an MLP with these hidden widths, e.g. 64,32.")] = None,
    seed: Annotated[int, typer.Option(callback=_check_seed, help="Seed of every random choice (and of the split when the model does not record its own).")] = 0,
    reps: Annotated[int, typer.Option(help="Timed calls per batch size for latency (0: skip latency).")] = 200,
    threads: Annotated[int, typer.Option(help="torch / ONNX Runtime threads while measuring.")] = 2,
    out: Annotated[Path, typer.Option(help="Output folder: model/, record.json, plan.yaml.")] = Path("runs/compressed"),
    auto: Annotated[bool, typer.Option("--auto", help="Search the plan: the fastest model within --max-accuracy-drop (Optuna).")] = False,
    max_accuracy_drop: Annotated[float, typer.Option(help="--auto: largest allowed score drop, a fraction (0.01 = 1 point).")] = 0.01,
    require: Annotated[str | None, typer.Option(help="--auto: 'same-reasons' also requires compare()'s verdict.")] = None,
    trials: Annotated[int, typer.Option(help="--auto: trials of the study (a resumed study counts its own).")] = 20,
    max_seconds: Annotated[float | None, typer.Option(help="--auto: stop proposing trials after this many seconds.")] = None,
    batch: Annotated[int, typer.Option(help="--auto: batch size at which latency is measured.")] = 256,
    storage: Annotated[Path | None, typer.Option(help="--auto: SQLite file of the study (resumable).")] = None,
    backend: Annotated[str, typer.Option(help="--auto: run trials 'local'ly or on 'ray'.")] = "local",
    search: Annotated[str | None, typer.Option(help="--auto: search only these steps, e.g. prune,finetune,quantize.")] = None,
    finalists: Annotated[int, typer.Option(help="--auto: feasible plans re-timed together and (with --require same-reasons) judged, fastest first, until one keeps the reasons; the fastest of each plan shape comes first.")] = 5,
    overwrite: Overwrite = False,
    quiet: Quiet = False,
) -> None:
    """Compress a saved model with a plan (file, inline steps or --auto) and measure every step.

    Inline steps run in the order distill, prune, low-rank, fine-tune, quantize; use --plan
    for any other order. --auto searches the plan instead and writes the chosen one to
    plan.yaml (replay it with --plan plan.yaml --seed SEED) and the search to auto.json.
    """
    from ._io import prepare_out_dir
    from .compress import compress, parse_plan
    from .compress.inline import inline_plan
    from .data.source import data_of
    from .limits import MAX_EPOCHS, MAX_REPS, MAX_THREADS
    from .models import load_model

    _bounded(threads, "threads", MAX_THREADS)
    _bounded(reps, "reps", MAX_REPS, low=0)
    _bounded(finetune, "finetune", MAX_EPOCHS)
    _seed(seed)
    prepare_out_dir(out, overwrite=overwrite)
    inline = inline_plan(prune=prune, finetune=finetune, quantize=quantize, lowrank=lowrank, distill=distill)
    if auto:
        if plan is not None or inline:
            raise InvalidInputError("Give either --auto or a plan (--plan or inline steps such as --prune), not both.")
        _compress_auto(model_dir, data=data, label=label, impute=impute, seed=seed, threads=threads, out=out, overwrite=overwrite,
                       quiet=quiet, max_accuracy_drop=max_accuracy_drop, require=require, trials=trials,
                       max_seconds=max_seconds, batch=batch, storage=storage, backend=backend, search=search,
                       finalists=finalists)
        return
    if plan is not None and inline:
        raise InvalidInputError("Give either --plan or inline steps (--prune, --finetune, ...), not both.")
    if plan is None and not inline:
        raise InvalidInputError("No compression steps: pass --plan plan.yaml or inline steps such as --prune structured:0.5.")
    steps = parse_plan(plan if plan is not None else inline)
    model = load_model(model_dir)
    ds = data_of(model, data, label=label, impute=impute, random_state=seed)
    result = compress(model, steps, data=ds, random_state=seed, progress=not quiet, latency_reps=reps, threads=threads)
    result.save(out, overwrite=overwrite)
    _print_record(result.record.table_rows(), f"compress {model_dir} on {ds.name}")
    for w in result.record.warnings:
        typer.echo(f"warning: {w}", err=True)
    typer.echo(f"saved to {out}")


def _print_record(rows: list[dict[str, Any]], title: str) -> None:
    """The compression record, one column per model (original, then after each step), so that it
    fits an 80-column terminal: sizes in KB/MB, counts with separators, 3 significant digits."""
    from rich.console import Console
    from rich.table import Table

    from ._format import human_bytes, human_count, significant

    def cell(key: str, v: Any) -> str:
        if v is None:
            return "–"
        if key == "kB":
            return human_bytes(v * 1024)
        if key in ("params", "nonzero", "MACs"):
            return human_count(v)
        if key.startswith("x@"):
            return f"{significant(v)}×"
        return significant(v) if isinstance(v, float) else str(v)

    table = Table(title=title)
    table.add_column("")
    for r in rows:
        table.add_column(str(r["step"]), justify="right")
    names = {"kB": "size", "nonzero": "non-zero params", "ms@256": "ms @ batch 256", "orig ms@256": "original ms @ 256",
             "x@1": "speed-up @ 1", "x@256": "speed-up @ 256", "agree": "decision agreement"}
    for key in rows[0]:
        if key != "step":
            table.add_row(names.get(key, key), *[cell(key, r.get(key)) for r in rows])
    Console().print(table)


def _compress_auto(model_dir: Path, *, data: str | None, label: str | None, impute: str | None, seed: int, threads: int, out: Path,
                   overwrite: bool, quiet: bool, max_accuracy_drop: float, require: str | None, trials: int,
                   max_seconds: float | None, batch: int, storage: Path | None, backend: str,
                   search: str | None, finalists: int) -> None:
    """`leanlens compress MODEL --auto`: search, save the winner, its plan and the search."""
    from .compress import compress
    from .compress.auto import AutoBudget
    from .data.source import data_of
    from .models import load_model
    from .pipeline.executors import make_executor

    budget = AutoBudget(max_accuracy_drop=max_accuracy_drop, require=require, trials=trials,  # type: ignore[arg-type]
                        max_seconds=max_seconds, batch=batch, threads=threads, finalists=finalists,
                        storage=None if storage is None else str(storage),
                        steps=None if search is None else tuple(x.strip() for x in search.split(",") if x.strip()))
    model = load_model(model_dir)
    ds = data_of(model, data, label=label, impute=impute, random_state=seed)
    with make_executor(backend) as executor:
        if hasattr(executor, "start"):
            executor.start()
        result = compress(model, "auto", data=ds, budget=budget, random_state=seed, progress=not quiet,
                          executor=executor, threads=threads)
    found = result.auto
    if found is None:  # pragma: no cover - compress(plan="auto") always sets it
        raise RuntimeError("the auto search returned no search record")
    result.save(out, overwrite=overwrite)
    typer.echo(found.message)
    if found.plan:
        typer.echo(f"replay: leanlens compress {model_dir} --data {ds.name} --plan {out / 'plan.yaml'} --seed {seed}")
    for w in result.record.warnings:
        typer.echo(f"warning: {w}", err=True)
    typer.echo(f"saved to {out}")


@app.command("evaluate")
@_common_flags
def evaluate_command(
    model_dir: Annotated[Path, typer.Argument(help="A saved model folder or an .onnx file.")],
    data: Annotated[str | None, typer.Option(help="Bundled dataset name or a .csv/.parquet file; default: the data recorded in model.json.")] = None,
    label: Label = None,
    impute: Impute = None,
    explainer: Annotated[str, typer.Option(help="Explanation method to evaluate (see `leanlens explainers`).")] = "shapley",
    metrics: Annotated[str, typer.Option(help="all, a category (faithfulness, robustness, ...) or comma-separated metric names.")] = "all",
    rows: Annotated[int, typer.Option(help="Test rows explained and evaluated (the first N).")] = 100,
    budget: Annotated[int | None, typer.Option(help="Explainer budget (coalitions, samples or steps per row).")] = None,
    background: Annotated[int, typer.Option(help="Background rows drawn from the training split.")] = 50,
    target: Annotated[str, typer.Option(help="Output judged: predicted, an index or an output name.")] = "predicted",
    seed: Annotated[int, typer.Option(callback=_check_seed, help="Seed of the background, explainer and metrics (and of the split when the model does not record its own).")] = 0,
    out: Annotated[Path, typer.Option(help="Output folder (metrics.json, explanation.json/.npz).")] = Path("runs/evaluate"),
    overwrite: Overwrite = False,
    quiet: Quiet = False,
) -> None:
    """Explain test rows of a saved model and score the explanation with quality metrics."""
    from . import evaluate as evaluate_fn
    from ._io import atomic_dir, atomic_write_json, prepare_out_dir
    from .compress import load_model_or_compressed
    from .data.source import background_rows, data_of
    from .explain.base import get_explainer
    from .limits import MAX_BACKGROUND, MAX_BUDGET, MAX_ROWS

    _bounded(rows, "rows", MAX_ROWS)
    _bounded(budget, "budget", MAX_BUDGET)
    _bounded(background, "background", MAX_BACKGROUND)
    _seed(seed)
    prepare_out_dir(out, overwrite=overwrite)
    cls = get_explainer(explainer)
    names = [m.strip() for m in metrics.split(",") if m.strip()]
    model = load_model_or_compressed(model_dir)
    # the split the model was trained on, so that the test rows are rows it never saw
    ds = data_of(model, data, label=label, impute=impute, random_state=seed)
    X = ds.X_test[:rows]
    bg = background_rows(ds, background, random_state=seed)
    tgt = _parse_target(target)
    judged = None if tgt == "predicted" else tgt

    def metrics_cost() -> list[Any]:
        from .pipeline.cost import metrics_cost

        return [metrics_cost(model, X, cls(model, background=bg, budget=budget, random_state=seed), names,
                             background=bg, target=judged, ground_truth=ds.ground_truth, seed=seed)]

    from .explain.cost import COUNT_FLAGS

    expl = _explain_with_cost_and_progress(cls(model, background=bg, budget=budget, random_state=seed), X, target=None,
                                           flags=COUNT_FLAGS, extra=metrics_cost, command="evaluate")
    results = evaluate_fn(model, X, expl, names, background=bg, target=judged,
                          explainer=cls, ground_truth=ds.ground_truth, random_state=seed)
    with atomic_dir(out, overwrite=overwrite) as tmp:
        atomic_write_json(tmp / "metrics.json", {
            "model": str(model_dir), "data": ds.name, "explainer": explainer, "rows": len(X), "seed": seed,
            "metrics": [r.to_dict() for r in results],
        })
        expl.save(tmp / "explanation.json")
    if not quiet:
        # A reference for each score: the same metric of random attributions (same rows, same
        # scale). A faithful explanation should beat it clearly; metrics that re-run the
        # explainer have no such reference.
        import dataclasses

        import numpy as np

        from ._format import significant

        rng = np.random.default_rng(seed)
        noise = dataclasses.replace(expl, values=rng.normal(scale=float(np.std(expl.values)) or 1.0,
                                                            size=expl.values.shape), stderr=None)
        cheap = [r.name for r in results if not r.skipped and r.category not in ("sanity", "efficiency", "robustness")]
        ref = {r.name: r for r in evaluate_fn(model, X, noise, cheap, background=bg, target=None if tgt == "predicted" else tgt,
                                              ground_truth=ds.ground_truth, random_state=seed)} if cheap else {}
        _print_table(f"{explainer} on {len(X)} rows of {ds.name}: explanation quality (random attributions in brackets)", {
            f"{r.category}: {r.name} ({'higher' if r.higher_is_better else 'lower'} is better)":
                (f"skipped: {_cli_words(r.skipped)}" if r.skipped else
                 f"{significant(float(r.value or 0.0))}" + (f"  (random: {significant(float(ref[r.name].value or 0.0))})"
                                                            if r.name in ref and ref[r.name].value is not None else ""))
            for r in results
        })
    typer.echo(f"metrics written to {out}")


@app.command("compare")
@_common_flags
def compare_command(
    original_dir: Annotated[Path, typer.Argument(help="The original model folder (or .onnx file).")],
    compressed_dir: Annotated[Path, typer.Argument(help="The compressed model folder (or a `leanlens compress` output).")],
    data: Annotated[str | None, typer.Option(help="Bundled dataset name or a .csv/.parquet file; default: the data recorded in the original's model.json.")] = None,
    label: Label = None,
    impute: Impute = None,
    explainers: Annotated[str, typer.Option(help="Comma-separated explanation methods, e.g. shapley,ig.")] = "shapley",
    rows: Annotated[int, typer.Option(help="Test rows compared.")] = 100,
    budget: Annotated[int | None, typer.Option(help="Explainer budget (coalitions per row for Shapley methods).")] = None,
    background: Annotated[int, typer.Option(help="Background rows drawn from the training split.")] = 50,
    config: Annotated[Path | None, typer.Option(help="A compare.yaml (CompareConfig fields: thresholds, bootstrap); overrides --rows/--budget/--background.")] = None,
    seed: Annotated[int, typer.Option(callback=_check_seed, help="Seed of row sampling, explainers and bootstrap (and of the split when the model does not record its own).")] = 0,
    twins: Annotated[int, typer.Option("--twins", help="Twins of the original trained as the yardstick (its recorded recipe, other seeds; fine-tuned twins when there is no recipe). 0: judge against the explainer's own noise.")] = 3,
    twin: Annotated[list[Path] | None, typer.Option("--twin", help="A twin model folder (or .onnx) trained like the original; repeat for several. Replaces --twins.")] = None,
    max_seconds: Annotated[float | None, typer.Option("--max-seconds", help="Optional guard: CPU seconds allowed for raising explainer budgets until their noise resolves the twins (default none: budgets are capped by a count, CompareConfig.max_evaluations, so the verdict does not depend on the machine).")] = None,
    plots: Annotated[bool, typer.Option("--plots/--no-plots", help="Also write the drift plots (PNG).")] = True,
    out: Annotated[Path, typer.Option(help="Output folder (drift.json and plots).")] = Path("runs/compare"),
    overwrite: Overwrite = False,
    quiet: Quiet = False,
) -> None:
    """Does the compressed model still decide for the same reasons? Writes drift.json and plots."""
    from . import compare as compare_fn
    from ._io import prepare_out_dir
    from .compare import CompareConfig
    from .compress import load_model_or_compressed
    from .data.source import data_of

    _seed(seed)
    if twins < 0:
        raise InvalidInputError(f"The '--twins' option must be ≥ 0. Got {twins}.")
    if max_seconds is not None and not max_seconds > 0:
        raise InvalidInputError(f"The '--max-seconds' option must be > 0. Got {max_seconds}.")
    prepare_out_dir(out, overwrite=overwrite)
    cfg = CompareConfig.from_yaml(config) if config is not None else CompareConfig(
        n_rows=rows, n_background=background, budget=budget)
    if max_seconds is not None:
        cfg = cfg.replace(max_seconds=max_seconds)
    methods = [m.strip() for m in explainers.split(",") if m.strip()]
    original = load_model_or_compressed(original_dir)
    compressed = load_model_or_compressed(compressed_dir)
    twin_models: int | list[Any] = [load_model_or_compressed(p) for p in twin] if twin else twins
    # the split the original was trained on, so that the test rows are rows it never saw
    ds = data_of(original, data, label=label, impute=impute, random_state=seed)
    from .compare.twins import check_same_io

    check_same_io(original, compressed, "the compressed model")  # a refusal comes before any probe
    for i, m in enumerate(twin_models if isinstance(twin_models, list) else []):
        check_same_io(original, m, f"--twin {i + 1}")
    _state_compare_cost(original, ds, methods, cfg, seed, twin_models)
    report = compare_fn(original, compressed, ds, explainers=methods, config=cfg, random_state=seed,
                        twins=twin_models)
    report.save(out, overwrite=overwrite, plots=plots)
    typer.echo(report.summary())
    typer.echo(f"drift report written to {out}")

def _state_compare_cost(original: Any, ds: Any, methods: list[str], cfg: Any, seed: int, twins: Any) -> None:
    """The cost line of ``compare``: its explanations (models × seeds, probed on the original)
    and its twins' training, said before the work (nothing under --quiet)."""
    from .data.source import background_rows
    from .explain.cost import COUNT_FLAGS, stated_cost
    from .pipeline.cost import compare_cost, twins_cost

    def parts() -> list[Any]:
        n_twins = len(twins) if isinstance(twins, list) else int(twins)
        bg = background_rows(ds, cfg.n_background, random_state=seed)
        out: list[Any] = compare_cost(original, ds.X_test[: cfg.n_rows], bg, methods, config=cfg, seed=seed,
                                      n_twins=n_twins)
        trained = None if isinstance(twins, list) else twins_cost(original, ds, n_twins)
        return out + ([trained] if trained is not None else [])

    stated_cost(parts, flags=COUNT_FLAGS, command="compare")


#: OSErrors that are the environment's, not a bug: reported as one line with exit code 2.
_USER_ERRNOS = frozenset({errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.ENAMETOOLONG,
                          errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.EMFILE, errno.ELOOP, errno.EXDEV})
_terminated = False


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised as a KeyboardInterrupt so that every Ctrl-C cleanup path runs for it too."""


def _on_sigterm(signum: int, frame: Any) -> None:
    global _terminated
    _terminated = True
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut the cleanup short
    raise Terminated()


#: The Python API's words in messages, and what a command-line user types instead.
_CLI_WORDS = (
    ("pass overwrite=True (--overwrite in the CLI)", "pass --overwrite"),
    ("pass overwrite=True", "pass --overwrite"),
    ("; pass ground_truth=...", " (only --data synthetic has them)"),
    ("; pass background=...", "; give --background N"),
    ("; pass explainer=...", ""),
)


def _cli_words(text: str) -> str:
    for api, cli in _CLI_WORDS:
        text = text.replace(api, cli)
    return text


def _one_line(text: str, limit: int = 1000) -> str:
    line = " ".join(_cli_words(str(text)).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _interrupted() -> None:
    if _terminated:
        typer.echo("leanlens: terminated (SIGTERM)", err=True)
        sys.exit(143)
    typer.echo("leanlens: interrupted", err=True)
    sys.exit(130)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: user errors → one line on stderr and exit code 2.

    SIGTERM behaves like Ctrl-C (status files say "interrupted", temporary folders are
    removed), then exits with 143 (130 for Ctrl-C).
    """
    import os
    import threading
    import warnings

    # torch's OpenMP threads busy-wait for work by default: with another process on the cores
    # that made a 2-thread training take ~10x the CPU time (digits MLP, 10 epochs: 17 s CPU
    # against 1.7 s passive, load ~10). Set before torch loads; a user's own value wins.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)
    # warnings addressed to the user (a column one-hot encoded, ...) as one plain line each
    if "--log-json" in (argv if argv is not None else sys.argv[1:]):  # stderr carries JSON lines only
        warnings.formatwarning = lambda message, category, *a, **k: json.dumps(
            {"event": "warning", "category": category.__name__, "message": _one_line(str(message))}) + "\n"
    else:
        warnings.formatwarning = lambda message, category, *a, **k: f"leanlens: warning: {_one_line(str(message))}\n"
    try:
        rv = app(args=argv, standalone_mode=False)
        # Typer turns Ctrl-C into Exit(130) and, outside standalone mode, returns the code.
        # A SIGTERM whose exception Python swallowed (raised inside a weakref callback or a
        # __del__: "Exception ignored in ...") let the command finish; it still ends as terminated.
        if rv == 130 or _terminated:
            _interrupted()
    except LeanlensError as exc:
        typer.echo(f"leanlens: error: {_one_line(str(exc))}", err=True)
        sys.exit(2)
    except (typer.Abort, KeyboardInterrupt):
        _interrupted()
    except typer.Exit as exc:
        if exc.exit_code == 130:
            _interrupted()
        sys.exit(exc.exit_code)
    except OSError as exc:
        if exc.errno not in _USER_ERRNOS:
            raise
        from ._io import os_error_message

        where = f": {exc.filename!s}" if exc.filename else ""
        typer.echo(f"leanlens: error: {os_error_message(exc)}{where}", err=True)
        sys.exit(2)
    except Exception as exc:
        # Usage errors from the click that Typer vendors carry their own exit code (2).
        if any(c.__name__ == "ClickException" for c in type(exc).__mro__):
            exc.show()  # type: ignore[attr-defined]
            sys.exit(exc.exit_code)  # type: ignore[attr-defined]
        raise
    sys.exit(0)


if __name__ == "__main__":  # pragma: no cover
    main()
