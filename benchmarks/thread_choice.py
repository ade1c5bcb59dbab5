"""How often an int8 model's thread choice keeps 1 thread where 2 run it faster, with one timing
and with the repeats of ``CHOICE_TIMINGS``.

The model: the hand plan of ``compression_int8.py`` (structured 50 % + fine-tune 5 + static int8)
of the digits MLP 64-512-512-10, which 2 ONNX Runtime threads run 1.2–1.6× faster than 1 at
batch 256 (``compression_int8.py``'s batch table). The choice is made ``--pairs`` times each way,
the two ways alternating (one timing, then up to ``CHOICE_TIMINGS``; the next pair the other way
round), on the 256 training rows ``compress`` uses. A choice of 1 thread here is a wrong one: the
machine was in a slow spell for the whole choice. Also reported: the gains (1-thread ms / 2-thread
ms) the choices read, and how many timings each way made (its cost).

Run: ``PYTHONPATH=src python benchmarks/thread_choice.py`` (~2 min on 2 cores, quiet machine);
``--quick`` for a smoke run (a small model, 4 pairs).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine_info, machine_line, write_results
from compression_int8 import _models, hand_pruned


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="a small model, 4 pairs (a smoke run)")
    p.add_argument("--pairs", type=int, default=60, help="choices made each way (default 60)")
    p.add_argument("--name", default="thread_choice", help="results file name (default thread_choice)")
    p.add_argument("--out", type=Path, default=None, help="results folder (default benchmarks/results)")
    args = p.parse_args(argv)
    if args.pairs < 1:
        p.error("--pairs must be ≥ 1")
    pairs = 4 if args.quick else args.pairs

    import numpy as np

    import leanlens as lc
    from leanlens.compress.quantize import _thread_rows
    from leanlens.models import onnx_model

    print(machine_line(), f"load {os.getloadavg()}", flush=True)
    t_start = time.perf_counter()
    name, ds, model = _models(lc, args.quick, ("digits",))[0]
    q = lc.compress(hand_pruned(lc, model, ds, quick=args.quick), [lc.Quantize(mode="static")], data=ds, random_state=0, latency_reps=0).model
    X = _thread_rows(ds.X_train, q.input_shape)
    ways = {"one timing": 1, f"up to {onnx_model.CHOICE_TIMINGS}": onnx_model.CHOICE_TIMINGS}
    made: dict[str, list[dict[str, float]]] = {w: [] for w in ways}
    keep = onnx_model.CHOICE_TIMINGS
    load0 = os.getloadavg()[0]
    for i in range(pairs):
        for way in (list(ways) if i % 2 == 0 else list(ways)[::-1]):
            t0 = time.perf_counter()
            ms, n = onnx_model._time_choice(q.path, X, [1, 2], most=ways[way])
            made[way].append({"threads": onnx_model.choose_threads(ms), "gain": ms[1] / ms[2], "timings": n,
                              "seconds": time.perf_counter() - t0})
    rows = []
    for way, v in made.items():
        gains = np.array([c["gain"] for c in v])
        ones = [c for c in v if c["threads"] == 1]
        rows.append({"way": way, "choices": len(v), "chose_1": len(ones),
                     "gains_of_1": sorted(round(c["gain"], 3) for c in ones),
                     "gain_median": float(np.median(gains)), "gain_min": float(gains.min()),
                     "timings": int(sum(c["timings"] for c in v)), "seconds": float(sum(c["seconds"] for c in v))})
    lines = [f"# Thread choice, one timing against up to {keep} (`benchmarks/thread_choice.py`"
             f"{' --quick' if args.quick else ''})", "", machine_line(),
             f"{name}, hand plan, static int8, batch 256; {pairs} choices each way, alternating; "
             f"load {load0:.1f}–{os.getloadavg()[0]:.1f}.", "",
             "| way | chose 1 thread | their gains | median gain | lowest gain | timings made | seconds |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['way']} | {r['chose_1']}/{r['choices']} | {', '.join(f'{g:.2f}' for g in r['gains_of_1']) or '–'} | "
                     f"{r['gain_median']:.2f}× | {r['gain_min']:.2f}× | {r['timings']} | {r['seconds']:.1f} |")
    lines += ["", f"{time.perf_counter() - t_start:.0f} s wall"]
    write_results(args.name, {"machine": machine_info(), "model": name, "pairs": pairs, "rows": rows, "choices": made},
                  "\n".join(lines), out=args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
