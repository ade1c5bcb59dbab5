"""Shapley estimators (issue 11): ours against shap.KernelExplainer on the same game and budget.

Every method explains the same rows of the same model against the same background (a single
baseline row, or 50 background rows: the interventional game v_x(S) = mean_b f(x_S, b_S̄)) with
the same budget m of coalitions per explained row (the model sees m × |background| rows per
explained row). Budgets 10·d and 40·d.

Cases:
- ReLU and tanh MLPs (2 hidden layers, random weights, first layer scaled ×3 so the net is far
  from linear) at d = 12, 16 (truth: our exact enumeration) and d = 30 (no exact value: the
  reference is our KernelSHAP at budget 2^16 with a 10-row background subset… see ``_REF_BUDGET``;
  its own error is estimated and reported);
- scikit-learn GradientBoosting (log-odds) and RandomForest (P(class 1)) on breast_cancer
  (d = 30; truth: shap's interventional TreeSHAP on the same background, exact for that game);
- a digits MLP (64 pixels) with 2×2 patch groups (16 players; truth: our exact group values).
  shap sees the group game through a wrapper (16 binary inputs → pixels), one row at a time.
- held-out models, never used while tuning: other seeds and widths (reported separately).

Figures per method: median over rows of ‖φ̂ − φ‖² / ‖φ‖², its ratio to shap.KernelExplainer's,
wall time (median of ``--reps`` interleaved runs), overhead per row excluding model calls
(wall − model evaluations × measured seconds per model row), efficiency residual and the
coverage of φ̂ ± 1.96·SE. Also: throughput (1,000 rows × d = 30 × budget 2,000 with `shapley`)
and exact 2×2-patch group values for 100 digits rows. shap: ``KernelExplainer(f, bg)
.shap_values(X, nsamples=m, l1_reg=False)``. Threads: torch 2.

    python benchmarks/shapley.py            # full (quoted in the README)
    python benchmarks/shapley.py --quick    # a smoke run, well under a minute
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
import warnings
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_info, machine_line, write_results

import leanlens
from leanlens.explain.base import get_explainer
from leanlens.explain.shapley import ExactShapley, KernelShap
from leanlens.explain.shapley.groups import resolve_groups

OURS = ["shapley", "polyshap", "gp", "kernel", "leverage", "permutation"]
_REF_BUDGET = 1 << 15


def _ours() -> list[str]:
    out = []
    for name in OURS:
        try:
            get_explainer(name)
            out.append(name)
        except Exception:  # gp lands from another branch; absent → skipped and said so
            continue
    return out


def _rel_err(est: np.ndarray, truth: np.ndarray) -> np.ndarray:
    return np.sum((est - truth) ** 2, axis=1) / np.maximum(np.sum(truth**2, axis=1), 1e-300)


def _seconds_per_model_row(f: Callable[[np.ndarray], np.ndarray], X: np.ndarray) -> float:
    rows = X[np.arange(8192) % len(X)]
    f(rows)
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        f(rows)
        best = min(best, time.perf_counter() - t0)
    return best / len(rows)


class _Counted:
    """The explained output as shap sees it, counting model rows."""

    def __init__(self, model: Any) -> None:
        self.model, self.rows = model, 0

    def __call__(self, Z: np.ndarray) -> np.ndarray:
        self.rows += len(Z)
        return self.model.output(np.asarray(Z, dtype=np.float32))[:, 0]


def _shap_kernel(f: Callable[[np.ndarray], np.ndarray], bg: np.ndarray, X: np.ndarray, m: int, seed: int) -> np.ndarray:
    import shap

    np.random.seed(seed)  # noqa: NPY002 — shap's KernelExplainer samples with the global NumPy RNG (benchmark only)
    ex = shap.KernelExplainer(f, bg)
    return np.asarray(ex.shap_values(X, nsamples=m, l1_reg=False, silent=True))


def _shap_kernel_groups(model: Any, groups: list[list[int]], bg: np.ndarray, X: np.ndarray, m: int, seed: int,
                        counter: list[int]) -> np.ndarray:
    """shap.KernelExplainer on the group game: 16 inputs in [0, 1], 1 = the group from x."""
    g = len(groups)
    member = np.zeros((g, X.shape[1]), dtype=bool)
    for i, grp in enumerate(groups):
        member[i, grp] = True
    out = np.empty((len(X), g))
    for r, x in enumerate(X):
        def h(Z: np.ndarray, x: np.ndarray = x) -> np.ndarray:
            feat = (np.asarray(Z) > 0.5) @ member  # (p, d) feature from x
            inp = np.where(feat[:, None, :], x[None, None, :], bg[None, :, :]).reshape(-1, X.shape[1])
            counter[0] += len(inp)
            return model.output(inp.astype(np.float32))[:, 0].reshape(len(Z), len(bg)).mean(axis=1)
        out[r] = _shap_kernel(h, np.zeros((1, g)), np.ones((1, g)), m, seed + r)[0]
    return out


def _mlp(d: int, act: str, seed: int, width: int = 64, gain: float = 3.0) -> Any:
    import torch

    torch.manual_seed(seed)
    layer = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh}[act]
    net = torch.nn.Sequential(torch.nn.Linear(d, width), layer(), torch.nn.Linear(width, width), layer(),
                              torch.nn.Linear(width, 1))
    with torch.no_grad():
        net[0].weight.mul_(gain)
    net.eval()
    model = leanlens.as_model(net, n_features=d, task="regression")
    model.batch_size = 1 << 16
    return model


def _tree_case(kind: str, quick: bool, seed: int) -> tuple[Any, Any, np.ndarray, np.ndarray]:
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier

    ds = leanlens.datasets.load("breast_cancer", random_state=seed)
    if kind == "gbc":
        est = GradientBoostingClassifier(n_estimators=20 if quick else 100, max_depth=3, random_state=seed)
        est.fit(ds.X_train, ds.y_train)
        # explain the log-odds: TreeSHAP is exact for a sum of trees, not for its sigmoid
        model = leanlens.as_model(lambda X: est.decision_function(X), n_features=ds.X_train.shape[1],
                                  feature_names=ds.feature_names)
    else:
        est = RandomForestClassifier(n_estimators=10 if quick else 50, max_depth=6, random_state=seed, n_jobs=1)
        est.fit(ds.X_train, ds.y_train)
        model = leanlens.as_model(lambda X: est.predict_proba(X)[:, 1], n_features=ds.X_train.shape[1],
                                  feature_names=ds.feature_names)
    return est, model, ds.X_train, np.concatenate([ds.X_test, ds.X_val])


def _tree_truth(est: Any, bg: np.ndarray, X: np.ndarray) -> np.ndarray:
    import shap

    te = shap.TreeExplainer(est, data=bg.astype(np.float64), feature_perturbation="interventional", model_output="raw")
    sv = np.asarray(te.shap_values(X.astype(np.float64), check_additivity=False))
    return sv[:, :, 1] if sv.ndim == 3 else sv


def _digits_case(quick: bool, seed: int) -> tuple[Any, np.ndarray, np.ndarray]:
    ds = leanlens.datasets.load("digits", random_state=seed)
    # --quick: a smaller, shorter-trained MLP (checks the code path; the 256-256 model is the full mode's)
    cfg = leanlens.TrainConfig(hidden=(64, 64) if quick else (256, 256), dropout=0.1, epochs=1 if quick else 12,
                               batch_size=64, random_state=seed)
    model = leanlens.train(ds, cfg, progress=False)
    model.batch_size = 1 << 16
    return model, ds.X_train, ds.X_test


def run_case(name: str, model: Any, bg: np.ndarray, X: np.ndarray, truth: np.ndarray, budgets: list[int],
             seed: int, reps: int, *, groups: Any = None, truth_kind: str = "exact", target: int = 0
             ) -> dict[str, Any]:
    """Every method at every budget; times are the median of ``reps`` interleaved runs."""
    counted = _Counted(model)
    fx = model.output(X.astype(np.float32))[:, target]
    base = float(np.mean(model.output(bg.astype(np.float32))[:, target]))
    row_cost = _seconds_per_model_row(lambda Z: model.output(Z.astype(np.float32)), bg)
    truth_resid = float(np.max(np.abs(truth.sum(axis=1) + base - fx)))
    out: dict[str, Any] = {"d": int(truth.shape[1]), "rows": len(X), "background_rows": len(bg), "truth": truth_kind,
                           "truth_efficiency_residual": truth_resid, "timing_reps": reps,
                           "seconds_per_model_row": row_cost, "budgets": {}}
    ours = _ours()
    for m in budgets:
        runs: list[tuple[str, Callable[[np.ndarray], Any]]] = []
        if groups is None:
            def shap_run(Z: np.ndarray, m: int = m) -> tuple[np.ndarray, None, int]:
                counted.rows = 0
                return _shap_kernel(counted, bg, Z, m, seed), None, counted.rows
        else:
            group_lists = [list(g) for g in resolve_groups(groups, model.n_features, model.input_shape,
                                                           model.feature_names)[0]]

            def shap_run(Z: np.ndarray, m: int = m, gl: list[list[int]] = group_lists) -> tuple[np.ndarray, None, int]:
                c = [0]
                return _shap_kernel_groups(model, gl, bg, Z, m, seed, c), None, c[0]
        runs.append(("shap.KernelExplainer", shap_run))
        for k in ours:
            def our_run(Z: np.ndarray, k: str = k, m: int = m) -> tuple[np.ndarray, Any, int]:
                params = {} if groups is None else {"groups": groups}
                e = get_explainer(k)(model, background=bg, budget=m, random_state=seed, **params).explain(Z, target=target)
                return e.values, e, e.n_model_evals
            runs.append((f"ours {k}", our_run))
        results: dict[str, Any] = {}
        secs: dict[str, list[float]] = {label: [] for label, _ in runs}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for _, fn in runs:  # warm-up (imports, caches) on one row
                fn(X[:1])
            for _ in range(reps):
                for label, fn in runs:
                    t0 = time.perf_counter()
                    res = fn(X)
                    secs[label].append(time.perf_counter() - t0)
                    results.setdefault(label, res)
        ref_err = float(np.median(_rel_err(results["shap.KernelExplainer"][0], truth)))
        res_m: dict[str, dict[str, Any]] = {}
        for label, (phi, expl, n_evals) in results.items():
            err = _rel_err(np.asarray(phi, dtype=np.float64), truth)
            wall = float(np.median(secs[label]))
            entry: dict[str, Any] = {
                "median_rel_sq_error": float(np.median(err)), "mean_rel_sq_error": float(np.mean(err)),
                "ratio_vs_shap_kernel": float(np.median(err)) / max(ref_err, 1e-300),
                "seconds": wall, "all_seconds": secs[label], "model_evals": int(n_evals),
                "overhead_ms_per_row": 1e3 * max(0.0, wall - n_evals * row_cost) / len(X),
                "max_efficiency_residual": float(np.max(np.abs(np.asarray(phi).sum(axis=1) + base - fx))),
            }
            if expl is not None:
                if expl.stderr is not None and truth_kind == "exact":
                    tol = 1e-9 * max(float(np.abs(truth).max()), 1e-12)
                    entry["se_coverage_95"] = float(np.mean(np.abs(phi - truth) <= 1.96 * expl.stderr + tol))
                if "estimator" in expl.params:
                    entry["chosen"] = expl.params["estimator"]
                    entry["reason"] = expl.params["reason"]
                    entry["model_cost_class"] = expl.params["model_cost_class"]
                for key in ("overhead_ms_per_row", "overhead_cpu_ms_per_row"):
                    if key in expl.params:  # gp measures its own work outside model calls
                        entry[f"own_{key}"] = expl.params[key]
            res_m[label] = entry
            print(f"  {name} m={m} {label:22s} err {entry['median_rel_sq_error']:.3g} "
                  f"ratio {entry['ratio_vs_shap_kernel']:.2f} {wall:.2f}s "
                  f"ovh {entry['overhead_ms_per_row']:.1f}ms/row {entry.get('chosen', '')}", flush=True)
        out["budgets"][str(m)] = res_m
    return out


def _reference(model: Any, bg: np.ndarray, X: np.ndarray, seed: int) -> tuple[np.ndarray, float]:
    """KernelSHAP at budget 2^15 (two halves with different seeds: their disagreement estimates
    the reference's own relative error)."""
    a = KernelShap(model, background=bg, budget=_REF_BUDGET, random_state=seed + 101).explain(X, target=0).values
    b = KernelShap(model, background=bg, budget=_REF_BUDGET, random_state=seed + 202).explain(X, target=0).values
    ref = 0.5 * (a + b)
    own = float(np.median(_rel_err(a, b))) / 4.0  # Var of the mean of two = ¼ Var of the difference
    return ref, own


def throughput(quick: bool, seed: int) -> dict[str, Any]:
    """1,000 rows × d = 30 MLP, one baseline row, budget 2,000 with ``shapley``; reps interleaved."""
    n_rows = 50 if quick else 1000
    model = _mlp(30, "tanh", seed + 7)
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, 30)).astype(np.float32)
    base = np.zeros((1, 30), dtype=np.float32)
    out: dict[str, Any] = {"rows": n_rows, "d": 30, "budget": 2000, "baseline_rows": 1, "runs": []}
    for _ in range(1 if quick else 3):
        t0 = time.perf_counter()
        e = get_explainer("shapley")(model, background=base, budget=2000, random_state=seed).explain(X, target=0)
        out["runs"].append(time.perf_counter() - t0)
        out["chosen"] = e.params["estimator"]
    out["seconds"] = float(np.median(out["runs"]))
    out["load_average_1min"] = os.getloadavg()[0]
    print(f"  throughput shapley ({out['chosen']}): {out['seconds']:.2f}s (runs {out['runs']})", flush=True)
    return out


def digits_exact(quick: bool, seed: int, model: Any, X_rows: np.ndarray, X_train: np.ndarray, *,
                 compare_plain: bool = False) -> dict[str, Any]:
    """Exact 2×2-patch group values (16 groups) for 100 digits rows against a single baseline
    (the demo's MLP 256-256: 100 × 65,536 coalitions), wall and process CPU time, the model
    evaluations and the multiply-accumulates they stand for (``model.macs``) and those actually
    run (the first layer comes once per player through ``model.input_affine``)."""
    X = X_rows[: 10 if quick else 100]
    base = X_train.mean(axis=0, keepdims=True)
    runs, cpu = [], []
    for _ in range(1 if quick else 3):
        t0, c0 = time.perf_counter(), time.process_time()
        e = ExactShapley(model, background=base, groups="patches:2x2").explain(X, target="predicted")
        runs.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    plain: dict[str, Any] = {}
    if compare_plain:  # one run of the plain enumeration (every masked input through the whole model)
        t0, c0 = time.perf_counter(), time.process_time()
        p = ExactShapley(model, background=base, groups="patches:2x2", fast=False).explain(X, target="predicted")
        plain = {"plain_seconds": time.perf_counter() - t0, "plain_cpu_seconds": time.process_time() - c0,
                 "max_abs_difference_to_plain": float(np.max(np.abs(p.values - e.values))),
                 "max_abs_value": float(np.max(np.abs(p.values)))}
        print(f"  digits 2x2 exact, plain enumeration: {plain['plain_seconds']:.2f}s wall, "
              f"{plain['plain_cpu_seconds']:.2f}s CPU; max |difference| {plain['max_abs_difference_to_plain']:.1e}",
              flush=True)
    fx = model.output(X)[np.arange(len(X)), e.targets]
    resid = float(np.max(np.abs(e.values.sum(axis=1) + e.base_values - fx)))
    affine = model.input_affine()
    macs = int(model.macs(1))
    gmac_run, split = _digits_gmac_run(model, X, base)
    secs = float(np.median(runs))
    out = {"rows": len(X), "groups": 16, "baseline_rows": 1, "background": "one baseline row, the training mean",
           "seconds": secs, "runs": runs, "cpu_seconds": float(np.median(cpu)), "cpu_runs": cpu,
           "torch_threads": torch_threads(), "model_evals": e.n_model_evals, "macs_per_model_row": macs,
           "model_gmac": e.n_model_evals * macs / 1e9, "model_gmac_per_second": e.n_model_evals * macs / 1e9 / secs,
           "gmac_run": gmac_run, "gmac_per_second_run": gmac_run / secs, "gmac_per_cpu_second_run": gmac_run / float(np.median(cpu)),
           "first_layer_once": affine is not None, **split, "max_efficiency_residual": resid,
           "load_average_1min": os.getloadavg()[0], **plain}
    print(f"  digits 2x2 exact: {secs:.2f}s wall, {out['cpu_seconds']:.2f}s CPU for {len(X)} rows "
          f"({e.n_model_evals} model rows = {out['model_gmac']:.0f} GMAC of whole-model calls; {gmac_run:.0f} GMAC run "
          f"= {out['gmac_per_second_run']:.1f} GMAC/s wall, {out['gmac_per_cpu_second_run']:.1f} per CPU-second; "
          f"second layer's units kept {split.get('relu_split_units_kept', 1.0):.0%}; load {out['load_average_1min']:.1f})",
          flush=True)
    return out


def _digits_gmac_run(model: Any, X: np.ndarray, base: np.ndarray) -> tuple[float, dict[str, Any]]:
    """Multiply-accumulates the exact enumeration runs, counted by replaying its plan: the first
    layer once per player; with the ReLU split (``InputAffine.subset_bits`` < 13), per family of
    2^L coalitions the second layer's GEMM over the switching units plus the L bits, and the
    layers after it in full (the count the estimator's split makes, recomputed here)."""
    from leanlens.explain.shapley.groups import patch_groups
    from leanlens.models.base import subset_sums

    affine = model.input_affine()
    macs = int(model.macs(1))
    coalitions = len(X) * (1 << 16)
    if affine is None:
        return coalitions * macs / 1e9, {}
    h = affine.width
    after_first = macs - int(affine.A.size)
    if affine.subset_bits >= affine.SUBSET_BITS:
        return coalitions * after_first / 1e9, {}
    body = [m for m in model.module.modules() if type(m).__name__ == "Linear"]
    h2 = int(body[1].weight.shape[0])
    rest = after_first - h * h2  # the layers after the second one
    groups, _ = patch_groups(X.shape[1], model.input_shape, 2, 2)
    member = np.zeros((16, X.shape[1]), dtype=np.float32)
    for i, g in enumerate(groups):
        member[i, g] = 1.0
    L = affine.subset_bits
    total, kept = 0.0, []
    for x in X:
        delta = (member * (x - base[0])[None, :]).astype(np.float32) @ affine.A
        order = np.argsort(np.abs(delta).sum(axis=1), kind="stable")
        low = delta[order[:L]]
        pos, neg = np.maximum(low, 0).sum(axis=0), np.minimum(low, 0).sum(axis=0)
        offsets = subset_sums(delta[order[L:]]) + (base[0] @ affine.A + affine.c)
        switch = ((offsets + pos > 0) & (offsets + neg < 0)).sum(axis=1)
        kept.extend((switch / h).tolist())
        total += float(((switch + L) * h2 + rest).sum()) * (1 << L)
    return total / 1e9, {"relu_split_family_bits": L, "relu_split_units_kept": float(np.mean(kept))}


def torch_threads() -> int:
    import torch

    return int(torch.get_num_threads())


def _cases(args: argparse.Namespace) -> list[dict[str, Any]]:
    """(label, builder) specs; builders run lazily."""
    quick, seed = args.quick, args.seed
    specs: list[dict[str, Any]] = []
    dims = (12,) if quick else (12, 16, 30)
    for d in dims:
        for act in ("relu", "tanh"):
            specs.append({"label": f"{act} MLP d={d}", "kind": "mlp", "d": d, "act": act, "seed": seed + 10 * d,
                          "width": 64, "held_out": False})
    if not quick:
        for d, act, width, s in ((12, "relu", 32, 901), (12, "tanh", 128, 902), (16, "relu", 128, 903),
                                 (16, "tanh", 32, 904)):
            specs.append({"label": f"held-out {act} MLP d={d} w={width}", "kind": "mlp", "d": d, "act": act,
                          "seed": s, "width": width, "held_out": True})
    specs.append({"label": "breast_cancer GradientBoosting (log-odds)", "kind": "gbc", "held_out": False})
    if not quick:
        specs.append({"label": "breast_cancer RandomForest (P(class 1))", "kind": "rf", "held_out": False})
    specs.append({"label": "digits MLP, 2x2 patches (16 groups)", "kind": "digits", "held_out": False})
    return specs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a smoke run (few rows, small models, one background)")
    ap.add_argument("--out", type=Path, default=None, help="results folder (default benchmarks/results)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--reps", type=int, default=None, help="interleaved timing repetitions (default 3; quick 1)")
    ap.add_argument("--part", choices=("all", "cases", "timing", "render"), default="all",
                    help="cases: accuracy cases only; timing: overhead, throughput and digits only (merged into the "
                         "existing results file); render: re-write the table from the results file (merging "
                         "--timing-from and the partial cases file); all: cases and timing")
    ap.add_argument("--timing-from", type=Path, default=None, help="with --part render: a results file whose "
                    "overhead, throughput and digits figures replace the current ones")
    ap.add_argument("--timing-items", default="overhead,throughput,digits",
                    help="with --part timing/all: which timing figures to (re-)measure (the others are kept); add "
                         "'digits-plain' to also time one run of the plain enumeration beside the digits figure")
    ap.add_argument("--methods", default=",".join(OURS), help="comma-separated estimators of ours to run")
    ap.add_argument("--only", default=None, help="run only the cases whose label matches this regular expression")
    ap.add_argument("--resume", action="store_true", help="skip cases already in <out>/shapley.partial.json")
    ap.add_argument("--calibrate", action="store_true", help="print the overhead grid behind the chooser's cost model")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(2)
    if args.calibrate:
        cal = calibrate(tuple(m for m in args.methods.split(",") if m in ("gp", "polyshap", "kernel")))
        write_results("shapley_calibration", {"benchmark": "shapley --calibrate", "machine_line": machine_line(),
                                              "machine": machine_info(), **cal},
                      "\n".join(f"{g['method']} d={g['d']} budget={g['budget']} fit_points={g['fit_points']}: "
                                f"{g['cpu_ms_per_row']:.2f} ms/row CPU (cost model {g['cost_model_ms']:.2f}; load "
                                f"{g['load_average_1min']:.1f})" for g in cal["grid"]), out=args.out)
        return 0
    OURS[:] = [m for m in args.methods.split(",") if m]
    out_dir = args.out or Path(__file__).resolve().parent / "results"
    seed = args.seed
    reps = args.reps or (1 if args.quick else 3)
    print(machine_line(), flush=True)
    load_start = os.getloadavg()
    t_start = time.perf_counter()
    previous: dict[str, Any] = {}
    if args.part != "all" and (out_dir / "shapley.json").exists():
        previous = json.loads((out_dir / "shapley.json").read_text())
    if args.part == "render":
        payload = previous
        partial = out_dir / "shapley.partial.json"
        if partial.exists():
            payload["cases"] = {**payload.get("cases", {}), **json.loads(partial.read_text())}
            payload["cases_load_average_1min"] = {
                "start": min(c.get("load_average_1min", np.inf) for c in payload["cases"].values()),
                "end": max(c.get("load_average_1min", 0.0) for c in payload["cases"].values())}
        if args.timing_from is not None:
            timing = json.loads(args.timing_from.read_text())
            for key in ("overhead", "throughput", "digits_patches_exact", "timing_load_average_1min", "timing_seconds"):
                if key in timing:
                    payload[key] = timing[key]
        payload["machine_line"] = machine_line()  # the render's date; each case records its own load
        payload["summary"] = _summary(payload)
        write_results("shapley", payload, _table(payload), out=args.out)
        return 0
    if args.part == "timing":
        payload = previous or {"benchmark": "shapley", "mode": "quick" if args.quick else "full", "cases": {},
                               "methods": ["shap.KernelExplainer", *[f"ours {k}" for k in _ours()]]}
    else:
        payload = {
            "benchmark": "shapley", "mode": "quick" if args.quick else "full", "seed": seed, "torch_threads": 2,
            "methods": ["shap.KernelExplainer", *[f"ours {k}" for k in _ours()]],
            "budget_counts": "coalitions per explained row (the model sees budget × background rows per row)",
            "error": "median over rows of ||phi_hat - phi||^2 / ||phi||^2", "shap_kernel_l1_reg": False,
            "cases": run_cases(args, reps, out_dir),
            "cases_load_average_1min": {"start": load_start[0], "end": os.getloadavg()[0]},
            "cases_seconds": time.perf_counter() - t_start,
        }
        for key in ("throughput", "digits_patches_exact", "overhead"):
            if key in previous:
                payload[key] = previous[key]
    if args.part in ("all", "timing"):
        t0 = time.perf_counter()
        load0 = os.getloadavg()[0]
        items = set(args.timing_items.split(","))
        if "overhead" in items:
            payload["overhead"] = overhead(args.quick, seed, reps)
        if "throughput" in items:
            payload["throughput"] = throughput(args.quick, seed)
        if "digits" in items:
            dmodel, dtrain, dtest = _digits_case(args.quick, seed)
            payload["digits_patches_exact"] = digits_exact(args.quick, seed, dmodel, dtest, dtrain,
                                                           compare_plain="digits-plain" in items)
        payload["timing_load_average_1min"] = {"start": load0, "end": os.getloadavg()[0]}
        payload["timing_seconds"] = time.perf_counter() - t0
    payload["machine"] = machine_info()
    payload["machine_line"] = machine_line()
    payload["summary"] = _summary(payload)
    write_results("shapley", payload, _table(payload), out=args.out)
    return 0


def run_cases(args: argparse.Namespace, reps: int, out_dir: Path) -> dict[str, Any]:
    """Every accuracy case (ratio to shap.KernelExplainer); resumable through a partial file."""
    seed = args.seed
    n_rows = 6 if args.quick else 12
    bg_sizes = (1,) if args.quick else (1, 50)
    partial = out_dir / "shapley.partial.json"
    cases: dict[str, Any] = json.loads(partial.read_text()) if args.resume and partial.exists() else {}
    for spec in _cases(args):
        if args.only and not re.search(args.only, spec["label"]):
            continue
        keys = [f"{spec['label']}, background {n_bg}" for n_bg in bg_sizes
                if not (spec["kind"] == "digits" and n_bg > 1)]
        if all(k in cases for k in keys):
            continue
        # one generator per case: a resumed or filtered run draws the same background rows
        rng = np.random.default_rng([seed, zlib.crc32(spec["label"].encode())])
        kind = spec["kind"]
        groups = None
        truth_kind = "exact"
        if kind == "mlp":
            d = spec["d"]
            model = _mlp(d, spec["act"], spec["seed"], spec["width"])
            pool = np.random.default_rng(spec["seed"]).normal(size=(200, d)).astype(np.float32)
            X_train, X_rows = pool[:100], pool[100:]
        elif kind in ("gbc", "rf"):
            est, model, X_train, X_rows = _tree_case(kind, args.quick, seed)
            d = X_train.shape[1]
        else:
            model, X_train, X_rows = _digits_case(args.quick, seed)
            groups, d = "patches:2x2", 16
        for n_bg, key in zip(bg_sizes, keys, strict=False):
            if key in cases:
                continue
            bg = X_train[rng.choice(len(X_train), n_bg, replace=False)] if n_bg > 1 else X_train.mean(axis=0, keepdims=True)
            X = X_rows[:n_rows]
            t0 = time.perf_counter()
            ref_own = None
            if kind in ("gbc", "rf"):
                truth, truth_kind = _tree_truth(est, bg, X), "interventional TreeSHAP (exact)"
            elif d <= 16:
                ex = ExactShapley(model, background=bg, groups=groups).explain(X, target=0)
                truth = ex.values
            else:
                truth, ref_own = _reference(model, bg, X, seed)
                truth_kind = f"KernelSHAP reference, budget 2 × {_REF_BUDGET} (not exact)"
            print(f"  truth {spec['label']} bg={n_bg}: {time.perf_counter() - t0:.1f}s", flush=True)
            budgets = [10 * d] if args.quick else [10 * d, 40 * d]
            cases[key] = run_case(key, model, bg, X, truth, budgets, seed, reps, groups=groups, truth_kind=truth_kind)
            cases[key]["held_out"] = spec["held_out"]
            cases[key]["load_average_1min"] = os.getloadavg()[0]
            if ref_own is not None:
                cases[key]["reference_own_rel_sq_error"] = ref_own
            partial.parent.mkdir(parents=True, exist_ok=True)
            partial.write_text(json.dumps(cases, default=float))
    return cases


def overhead(quick: bool, seed: int, reps: int) -> dict[str, Any]:
    """``shapley``'s overhead per row outside model calls at d = 12 and 16, 10·d and 40·d, with one
    baseline and with a 50-row background (the interventional game averages over it), 12 rows:
    wall time − model rows × seconds per model row, and for gp its own wall and CPU figures;
    ``reps`` interleaved runs, median."""
    out: dict[str, Any] = {}
    for d in ((12,) if quick else (12, 16)):
        model = _mlp(d, "relu", seed + d)
        X = np.random.default_rng(seed).normal(size=(12, d)).astype(np.float32)
        backgrounds = {1: np.zeros((1, d), dtype=np.float32)}
        if not quick:
            backgrounds[50] = np.random.default_rng(seed + 1).normal(size=(50, d)).astype(np.float32)
        row_cost = _seconds_per_model_row(lambda Z, model=model: model.output(Z.astype(np.float32)), backgrounds[1])
        get_explainer("shapley")(model, background=backgrounds[1], budget=10 * d,
                                 random_state=seed).explain(X[:2], target=0)
        runs: dict[tuple[int, int], list[tuple[float, float, float, str]]] = {
            (m, n_bg): [] for n_bg in backgrounds for m in (10 * d, 40 * d)}
        for r in range(reps):
            for m, n_bg in runs:
                t0 = time.perf_counter()
                e = get_explainer("shapley")(model, background=backgrounds[n_bg], budget=m,
                                             random_state=seed + r).explain(X, target=0)
                wall = time.perf_counter() - t0
                runs[m, n_bg].append((1e3 * max(0.0, wall - e.n_model_evals * row_cost) / len(X),
                                      float(e.params.get("overhead_ms_per_row", float("nan"))),
                                      float(e.params.get("overhead_cpu_ms_per_row", float("nan"))),
                                      e.params["estimator"]))
        for (m, n_bg), rs in runs.items():
            arr = np.array([r[:3] for r in rs])
            out[f"d={d} budget={m}" + ("" if n_bg == 1 else f" background={n_bg}")] = {
                "chosen": rs[0][3], "rows": len(X), "reps": reps, "background_rows": n_bg,
                "overhead_ms_per_row": float(np.median(arr[:, 0])), "all_overhead_ms_per_row": arr[:, 0].tolist(),
                "own_wall_ms_per_row": float(np.median(arr[:, 1])), "own_cpu_ms_per_row": float(np.median(arr[:, 2])),
                "load_average_1min": os.getloadavg()[0]}
            o = out[f"d={d} budget={m}" + ("" if n_bg == 1 else f" background={n_bg}")]
            print(f"  overhead d={d} m={m} shapley ({o['chosen']}): {o['overhead_ms_per_row']:.1f} ms/row "
                  f"(gp's own: wall {o['own_wall_ms_per_row']:.1f}, cpu {o['own_cpu_ms_per_row']:.1f}; "
                  f"load {o['load_average_1min']:.1f})", flush=True)
    return out


def calibrate(methods: tuple[str, ...] = ("gp", "polyshap", "kernel")) -> dict[str, Any]:
    """The grid behind the chooser's cost model: CPU ms per explained row outside model calls,
    one BLAS thread, 12 rows, a cheap numpy model, best of 3 (run it on a quiet machine). gp is
    timed with its default fit points (max(128, 8·d)) and, where that differs, with 128; its
    three constants are then refitted by non-negative least squares and printed."""
    from scipy.optimize import nnls
    from threadpoolctl import threadpool_limits

    from leanlens.explain.shapley import chooser

    grid: list[dict[str, Any]] = []
    with threadpool_limits(1, user_api="blas"):
        for meth in methods:
            for d in (8, 12, 16, 24, 30, 40):
                for m in (10 * d, 20 * d, 40 * d, *((2000,) if d == 30 else ())):
                    if m >= (1 << d) - 2 or (meth == "gp" and m > chooser.GP_MAX_BUDGET):
                        continue
                    r = np.random.default_rng(d)
                    W1, W2 = r.normal(size=(d, 32)) / np.sqrt(d), r.normal(size=32) / 6
                    spent = [0.0]

                    def f(X: np.ndarray, W1: np.ndarray = W1, W2: np.ndarray = W2, spent: list[float] = spent) -> np.ndarray:
                        c = time.process_time()
                        out = np.tanh(np.asarray(X, dtype=np.float64) @ W1 * 2) @ W2
                        spent[0] += time.process_time() - c
                        return out
                    model = leanlens.as_model(f, n_features=d)
                    X, base = r.normal(size=(12, d)), np.zeros((1, d))
                    points = sorted({min(chooser.gp_fit_points(d), m + 2), min(chooser.GP_FIT_POINTS, m + 2)}) if meth == "gp" else [0]
                    for p in points:
                        params = {"fit_points": p} if meth == "gp" else {}
                        get_explainer(meth)(model, background=base, budget=m, random_state=0, **params).explain(X[:2], target=0)
                        best = float("inf")
                        for rep in range(3):
                            spent[0] = 0.0
                            c = time.process_time()
                            get_explainer(meth)(model, background=base, budget=m, random_state=rep, **params).explain(X, target=0)
                            best = min(best, 1e3 * (time.process_time() - c - spent[0]) / len(X))
                        pred = 1e3 * chooser.predicted_overhead(meth, d, m, fit_points=p or None)
                        grid.append({"method": meth, "d": d, "budget": m, "fit_points": p, "cpu_ms_per_row": best,
                                     "cost_model_ms": pred, "load_average_1min": os.getloadavg()[0]})
                        print(f"{meth} d={d} budget={m}" + (f" fit_points={p}" if p else "") + f": {best:.2f} ms/row CPU "
                              f"(cost model {pred:.2f}; load {os.getloadavg()[0]:.1f})", flush=True)
    out: dict[str, Any] = {"grid": grid}
    gp_rows = [g for g in grid if g["method"] == "gp"]
    if gp_rows:
        A = np.array([[1e3, g["fit_points"] ** 3, (g["budget"] + 2) ** 2 * ((g["budget"] + 2) / 3 + 2 * g["d"] + 2),
                       (g["budget"] + 2) * g["d"] ** 2] for g in gp_rows]) / 1e6  # the chooser's form, ms
        y = np.array([g["cpu_ms_per_row"] for g in gp_rows])
        coef, _ = nnls(A / y[:, None], np.ones(len(y)))  # relative error, so small settings count as much as large ones
        pred = A @ coef
        out["gp_constants"] = {"GP_ROW_MS": coef[0] / 1e3, "GP_FIT_MS": coef[1], "GP_POSTERIOR_MS": coef[2],
                               "GP_MAP_MS": coef[3], "max_rel_error": float(np.max(np.abs(pred / y - 1)))}
        print("gp refit: GP_ROW_MS = {:.3g}, GP_FIT_MS = {:.3g}, GP_POSTERIOR_MS = {:.3g}, GP_MAP_MS = {:.3g}; ".format(
            coef[0] / 1e3, *coef[1:]) + f"worst relative error {out['gp_constants']['max_rel_error']:.0%}", flush=True)
    return out


def _summary(payload: dict[str, Any]) -> dict[str, Any]:
    """Per method and budget multiple (10·d, 40·d): median and worst ratio over the cases."""
    out: dict[str, Any] = {}
    for method in payload["methods"][1:]:
        for mult in (10, 40):
            for scope in ("all", "held-out"):
                ratios, ovh, eff, cov = [], [], [], []
                for c in payload["cases"].values():
                    if scope == "held-out" and not c.get("held_out"):
                        continue
                    r = c["budgets"].get(str(mult * c["d"]), {}).get(method)
                    if r is None:
                        continue
                    ratios.append(r["ratio_vs_shap_kernel"])
                    eff.append(r["max_efficiency_residual"])
                    if c["d"] <= 16:
                        ovh.append(r["overhead_ms_per_row"])
                    if "se_coverage_95" in r:
                        cov.append(r["se_coverage_95"])
                if ratios:
                    out[f"{method} {mult}d {scope}"] = {
                        "median_ratio": float(np.median(ratios)), "worst_ratio": float(np.max(ratios)),
                        "cases": len(ratios), "max_overhead_ms_per_row_d_le_16": float(max(ovh)) if ovh else None,
                        "max_efficiency_residual": float(max(eff)),
                        "mean_se_coverage": float(np.mean(cov)) if cov else None,
                    }
    return out


def _table(payload: dict[str, Any]) -> str:
    methods = payload["methods"][1:]
    lines = ["| case | m | shap Kernel err | " + " | ".join(f"{m.removeprefix('ours ')} ratio" for m in methods)
             + " | shapley chose | shapley ms/row overhead |",
             "|---|---|---|" + "---|" * len(methods) + "---|---|"]
    for case, c in payload["cases"].items():
        for m, r in c["budgets"].items():
            cells = " | ".join(f"{r[k]['ratio_vs_shap_kernel']:.2f}" if k in r else "–" for k in methods)
            s = r.get("ours shapley", {})
            lines.append(f"| {case} | {m} | {r['shap.KernelExplainer']['median_rel_sq_error']:.2e} | {cells} | "
                         f"{s.get('chosen', '')} | {s.get('overhead_ms_per_row', float('nan')):.1f} |")
    t, g = payload.get("throughput"), payload.get("digits_patches_exact")
    lines += ["", "| method, budget | median ratio (all) | worst ratio | median (held-out) | worst (held-out) | "
              "max wall overhead ms/row, d ≤ 16 (cases' runs, loaded: not the target's figure) | "
              "max efficiency residual | SE coverage |", "|---|---|---|---|---|---|---|---|"]
    sm = payload["summary"]
    for method in methods:
        for mult in (10, 40):
            a, h = sm.get(f"{method} {mult}d all"), sm.get(f"{method} {mult}d held-out")
            if a is None:
                continue
            hm = f"{h['median_ratio']:.2f}" if h else "–"
            hw = f"{h['worst_ratio']:.2f}" if h else "–"
            ov = a["max_overhead_ms_per_row_d_le_16"]
            cov = a["mean_se_coverage"]
            lines.append(f"| {method} {mult}·d | {a['median_ratio']:.2f} | {a['worst_ratio']:.2f} | {hm} | {hw} | "
                         f"{'–' if ov is None else f'{ov:.1f}'} | {a['max_efficiency_residual']:.1e} | "
                         f"{'–' if cov is None else f'{cov:.3f}'} |")
    s10, s40 = sm.get("ours shapley 10d all", {}), sm.get("ours shapley 40d all", {})
    lines += [
        "",
    ]
    for key, o in payload.get("overhead", {}).items():
        n_bg = o.get("background_rows", 1)
        bg_text = "one baseline" if n_bg == 1 else f"{n_bg}-row background"
        lines.append(f"Overhead outside model calls, `shapley` ({o['chosen']}), {key.split(' background')[0]}, "
                     f"{o['rows']} rows, {bg_text}: "
                     f"{o['overhead_ms_per_row']:.1f} ms/row (median of {o['reps']}; gp's own CPU figure "
                     f"{o['own_cpu_ms_per_row']:.1f} ms/row; load {o['load_average_1min']:.1f}).")
    if t:
        lines.append(f"Throughput: {t['rows']} rows × d = 30 (tanh MLP 64-64), one baseline, budget 2,000 with "
                     f"`shapley` ({t['chosen']}): {t['seconds']:.1f} s (median of {len(t['runs'])}; load "
                     f"{t['load_average_1min']:.1f}).")
    if g:
        lines.append(f"Digits 2×2 patches, exact group values ({g.get('background', 'one baseline row')}): {g['rows']} "
                     f"rows in {g['seconds']:.1f} s wall, {g.get('cpu_seconds', float('nan')):.1f} s CPU (median of "
                     f"{len(g['runs'])}; {g['model_evals']:,} model rows; "
                     + (f"first layer once per player, {g['gmac_run']:.0f} GMAC run = {g['gmac_per_second_run']:.1f} "
                        f"GMAC/s, of {g['model_gmac']:.0f} GMAC of whole-model calls; " if 'gmac_run' in g else "")
                     + (f"ReLU split: second-layer GEMM over {g['relu_split_units_kept']:.0%} of its units in families of "
                        f"2^{g['relu_split_family_bits']}; " if 'relu_split_units_kept' in g else "")
                     + f"efficiency residual {g['max_efficiency_residual']:.1e}; load {g['load_average_1min']:.1f}).")
    la = payload.get("cases_load_average_1min", {"start": float("nan"), "end": float("nan")})
    lines += [
        "",
        f"{payload['machine_line']}; accuracy cases at load average {la['start']:.1f} → {la['end']:.1f} "
        f"(other jobs share the 2 cores; accuracy does not depend on load).",
        "",
        f"Headline: `shapley` vs shap.KernelExplainer at equal budget — median error ratio "
        f"{s10.get('median_ratio', float('nan')):.2f}× at 10·d (target ≤ 0.5), {s40.get('median_ratio', float('nan')):.2f}× "
        f"at 40·d (target ≤ 0.25), worst {max(s10.get('worst_ratio', 0.0), s40.get('worst_ratio', 0.0)):.2f}× (target ≤ 0.8).",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
