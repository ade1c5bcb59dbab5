"""How far fine-tune twins sit from the original, against retrained twins (CompareConfig.twin_epochs/twin_lr).

Per data set and original (the MLP (32, 32) recipe of ``benchmarks/verdict.py``, seeds 0 and 1):
3 retrained twins (other seeds) and, for each (epochs, lr) setting, 3 fine-tune twins
(``leanlens.compare.twins._finetune_twin``: continued Adam training from the original's
weights with another seed). The IG distance to the original (deterministic, so noise-free) on
100 test rows, 50 background rows; the fine-tune settings whose distance is closest to the
retrained twins' make the right default.

Run: ``PYTHONPATH=src python benchmarks/verdict_twins.py [--data additive,breast_cancer]``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_line, write_results
from verdict import load, recipe

SETTINGS = [(1, 1e-3), (3, 1e-3), (10, 1e-3), (3, 3e-3), (10, 3e-3), (30, 3e-3)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="additive,breast_cancer")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    import torch

    import leanlens
    from leanlens.compare.estimate import explain_models
    from leanlens.compare.statistics import distances
    from leanlens.compare.twins import _finetune_twin
    from leanlens.explain.base import resolve_targets

    torch.set_num_threads(1)
    rows = []
    for name in args.data.split(","):
        ds, _, _ = load(name)
        for seed in (0, 1):
            o = leanlens.train(ds, recipe(name, seed))
            X, bg = ds.X_test[:100], ds.X_train[:50]
            models = {"original": o}
            for s in (101, 102, 103):
                models[f"retrained{s}"] = leanlens.train(ds, recipe(name, seed * 1000 + s))
            for ep, lr in SETTINGS:
                for s in (201, 202, 203):
                    models[f"ft{ep}_{lr:g}_{s}"] = _finetune_twin(o, ds, ep, lr, seed * 1000 + s)
            es = explain_models(models, "ig", X, resolve_targets(o, X, "predicted"), bg, None, (0, 1))
            d = {k: distances(es.phi["original"], es.phi[k]).distance() for k in models if k != "original"}
            retrained = float(np.mean([v for k, v in d.items() if k.startswith("retrained")]))
            res = {"data": name, "seed": seed, "retrained": retrained}
            for ep, lr in SETTINGS:
                ft = float(np.mean([v for k, v in d.items() if k.startswith(f"ft{ep}_{lr:g}_")]))
                res[f"{ep} ep @ {lr:g}"] = ft / retrained
            rows.append(res)
            print(json.dumps(res), flush=True)
    head = [f"{ep} ep @ {lr:g}" for ep, lr in SETTINGS]
    lines = [machine_line(), "", "IG distance of fine-tune twins to the original ÷ that of retrained twins", "",
             "| data | seed | retrained twins' distance | " + " | ".join(head) + " |",
             "|---|---|---|" + "---|" * len(head)]
    lines += [f"| {r['data']} | {r['seed']} | {r['retrained']:.3f} | " + " | ".join(f"{r[h]:.2f}" for h in head) + " |"
              for r in rows]
    write_results("verdict_twins", {"rows": rows, "settings": SETTINGS}, "\n".join(lines), out=args.out)


if __name__ == "__main__":
    main()
