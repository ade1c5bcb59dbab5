"""How long ONNX Runtime's pool threads should busy-wait (``OnnxModel``'s ``SPIN_US``).

Int8 models (the hand plan of ``compression_int8.py``: structured 50 % + fine-tune 5 + static
int8) of the digits MLP 64-512-512-10 and the breast-cancer MLP 30-512-512-2. For each spin
setting — none (``allow_spinning=0``), 20 … 500 µs (``session.intra_op.spin_duration_us``) and
ONNX Runtime's default — one interleaved timing per batch size (1, 256, 1024) holds:

- a 1-thread session (spin irrelevant: it has no pool thread), the reference;
- a 2-thread session with that setting;
- at batch 256, the torch fp32 original at 2 threads (``OMP_WAIT_POLICY=PASSIVE``), called in
  the same rounds, so a pool thread still spinning after its run would show as a slower torch.

Also measured: CPU time per 2-thread call at batch 256 when calls are 1 ms apart (what a
spinning thread costs the rest of the machine). Each setting's sessions are made, timed and
dropped before the next setting's (no spinning thread of another setting is alive meanwhile).

Run: ``PYTHONPATH=src python benchmarks/onnx_spin.py`` (~1 min on 2 cores; quiet machine).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine_info, machine_line, write_results

SETTINGS: tuple[str, ...] = ("none", "20", "50", "100", "200", "500", "default")
QUICK_SETTINGS: tuple[str, ...] = ("none", "50")
BATCHES = (1, 256, 1024)


def _session(path: str, threads: int, setting: str) -> Any:
    import onnxruntime as ort

    o = ort.SessionOptions()
    o.intra_op_num_threads = threads
    o.inter_op_num_threads = 1
    if setting == "none":
        o.add_session_config_entry("session.intra_op.allow_spinning", "0")
    elif setting != "default":
        o.add_session_config_entry("session.intra_op.allow_spinning", "1")
        o.add_session_config_entry("session.intra_op.spin_duration_us", setting)
    o.add_session_config_entry("session.inter_op.allow_spinning", "0")
    o.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, sess_options=o, providers=["CPUExecutionProvider"])


def _call(sess: Any, X: Any) -> Any:
    feed = {sess.get_inputs()[0].name: X}
    read = [sess.get_outputs()[-1].name]
    return lambda: sess.run(read, feed)


def _models(quick: bool) -> list[tuple[str, Any, Any, Any]]:
    import leanlens as lc

    width, epochs = (64, 3) if quick else (512, 30)
    out = []
    for data, label in (("digits", "digits MLP 64-{w}-{w}-10"), ("breast_cancer", "breast-cancer MLP 30-{w}-{w}-2")):
        ds = lc.datasets.load(data, random_state=0)
        model = lc.train(ds, lc.TrainConfig(hidden=(width, width), epochs=epochs, random_state=0))
        q = lc.compress(model, [lc.Prune(amount=0.5, scope="layer"), lc.Finetune(epochs=1 if quick else 5),
                                lc.Quantize(mode="static")], data=ds, random_state=0, latency_reps=0).model
        out.append((label.format(w=width), ds, model, q))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small models, few rounds (a smoke run)")
    ap.add_argument("--out", type=Path, default=None, help="results folder (default: benchmarks/results)")
    ap.add_argument("--name", default="onnx_spin", help="results file name (without extension)")
    args = ap.parse_args()

    import numpy as np

    from leanlens.compress.measurement import latency_rows
    from leanlens.models.latency import time_calls

    t0 = time.perf_counter()
    reps = 100 if args.quick else 1000
    rows: list[dict[str, Any]] = []
    for name, ds, model, q in _models(args.quick):
        base = np.ascontiguousarray(latency_rows(ds, 256), dtype=np.float32)
        X = {b: np.ascontiguousarray(np.resize(base, (b, base.shape[1])), dtype=np.float32) for b in BATCHES}
        torch_fn = model.forward_fn(X[256])
        for setting in QUICK_SETTINGS if args.quick else SETTINGS:
            one, two = _session(str(q.path), 1, "none"), _session(str(q.path), 2, setting)
            row: dict[str, Any] = {"model": name, "spin": setting}
            for b in BATCHES:
                fns = {"1 thread": _call(one, X[b]), "2 threads": _call(two, X[b])}
                if b == 256:
                    fns["torch fp32, 2 threads"] = torch_fn
                res = time_calls(fns, threads=2, warmup=20, reps=reps if b < 1024 else reps // 4, min_reps=20,
                                 attempts=1, warn=False)
                ms = {k: t.median for k, t in res.timings.items()}
                row[f"b{b}"] = {"one_ms": ms["1 thread"], "two_ms": ms["2 threads"],
                                "gain": ms["1 thread"] / ms["2 threads"], "load": res.load_average}
                if b == 256:
                    row["torch_ms"] = ms["torch fp32, 2 threads"]
            f = _call(two, X[256])
            n = 50 if args.quick else 300
            c0 = time.process_time()
            for _ in range(n):
                f()
                time.sleep(0.001)
            row["cpu_us_per_call_1ms_apart"] = (time.process_time() - c0) / n * 1e6
            rows.append(row)
            del one, two
            print(f"{name} spin {setting}: " + ", ".join(
                f"b{b} {row[f'b{b}']['gain']:.2f}×" for b in BATCHES), flush=True)

    lines = [f"# ONNX Runtime pool-thread spinning ({'quick' if args.quick else 'full'} mode)", "", machine_line(), "",
             "2 threads against 1 (same graph, interleaved, medians); torch fp32 original at 2 threads in the "
             "batch-256 rounds; CPU per 2-thread call at batch 256 with calls 1 ms apart.", "",
             "| model | spin | b1: 1 / 2 thr µs (×) | b256: 1 / 2 thr µs (×) | b1024: 1 / 2 thr µs (×) | "
             "torch fp32 2 thr µs (b256) | CPU µs per call | load |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        cells = [f"{1e3 * r[f'b{b}']['one_ms']:.0f} / {1e3 * r[f'b{b}']['two_ms']:.0f} ({r[f'b{b}']['gain']:.2f}×)"
                 for b in BATCHES]
        lines.append(f"| {r['model']} | {r['spin']} | " + " | ".join(cells) +
                     f" | {1e3 * r['torch_ms']:.0f} | {r['cpu_us_per_call_1ms_apart']:.0f} | {r['b256']['load']:.1f} |")
    payload = {"machine": machine_info(), "rows": rows, "seconds": time.perf_counter() - t0, "quick": args.quick}
    write_results(args.name, payload, "\n".join(lines), out=args.out)


if __name__ == "__main__":
    main()
