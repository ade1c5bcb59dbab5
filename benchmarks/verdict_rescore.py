"""Re-score stored verdict-benchmark rows under other settings of the per-feature share test.

Share tests: ``feature`` is compare()'s (each feature's log share against the mean and spread of the
original and its twins, ``statistics.share_moves``); ``from-original`` is the session-4 test it
replaced (each model's log move *from the original* against the twins' moves: the original's own
draw enters every move, which costs power); ``pair`` the paired test below.

The share test of ``compare()`` (``statistics.share_moves``) sees only each model's feature shares,
which ``benchmarks/verdict.py`` stores per verdict, so its trade-off between power (changed pairs
read changed) and false alarms (held-out twins read changed) can be traced without re-running any
explainer. The distance ratio and an unresolved budget are taken as stored; decision flips decide
the flip pairs as stored.

Rows from ``benchmarks/verdict.py --twins 5`` store five twins' shares; the first three are the
twins a 3-twin run draws (the same seeds, in order), so one run scores both (the distance ratio is
taken as stored, i.e. against all the run's twins).

Run: ``PYTHONPATH=src python benchmarks/verdict_rescore.py benchmarks/results/verdict.json [--grid]``.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict
from typing import Any

import numpy as np

CLASS = {"int8": "same", "prune30-ft": "same", "heldout-twin": "same", "distilled": "same",
         "proxy": "agree", "zeroed-ft": "agree", "prune80": "flips"}


def _run_of(shares: Any) -> np.ndarray:
    """Stored shares as a (1, 1, d) run of attributions (what ``share_moves`` reads)."""
    return np.asarray(shares, dtype=float)[None, None, :]


def _default_share_test() -> dict[str, float]:
    """``share_moves``' settings at compare()'s defaults."""
    from leanlens.compare import CompareConfig

    cfg = CompareConfig()
    return {"floor": cfg.negligible_share / 2, "min_move": cfg.negligible_share, "alpha": cfg.share_alpha,
            "pool": cfg.share_pool}


def paired_moves(so: np.ndarray, sc: np.ndarray, st: np.ndarray, *, floor: float = 0.015, min_move: float = 0.03,
                 alpha: float = 0.05, pool: float = 10.0) -> dict[str, Any]:
    """The paired test: did reliance move from one feature to another beyond the twins' spread?

    For every pair (i, j) of features whose shares moved in opposite directions, the difference of
    their log moves ``m_i − m_j`` is set against the twins' differences of the same pair (shrunk
    toward the typical pair's, as the per-feature test does) at Student's t with ``T + pool``
    degrees of freedom and level ``alpha / (2P)`` (Bonferroni over the P = d(d − 1)/2 pairs). A
    pair flags when that is exceeded and the two shares moved by at least ``min_move`` together.
    A switch to a proxy moves two shares in opposite directions, so the pair's difference adds the
    two moves while the twins' differences of the pair need not grow.
    """
    from scipy import stats

    def log_move(s: np.ndarray) -> np.ndarray:
        return np.asarray(np.log((s + floor) / (so + floor)), dtype=np.float64)

    d = len(so)
    mc, mt = log_move(sc), np.stack([log_move(t) for t in st])
    t = len(mt)
    iu, ju = np.triu_indices(d, k=1)
    dc = mc[iu] - mc[ju]
    dt = mt[:, iu] - mt[:, ju]
    own = (dt**2).mean(axis=0)
    pooled = float(np.median(own) / (stats.chi2.median(t) / t))
    sd = np.sqrt((t * own + pool * pooled) / (t + pool))
    z = np.abs(dc) / np.maximum(sd, 1e-12)
    threshold = float(stats.t.ppf(1 - alpha / (2 * len(dc)), df=t + pool))
    ds = sc - so
    ok = (np.sign(ds[iu]) != np.sign(ds[ju])) & (np.abs(ds[iu]) + np.abs(ds[ju]) >= min_move)
    zz = np.where(ok, z, -1.0)
    k = int(np.argmax(zz))
    return {"pair": (int(iu[k]), int(ju[k])), "z": float(z[k]), "threshold": threshold,
            "z_ratio": float(zz[k] / threshold) if ok.any() else 0.0}


def moves_from_original(so: np.ndarray, sc: np.ndarray, st: np.ndarray, *, floor: float = 0.015,
                        min_move: float = 0.03, alpha: float = 0.05, pool: float = 10.0) -> float:
    """The session-4 per-feature test's ``z_ratio``: the log move ``log((s_c + f)/(s_o + f))`` divided
    by the twins' root-mean-square moves of that feature, shrunk toward the typical feature's."""
    from scipy import stats

    d = len(so)
    mc = np.log((sc + floor) / (so + floor))
    mt = np.log((st + floor) / (so + floor))
    t = len(mt)
    own = (mt**2).mean(axis=0)
    pooled = float(np.median(own) / (stats.chi2.median(t) / t))
    sd = np.sqrt((t * own + pool * pooled) / (t + pool))
    z = np.abs(mc) / np.maximum(sd, 1e-12)
    threshold = float(stats.t.ppf(1 - alpha / (2 * d), df=t + pool))
    big = np.abs(sc - so) >= min_move
    return float(np.where(big, z, -1.0).max() / threshold) if big.any() else 0.0


def feature_distance_test(qc: np.ndarray, qt: np.ndarray, *, floor: float = 0.03, alpha: float = 0.05,
                          pool: float = 10.0) -> float:
    """``z_ratio`` of a per-feature *distance* test (tried in session 5, not adopted): feature j's part
    ``q_j`` of the noise-corrected squared distance to the original (row by row, signed attributions;
    stored as ``feature_sq`` by the session-5 design run ``verdict_design_s5_ig_featuredist.json``)
    on a log scale ``log(q_j + g)`` (``g = floor`` × the twins' mean total), one-sided against the
    twins' mean and spread of that feature (shrunk toward the typical feature's) at level alpha/d."""
    from scipy import stats

    qc, qt = np.maximum(qc, 0.0), np.maximum(qt, 0.0)
    t, d = qt.shape
    g = floor * float(qt.sum(axis=1).mean())
    lc, lt = np.log(qc + g), np.log(qt + g)
    var = lt.var(axis=0, ddof=1)
    typ = float(np.median(var) / (stats.chi2.median(t - 1) / (t - 1)))
    sd = np.sqrt(((t - 1) * var + pool * typ) / (t - 1 + pool)) * np.sqrt(1 + 1 / t)
    z = (lc - lt.mean(axis=0)) / np.maximum(sd, 1e-12)
    return float(z.max() / stats.t.ppf(1 - alpha / d, df=t - 1 + pool))


def status(r: dict[str, Any], n_twins: int | None = None, test: str = "feature", **kw: float) -> str:
    """The explainer's status under the share test ``test`` ("feature": compare()'s per-feature test;
    "from-original": the session-4 test; "pair": the paired test; "both": feature or pair, each at half
    the level; "distance": ``feature_distance_test``; "feature+distance": feature or distance, each at
    half the level), with the first ``n_twins``
    stored twins (all when None; the distance ratio is taken as stored)."""
    from leanlens.compare.statistics import share_moves

    sh = r["shares"]
    twins = sh["twins"][:n_twins] if n_twins else sh["twins"]
    flagged = False
    arr = lambda s: np.asarray(s, dtype=float)  # noqa: E731
    if test == "from-original":
        flagged |= moves_from_original(arr(sh["original"]), arr(sh["compressed"]), np.stack([arr(t) for t in twins]),
                                       **kw) >= 1
    if test in ("distance", "feature+distance"):
        fq = r["feature_sq"]
        k = dict(kw, alpha=kw.get("alpha", 0.05) / (2 if test == "feature+distance" else 1))
        flagged |= feature_distance_test(arr(fq["compressed"]), arr(fq["twins"][:n_twins] if n_twins else fq["twins"]),
                                         alpha=k["alpha"]) >= 1
    if test in ("feature", "both", "feature+distance"):
        k = dict(kw, alpha=kw.get("alpha", 0.05) / (2 if test == "both" else 1))
        flagged |= share_moves(_run_of(sh["original"]), _run_of(sh["compressed"]), [_run_of(t) for t in twins], **k)["z_ratio"] >= 1
    if test in ("pair", "both"):
        k = dict(kw, alpha=kw.get("alpha", 0.05) / (2 if test == "both" else 1))
        flagged |= paired_moves(arr(sh["original"]), arr(sh["compressed"]), np.stack([arr(t) for t in twins]),
                                **k)["z_ratio"] >= 1
    ratio = r["ratio"]
    if (ratio["value"] >= 1.5 and ratio["lo"] >= 1.0) or flagged:
        return "changed"
    if r.get("unresolved"):
        return "unclear"
    return "same" if ratio["value"] < 1.5 else "unclear"


def score(rows: list[dict[str, Any]], n_twins: int | None = None, test: str = "feature", **kw: float
          ) -> dict[tuple[str, str], Counter[bool]]:
    out: dict[tuple[str, str], Counter[bool]] = defaultdict(Counter)
    for r in rows:
        if r.get("verdict") in (None, "n/a") or not r.get("shares"):
            continue
        cls = CLASS[r["pair"]]
        st = "changed" if cls == "flips" and r["verdict"] == "changed" else status(r, n_twins, test, **kw)
        out[(r["explainer"], cls)][st == ("same" if cls == "same" else "changed")] += 1
        if r["pair"] == "heldout-twin":
            out[(r["explainer"], "held-out twin read changed")][st == "changed"] += 1
    return out


def twin_like_draws(rows: list[dict[str, Any]], *, explainer: str | None = None, leave_one_out: bool = False
                    ) -> list[tuple[list[float], list[float], list[list[float]]]]:
    """(original, model, 3 twins) share triples of models that decide for the same reasons by
    construction: every held-out twin, and — from runs that stored more than 3 twins — each twin past
    the third judged against the original and the first 3 (one per (data set, seed, explainer));
    with ``leave_one_out`` every stored twin, each against the original and the first 3 of the others.
    ``explainer``: only that explainer's rows."""
    out, seen = [], set()
    for r in rows:
        sh = r.get("shares")
        if not sh or r.get("verdict") in (None, "n/a") or (explainer and r["explainer"] != explainer):
            continue
        key = (r["data"], r["seed"], r["explainer"])
        tw = sh["twins"]
        if len(tw) > 3 and key not in seen:
            seen.add(key)
            if leave_one_out:
                out += [(sh["original"], tw[i], [x for j, x in enumerate(tw) if j != i][:3]) for i in range(len(tw))]
            else:
                out += [(sh["original"], t, tw[:3]) for t in tw[3:]]
        if r["pair"] == "heldout-twin":
            out.append((sh["original"], sh["compressed"], tw[:3]))
    return out


def curve(rows: list[dict[str, Any]]) -> None:
    """The share test's trade-off over ``share_alpha`` (3 twins, 2-point move, pool 10): the share of
    twin-like draws it flags against the share of changed-with-agreement pairs the rule reads changed."""
    from leanlens.compare.statistics import share_moves

    nulls = twin_like_draws(rows)
    alt = [r for r in rows if r.get("shares") and CLASS.get(r.get("pair", "")) == "agree"]
    print(f"\nTrade-off over share_alpha (3 twins, 2-point move, pool 10; {len(nulls)} twin-like draws):\n")
    print("| share_alpha | twin-like draws flagged | " + " | ".join(
        f"changed (agree) read changed, {e}" for e in sorted({r["explainer"] for r in alt})) + " |")
    print("|---|---|" + "---|" * len({r["explainer"] for r in alt}))
    for a in (0.005, 0.01, 0.02, 0.025, 0.05, 0.1):
        k = {"floor": 0.01, "min_move": 0.02, "alpha": a, "pool": 10.0}
        fa = sum(share_moves(_run_of(o), _run_of(c), [_run_of(t) for t in ts], **k)["z_ratio"] >= 1 for o, c, ts in nulls)
        cells = []
        for e in sorted({r["explainer"] for r in alt}):
            sel = [r for r in alt if r["explainer"] == e]
            ok = sum(status(r, 3, "feature", **k) == "changed" for r in sel)
            cells.append(f"{ok}/{len(sel)} ({ok / len(sel):.0%})")
        print(f"| {a:g} | {fa}/{len(nulls)} ({fa / max(len(nulls), 1):.1%}) | " + " | ".join(cells) + " |")


def moderated_z_ratio(so: Any, sc: Any, st: list[Any], *, prior: str, alpha: float = 0.01, pool: float = 10.0,
                      floor: float = 0.01, min_move: float = 0.02) -> float:
    """``z_ratio`` of the per-feature share test with another prior for each feature's variance.

    ``median`` is compare()'s own test (``statistics.share_moves``: the median feature's variance, worth
    ``pool`` twins); ``trend`` replaces it by the median over the d/3 features nearest in mean
    log share (a spread that depends on the share's size); ``limma`` estimates the prior's
    variance and degrees of freedom from the d features' variances by Smyth's moments
    (Stat. Appl. Genet. Mol. Biol. 2004, limma's ``squeezeVar``), so the data set the pooling
    weight instead of a fixed ``pool``.
    """
    from scipy import optimize, special, stats

    if prior == "median":
        from leanlens.compare.statistics import share_moves

        return float(share_moves(_run_of(so), _run_of(sc), [_run_of(x) for x in st], floor=floor, min_move=min_move, alpha=alpha,
                                 pool=pool)["z_ratio"])
    lo, lc = np.log(np.asarray(so) + floor), np.log(np.asarray(sc) + floor)
    lt = np.log(np.stack([np.asarray(t) for t in st]) + floor)
    t, d = len(lt), len(lo)
    group = np.vstack([lo[None], lt])
    centre, own = group.mean(axis=0), group.var(axis=0, ddof=1)
    scale = stats.chi2.median(t) / t
    if prior == "trend":
        order, k = np.argsort(centre), max(5, d // 3)
        s0 = np.empty(d)
        for i, j in enumerate(order):
            start = max(0, min(i - k // 2, d - k))
            s0[j] = np.median(own[order[start:start + k]]) / scale
        d0 = pool
    elif prior == "limma":
        e = np.log(np.maximum(own, 1e-300)) - special.digamma(t / 2) + np.log(t / 2)
        v = float(np.var(e, ddof=1)) - float(special.polygamma(1, t / 2))
        f = lambda x: float(special.polygamma(1, x / 2)) - v  # noqa: E731
        d0 = optimize.brentq(f, 1e-3, 1e3) if v > 0 and f(1e-3) > 0 > f(1e3) else 1e3
        s0 = np.full(d, np.exp(e.mean() + special.digamma(d0 / 2) - np.log(d0 / 2)))
    else:
        raise ValueError(prior)
    sd = np.sqrt((t * own + d0 * s0) / (t + d0)) * np.sqrt(1 + 1 / (t + 1))
    z = np.abs(lc - centre) / np.maximum(sd, 1e-12)
    big = np.abs(np.asarray(sc) - np.asarray(so)) >= min_move
    threshold = float(stats.t.ppf(1 - alpha / (2 * d), df=t + d0))
    return float(z[big].max() / threshold) if big.any() else 0.0


def priors(rows: list[dict[str, Any]]) -> None:
    """Power against false alarms of the share test under three variance priors (``moderated_z_ratio``).

    False alarms are counted on twin-like draws: every held-out twin, and in runs that stored 5
    twins each twin judged against the original and 3 of the other 4 (leave one out, so a run
    gives 5). Power: changed-with-agreement pairs read changed (the share test, or the distance
    ratio as stored)."""
    alt = [r for r in rows if r.get("shares") and CLASS.get(r.get("pair", "")) == "agree"]
    exs = sorted({r["explainer"] for r in alt})
    print("\nVariance priors of the share test (3 twins; 2-point move):\n")
    print("| prior | pool | share_alpha | " + " | ".join(f"{e}: twin-like draws flagged | {e}: changed (agree) read changed"
                                                     for e in exs) + " |")
    print("|---|---|---|" + "---|---|" * len(exs))
    for prior, pools in (("median", (10.0, 20.0, 40.0)), ("trend", (10.0, 20.0)), ("limma", (0.0,))):
        for pool in pools:
            for a in (0.01, 0.02, 0.05):
                cells = []
                for e in exs:
                    nl = twin_like_draws(rows, explainer=e, leave_one_out=True)
                    fa = sum(moderated_z_ratio(o, c, t, prior=prior, alpha=a, pool=pool) >= 1 for o, c, t in nl)
                    sel = [r for r in alt if r["explainer"] == e]
                    ok = sum(moderated_z_ratio(r["shares"]["original"], r["shares"]["compressed"], r["shares"]["twins"][:3],
                                               prior=prior, alpha=a, pool=pool) >= 1
                             or (r["ratio"]["value"] >= 1.5 and r["ratio"]["lo"] >= 1.0) for r in sel)
                    cells += [f"{fa}/{len(nl)} ({fa / max(len(nl), 1):.0%})", f"{ok}/{len(sel)} ({ok / max(len(sel), 1):.0%})"]
                print(f"| {prior} | {'estimated' if prior == 'limma' else f'{pool:g}'} | {a:g} | " + " | ".join(cells) + " |")


def second_feature(rows: list[dict[str, Any]]) -> None:
    """A second arm for the share test: also flag when two features each moved beyond a lower
    threshold ``t2`` (two-sided Student's t at ``p = √(α₂ / C(d, 2))``, so that under the test's
    normal model two of d features pass it with probability ≤ α₂), beside compare()'s one feature
    beyond its Bonferroni threshold. A proxy switch moves two features at once (the key's share
    falls, its copy's rises), each sometimes just short of the threshold. Counted as in ``priors``."""
    import math

    from scipy import stats

    from leanlens.compare.statistics import share_moves

    k = _default_share_test()

    def flags(so: Any, sc: Any, st: list[Any], alpha2: float) -> bool:
        sh = share_moves(_run_of(so), _run_of(sc), [_run_of(t) for t in st], **k)
        if sh["z_ratio"] >= 1 or not alpha2:
            return bool(sh["z_ratio"] >= 1)
        z = sorted((x for x in sh["z_moved"] if x is not None), reverse=True)
        d = len(sh["z_moved"])
        t2 = stats.t.ppf(1 - math.sqrt(alpha2 / math.comb(d, 2)) / 2, df=len(st) + k["pool"])
        return len(z) > 1 and z[1] >= t2

    alt = [r for r in rows if r.get("shares") and CLASS.get(r.get("pair", "")) == "agree"]
    exs = sorted({r["explainer"] for r in alt})
    print("\nA second arm: two features beyond t2 (3 twins; compare()'s one-feature arm at its defaults):\n")
    print("| α₂ | " + " | ".join(f"{e}: twin-like draws flagged | {e}: changed (agree) read changed" for e in exs) + " |")
    print("|---|" + "---|---|" * len(exs))
    for a2 in (0.0, 0.005, 0.01, 0.02, 0.05):
        cells = []
        for e in exs:
            nl = twin_like_draws(rows, explainer=e, leave_one_out=True)
            fa = sum(flags(o, c, t, a2) for o, c, t in nl)
            sel = [r for r in alt if r["explainer"] == e]
            ok = sum(flags(r["shares"]["original"], r["shares"]["compressed"], r["shares"]["twins"][:3], a2)
                     or (r["ratio"]["value"] >= 1.5 and r["ratio"]["lo"] >= 1.0) for r in sel)
            cells += [f"{fa}/{len(nl)} ({fa / max(len(nl), 1):.0%})", f"{ok}/{len(sel)} ({ok / max(len(sel), 1):.0%})"]
        print(f"| {a2:g}{' (one arm only)' if not a2 else ''} | " + " | ".join(cells) + " |")


def more_twins(rows: list[dict[str, Any]]) -> None:
    """compare()'s share test (its defaults) with the first 3, 4, 5 stored twins, on rows that stored 5: the
    changed-with-agreement pairs it reads changed, and the twin-like draws it flags (held-out twins;
    each stored twin against the original and the first T of the others, when T + 1 are stored)."""
    from leanlens.compare.statistics import share_moves

    k = _default_share_test()
    rows = [r for r in rows if r.get("shares") and len(r["shares"]["twins"]) >= 5]

    def flags(so: Any, sc: Any, st: list[Any]) -> bool:
        return bool(share_moves(_run_of(so), _run_of(sc), [_run_of(t) for t in st], **k)["z_ratio"] >= 1)

    print(f"\nThe share test with more twins ({len(rows)} rows that stored 5 twins):\n")
    print("| explainer | twins | changed (agree): share test reads changed | held-out twins flagged | "
          "stored twins flagged (against the original and T others) |")
    print("|---|---|---|---|---|")
    for e in sorted({r["explainer"] for r in rows}):
        sel = [r for r in rows if r["explainer"] == e]
        for nt in (3, 4, 5):
            alt = [r for r in sel if CLASS.get(r["pair"]) == "agree"]
            ok = sum(flags(r["shares"]["original"], r["shares"]["compressed"], r["shares"]["twins"][:nt]) for r in alt)
            held = [r for r in sel if r["pair"] == "heldout-twin"]
            fa = sum(flags(r["shares"]["original"], r["shares"]["compressed"], r["shares"]["twins"][:nt]) for r in held)
            runs = {(r["data"], r["seed"]): r["shares"] for r in sel}
            draws = [(sh["original"], tw[i], [x for j, x in enumerate(tw) if j != i][:nt])
                     for sh in runs.values() for tw in [sh["twins"]] if len(tw) > nt for i in range(len(tw))]
            fl = sum(flags(o, c, t) for o, c, t in draws)
            loo = f"{fl}/{len(draws)} ({fl / len(draws):.0%})" if draws else "– (needs T + 1 stored)"
            print(f"| {e} | {nt} | {ok}/{len(alt)} ({ok / max(len(alt), 1):.0%}) | {fa}/{len(held)} | {loo} |")


def _frac(sc: Any, cls: str, data: str | None = None) -> str:
    ok = sum(c[True] for (_, k), c in sc.items() if k == cls)
    n = sum(c[True] + c[False] for (_, k), c in sc.items() if k == cls)
    return f"{ok}/{n} ({ok / n:.0%})" if n else "–"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", nargs="+", help="verdict.json files of benchmarks/verdict.py")
    ap.add_argument("--grid", action="store_true", help="also the per-feature test's pool/alpha/move grid")
    ap.add_argument("--alpha", type=float, default=None, help="share_alpha of the main table (default: CompareConfig's)")
    ap.add_argument("--curve", action="store_true",
                    help="also the share test's trade-off over share_alpha: twin-like draws flagged vs changed pairs read")
    ap.add_argument("--priors", action="store_true",
                    help="only the share test under three variance priors (median, trend, limma's estimated prior)")
    ap.add_argument("--second", action="store_true",
                    help="only the share test with a second arm (two features beyond a lower threshold)")
    ap.add_argument("--more-twins", action="store_true",
                    help="only the share test with 3, 4 and 5 of the stored twins (rows that stored 5)")
    args = ap.parse_args()
    from leanlens.compare import CompareConfig

    alpha = CompareConfig().share_alpha if args.alpha is None else args.alpha
    rows, seen = [], set()
    for f in args.results:  # a (data set, seed, pair, explainer) stored twice counts once (the first file's)
        for r in json.load(open(f))["rows"]:
            key = (r.get("data"), r.get("seed"), r.get("pair"), r.get("explainer"))
            if key not in seen:
                seen.add(key)
                rows.append(r)
    if args.priors:
        priors(rows)
        return
    if args.second:
        second_feature(rows)
        return
    if args.more_twins:
        more_twins(rows)
        return
    stored = sorted({len(r["shares"]["twins"]) for r in rows if r.get("shares")})
    print(f"{len(rows)} rows; twins stored per row: {stored}; share_alpha {alpha:g} in the first table\n")
    print("| share test | twins | negligible move | data | explainer | same correct | changed (agree) correct | "
          "held-out twins read changed |")
    print("|---|---|---|---|---|---|---|---|")
    datas = sorted({r["data"] for r in rows})
    explainers = sorted({r["explainer"] for r in rows})
    tests = ["feature", "from-original", "pair"]
    if all(r.get("feature_sq") for r in rows if r.get("shares")):
        tests += ["distance", "feature+distance"]
    for test in tests:
        for nt in sorted({3, *stored}):
            if nt > min(stored):
                continue
            for move in (0.02, 0.03):
                for data in (*datas, "all"):
                    for ex in (*explainers, "all"):
                        sel = [r for r in rows
                               if (data == "all" or r["data"] == data) and (ex == "all" or r["explainer"] == ex)]
                        sc = score(sel, nt, test, floor=move / 2, min_move=move, alpha=alpha, pool=10.0)
                        print(f"| {test} | {nt} | {move:g} | {data} | {ex} | {_frac(sc, 'same')} | {_frac(sc, 'agree')} | "
                              f"{_frac(sc, 'held-out twin read changed')} |")
    if args.curve:
        curve(rows)
    if not args.grid:
        return
    print("\nThe per-feature test's settings (3 twins; the distance ratio as stored):\n")
    print("| share_pool | share_alpha | negligible move | same correct | changed (agree) correct | "
          "held-out twins read changed |")
    print("|---|---|---|---|---|---|")
    for pool in (3.0, 5.0, 10.0, 20.0):
        for alpha in (0.01, 0.025, 0.05, 0.1):
            for move in (0.01, 0.02, 0.03):
                sc = score(rows, 3, floor=move / 2, min_move=move, alpha=alpha, pool=pool)
                mark = " (default)" if (pool, alpha, move) == (10.0, 0.01, 0.02) else ""
                print(f"| {pool:g}{mark} | {alpha:g} | {move:g} | {_frac(sc, 'same')} | {_frac(sc, 'agree')} | "
                      f"{_frac(sc, 'held-out twin read changed')} |")


if __name__ == "__main__":
    main()
