"""int8 and --auto benchmark (issue 12): static vs dynamic int8, the hand plan and the searched plan.

Models: the digits MLP 64-512-512-10, a breast-cancer MLP 30-512-512-2 and the
digits-images SmallCNN (32, 64 channels, 128 dense). For each, at 1 and 2 threads and batch
256, ONE interleaved timing (leanlens.models.latency) holds: the torch fp32 original, the
structured-50% + fine-tune torch model, and that model in static and in dynamic int8
(ONNX Runtime), plus the ONNX Runtime fp32 export of the pruned model. Each setting is timed
``--repeats`` times (interleaved between settings); the figures are the medians of those
medians. MACs are counted per batch; G MAC/s = MACs / median time.

The same rounds also time the public calls: ``predict_proba`` and ``predict`` of the torch original
against ``predict_proba`` and ``predict`` of each int8 model, and a bare ``session.run`` of the int8
model's session on a feed prepared once; at 2 threads both for a session of exactly 2 threads and
for the model's own (the threads it chose), each group three calls per round (see
``_public_calls``). The wrapper's overhead is ``predict_proba`` − ``session.run`` (µs and %), and
the public speed-up (``predict_proba`` on both sides) is printed beside the raw-forward one
(``forward_fn`` on both sides).

``--auto`` runs ``compress(model, "auto", budget=AutoBudget(trials=20, max_accuracy_drop=0.01,
require="same-reasons"))`` on the digits and breast-cancer MLPs and times the winner against
the original and the hand plan, in the same rounds.

``OMP_WAIT_POLICY`` is set to PASSIVE for this process unless already set (``--omp-wait-policy
default`` leaves libgomp's default): with the default, torch's second OpenMP thread busy-waits,
and whenever anything else runs on the 2 cores (the interleaved ONNX Runtime call, another
process) the torch fp32 original at 2 threads slows down many-fold (measured twice at load
5–9: 14.1 / 17.5 ms alone, 99 / 133 ms interleaved with a 0.4 ms sleep; PASSIVE: 3.3 / 11.8
and 11.6 / 4.4 ms), which would inflate every 2-thread speed-up. PASSIVE makes the reference faster, the ratios smaller.
ONNX Runtime's pool threads busy-wait at most ``SPIN_US`` (50 µs, OnnxModel's default) after a
kernel, which leaves torch's time in the same rounds unchanged (``benchmarks/onnx_spin.py``).

    python benchmarks/compression_int8.py            # full mode
    python benchmarks/compression_int8.py --quick    # smoke run
    python benchmarks/compression_int8.py --no-int8 --only digits   # the --auto part on digits only
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine_info, machine_line, write_results

MODELS = ("digits", "breast_cancer", "cnn")
THREADS = (1, 2)
BATCHES = (1, 256, 1024)


def _models(lc: Any, quick: bool, only: tuple[str, ...] = MODELS) -> list[tuple[str, Any, Any]]:
    width, epochs = (64, 3) if quick else (512, 30)
    out = []
    if "digits" in only:
        ds = lc.datasets.load("digits", random_state=0)
        out.append((f"digits MLP 64-{width}-{width}-10", ds,
                    lc.train(ds, lc.TrainConfig(hidden=(width, width), epochs=epochs, random_state=0))))
    if "breast_cancer" in only:
        bc = lc.datasets.load("breast_cancer", random_state=0)
        out.append((f"breast-cancer MLP 30-{width}-{width}-2", bc,
                    lc.train(bc, lc.TrainConfig(hidden=(width, width), epochs=epochs, random_state=0))))
    if "cnn" in only:
        im = lc.datasets.load("digits-images", random_state=0)
        ch, dense = ((8, 16), 32) if quick else ((32, 64), 128)
        out.append(("SmallCNN", im, lc.train(im, lc.TrainConfig(arch="cnn", channels=ch, hidden=(dense,),
                                                                epochs=max(1, epochs // 2), random_state=0))))
    return out


def hand_pruned(lc: Any, model: Any, ds: Any, *, quick: bool) -> Any:
    """The hand plan's torch part: structured 50 % + fine-tune (5 epochs, 1 in quick mode), seed 0."""
    return lc.compress(model, [lc.Prune(amount=0.5, scope="layer"), lc.Finetune(epochs=1 if quick else 5)],
                       data=ds, random_state=0, latency_reps=0).model


def _at_threads(model: Any, threads: int) -> Any:
    """The same ONNX file as an OnnxModel whose own session has ``threads`` intra-op threads
    (what a user gets with ``Quantize(threads=...)``), so its public calls run at that count."""
    from leanlens.models.onnx_model import OnnxModel

    return OnnxModel(model.path, task=model.task, input_shape=model.input_shape, output=model.output_kind,
                     threads=threads, feature_names=model.feature_names, output_names=model.output_names)


def _public_calls(model: Any, X: Any, threads: int, tag: str, *, own: bool = False) -> dict[str, Any]:
    """The int8 model's public calls and a bare ``session.run`` of the *same* session, on the same rows:
    an OnnxModel of the same file at exactly ``threads`` threads, or (``own=True``) the model itself,
    with the threads it chose.

    Every group gets these three calls per round, as the torch original gets its raw forward,
    ``predict_proba`` and ``predict``: how often a session runs in a round decides how warm its
    caches and pool thread are when it is timed. Until session 10 the model's own threads had one
    call per round against three for the fixed-thread group, and read 5.78–5.83× against
    5.98–6.24× for the same graph at the same 2 threads (digits, settle 0: session 9's two runs
    and session 10's first); the batch table, whose sessions all run once per round, read
    6.02–6.37× with its own threads in the same runs.

    The bare call gets a feed prepared once (float32, C-contiguous) and fetches the one output the
    model reads (its last floating-point output: the graph's probabilities), as ``predict_proba``
    does — fetching every output (``run(None, …)``) would also copy out the logits and flatter the
    wrapper. The wrapper's overhead is ``predict_proba`` − bare, both medians of the same
    interleaved rounds.
    """
    import numpy as np

    m = model if own else _at_threads(model, threads)
    feed = {m.input_name: np.ascontiguousarray(X, dtype=np.float32)}
    sess = m.session
    floats = ("tensor(float)", "tensor(double)", "tensor(float16)", "tensor(bfloat16)")
    read = [[o.name for o in sess.get_outputs() if o.type in floats][-1]]
    rows = feed[m.input_name]
    return {f"session.run bare: {tag}": lambda: sess.run(read, feed),
            f"predict_proba: {tag}": lambda: m.predict_proba(rows),
            f"predict: {tag}": lambda: m.predict(rows)}


def _int8_rows(lc: Any, name: str, ds: Any, model: Any, *, quick: bool, repeats: int, reps: int, settle: int = 0
               ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    import numpy as np

    from leanlens.compress.measurement import latency_rows
    from leanlens.models.latency import forward_fn, time_calls
    from leanlens.models.onnx_model import OnnxModel, export_onnx

    pruned = hand_pruned(lc, model, ds, quick=quick)
    variants: dict[str, Any] = {"torch fp32 original": model, "torch fp32 pruned": pruned}
    for mode in ("static", "dynamic"):
        variants[f"int8 {mode} (pruned)"] = lc.compress(pruned, [lc.Quantize(mode=mode)], data=ds, random_state=0,
                                                        latency_reps=0).model
    work = Path(os.environ.get("TMPDIR", "/tmp")) / f"leanlens-bench-{os.getpid()}"
    work.mkdir(exist_ok=True)
    variants["ORT fp32 pruned"] = OnnxModel(export_onnx(pruned, work / f"{abs(hash(name))}.onnx"), task=pruned.task,
                                            input_shape=pruned.input_shape, output="logits")
    macs_row = {"torch fp32 original": model.macs(), "torch fp32 pruned": pruned.macs()}
    X = np.ascontiguousarray(latency_rows(ds, 256), dtype=np.float32)
    acc = {k: float((m.predict(ds.X_test) == ds.y_test).mean()) for k, m in variants.items()}
    agree = {k: float((m.predict(ds.X_test) == model.predict(ds.X_test)).mean()) for k, m in variants.items()}
    rows, wrapper = [], []
    for threads in THREADS:
        meds: dict[str, list[float]] = {}
        loads, unreliable = [], []
        for _ in range(repeats):
            # ONNX models at exactly `threads` threads here (what the model chose is timed beside)
            fns = {k: forward_fn(_at_threads(m, threads) if isinstance(m, OnnxModel) else m, X, threads=threads)
                   for k, m in variants.items()}
            # The same speed-up through the public call a user makes, on both sides.
            fns["predict_proba: torch fp32 original"] = lambda: model.predict_proba(X)
            fns["predict: torch fp32 original"] = lambda: model.predict(X)
            for mode in ("static", "dynamic"):
                q = variants[f"int8 {mode} (pruned)"]
                fns.update(_public_calls(q, X, threads, f"int8 {mode}"))
                if threads == max(THREADS):  # the model as compress() returned it: its own threads, ≤ the budget
                    fns.update(_public_calls(q, X, threads, f"int8 {mode}, own threads ({q.threads_})", own=True))
            res = time_calls(fns, threads=threads, reps=reps, min_reps=min(30, reps), max_seconds=4.0 * (1 + settle),
                             attempts=1, warn=False, settle=settle)
            loads.append(res.load_average)
            unreliable.append(res.unreliable)
            for k in fns:
                meds.setdefault(k, []).append(res[k].median)
        ms = {k: statistics.median(v) for k, v in meds.items()}
        base = ms["torch fp32 original"]
        for k, v in meds.items():
            key = k if k in variants else k.split(": ", 1)[1].split(",")[0]  # "predict_proba: int8 static" → its variant
            key = key if key in variants else f"{key} (pruned)"
            batch_macs = macs_row.get(key, macs_row["torch fp32 pruned"]) * 256
            # public calls are compared with the original's same public call (bare session.run with its
            # predict_proba), raw forwards with its raw forward
            ref = (base if k in variants else ms["predict: torch fp32 original"] if k.startswith("predict: ")
                   else ms["predict_proba: torch fp32 original"])
            rows.append({"model": name, "variant": k, "threads": threads, "ms_b256": ms[k], "spread_ms": [min(v), max(v)],
                         "speedup": ref / ms[k], "macs_per_batch": batch_macs,
                         "gmac_s": batch_macs / (ms[k] * 1e-3) / 1e9, "accuracy": acc[key], "agreement": agree[key],
                         "load_average": loads, "unreliable": unreliable})
        for mode in ("static", "dynamic"):
            bare, proba, pred = (ms[f"{c}: int8 {mode}"] for c in ("session.run bare", "predict_proba", "predict"))
            wrapper.append({"model": name, "threads": threads, "mode": mode, "session_run_ms": bare,
                            "predict_proba_ms": proba, "predict_ms": pred,
                            "overhead_us": (proba - bare) * 1e3, "overhead_pct": 100 * (proba / bare - 1),
                            "predict_overhead_us": (pred - bare) * 1e3,
                            "predict_overhead_pct": 100 * (pred / bare - 1),
                            "public_speedup": ms["predict_proba: torch fp32 original"] / proba,
                            "forward_speedup": base / ms[f"int8 {mode} (pruned)"], "load_average": loads})
    choices = {mode: variants[f"int8 {mode} (pruned)"].metadata.get("onnx_threads") for mode in ("static", "dynamic")}
    return rows, wrapper, _batch_rows(name, model, variants, ds, choices, repeats=repeats, reps=reps, quick=quick)


def _batch_rows(name: str, model: Any, variants: dict[str, Any], ds: Any, choices: dict[str, Any], *, repeats: int,
                reps: int, quick: bool) -> list[dict[str, Any]]:
    """The threads each int8 model chose (at compress time, on 256 training rows, ≤ 2) checked at batch
    1, 256 and 1024: ``predict_proba`` of the torch original at torch's 2 threads against ``predict_proba``
    of the int8 model with its own threads, and at exactly 1 and exactly 2 threads, in the same rounds."""
    import numpy as np

    from leanlens.models.latency import time_calls

    threads = max(THREADS)
    out = []
    for batch in BATCHES if not quick else (1, 256):
        X = np.ascontiguousarray(np.resize(ds.X_test, (batch, *ds.X_test.shape[1:])), dtype=np.float32)
        fns = {"torch": lambda X=X: model.predict_proba(X)}
        for mode in ("static", "dynamic"):
            q = variants[f"int8 {mode} (pruned)"]
            fns[f"{mode} own"] = lambda q=q, X=X: q.predict_proba(X)
            for n in THREADS:
                m = _at_threads(q, n)
                fns[f"{mode} {n}"] = lambda m=m, X=X: m.predict_proba(X)
        meds: dict[str, list[float]] = {k: [] for k in fns}
        loads = []
        for _ in range(repeats):
            res = time_calls(fns, threads=threads, reps=reps, min_reps=min(30, reps), max_seconds=3.0, attempts=1,
                             warn=False)
            loads.append(res.load_average)
            for k in fns:
                meds[k].append(res[k].median)
        ms = {k: statistics.median(v) for k, v in meds.items()}
        for mode in ("static", "dynamic"):
            fixed = {n: ms[f"{mode} {n}"] for n in THREADS}
            out.append({"model": name, "batch": batch, "mode": mode, "chosen_threads": variants[f"int8 {mode} (pruned)"].threads_,
                        "choice": choices[mode], "torch_ms": ms["torch"], "torch_threads": threads,
                        "own_ms": ms[f"{mode} own"], "fixed_ms": {str(n): t for n, t in fixed.items()},
                        "own_speedup": ms["torch"] / ms[f"{mode} own"],
                        "fixed_speedup": {str(n): ms["torch"] / t for n, t in fixed.items()},
                        "fastest_fixed": min(fixed, key=lambda n: fixed[n]),
                        "spread_ms": {k: [min(v), max(v)] for k, v in meds.items()}, "load_average": loads})
    return out


def _batch_table(rows: list[dict[str, Any]]) -> list[str]:
    if not rows:
        return []
    lines = ["", "Threads chosen by each int8 model (compress time, 256 training rows, ≤ 2 threads) at batch 1/256/1024, "
             "through predict_proba; torch fp32 original at torch's 2 threads:", "",
             "| model | int8 | batch | chose | torch 2 thr ms | own threads ms (×) | exactly 1 thr ms (×) | "
             "exactly 2 thr ms (×) | faster fixed | load |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        f, x = r["fixed_ms"], r["fixed_speedup"]
        lines.append(f"| {r['model']} | {r['mode']} | {r['batch']} | {r['chosen_threads']} | {r['torch_ms']:.3f} | "
                     f"{r['own_ms']:.3f} ({r['own_speedup']:.2f}×) | {f['1']:.3f} ({x['1']:.2f}×) | "
                     f"{f['2']:.3f} ({x['2']:.2f}×) | {r['fastest_fixed']} | {max(r['load_average']):.1f} |")
    return lines


def _auto_rows(lc: Any, name: str, ds: Any, model: Any, *, quick: bool, reps: int, repeats: int, settle: int = 0
               ) -> dict[str, Any]:
    from leanlens.compress.auto import AutoBudget
    from leanlens.compress.measurement import latency_rows
    from leanlens.models.latency import interleaved

    ft = 1 if quick else 5
    hand = lc.compress(model, [lc.Prune(amount=0.5, scope="layer"), lc.Finetune(epochs=ft), lc.Quantize()], data=ds,
                       random_state=0, latency_reps=0)
    t0 = time.perf_counter()
    budget = AutoBudget(trials=4 if quick else 20, max_accuracy_drop=0.01, require="same-reasons", threads=2,
                        latency_reps=30 if quick else 100)
    auto = lc.compress(model, "auto", data=ds, budget=budget, random_state=0)
    seconds = time.perf_counter() - t0
    X = latency_rows(ds, 256)
    macs = {"original": model.macs(), "hand": hand.record.final.macs, "auto": auto.record.final.macs}
    out: dict[str, Any] = {"model": name, "search_seconds": seconds, "trials_seconds": auto.auto.search_seconds,
                           "message": auto.auto.message, "plan": auto.auto.to_dict()["plan"],
                           "verdict": auto.auto.verdict, "pareto": auto.auto.pareto,
                           "candidates": auto.auto.candidates, "macs_per_batch": {k: None if v is None else v * 256
                                                                                  for k, v in macs.items()},
                           "timing": {}}
    for threads in (1, 2):
        meds: dict[str, list[float]] = {"original": [], "hand": [], "auto": []}
        loads = []
        for _ in range(repeats):
            res = interleaved({"original": model, "hand": hand.model, "auto": auto.model}, X, threads=threads,
                              reps=reps, min_reps=min(30, reps), max_seconds=3.0 * (1 + settle), attempts=1, warn=False,
                              settle=settle)
            loads.append(res.load_average)
            for k in meds:
                meds[k].append(res[k].median)
        m = {k: statistics.median(v) for k, v in meds.items()}
        gmac = {k: None if macs[k] is None else macs[k] * 256 / (m[k] * 1e-3) / 1e9 for k in m}
        out["timing"][str(threads)] = {"ms": m, "spread_ms": {k: [min(v), max(v)] for k, v in meds.items()},
                                       "hand_speedup": m["original"] / m["hand"],
                                       "auto_speedup": m["original"] / m["auto"], "gmac_s": gmac,
                                       "load_average": loads}
    o = model.predict(ds.X_test)
    for key, res in (("hand", hand), ("auto", auto)):
        out[f"{key}_accuracy_drop_points"] = -res.record.total()["score_change_points"] if res.record.steps else 0.0
        out[f"{key}_agreement_with_original"] = float((res.model.predict(ds.X_test) == o).mean())
    out["auto_agreement_with_hand"] = float((auto.model.predict(ds.X_test) == hand.model.predict(ds.X_test)).mean())
    return out


def _brief(cfg: dict[str, Any]) -> str:
    keys = {"hidden": "", "amount": "", "epochs": "", "mode": "", "rank_ratio": "r"}
    parts = [f"{p}{cfg[k]}" for k, p in keys.items() if k in cfg and cfg[k] is not None]
    return f"({', '.join(str(x) for x in parts)})" if parts else ""


def _wrapper_table(wrapper: list[dict[str, Any]]) -> list[str]:
    """The wrapper's overhead over a bare ``session.run`` of the same session, and the speed-up
    through the public call (``predict_proba`` on both sides) beside the raw-forward one."""
    if not wrapper:
        return []
    lines = ["", "| model | int8 | threads | session.run ms | predict_proba ms (overhead µs, %) | "
             "predict ms (overhead µs, %) | × predict_proba vs torch predict_proba | × raw forward | load |",
             "|---|---|---|---|---|---|---|---|---|"]
    for w in wrapper:
        lines.append(f"| {w['model']} | {w['mode']} | {w['threads']} | {w['session_run_ms']:.3f} | "
                     f"{w['predict_proba_ms']:.3f} ({w['overhead_us']:+.0f} µs, {w['overhead_pct']:+.1f} %) | "
                     f"{w['predict_ms']:.3f} ({w['predict_overhead_us']:+.0f} µs, {w['predict_overhead_pct']:+.1f} %) | "
                     f"{w['public_speedup']:.2f}× | {w['forward_speedup']:.2f}× | {max(w['load_average']):.1f} |")
    worst = max(wrapper, key=lambda w: w["overhead_pct"])
    lines += ["", f"Wrapper overhead (predict_proba − session.run, worst case): {worst['overhead_us']:+.0f} µs = "
              f"{worst['overhead_pct']:+.1f} % ({worst['model']}, int8 {worst['mode']}, {worst['threads']} thread(s))"]
    return lines


def _table(rows: list[dict[str, Any]], autos: list[dict[str, Any]], wrapper: list[dict[str, Any]] | None = None,
           batches: list[dict[str, Any]] | None = None) -> str:
    def f(x: Any, nd: int = 2) -> str:
        return "–" if x is None else f"{x:.{nd}f}" if isinstance(x, float) else str(x)

    lines = ["| model | variant | threads | ms b256 (min–max) | × vs torch fp32 | MACs/batch | G MAC/s | accuracy | agreement | load |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['variant']} | {r['threads']} | {r['ms_b256']:.3f} "
                     f"({r['spread_ms'][0]:.3f}–{r['spread_ms'][1]:.3f}) | {r['speedup']:.2f}× | "
                     f"{f(r['macs_per_batch'])} | {f(r['gmac_s'], 1)} | {f(r['accuracy'], 4)} | {f(r['agreement'], 4)} | "
                     f"{max(r['load_average']):.1f} |")
    lines += ["", "| model | threads | original ms (G MAC/s) | hand ms (×) | auto ms (×, G MAC/s) | auto plan | verdict | "
              "drop hand / auto (pts) | agreement hand / auto | search s (trials s) | load |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
    for a in autos:
        steps = " + ".join(f"{k}{_brief(v)}" for s in a["plan"] for k, v in s.items()) or "(original)"
        for t, tm in a["timing"].items():
            m, g = tm["ms"], tm["gmac_s"]
            lines.append(f"| {a['model']} | {t} | {m['original']:.3f} ({f(g['original'], 1)}) | {m['hand']:.3f} "
                         f"({tm['hand_speedup']:.2f}×) | {m['auto']:.3f} ({tm['auto_speedup']:.2f}×, {f(g['auto'], 1)}) | "
                         f"{steps} | {a['verdict']} | {-a['hand_accuracy_drop_points']:+.2f} / "
                         f"{-a['auto_accuracy_drop_points']:+.2f} | {a['hand_agreement_with_original']:.4f} / "
                         f"{a['auto_agreement_with_original']:.4f} | {a['search_seconds']:.0f} ({a['trials_seconds']:.0f}) | "
                         f"{max(tm['load_average']):.1f} |")
    if not autos:
        del lines[-3:]
    lines += _wrapper_table(wrapper or [])
    lines += _batch_table(batches or [])
    own = [r for r in rows if ", own threads" in r["variant"] and r["variant"].startswith("predict_proba: ")
           and "digits" in r["model"]]
    if own:
        lines += ["", "Headline (digits, batch 256, predict_proba on both sides, torch fp32 at 2 threads, int8 with "
                  "the threads it chose, ≤ 2): " + "; ".join(f"{r['variant'].split(': ', 1)[1]} {r['speedup']:.2f}× "
                                                         f"({r['ms_b256']:.3f} ms)" for r in own)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--repeats", type=int, default=None, help="timings per setting (default 3; quick 1)")
    ap.add_argument("--reps", type=int, default=None, help="rounds per timing (default 200; quick 10)")
    ap.add_argument("--no-auto", action="store_true", help="skip the --auto searches")
    ap.add_argument("--name", default="compression_int8", help="results file name (benchmarks/results/NAME.json/.md)")
    ap.add_argument("--no-int8", action="store_true", help="skip the static/dynamic int8 tables")
    ap.add_argument("--only", default=",".join(MODELS), help=f"comma-separated models of {', '.join(MODELS)}")
    ap.add_argument("--settle", type=int, default=0,
                    help="untimed calls of the same model before each timed one (0: each timed "
                         "call follows a random other model's; 1: each model timed as a loop of its own calls keeps it)")
    ap.add_argument("--omp-wait-policy", default="PASSIVE", choices=("PASSIVE", "ACTIVE", "default"),
                    help="OMP_WAIT_POLICY for torch (set before torch is imported; see the module docstring)")
    args = ap.parse_args(argv)
    if args.omp_wait_policy != "default" and "torch" not in sys.modules:
        os.environ.setdefault("OMP_WAIT_POLICY", args.omp_wait_policy)
    only = tuple(x.strip() for x in args.only.split(",") if x.strip())

    import torch

    import leanlens as lc

    torch.set_num_threads(1)
    quick = args.quick
    repeats, reps = args.repeats or (1 if quick else 3), args.reps or (10 if quick else 200)
    print(machine_line(), "load", os.getloadavg(), flush=True)
    t_start = time.perf_counter()
    rows: list[dict[str, Any]] = []
    autos: list[dict[str, Any]] = []
    wrapper: list[dict[str, Any]] = []
    batches: list[dict[str, Any]] = []
    for name, ds, model in _models(lc, quick, only):
        if not args.no_int8:
            more, wrap, by_batch = _int8_rows(lc, name, ds, model, quick=quick, repeats=repeats, reps=reps,
                                              settle=args.settle)
            rows += more
            wrapper += wrap
            batches += by_batch
            print(f"  {name}: int8 rows done [{time.perf_counter() - t_start:.0f} s]", flush=True)
        if not args.no_auto and "MLP" in name:
            autos.append(_auto_rows(lc, name, ds, model, quick=quick, reps=reps, repeats=repeats, settle=args.settle))
            print(f"  {name}: auto done [{time.perf_counter() - t_start:.0f} s]: {autos[-1]['message']}", flush=True)
    load = os.getloadavg()
    cpu = sum(os.times()[:4])
    settled = f"; each timed call after {args.settle} untimed call(s) of the same model" if args.settle else ""
    table = "\n".join([f"# int8 and --auto benchmark ({'quick' if quick else 'full'} mode{settled})", "",
                       machine_line() + f"; load average at the end {load[0]:.1f} (2 cores); CPU {cpu:.1f} s user+sys "
                       f"in {time.perf_counter() - t_start:.0f} s wall", "", _table(rows, autos, wrapper, batches)])
    payload = {"benchmark": "compression_int8", "mode": "quick" if quick else "full", "machine": machine_info(),
               "load_average_end": load, "repeats": repeats, "reps": reps, "settle": args.settle, "rows": rows, "auto": autos, "wrapper": wrapper,
               "batches": batches, "cpu_seconds": cpu,
               "seconds": time.perf_counter() - t_start, "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "default"),
               "command": "python benchmarks/compression_int8.py " + " ".join(sys.argv[1:] if argv is None else argv)}
    write_results(args.name, payload, table, out=args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
