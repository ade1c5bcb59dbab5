"""Re-score stored verdict-benchmark rows under other settings of the per-feature share test.

The share test of ``compare()`` (``statistics.share_moves``) sees only each model's feature shares,
which ``benchmarks/verdict.py`` stores per verdict, so its trade-off between power (changed pairs
read changed) and false alarms (held-out twins read changed) can be traced without re-running any
explainer. The distance ratio and an unresolved budget are taken as stored; decision flips decide
the flip pairs as stored.

Run: ``PYTHONPATH=src python benchmarks/verdict_rescore.py benchmarks/results/verdict.json``.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict
from typing import Any

import numpy as np

CLASS = {"int8": "same", "prune30-ft": "same", "heldout-twin": "same", "distilled": "same",
         "proxy": "agree", "zeroed-ft": "agree", "prune80": "flips"}


def status(r: dict[str, Any], **kw: float) -> str:
    from leanlens.compare.statistics import share_moves

    sh = r["shares"]
    one = lambda s: np.asarray(s, dtype=float)[None, None, :]  # noqa: E731 - shares as a (1, 1, d) run
    res = share_moves(one(sh["original"]), one(sh["compressed"]), [one(t) for t in sh["twins"]], **kw)
    ratio = r["ratio"]
    if (ratio["value"] >= 1.5 and ratio["lo"] >= 1.0) or res["z_ratio"] >= 1.0:
        return "changed"
    if r.get("unresolved"):
        return "unclear"
    return "same" if ratio["value"] < 1.5 else "unclear"


def score(rows: list[dict[str, Any]], **kw: float) -> dict[tuple[str, str], Counter[bool]]:
    out: dict[tuple[str, str], Counter[bool]] = defaultdict(Counter)
    for r in rows:
        if r.get("verdict") in (None, "n/a") or not r.get("shares"):
            continue
        cls = CLASS[r["pair"]]
        st = "changed" if cls == "flips" and r["verdict"] == "changed" else status(r, **kw)
        out[(r["explainer"], cls)][st == ("same" if cls == "same" else "changed")] += 1
        if r["pair"] == "heldout-twin":
            out[(r["explainer"], "held-out twin read changed")][st == "changed"] += 1
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", nargs="+", help="verdict.json files of benchmarks/verdict.py")
    args = ap.parse_args()
    rows = [r for f in args.results for r in json.load(open(f))["rows"]]
    print("| share_pool | share_alpha | negligible move | same correct | changed (agree) correct | "
          "held-out twins read changed |")
    print("|---|---|---|---|---|---|")
    for pool in (3.0, 5.0, 10.0, 20.0):
        for alpha in (0.05, 0.1):
            for move in (0.03, 0.02):
                sc = score(rows, floor=0.015, min_move=move, alpha=alpha, pool=pool)

                def frac(cls: str, sc: Any = sc) -> str:
                    ok = sum(c[True] for (_, k), c in sc.items() if k == cls)
                    n = sum(c[True] + c[False] for (_, k), c in sc.items() if k == cls)
                    return f"{ok}/{n} ({ok / n:.0%})" if n else "–"

                mark = " (default)" if (pool, alpha, move) == (10.0, 0.05, 0.03) else ""
                print(f"| {pool:g}{mark} | {alpha:g} | {move:g} | {frac('same')} | {frac('agree')} | "
                      f"{frac('held-out twin read changed')} |")


if __name__ == "__main__":
    main()
