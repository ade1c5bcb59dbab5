"""Time every shell command shown in README.md, in a temporary folder, and print a table.

The commands are read from the README's ```bash blocks (continuation lines joined, comments
dropped, exact duplicates measured once), so the table cannot drift from the README. Each
runs as written from a fresh temporary folder holding a copy of ``examples/``; the few that
name files the README assumes the reader has (``my.csv``, ``plan.yaml``, ``model.onnx``,
``runs/twin-a``, …) get them built first, untimed, and placeholders such as
``[--backend ray]`` are resolved as listed in ``RUNNABLE``. Before a command runs, its
``--out`` folder (and ``--storage`` file) is removed, so a second command writing to the
same folder is timed from scratch instead of resuming or being refused.

Every command is timed with ``/usr/bin/time -f "%e %U %S"`` at the priority this script
runs at (run it at normal priority for figures you quote): wall seconds, and CPU seconds
(user + system of the command and its children), which depend much less on the load of a
shared machine than wall time does. The 1-minute load average is read before and after.

    python benchmarks/readme_timings.py              # every command (about 30-60 min here)
    python benchmarks/readme_timings.py --quick      # the commands that take seconds
    python benchmarks/readme_timings.py --only 'compare|evaluate'

Writes ``benchmarks/results/readme_timings.json`` and ``.md`` (``--out`` elsewhere).
``make demo`` and ``make test`` are listed but not run: they create a virtual environment
and install pinned packages (network, minutes), and ``make test`` runs the whole suite.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_info, machine_line, write_results

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

#: README command (as extracted) → what is run for it: placeholders resolved.
RUNNABLE = {
    "leanlens sweep examples/pipeline.yaml --trials 20 --out runs/sweep [--backend ray]":
        "leanlens sweep examples/pipeline.yaml --trials 20 --out runs/sweep",
    "leanlens schema [pipeline|train|compare|plan]": "leanlens schema pipeline",
    "leanlens sweep pipeline.yaml --trials 20 --out runs/sweep [--backend ray [--address HOST:PORT]]":
        "leanlens sweep pipeline.yaml --trials 20 --out runs/sweep",
}

#: README commands that are not run, and why.
NOT_RUN = {
    "make demo": "creates .venv and pip-installs the pinned packages before `leanlens demo` (timed below as "
                 "`leanlens demo --out runs/demo`)",
    "make test": "creates .venv with the test extras, then ruff, mypy and the whole test suite (minutes; "
                 "run at most once per session on this shared machine)",
}

#: The README's first model, which later commands use; built untimed when ``--only`` skips its command.
DIGITS_MLP = "leanlens train --data digits --arch mlp --hidden 512,512 --epochs 30 --out runs/digits-mlp"

#: Commands that take a few seconds; ``--quick`` runs only these (CI runs the quick mode).
QUICK = ("leanlens --version", "leanlens datasets", "leanlens explainers", "leanlens schema")


def readme_commands(readme: Path = README) -> list[str]:
    """The shell commands of the README's ```bash blocks, in order, without comments or duplicates."""
    out: list[str] = []
    in_block = False
    pending = ""
    for line in readme.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_block = line.strip() == "```bash"
            pending = ""
            continue
        if not in_block:
            continue
        text = pending + " " + line.strip() if pending else line.strip()
        if text.endswith("\\"):
            pending = text[:-1].rstrip()
            continue
        pending = ""
        command = _strip_comment(text).strip()
        command = re.sub(r"\s+", " ", command)
        if command and command not in out:
            out.append(command)
    return out


def _strip_comment(text: str) -> str:
    """``text`` up to its first ``#`` outside quotes and backticks (the README writes no ``#`` in arguments)."""
    quote = ""
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"`":
            quote = ch
        elif ch == "#" and (i == 0 or text[i - 1].isspace()):
            return text[:i]
    return text


def runnable(command: str) -> str | None:
    """What is run for a README command (None: not run; see ``NOT_RUN``)."""
    if command in NOT_RUN:
        return None
    run = RUNNABLE.get(command, command)
    if "[" in run or "HOST:PORT" in run:
        raise ValueError(f"README command {command!r} has a placeholder; add it to RUNNABLE.")
    return run


def _option(argv: list[str], name: str) -> str | None:
    for i, a in enumerate(argv[:-1]):
        if a == name:
            return argv[i + 1]
    return None


# -- files the README assumes the reader has -------------------------------------------------------
def _csv(path: Path, label: str, *, missing: bool = False) -> None:
    """breast_cancer as a CSV (a label column named ``label``; with ``missing``, 5 % of the cells empty)."""
    import numpy as np
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    X = data.data[:, :10].copy()
    names = [n.replace(" ", "_") for n in data.feature_names[:10]]
    if missing:
        rng = np.random.default_rng(0)
        X[rng.random(X.shape) < 0.05] = np.nan
    lines = [",".join([*names, label])]
    for row, y in zip(X, data.target, strict=True):
        lines.append(",".join(["" if np.isnan(v) else f"{v:.6g}" for v in row] + [str(int(y))]))
    path.write_text("\n".join(lines) + "\n")


def _onnx_pair(folder: Path, run: Any) -> None:
    """``mydata.csv`` and two ONNX files of models trained on it (original, and pruned + int8)."""
    _csv(folder / "mydata.csv", "y")
    run("leanlens train --data mydata.csv --label y --hidden 64,64 --epochs 10 --out runs/onnx-fp32 --quiet")
    run("leanlens compress runs/onnx-fp32 --data mydata.csv --label y --quantize int8 --out runs/onnx-a --quiet")
    run("leanlens compress runs/onnx-fp32 --data mydata.csv --label y --prune structured:0.5 --quantize int8 "
        "--out runs/onnx-b --quiet")
    for src, dst in (("runs/onnx-a", "model.onnx"), ("runs/onnx-b", "small.onnx")):
        found = sorted((folder / src).rglob("*.onnx"))
        if not found:
            raise RuntimeError(f"no .onnx file in {src}")
        shutil.copy(found[0], folder / dst)


def _fixtures(command: str, folder: Path, run: Any) -> None:
    """Build, untimed, the inputs ``command`` needs that no earlier README command made."""
    argv = shlex.split(command)
    if "runs/digits-mlp" in argv and not (folder / "runs/digits-mlp").exists():  # a run of --only
        run(f"{DIGITS_MLP} --quiet")
    if "my.csv" in argv and not (folder / "my.csv").exists():
        _csv(folder / "my.csv", "label")
    if "table.csv" in argv and not (folder / "table.csv").exists():
        _csv(folder / "table.csv", "y", missing=True)
    if ("mydata.csv" in argv or "model.onnx" in argv) and not (folder / "model.onnx").exists():
        _onnx_pair(folder, run)
    if "plan.yaml" in argv and not (folder / "plan.yaml").exists():
        (folder / "plan.yaml").write_text("- prune: {kind: structured, amount: 0.5, scope: layer}\n"
                                          "- finetune: {epochs: 5}\n- quantize: {dtype: int8}\n")
    if "pipeline.yaml" in argv and not (folder / "pipeline.yaml").exists():
        shutil.copy(folder / "examples" / "pipeline.yaml", folder / "pipeline.yaml")
    if "runs/compressed" in argv and not (folder / "runs/compressed").exists():
        run("leanlens compress runs/digits-mlp --data digits --prune structured:0.5 --finetune 5 "
            "--out runs/compressed --quiet")
    for i, name in enumerate(("runs/twin-a", "runs/twin-b"), start=1):
        if name in argv and not (folder / name).exists():
            run(f"leanlens train --data digits --hidden 512,512 --epochs 30 --seed {i} --out {name} --quiet")


def _load() -> float:
    return os.getloadavg()[0]


def time_commands(commands: list[str], *, timeout: float, leanlens_bin: Path, keep: bool = False) -> list[dict[str, Any]]:
    """Run each README command in one temporary folder (in order) and time it."""
    folder = Path(tempfile.mkdtemp(prefix="leanlens-readme-"))
    shutil.copytree(ROOT / "examples", folder / "examples")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "PATH": f"{leanlens_bin.parent}{os.pathsep}{os.environ['PATH']}",
           "COLUMNS": "120"}

    def run_untimed(cmd: str) -> None:
        proc = subprocess.run(shlex.split(cmd), cwd=folder, env=env, capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError(f"set-up command {cmd!r} failed: {proc.stderr[-500:]}")

    rows: list[dict[str, Any]] = []
    try:
        for command in commands:
            run = runnable(command)
            row: dict[str, Any] = {"command": command, "ran": run}
            if run is None:
                row.update(status="not run", why=NOT_RUN[command])
                rows.append(row)
                print(f"-- not run: {command}", flush=True)
                continue
            _fixtures(run, folder, run_untimed)
            argv = shlex.split(run)
            for opt in ("--out", "--storage"):
                target = _option(argv, opt)
                if target:
                    p = folder / target
                    shutil.rmtree(p) if p.is_dir() else p.unlink(missing_ok=True)
            timefile = folder / ".time"
            load_before = _load()
            started = time.perf_counter()
            # its own process group, so a timeout ends the command and not only /usr/bin/time
            proc = subprocess.Popen(["/usr/bin/time", "-f", "%e %U %S", "-o", str(timefile), *argv], cwd=folder,
                                    env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                    start_new_session=True)
            try:
                _, stderr = proc.communicate(timeout=timeout)
                wall, user, system = (float(x) for x in timefile.read_text().split()[-3:])
                row.update(status="ok" if proc.returncode == 0 else f"exit {proc.returncode}",
                           wall_s=wall, cpu_s=round(user + system, 2), user_s=user, sys_s=system,
                           stderr_tail=stderr[-400:] if proc.returncode else "")
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.communicate()
                row.update(status=f"timeout after {timeout:.0f} s", wall_s=round(time.perf_counter() - started, 1))
            row.update(load_before=round(load_before, 2), load_after=round(_load(), 2),
                       finished=time.strftime("%H:%M:%S", time.gmtime()))
            rows.append(row)
            print(f"{row.get('wall_s', '?'):>8} s wall {row.get('cpu_s', '?'):>8} s CPU  load {row['load_before']}"
                  f"→{row['load_after']}  {row['status']}  {command}", flush=True)
    finally:
        if keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    return rows


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| command | wall s | CPU s | load (1 min) before → after | status |", "|---|---|---|---|---|"]
    for r in rows:
        if r["status"] == "not run":
            lines.append(f"| `{_cell(r['command'])}` | – | – | – | not run: {_cell(r['why'])} |")
            continue
        shown = f"`{r['command']}`" + ("" if r["ran"] == r["command"] else f" (ran `{r['ran']}`)")
        cpu = r.get("cpu_s")
        lines.append(f"| {_cell(shown)} | {r.get('wall_s', '–')} | {'–' if cpu is None else cpu} | "
                     f"{r['load_before']} → {r['load_after']} | {r['status']} |")
    ok = [r for r in rows if r["status"] == "ok"]
    lines += ["", machine_line(),
              f"Headline: {len(ok)} of {sum(1 for r in rows if r['status'] != 'not run')} README commands ran "
              f"(exit 0) in {sum(r['wall_s'] for r in ok):.0f} s wall, {sum(r['cpu_s'] for r in ok):.0f} s CPU in all."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="only the commands that take seconds")
    ap.add_argument("--only", help="a regular expression: run the commands it matches (search)")
    ap.add_argument("--timeout", type=float, default=1800.0, help="seconds per command (default 1800)")
    ap.add_argument("--out", type=Path, default=None, help="results folder (default benchmarks/results)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    ap.add_argument("--leanlens", type=Path, default=Path(sys.executable).with_name("leanlens"),
                    help="the leanlens executable (default: next to this Python)")
    args = ap.parse_args(argv)
    commands = readme_commands()
    if args.quick:
        commands = [c for c in commands if c.startswith(QUICK)]
    if args.only:
        commands = [c for c in commands if re.search(args.only, c)]
    rows = time_commands(commands, timeout=args.timeout, leanlens_bin=args.leanlens, keep=args.keep)
    name = "readme_timings" if not (args.quick or args.only) else "readme_timings_partial"
    payload = {"mode": "quick" if args.quick else ("only " + args.only if args.only else "full"),
               "machine": machine_info(), "rows": rows}
    write_results(name, payload, table(rows), out=args.out)
    return 0 if all(r["status"] in ("ok", "not run") for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
