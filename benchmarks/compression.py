"""Compression benchmark: every plan against the original torch fp32 model, in one run.

Models: the digits MLP 64-512-512-10, the digits-images SmallCNN (32, 64 channels, 128
dense), and a 64-1024-1024-10 MLP for low-rank. Each plan runs through
``leanlens.compress``; latency is measured interleaved call by call with the original
(5 warm-up calls, ``--reps`` timed calls per batch size, threads fixed), and the ratios
are reported. Training runs single-threaded (it is not measured).

    python benchmarks/compression.py            # full mode (the figures we quote)
    python benchmarks/compression.py --quick    # smoke run, well under a minute
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine_info, machine_line, write_results

#: Per (model pair, batch, clock): 200 interleaved rounds, or fewer — at least 30 — once
#: this many seconds have passed (slow calls: BENCHMARKS.md's "enough to fill ~1 s").
MAX_SECONDS = 1.0


def _plans(lc: Any, quick: bool, ft: int) -> dict[str, list[Any]]:
    plans = {
        "unstructured 50%": [lc.Prune(kind="unstructured", amount=0.5)],
        "unstructured 80%": [lc.Prune(kind="unstructured", amount=0.8)],
        "unstructured 90%": [lc.Prune(kind="unstructured", amount=0.9)],
        "unstructured 90% random": [lc.Prune(kind="unstructured", amount=0.9, criterion="random")],
        "structured 50%": [lc.Prune(amount=0.5, scope="layer")],
        "structured 70%": [lc.Prune(amount=0.7, scope="layer")],
        "int8": [lc.Quantize()],
        "structured 50% + fine-tune + int8": [lc.Prune(amount=0.5, scope="layer"), lc.Finetune(epochs=ft), lc.Quantize()],
        "structured 70% taylor ×2 steps + fine-tune + int8": [
            lc.Prune(amount=0.7, scope="layer", criterion="taylor", steps=2, finetune_epochs=max(1, ft // 2)),
            lc.Quantize()],
        "low-rank ¼ + fine-tune": [lc.LowRank(rank_ratio=0.25, finetune_epochs=ft)],
    }
    if quick:
        keep = ("unstructured 80%", "structured 50%", "int8", "structured 50% + fine-tune + int8", "low-rank ¼ + fine-tune")
        plans = {k: v for k, v in plans.items() if k in keep}
    return plans


def _latency(lc: Any, original: Any, model: Any, ds: Any, reps: int, threads: int, clock: str) -> dict[str, Any]:
    """Median/p95/p10 ms of original and model, interleaved call by call, at batch 1 and 256."""
    from leanlens.compress.measurement import latency_rows
    from leanlens.models.latency import interleaved

    out: dict[str, Any] = {}
    for b in (1, 256):
        X = latency_rows(ds, b)
        # few reps (--quick): one attempt, not up to 3 while the machine is busy (figures not for quoting)
        res = interleaved({"o": original, "c": model}, X, threads=threads, clock=clock, reps=reps,
                          max_seconds=MAX_SECONDS if reps >= 100 else 0.3, min_reps=min(30, reps),
                          attempts=3 if reps >= 100 else 1, warn=False)
        orig, mine = res["o"].to_dict(), res["c"].to_dict()
        out[str(b)] = {"original": orig, "compressed": mine, "speedup": orig["median"] / mine["median"],
                       "speedup_p10": orig["p10"] / mine["p10"], "unreliable": res.unreliable,
                       "load_average": res.load_average}
    return out


def _row(lc: Any, model_name: str, plan_name: str, res: Any, original: Any, ds: Any, reps: int,
         threads: int) -> dict[str, Any]:
    rec = res.record
    t = rec.total()
    f = rec.final
    lat = {f"wall, threads={threads}": _latency(lc, original, res.model, ds, reps, threads, "wall"),
           "cpu, threads=1": _latency(lc, original, res.model, ds, reps, 1, "cpu")}
    main = lat[f"wall, threads={threads}"]
    one = lat["cpu, threads=1"]
    return {
        "model": model_name, "plan": plan_name, "kind": f.kind,
        "parameters": f.parameters, "nonzero": f.nonzero_parameters, "sparsity": f.sparsity,
        "file_bytes": f.file_bytes, "sparse_bytes": f.sparse_bytes, "macs": f.macs,
        "file_ratio": t["file_ratio"], "params_ratio": t["parameters_ratio"], "macs_ratio": t["macs_ratio"],
        "latency_ms_b256": main["256"]["compressed"]["median"], "p95_ms_b256": main["256"]["compressed"]["p95"],
        "orig_latency_ms_b256": main["256"]["original"]["median"],
        "speedup_b1": main["1"]["speedup"], "speedup_b256": main["256"]["speedup"],
        "speedup_b1_1thread_cpu": one["1"]["speedup"], "speedup_b256_1thread_cpu": one["256"]["speedup"],
        "speedup_b256_p10": main["256"]["speedup_p10"],
        "latency": lat,
        "score_name": t["score_name"], "score_before": t["score_before"], "score_after": t["score_after"],
        "score_change_points": t["score_change_points"], "agreement": t["agreement"],
        "seconds": t["seconds"], "warnings": rec.warnings, "steps": [s.to_dict() for s in rec.steps],
    }


def _fmt(x: Any, nd: int = 2) -> str:
    if x is None:
        return "–"
    if isinstance(x, float):
        return f"{x:.{nd}f}"
    return str(x)


def _table(rows: list[dict[str, Any]]) -> str:
    head = ("| model | plan | backend | params | file kB (÷) | MACs ÷ | ×b1 | ×b256 | ×b256 p10 | ms b256 (orig) | "
            "×b1 1t CPU | ×b256 1t CPU | score before → after | Δ points | agreement |")
    lines = [head, "|" + "---|" * 15]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['plan']} | {r['kind']} | {_fmt(r['parameters'])} | {r['file_bytes'] / 1024:.1f} "
            f"(÷{_fmt(r['file_ratio'])}) | {_fmt(r['macs_ratio'])} | {_fmt(r['speedup_b1'])}× | "
            f"{_fmt(r['speedup_b256'])}× | {_fmt(r['speedup_b256_p10'])}× | "
            f"{_fmt(r['latency_ms_b256'], 3)} ({_fmt(r['orig_latency_ms_b256'], 3)}) | "
            f"{_fmt(r['speedup_b1_1thread_cpu'])}× | {_fmt(r['speedup_b256_1thread_cpu'])}× | "
            f"{r['score_before']:.4f} → {r['score_after']:.4f} | {r['score_change_points']:+.2f} | {r['agreement']:.4f} |"
        )
    return "\n".join(lines)


def _distill_rows(lc: Any, ds: Any, teacher: Any, name: str, hidden: tuple[int, ...], *, epochs: int,
                  seeds: list[int], reps: int, threads: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Scratch student vs distilled (with / without attribution matching), averaged over seeds."""
    import numpy as np

    rows, summary = [], {}
    teacher_acc = teacher.metadata["metrics"]["test_accuracy"]
    scratch, scratch_aug, kd, kd_attr = [], [], [], []
    for i, seed in enumerate(seeds):
        cfg = lc.TrainConfig(hidden=hidden, epochs=epochs, lr=2e-3, dropout=0.0, random_state=seed)
        s = lc.train(ds, cfg)
        scratch.append(s.metadata["metrics"]["test_accuracy"])
        # Fairness check: the same noisy copies Distill adds, but with the rows' own labels.
        scratch_aug.append(lc.train(_noisy_copies(ds, 4, seed), cfg).metadata["metrics"]["test_accuracy"])
        for attr, acc in ((0.0, kd), (1.0, kd_attr)):
            res = lc.compress(teacher, [lc.Distill(hidden=hidden, epochs=epochs, attribution=attr)], data=ds,
                              random_state=seed, latency_reps=0, threads=threads)
            acc.append(res.record.final.score)
            if i == 0:
                label = f"distill → MLP {list(hidden)}" + (" + attribution" if attr else "")
                rows.append(_row(lc, name, label, res, teacher, ds, reps, threads))
        if i == 0:
            rows.append(_row(lc, name, f"MLP {list(hidden)} from scratch (reference)", _as_result(lc, s, teacher, ds),
                             teacher, ds, reps, threads))
    for label, accs in (("distill", kd), ("distill + attribution", kd_attr)):
        gap = teacher_acc - float(np.mean(scratch))
        summary[label] = {
            "student_hidden": list(hidden), "teacher_accuracy": teacher_acc,
            "scratch_accuracy_mean": float(np.mean(scratch)), "scratch_accuracies": scratch,
            "distilled_accuracy_mean": float(np.mean(accs)), "distilled_accuracies": accs,
            "scratch_augmented_accuracy_mean": float(np.mean(scratch_aug)),
            "scratch_augmented_accuracies": scratch_aug,
            "gap_closed": (float(np.mean(accs)) - float(np.mean(scratch))) / gap if gap > 0 else None,
            "seeds": seeds,
        }
    return rows, summary


def _noisy_copies(ds: Any, n: int, seed: int) -> Any:
    """``ds`` with n noisy copies (0.2 std per feature) of its training rows, keeping their labels."""
    import dataclasses

    import numpy as np

    rng = np.random.default_rng(seed)
    flat = ds.X_train.reshape(len(ds.X_train), -1)
    std = flat.std(axis=0, keepdims=True)
    copies = [flat + rng.normal(0.0, 1.0, flat.shape).astype(np.float32) * 0.2 * std for _ in range(n)]
    X = np.concatenate([flat, *copies]).astype(np.float32).reshape((-1, *ds.X_train.shape[1:]))
    return dataclasses.replace(ds, X_train=X, y_train=np.concatenate([ds.y_train] * (n + 1)))


class _Result:
    def __init__(self, model: Any, record: Any) -> None:
        self.model, self.record = model, record


def _as_result(lc: Any, model: Any, original: Any, ds: Any) -> _Result:
    """A record for a model that was not made by compress() (the scratch student)."""
    from leanlens.compress.measurement import measure
    from leanlens.compress.record import CompressionRecord, StepRecord

    before = measure(original, original, ds, reps=0, threads=1)
    after = measure(model, original, ds, reps=0, threads=1)
    rec = CompressionRecord(original=before, steps=[StepRecord("train", {}, 0.0, after)], threads=1, latency_reps=0)
    return _Result(model, rec)


def _run(lc: Any, rows: list[dict[str, Any]], name: str, model: Any, ds: Any, plans: dict[str, list[Any]],
         args: Any, reps: int, t_start: float) -> None:
    for plan_name, plan in plans.items():
        res = lc.compress(model, plan, data=ds, random_state=0, latency_reps=0, threads=args.threads)
        rows.append(_row(lc, name, plan_name, res, model, ds, reps, args.threads))
        r = rows[-1]
        print(f"  {name} | {plan_name}: ×{r['speedup_b256']:.2f} at b256 (p10 ×{r['speedup_b256_p10']:.2f}, "
              f"1-thread CPU time ×{r['speedup_b256_1thread_cpu']:.2f}),"
              f" {r['score_change_points']:+.2f} pts  [{time.perf_counter() - t_start:.0f} s]", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small smoke run (well under a minute)")
    ap.add_argument("--out", type=Path, default=None, help="results folder (default benchmarks/results)")
    ap.add_argument("--reps", type=int, default=None, help="timed calls per batch size (default 200; quick 20)")
    ap.add_argument("--threads", type=int, default=2, help="torch / ONNX Runtime threads while measuring")
    args = ap.parse_args(argv)

    import numpy as np
    import torch

    import leanlens as lc

    quick = args.quick
    reps = args.reps or (10 if quick else 200)
    epochs, ft = (2, 1) if quick else (30, 5)
    torch.set_num_threads(1)  # training is not measured; measurement fixes its own threads
    print(machine_line())
    t_start = time.perf_counter()
    rows: list[dict[str, Any]] = []
    distill: dict[str, Any] = {}
    seed = 0

    ds = lc.datasets.load("digits", random_state=seed)
    width, wide_width = (64, 128) if quick else (512, 1024)
    mlp_name, wide_name = f"MLP 64-{width}-{width}-10", f"MLP 64-{wide_width}-{wide_width}-10"
    mlp = lc.train(ds, lc.TrainConfig(hidden=(width, width), epochs=epochs, random_state=seed))
    _run(lc, rows, mlp_name, mlp, ds, _plans(lc, quick, ft), args, reps, t_start)
    d_rows, distill[mlp_name] = _distill_rows(
        lc, ds, mlp, mlp_name, (32,), epochs=epochs, seeds=[0] if quick else [0, 1, 2], reps=reps,
        threads=args.threads)
    rows += d_rows
    # Tree student of the same teacher (no gradients: a model-agnostic distillation).
    _run(lc, rows, mlp_name, mlp, ds, {"distill → tree depth 10": [lc.Distill(student="tree", max_depth=10)]},
         args, reps, t_start)

    wide = lc.train(ds, lc.TrainConfig(hidden=(wide_width, wide_width), epochs=epochs, random_state=seed))
    mf = 128 if quick else 1024
    _run(lc, rows, wide_name, wide, ds, {
        "low-rank ¼": [lc.LowRank(rank_ratio=0.25, min_features=mf)],
        "low-rank ¼ + fine-tune": [lc.LowRank(rank_ratio=0.25, min_features=mf, finetune_epochs=ft)],
        "low-rank ¼ + fine-tune + int8": [lc.LowRank(rank_ratio=0.25, min_features=mf, finetune_epochs=ft),
                                          lc.Quantize()],
    }, args, reps, t_start)

    dsi = lc.datasets.load("digits-images", random_state=seed)
    channels, dense = ((8, 16), 32) if quick else ((32, 64), 128)
    cnn = lc.train(dsi, lc.TrainConfig(arch="cnn", hidden=(dense,), channels=channels, epochs=max(1, epochs // 2),
                                       random_state=seed))
    cnn_plans = _plans(lc, quick, max(1, ft // 2))
    cnn_plans.pop("low-rank ¼ + fine-tune", None)
    cnn_plans["int8 incl. convolutions"] = [lc.Quantize(ops=("MatMul", "Gemm", "Conv"))]
    cnn_plans["low-rank ¼ (dense layer) + fine-tune"] = [
        lc.LowRank(rank_ratio=0.25, min_features=dense, finetune_epochs=max(1, ft // 2))]
    _run(lc, rows, "SmallCNN", cnn, dsi, cnn_plans, args, reps, t_start)
    if not quick:
        d_rows, distill["SmallCNN"] = _distill_rows(lc, dsi, cnn, "SmallCNN", (64,), epochs=epochs, seeds=[0, 1, 2],
                                                    reps=reps, threads=args.threads)
        rows += d_rows

    headline = next(r for r in rows if r["model"] == mlp_name and r["plan"] == "structured 50% + fine-tune + int8")
    lowrank = next(r for r in rows if r["model"] == wide_name and r["plan"] == "low-rank ¼ + fine-tune")
    mlp_d = distill[mlp_name]
    targets = {
        f"speedup_b256 >= 6 ({args.threads} threads)": headline["speedup_b256"] >= 6,
        f"speedup_b256 >= 6 ({args.threads} threads, p10)": headline["speedup_b256_p10"] >= 6,
        "speedup_b256 >= 6 (1 thread, CPU time)": headline["speedup_b256_1thread_cpu"] >= 6,
        "file_ratio >= 4": headline["file_ratio"] >= 4,
        "accuracy loss <= 1.0 point": headline["score_change_points"] >= -1.0,
        "agreement >= 0.98": headline["agreement"] >= 0.98,
        "distill closes >= 50% of gap": (mlp_d["distill"]["gap_closed"] or 0) >= 0.5,
        f"low-rank 1/4 speedup_b256 >= 2 ({args.threads} threads)": lowrank["speedup_b256"] >= 2,
        f"low-rank 1/4 speedup_b256 >= 2 ({args.threads} threads, p10)": lowrank["speedup_b256_p10"] >= 2,
        "low-rank 1/4 speedup_b256 >= 2 (1 thread, CPU time)": lowrank["speedup_b256_1thread_cpu"] >= 2,
    }
    load = os.getloadavg()
    table = "\n".join([
        f"# Compression benchmark ({'quick' if quick else 'full'} mode)",
        "",
        machine_line() + f"; load average {load[0]:.1f}; threads {args.threads} (torch and ONNX Runtime); "
        f"{reps} timed calls per batch size after 5 warm-ups (at least 30 and about {MAX_SECONDS:g} s when calls are "
        "slow), interleaved with the original torch fp32 model",
        "",
        "Speed-ups are original ÷ compressed, both measured in the same loop, call by call: ×b1 / ×b256 = "
        f"ratio of median wall times at batch 1 / 256 with {args.threads} threads; ×b256 p10 = ratio of the "
        "10th-percentile wall times (calls other processes did not interrupt); 1t CPU = ratio of median "
        "CPU times of the calling thread with 1 thread (what other processes cannot inflate). "
        "Score = test accuracy.",
        "",
        _table(rows),
        "",
        "Distillation (test accuracy, mean over seeds; gap closed = (distilled − scratch) / (teacher − scratch)):",
        "",
        *[f"- {m} {k}: teacher {v['teacher_accuracy']:.4f}, scratch {v['scratch_accuracy_mean']:.4f} "
          f"(with the same noisy copies, own labels: {v['scratch_augmented_accuracy_mean']:.4f}), "
          f"distilled {v['distilled_accuracy_mean']:.4f}, gap closed {_fmt(v['gap_closed'])}"
          for m, d in distill.items() for k, v in d.items()],
        "",
        "Targets: " + ", ".join(f"{k}: {'met' if v else 'MISSED'}" for k, v in targets.items()),
        "",
        f"Headline ({mlp_name}, batch 256, structured 50% + fine-tune + int8 vs torch fp32): "
        f"{headline['speedup_b256']:.2f}× faster at {args.threads} threads "
        f"(p10 {headline['speedup_b256_p10']:.2f}×; 1-thread CPU time {headline['speedup_b256_1thread_cpu']:.2f}×), "
        f"{headline['file_ratio']:.2f}× smaller file, {headline['score_change_points']:+.2f} points, "
        f"agreement {headline['agreement']:.4f}",
    ])
    payload = {
        "benchmark": "compression", "mode": "quick" if quick else "full", "machine": machine_info(),
        "load_average": load, "threads": args.threads, "reps": reps, "seed": seed, "epochs": epochs,
        "finetune_epochs": ft, "rows": rows, "distillation": distill, "targets": targets,
        "seconds": time.perf_counter() - t_start,
        "command": "python benchmarks/compression.py" + (" --quick" if quick else ""),
        "numpy_rng": "np.random.default_rng(seed) inside compress()", "np_version": np.__version__,
    }
    write_results("compression", payload, table, out=args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
