"""Every plot produces a non-empty image (PNG and SVG) and refuses bad arguments clearly."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

import leanlens
from leanlens.errors import InvalidInputError
from leanlens.explain import Explanation, plots
from leanlens.explain.importance import partial_dependence, permutation_importance
from leanlens.explain.surrogate import SurrogateTree

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _fake_explanation(n=12, d=5, k=3, *, input_shape=None, rng_seed=0):
    rng = np.random.default_rng(rng_seed)
    return Explanation(
        values=rng.normal(size=(n, d, k)), base_values=rng.random((n, k)), data=rng.normal(size=(n, d)),
        feature_names=tuple(f"f{i}" for i in range(d)), output_names=tuple(f"c{j}" for j in range(k)),
        method="fake", input_shape=input_shape,
    )


def _assert_image(path, fmt):
    data = path.read_bytes()
    assert len(data) > 2000
    if fmt == "png":
        assert data.startswith(PNG_MAGIC)
        from matplotlib.image import imread

        img = imread(path)
        assert img.shape[0] > 50 and img.shape[1] > 50
        assert img[..., :3].std() > 0.01  # not a blank canvas
    else:
        assert b"<svg" in data[:2000]


@pytest.fixture(scope="module")
def figures(iris_mlp, iris):
    e = _fake_explanation()
    img = _fake_explanation(n=3, d=64, k=1, input_shape=(1, 8, 8))
    s = SurrogateTree(iris_mlp, max_depth=2, random_state=0).fit(iris.X_train)
    pd = partial_dependence(iris_mlp, iris.X_test, 2, grid_resolution=8)
    pi = permutation_importance(iris_mlp, iris.X_test, iris.y_test, n_repeats=2, random_state=0)
    return {
        "importance": lambda: plots.plot_importance(e),
        "importance_one_output": lambda: plots.plot_importance(e.output(1), max_features=3),
        "permutation_importance": lambda: plots.plot_importance(pi),
        "beeswarm": lambda: plots.plot_beeswarm(e, output="c2"),
        "waterfall": lambda: plots.plot_waterfall(e, 3, output=0, max_features=3),
        "heatmap": lambda: plots.plot_image_heatmap(img),
        "surrogate_tree": lambda: plots.plot_surrogate_tree(s),
        "boundary_pca": lambda: plots.plot_decision_boundary(iris_mlp, iris.X_test, resolution=20),
        "boundary_features": lambda: plots.plot_decision_boundary(
            iris_mlp, iris.X_test, iris.y_test, features=("petal length (cm)", 3), resolution=20),
        "pdp_ice": lambda: plots.plot_pdp(pd, output="virginica"),
    }


@pytest.mark.parametrize("name", [
    "importance", "importance_one_output", "permutation_importance", "beeswarm", "waterfall", "heatmap",
    "surrogate_tree", "boundary_pca", "boundary_features", "pdp_ice",
])
@pytest.mark.parametrize("fmt", ["png", "svg"])
def test_every_plot_writes_a_non_empty_image(figures, name, fmt, tmp_path):
    fig = figures[name]()
    assert isinstance(fig, Figure) and fig.axes
    path = plots.save_figure(fig, tmp_path / f"{name}.{fmt}")
    _assert_image(path, fmt)


def test_plot_functions_save_when_given_a_path(tmp_path):
    e = _fake_explanation()
    plots.plot_waterfall(e, 0, path=tmp_path / "w.png")
    _assert_image(tmp_path / "w.png", "png")


def test_decision_boundary_for_regression(linear_callable, gaussian_rows, tmp_path):
    fig = plots.plot_decision_boundary(linear_callable, gaussian_rows[:50], features=(0, 1), resolution=10)
    _assert_image(plots.save_figure(fig, tmp_path / "r.png"), "png")


def test_heatmap_of_flat_digits_with_predicted_targets(digits, tmp_path):
    from sklearn.linear_model import LogisticRegression

    from leanlens.explain import explain

    m = leanlens.as_model(LogisticRegression(max_iter=200).fit(digits.X_train[:300], digits.y_train[:300]))
    e = explain(m, digits.X_test[:3], method="lime", background=digits.X_train, budget=50, random_state=0,
                image_shape=(8, 8), target="predicted")
    written = plots.save_explanation_plots(e, tmp_path, image_shape=(8, 8))
    assert sorted(p.name for p in written) == ["beeswarm.png", "heatmap.png", "importance.png", "waterfall_row0.png"]
    for p in written:
        _assert_image(p, "png")


def test_plot_bad_arguments(tmp_path, iris_mlp, iris):
    e = _fake_explanation()
    with pytest.raises(InvalidInputError, match=r"must end in \.png or \.svg"):
        plots.save_figure(plots.plot_importance(e), tmp_path / "x.jpg")
    with pytest.raises(InvalidInputError, match=r"'row' parameter must be an index in \[0, 12\)"):
        plots.plot_waterfall(e, 12)
    with pytest.raises(InvalidInputError, match="'max_features' parameter"):
        plots.plot_beeswarm(e, max_features=0)
    with pytest.raises(InvalidInputError, match="Unknown output 'c9'"):
        plots.plot_beeswarm(e, output="c9")
    with pytest.raises(InvalidInputError, match=r"'image_shape' parameter must be \(h, w\) with h·w = 5"):
        plots.plot_image_heatmap(e)
    with pytest.raises(InvalidInputError, match="two different features"):
        plots.plot_decision_boundary(iris_mlp, iris.X_test, features=(1, 1))
    with pytest.raises(InvalidInputError, match="'resolution' parameter"):
        plots.plot_decision_boundary(iris_mlp, iris.X_test, resolution=2)
    with pytest.raises(InvalidInputError, match="'fmt' parameter"):
        plots.save_explanation_plots(e, tmp_path, fmt="gif")


def test_beeswarm_has_a_colour_bar():
    fig = plots.plot_beeswarm(_fake_explanation(), output=0)
    assert len(fig.axes) == 2  # the plot and its colour bar
    assert [t.get_text() for t in fig.axes[1].get_yticklabels()] == ["low", "high"]


def test_heatmaps_side_by_side_share_one_colour_scale():
    a = _fake_explanation(n=3, d=16, k=1, rng_seed=1)
    b = Explanation(values=a.values * 10, base_values=a.base_values, data=a.data, feature_names=a.feature_names,
                    output_names=a.output_names, method="fake")
    lim = float(np.abs(b.values).max())
    for e in (a, b):
        fig = plots.plot_image_heatmap(e, [0, 1], image_shape=(4, 4), vmax=lim)
        overlay = fig.axes[0].get_images()[1]
        assert overlay.get_clim() == (-lim, lim)


def test_waterfall_value_labels_stay_inside_the_axes():
    e = _fake_explanation(n=2, d=6, k=1)
    fig = plots.plot_waterfall(e, 0, output=0)
    fig.canvas.draw()
    ax = fig.axes[0]
    box = ax.get_window_extent()
    for t in ax.texts:
        bb = t.get_window_extent()
        assert bb.x0 >= box.x0 - 1 and bb.x1 <= box.x1 + 1, t.get_text()


def test_surrogate_tree_text_is_readable_and_boxes_do_not_overlap(digits_mlp_small, digits):
    tree = SurrogateTree(digits_mlp_small, max_depth=3, random_state=0).fit(digits.X_train[:400])
    fig = plots.plot_surrogate_tree(tree)
    fig.canvas.draw()
    texts = fig.axes[0].texts
    assert len(texts) == tree.tree_.tree_.node_count
    assert min(t.get_fontsize() for t in texts) >= 9
    boxes = [t.get_bbox_patch().get_window_extent() for t in texts]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not a.overlaps(b), "two node boxes overlap"
