"""Time every shell command shown in README.md, in order, in a fresh folder; write the table, fill the README.

The commands are read from the README's ```bash blocks (continuation lines joined, comments
dropped, exact duplicates measured once), so the table cannot drift from the README. They run
as written, in the README's order, in a new temporary folder that holds only the repository's
``examples/`` — as a reader who cloned the repository and typed them one after another would
run them. No input is built behind the reader's back: every file a command reads must be in
the repository or written (``--out``) by an earlier README command; ``dependency_problems``
checks that before anything runs (and a fast test checks it on every change of the README).
``make demo`` is timed as what it runs after its install, ``leanlens demo --out runs/demo``;
``make test`` (install + the whole suite) is not run. Placeholders such as ``[--backend ray]``
are resolved as listed in ``RUNNABLE``.

Every command is timed with ``/usr/bin/time -f "%e %U %S"`` at the priority this script runs
at (run it at normal priority on a quiet machine for figures you quote): wall seconds, and CPU
seconds (user + system of the command and its children), which move much less with the load
of a shared machine than wall time does. The 1-minute load average is read before and after.

    python benchmarks/readme_timings.py                  # every command, in order (~10-15 min quiet)
    python benchmarks/readme_timings.py --write-readme   # ... and fill README.md's timing table
    python benchmarks/readme_timings.py --quick          # the commands that take seconds
    python benchmarks/readme_timings.py --only 'compare' # these (their inputs are made first, untimed)
    python benchmarks/readme_timings.py --only 'compare runs/digits-mlp runs/small' --write-readme
                                                         # ... and update their rows of the README's table
    python benchmarks/readme_timings.py --write-readme --from-json benchmarks/results/readme_timings.json

Writes ``benchmarks/results/readme_timings.json`` and ``.md`` (``_partial`` for --quick/--only;
``--out`` elsewhere). ``--write-readme`` replaces the table between the README's
``<!-- readme-timings:begin -->`` and ``<!-- readme-timings:end -->`` markers.
"""

from __future__ import annotations

import argparse
import json
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
from _common import RESULTS, machine_info, machine_line, write_results

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BEGIN, END = "<!-- readme-timings:begin -->", "<!-- readme-timings:end -->"

#: README command (as extracted) → what is run for it.
RUNNABLE = {
    # `make demo` = create .venv + pip install (not timed: network, minutes) + this:
    "make demo": "leanlens demo --out runs/demo",
    "leanlens sweep examples/pipeline.yaml --trials 4 --out runs/sweep [--backend ray]":
        "leanlens sweep examples/pipeline.yaml --trials 4 --out runs/sweep",
    # the same folder again: the study resumes and has its 4 trials already (a resume, timed as such)
    "leanlens sweep examples/pipeline.yaml --trials 4 --out runs/sweep [--backend ray [--address HOST:PORT]]":
        "leanlens sweep examples/pipeline.yaml --trials 4 --out runs/sweep",
    "leanlens schema [pipeline|train|compare|plan]": "leanlens schema pipeline",
}

#: README commands that are not run, and why.
NOT_RUN = {
    "make test": "creates .venv with the test extras, then ruff, mypy and the whole test suite (minutes; "
                 "run at most once per session on this shared machine)",
}

#: Not-run README commands timed by hand (the README's table shows these figures instead of "not run").
#: ``make test`` from a fresh clone as CI runs it: ``d=$(mktemp -d); git clone -q . $d && cd $d &&
#: /usr/bin/time -v env CI=true bash .ci/run``.
HAND_TIMED = {
    "make test": {"wall_s": 281.2, "cpu_s": 363.0, "load": "0.8 (at the start)",
                  "note": "not run by the script; timed by hand from a fresh clone as CI runs it (2026-12-04 08:37, "
                          "nothing else running, `/usr/bin/time -v env CI=true bash .ci/run`): creates .venv with "
                          "the test extras, then ruff, mypy and the whole suite (1123 passed in 118.1 s of it)"},
}

#: Commands that take a few seconds; ``--quick`` runs only these (a slow test runs the quick mode).
QUICK = ("leanlens --version", "leanlens datasets", "leanlens explainers", "leanlens schema")

#: Options whose value is a path the command writes, and suffixes that make a token a file path.
OUTPUT_OPTIONS = ("--out", "--storage")
PATH_SUFFIXES = (".csv", ".parquet", ".yaml", ".yml", ".onnx", ".db", ".json", ".safetensors")


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


def inputs_outputs(run: str) -> tuple[list[str], list[str]]:
    """The paths a command reads and the ones it writes (``--out``/``--storage`` values)."""
    argv = shlex.split(run)
    inputs: list[str] = []
    outputs: list[str] = []
    skip = False
    for i, a in enumerate(argv[1:], start=1):
        if skip:
            skip = False
            continue
        if a in OUTPUT_OPTIONS and i + 1 < len(argv):
            outputs.append(argv[i + 1].rstrip("/"))
            skip = True
        elif not a.startswith("-") and ("/" in a or a.endswith(PATH_SUFFIXES)):
            inputs.append(a.rstrip("/"))
    return inputs, outputs


def _tracked(path: str) -> bool:
    """Whether ``path`` is a file or folder of the repository (git-tracked when ROOT is a checkout)."""
    try:
        proc = subprocess.run(["git", "ls-files", "--", path], cwd=ROOT, capture_output=True, text=True, timeout=30)
        if proc.returncode == 0:
            return bool(proc.stdout.strip())
    except (OSError, subprocess.SubprocessError):
        pass
    return (ROOT / path).exists()


def dependencies(commands: list[str]) -> tuple[dict[str, list[str]], list[str]]:
    """For each command, the earlier commands whose output it reads; and every input that nothing provides.

    An input is provided when it is in the repository or lies in (or is) the ``--out`` of an
    earlier command. The problems list names each command that reads anything else.
    """
    produced: list[tuple[str, str]] = []  # (path, command)
    deps: dict[str, list[str]] = {}
    problems: list[str] = []
    for command in commands:
        run = runnable(command)
        if run is None:
            continue
        inputs, outputs = inputs_outputs(run)
        mine: list[str] = []
        for path in inputs:
            maker = next((c for p, c in reversed(produced) if path == p or path.startswith(p + "/")), None)
            if maker is not None:
                if maker not in mine:
                    mine.append(maker)
            elif not _tracked(path):
                problems.append(f"{command!r} reads {path!r}, which is neither in the repository nor written "
                                "by an earlier README command")
        deps[command] = mine
        produced += [(p, command) for p in outputs]
    return deps, problems


def dependency_problems(commands: list[str] | None = None) -> list[str]:
    """Inputs of README commands that no earlier command and no repository file provides (empty: fine)."""
    return dependencies(readme_commands() if commands is None else commands)[1]


def _with_prerequisites(selected: list[str], commands: list[str]) -> list[str]:
    """``selected`` and, transitively, the earlier commands that write their inputs, in README order."""
    deps, _ = dependencies(commands)
    need = set(selected)
    for command in reversed(commands):
        if command in need:
            need.update(deps.get(command, []))
    return [c for c in commands if c in need]


def _load() -> float:
    return os.getloadavg()[0]


def _fresh_folder() -> Path:
    """A new temporary folder holding the repository's ``examples/`` (git-tracked files only, when a checkout)."""
    folder = Path(tempfile.mkdtemp(prefix="leanlens-readme-"))
    try:
        listed = subprocess.run(["git", "ls-files", "examples"], cwd=ROOT, capture_output=True, text=True,
                                timeout=30, check=True).stdout.split()
    except (OSError, subprocess.SubprocessError):
        listed = []
    if listed:
        for name in listed:
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, folder / name)
    else:
        shutil.copytree(ROOT / "examples", folder / "examples")
    return folder


def time_commands(commands: list[str], *, timeout: float, leanlens_bin: Path, timed: set[str] | None = None,
                  keep: bool = False) -> list[dict[str, Any]]:
    """Run ``commands`` in order in one fresh folder; time those in ``timed`` (default: all)."""
    folder = _fresh_folder()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "PATH": f"{leanlens_bin.parent}{os.pathsep}{os.environ['PATH']}",
           "COLUMNS": "120"}
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
            if timed is not None and command not in timed:
                proc = subprocess.run(shlex.split(run), cwd=folder, env=env, capture_output=True, text=True, timeout=timeout)
                if proc.returncode != 0:
                    raise RuntimeError(f"prerequisite {run!r} failed: {proc.stderr[-500:]}")
                print(f"-- ran untimed (an input of a selected command): {command}", flush=True)
                continue
            timefile = folder / ".time"
            timefile.unlink(missing_ok=True)
            load_before = _load()
            started = time.perf_counter()
            # its own process group, so a timeout ends the command and not only /usr/bin/time
            proc_ = subprocess.Popen(["/usr/bin/time", "-f", "%e %U %S", "-o", str(timefile), *shlex.split(run)],
                                     cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     start_new_session=True)
            try:
                _, stderr = proc_.communicate(timeout=timeout)
                wall, user, system = (float(x) for x in timefile.read_text().split()[-3:])
                row.update(status="ok" if proc_.returncode == 0 else f"exit {proc_.returncode}",
                           wall_s=wall, cpu_s=round(user + system, 2), user_s=user, sys_s=system,
                           stderr_tail=stderr[-400:] if proc_.returncode else "")
            except subprocess.TimeoutExpired:
                os.killpg(proc_.pid, signal.SIGTERM)
                proc_.communicate()
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


def _num(x: Any) -> str:
    if not isinstance(x, int | float):
        return "–"
    return f"{x:.1f}" if x >= 10 else f"{x:.2f}"


def _shown(r: dict[str, Any]) -> str:
    return f"`{_cell(r['command'])}`" + ("" if r["ran"] in (None, r["command"]) else f" (runs `{_cell(r['ran'])}`)")


def _headline(rows: list[dict[str, Any]]) -> str:
    ok = [r for r in rows if r["status"] == "ok"]
    ran = [r for r in rows if r["status"] != "not run"]
    loads = [x for r in ran for x in (r.get("load_before"), r.get("load_after")) if isinstance(x, int | float)]
    load = f"; 1-minute load average {min(loads):.1f}–{max(loads):.1f}" if loads else ""
    return (f"{len(ok)} of {len(ran)} README commands ran (exit 0) in {sum(r['wall_s'] for r in ok):.0f} s wall, "
            f"{sum(r['cpu_s'] for r in ok):.0f} s CPU in all{load}.")


def _priority(niceness: int | None) -> str:
    return "" if not niceness else (f" Run at nice {niceness} beside other jobs: wall times are not a quiet "
                                    "machine's; CPU times move less.")


def table(rows: list[dict[str, Any]], machine: str | None = None, niceness: int | None = None) -> str:
    """The results as markdown: command, wall s, CPU s (user + system), load before → after, status."""
    lines = ["| command | wall s | CPU s | load (1 min) before → after | status |", "|---|---|---|---|---|"]
    for r in rows:
        if r["status"] == "not run":
            lines.append(f"| `{_cell(r['command'])}` | – | – | – | not run: {_cell(r['why'])} |")
            continue
        lines.append(f"| {_shown(r)} | {_num(r.get('wall_s'))} | {_num(r.get('cpu_s'))} | "
                     f"{r['load_before']} → {r['load_after']} | {r['status']} |")
    lines += ["", (machine or machine_line()) + _priority(niceness), "Headline: " + _headline(rows)]
    return "\n".join(lines)


def readme_block(payload: dict[str, Any], commands: list[str] | None = None) -> str:
    """The README's timing table: every README command with its measured time (from ``payload``)."""
    commands = readme_commands() if commands is None else commands
    by_command = {r["command"]: r for r in payload["rows"]}
    m = payload.get("machine", {})
    lines = [BEGIN,
             f"Measured by `python benchmarks/readme_timings.py` ({payload.get('mode', 'full')} run) on "
             f"{m.get('date', '?')} UTC, {m.get('cpu', '?')}, {m.get('cores', '?')} cores; "
             f"{_headline(payload['rows'])} CPU is user + system seconds of the command and its children."
             + (f" {payload['retimed']}" if payload.get("retimed") else "")
             + _priority(payload.get("nice")),
             "",
             "| command | wall s | CPU s | load | |",
             "|---|---|---|---|---|"]
    for command in commands:
        r = by_command.get(command)
        if r is None:
            lines.append(f"| `{_cell(command)}` | not measured | | | |")
        elif r["status"] == "not run" and command in HAND_TIMED:
            h = HAND_TIMED[command]
            lines.append(f"| `{_cell(command)}` | {_num(h['wall_s'])} | {_num(h['cpu_s'])} | {h['load']} | "
                         f"{_cell(h['note'])} |")
        elif r["status"] == "not run":
            lines.append(f"| `{_cell(command)}` | – | – | – | not run: {_cell(r['why'])} |")
        else:
            load = f"{r['load_before']:.1f}" if r["load_before"] == r["load_after"] else \
                f"{r['load_before']:.1f} → {r['load_after']:.1f}"
            note = "" if r["status"] == "ok" else r["status"]
            if r.get("retimed"):
                note = (note + "; " if note else "") + f"re-timed {r['retimed']}"
            if r["ran"] not in (None, command):
                note = (note + "; " if note else "") + f"runs `{_cell(r['ran'])}`"
            lines.append(f"| {('`' + _cell(command) + '`')} | {_num(r.get('wall_s'))} | {_num(r.get('cpu_s'))} | "
                         f"{load} | {note} |")
    lines.append(END)
    return "\n".join(lines)


def merged(full: dict[str, Any], partial: dict[str, Any]) -> dict[str, Any]:
    """``full``'s results with the rows ``partial`` timed (``--only``/``--quick``) in their place,
    each marked with the date it was re-timed, so a re-timed command updates its own row only."""
    date = partial.get("machine", {}).get("date", "?")
    timed = {r["command"]: {**r, "retimed": f"{date} ({partial.get('mode', 'partial')})"}
             for r in partial["rows"]}
    n = len(timed)
    rows = [timed.pop(r["command"], r) for r in full["rows"]] + list(timed.values())
    note = f"{n} command{'s' if n != 1 else ''} re-timed later, marked in the table (the totals mix both runs)."
    return {**full, "rows": rows, "retimed": note}


def write_readme(payload: dict[str, Any], readme: Path = README) -> None:
    """Replace the table between the README's timing markers with ``payload``'s figures."""
    text = readme.read_text(encoding="utf-8")
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise SystemExit(f"{readme} has no {BEGIN} … {END} block to fill.")
    new = text[:start] + readme_block(payload, readme_commands(readme)) + text[end + len(END):]
    tmp = readme.with_name(f".{readme.name}.tmp")
    tmp.write_text(new, encoding="utf-8")
    os.replace(tmp, readme)
    print(f"filled the timing table of {readme}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="only the commands that take seconds")
    ap.add_argument("--only", help="a regular expression: time the commands it matches (search); the commands "
                                   "that write their inputs run first, untimed")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per command (default 600)")
    ap.add_argument("--out", type=Path, default=None, help="results folder (default benchmarks/results)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    ap.add_argument("--write-readme", action="store_true", help="fill README.md's timing table from the results")
    ap.add_argument("--from-json", type=Path, default=None,
                    help="with --write-readme: take the figures from this results JSON instead of running")
    ap.add_argument("--check", action="store_true", help="only check that every input is provided, and exit")
    ap.add_argument("--leanlens", type=Path, default=Path(sys.executable).with_name("leanlens"),
                    help="the leanlens executable (default: next to this Python)")
    args = ap.parse_args(argv)
    commands = readme_commands()
    problems = dependency_problems(commands)
    if problems or args.check:
        print("\n".join(problems) or f"all {len(commands)} README commands read only the repository and earlier outputs")
        return 1 if problems else 0
    if args.from_json is not None:
        if not args.write_readme:
            ap.error("--from-json goes with --write-readme")
        write_readme(json.loads(args.from_json.read_text()))
        return 0
    selected = commands
    if args.quick:
        selected = [c for c in commands if c.startswith(QUICK)]
    if args.only:
        selected = [c for c in commands if re.search(args.only, c)]
    to_run = _with_prerequisites(selected, commands) if (args.quick or args.only) else commands
    rows = time_commands(to_run, timeout=args.timeout, leanlens_bin=args.leanlens, timed=set(selected),
                         keep=args.keep)
    name = "readme_timings" if not (args.quick or args.only) else "readme_timings_partial"
    payload = {"mode": "quick" if args.quick else ("only " + args.only if args.only else "full"),
               "machine": machine_info(), "nice": os.nice(0), "rows": rows}
    write_results(name, payload, table(rows, niceness=payload["nice"]), out=args.out)
    if args.write_readme:
        if args.quick or args.only:
            # a partial run updates its own rows of the last full run's table, not the whole table
            full = (args.out or RESULTS) / "readme_timings.json"
            if not full.exists():
                raise SystemExit(f"--write-readme with --only/--quick updates the rows of {full}, which does not exist.")
            payload = merged(json.loads(full.read_text()), payload)
            write_results("readme_timings", payload, table(payload["rows"], niceness=payload.get("nice")), out=args.out)
        write_readme(payload)
    return 0 if all(r["status"] in ("ok", "not run") for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
