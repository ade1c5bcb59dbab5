"""Where the µs of ``OnnxModel.predict_proba`` go, beside a bare ``session.run`` of the same session.

Issue 12 asks the wrapper around a compressed model to add no measurable overhead to
``session.run``. ``compression_int8.py`` measures the overhead as one difference of medians; this
script splits it, pairing every call with the bare call of the same round. Models: the hand plan
of ``compression_int8.py`` (structured 50 % + fine-tune 5 + static int8) of the digits MLP
64-512-512-10 and of the breast-cancer MLP 30-512-512-2, at batch 256, at 1 and 2 threads.
Each round calls, in a random order (each after ``--settle`` untimed calls of its own):

- the torch fp32 original's forward (another model between the calls, as in service);
- ``session.run`` bare: ONNX Runtime's public Python ``run``, feed dict prepared once;
- compiled run: the compiled ``run`` that ``session.run`` wraps (``session._sess.run``), with
  a feed dict made per call — what ``OnnxModel``'s hot path calls;
- + finiteness: one ``np.vdot`` pass over the rows first (the wrapper's input check);
- + float64: and the float64 copy of the result (the package's output type). This line is
  the cost of what the wrapper promises (checked input, float64 output) with no Python layer;
- ``predict_proba`` and ``predict``: the public calls.

For each, the median ms and the median of the per-round differences from the bare call, with a
95 % bootstrap interval (1,000 resamples of the rounds). A difference whose interval holds 0 is
not measurable at this many rounds.

Run: ``PYTHONPATH=src python benchmarks/onnx_wrapper.py`` (~2 min on 2 cores; quiet machine);
``--quick`` for a smoke run.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine_info, machine_line, write_results
from compression_int8 import _at_threads, _models, hand_pruned

THREADS = (1, 2)
VARIANTS = ("session.run bare", "compiled run", "+ finiteness", "+ float64", "predict_proba", "predict")


def _calls(model: Any, X: Any, torch_model: Any) -> dict[str, Any]:
    import numpy as np

    sess = model.session
    read = [model._output_name()]
    name = model.input_name
    feed = {name: X}
    compiled = sess._sess.run
    model.predict_proba(X)  # the first call looks up the hot path

    def checked() -> Any:
        if math.isfinite(np.vdot(X, X)):
            return compiled(read, {name: X}, None)[0]
        raise AssertionError("non-finite rows")

    def promised() -> Any:
        if math.isfinite(np.vdot(X, X)):
            return compiled(read, {name: X}, None)[0].astype(np.float64)
        raise AssertionError("non-finite rows")

    return {"torch fp32 original": torch_model.forward_fn(X),
            "session.run bare": lambda: sess.run(read, feed),
            "compiled run": lambda: compiled(read, {name: X}, None),
            "+ finiteness": checked, "+ float64": promised,
            "predict_proba": lambda: model.predict_proba(X), "predict": lambda: model.predict(X)}


def _time(calls: dict[str, Any], rounds: int, settle: int, seed: int) -> dict[str, Any]:
    """The rounds of ``leanlens.models.latency.time_calls`` (a random order per round, ``settle``
    untimed calls before each timed one), keeping every call's time: the pairing needs each round's
    times, and ``time_calls`` keeps medians only."""
    import numpy as np

    keys = list(calls)
    t = np.zeros((rounds, len(keys)))
    rng = np.random.default_rng(seed)
    for r in range(rounds):
        for i in rng.permutation(len(keys)):
            fn = calls[keys[i]]
            for _ in range(settle):
                fn()
            t0 = time.perf_counter_ns()
            fn()
            t[r, i] = time.perf_counter_ns() - t0
    t = t[rounds // 10:] / 1e3  # µs; the first tenth warms up
    bare = t[:, keys.index("session.run bare")]
    out = {}
    for i, k in enumerate(keys):
        d = t[:, i] - bare
        boots = np.median(d[rng.integers(0, len(d), (1000, len(d)))], axis=1)
        out[k] = {"median_ms": float(np.median(t[:, i])) / 1e3, "diff_us": float(np.median(d)),
                  "low_us": float(np.percentile(boots, 2.5)), "high_us": float(np.percentile(boots, 97.5))}
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="small models, 300 rounds (a smoke run)")
    p.add_argument("--rounds", type=int, default=3000, help="rounds per model and thread count (default 3000)")
    p.add_argument("--settle", type=int, default=0, help="untimed calls of the same function before each timed one")
    p.add_argument("--name", default="onnx_wrapper", help="results file name (default onnx_wrapper)")
    p.add_argument("--out", type=Path, default=None, help="results folder (default benchmarks/results)")
    args = p.parse_args(argv)
    if args.rounds < 20 or args.settle < 0:
        p.error("--rounds must be ≥ 20 and --settle ≥ 0")
    rounds = 300 if args.quick else args.rounds

    import numpy as np
    import torch

    import leanlens as lc
    from leanlens.compress.measurement import latency_rows

    torch.set_num_threads(1)
    print(machine_line(), f"load {os.getloadavg()}", flush=True)
    t_start = time.perf_counter()
    results = []
    for name, ds, model in _models(lc, args.quick, ("digits", "breast_cancer")):
        q = lc.compress(hand_pruned(lc, model, ds, quick=args.quick), [lc.Quantize(mode="static")], data=ds, random_state=0, latency_reps=0).model
        X = np.ascontiguousarray(latency_rows(ds, 256), dtype=np.float32)
        for threads in THREADS:
            load0 = os.getloadavg()[0]
            timed = _time(_calls(_at_threads(q, threads), X, model), rounds, args.settle, seed=threads)
            results.append({"model": name, "threads": threads, "load": [load0, os.getloadavg()[0]], "timed": timed})
            print(f"  {name}, {threads} thread(s) done [{time.perf_counter() - t_start:.0f} s]", flush=True)

    lines = [f"# The wrapper's µs, split (`benchmarks/onnx_wrapper.py`{' --quick' if args.quick else ''}"
             f"{f' --settle {args.settle}' if args.settle else ''})", "", machine_line(),
             f"{rounds} rounds per row, the first tenth dropped; batch 256, static int8 of the hand plan; "
             "difference = median over rounds of (call − bare `session.run` of the same round), 95 % bootstrap interval.",
             "", "| model | threads | " + " | ".join(VARIANTS) + " | load |", "|---|---|" + "---|" * (len(VARIANTS) + 1)]
    for r in results:
        cells = []
        for v in VARIANTS:
            x = r["timed"][v]
            cells.append(f"{x['median_ms']:.3f} ms" if v == "session.run bare" else
                         f"{x['diff_us']:+.1f} µs ({x['low_us']:+.1f}…{x['high_us']:+.1f})")
        lines.append(f"| {r['model']} | {r['threads']} | " + " | ".join(cells) + f" | {r['load'][0]:.1f}–{r['load'][1]:.1f} |")
    lines += ["", f"{time.perf_counter() - t_start:.0f} s wall"]
    write_results(args.name, {"machine": machine_info(), "rounds": rounds, "settle": args.settle, "rows": results},
                  "\n".join(lines), out=args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
