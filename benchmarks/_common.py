"""Shared helpers for the benchmark scripts: machine line, result files (timing: leanlens.models.latency)."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def machine_info() -> dict[str, Any]:
    """CPU model, cores, Python and key library versions."""
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from importlib.metadata import PackageNotFoundError, version

    versions: dict[str, str] = {}
    # the installed distributions' versions, read without importing them (importing shap, captum
    # and torch_pruning only to read __version__ cost seconds of CPU in every benchmark run)
    for mod, dist in (("numpy", "numpy"), ("torch", "torch"), ("sklearn", "scikit-learn"), ("shap", "shap"),
                      ("captum", "captum"), ("onnxruntime", "onnxruntime"), ("torch_pruning", "torch-pruning")):
        try:
            versions[mod] = version(dist)
        except PackageNotFoundError:  # not installed
            continue
    import leanlens  # the code on sys.path (a worktree's src/ can differ from the installed one)

    versions["leanlens"] = leanlens.__version__
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "versions": versions,
        "date": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
    }


def machine_line() -> str:
    m = machine_info()
    return f"machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, {m['date']} UTC"


def write_results(name: str, payload: dict[str, Any], table_md: str, *, out: Path | None = None) -> Path:
    """Write ``<out>/<name>.json`` and ``<out>/<name>.md`` (atomically) and print the table."""
    folder = Path(out) if out is not None else RESULTS
    folder.mkdir(parents=True, exist_ok=True)
    js = folder / f"{name}.json"
    md = folder / f"{name}.md"
    for path, text in ((js, json.dumps(payload, indent=2, default=str) + "\n"), (md, table_md.rstrip() + "\n")):
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(text)
        os.replace(tmp, path)
    print(table_md)
    return js
