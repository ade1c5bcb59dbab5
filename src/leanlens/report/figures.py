"""The report's figures, drawn with matplotlib's object API (no pyplot state) and inlined as PNG.

Every function returns a ``data:image/png;base64,...`` URI, so the report is one file
that fetches nothing.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "accuracy_latency_chart",
    "distance_histogram",
    "drift_chart",
    "figure_to_uri",
    "importance_chart",
    "new_figure",
    "sweep_front_chart",
    "sweep_front_figure",
]

COMPRESSED = "#dd8452"
FRONT = "#c44e52"
PALETTE = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#8c8c8c")


def new_figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    return fig


def figure_to_uri(fig: Figure, *, dpi: int = 100) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def model_colors(names: Sequence[str]) -> dict[str, str]:
    """One colour per model, by its place in the run (the original first), used by every chart."""
    return {n: PALETTE[i % len(PALETTE)] for i, n in enumerate(names)}


def accuracy_latency_chart(names: Sequence[str], accuracy: Sequence[float], latency_ms: Sequence[float],
                           front: Sequence[str], *, metric: str = "test accuracy",
                           colors: dict[str, str] | None = None) -> str:
    """Scatter of accuracy against latency, one labelled point per model, the Pareto front as a step line."""
    fig = new_figure(6.4, 3.8)
    ax = fig.subplots()
    for i, (n, a, t) in enumerate(zip(names, accuracy, latency_ms, strict=True)):
        on_front = n in front
        ax.scatter([t], [a], s=70 if on_front else 40, color=(colors or {}).get(n, PALETTE[i % len(PALETTE)]),
                   edgecolor="black" if on_front else "none", zorder=3, label=n)
        ax.annotate(n, (t, a), textcoords="offset points", xytext=(6, 4), fontsize=8)
    pts = sorted((t, a) for n, a, t in zip(names, accuracy, latency_ms, strict=True) if n in front)
    if len(pts) > 1:
        xs, ys = zip(*pts, strict=True)
        ax.step(xs, ys, where="post", color=FRONT, linestyle="--", linewidth=1.2, label="Pareto front", zorder=2)
    ax.set_xlabel("latency (ms per batch, lower is better)")
    ax.set_ylabel(f"{metric} (higher is better)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    return figure_to_uri(fig)


def sweep_front_figure(numbers: Sequence[int], accuracy: Sequence[float], latency_ms: Sequence[float],
                       agreement: Sequence[float | None], on_front: Sequence[bool], *,
                       original: tuple[float, float] | None = None) -> Figure:
    """Every completed sweep trial, accuracy against latency, with the study's own Pareto front.

    The study has three objectives (accuracy ↑, latency ↓, top-k explanation agreement ↑), so
    its front is not a line in this plane: a front trial may look dominated here because it
    keeps more of the original's explanation (its colour). Front trials (``on_front``, the
    flags the console and the trials table show) are filled, coloured by agreement, outlined
    and labelled "#n"; dominated trials are small grey crosses; the original is a black star.
    """
    fig = new_figure(6.4, 4.0)
    ax = fig.subplots()
    acc, lat = np.asarray(accuracy, float), np.asarray(latency_ms, float)
    agr = np.array([np.nan if a is None else a for a in agreement], dtype=float)
    front = np.asarray(on_front, bool)
    if (~front).any():
        ax.scatter(lat[~front], acc[~front], marker="x", s=28, color="#8c8c8c", linewidths=1.2, zorder=2,
                   label=f"dominated trial ({int((~front).sum())})")
    if front.any():
        sc = ax.scatter(lat[front], acc[front], c=agr[front], cmap="viridis", vmin=0.0, vmax=1.0, s=80,
                        edgecolors="black", linewidths=1.2, zorder=3, plotnonfinite=True,
                        label=f"Pareto front ({int(front.sum())})")
        fig.colorbar(sc, ax=ax, label="top-k explanation agreement\nwith the original (higher is better)")
        for n, x, y in zip(np.asarray(numbers)[front], lat[front], acc[front], strict=True):
            ax.annotate(f"#{int(n)}", (x, y), textcoords="offset points", xytext=(6, 4), fontsize=9)
    if original is not None:
        ax.scatter([original[1]], [original[0]], marker="*", s=160, color="black", zorder=4, label="original")
    ax.set_xlabel("latency (ms per batch, lower is better)")
    ax.set_ylabel("test accuracy (higher is better)")
    ax.set_title("sweep trials: Pareto front over accuracy, latency and explanation agreement", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    return fig


def sweep_front_chart(numbers: Sequence[int], accuracy: Sequence[float], latency_ms: Sequence[float],
                      agreement: Sequence[float | None], on_front: Sequence[bool], *,
                      original: tuple[float, float] | None = None) -> str:
    """:func:`sweep_front_figure` as a PNG data URI."""
    return figure_to_uri(sweep_front_figure(numbers, accuracy, latency_ms, agreement, on_front, original=original))


def importance_chart(feature_names: Sequence[str], importances: dict[str, np.ndarray], *, top: int = 10,
                     title: str = "", colors: dict[str, str] | None = None) -> str:
    """Side-by-side horizontal bars of global importance (mean |φ|) per model, top features of the first."""
    names = list(importances)
    ref = np.asarray(importances[names[0]], float)
    order = np.argsort(-ref, kind="stable")[:top][::-1]
    fig = new_figure(4.6, 0.32 * len(order) + 1.2)
    ax = fig.subplots()
    h = 0.8 / len(names)
    y = np.arange(len(order))
    for j, n in enumerate(names):
        vals = np.asarray(importances[n], float)[order]
        ax.barh(y + (j - (len(names) - 1) / 2) * h, vals, height=h, color=(colors or {}).get(n, PALETTE[j % len(PALETTE)]), label=n)
    ax.set_yticks(y, [feature_names[i] for i in order], fontsize=8)
    ax.set_xlabel("mean |attribution|")
    if title:
        ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    return figure_to_uri(fig)


def drift_chart(labels: Sequence[str], values: Sequence[float], floors: Sequence[float | None], *,
                intervals: Sequence[tuple[float | None, float | None]] | None = None,
                xlabel: str = "explanation distance (original vs compressed)", title: str = "") -> str:
    """Bars of a drift measure per explainer (with its bootstrap interval) and the noise floor (the
    distance between two runs of the same explainer on the same model) as a tick: bars well past
    the floor are real change."""
    fig = new_figure(5.0, 0.5 * len(labels) + 1.3)
    ax = fig.subplots()
    y = np.arange(len(labels))
    err = None
    if intervals is not None and all(lo is not None and hi is not None for lo, hi in intervals):
        v = np.asarray(values, float)
        err = np.abs(np.array([[v[i] - float(lo), float(hi) - v[i]] for i, (lo, hi) in enumerate(intervals)]).T)  # type: ignore[arg-type]
    ax.barh(y, values, color=COMPRESSED, height=0.5, label="drift (95% interval)", xerr=err, capsize=3)
    for i, f in enumerate(floors):
        if f is not None and np.isfinite(f):
            ax.plot([f, f], [i - 0.35, i + 0.35], color="black", linewidth=2.5,
                    label="noise floor" if i == 0 or "noise floor" not in ax.get_legend_handles_labels()[1] else None)
    ax.set_yticks(y, list(labels), fontsize=8)
    ax.set_xlabel(xlabel)
    if title:
        ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    return figure_to_uri(fig)


def distance_histogram(distance: Sequence[float], noise: Sequence[float], *, title: str = "") -> str:
    """Per-row explanation distance original→compressed against the same distance between two
    runs of the explainer on the original (the noise floor), as overlaid histograms."""
    d, n = np.asarray(distance, float), np.asarray(noise, float)
    fig = new_figure(4.6, 2.8)
    ax = fig.subplots()
    hi = float(max(d.max(initial=0), n.max(initial=0))) or 1.0
    bins = np.linspace(0, hi * 1.02, 21).tolist()
    ax.hist(n, bins=bins, color="grey", alpha=0.6, label="noise (two explainer seeds)")
    ax.hist(d, bins=bins, color=COMPRESSED, alpha=0.6, label="original vs compressed")
    ax.axvline(float(np.median(n)), color="black", linewidth=1.5, linestyle="--", label="noise median")
    ax.set_xlabel("per-row explanation distance")
    ax.set_ylabel("rows")
    if title:
        ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    return figure_to_uri(fig)
