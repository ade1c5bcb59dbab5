"""CLI start-up cost: CPU seconds of one `leanlens` command in a fresh process, this checkout against another.

Usage:
    python benchmarks/cli_startup.py                      # this checkout's src/ only
    python benchmarks/cli_startup.py --before 0869278     # and the src/ of that commit, interleaved
    python benchmarks/cli_startup.py --quick              # 1 repeat (checks the script runs)

Each command runs as its own child process (``python -c "from leanlens.cli import main; main(argv)"``
with PYTHONPATH at the src/ under test); its CPU time (user + sys) comes from ``os.wait4``, so
other processes on the machine do not count. Wall time is reported beside it with the load
average: on a busy machine wall time says little, CPU time stays comparable. Checkouts are
interleaved per repeat; the figure is the median over repeats, with the spread (min-max). Both
sides run from copies of src/ without .pyc files (leanlens compiled from source in every child).

Commands: ``--version``, a refusal (``info`` of a path that does not exist), ``info`` of a saved
torch model (iris, 8 hidden units, trained once here with this checkout), ``info`` of a crafted torch
folder (declares a 900M-parameter layer), and ``train`` refusing an unknown activation.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from _common import machine_info, machine_line, write_results

CLI = "import sys; from leanlens.cli import main; main(sys.argv[1:])"


def commands(models: Path) -> dict[str, list[str]]:
    return {
        "--version": ["--version"],
        "info /nonexistent (refusal)": ["info", str(models / "nonexistent")],
        "info <torch model>": ["info", str(models / "iris-mlp")],
        "info <crafted torch folder> (refusal)": ["info", str(models / "torch_declared_huge_layer")],
        "train --activation swish (refusal)": ["train", "--data", "iris", "--activation", "swish",
                                               "--out", str(models / "never")],
    }


def run_once(src: Path, argv: list[str], cwd: Path) -> tuple[float, float, int]:
    """(CPU seconds user+sys, wall seconds, exit code) of one child."""
    env = {**os.environ, "PYTHONPATH": str(src), "PYTHONDONTWRITEBYTECODE": "1"}
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", CLI, *argv], cwd=cwd, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_utime + usage.ru_stime, time.perf_counter() - start, proc.returncode


def make_models(folder: Path) -> None:
    sys.path.insert(0, str(ROOT / "src"))
    import leanlens
    from leanlens.testing import hostile

    ds = leanlens.datasets.load("iris", random_state=0)
    leanlens.train(ds, leanlens.TrainConfig(hidden=(8,), epochs=3, random_state=0)).save(folder / "iris-mlp")
    hostile.CASES["torch_declared_huge_layer"](folder)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", default=None, help="a git revision whose src/ is measured beside this checkout's")
    ap.add_argument("--repeats", type=int, default=5, help="runs of every command per checkout (default 5)")
    ap.add_argument("--quick", action="store_true", help="1 repeat (smoke test; not for quoting)")
    ap.add_argument("--out", type=Path, default=None, help="results folder (default benchmarks/results)")
    args = ap.parse_args()
    repeats = 1 if args.quick else max(1, args.repeats)
    load = os.getloadavg()
    print(machine_line(), f"| load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="ll-cli-startup-") as tmp_name:
        tmp = Path(tmp_name)
        # both sides are copies without __pycache__: each child compiles leanlens from source (as
        # with PYTHONDONTWRITEBYTECODE=1), so a stale .pyc on one side cannot favour it
        shutil.copytree(ROOT / "src", tmp / "this" / "src", ignore=shutil.ignore_patterns("__pycache__"))
        checkouts: dict[str, Path] = {"this checkout": tmp / "this" / "src"}
        if args.before:
            before = tmp / "before"
            before.mkdir()
            archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.before, "src"], check=True,
                                     capture_output=True).stdout
            subprocess.run(["tar", "-x", "-C", str(before)], input=archive, check=True)
            checkouts = {f"before ({args.before})": before / "src", **checkouts}
        models = tmp / "models"
        models.mkdir()
        make_models(models)
        cmds = commands(models)
        runs: dict[str, dict[str, list[tuple[float, float, int]]]] = {c: {k: [] for k in cmds} for c in checkouts}
        for _ in range(repeats):
            for name, argv in cmds.items():
                for label, src in checkouts.items():  # interleaved: the same moment for both checkouts
                    runs[label][name].append(run_once(src, argv, tmp))
    end_load = os.getloadavg()
    results: dict[str, Any] = {}
    rows = ["| command | checkout | CPU s (median) | CPU min-max | wall s (median) | exit |", "|---|---|---|---|---|---|"]
    for name in cmds:
        for label in checkouts:
            r = runs[label][name]
            cpu, wall = [x[0] for x in r], [x[1] for x in r]
            results.setdefault(name, {})[label] = {"cpu_s": cpu, "wall_s": wall, "exit": [x[2] for x in r],
                                                   "cpu_median": statistics.median(cpu),
                                                   "wall_median": statistics.median(wall)}
            rows.append(f"| {name} | {label} | {statistics.median(cpu):.2f} | {min(cpu):.2f}-{max(cpu):.2f} "
                        f"| {statistics.median(wall):.2f} | {sorted(set(x[2] for x in r))} |")
    lines = ["# CLI start-up: CPU seconds of one command in a fresh process", "",
             machine_line() + f" | load average {load[0]:.1f} at start, {end_load[0]:.1f} at end",
             f"{repeats} run(s) of each command per checkout, interleaved; CPU = user + sys of the child (os.wait4).",
             "", *rows, ""]
    if args.before:
        b, a = f"before ({args.before})", "this checkout"
        ratios = {n: results[n][b]["cpu_median"] / results[n][a]["cpu_median"] for n in cmds}
        lines.append("CPU before / after: " + "; ".join(f"{n} {r:.1f}x" for n, r in ratios.items()))
    else:
        lines.append("CPU medians: " + "; ".join(f"{n} {results[n]['this checkout']['cpu_median']:.2f} s" for n in cmds))
    payload = {"machine": machine_info(), "load_average_start": load, "load_average_end": end_load,
               "repeats": repeats, "quick": args.quick, "before": args.before, "commands": cmds, "results": results}
    write_results("cli_startup", payload, "\n".join(lines), out=args.out)


if __name__ == "__main__":
    main()
