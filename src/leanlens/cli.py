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
    if p.suffix.lower() in (".csv", ".parquet") or p.exists():
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


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Output folder of the demo run.")] = Path("runs/demo"),
    overwrite: Annotated[bool, typer.Option("--overwrite/--no-overwrite", help="Replace an earlier demo run.")] = True,
    quiet: Quiet = False,
) -> None:
    """Train the default model (digits MLP 512-512) and print its test metrics."""
    from . import TrainConfig, datasets
    from . import train as train_fn

    ds = datasets.load("digits")
    model = train_fn(ds, TrainConfig(), progress=not quiet)
    path = model.save(out / "model", overwrite=overwrite)
    _print_table("leanlens demo: digits MLP (512, 512)", model.metadata["metrics"])
    typer.echo(f"model saved to {path}")


def main(argv: list[str] | None = None) -> None:
    """Console entry point: user errors → one line on stderr and exit code 2."""
    try:
        app(args=argv, standalone_mode=False)
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
