"""Shapley estimators (issue 3): ours (kernel, leverage, permutation) against shap on the same game.

Every method explains the same rows of the same model against the same background rows
(the interventional game v_x(S) = mean_b f(x_S, b_S̄)) with the same budget m of
coalitions per explained row (the model sees m × |background| rows per explained row).
Ground truth: our exact enumeration of that game (synthetic MLPs, d = 12 and 16) or shap's
interventional TreeSHAP on the same background (scikit-learn ensembles on breast_cancer,
d = 30). Figure of merit: the median over rows of ‖φ̂ − φ‖² / ‖φ‖², and wall time.

References: ``shap.KernelExplainer(f, background).shap_values(X, nsamples=m, l1_reg=False)``
(``l1_reg=False``: shap's default ``"num_features(10)"`` would keep only 10 features, which
is not the estimator we compare with) and ``shap.PermutationExplainer(f,
shap.maskers.Independent(background))(X, max_evals=m)``. Threads: torch 2.

    python benchmarks/shapley.py            # full (quoted in the README)
    python benchmarks/shapley.py --quick    # a smoke run, well under a minute
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_info, machine_line, write_results

import leanlens
from leanlens.explain.shapley import ExactShapley, KernelShap, LeverageShap, PermutationShap

OURS = {"kernel": KernelShap, "leverage": LeverageShap, "permutation": PermutationShap}


def _rel_err(est: np.ndarray, truth: np.ndarray) -> np.ndarray:
    return np.sum((est - truth) ** 2, axis=1) / np.maximum(np.sum(truth**2, axis=1), 1e-300)


def _timed(fn: Callable[[], np.ndarray]) -> tuple[np.ndarray, float]:
    t0 = time.perf_counter()
    out = fn()
    return np.asarray(out, dtype=np.float64), time.perf_counter() - t0


def _shap_kernel(f: Callable[[np.ndarray], np.ndarray], bg: np.ndarray, X: np.ndarray, m: int, seed: int) -> np.ndarray:
    import shap

    np.random.seed(seed)  # noqa: NPY002 — shap's KernelExplainer samples with the global NumPy RNG (benchmark only)
    ex = shap.KernelExplainer(f, bg)
    return np.asarray(ex.shap_values(X, nsamples=m, l1_reg=False, silent=True))


def _shap_permutation(f: Callable[[np.ndarray], np.ndarray], bg: np.ndarray, X: np.ndarray, m: int, seed: int) -> np.ndarray:
    import shap

    ex = shap.PermutationExplainer(f, shap.maskers.Independent(bg, max_samples=len(bg)), seed=seed)
    return np.asarray(ex(X, max_evals=m, silent=True).values)


def _mlp_case(d: int, quick: bool, seed: int) -> tuple[Any, np.ndarray, np.ndarray]:
    ds = leanlens.datasets.synthetic(n=1000 if quick else 3000, n_features=d, task="regression", random_state=seed)
    cfg = leanlens.TrainConfig(hidden=(64, 64), dropout=0.0, epochs=2 if quick else 20, batch_size=128,
                               random_state=seed)
    model = leanlens.train(ds, cfg, progress=False)
    model.batch_size = 1 << 16
    return model, ds.X_train, ds.X_test


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
    X_rows = np.concatenate([ds.X_test, ds.X_val])
    return est, model, ds.X_train, X_rows


def _tree_truth(est: Any, kind: str, bg: np.ndarray, X: np.ndarray) -> np.ndarray:
    import shap

    te = shap.TreeExplainer(est, data=bg.astype(np.float64), feature_perturbation="interventional", model_output="raw")
    sv = np.asarray(te.shap_values(X.astype(np.float64), check_additivity=False))
    if sv.ndim == 3:  # (n, d, classes) for the forest's probabilities
        sv = sv[:, :, 1]
    return sv


def _runners(model: Any, f: Callable[[np.ndarray], np.ndarray], bg: np.ndarray, m: int, seed: int
             ) -> list[tuple[str, Callable[[np.ndarray], np.ndarray]]]:
    ours = [(f"ours {k}", lambda X, cls=cls: cls(model, background=bg, budget=m, random_state=seed)
             .explain(X, target=0).values) for k, cls in OURS.items()]
    return [
        ("shap.KernelExplainer", lambda X: _shap_kernel(f, bg, X, m, seed)),
        *ours,
        ("shap.PermutationExplainer", lambda X: _shap_permutation(f, bg, X, m, seed)),
    ]


def run_case(name: str, model: Any, bg: np.ndarray, X: np.ndarray, truth: np.ndarray, budgets: list[int],
             seed: int, reps: int) -> dict[str, Any]:
    """Every method at every budget; times are the median of ``reps`` interleaved runs."""
    f = lambda Z: model.output(Z)[:, 0]  # noqa: E731 — the explained output, for shap
    fx = f(X)
    base = f(bg).mean()
    truth_resid = float(np.max(np.abs(truth.sum(axis=1) + base - fx)))
    out: dict[str, Any] = {"d": X.shape[1], "rows": len(X), "background_rows": len(bg),
                           "truth_efficiency_residual": truth_resid, "timing_reps": reps, "budgets": {}}
    for m in budgets:
        runs = _runners(model, f, bg, m, seed)
        phis: dict[str, np.ndarray] = {}
        secs: dict[str, list[float]] = {label: [] for label, _ in runs}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for _, fn in runs:  # warm-up (imports, JIT compilation, caches) on two rows
                fn(X[:2])
            for _ in range(reps):
                for label, fn in runs:
                    phi, sec = _timed(lambda fn=fn: fn(X))
                    phis.setdefault(label, phi)
                    secs[label].append(sec)
        res: dict[str, dict[str, float]] = {}
        for label, phi in phis.items():
            err = _rel_err(phi, truth)
            res[label] = {"median_rel_sq_error": float(np.median(err)), "mean_rel_sq_error": float(np.mean(err)),
                          "seconds": float(np.median(secs[label])), "all_seconds": secs[label],
                          "max_efficiency_residual": float(np.max(np.abs(phi.sum(axis=1) + base - fx)))}
            print(f"  {name} m={m} {label:27s} err {res[label]['median_rel_sq_error']:.3g}  "
                  f"{res[label]['seconds']:.2f}s", flush=True)
        out["budgets"][str(m)] = res
    return out


def throughput(quick: bool, seed: int) -> dict[str, Any]:
    """1,000 rows of a 30-feature MLP (2×64), one baseline row, budget 2,000.

    shap's KernelExplainer explains rows one at a time (about 0.1–0.2 s each here), so it is
    timed on the first ``shap_rows`` rows and scaled to all rows; its values on those rows
    are compared with ours.
    """
    n_rows, shap_rows = (20, 5) if quick else (1000, 100)
    ds = leanlens.datasets.synthetic(n=1000 if quick else 3000, n_features=30, task="regression", random_state=seed)
    model = leanlens.train(ds, leanlens.TrainConfig(hidden=(64, 64), dropout=0.0, epochs=2 if quick else 10,
                                                    batch_size=128, random_state=seed), progress=False)
    model.batch_size = 1 << 16
    X = ds.X_train[:n_rows]
    base = ds.X_train.mean(axis=0, keepdims=True)
    f = lambda Z: model.output(Z)[:, 0]  # noqa: E731
    res: dict[str, Any] = {"rows": n_rows, "d": 30, "budget": 2000, "baseline_rows": 1, "shap_rows_timed": shap_rows}
    _shap_kernel(f, base, X[:1], 2000, seed)  # warm-up
    ref, secs = _timed(lambda: _shap_kernel(f, base, X[:shap_rows], 2000, seed))
    res["shap.KernelExplainer"] = {"seconds": secs * n_rows / shap_rows, "seconds_measured": secs}
    for k, cls in OURS.items():
        phi, secs = _timed(lambda cls=cls: cls(model, background=base, budget=2000, random_state=seed)
                           .explain(X, target=0).values)
        res[f"ours {k}"] = {"seconds": secs,
                            "median_rel_sq_diff_vs_shap_kernel": float(np.median(_rel_err(phi[:shap_rows], ref)))}
        print(f"  throughput {k}: {secs:.2f}s", flush=True)
    print(f"  throughput shap.KernelExplainer: {res['shap.KernelExplainer']['seconds']:.2f}s", flush=True)
    return res


def _table(payload: dict[str, Any]) -> str:
    lines = [
        "| case | m | shap Kernel err / s | shap Perm err / s | ours kernel err / s | ours leverage err / s | "
        "ours permutation err / s | best ours / shap Kernel: err, time |",
        "|---|---|---|---|---|---|---|---|",
    ]
    worst_err_ratio, worst_time_ratio = 0.0, 0.0
    for case, c in payload["cases"].items():
        for m, r in c["budgets"].items():
            def cell(k: str, r: dict[str, Any] = r) -> str:
                return f"{r[k]['median_rel_sq_error']:.2e} / {r[k]['seconds']:.2f}"
            ours = {k: r[f"ours {k}"] for k in OURS}
            best = min(ours, key=lambda k: ours[k]["median_rel_sq_error"])
            ref = r["shap.KernelExplainer"]
            er = ours[best]["median_rel_sq_error"] / max(ref["median_rel_sq_error"], 1e-300)
            tr = ours[best]["seconds"] / ref["seconds"]
            worst_err_ratio, worst_time_ratio = max(worst_err_ratio, er), max(worst_time_ratio, tr)
            lines.append(f"| {case} | {m} | {cell('shap.KernelExplainer')} | {cell('shap.PermutationExplainer')} | "
                         f"{cell('ours kernel')} | {cell('ours leverage')} | {cell('ours permutation')} | "
                         f"{best}: {er:.2f}×, {tr:.2f}× |")
    t = payload["throughput"]
    ours_t = {k: t[f"ours {k}"]["seconds"] for k in OURS}
    lines += [
        "",
        f"Throughput: {t['rows']} rows, d = 30 MLP (64, 64), one baseline row, budget {t['budget']}: "
        + ", ".join(f"ours {k} {s:.1f} s" for k, s in ours_t.items())
        + f"; shap.KernelExplainer {t['shap.KernelExplainer']['seconds']:.1f} s "
        f"(timed on {t['shap_rows_timed']} rows, scaled to {t['rows']}).",
        "",
        f"{payload['machine_line']}; load average {payload['load_average_1min']['start']:.1f} → "
        f"{payload['load_average_1min']['end']:.1f} (other jobs share the 2 cores); total {payload['total_seconds']:.0f} s.",
        "",
        f"Headline: best of ours vs shap.KernelExplainer — worst case error ratio {worst_err_ratio:.2f}× "
        f"(target ≤ 0.5×), worst case time ratio {worst_time_ratio:.2f}× (target ≤ 1×); "
        f"throughput {min(ours_t.values()):.1f} s vs shap {t['shap.KernelExplainer']['seconds']:.1f} s "
        f"({t['shap.KernelExplainer']['seconds'] / min(ours_t.values()):.0f}× faster).",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a smoke run (small rows, models and budgets)")
    ap.add_argument("--out", type=Path, default=None, help="results folder (default benchmarks/results)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(2)
    seed = args.seed
    n_rows, n_bg = (6, 4) if args.quick else (50, 10)
    reps = 1 if args.quick else 2
    print(machine_line(), flush=True)
    load_start = os.getloadavg()
    t_start = time.perf_counter()
    rng = np.random.default_rng(seed)
    cases: dict[str, Any] = {}
    for d in (12, 16):
        model, X_train, X_rows = _mlp_case(d, args.quick, seed)
        bg = X_train[rng.choice(len(X_train), n_bg, replace=False)]
        X = X_rows[:n_rows]
        t0 = time.perf_counter()
        truth = ExactShapley(model, background=bg).explain(X, target=0).values
        print(f"  exact ground truth d={d}: {time.perf_counter() - t0:.1f}s", flush=True)
        budgets = [10 * d] if args.quick else [10 * d, 40 * d]
        cases[f"synthetic MLP d={d}"] = run_case(f"mlp{d}", model, bg, X, truth, budgets, seed, reps)
    for kind, label in (("gbc", "breast_cancer GradientBoosting (log-odds)"),
                        ("rf", "breast_cancer RandomForest (P(class 1))")):
        est, model, X_train, X_rows = _tree_case(kind, args.quick, seed)
        bg = X_train[rng.choice(len(X_train), n_bg, replace=False)]
        X = X_rows[:n_rows]
        truth = _tree_truth(est, kind, bg, X)
        budgets = [300] if args.quick else [300, 1200]
        cases[label] = run_case(kind, model, bg, X, truth, budgets, seed, reps)
    payload: dict[str, Any] = {
        "benchmark": "shapley",
        "mode": "quick" if args.quick else "full",
        "machine": machine_info(),
        "machine_line": machine_line(),
        "seed": seed,
        "torch_threads": 2,
        "budget_counts": "coalitions per explained row (the model sees budget × background rows per row)",
        "error": "median over rows of ||phi_hat - phi||^2 / ||phi||^2",
        "shap_kernel_l1_reg": False,
        "cases": cases,
        "throughput": throughput(args.quick, seed),
    }
    payload["total_seconds"] = time.perf_counter() - t_start
    payload["load_average_1min"] = {"start": load_start[0], "end": os.getloadavg()[0]}
    write_results("shapley", payload, _table(payload), out=args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
