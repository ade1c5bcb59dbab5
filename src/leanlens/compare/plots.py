"""Drift plots: side-by-side global importance, per-feature drift, agreement histogram with the noise floor."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .report import DriftReport

__all__ = ["plot_agreement_histogram", "plot_feature_drift", "plot_global_importance", "save_plots"]

MAX_FEATURES_SHOWN = 20


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _shown(report: DriftReport, gi_o: np.ndarray, gi_c: np.ndarray) -> np.ndarray:
    order = np.argsort(-(gi_o + gi_c), kind="stable")
    return order[:MAX_FEATURES_SHOWN]


def plot_global_importance(report: DriftReport, explainer: str, path: Path) -> Path:
    """Mean |φ| per feature of both models, bars side by side (top 20 features)."""
    plt = _pyplot()
    e = report.explainers[explainer]
    gi_o = np.asarray(e["global_importance"]["original"])
    gi_c = np.asarray(e["global_importance"]["compressed"])
    idx = _shown(report, gi_o, gi_c)
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
    """Per-row explanation distance, original vs compressed and seed vs seed, noise floor marked."""
    plt = _pyplot()
    e = report.explainers[explainer]
    obs = np.asarray(e["per_row"]["distance"])
    noise = np.asarray(e["per_row"]["noise_distance"])
    hi = float(max(obs.max(initial=0.0), noise.max(initial=0.0))) or 1.0
    bins = np.linspace(0, hi, 25)
    fig, ax = plt.subplots(figsize=(6.5, 3.5))
    ax.hist(noise, bins=bins, alpha=0.6, label="original, seed vs seed (noise)")
    ax.hist(obs, bins=bins, alpha=0.6, label="original vs compressed")
    ax.axvline(e["noise_floor"]["value"], color="black", ls="--", label=f"noise floor {e['noise_floor']['value']:.3f}")
    ax.axvline(e["drift"]["value"], color="tab:red", ls="-", label=f"drift {e['drift']['value']:.3f}")
    ax.set_xlabel("per-row explanation distance (scale-free)")
    ax.set_ylabel("rows")
    ax.set_title(f"{explainer}: drift ratio {e['ratio']['value']:.2f} → {e['status']}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def save_plots(report: DriftReport, folder: Path) -> list[Path]:
    """The three drift plots of every explainer as PNG files in ``folder``."""
    out = []
    for name in report.explainers:
        safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)
        out.append(plot_global_importance(report, name, folder / f"{safe}_global_importance.png"))
        out.append(plot_feature_drift(report, name, folder / f"{safe}_feature_drift.png"))
        out.append(plot_agreement_histogram(report, name, folder / f"{safe}_agreement_histogram.png"))
    return out
