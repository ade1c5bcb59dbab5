"""Labelled benchmark of compare()'s verdict: pairs whose answer is known, per explainer.

Pair types (the compressed side of ``compare(original, other, data)``):

- same: ``int8`` (dynamic int8, ONNX Runtime); ``prune30-ft`` (structured 30 % + 5 epochs of
  fine-tuning); ``heldout-twin`` (the recipe retrained with a seed the twins did not use);
  ``distilled`` (an MLP student with ≥ 25 % of the parameters);
- changed, decisions agree: ``proxy`` (the recipe trained with the key feature shuffled and its
  noisy copy intact, so the model relies on the copy); ``zeroed-ft`` (the key feature's input
  weights zeroed, then fine-tuned back to accuracy with them held at zero);
- changed, decisions flip: ``prune80`` (structured 80 % without fine-tuning).

Data: the synthetic additive set (x1 is the key feature, x12 = x1 + 0.1ε its proxy) and two
bundled sets, breast_cancer and wine, to which a noisy copy (+0.1 sd) of the most
class-separating feature (ANOVA F) is appended. Every original is an MLP (32, 32).

The original, its twins and every "same" pair are trained on the data with the *copy* shuffled
in the training and validation splits (``without_copy``): they rely on the key feature, not on
its copy, so the proxy model's switch to the copy is a move of reliance. (Until session 3 the
original saw both; it then split its reliance between key and copy — by occlusion the copy held
about as much as the key — and on wine the proxy model's key lost no more reliance than a
retrained twin's did: not a change by the issue's definition.) The rows compared come from the
untouched test split, where the copy still tracks the key, so decisions agree.

Every changed-with-agreement pair is also measured without the explainers under test
(``reliance``): the key's and the copy's share of occlusion reliance (mean |Δ output| of the
original's predicted class when the feature takes the background rows' values) in the original,
the pair and the twins. A pair is a *measured change* when the key's or the copy's share moved
by more than every twin's did; the table reports the class over all pairs and over those.

Cost: per (data set, seed) the original, its 3 twins and the seven pair models are trained
once; compare() caches twins and memoizes explanations, so the original's and the twins'
explanations are computed once per explainer and shared by the seven pairs.

Run: ``PYTHONPATH=src python benchmarks/verdict.py [--quick] [--seeds 10] [--first-seed 10]``;
``--part cost``: the time of ``compare()`` with 3 retrained twins on the digits MLP (256, 256), 100
rows, KernelSHAP and IG (wall and CPU seconds; run it at normal priority on a quiet machine).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_info, machine_line, write_results

EXPECTED = {"int8": "same-reasons", "prune30-ft": "same-reasons", "heldout-twin": "same-reasons",
            "distilled": "same-reasons", "proxy": "changed", "zeroed-ft": "changed", "prune80": "changed"}
CLASS = {"int8": "same", "prune30-ft": "same", "heldout-twin": "same", "distilled": "same",
         "proxy": "changed (agree)", "zeroed-ft": "changed (agree)", "prune80": "changed (flips)"}
EXPLAINERS = ("kernel", "permutation", "ig")
EPOCHS = {"additive": 30, "breast_cancer": 60, "wine": 120}


def load(name: str) -> tuple[Any, int, int]:
    """(dataset, key feature index, proxy feature index)."""
    import leanlens
    from leanlens.data.readers import from_numpy

    if name == "additive":
        ds = leanlens.datasets.synthetic("additive", n=2000, random_state=0)
        return ds, 0, 11
    base = leanlens.datasets.load(name, random_state=0)
    X = np.concatenate([base.X_train, base.X_val, base.X_test]).astype(np.float64)
    y = np.concatenate([base.y_train, base.y_val, base.y_test])
    from sklearn.feature_selection import f_classif

    key = int(np.nanargmax(f_classif(X, y)[0]))
    rng = np.random.default_rng(0)
    copy = X[:, key] + 0.1 * X[:, key].std() * rng.normal(size=len(X))
    Xa = np.column_stack([X, copy]).astype(np.float32)
    names = (*base.feature_names, f"{base.feature_names[key]} (noisy copy)")
    ds = from_numpy(Xa, y, feature_names=names, target_names=base.target_names, random_state=0, name=f"{name}+copy")
    return ds, key, Xa.shape[1] - 1


def recipe(name: str, seed: int) -> Any:
    import leanlens

    return leanlens.TrainConfig(hidden=(32, 32), epochs=EPOCHS[name], dropout=0.0, random_state=seed)


def without_copy(ds: Any, copy: int, seed: int) -> Any:
    """The data the original and its twins learn from: the copy permuted in training and validation."""
    return shuffled(ds, copy, seed + 104729)


def occlusion_shares(model: Any, X: np.ndarray, bg: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Each feature's share of occlusion reliance: mean |f_t(x) − f_t(x with feature j from a
    background row)| over rows and background rows, normalized to sum 1 (no explainer involved)."""
    n, d = X.shape
    base = model.output(X)[np.arange(n), targets]
    rel = np.zeros(d)
    tt = np.repeat(targets, len(bg))
    for j in range(d):
        Z = np.repeat(X, len(bg), axis=0)
        Z[:, j] = np.tile(bg[:, j], n)
        f = model.output(Z)[np.arange(len(Z)), tt].reshape(n, len(bg))
        rel[j] = np.abs(base[:, None] - f).mean()
    return rel / max(float(rel.sum()), 1e-12)


def reliance(original: Any, pair: Any, twins: list[Any], ds: Any, key: int, copy: int, seed: int) -> dict[str, Any]:
    """Did reliance on the key (or its copy) move beyond the twins', measured by occlusion?"""
    from leanlens.explain.base import resolve_targets

    rng = np.random.default_rng(seed)
    X = ds.X_test[np.sort(rng.choice(len(ds.X_test), min(100, len(ds.X_test)), replace=False))]
    bg = ds.X_train[np.sort(rng.choice(len(ds.X_train), min(50, len(ds.X_train)), replace=False))]
    t = resolve_targets(original, X, "predicted")
    so, sp = occlusion_shares(original, X, bg, t), occlusion_shares(pair, X, bg, t)
    st = [occlusion_shares(m, X, bg, t) for m in twins]
    out: dict[str, Any] = {}
    beyond = False
    for label, j in (("key", key), ("copy", copy)):
        move, twin_max = abs(sp[j] - so[j]), max(abs(s[j] - so[j]) for s in st)
        beyond |= bool(move > twin_max)
        out[label] = {"original": float(so[j]), "pair": float(sp[j]), "twins": [float(s[j]) for s in st],
                      "move": float(move), "twins_max_move": float(twin_max)}
    out["measured_change"] = beyond
    return out


def shuffled(ds: Any, key: int, seed: int) -> Any:
    """The data with column ``key`` permuted across rows in the training and validation splits."""
    rng = np.random.default_rng(seed)
    Xt, Xv = ds.X_train.copy(), ds.X_val.copy()
    Xt[:, key] = Xt[rng.permutation(len(Xt)), key]
    Xv[:, key] = Xv[rng.permutation(len(Xv)), key]
    return dataclasses.replace(ds, X_train=Xt, X_val=Xv)


def zeroed_finetuned(model: Any, ds: Any, key: int, seed: int, epochs: int) -> Any:
    """Zero the key feature's input weights, then fine-tune with them held at zero."""
    import torch

    from leanlens.compress.finetune import task_loss
    from leanlens.models.trainer import TrainConfig, fit_module

    m = model.copy()
    first = next(x for x in m.module.body if isinstance(x, torch.nn.Linear))
    with torch.no_grad():
        first.weight[:, key] = 0.0
    mask = torch.ones_like(first.weight)
    mask[:, key] = 0.0
    handle = first.weight.register_hook(lambda g: g * mask)
    fit_module(m.module, task_loss(m), ds.X_train, ds.y_train, ds.X_val, ds.y_val,
               TrainConfig(epochs=epochs, lr=1e-3, random_state=seed))
    handle.remove()
    m.module.eval()
    return m


def pair_models(name: str, ds: Any, original: Any, key: int, seed: int, avoid: list[int],
                only: tuple[str, ...], full: Any = None) -> dict[str, Any]:
    """The pair models; ``ds`` is the original's data (copy shuffled), ``full`` the data with the
    copy intact (the proxy model learns from it with the key shuffled; the zeroed model is
    fine-tuned on it)."""
    import leanlens

    out: dict[str, Any] = {}
    if "int8" in only:
        out["int8"] = leanlens.compress(original, [{"quantize": {"dtype": "int8", "mode": "dynamic"}}], data=ds, random_state=seed,
                                        latency_reps=0).model
    if "prune30-ft" in only:
        out["prune30-ft"] = leanlens.compress(original, [{"prune": {"kind": "structured", "amount": 0.3}},
                                                         {"finetune": {"epochs": 5}}],
                                              data=ds, random_state=seed, latency_reps=0).model
    if "heldout-twin" in only:
        held = seed + 7919
        while held in avoid:
            held += 1
        out["heldout-twin"] = leanlens.train(ds, recipe(name, held))
    if "distilled" in only:
        out["distilled"] = leanlens.compress(original, [{"distill": {"student": "mlp", "hidden": [20, 20],
                                                                     "epochs": EPOCHS[name]}}],
                                             data=ds, random_state=seed, latency_reps=0).model
    if "proxy" in only:
        out["proxy"] = leanlens.train(shuffled(ds if full is None else full, key, seed), recipe(name, seed))
    if "zeroed-ft" in only:
        # fine-tuned on the data with the copy intact, so reliance can move to it (on additive no other
        # feature carries x1: fine-tuned without the copy, decisions agreed on only 70 % of rows)
        out["zeroed-ft"] = zeroed_finetuned(original, ds if full is None else full, key, seed,
                                            epochs=max(5, EPOCHS[name] // 3))
    if "prune80" in only:
        out["prune80"] = leanlens.compress(original, [{"prune": {"kind": "structured", "amount": 0.8}}],
                                           data=ds, random_state=seed, latency_reps=0).model
    return out


def n_params(m: Any) -> int | None:
    module = getattr(m, "module", None)
    return None if module is None else int(sum(p.numel() for p in module.parameters()))


def run_seed(name: str, ds: Any, key: int, proxy: int, seed: int, cfg: Any, explainers: tuple[str, ...],
             pairs: tuple[str, ...], twins_n: int) -> list[dict[str, Any]]:
    import leanlens
    from leanlens.compare import compare, make_twins
    from leanlens.errors import UnsupportedModelError

    t0 = time.perf_counter()
    full, ds = ds, without_copy(ds, proxy, seed)
    original = leanlens.train(ds, recipe(name, seed))
    # the twins compare() will use (same draw as inside compare: cached there afterwards)
    tw_seeds = _twin_seeds(original, ds, seed, cfg, twins_n)
    models = pair_models(name, ds, original, key, seed, tw_seeds, pairs, full=full)
    twins = make_twins(original, ds, twins_n, cfg, _twin_rng(seed)).models
    t_models = time.perf_counter() - t0
    rows = []
    p_orig = n_params(original)
    rel = {p: reliance(original, m, twins, ds, key, proxy, seed) for p, m in models.items()
           if CLASS[p] == "changed (agree)"}
    for pair, m in models.items():
        for method in explainers:
            t1, c1 = time.perf_counter(), time.process_time()
            try:
                r = compare(original, m, ds, [method], twins=twins_n, random_state=seed, config=cfg)
            except UnsupportedModelError:
                rows.append({"data": name, "seed": seed, "pair": pair, "explainer": method, "verdict": "n/a"})
                continue
            e = r.explainers[method]
            rows.append({
                "data": name, "seed": seed, "pair": pair, "explainer": method, "verdict": r.verdict,
                "expected": EXPECTED[pair], "ratio": e["ratio"], "distance": e["distance"]["value"],
                "twin_distances": e["twin_distances"], "estimator_noise": e["estimator_noise"],
                "seed_noise": e["seed_noise"], "budget": e["budget"], "budgets": [h["budget"] for h in e["budget_history"]],
                "share": {k: e["share"][k] for k in ("feature", "move", "factor", "z", "threshold", "z_ratio",
                                                    "twin_shares", "flagged")},
                "share_feature_is_key": e["share"]["feature"] in (key, proxy),
                "decision_agreement": r.decision["agreement"], "status": e["status"], "unresolved": e["unresolved"],
                "param_share": (None if n_params(m) is None or not p_orig else n_params(m) / p_orig),
                "seconds": round(time.perf_counter() - t1, 3), "cpu_seconds": round(time.process_time() - c1, 3),
                "sentence": r.sentence, "shares": e.get("shares"),
                "reliance": rel.get(pair),
            })
            print(f"    {pair:13s} {method:12s} {r.verdict:13s} R {e['ratio']['value']:.2f} "
                  f"[{e['ratio']['lo']:.2f}, {e['ratio']['hi']:.2f}] share z {e['share']['z']:.1f}/"
                  f"{e['share']['threshold']:.1f} budgets {rows[-1]['budgets']} {rows[-1]['seconds']:.1f} s",
                  flush=True)
    print(f"  {name} seed {seed}: models {t_models:.1f} s, compare {time.perf_counter() - t0 - t_models:.1f} s "
          f"({os.getloadavg()[0]:.1f} load)", flush=True)
    return rows


def _twin_rng(seed: int) -> np.random.Generator:
    """The generator compare(random_state=seed) draws its twins' seeds from."""
    rng = np.random.default_rng(seed)
    rng.integers(0, 2**31 - 2)
    rng.integers(0, 2**31 - 2)
    return np.random.default_rng(rng.integers(0, 2**31 - 2))


def _twin_seeds(original: Any, ds: Any, seed: int, cfg: Any, n: int) -> list[int]:
    """The seeds compare(random_state=seed) draws for its twins (to keep the held-out twin out)."""
    twin_rng = _twin_rng(seed)
    seeds: list[int] = []
    while len(seeds) < n:
        s = int(twin_rng.integers(0, 2**31 - 1))
        if s != seed and s not in seeds:
            seeds.append(s)
    return seeds


def confusion(rows: list[dict[str, Any]], explainer: str) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for r in rows:
        if r["explainer"] != explainer or r["verdict"] == "n/a":
            continue
        c = out.setdefault(CLASS[r["pair"]], Counter())  # type: ignore[arg-type]
        c[r["verdict"]] += 1
    return {k: dict(v) for k, v in out.items()}


def table(rows: list[dict[str, Any]], explainers: tuple[str, ...]) -> tuple[str, dict[str, Any]]:
    lines = ["| explainer | class | same-reasons | changed | inconclusive | correct |", "|---|---|---|---|---|---|"]
    summary: dict[str, Any] = {}
    for m in explainers:
        conf = confusion(rows, m)
        summary[m] = {"confusion": conf}
        for cls in ("same", "changed (agree)", "changed (flips)"):
            c = conf.get(cls, {})
            n = sum(c.values())
            want = "same-reasons" if cls == "same" else "changed"
            ok = c.get(want, 0) / n if n else float("nan")
            summary[m][cls] = ok
            lines.append(f"| {m} | {cls} | {c.get('same-reasons', 0)} | {c.get('changed', 0)} | "
                         f"{c.get('inconclusive', 0)} | {ok:.0%} ({c.get(want, 0)}/{n}) |")
        measured = [r for r in rows if r["explainer"] == m and r.get("reliance") and r["reliance"]["measured_change"]]
        if measured:
            ok_m = sum(r["verdict"] == "changed" for r in measured)
            summary[m]["changed (agree), measured"] = ok_m / len(measured)
            lines.append(f"| {m} | changed (agree), measured change only | "
                         f"{sum(r['verdict'] == 'same-reasons' for r in measured)} | {ok_m} | "
                         f"{sum(r['verdict'] == 'inconclusive' for r in measured)} | "
                         f"{ok_m / len(measured):.0%} ({ok_m}/{len(measured)}) |")
        mine = [r for r in rows if r["explainer"] == m and r["verdict"] != "n/a"]
        held = [r for r in mine if r["pair"] == "heldout-twin"]
        summary[m]["heldout_changed"] = (sum(r["verdict"] == "changed" for r in held) / len(held)) if held else None
        summary[m]["inconclusive"] = (sum(r["verdict"] == "inconclusive" for r in mine) / len(mine)) if mine else None
    lines.append("")
    lines.append("| explainer | held-out twins read changed | inconclusive (all pairs) |")
    lines.append("|---|---|---|")
    for m in explainers:
        s = summary[m]
        hc, inc = s["heldout_changed"], s["inconclusive"]
        lines.append(f"| {m} | {'–' if hc is None else f'{hc:.0%}'} | {'–' if inc is None else f'{inc:.0%}'} |")
    agree = [r["decision_agreement"] for r in rows if r["pair"] in ("proxy", "zeroed-ft") and "decision_agreement" in r]
    if agree:
        lines.append("")
        lines.append(f"changed-with-agreement pairs: decision agreement median {np.median(agree):.3f}, "
                     f"≥ 0.95 in {np.mean(np.array(agree) >= 0.95):.0%} of them")
    rel = {(r["data"], r["seed"], r["pair"]): r["reliance"] for r in rows if r.get("reliance")}
    if rel:
        lines.append("changed-with-agreement pairs whose key or copy moved beyond every twin's occlusion reliance "
                     f"(a measured change): {sum(v['measured_change'] for v in rel.values())} of {len(rel)} "
                     f"(proxy {sum(v['measured_change'] for k, v in rel.items() if k[2] == 'proxy')} of "
                     f"{sum(k[2] == 'proxy' for k in rel)})")
    ps = [r["param_share"] for r in rows if r["pair"] == "distilled" and r.get("param_share")]
    if ps:
        lines.append(f"distilled students hold {min(ps):.0%} of the original's parameters")
    return "\n".join(lines), summary


def cost(methods: tuple[str, ...], out: Path | None, threads: int) -> None:
    """Issue 9's cost target: compare() with 3 retrained twins on the digits MLP (256, 256), 100 rows,
    50 background rows, CompareConfig defaults, per explainer; wall and CPU seconds of compare() only
    (the original and the compressed model are trained first, outside the timing)."""
    import leanlens
    from leanlens.compare import CompareConfig, compare
    from leanlens.compare.estimate import clear_memo
    from leanlens.compare.twins import clear_cache

    ds = leanlens.datasets.load("digits", random_state=0)
    orig = leanlens.train(ds, leanlens.TrainConfig(hidden=(256, 256), random_state=0))
    comp = leanlens.compress(orig, [{"prune": {"kind": "structured", "amount": 0.5}}, {"finetune": {"epochs": 3}}],
                             data=ds, random_state=0, latency_reps=0).model
    results = []
    for method in methods:
        clear_memo()
        clear_cache()  # every explainer's figure includes training its 3 twins
        load0 = os.getloadavg()[0]
        c0, p0 = time.perf_counter(), time.process_time()
        r = compare(orig, comp, ds, [method], twins=3, random_state=0, config=CompareConfig())
        wall, cpu = time.perf_counter() - c0, time.process_time() - p0
        e = r.explainers[method]
        results.append({"method": method, "wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
                        "twins_s": r.twins["seconds"], "verdict": r.verdict,
                        "budgets": [h["budget"] for h in e["budget_history"]], "players": len(e["players"]),
                        "ratio": e["ratio"], "estimator_noise": e["estimator_noise"],
                        "twin_distance": e["yardstick"]["value"], "load": [load0, os.getloadavg()[0]],
                        "sentence": r.sentence})
        print(json.dumps(results[-1]), flush=True)
    target = {"ig": 30.0, "kernel": 90.0}
    lines = [f"{machine_line()}; torch {threads} thread(s)", "",
             "| explainer | players | budgets | verdict | ratio (interval) | compare() wall s | CPU s | twins s | target | load |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for x in results:
        rr = x["ratio"]
        lines.append(f"| {x['method']} | {x['players']} | {' → '.join(map(str, x['budgets']))} | {x['verdict']} | "
                     f"{rr['value']:.2f} ({rr['lo']:.2f}–{rr['hi']:.2f}) | {x['wall_s']} | {x['cpu_s']} | "
                     f"{x['twins_s']:.1f} | ≤ {target.get(x['method'], float('nan')):g} s | "
                     f"{x['load'][0]:.1f}–{x['load'][1]:.1f} |")
    write_results("verdict_cost", {"machine": machine_info(), "threads": threads, "results": results},
                  "\n".join(lines), out=out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1 data set, 1 seed, 3 pairs, 2 explainers")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=0, help="run seeds first-seed … first-seed + seeds − 1")
    ap.add_argument("--data", default="additive,breast_cancer,wine")
    ap.add_argument("--explainers", default=",".join(EXPLAINERS))
    ap.add_argument("--pairs", default=",".join(EXPECTED), help="pair types to run (default: all seven)")
    ap.add_argument("--rows", type=int, default=100)
    ap.add_argument("--background", type=int, default=50)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--part", choices=("labelled", "cost"), default="labelled",
                    help="labelled: the labelled pairs; cost: compare() on the digits MLP (timing: normal priority)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads")
    ap.add_argument("--twins", type=int, default=3, help="retrained twins per original (compare()'s twins=)")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    if args.part == "cost":
        explainers_ = ("ig",) if args.quick else tuple(args.explainers.split(",")) if args.explainers != ",".join(
            EXPLAINERS) else ("kernel", "ig")
        cost(explainers_, args.out, args.threads)
        return
    from leanlens.compare import CompareConfig

    datasets = ("additive",) if args.quick else tuple(x for x in args.data.split(",") if x)
    seeds = range(args.first_seed, args.first_seed + (1 if args.quick else args.seeds))
    explainers = ("kernel", "ig") if args.quick else tuple(args.explainers.split(","))
    pairs = ("heldout-twin", "proxy", "prune80") if args.quick else tuple(p for p in args.pairs.split(",") if p)
    unknown = sorted(set(pairs) - set(EXPECTED))
    if unknown:
        ap.error(f"unknown pair types {unknown}; choose from {list(EXPECTED)}")
    cfg = CompareConfig(n_rows=40 if args.quick else args.rows, n_background=10 if args.quick else args.background,
                        n_bootstrap=200, budgets={"kernel": 256, "permutation": 256} if args.quick else None)
    print(machine_line(), f"load {os.getloadavg()}", flush=True)
    start = time.perf_counter()
    rows: list[dict[str, Any]] = []
    loads = [os.getloadavg()[0]]
    done: list[tuple[str, int]] = []
    for name in datasets:
        ds, key, proxy = load(name)
        for seed in seeds:
            rows += run_seed(name, ds, key, proxy, seed, cfg, explainers, pairs, args.twins)
            loads.append(os.getloadavg()[0])
            done.append((name, seed))
            # results after every seed, so a run cut short still leaves what it measured
            _write(args, rows, explainers, datasets, seeds, pairs, cfg, loads, start, done)


def _write(args: Any, rows: list[dict[str, Any]], explainers: tuple[str, ...], datasets: tuple[str, ...],
           seeds: range, pairs: tuple[str, ...], cfg: Any, loads: list[float], start: float,
           done: list[tuple[str, int]]) -> None:
    text, summary = table(rows, explainers)
    total = time.perf_counter() - start
    text = (f"{machine_line()}; torch 1 thread; load average during the run {min(loads):.1f}–{max(loads):.1f}\n\n"
            + text + f"\n\nwall time {total:.0f} s for {len(rows)} verdicts "
            f"({len(done)} of {len(datasets) * len(seeds)} (data set, seed) runs × {len(pairs)} pairs × "
            f"{len(explainers)} explainers)")
    payload = {"machine": machine_info(), "load": loads, "config": cfg.to_dict(), "datasets": datasets,
               "seeds": list(seeds), "done": done, "pairs": pairs, "explainers": explainers, "summary": summary,
               "rows": rows, "seconds": total, "quick": args.quick, "twins": args.twins}
    write_results("verdict_quick" if args.quick else "verdict", json.loads(json.dumps(payload, default=str)), text,
                  out=args.out)


if __name__ == "__main__":
    main()
