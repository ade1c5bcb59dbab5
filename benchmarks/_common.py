"""Shared helpers for the benchmark scripts: machine line, timing, result files."""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
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
    versions: dict[str, str] = {}
    for mod in ("numpy", "torch", "sklearn", "shap", "captum", "onnxruntime", "torch_pruning", "leanlens"):
        try:
            versions[mod] = __import__(mod).__version__
        except Exception:  # not installed
            continue
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


def time_call(fn: Callable[[], Any], *, warmup: int = 5, min_seconds: float = 1.0, min_reps: int = 200,
              max_reps: int = 100_000, max_seconds: float = 10.0) -> dict[str, float]:
    """Warm up, then repeat ``fn`` until ≥ min_reps calls and ≥ min_seconds (capped); median and p95 in ms."""
    for _ in range(warmup):
        fn()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < max_reps:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        elapsed = time.perf_counter() - start
        if (len(times) >= min_reps and elapsed >= min_seconds) or elapsed >= max_seconds:
            break
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return {"median_ms": statistics.median(times) * 1e3, "p95_ms": p95 * 1e3, "reps": len(times)}


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
