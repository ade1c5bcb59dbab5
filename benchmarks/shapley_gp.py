"""The ``gp`` Shapley estimator against shap.KernelExplainer at equal model evaluations (issue 11, item 2).

Cases: trained ReLU and tanh MLPs (2×64) on synthetic regression data, d ∈ {10, 12, 16}
(``--d``), one seed per case (``--seeds``; seed 0 was used while tuning, others were not);
one baseline row (the training mean) or a 50-row background; budgets 10·d and 40·d
coalitions per explained row for every method (shap's ``nsamples`` = our ``budget``).
Ground truth: our exact enumeration of the same game. Figure of merit: the median over
rows of ‖φ̂ − φ‖² / ‖φ‖², reported as the ratio ours ÷ shap's; also ours ``kernel`` for
reference, the gp's efficiency residual, the 95% coverage of its standard errors and its
overhead per row (time outside model calls, from ``Explanation.params``).

    python benchmarks/shapley_gp.py                      # d 10 12 16, seeds 1 2, both backgrounds
    python benchmarks/shapley_gp.py --d 12 --seeds 0 --rows 8
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import leanlens
from leanlens.explain.shapley import ExactShapley, KernelShap
from leanlens.explain.shapley.gp import GPShap


def _rel_err(est: np.ndarray, truth: np.ndarray) -> np.ndarray:
    return np.sum((est - truth) ** 2, axis=1) / np.maximum(np.sum(truth**2, axis=1), 1e-300)


def _shap_kernel(f: Any, bg: np.ndarray, X: np.ndarray, m: int, seed: int) -> np.ndarray:
    import shap

    np.random.seed(seed)  # noqa: NPY002 — shap samples with the global NumPy RNG (benchmark only)
    ex = shap.KernelExplainer(f, bg)
    return np.asarray(ex.shap_values(X, nsamples=m, l1_reg=False, silent=True))


def _mlp(d: int, act: str, seed: int) -> tuple[Any, np.ndarray, np.ndarray]:
    ds = leanlens.datasets.synthetic(n=3000, n_features=d, task="regression", random_state=seed)
    cfg = leanlens.TrainConfig(hidden=(64, 64), dropout=0.0, epochs=20, batch_size=128, activation=act,
                               random_state=seed)
    model = leanlens.train(ds, cfg, progress=False)
    model.batch_size = 1 << 16
    return model, ds.X_train, ds.X_test


def run(d: int, act: str, seed: int, n_bg: int, rows: int, gp_params: dict[str, Any]) -> list[dict[str, Any]]:
    model, X_train, X_test = _mlp(d, act, seed)
    rng = np.random.default_rng(seed)
    bg = X_train.mean(axis=0, keepdims=True) if n_bg == 1 else X_train[rng.choice(len(X_train), n_bg, replace=False)]
    X = X_test[:rows]
    truth = ExactShapley(model, background=bg, max_background=1000).explain(X, target=0).values
    f = lambda Z: model.output(Z)[:, 0]  # noqa: E731
    out = []
    for mult in (10, 40):
        m = mult * d
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = _shap_kernel(f, bg, X, m, seed)
        ker = KernelShap(model, background=bg, budget=m, random_state=seed).explain(X, target=0).values
        t0 = time.perf_counter()
        e = GPShap(model, background=bg, budget=m, random_state=seed, **gp_params).explain(X, target=0)
        secs = time.perf_counter() - t0
        e_ref = float(np.median(_rel_err(ref, truth)))
        r = {
            "case": f"{act} d={d} seed={seed} bg={n_bg}", "budget": f"{mult}d", "shap_err": e_ref,
            "gp_ratio": float(np.median(_rel_err(e.values, truth))) / e_ref,
            "kernel_ratio": float(np.median(_rel_err(ker, truth))) / e_ref,
            "coverage": float(np.mean(np.abs(e.values - truth) <= 1.96 * e.stderr)),
            "efficiency": float(np.max(np.abs(e.values.sum(axis=1) + e.base_values - f(X)))),
            "overhead_ms_per_row": e.params["overhead_ms_per_row"],
            "overhead_cpu_ms_per_row": e.params["overhead_cpu_ms_per_row"], "gp_seconds": secs,
        }
        print(f"{r['case']:28s} {r['budget']:>4s}  shap err {e_ref:.2e}  gp/shap {r['gp_ratio']:.3f}  "
              f"kernel/shap {r['kernel_ratio']:.3f}  cover {r['coverage']:.2f}  eff {r['efficiency']:.1e}  "
              f"overhead {r['overhead_ms_per_row']:.1f} ms/row wall, {r['overhead_cpu_ms_per_row']:.1f} cpu  "
              f"(load {os.getloadavg()[0]:.1f})", flush=True)
        out.append(r)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--d", type=int, nargs="+", default=[10, 12, 16])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--acts", nargs="+", default=["relu", "tanh"])
    ap.add_argument("--bg", type=int, nargs="+", default=[1, 50])
    ap.add_argument("--rows", type=int, default=10)
    ap.add_argument("--adaptive", action="store_true")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    gp_params = {"adaptive": True} if args.adaptive else {}
    results = []
    for seed in args.seeds:
        for d in args.d:
            for act in args.acts:
                for n_bg in args.bg:
                    results += run(d, act, seed, n_bg, args.rows, gp_params)
    for b in ("10d", "40d"):
        g = [r["gp_ratio"] for r in results if r["budget"] == b]
        k = [r["kernel_ratio"] for r in results if r["budget"] == b]
        if g:
            print(f"{b}: gp/shap median {np.median(g):.3f} range {min(g):.3f}–{max(g):.3f}; "
                  f"kernel/shap median {np.median(k):.3f}; overhead max "
                  f"{max(r['overhead_ms_per_row'] for r in results if r['budget'] == b):.1f} ms/row wall, "
                  f"{max(r['overhead_cpu_ms_per_row'] for r in results if r['budget'] == b):.1f} cpu; "
                  f"coverage mean {np.mean([r['coverage'] for r in results if r['budget'] == b]):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
