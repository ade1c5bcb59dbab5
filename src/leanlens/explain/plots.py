"""Plots of explanations and global views (matplotlib, object API only — no pyplot state).

Every function returns a ``matplotlib.figure.Figure`` and, given ``path``, also
writes it (PNG or SVG by the suffix) atomically. The figures are not registered
with pyplot, so nothing needs closing and nothing leaks between calls.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._io import atomic_write_bytes
from ..errors import InvalidInputError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .explanation import Explanation
    from .importance import PartialDependence, PermutationImportance
    from .surrogate import SurrogateTree

__all__ = [
    "plot_beeswarm",
    "plot_decision_boundary",
    "plot_image_heatmap",
    "plot_importance",
    "plot_pdp",
    "plot_surrogate_tree",
    "plot_waterfall",
    "save_explanation_plots",
    "save_figure",
]

_FORMATS = {".png": "png", ".svg": "svg"}
_POS, _NEG = "#d62728", "#1f77b4"


def _figure(width: float, height: float) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig: Figure, path: str | Path, *, dpi: int = 110) -> Path:
    """Write ``fig`` to ``path`` (``.png`` or ``.svg``) through a temporary file and a rename."""
    p = Path(path)
    fmt = _FORMATS.get(p.suffix.lower())
    if fmt is None:
        raise InvalidInputError(f"The 'path' parameter must end in .png or .svg. Got {str(p)!r}.")
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=dpi)
    return atomic_write_bytes(p, buf.getvalue())


def _finish(fig: Figure, path: str | Path | None) -> Figure:
    if path is not None:
        save_figure(fig, path)
    return fig


def _one_output(expl: Explanation, output: int | str | None) -> Explanation:
    """An (n, d) explanation: the chosen output, or the first one of a multi-output explanation."""
    if not expl.multi_output:
        return expl
    return expl.output(0 if output is None else output)


def _output_label(e: Explanation, row: int) -> str:
    """The name of the output explained in ``row`` of an (n, d) explanation."""
    if e.targets is not None and 0 <= int(e.targets[row]) < len(e.output_names):
        return e.output_names[int(e.targets[row])]
    return e.output_names[0] if len(e.output_names) == 1 else ""


def _check_max(max_features: int) -> int:
    if isinstance(max_features, bool) or not isinstance(max_features, int) or max_features < 1:
        raise InvalidInputError(f"The 'max_features' parameter must be a positive int. Got {max_features!r}.")
    return max_features


def plot_importance(
    expl: Explanation | PermutationImportance,
    *,
    max_features: int = 15,
    path: str | Path | None = None,
) -> Figure:
    """Horizontal bars of global importance: mean |φ| per feature (stacked by output for a
    multi-output explanation), or the permutation importance with its spread.

    Examples
    --------
    >>> import numpy as np
    >>> from leanlens.explain import Explanation
    >>> e = Explanation(values=np.array([[1.0, -2.0]]), base_values=np.zeros(1), data=np.ones((1, 2)),
    ...                 feature_names=("a", "b"), output_names=("y",), method="demo")
    >>> fig = plot_importance(e)             # plot_importance(e, path="importance.svg") also saves it
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()]
    ['a', 'b']
    """
    from .importance import PermutationImportance

    _check_max(max_features)
    if isinstance(expl, PermutationImportance):
        imp = expl.importances_mean[:, None]
        err: np.ndarray | None = expl.importances_std
        labels: tuple[str, ...] = (f"score drop ({expl.scoring})",)
        names, title = expl.feature_names, "permutation importance"
    else:
        gi = expl.global_importance()
        imp = gi if gi.ndim == 2 else gi[:, None]
        err, labels = None, expl.output_names if gi.ndim == 2 else ("mean |φ|",)
        names, title = expl.feature_names, f"global importance ({expl.method})"
    order = np.argsort(-imp.sum(axis=1), kind="stable")[:max_features][::-1]
    fig = _figure(6.5, 1.2 + 0.3 * len(order))
    ax = fig.add_subplot()
    left = np.zeros(len(order))
    cmap = _cmap("tab10")
    for j in range(imp.shape[1]):
        ax.barh(np.arange(len(order)), imp[order, j], left=left, color=cmap(j % 10), label=labels[j],
                xerr=None if err is None else err[order])
        left = left + imp[order, j]
    ax.set_yticks(np.arange(len(order)), [names[i] for i in order])
    ax.set_xlabel("mean |attribution|" if err is None else "decrease in score when shuffled")
    ax.set_title(title)
    if imp.shape[1] > 1:
        ax.legend(fontsize="small", loc="lower right", title="output")
    return _finish(fig, path)


def _cmap(name: str) -> Any:
    import matplotlib

    return matplotlib.colormaps[name]


def plot_beeswarm(
    expl: Explanation,
    *,
    output: int | str | None = None,
    max_features: int = 15,
    path: str | Path | None = None,
    random_state: int | None = None,
) -> Figure:
    """Summary plot: one dot per row and feature at its attribution, coloured by the
    feature's value (low blue → high red), features sorted by mean |φ|."""
    _check_max(max_features)
    e = _one_output(expl, output)
    order = np.argsort(-np.abs(e.values).mean(axis=0), kind="stable")[:max_features][::-1]
    fig = _figure(7, 1.2 + 0.35 * len(order))
    ax = fig.add_subplot()
    rng = np.random.default_rng(random_state)
    cmap = _cmap("coolwarm")
    for pos, i in enumerate(order):
        v = e.values[:, i]
        x = _player_data(e, int(i))
        span = np.ptp(x)
        c = (x - x.min()) / span if span > 0 else np.full_like(x, 0.5)
        jitter = rng.uniform(-0.3, 0.3, size=len(v)) * _density(v)
        ax.scatter(v, pos + jitter, c=cmap(c), s=10, alpha=0.8, linewidths=0)
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_yticks(np.arange(len(order)), [e.feature_names[i] for i in order])
    ax.set_xlabel("attribution (impact on output)")
    colour = "mean feature value of the group" if e.groups is not None else "feature value"
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    bar = fig.colorbar(ScalarMappable(norm=Normalize(0, 1), cmap=cmap), ax=ax, ticks=[0, 1], pad=0.01, aspect=30)
    bar.ax.set_yticklabels(["low", "high"])
    bar.set_label(colour)
    ax.set_title(f"{e.method}: attributions of {e.n_rows} rows (colour: {colour})")
    return _finish(fig, path)


def _density(v: np.ndarray) -> np.ndarray:
    """Relative local density of each value, so crowded regions spread wider (a cheap beeswarm)."""
    if len(v) < 3 or np.ptp(v) == 0:
        return np.ones_like(v)
    hist, edges = np.histogram(v, bins=min(30, len(v)))
    idx = np.clip(np.searchsorted(edges, v, side="right") - 1, 0, len(hist) - 1)
    return np.asarray(hist[idx] / hist.max(), dtype=np.float64)


def plot_waterfall(
    expl: Explanation,
    row: int = 0,
    *,
    output: int | str | None = None,
    max_features: int = 10,
    path: str | Path | None = None,
) -> Figure:
    """Waterfall for one row: from the base value, each feature's attribution in order of
    |φ| (the rest summed in one bar), to the explained output."""
    _check_max(max_features)
    e = _one_output(expl, output)
    if isinstance(row, bool) or not isinstance(row, int | np.integer) or not -e.n_rows <= row < e.n_rows:
        raise InvalidInputError(f"The 'row' parameter must be an index in [0, {e.n_rows}). Got {row!r}.")
    phi = e.values[row]
    base = float(np.asarray(e.base_values)[row]) if e.base_values.ndim else float(e.base_values)
    order = np.argsort(-np.abs(phi), kind="stable")
    shown = order[:max_features]
    rest = phi[order[max_features:]].sum()
    if e.groups is None:
        labels = [f"{e.feature_names[i]} = {e.data[row, i]:.3g}" for i in shown]
    else:  # a group has no single value: name it and its size
        labels = [f"{e.feature_names[i]} ({len(e.groups[i])} features)" for i in shown]
    steps = list(phi[shown])
    if len(order) > max_features:
        labels.append(f"{len(order) - max_features} other {'groups' if e.groups is not None else 'features'}")
        steps.append(rest)
    fig = _figure(7, 1.4 + 0.35 * len(steps))
    ax = fig.add_subplot()
    start = base
    for pos, s in enumerate(steps):
        y = len(steps) - 1 - pos
        ax.barh(y, s, left=start, color=_POS if s >= 0 else _NEG)
        ax.text(start + s, y, f" {s:+.3g}", va="center", ha="left" if s >= 0 else "right", fontsize="small")
        start += s
    ax.set_yticks(np.arange(len(steps)), labels[::-1])
    # Room on both sides for the value labels at the bars' ends (they would be clipped otherwise).
    ends = np.cumsum([base, *steps])
    lo, hi = float(ends.min()), float(ends.max())
    pad = 0.18 * (hi - lo) if hi > lo else max(abs(hi), 1.0) * 0.1
    ax.set_xlim(lo - pad, hi + pad)
    ax.axvline(base, color="grey", ls="--", lw=0.8)
    ax.axvline(start, color="black", lw=0.8)
    ax.set_xlabel(f"output (base {base:.3g} → {start:.3g})")
    ax.set_title(f"{e.method}: row {row}, output {_output_label(e, int(row))}")
    return _finish(fig, path)


def _player_data(e: Explanation, i: int) -> np.ndarray:
    """The explained rows' value of player i: the feature, or the mean of the group's features."""
    if e.groups is None:
        return e.data[:, i]
    return e.data[:, list(e.groups[i])].mean(axis=1)


def _image_shape(e: Explanation, image_shape: tuple[int, int] | None) -> tuple[int, int]:
    n_pixels = e.data.shape[1]  # raw features, also when the values are per group
    if image_shape is not None:
        shape = tuple(int(s) for s in image_shape)
    elif e.input_shape is not None and len(e.input_shape) == 3:
        shape = tuple(e.input_shape[1:])
    else:
        side = round(float(np.sqrt(n_pixels)))
        shape = (side, side)
    if len(shape) != 2 or shape[0] * shape[1] != n_pixels:
        raise InvalidInputError(
            f"The 'image_shape' parameter must be (h, w) with h·w = {n_pixels} features. "
            f"Got {shape} (input shape {e.input_shape})."
        )
    return shape[0], shape[1]


def plot_image_heatmap(
    expl: Explanation,
    rows: Any = None,
    *,
    output: int | str | None = None,
    image_shape: tuple[int, int] | None = None,
    vmax: float | None = None,
    path: str | Path | None = None,
) -> Figure:
    """Attributions of image rows (e.g. 8×8 digits) as a red/blue heatmap over the grey image.

    ``vmax``: the colour scale's limit (±vmax); give the same one to heatmaps shown side by
    side so equal colours mean equal attributions. Default: the largest |attribution| shown.

    ``rows``: indices to show (default: the first 8). The shape comes from
    ``Explanation.input_shape`` ((c, h, w) inputs), else ``image_shape``, else a square.
    Group attributions (e.g. ``groups="patches:2x2"``) show as cells: every pixel of a group
    carries the group's value, and the groups' outlines are drawn.
    """
    e = _one_output(expl, output)
    h, w = _image_shape(e, image_shape)
    idx = np.arange(min(8, e.n_rows)) if rows is None else np.arange(e.n_rows)[rows]
    idx = np.atleast_1d(idx)
    if len(idx) == 0:
        raise InvalidInputError("The 'rows' parameter selects no rows.")
    fig = _figure(1.8 * len(idx) + 0.8, 2.3)
    axes = fig.subplots(1, len(idx), squeeze=False)[0]
    pixel_values = e.feature_values()
    lim = float(vmax) if vmax is not None and vmax > 0 else float(np.abs(pixel_values[idx]).max()) or 1.0
    im = None
    for ax, r in zip(axes, idx, strict=True):
        ax.imshow(e.data[r].reshape(h, w), cmap="gray_r", interpolation="nearest")
        im = ax.imshow(pixel_values[r].reshape(h, w), cmap="bwr", vmin=-lim, vmax=lim, alpha=0.6, interpolation="nearest")
        if e.groups is not None:
            _outline_groups(ax, e.groups, h, w)
        label = _output_label(e, int(r))
        ax.set_title(f"row {r} → {label}" if label else f"row {r}", fontsize="small")
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(im, ax=list(axes), shrink=0.8, label="attribution")  # type: ignore[arg-type]
    return _finish(fig, path)


def _outline_groups(ax: Any, groups: tuple[tuple[int, ...], ...], h: int, w: int) -> None:
    """Draw the borders between pixels of different groups (cells of a patch grouping)."""
    owner = np.empty(h * w, dtype=np.int64)
    for gi, g in enumerate(groups):
        owner[np.asarray(g) % (h * w)] = gi  # every channel of a pixel is in the same group
    grid = owner.reshape(h, w)
    for r in range(h):
        for c in range(w):
            if c + 1 < w and grid[r, c] != grid[r, c + 1]:
                ax.plot([c + 0.5, c + 0.5], [r - 0.5, r + 0.5], color="black", lw=0.6)
            if r + 1 < h and grid[r, c] != grid[r + 1, c]:
                ax.plot([c - 0.5, c + 0.5], [r + 0.5, r + 0.5], color="black", lw=0.6)


def plot_surrogate_tree(surrogate: SurrogateTree, *, path: str | Path | None = None) -> Figure:
    """The surrogate tree drawn compactly: each split as ``feature ≤ threshold``, each leaf as
    its predicted class (with the share of its training rows in that class) or value, so the
    text stays readable at any number of classes. The held-out fidelity is in the title."""
    surrogate._fitted()
    t = surrogate.tree_.tree_
    names = list(surrogate.model_.feature_names)
    classes = surrogate.class_names()
    left, right = t.children_left, t.children_right
    # Leaves side by side left to right; a split sits above the middle of its leaves.
    x: dict[int, float] = {}
    depth_of: dict[int, int] = {}
    order: list[int] = []

    def place(node: int, depth: int) -> float:
        depth_of[node] = depth
        if left[node] == -1:
            x[node] = float(len(order))
            order.append(node)
        else:
            x[node] = (place(int(left[node]), depth + 1) + place(int(right[node]), depth + 1)) / 2
        return x[node]

    place(0, 0)
    n_leaves, depth = len(order), max(depth_of.values())
    fig = _figure(max(6.0, min(14.0, 1.55 * n_leaves)), 1.0 + 1.15 * (depth + 1))
    ax = fig.add_subplot()
    box = {"boxstyle": "round,pad=0.3", "linewidth": 0.8}
    for node, xn in x.items():
        yn = -depth_of[node]
        if left[node] != -1:
            for child in (int(left[node]), int(right[node])):
                ax.plot([xn, x[child]], [yn - 0.12, -depth_of[child] + 0.12], color="grey", lw=0.8, zorder=1)
            label = f"{names[int(t.feature[node])]}\n≤ {t.threshold[node]:.3g}"
            ax.text(xn, yn, label, ha="center", va="center", fontsize=9, bbox={**box, "facecolor": "#f6f8fa"}, zorder=2)
        else:
            v = np.asarray(t.value[node]).ravel()
            if classes is not None and v.size == len(classes):
                k = int(np.argmax(v))
                share = float(v[k] / v.sum()) if v.sum() > 0 else 0.0
                label = f"→ {classes[k]}\n{share:.0%} of {int(t.n_node_samples[node])} rows"
            else:
                label = f"{float(v[0]):.3g}\n{int(t.n_node_samples[node])} rows"
            ax.text(xn, yn, label, ha="center", va="center", fontsize=9, bbox={**box, "facecolor": "#dafbe1"}, zorder=2)
    ax.set_xlim(-0.7, n_leaves - 0.3)
    ax.set_ylim(-depth - 0.6, 0.6)
    ax.axis("off")
    metric = "R²" if surrogate.model_.task == "regression" else "accuracy"
    ax.set_title(f"surrogate tree (depth {depth}): fidelity {surrogate.fidelity_:.3f} ({metric} against the model, "
                 "held out); left branch: condition true", fontsize=10)
    return _finish(fig, path)


def plot_decision_boundary(
    model: Any,
    X: Any,
    y: Any = None,
    *,
    features: tuple[int | str, int | str] | None = None,
    resolution: int = 80,
    path: str | Path | None = None,
) -> Figure:
    """The model's decisions on a 2-D plane with the rows on top.

    ``features=(i, j)``: a grid over those two features, the others held at the rows'
    mean. ``features=None``: the plane of the first two principal components of X
    (grid points mapped back with the PCA inverse). ``y`` colours the rows (default:
    the model's own predictions).
    """
    from ..models.base import as_model

    m = as_model(model)
    Xc = m.check_X(X)
    Xf = Xc.reshape(len(Xc), -1).astype(np.float64)
    if len(Xf) < 2:
        raise InvalidInputError(f"plot_decision_boundary needs at least 2 rows in 'X'. Got {len(Xf)}.")
    if isinstance(resolution, bool) or not isinstance(resolution, int) or not 5 <= resolution <= 500:
        raise InvalidInputError(f"The 'resolution' parameter must be an int in [5, 500]. Got {resolution!r}.")
    if features is None:
        from sklearn.decomposition import PCA

        pca = PCA(n_components=2).fit(Xf)
        P = pca.transform(Xf)
        labels = ("PC 1", "PC 2")

        def lift(G: np.ndarray) -> np.ndarray:
            return np.asarray(pca.inverse_transform(G))
    else:
        if len(features) != 2:
            raise InvalidInputError(f"The 'features' parameter must name two features. Got {features!r}.")
        ij = [_feature_index(m, f) for f in features]
        if ij[0] == ij[1]:
            raise InvalidInputError(f"The 'features' parameter must name two different features. Got {features!r}.")
        P = Xf[:, ij]
        labels = (m.feature_names[ij[0]], m.feature_names[ij[1]])
        center = Xf.mean(axis=0)

        def lift(G: np.ndarray) -> np.ndarray:
            full = np.repeat(center[None], len(G), axis=0)
            full[:, ij] = G
            return full

    pad = 0.05 * np.ptp(P, axis=0) + 1e-9
    g0 = np.linspace(P[:, 0].min() - pad[0], P[:, 0].max() + pad[0], resolution)
    g1 = np.linspace(P[:, 1].min() - pad[1], P[:, 1].max() + pad[1], resolution)
    G0, G1 = np.meshgrid(g0, g1)
    grid = np.column_stack([G0.ravel(), G1.ravel()])
    Z = m.predict(lift(grid).reshape((-1, *m.input_shape)).astype(np.float32)).reshape(G0.shape)
    colours = m.predict(Xc) if y is None else np.asarray(y)
    fig = _figure(6, 5)
    ax = fig.add_subplot()
    if m.task == "regression":
        cs = ax.contourf(G0, G1, Z, levels=20, cmap="viridis", alpha=0.6)
        fig.colorbar(cs, ax=ax, label="predicted value")
        ax.scatter(P[:, 0], P[:, 1], c=colours, cmap="viridis", edgecolors="k", s=14, linewidths=0.3)
    else:
        k = m.n_outputs
        cmap = _cmap("tab10")
        ax.contourf(G0, G1, Z, levels=np.arange(k + 1) - 0.5, colors=[cmap(i % 10) for i in range(k)], alpha=0.3)
        ax.scatter(P[:, 0], P[:, 1], c=[cmap(int(c) % 10) for c in colours], edgecolors="k", s=14, linewidths=0.3)
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.set_title("decision regions" + (" (PCA plane)" if features is None else " (other features at their mean)"))
    return _finish(fig, path)


def _feature_index(model: Any, f: int | str) -> int:
    if isinstance(f, str):
        if f not in model.feature_names:
            raise InvalidInputError(f"Unknown feature {f!r} in 'features'.")
        return int(model.feature_names.index(f))
    if isinstance(f, bool) or not isinstance(f, int | np.integer) or not 0 <= f < model.n_features:
        raise InvalidInputError(f"The 'features' entries must be names or indices in [0, {model.n_features}). Got {f!r}.")
    return int(f)


def plot_pdp(
    pd: PartialDependence,
    *,
    output: int | str | None = None,
    max_curves: int = 50,
    path: str | Path | None = None,
) -> Figure:
    """Partial dependence (thick line) over ICE curves (thin lines, at most ``max_curves``)
    of one output (default: the last one — the positive class of a binary model)."""
    k = pd.average.shape[0]
    if output is None:
        j = k - 1
    elif isinstance(output, str):
        if output not in pd.output_names:
            raise InvalidInputError(f"Unknown output {output!r}. Outputs: {list(pd.output_names)}.")
        j = pd.output_names.index(output)
    else:
        if not 0 <= output < k:
            raise InvalidInputError(f"The 'output' parameter must be in [0, {k}). Got {output!r}.")
        j = int(output)
    fig = _figure(6, 4)
    ax = fig.add_subplot()
    if pd.individual is not None:
        for curve in pd.individual[j][:max_curves]:
            ax.plot(pd.grid, curve, color="#999999", lw=0.6, alpha=0.5)
    ax.plot(pd.grid, pd.average[j], color=_POS, lw=2.5, label="partial dependence")
    lo, hi = pd.grid.min(), pd.grid.max()
    rug = pd.data[(pd.data >= lo) & (pd.data <= hi)]
    ax.plot(rug, np.full_like(rug, ax.get_ylim()[0]), "|", color="k", alpha=0.3)
    ax.set_xlabel(pd.feature_name)
    ax.set_ylabel(f"output {pd.output_names[j]}" if j < len(pd.output_names) else "output")
    ax.set_title("PDP and ICE" if pd.individual is not None else "partial dependence")
    ax.legend(fontsize="small")
    return _finish(fig, path)


def save_explanation_plots(
    expl: Explanation,
    folder: str | Path,
    *,
    image_shape: tuple[int, int] | None = None,
    fmt: str = "png",
) -> list[Path]:
    """Write the standard plots of an explanation into ``folder``: ``importance``,
    ``beeswarm``, ``waterfall_row0`` and, for image inputs ((c, h, w) or ``image_shape``
    given), ``heatmap``. Returns the paths written."""
    if fmt not in ("png", "svg"):
        raise InvalidInputError(f"The 'fmt' parameter must be 'png' or 'svg'. Got {fmt!r}.")
    folder = Path(folder)
    written = [
        save_figure(plot_importance(expl), folder / f"importance.{fmt}"),
        save_figure(plot_beeswarm(expl), folder / f"beeswarm.{fmt}"),
        save_figure(plot_waterfall(expl, 0), folder / f"waterfall_row0.{fmt}"),
    ]
    patches = str(expl.params.get("groups_spec", "")).startswith("patches:")
    if image_shape is not None or patches or (expl.input_shape is not None and len(expl.input_shape) == 3):
        written.append(save_figure(plot_image_heatmap(expl, image_shape=image_shape), folder / f"heatmap.{fmt}"))
    return written
