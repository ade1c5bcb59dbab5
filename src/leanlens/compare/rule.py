"""The verdict rule of :class:`~leanlens.compare.CompareConfig`, its reasons and its one sentence."""

from __future__ import annotations

from typing import Any, Literal

from .config import CompareConfig

__all__ = ["Verdict", "explainer_status", "overall_verdict"]

Verdict = Literal["same-reasons", "changed", "inconclusive"]
Status = Literal["same", "changed", "unclear"]


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _r(x: float | None) -> str:
    if x is None or x != x:
        return "?"
    return "∞" if x == float("inf") else f"{x:.2f}"


def explainer_status(e: dict[str, Any], cfg: CompareConfig, names: tuple[str, ...], yardstick: str
                     ) -> tuple[Status, str]:
    """(status, reason) of one explainer's results ``e`` under the rule of CompareConfig."""
    r = e["ratio"]
    sh = e["share"]
    fname = names[sh["feature"]] if 0 <= sh["feature"] < len(names) else f"feature {sh['feature']}"
    fig = (f"distance to the original {e['distance']['value']:.3f} vs {yardstick} {e['yardstick']['value']:.3f}: "
           f"ratio {_r(r['value'])} (interval {_r(r['lo'])}–{_r(r['hi'])})")
    share_txt = (f"{fname}'s share of the importance {_pct(sh['share_original'])} → {_pct(sh['share_compressed'])}"
                 f", a factor {sh['factor']:.2f}; {sh['z']:.1f} spreads from the mean of the original and its "
                 f"{yardstick} (a spread there is a factor {_r(sh['twin_spread'])}); beyond {sh['threshold']:.1f} is a "
                 f"change at level {cfg.share_alpha:g} over {len(names)} features")
    unresolved = e.get("unresolved")
    if e["yardstick"]["value"] <= 0 and not e["distance"]["value"] > 0:
        return "same", f"explanations are identical to the original's ({fig})"
    if e["yardstick"]["value"] <= 0:
        return "unclear", (f"the yardstick is zero — a deterministic explainer has no seed-to-seed noise, so without "
                           f"twins nothing can be said ({fig})")
    share_big = sh["move"] >= cfg.negligible_share and sh["z_ratio"] >= 1.0
    if r["value"] >= cfg.changed_ratio and r["lo"] >= 1.0:
        return "changed", (f"explanations moved farther than the {yardstick}' (the distance ratio decided: {fig} ≥ "
                           f"{cfg.changed_ratio})")
    # the twins are explained at the same budget, so their share spread carries the same estimator
    # noise: the share test holds at any budget, resolved or not
    if share_big:
        return "changed", f"one feature's share of the importance lies beyond the spread of the original and its {yardstick} (the share test decided: {share_txt})"
    if unresolved:
        return "unclear", f"{unresolved} ({fig})"
    if r["value"] < cfg.changed_ratio:
        return "same", f"explanations are within {cfg.changed_ratio}× of the {yardstick}' distance ({fig})"
    return "unclear", (f"explanations are {_r(r['value'])}× as far as the {yardstick}', but the interval reaches "
                       f"below 1 ({fig})")


def overall_verdict(statuses: dict[str, tuple[Status, str]], flip: dict[str, float], cfg: CompareConfig,
                    first_reason: str | None) -> tuple[Verdict, list[str]]:
    """The verdict over explainers and decisions, and its reasons (``first_reason`` leads, e.g. the
    noise-floor fallback)."""
    lead = [first_reason] if first_reason else []
    flip_txt = f"flip rate {flip['value']:.3f} (interval {flip['lo']:.3f}–{flip['hi']:.3f})"
    reasons: list[str] = []
    if flip["lo"] > cfg.max_flip_rate:
        reasons.append(f"decisions changed on many rows ({flip_txt} > {cfg.max_flip_rate})")
    reasons += [f"{m}: {why}" for m, (s, why) in statuses.items() if s == "changed"]
    if reasons:
        return "changed", lead + reasons + [f"{m}: {why}" for m, (s, why) in statuses.items() if s != "changed"]
    if all(s == "same" for s, _ in statuses.values()) and flip["value"] <= cfg.max_flip_rate:
        return "same-reasons", lead + [f"decisions agree ({flip_txt} ≤ {cfg.max_flip_rate})"] + [
            f"{m}: {why}" for m, (_, why) in statuses.items()]
    if flip["value"] > cfg.max_flip_rate:
        reasons.append(f"the flip rate exceeds {cfg.max_flip_rate} but not clearly ({flip_txt})")
    reasons += [f"{m}: {why}" for m, (s, why) in statuses.items() if s != "same"]
    reasons += [f"{m}: {why}" for m, (s, why) in statuses.items() if s == "same"]
    return "inconclusive", lead + reasons


def sentence(verdict: Verdict, explainers: dict[str, dict[str, Any]], decision: dict[str, Any],
             cfg: CompareConfig, against: str, names: tuple[str, ...], subject: str = "the compressed model") -> str:
    """One sentence a person can read, saying what the model was compared against."""
    agree = decision.get("agreement")
    agree_txt = f"{100 * agree:.0f}% of its decisions agree with the original's" if agree is not None else ""
    flip_ci = decision.get("flip_rate_ci") or {}
    if verdict == "changed" and flip_ci.get("lo", 0) > cfg.max_flip_rate:
        return (f"{subject.capitalize()} changes {100 * decision['flip_rate']:.0f}% of the original's decisions "
                f"(more than the {100 * cfg.max_flip_rate:.0f}% allowed): changed.")
    wanted = {"changed": "changed", "same-reasons": "same", "inconclusive": "unclear"}[verdict]
    pick = [m for m, e in explainers.items() if e["status"] == wanted] or list(explainers)
    m = max(pick, key=lambda k: (explainers[k]["ratio"]["value"] if verdict != "same-reasons" else 0))
    e = explainers[m]
    r = e["ratio"]
    word = {"same-reasons": "same reasons", "changed": "changed reasons", "inconclusive": "inconclusive"}[verdict]
    if verdict == "changed" and not (r["lo"] >= 1.0 and r["value"] >= cfg.changed_ratio):
        sh = e["share"]
        names = tuple(e.get("players") or ()) or names
        fname = names[sh["feature"]] if 0 <= sh["feature"] < len(names) else f"feature {sh['feature']}"
        spread = ", ".join(_pct(x) for x in sh.get("twin_shares") or [])
        return (f"In {subject}, {fname}'s share of the importance moved {_pct(sh['share_original'])} → "
                f"{_pct(sh['share_compressed'])} ({m}, the share test), {sh['z']:.1f} times the spread of the "
                f"original and {against}"
                f"{f' ({spread})' if spread else ''}, though {agree_txt}: {word}.")
    if verdict == "inconclusive" and e.get("unresolved"):
        return f"{subject.capitalize()} could not be told apart from {against} within its budget cap ({m}: {e['unresolved']}): {word}."
    if e["yardstick"]["value"] <= 0:
        return (f"{subject.capitalize()} was compared against {against}, which is zero for {m} (a deterministic "
                f"explainer), so its reasons cannot be judged: {word}.")
    return (f"{subject.capitalize()}'s explanations differ from the original's {_r(r['value'])}× as much as "
            f"those of {against} ({m}, interval {_r(r['lo'])}–{_r(r['hi'])}), and {agree_txt}: {word}.")
