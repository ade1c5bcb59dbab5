"""Benchmark: does compare() read the controls right, do explainers find the true reasons, what does evaluate() cost?

1. Controls on the additive synthetic data (independent ρ=0 and correlated ρ=0.5), one MLP
   (32, 32) trained per seed:
   - negative control: 10 % unstructured L1 pruning + 2 epochs of fine-tuning
     (``leanlens.compress``) → must read ``same-reasons``;
   - positive control A: the first layer's input weights of x1 or x2 (by seed) set to
     zero → must read ``changed``; on the first 4 seeds also x4 (which these small MLPs
     barely use: 3–7 % of the importance), reported but not a target;
   - positive control B: 80 % unstructured pruning without fine-tuning → must read ``changed``.
   ``compare(..., explainers=["kernel"])`` on 40 test rows, 10 background rows,
   KernelSHAP budget 128 coalitions per row, 200 bootstrap resamples; the first 4 seeds of
   the independent variant again with ``["kernel", "ig"]`` (IG costs more on this shared
   machine, so it gets fewer seeds).
2. Ground truth: a regression MLP (64, 64) on each variant; exact Shapley, KernelSHAP and
   IG on 50 test rows (64 background rows) against the closed-form Shapley values (feature
   agreement at k=3, per row and on global importance; rank correlation; mass on unused
   features), beside the exact Shapley values of f itself on the same background (the
   ceiling a finite background allows).
3. Cost: the full metric suite (``evaluate(..., "all")``) on 200 rows of a digits MLP,
   for an IG and a KernelSHAP explanation.

Usage: ``python benchmarks/drift.py [--quick] [--out DIR]`` (torch and the explainers run
on 2 threads).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_info, machine_line, write_results

EXPLAINERS = ("kernel", "ig")


def _controls(variant: str, rho: float, seeds: list[int], quick: bool, n_both: int) -> dict[str, Any]:
    """Every seed: a fresh model and its three controls, compared with KernelSHAP; the first
    ``n_both`` seeds are compared again with KernelSHAP and IG together."""
    import leanlens
    from leanlens.compare import CompareConfig
    from leanlens.compress import Finetune, Prune

    cfg = CompareConfig(n_rows=40, n_background=10, budget=128, n_bootstrap=200)
    runs: list[dict[str, Any]] = []
    for s in seeds:
        t0 = time.perf_counter()
        ds = leanlens.datasets.synthetic("additive", n=1000 if quick else 1200, correlation=rho, random_state=s)
        model = leanlens.train(ds, leanlens.TrainConfig(hidden=(32, 32), epochs=8 if quick else 12, dropout=0.0,
                                                        batch_size=128, lr=3e-3, random_state=s))
        negative = leanlens.compress(model, [Prune(kind="unstructured", amount=0.1, criterion="l1"), Finetune(epochs=2)],
                                     data=ds, latency_reps=0, random_state=s).model
        feature = (0, 1)[s % 2]
        damaged, weak = _zero_inputs(model, feature), _zero_inputs(model, 3)
        heavy = leanlens.compress(model, [Prune(kind="unstructured", amount=0.8, criterion="l1")], data=ds,
                                  latency_reps=0, random_state=s).model
        explainer_sets = [("kernel",), EXPLAINERS] if s < n_both else [("kernel",)]
        if quick:  # one compare per control, both explainers: enough to keep the script from rotting
            explainer_sets = [EXPLAINERS]
        controls = [("negative: prune 10% + fine-tune", "same-reasons", negative),
                    ("positive: zero the inputs of x1 or x2", "changed", damaged),
                    ("positive: prune 80%, no fine-tune", "changed", heavy)]
        if s < n_both and not quick:
            controls.append(("extra: zero the inputs of x4 (weakly used; not a target)", "changed", weak))
        for control, expected, other in controls:
            for methods in explainer_sets:
                rep = leanlens.compare(model, other, ds, explainers=list(methods), config=cfg, random_state=s)
                runs.append({
                    "variant": variant, "seed": s, "control": control, "explainers": "+".join(methods),
                    "damaged_feature": ds.feature_names[feature] if "x1 or x2" in control else None,
                    "expected": expected, "verdict": rep.verdict, "correct": rep.verdict == expected,
                    "flip_rate": rep.decision["flip_rate"], "accuracy": model.metadata["metrics"]["test_accuracy"],
                    **{f"{m}_status": rep.explainers[m]["status"] for m in methods},
                    **{f"{m}_ratio": rep.explainers[m]["ratio"]["value"] for m in methods},
                    **{f"{m}_ratio_ci": [rep.explainers[m]["ratio"]["lo"], rep.explainers[m]["ratio"]["hi"]] for m in methods},
                    **{f"{m}_drift": rep.explainers[m]["drift"]["value"] for m in methods},
                    **{f"{m}_noise": rep.explainers[m]["noise_floor"]["value"] for m in methods},
                    **{f"{m}_share": {k: rep.explainers[m]["share"][k] for k in ("feature", "share_original",
                                                                                 "share_compressed", "z", "threshold")}
                       for m in methods},
                })
        print(f"  {variant} seed {s}: " + ", ".join(f"{r['verdict']}" for r in runs if r["seed"] == s
                                                   and r["variant"] == variant)
              + f" ({time.perf_counter() - t0:.1f} s)", flush=True)
    return {"config": cfg.to_dict(), "runs": runs}


def _zero_inputs(model: Any, feature: int) -> Any:
    """A copy of ``model`` whose first Linear layer no longer sees ``feature``."""
    import torch

    damaged = model.copy()
    with torch.no_grad():
        first = next(m for m in damaged.module.body if isinstance(m, torch.nn.Linear))
        first.weight[:, feature] = 0.0
    return damaged


def _ground_truth(variant: str, rho: float, quick: bool) -> list[dict[str, Any]]:
    import leanlens
    from leanlens.explain import explain

    # The explainers are scored against the Shapley values of f, so the model must be close to f:
    # with 5,000 rows and a (64, 64) MLP (test R² 0.978) exact Shapley of the model reaches only
    # 0.81 per-row top-3 agreement; with 20,000 rows and (128, 128) (R² 0.996) it reaches 0.95.
    ds = leanlens.datasets.synthetic("additive", n=1500 if quick else 20000, correlation=rho, task="regression",
                                     random_state=0)
    model = leanlens.train(ds, leanlens.TrainConfig(hidden=(64, 64) if quick else (128, 128), epochs=8 if quick else 30,
                                                    dropout=0.0, batch_size=128, lr=3e-3, random_state=0))
    X = ds.X_test[: 10 if quick else 50]
    bg = ds.X_train[: 8 if quick else 64]
    # Reference: exact Shapley values of f itself against the same finite background. The
    # closed form is taken against the population, so even f scores below 1 per row (near-ties).
    f = leanlens.as_model(lambda Z: ds.ground_truth.function(Z), n_features=ds.n_features)
    out = []
    for method, budget, explained in (("exact (of f itself)", None, f), ("exact", None, model),
                                      ("kernel", 256, model), ("ig", None, model)):
        e = explain(explained, X, method=method.split()[0], background=bg, budget=budget, target=0, random_state=0)
        res = {r.name: r for r in leanlens.evaluate(explained, X, e, "ground_truth", ground_truth=ds.ground_truth,
                                                 random_state=0)}
        out.append({
            "variant": variant, "method": method, "rows": len(X), "background": len(bg),
            "model_r2": model.metadata["metrics"]["test_r2"],
            "feature_agreement_k3": res["gt_feature_agreement"].value,
            "global_feature_agreement_k3": res["gt_feature_agreement"].details["global"],
            "rank_agreement_k3": res["gt_rank_agreement"].value,
            "sign_agreement_k3": res["gt_sign_agreement"].value,
            "rank_correlation": res["gt_rank_correlation"].value,
            "irrelevant_mass": res["gt_irrelevant_mass"].value,
            "explain_seconds": e.seconds,
        })
        print(f"  ground truth {variant} {method}: FA@3 {out[-1]['feature_agreement_k3']:.3f} "
              f"(global {out[-1]['global_feature_agreement_k3']:.2f})", flush=True)
    return out


def _suite_cost(quick: bool) -> list[dict[str, Any]]:
    import leanlens
    from leanlens.explain import explain

    ds = leanlens.datasets.load("digits", random_state=0)
    model = leanlens.train(ds, leanlens.TrainConfig(hidden=(64,) if quick else (256, 256), epochs=3 if quick else 10,
                                                    random_state=0))
    n = 10 if quick else 200  # quick: the metric suite on 10 rows shows it runs (~15 s of CPU on 20)
    X = ds.X_test[:n]
    bg = ds.X_train[:20]
    out = []
    for method, budget in (("ig", None), ("kernel", 256)):
        e = explain(model, X, method=method, background=bg, budget=budget, target="predicted", random_state=0)
        t0 = time.perf_counter()
        res = leanlens.evaluate(model, X, e, "all", background=bg, random_state=0)
        secs = time.perf_counter() - t0
        out.append({
            "method": method, "rows": n, "suite_seconds": secs, "explain_seconds": e.seconds,
            "metrics_run": sum(r.ok for r in res), "metrics_skipped": {r.name: r.skipped for r in res if not r.ok},
            "per_metric_seconds": {r.name: round(r.seconds, 3) for r in res},
            "values": {r.name: r.value for r in res},
        })
        print(f"  suite on {n} digits rows with {method}: {secs:.1f} s (explanation {e.seconds:.1f} s)", flush=True)
    return out


def _table(controls: list[dict[str, Any]], gt: list[dict[str, Any]], cost: list[dict[str, Any]]) -> str:
    lines = ["### Controls (verdict correct / seeds)", "",
             "| variant | control | explainers | correct | kernel same/unclear/changed | ig same/unclear/changed "
             "| median drift ratio (kernel) |",
             "|---|---|---|---|---|---|---|"]
    keys: list[tuple[str, str, str]] = []
    for r in controls:
        if (r["variant"], r["control"], r["explainers"]) not in keys:
            keys.append((r["variant"], r["control"], r["explainers"]))
    for variant, control, methods in keys:
        sel = [r for r in controls if (r["variant"], r["control"], r["explainers"]) == (variant, control, methods)]
        counts = {m: "/".join(str(sum(r.get(f"{m}_status") == s for r in sel)) for s in ("same", "unclear", "changed"))
                  if f"{m}_status" in sel[0] else "–" for m in EXPLAINERS}
        med = np.median([r["kernel_ratio"] for r in sel])
        lines.append(f"| {variant} | {control} | {methods} | {sum(r['correct'] for r in sel)}/{len(sel)} "
                     f"| {counts['kernel']} | {counts['ig']} | {med:.2f} |")
    lines += ["", "### Agreement with the closed-form Shapley values (regression MLP, k = 3)", "",
              "| variant | method | feature agreement (per row) | global feature agreement | rank corr. | mass on unused features |",
              "|---|---|---|---|---|---|"]
    for g in gt:
        lines.append(f"| {g['variant']} | {g['method']} | {g['feature_agreement_k3']:.3f} | "
                     f"{g['global_feature_agreement_k3']:.2f} | {g['rank_correlation']:.3f} | {g['irrelevant_mass']:.3f} |")
    lines += ["", "### Full metric suite cost (digits MLP 256-256)", "",
              "| explanation | rows | suite seconds | explanation seconds | metrics run |", "|---|---|---|---|---|"]
    for c in cost:
        lines.append(f"| {c['method']} | {c['rows']} | {c['suite_seconds']:.1f} | {c['explain_seconds']:.1f} | {c['metrics_run']} |")
    first = controls[0]["explainers"] if controls else "kernel"  # "kernel" (full) or "kernel+ig" (quick)
    neg = [r for r in controls if r["expected"] == "same-reasons" and r["explainers"] == first]
    pos = [r for r in controls if r["expected"] == "changed" and r["explainers"] == first
           and not r["control"].startswith("extra")]
    lines += ["", f"**Headline ({first}, all variants):** negative controls read same-reasons in {sum(r['correct'] for r in neg)}/{len(neg)} "
              f"runs ({100 * np.mean([r['correct'] for r in neg]):.0f} %), positive controls read changed in "
              f"{sum(r['correct'] for r in pos)}/{len(pos)} ({100 * np.mean([r['correct'] for r in pos]):.0f} %)."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 seed, one variant, small models.")
    parser.add_argument("--out", type=Path, default=None, help="Folder of drift.json / drift.md (default benchmarks/results).")
    parser.add_argument("--seeds", type=int, default=None,
                        help="Seeds of each variant (default 20, 1 with --quick).")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(2)
    warnings.filterwarnings("ignore")
    start = time.perf_counter()
    print(machine_line(), flush=True)
    n_seeds = args.seeds or (1 if args.quick else 20)
    variants = [("independent", 0.0, n_seeds)] if args.quick else [
        ("independent", 0.0, n_seeds), ("correlated ρ=0.5", 0.5, n_seeds)]
    controls: list[dict[str, Any]] = []
    cfg: dict[str, Any] = {}
    for i, (name, rho, seeds) in enumerate(variants):
        n_both = (1 if args.quick else 4) if i == 0 else 0
        res = _controls(name, rho, list(range(seeds)), args.quick, n_both)
        controls += res["runs"]
        cfg = res["config"]
    gt: list[dict[str, Any]] = []
    for name, rho, _ in variants:
        gt += _ground_truth(name, rho, args.quick)
    cost = _suite_cost(args.quick)
    table = _table(controls, gt, cost)
    table = f"{machine_line()}\n\n{table}\n\nCommand: `python benchmarks/drift.py{' --quick' if args.quick else ''}` " \
            f"({time.perf_counter() - start:.0f} s, 2 torch threads)"
    payload = {
        "benchmark": "drift", "quick": args.quick, "machine": machine_info(),
        "seeds": {name: list(range(seeds)) for name, _, seeds in variants},
        "compare_config": cfg, "explainers": list(EXPLAINERS), "controls": controls, "ground_truth": gt,
        "suite_cost": cost, "seconds": time.perf_counter() - start,
    }
    return write_results("drift", payload, table, out=args.out)


if __name__ == "__main__":
    main()
