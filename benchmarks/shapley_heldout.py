"""Held-out check of the ``shapley`` chooser and gp above 16 players (not the benchmark's cases).

Models the accuracy benchmark (``benchmarks/shapley.py``) never sees: ReLU/tanh MLPs with other
seeds (2401–2408) and widths (32–128) at d = 20–40, and gradient-boosting / random-forest
classifiers on synthetic data (``make_classification``, d = 22–36; TreeSHAP truth); one baseline
row or a 50-row background; 12 rows; budgets 10·d and 40·d. Per setting: each estimator's median
relative squared error ÷ shap.KernelExplainer's at the same budget (kernel, polyshap, gp with its
default 128 fit points, gp with ``fit_points = 8·d``), its CPU seconds per row, and which
estimator each chooser rule picks (no ground truth involved):

- ``A``: the session-3 rule, gp's overhead allowance 50 ms per row at every d;
- ``B``: the allowance grows with d above 16 players (50 ms × d/16), session 4's rule (session 5's
  rule, (d/16)^1.5 with 8·d fit points, is checked over 5 seeds by ``shapley_wide_seeds.py``);
- ``C``: B, with gp fitting on 8·d coalitions above 16 players (dearer, so less often chosen).

MLP truth is our KernelSHAP at 2 × 2^15 coalitions (as in the accuracy benchmark). Accuracy does
not depend on load; the CPU figures do. Every ratio is one seed (ours ``random_state=0``, shap
``np.random.seed(0)``): a single setting's ratio moves by ±30 % between seeds, see
``benchmarks/shapley_kernel_seeds.py`` (kernel ÷ shap over 8 seeds on the MLPs here). Run niced: ``python benchmarks/shapley_heldout.py``
(~25 min on 2 busy cores; ``--only 0,1,2`` runs some cases, e.g. two halves in parallel, each
with ``--out``; ``--merge`` renders the halves' rows together).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import shapley as bench  # the accuracy benchmark's models, truth and shap runner
from _common import machine_line, write_results

import leanlens
import leanlens.explain.shapley.chooser as chooser
from leanlens.explain.base import get_explainer

#: (kind, activation, d, width, seed, background rows)
CASES: list[tuple[str, str | None, int, int, int, int]] = [
    ("mlp", "relu", 20, 48, 2401, 1), ("mlp", "tanh", 24, 96, 2402, 1), ("mlp", "relu", 34, 32, 2403, 1),
    ("mlp", "tanh", 40, 64, 2404, 1), ("mlp", "relu", 40, 128, 2405, 1), ("mlp", "tanh", 28, 48, 2406, 1),
    ("mlp", "relu", 26, 64, 2407, 50), ("mlp", "tanh", 34, 96, 2408, 50),
    ("gbc", None, 25, 0, 2409, 1), ("rf", None, 36, 0, 2410, 1), ("gbc", None, 36, 0, 2411, 50), ("rf", None, 22, 0, 2412, 50),
]
RULES = {"A": (False, False), "B": (True, False), "C": (True, True)}  # (allowance ∝ d, gp on 8·d fit points)
ESTIMATORS = (("kernel", "kernel", False), ("polyshap", "polyshap", False), ("gp", "gp", False), ("gp8d", "gp", True))


def _tree_case(kind: str, d: int, seed: int) -> tuple[Any, Any, np.ndarray, np.ndarray]:
    from sklearn.datasets import make_classification
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier

    X, y = make_classification(n_samples=800, n_features=d, n_informative=d // 2, random_state=seed)
    X = X.astype(np.float32)
    if kind == "gbc":
        est = GradientBoostingClassifier(n_estimators=60, max_depth=3, random_state=seed).fit(X[:600], y[:600])
        model = leanlens.as_model(lambda Z: est.decision_function(Z), n_features=d)
    else:
        est = RandomForestClassifier(n_estimators=40, max_depth=6, random_state=seed, n_jobs=1).fit(X[:600], y[:600])
        model = leanlens.as_model(lambda Z: est.predict_proba(Z)[:, 1], n_features=d)
    return est, model, X[:600], X[600:]


def choose(rule: str, d: int, m: int, cost_class: float, n_bg: int) -> str:
    """The chooser's pick under ``rule`` (a copy of ``choose_estimator`` with the two knobs)."""
    scale, fit_8d = RULES[rule]
    allowance = chooser.OVERHEAD_ALLOWANCE_SECONDS * (max(1.0, d / 16) if scale else 1.0)
    fit_points = 8 * d if fit_8d and d > 16 else chooser.GP_FIT_POINTS  # session 4: 128 unless told
    model_seconds = cost_class * m * n_bg
    if m <= chooser.GP_MAX_BUDGET:
        if chooser.predicted_overhead("gp", d, m, fit_points=fit_points) <= max(allowance, chooser.GP_EXTRA_MODEL_TIME * model_seconds):
            return "gp8d" if fit_points else "gp"
    if chooser.choose_basis(d, m)[0] == "order2":
        return "kernel"
    extra = chooser.predicted_overhead("polyshap", d, m) - chooser.predicted_overhead("kernel", d, m)
    worth = chooser.POLY_EXTRA_MODEL_TIME * (model_seconds + chooser.predicted_overhead("kernel", d, m))
    return "polyshap" if extra <= worth else "kernel"


def run_case(kind: str, act: str | None, d: int, width: int, seed: int, n_bg: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    if kind == "mlp":
        assert act is not None
        model = bench._mlp(d, act, seed, width)
        pool = rng.normal(size=(200, d)).astype(np.float32)
        bg = pool[:100].mean(axis=0, keepdims=True) if n_bg == 1 else pool[:n_bg]
        X = pool[100:112]
        truth, _ = bench._reference(model, bg, X, 0)
        label = f"{act} MLP d={d} w={width} seed={seed} bg{n_bg}"
    else:
        est, model, X_train, X_rest = _tree_case(kind, d, seed)
        bg = X_train.mean(axis=0, keepdims=True) if n_bg == 1 else X_train[rng.choice(len(X_train), n_bg, replace=False)]
        X = X_rest[:12]
        truth = bench._tree_truth(est, bg, X)
        label = f"{kind} d={d} seed={seed} bg{n_bg}"
    cost_class = chooser.model_cost_class(chooser._seconds_per_model_row(model, bg))
    rows = []
    for mult in (10, 40):
        m = mult * d
        shap_err = float(np.median(bench._rel_err(bench._shap_kernel(bench._Counted(model), bg, X, m, 0), truth)))
        ratios, cpu = {}, {}
        for name, method, fit_8d in ESTIMATORS:
            params = {"fit_points": 8 * d} if fit_8d else {}
            t0 = time.process_time()
            e = get_explainer(method)(model, background=bg, budget=m, random_state=0, **params).explain(X, target=0)
            cpu[name] = (time.process_time() - t0) / len(X)
            ratios[name] = float(np.median(bench._rel_err(e.values, truth))) / shap_err
        picks = {rule: choose(rule, d, m, cost_class, len(bg)) for rule in RULES}
        row = {"case": label, "d": d, "m": m, "mult": mult, "background_rows": len(bg), "cost_class": cost_class,
               "shap_kernel_err": shap_err, "ratios": ratios, "cpu_s_per_row": cpu, "picks": picks,
               "chosen_ratio": {rule: ratios[p] for rule, p in picks.items()}}
        print(label, m, " ".join(f"{k} {v:.2f}" for k, v in ratios.items()), "| picks", picks, flush=True)
        rows.append(row)
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| case | m | kernel | polyshap | gp | gp 8·d fit points | rule A (50 ms) | rule B (50 ms × d/16, adopted) |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        q = r["ratios"]
        lines.append(f"| {r['case']} | {r['m']} | {q['kernel']:.2f} | {q['polyshap']:.2f} | {q['gp']:.2f} | {q['gp8d']:.2f} | "
                     f"{r['picks']['A']} {r['chosen_ratio']['A']:.2f} | {r['picks']['B']} {r['chosen_ratio']['B']:.2f} |")
    lines += ["", "| budget | rule A median / worst | rule B median / worst | rule C median / worst | gp | gp 8·d |",
              "|---|---|---|---|---|---|"]
    for mult in (10, 40):
        sel = [r for r in rows if r["mult"] == mult]
        if not sel:
            continue
        cell = [f"{np.median(v):.2f} / {max(v):.2f}" for v in
                ([r["chosen_ratio"][k] for r in sel] for k in RULES)]
        cell += [f"{np.median(v):.2f} / {max(v):.2f}" for v in ([r["ratios"][k] for r in sel] for k in ("gp", "gp8d"))]
        lines.append(f"| {mult}·d ({len(sel)} settings) | " + " | ".join(cell) + " |")
    lines += ["", f"{machine_line()}; error ratios against shap.KernelExplainer at equal budget (accuracy does not depend on load)."]
    return "\n".join(lines)


def _rows(path: Path) -> list[dict[str, Any]]:
    """The rows of a ``shapley_heldout.json`` written by this script, or of a JSON-lines file."""
    text = path.read_text()
    try:
        return list(json.loads(text)["rows"])
    except (json.JSONDecodeError, KeyError, TypeError):
        return [json.loads(line) for line in text.splitlines() if line.strip()]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default=None, help="comma-separated case indices (0–11) to run")
    ap.add_argument("--out", type=Path, default=None, help="results folder (default benchmarks/results)")
    ap.add_argument("--merge", nargs="*", type=Path, default=(), help="render the rows of these results files (or JSON lines) instead")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    if args.merge:
        rows = [row for f in args.merge for row in _rows(f)]
    else:
        pick = None if args.only is None else {int(i) for i in args.only.split(",")}
        rows = [r for i, c in enumerate(CASES) if pick is None or i in pick for r in run_case(*c)]
    write_results("shapley_heldout", {"benchmark": "shapley_heldout", "rows": rows, "machine_line": machine_line()},
                  table(rows), out=args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
