"""End-to-end numbers (issue 6): demo wall time by stage; a sweep on the local executor vs Ray
with 2 workers; explaining many rows through Ray vs in-process.

    python benchmarks/pipeline.py            # full: the demo, 20-trial sweeps, 2,000 rows
    python benchmarks/pipeline.py --quick    # a tiny demo, 2-trial sweeps, 80 rows of a 32-unit MLP (+ Ray start-up)

Ray runs a local instance bound to 127.0.0.1 with 2 CPUs. Its start-up and the first
import of leanlens/torch in each worker are timed separately ("ray_startup_s") and kept
out of the compared times, which start once the workers are warm. The in-process side runs
torch with 2 threads (the machine's cores) and, as a second reference, with 1 thread (on
a loaded machine 2 threads can be the slower); each Ray worker runs one task at a time with
the single thread Ray gives a 1-CPU task. Headline ratios are given against both. The sweeps run the same search space with the
same seeded random sampler, so both sides evaluate the same 20 plans.
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_info, machine_line, write_results

import leanlens
from leanlens import run, sweep  # the pipeline with its report
from leanlens.pipeline import RayExecutor
from leanlens.pipeline.demo import DEMO
from leanlens.pipeline.distributed import explain_rows

SWEEP_SPACE = {
    "plan": [
        {"prune": {"kind": "structured", "amount": 0.5}},
        {"finetune": {"epochs": 2}},
        {"quantize": {"dtype": "int8"}},
    ],
    "space": {
        "prune.kind": {"choices": ["structured", "unstructured"]},
        "prune.amount": {"low": 0.2, "high": 0.8},
        "finetune.enabled": {"choices": [True, False]},
        "quantize.enabled": {"choices": [True, False]},
    },
}


#: --quick: a rough latency column (5 rounds, ~0.1-0.2 s, no repeat on a busy machine); the
#: defaults time a run's models for up to 5 s, each sweep trial for 1 s, up to 3 times each
QUICK_LATENCY = {"max_seconds": 0.2, "trial_max_seconds": 0.1, "min_rounds": 5, "attempts": 1}


def _sweep_config(trials: int, quick: bool) -> dict[str, Any]:
    space = copy.deepcopy(SWEEP_SPACE)
    if not quick:
        # A trial of a real sweep fine-tunes for many epochs and explains tens of rows. With
        # trials of ~0.3 s Ray's per-task cost (shipping the model, scheduling) eats the gain
        # (measured 0.73-0.99x with 2-10 fine-tune epochs); at ~0.7 s per trial it is 1.45x.
        space["plan"][1]["finetune"]["epochs"] = 40
    cfg: dict[str, Any] = {
        "name": "bench-sweep", "seed": 0, "data": {"name": "digits"},
        "model": {"train": {"hidden": [32] if quick else [128, 128], "epochs": 2 if quick else 8}},
        "explain": {"methods": [{"method": "permutation", "budget": 128}], "n_rows": 5 if quick else 50,
                    "background": 5 if quick else 10},
        # the random sampler draws the same plans whatever order trials finish in: same work
        "sweep": {"trials": trials, "sampler": "random", **space},
    }
    if quick:
        # compare() in each trial: 2 retrained twins (default 3; 9 twin trainings took ~1/5 of the
        # quick sweeps' profiled time), a short bootstrap (as the quick demo) and a 2-s cap (default 120 s)
        # on raising the permutation budget until its noise is below the twins' distance
        cfg["compare"] = {"twins": 2, "config": {"n_bootstrap": 20, "max_seconds": 2.0}}
        cfg["latency"] = QUICK_LATENCY
    return cfg


def bench_demo(quick: bool, tmp: Path) -> dict[str, Any]:
    cfg = copy.deepcopy(DEMO)
    if quick:  # the demo's shape at a fraction of the work
        cfg["model"]["train"].update(hidden=[32], epochs=2)
        cfg["plans"][0]["steps"][1]["finetune"]["epochs"] = 1
        cfg["plans"][1]["steps"][0]["distill"].update(hidden=[16], epochs=2)
        cfg["explain"].update(n_rows=6, background=5)
        cfg["metrics"].update(names=["completeness"], n_rows=4)
        cfg["compare"]["config"].update(n_bootstrap=20, min_rows=2)
        cfg["compress"]["latency_reps"] = 0
        cfg["latency"] = QUICK_LATENCY
        cfg["report"]["sample_rows"] = 1
    t0 = time.perf_counter()
    res = run(cfg, out=tmp / "demo")
    wall = time.perf_counter() - t0
    return {
        "wall_s": wall, "stages_s": res.timings,
        "models": {m.name: {"accuracy": m.accuracy, "latency_ms": m.latency_ms, "size_bytes": m.size_bytes,
                            "agreement": m.agreement, "verdict": m.verdict} for m in res.models},
        "report_bytes": (tmp / "demo" / "report.html").stat().st_size,
    }


def _warm(ex: RayExecutor) -> float:
    """Start Ray and import leanlens + torch in every worker; returns the seconds it took."""
    t0 = time.perf_counter()
    ex.start()
    ex.map(_import_in_worker, list(range(2 * ex.workers)))
    return time.perf_counter() - t0


def _import_in_worker(_: int) -> bool:
    import torch  # noqa: F401

    import leanlens.compress
    import leanlens.explain  # noqa: F401

    return True


def bench_sweep(trials: int, ray_ex: RayExecutor, tmp: Path, quick: bool) -> dict[str, Any]:
    import torch

    out: dict[str, Any] = {"trials": trials}
    for name, kw, threads in (("local", {}, 2), ("local_1_thread", {}, 1), ("ray", {"executor": ray_ex}, 2)):
        events: list[dict[str, Any]] = []
        torch.set_num_threads(threads)
        t0 = time.perf_counter()
        try:
            res = sweep(_sweep_config(trials, quick), out=tmp / f"sweep-{name}", log=events.append, **kw)
        finally:
            torch.set_num_threads(2)
        total = time.perf_counter() - t0
        trial_s = next(e["seconds"] for e in events if e["event"] == "stage_end" and e["stage"] == "trials")
        done = [t for t in res.trials if t["state"] == "COMPLETE"]
        out[name] = {"total_s": total, "trials_s": trial_s, "completed": len(done),
                     "failed": sum(t["state"] == "FAIL" for t in res.trials),
                     "best_accuracy": max(t["accuracy"] for t in done),
                     "pareto_size": sum(bool(t["pareto"]) for t in res.trials)}
    out["speedup_trials"] = out["local"]["trials_s"] / out["ray"]["trials_s"]
    # against the faster of the two in-process settings (on a loaded machine 1 thread can win)
    out["speedup_trials_vs_best_local"] = min(out["local"]["trials_s"], out["local_1_thread"]["trials_s"]) / out["ray"]["trials_s"]
    return out


def bench_explain_rows(n_rows: int, ray_ex: RayExecutor, quick: bool = False) -> dict[str, Any]:
    ds = leanlens.datasets.load("digits", random_state=0)
    hidden, epochs = ((32,), 1) if quick else ((128, 128), 5)
    model = leanlens.train(ds, leanlens.TrainConfig(hidden=hidden, epochs=epochs, random_state=0))
    X = np.resize(ds.X_test, (n_rows, *ds.X_test.shape[1:]))
    bg = ds.X_train[:10]
    kw = dict(background=bg, target="predicted", budget=130, random_state=0)
    chunk = max(1, n_rows // 8)
    explain_rows(model, X[:chunk], "permutation", executor=ray_ex, chunk_rows=chunk, **kw)  # warm the payload path
    res: dict[str, Any] = {"rows": n_rows, "method": "permutation", "budget": 130, "background": len(bg),
                           "chunk_rows": chunk}
    t0 = time.perf_counter()
    local = explain_rows(model, X, "permutation", **kw)
    res["in_process_s"] = time.perf_counter() - t0
    import torch

    torch.set_num_threads(1)
    try:
        t0 = time.perf_counter()
        explain_rows(model, X, "permutation", **kw)
        res["in_process_1_thread_s"] = time.perf_counter() - t0
    finally:
        torch.set_num_threads(2)
    t0 = time.perf_counter()
    remote = explain_rows(model, X, "permutation", executor=ray_ex, chunk_rows=chunk, **kw)
    res["ray_s"] = time.perf_counter() - t0
    res["speedup"] = res["in_process_s"] / res["ray_s"]
    res["speedup_vs_best_in_process"] = min(res["in_process_s"], res["in_process_1_thread_s"]) / res["ray_s"]
    res["n_model_evals"] = int(local.n_model_evals)
    # Different chunk seeds → different permutation samples; the estimates agree up to sampling noise.
    res["mean_abs_difference"] = float(np.mean(np.abs(local.values - remote.values)))
    res["mean_abs_attribution"] = float(np.mean(np.abs(local.values)))
    return res


def _num(v: float | None) -> str:
    return "–" if v is None else f"{v:.2f}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes (checks the script runs; not for quoting)")
    parser.add_argument("--out", type=Path, default=None, help="folder of pipeline.json / pipeline.md")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(2)
    print(machine_line())
    trials = 2 if args.quick else 20
    rows = 80 if args.quick else 2000
    with tempfile.TemporaryDirectory(prefix="leanlens-bench-") as tmp_name:
        tmp = Path(tmp_name)
        demo = bench_demo(args.quick, tmp)
        ray_ex = RayExecutor(num_cpus=2)
        try:
            startup = _warm(ray_ex)
            sw = bench_sweep(trials, ray_ex, tmp, args.quick)
            ex = bench_explain_rows(rows, ray_ex, args.quick)
        finally:
            ray_ex.close()
    load = os.getloadavg()
    payload = {"machine": machine_info(), "load_average_1_5_15": load, "quick": args.quick, "torch_threads": 2, "ray_workers": 2,
               "ray_startup_s": startup, "demo": demo, "sweep": sw, "explain_rows": ex, "seed": 0}
    lines = [
        f"{machine_line()}; load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (shared machine); "
        "torch 2 threads in-process; Ray: local instance, 2 workers × 1 thread",
        "",
        "| demo stage | seconds |",
        "|---|---:|",
        *[f"| {k} | {v:.2f} |" for k, v in demo["stages_s"].items()],
        f"| **total (wall)** | **{demo['wall_s']:.2f}** |",
        "",
        "| model | accuracy | latency ms (batch 256) | size KB | agreement | verdict |",
        "|---|---:|---:|---:|---:|---|",
        *[f"| {n} | {m['accuracy']:.3f} | {m['latency_ms']:.3f} | {m['size_bytes'] / 1024:.1f} | "
          f"{_num(m['agreement'])} | {m['verdict'] or 'reference'} |"
          for n, m in demo["models"].items()],
        "",
        f"| {sw['trials']}-trial sweep | trials s | total s | completed | failed | best accuracy |",
        "|---|---:|---:|---:|---:|---:|",
        *[f"| {k} | {sw[k]['trials_s']:.1f} | {sw[k]['total_s']:.1f} | {sw[k]['completed']} | {sw[k]['failed']} | "
          f"{sw[k]['best_accuracy']:.3f} |" for k in ("local", "local_1_thread", "ray")],
        "",
        f"| explain {ex['rows']} rows ({ex['method']}, budget {ex['budget']}, {ex['background']} background) | seconds |",
        "|---|---:|",
        f"| in-process, torch 2 threads | {ex['in_process_s']:.2f} |",
        f"| in-process, torch 1 thread | {ex['in_process_1_thread_s']:.2f} |",
        f"| Ray, {ex['rows'] // ex['chunk_rows']} tasks of {ex['chunk_rows']} rows | {ex['ray_s']:.2f} |",
        "",
        f"Ray start-up (not in the times above): {startup:.1f} s.",
        f"Demo wall time {demo['wall_s']:.1f} s; sweep trials on Ray (2 workers) {sw['speedup_trials']:.2f}× the speed "
        f"of local with 2 torch threads ({sw['speedup_trials_vs_best_local']:.2f}× the best local setting); "
        f"explaining {ex['rows']} rows on Ray {ex['speedup']:.2f}× in-process with 2 threads "
        f"({ex['speedup_vs_best_in_process']:.2f}× the best in-process setting)",
    ]
    write_results("pipeline", payload, "\n".join(lines), out=args.out)


if __name__ == "__main__":
    main()
