"""Drift plots: side-by-side global importance, per-feature drift, agreement histogram with the noise floor."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .report import DriftReport

__all__ = ["plot_agreement_histogram", "plot_feature_drift", "plot_global_importance", "save_plots", "strip_chart"]

MAX_FEATURES_SHOWN = 20


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _shown(gi_o: np.ndarray, gi_c: np.ndarray) -> np.ndarray:
    order = np.argsort(-(gi_o + gi_c), kind="stable")
    return order[:MAX_FEATURES_SHOWN]


def plot_global_importance(report: DriftReport, explainer: str, path: Path) -> Path:
    """Mean |φ| per feature of both models, bars side by side (top 20 features)."""
    plt = _pyplot()
    e = report.explainers[explainer]
    gi_o = np.asarray(e["global_importance"]["original"])
    gi_c = np.asarray(e["global_importance"]["compressed"])
    idx = _shown(gi_o, gi_c)
    y = np.arange(len(idx))
    fig, ax = plt.subplots(figsize=(6.5, 0.3 * len(idx) + 1.5))
    ax.barh(y - 0.2, gi_o[idx], height=0.4, label="original")
    ax.barh(y + 0.2, gi_c[idx], height=0.4, label="compressed")
    ax.set_yticks(y, [report.feature_names[i] for i in idx])
    ax.invert_yaxis()
    ax.set_xlabel("mean |attribution|")
    ax.set_title(f"{explainer}: global importance ({report.verdict})")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def plot_feature_drift(report: DriftReport, explainer: str, path: Path) -> Path:
    """Change of each feature's share of the global importance (compressed − original)."""
    plt = _pyplot()
    e = report.explainers[explainer]
    gi_o = np.asarray(e["global_importance"]["original"])
    gi_c = np.asarray(e["global_importance"]["compressed"])
    share_o = gi_o / (gi_o.sum() or 1.0)
    share_c = gi_c / (gi_c.sum() or 1.0)
    delta = share_c - share_o
    idx = np.argsort(-np.abs(delta), kind="stable")[:MAX_FEATURES_SHOWN]
    y = np.arange(len(idx))
    fig, ax = plt.subplots(figsize=(6.5, 0.3 * len(idx) + 1.5))
    ax.barh(y, delta[idx], color=["tab:red" if v < 0 else "tab:green" for v in delta[idx]])
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(y, [report.feature_names[i] for i in idx])
    ax.invert_yaxis()
    ax.set_xlabel("change in share of global importance")
    ax.set_title(f"{explainer}: per-feature drift")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def plot_agreement_histogram(report: DriftReport, explainer: str, path: Path) -> Path:
    """Per-row explanation distance to the original: the compressed model's and the twins' (mean)."""
    plt = _pyplot()
    e = report.explainers[explainer]
    obs = np.asarray(e["per_row"]["distance"], dtype=float)
    ref = np.asarray(e["per_row"]["twin_distance"], dtype=float)
    hi = float(max(obs.max(initial=0.0), ref.max(initial=0.0))) or 1.0
    bins = np.linspace(0, hi, 25)
    label = "twins" if e["yardstick"]["kind"] == "twins" else "seed vs seed (no twins)"
    fig, ax = plt.subplots(figsize=(6.5, 3.5))
    ax.hist(ref, bins=bins, alpha=0.6, label=f"original vs {label}")
    ax.hist(obs, bins=bins, alpha=0.6, label="original vs compressed")
    ax.set_xlabel("per-row explanation distance (scale-free, noise-corrected)")
    ax.set_ylabel("rows")
    ax.set_title(f"{explainer}: ratio {_num(e['ratio']['value'])} → {e['status']}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def _num(x: Any) -> str:
    return "?" if not isinstance(x, int | float) else ("∞" if x == float("inf") else f"{x:.2f}")


def strip_chart(drift: DriftReport | dict[str, Any], title: str | None = None) -> Any:
    """One strip per explainer: each twin's distance to the original (grey dots), the
    compressed model's distance with the interval implied by the ratio's (red), and the
    estimator noise (shaded band from 0). Returns a matplotlib Figure (the report's hook)."""
    plt = _pyplot()
    d = drift.to_dict() if hasattr(drift, "to_dict") else drift
    per = d.get("explainers") or {}
    names = list(per)
    fig, ax = plt.subplots(figsize=(6.5, 0.7 * max(len(names), 1) + 1.3))
    for y, m in enumerate(names):
        e = per[m]
        yard = float((e.get("yardstick") or {}).get("value") or 0.0)
        noise = float(e.get("estimator_noise") or 0.0)
        ax.barh(y, noise, height=0.5, color="0.85", label="estimator noise" if y == 0 else None)
        tw = e.get("twin_distances") or []
        if tw:
            ax.scatter(tw, [y] * len(tw), color="0.35", zorder=3, label="twins" if y == 0 else None)
        else:
            ax.scatter([yard], [y], color="0.35", marker="|", s=200, zorder=3,
                       label="seed-to-seed noise (no twins)" if y == 0 else None)
        dist = float((e.get("distance") or {}).get("value") or 0.0)
        r = e.get("ratio") or {}
        lo, hi = r.get("lo"), r.get("hi")
        xerr = None
        if isinstance(lo, int | float) and isinstance(hi, int | float) and np.isfinite(hi) and yard > 0:
            xerr = [[max(dist - lo * yard, 0.0)], [max(hi * yard - dist, 0.0)]]
        ax.errorbar([dist], [y], xerr=xerr, fmt="o", color="tab:red", capsize=4, zorder=4,
                    label="compressed (interval)" if y == 0 else None)
    ax.set_yticks(range(len(names)), [f"{m}\n{per[m].get('status', '')}" for m in names])
    ax.set_ylim(-0.7, len(names) - 0.3)
    ax.set_xlim(left=0)
    ax.set_xlabel("explanation distance to the original (scale-free, noise-corrected)")
    ax.set_title(title or f"{d.get('verdict', '')}: compared against {(d.get('twins') or {}).get('against', '?')}",
                 fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def save_plots(report: DriftReport, folder: Path) -> list[Path]:
    """The three drift plots of every explainer as PNG files in ``folder``."""
    out = []
    for name in report.explainers:
        safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)
        out.append(plot_global_importance(report, name, folder / f"{safe}_global_importance.png"))
        out.append(plot_feature_drift(report, name, folder / f"{safe}_feature_drift.png"))
        out.append(plot_agreement_histogram(report, name, folder / f"{safe}_agreement_histogram.png"))
    plt = _pyplot()
    fig = strip_chart(report)
    fig.savefig(folder / "strip_chart.png", dpi=80)
    plt.close(fig)
    out.append(folder / "strip_chart.png")
    return out
