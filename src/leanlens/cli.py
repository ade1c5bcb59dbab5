"""The ``leanlens`` command line: a thin Typer layer over the public API.

Exit codes: 0 success, 2 user error (one line on stderr), 1 bug (traceback).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from . import __version__
from .errors import InvalidInputError, LeanlensError

app = typer.Typer(
    name="leanlens",
    help="Make ML models smaller and faster, and show whether they still decide for the same reasons.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars; print only results.")]
Overwrite = Annotated[bool, typer.Option("--overwrite", help="Replace the output folder if it exists.")]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"leanlens {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
) -> None:
    """leanlens: compress models and check they still decide for the same reasons."""


def load_data(data: str, target: str | None = None, *, random_state: int = 0) -> Any:
    """A bundled dataset name, or a .csv / .parquet path with ``--target``."""
    from . import datasets

    p = Path(data)
    if p.suffix.lower() in (".csv", ".parquet") or p.is_file():
        if not target:
            raise InvalidInputError(f"--target is required with a data file ({data!r}): name the label column.")
        reader = datasets.from_parquet if p.suffix.lower() == ".parquet" else datasets.from_csv
        return reader(p, target=target, random_state=random_state)
    return datasets.load(data, random_state=random_state)


def _print_table(title: str, rows: dict[str, Any], *, quiet: bool = False) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_header=False)
    for k, v in rows.items():
        table.add_row(str(k), f"{v:.4f}" if isinstance(v, float) else str(v))
    Console().print(table)


@app.command()
def datasets() -> None:
    """List the bundled data sets (shipped with scikit-learn; nothing is downloaded)."""
    from .data import available

    for name, desc in available().items():
        typer.echo(f"{name:<15} {desc}")


@app.command()
def train(
    data: Annotated[str, typer.Option(help="Bundled dataset name (see `leanlens datasets`) or a .csv/.parquet file.")] = "digits",
    target: Annotated[str | None, typer.Option(help="Label column of a CSV/Parquet file.")] = None,
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
    seed: Annotated[int, typer.Option(help="Seed of the split, initialization and shuffling.")] = 0,
    config: Annotated[Path | None, typer.Option(help="A train.yaml (TrainConfig fields); overrides the options above.")] = None,
    out: Annotated[Path, typer.Option(help="Output model folder.")] = Path("runs/model"),
    overwrite: Overwrite = False,
    quiet: Quiet = False,
) -> None:
    """Train an MLP or SmallCNN and save it (model.safetensors + model.json)."""
    from . import TrainConfig
    from . import train as train_fn
    from ._io import prepare_out_dir

    prepare_out_dir(out, overwrite=overwrite)
    if config is not None:
        cfg = TrainConfig.from_yaml(config)
    else:
        cfg = TrainConfig(
            arch=arch, hidden=_ints(hidden, "hidden"), activation=activation, loss=loss,  # type: ignore[arg-type]
            optimizer=optimizer, lr=lr, schedule=schedule, batch_size=batch_size, epochs=epochs,
            dropout=dropout, weight_decay=weight_decay, patience=patience, random_state=seed,
        )
    ds = load_data(data, target, random_state=seed)
    model = train_fn(ds, cfg, progress=not quiet)
    model.save(out, overwrite=overwrite)
    _print_table(f"{ds.name}: {cfg.arch} {list(cfg.hidden)}", model.metadata["metrics"])
    typer.echo(f"saved to {out}")


def _ints(text: str, name: str) -> tuple[int, ...]:
    try:
        return tuple(int(t) for t in text.split(",") if t.strip())
    except ValueError:
        raise InvalidInputError(f"--{name} must be comma-separated integers such as 512,512. Got {text!r}.") from None


@app.command()
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
    rows = {k: v for k, v in desc.items() if k != "metrics"}
    rows.update({f"metric: {k}": v for k, v in desc["metrics"].items()})
    _print_table(str(model_dir), rows)


LogJson = Annotated[bool, typer.Option("--log-json", help="Machine logs: one JSON event per line on stderr (no progress bars).")]
Backend = Annotated[str | None, typer.Option("--backend", help="Where explanations and trials run: local or ray (default: the pipeline's executor.backend).")]
Address = Annotated[str | None, typer.Option("--address", help="Ray cluster address (host:port or ray://host:port); default: start a local Ray instance.")]


def _pipeline_options(quiet: bool, log_json: bool) -> dict[str, Any]:
    from .pipeline.events import json_lines_logger

    return {"progress": not (quiet or log_json), "log": json_lines_logger() if log_json else None}


def _with_executor(cfg: Any, backend: str | None, address: str | None) -> Any:
    if backend is None and address is None:
        return cfg
    executor = cfg.executor.model_copy(update={k: v for k, v in (("backend", backend or "ray"), ("address", address)) if v is not None})
    return cfg.model_copy(update={"executor": executor})


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Output folder of the demo run.")] = Path("runs/demo"),
    overwrite: Annotated[bool, typer.Option("--overwrite/--no-overwrite", help="Replace an earlier demo run.")] = True,
    quiet: Quiet = False,
    log_json: LogJson = False,
    backend: Backend = None,
    address: Address = None,
) -> None:
    """The whole pipeline on digits: MLP, pruned+fine-tuned and distilled, Shapley + IG, judged against retrained twins, HTML report."""
    from .pipeline import run
    from .pipeline.console import print_summary
    from .pipeline.demo import demo_config

    result = run(_with_executor(demo_config(), backend, address), out=out, overwrite=overwrite,
                 **_pipeline_options(quiet, log_json))
    print_summary(result)


@app.command("run")
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
    from .pipeline import load_pipeline_config, run
    from .pipeline.console import print_summary

    cfg = _with_executor(load_pipeline_config(pipeline), backend, address)
    print_summary(run(cfg, out=out, overwrite=overwrite, **_pipeline_options(quiet, log_json)))


@app.command("sweep")
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
    from .pipeline import load_pipeline_config, sweep
    from .pipeline.console import print_summary

    cfg = load_pipeline_config(pipeline)
    result = sweep(cfg, out=out, trials=trials, overwrite=overwrite, backend=backend, address=address,
                   storage=storage, **_pipeline_options(quiet, log_json))
    print_summary(result)


@app.command()
def schema() -> None:
    """Print the JSON schema of the pipeline YAML."""
    from .pipeline import json_schema

    typer.echo(json.dumps(json_schema(), indent=2))


@app.command()
def explainers() -> None:
    """List every registered explanation method, one line each."""
    from .explain.base import EXPLAINERS, _load_builtin_explainers

    _load_builtin_explainers()
    for name in sorted(EXPLAINERS):
        cls = EXPLAINERS[name]
        scope = "any model" if cls.model_agnostic else "specific"
        typer.echo(f"{name:<18} [{scope:<9}] {cls.summary}")


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
    import yaml

    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InvalidInputError(f"--param must look like KEY=VALUE (e.g. baseline=zeros). Got {item!r}.")
        try:
            out[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError:
            out[key.strip()] = value
    return out


def _parse_target(text: str) -> int | str | None:
    if text.lower() in ("all", "none"):
        return None
    return int(text) if text.lstrip("-").isdigit() else text


@app.command("explain")
def explain_command(
    model_dir: Annotated[Path, typer.Argument(help="A saved model folder or an .onnx file.")],
    data: Annotated[str, typer.Option(help="Bundled dataset name or a .csv/.parquet file (the model's data).")] = "digits",
    label: Annotated[str | None, typer.Option(help="Label column of a CSV/Parquet file.")] = None,
    method: Annotated[str, typer.Option(help="Explanation method (see `leanlens explainers`).")] = "kernel",
    split: Annotated[str, typer.Option(help="Split the rows come from: train, val or test.")] = "test",
    rows: Annotated[str, typer.Option(help="Rows of the split: 0:100, 5 or 0,3,7.")] = "0:100",
    budget: Annotated[int | None, typer.Option(help="Method budget (coalitions, samples or steps per row).")] = None,
    background: Annotated[int, typer.Option(help="Background rows drawn from the training split.")] = 100,
    target: Annotated[str, typer.Option(help="Output explained: predicted, all, an index or an output name.")] = "predicted",
    seed: Annotated[int, typer.Option(help="Seed of the background draw and the method.")] = 0,
    data_seed: Annotated[int | None, typer.Option(
        help="Seed of the train/val/test split; default: the seed the model was trained with, else --seed.")] = None,
    param: Annotated[list[str] | None, typer.Option(
        "--param", help="Method parameter KEY=VALUE, repeatable: baseline=zeros, num_features=10, …")] = None,
    plots: Annotated[bool, typer.Option("--plots/--no-plots", help="Also write the PNG plots.")] = True,
    out: Annotated[Path, typer.Option(help="Output folder (explanation.json, .npz and plots).")] = Path("runs/explanation"),
    overwrite: Overwrite = False,
    quiet: Quiet = False,
) -> None:
    """Explain rows of a saved model; write explanation.json (+ .npz) and plots into --out."""
    import numpy as np

    from ._io import atomic_dir, prepare_out_dir
    from .explain.base import get_explainer
    from .explain.plots import save_explanation_plots
    from .models import load_model

    prepare_out_dir(out, overwrite=overwrite)
    cls = get_explainer(method)
    if background < 1:
        raise InvalidInputError(f"--background must be a positive number of rows. Got {background}.")
    model = load_model(model_dir)
    if data_seed is None:
        # the split the model was trained on, so that --split test holds rows it never saw
        data_seed = model.metadata.get("train", {}).get("random_state", seed)
    ds = load_data(data, label, random_state=data_seed)
    X, _ = ds.split(split)
    idx = _parse_rows(rows, len(X), split)
    rng = np.random.default_rng(seed)
    bg = ds.X_train[np.sort(rng.choice(len(ds.X_train), size=min(background, len(ds.X_train)), replace=False))]
    explainer = cls(model, background=bg, budget=budget, random_state=seed, **_parse_params(param))
    expl = explainer.explain(X[idx], target=_parse_target(target))
    expl.params = {**expl.params, "data": data, "split": split, "data_seed": data_seed, "rows": rows,
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


def _inline_plan(prune: str | None, finetune: int | None, quantize: str | None, lowrank: float | None,
                 distill: str | None) -> list[dict[str, Any]]:
    """Inline steps in a fixed order: distill, prune, low-rank, fine-tune, quantize."""
    steps: list[dict[str, Any]] = []
    if distill is not None:
        steps.append({"distill": {"hidden": list(_ints(distill, "distill"))}})
    if prune is not None:
        parts = prune.split(":")
        if len(parts) == 1:
            parts = ["structured", *parts]
        try:
            spec: dict[str, Any] = {"kind": parts[0], "amount": float(parts[1])}
        except (ValueError, IndexError):
            raise InvalidInputError(
                f"--prune must look like structured:0.5, unstructured:0.8 or structured:0.5:taylor. Got {prune!r}."
            ) from None
        if len(parts) > 2:
            spec["criterion"] = parts[2]
        steps.append({"prune": spec})
    if lowrank is not None:
        steps.append({"lowrank": {"rank_ratio": lowrank}})
    if finetune is not None:
        steps.append({"finetune": {"epochs": finetune}})
    if quantize is not None:
        steps.append({"quantize": {"dtype": quantize}})
    return steps


@app.command("compress")
def compress_command(
    model_dir: Annotated[Path, typer.Argument(help="A saved model folder (or an .onnx file).")],
    data: Annotated[str, typer.Option(help="Bundled dataset name or a .csv/.parquet file (with --target).")] = "digits",
    target: Annotated[str | None, typer.Option(help="Label column of a CSV/Parquet file.")] = None,
    plan: Annotated[Path | None, typer.Option(help="A plan.yaml: a list of steps such as - prune: {amount: 0.5}.")] = None,
    prune: Annotated[str | None, typer.Option(help="Inline step: KIND:AMOUNT[:CRITERION], e.g. structured:0.5.")] = None,
    finetune: Annotated[int | None, typer.Option(help="Inline step: fine-tune this many epochs.")] = None,
    quantize: Annotated[str | None, typer.Option(help="Inline step: int8 (dynamic, ONNX Runtime).")] = None,
    lowrank: Annotated[float | None, typer.Option(help="Inline step: SVD low-rank at this fraction of the rank.")] = None,
    distill: Annotated[str | None, typer.Option(help="Inline step: distill into an MLP with these hidden widths, e.g. 64,32.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the data split and of every random choice.")] = 0,
    reps: Annotated[int, typer.Option(help="Timed calls per batch size for latency (0: skip latency).")] = 200,
    threads: Annotated[int, typer.Option(help="torch / ONNX Runtime threads while measuring.")] = 2,
    out: Annotated[Path, typer.Option(help="Output folder: model/, record.json, plan.yaml.")] = Path("runs/compressed"),
    overwrite: Overwrite = False,
    quiet: Quiet = False,
) -> None:
    """Compress a saved model with a plan (file or inline steps) and measure every step.

    Inline steps run in the order distill, prune, low-rank, fine-tune, quantize; use --plan
    for any other order.
    """
    import yaml

    from ._io import atomic_dir, atomic_write_text, prepare_out_dir
    from .compress import compress, parse_plan, plan_to_list
    from .models import load_model

    prepare_out_dir(out, overwrite=overwrite)
    inline = _inline_plan(prune, finetune, quantize, lowrank, distill)
    if plan is not None and inline:
        raise InvalidInputError("Give either --plan or inline steps (--prune, --finetune, ...), not both.")
    if plan is None and not inline:
        raise InvalidInputError("No compression steps: pass --plan plan.yaml or inline steps such as --prune structured:0.5.")
    steps = parse_plan(plan if plan is not None else inline)
    model = load_model(model_dir)
    ds = load_data(data, target, random_state=seed)
    result = compress(model, steps, data=ds, random_state=seed, progress=not quiet, latency_reps=reps, threads=threads)
    with atomic_dir(out, overwrite=overwrite) as tmp:
        result.model.save(tmp / "model")
        result.record.save(tmp / "record.json")
        atomic_write_text(tmp / "plan.yaml", yaml.safe_dump(plan_to_list(steps), sort_keys=False))
    from rich.console import Console
    from rich.table import Table

    rows = result.record.table_rows()
    table = Table(title=f"compress {model_dir} on {ds.name}")
    for col in rows[0]:
        table.add_column(col)
    for r in rows:
        table.add_row(*["–" if v is None else str(v) for v in r.values()])
    Console().print(table)
    for w in result.record.warnings:
        typer.echo(f"warning: {w}", err=True)
    typer.echo(f"saved to {out}")


def _load_model_or_compressed(path: Path) -> Any:
    """A model folder, an .onnx file, or a `leanlens compress` output folder (its model/)."""
    from .models import load_model

    if path.is_dir() and not (path / "model.json").is_file() and (path / "model").is_dir():
        return load_model(path / "model")
    return load_model(path)


@app.command("evaluate")
def evaluate_command(
    model_dir: Annotated[Path, typer.Argument(help="A saved model folder or an .onnx file.")],
    data: Annotated[str, typer.Option(help="Bundled dataset name or a .csv/.parquet file (the model's data).")] = "digits",
    label: Annotated[str | None, typer.Option(help="Label column of a CSV/Parquet file.")] = None,
    explainer: Annotated[str, typer.Option(help="Explanation method to evaluate (see `leanlens explainers`).")] = "kernel",
    metrics: Annotated[str, typer.Option(help="all, a category (faithfulness, robustness, ...) or comma-separated metric names.")] = "all",
    rows: Annotated[int, typer.Option(help="Test rows explained and evaluated (the first N).")] = 100,
    budget: Annotated[int | None, typer.Option(help="Explainer budget (coalitions, samples or steps per row).")] = None,
    background: Annotated[int, typer.Option(help="Background rows drawn from the training split.")] = 50,
    target: Annotated[str, typer.Option(help="Output judged: predicted, an index or an output name.")] = "predicted",
    seed: Annotated[int, typer.Option(help="Seed of the background, explainer and metrics (and of the split when the model does not record its own).")] = 0,
    out: Annotated[Path, typer.Option(help="Output folder (metrics.json, explanation.json/.npz).")] = Path("runs/evaluate"),
    overwrite: Overwrite = False,
    quiet: Quiet = False,
) -> None:
    """Explain test rows of a saved model and score the explanation with quality metrics."""
    import numpy as np

    from . import evaluate as evaluate_fn
    from ._io import atomic_dir, atomic_write_json, prepare_out_dir
    from .explain.base import get_explainer

    prepare_out_dir(out, overwrite=overwrite)
    cls = get_explainer(explainer)
    names = [m.strip() for m in metrics.split(",") if m.strip()]
    if rows < 1 or background < 1:
        raise InvalidInputError(f"--rows and --background must be positive numbers of rows. Got {rows} and {background}.")
    model = _load_model_or_compressed(model_dir)
    # the split the model was trained on, so that the test rows are rows it never saw
    ds = load_data(data, label, random_state=model.metadata.get("train", {}).get("random_state", seed))
    X = ds.X_test[:rows]
    rng = np.random.default_rng(seed)
    bg = ds.X_train[np.sort(rng.choice(len(ds.X_train), size=min(background, len(ds.X_train)), replace=False))]
    tgt = _parse_target(target)
    expl = cls(model, background=bg, budget=budget, random_state=seed).explain(X, target=None)
    results = evaluate_fn(model, X, expl, names, background=bg, target=None if tgt == "predicted" else tgt,
                          explainer=cls, ground_truth=ds.ground_truth, random_state=seed)
    with atomic_dir(out, overwrite=overwrite) as tmp:
        atomic_write_json(tmp / "metrics.json", {
            "model": str(model_dir), "data": data, "explainer": explainer, "rows": len(X), "seed": seed,
            "metrics": [r.to_dict() for r in results],
        })
        expl.save(tmp / "explanation.json")
    if not quiet:
        _print_table(f"{explainer} on {len(X)} rows of {ds.name}: explanation quality", {
            f"{r.category}: {r.name} ({'↑' if r.higher_is_better else '↓'})":
                (f"skipped: {r.skipped}" if r.skipped else float(r.value or 0.0)) for r in results
        })
    typer.echo(f"metrics written to {out}")


@app.command("compare")
def compare_command(
    original_dir: Annotated[Path, typer.Argument(help="The original model folder (or .onnx file).")],
    compressed_dir: Annotated[Path, typer.Argument(help="The compressed model folder (or a `leanlens compress` output).")],
    data: Annotated[str, typer.Option(help="Bundled dataset name or a .csv/.parquet file (the models' data).")] = "digits",
    label: Annotated[str | None, typer.Option(help="Label column of a CSV/Parquet file.")] = None,
    explainers: Annotated[str, typer.Option(help="Comma-separated explanation methods, e.g. kernel,ig.")] = "kernel",
    rows: Annotated[int, typer.Option(help="Test rows compared.")] = 100,
    budget: Annotated[int | None, typer.Option(help="Explainer budget (coalitions per row for Shapley methods).")] = None,
    background: Annotated[int, typer.Option(help="Background rows drawn from the training split.")] = 50,
    config: Annotated[Path | None, typer.Option(help="A compare.yaml (CompareConfig fields: thresholds, bootstrap); overrides --rows/--budget/--background.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of row sampling, explainers and bootstrap (and of the split when the model does not record its own).")] = 0,
    twins: Annotated[int, typer.Option("--twins", help="Twins of the original trained as the yardstick (its recorded recipe, other seeds; fine-tuned twins when there is no recipe). 0: judge against the explainer's own noise.")] = 3,
    twin: Annotated[list[Path] | None, typer.Option("--twin", help="A twin model folder (or .onnx) trained like the original; repeat for several. Replaces --twins.")] = None,
    max_seconds: Annotated[float | None, typer.Option("--max-seconds", help="Time allowed for raising explainer budgets until their noise resolves the twins.")] = None,
    plots: Annotated[bool, typer.Option("--plots/--no-plots", help="Also write the drift plots (PNG).")] = True,
    out: Annotated[Path, typer.Option(help="Output folder (drift.json and plots).")] = Path("runs/compare"),
    overwrite: Overwrite = False,
    quiet: Quiet = False,
) -> None:
    """Does the compressed model still decide for the same reasons? Writes drift.json and plots."""
    from . import compare as compare_fn
    from ._io import prepare_out_dir
    from .compare import CompareConfig

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
    original = _load_model_or_compressed(original_dir)
    compressed = _load_model_or_compressed(compressed_dir)
    twin_models: int | list[Any] = [_load_model_or_compressed(p) for p in twin] if twin else twins
    # the split the original was trained on, so that the test rows are rows it never saw
    ds = load_data(data, label, random_state=original.metadata.get("train", {}).get("random_state", seed))
    report = compare_fn(original, compressed, ds, explainers=methods, config=cfg, random_state=seed,
                        twins=twin_models)
    report.save(out, overwrite=overwrite, plots=plots)
    typer.echo(report.summary())
    typer.echo(f"drift report written to {out}")

def main(argv: list[str] | None = None) -> None:
    """Console entry point: user errors → one line on stderr and exit code 2."""
    try:
        rv = app(args=argv, standalone_mode=False)
        # Typer turns Ctrl-C into Exit(130) and, outside standalone mode, returns the code.
        if rv == 130:
            typer.echo("leanlens: interrupted", err=True)
            sys.exit(130)
    except LeanlensError as exc:
        typer.echo(f"leanlens: error: {exc}", err=True)
        sys.exit(2)
    except typer.Abort:
        typer.echo("leanlens: aborted", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        typer.echo("leanlens: interrupted", err=True)
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:
        # Usage errors from the click that Typer vendors carry their own exit code (2).
        if any(c.__name__ == "ClickException" for c in type(exc).__mro__):
            exc.show()  # type: ignore[attr-defined]
            sys.exit(exc.exit_code)  # type: ignore[attr-defined]
        raise
    sys.exit(0)


if __name__ == "__main__":  # pragma: no cover
    main()
