"""Grouped features, the recommended ``shapley`` chooser, the many-row background game for
every estimator, and the coverage of the reported standard errors."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import leanlens
from leanlens.errors import InvalidInputError
from leanlens.explain import Explanation, explain
from leanlens.explain.shapley.chooser import (
    choose,
    choose_estimator,
    gp_fit_points,
    model_cost_class,
    overhead_allowance,
    predicted_overhead,
)
from leanlens.explain.shapley.groups import resolve_groups

ESTIMATORS = ["kernel", "leverage", "permutation", "polyshap", "shapley"]


def _mlp(d: int, seed: int = 0, width: int = 24):
    """A small tanh MLP in numpy (fast, strongly non-additive)."""
    rng = np.random.default_rng(seed)
    W1, W2 = rng.normal(size=(d, width)) * 1.2, rng.normal(size=width) / np.sqrt(width)
    return leanlens.as_model(lambda X: np.tanh(X @ W1) @ W2, n_features=d)


def _brute_group_shapley(f, x, b, groups):
    g = len(groups)
    def v(S):
        z = b.copy()
        for gi in S:
            z[list(groups[gi])] = x[list(groups[gi])]
        return float(f(z[None])[0])
    phi = np.zeros(g)
    for i in range(g):
        others = [j for j in range(g) if j != i]
        for r in range(g):
            for S in itertools.combinations(others, r):
                w = math.factorial(r) * math.factorial(g - r - 1) / math.factorial(g)
                phi[i] += w * (v((*S, i)) - v(S))
    return phi


def test_group_values_match_brute_force_and_every_estimator_keeps_efficiency():
    d = 7
    model = _mlp(d)
    f = lambda Z: model.output(Z)[:, 0]  # noqa: E731
    rng = np.random.default_rng(0)
    X, b = rng.normal(size=(2, d)), rng.normal(size=(1, d))
    groups = [[0, 3], [1], [2, 4, 5], [6]]
    e = explain(model, X, method="exact", background=b, target=0, groups=groups)
    assert e.values.shape == (2, 4) and e.groups == ((0, 3), (1,), (2, 4, 5), (6,))
    assert e.feature_names == ("x0+x3", "x1", "x2+x4+x5", "x6") or len(e.feature_names) == 4
    for r in range(2):
        np.testing.assert_allclose(e.values[r], _brute_group_shapley(f, X[r], b[0], groups), atol=1e-9)
    for method in ESTIMATORS:
        est = explain(model, X, method=method, background=b, target=0, groups=groups, budget=14, random_state=0)
        assert est.values.shape == (2, 4)
        assert est.sum_residual(f(X)).max() < 1e-6
        if method != "permutation":  # 2^4 − 2 = 14 coalitions: the regression estimators enumerate them all
            np.testing.assert_allclose(est.values, e.values, atol=1e-8)


def test_patch_groups_on_images_and_the_explanation_stores_groups():
    model = _mlp(64, seed=1)
    X = np.random.default_rng(0).normal(size=(2, 64))
    e = explain(model, X, method="exact", background=np.zeros((1, 64)), target=0, groups="patches:2x2")
    assert e.values.shape == (2, 16) and len(e.groups) == 16
    assert e.feature_names[0] == "patch r0-1 c0-1" and e.groups[0] == (0, 1, 8, 9)
    assert e.params["groups_spec"] == "patches:2x2" and e.data.shape == (2, 64)
    assert e.top_k(3)[0].startswith("patch") and e.global_importance().shape == (16,)
    pix = e.feature_values()
    assert pix.shape == (2, 64) and pix[0, 9] == e.values[0, 0]
    again = Explanation.from_dict(e.to_dict())
    assert again.groups == e.groups and again.to_dict() == e.to_dict()
    fx = model.output(X)[:, 0]
    assert e.sum_residual(fx).max() < 1e-9


def test_patch_plots_show_groups(tmp_path):
    pytest.importorskip("matplotlib")
    from leanlens.explain.plots import save_explanation_plots

    model = _mlp(64, seed=1)
    X = np.random.default_rng(0).normal(size=(2, 64))
    e = explain(model, X, method="kernel", background=np.zeros((1, 64)), target=0, groups="patches:4x4",
                budget=14, random_state=0)
    paths = save_explanation_plots(e, tmp_path)
    assert {p.stem for p in paths} == {"importance", "beeswarm", "waterfall_row0", "heatmap"}
    assert all(p.stat().st_size > 1000 for p in paths)


@pytest.mark.parametrize(("groups", "match"), [
    ([[0, 1], [1, 2, 3, 4, 5]], "overlap"),
    ([[0, 1], [2, 3]], "leave 2 feature"),
    ([[0, 1, 2, 3, 4, 5, 6]], "out of range"),
    ([[0, 1, 2], [], [3, 4, 5]], "non-empty"),
    ([[0, 1.0], [2, 3, 4, 5]], "must be ints"),
    ("patches:2x2", "square number"),
    ("patch:2", "patches:HxW"),
    ([], "non-empty"),
])
def test_bad_groups_are_refused_with_a_clear_error(groups, match):
    model = _mlp(6)
    for method in ("exact", "shapley"):
        with pytest.raises(InvalidInputError, match=match):
            explain(model, np.ones((1, 6)), method=method, background=np.zeros((1, 6)), groups=groups)


def test_resolve_groups_patches_need_a_fitting_size():
    with pytest.raises(InvalidInputError, match="patch size"):
        resolve_groups("patches:9x2", 64, (1, 8, 8), [f"x{i}" for i in range(64)])
    groups, _names = resolve_groups("patches:3x3", 64, (1, 8, 8), [f"x{i}" for i in range(64)])
    assert len(groups) == 9 and sorted(i for g in groups for i in g) == list(range(64))


@pytest.mark.slow
@pytest.mark.parametrize("method", ["exact", *ESTIMATORS])
def test_many_row_background_game_has_the_same_accuracy_class(method):
    """The interventional game over 30 background rows: efficiency to rounding, and the error
    against exact values is of the same order as with a single baseline."""
    d = 10
    model = _mlp(d, seed=2)
    rng = np.random.default_rng(5)
    X = rng.normal(size=(12, d))
    errs = {}
    for n_bg in (1, 30):
        bg = rng.normal(size=(n_bg, d))
        truth = explain(model, X, method="exact", background=bg, target=0).values
        e = explain(model, X, method=method, background=bg, target=0, budget=200, random_state=0)
        assert e.params["background_rows"] == n_bg
        assert e.n_model_evals >= n_bg * len(X)
        assert e.sum_residual(model.output(X)[:, 0]).max() < 1e-6
        errs[n_bg] = float(np.median(((e.values - truth) ** 2).sum(1) / (truth**2).sum(1)))
    if method == "exact":
        assert max(errs.values()) < 1e-20
    else:
        assert errs[30] < 0.1 and errs[30] < 10 * errs[1] + 1e-6


def test_chooser_rule():
    """The rule is a function of d, the budget, the model's cost per explained row and the outputs."""
    assert choose_estimator(10, 2000)[0] == "exact"
    # cheap model: gp while its predicted overhead is ≤ 50 ms per row (d ≤ 16 at 10·d and 40·d)
    for d in (10, 12, 16):
        for mult in (10, 40):
            assert choose_estimator(d, mult * d, model_seconds_per_row=1e-4)[0] == "gp"
            assert predicted_overhead("gp", d, mult * d) <= 0.05
    # the throughput case (d = 30, budget 2,000, a cheap model): the fast path
    method, reason = choose_estimator(30, 2000, model_seconds_per_row=2000 * 1e-6)
    assert method == "kernel" and "gp's predicted overhead" in reason and "polyshap" in reason
    # an expensive model makes polyshap's (and gp's) extra work worth it
    assert choose_estimator(30, 2000, model_seconds_per_row=2000 * 1e-5)[0] == "polyshap"
    # above 16 players the allowance grows as (d/16)^1.5: gp at d = 30, 40·d (with 128 fit points),
    # not at d = 40, budget 2,000 (~300 ms predicted, 198 allowed) unless the model is dear
    assert overhead_allowance(16) == overhead_allowance(8) == 0.05
    assert overhead_allowance(32) == pytest.approx(0.05 * 2**1.5)
    assert choose_estimator(30, 1200, model_seconds_per_row=0.0)[0] == "gp"
    assert choose_estimator(40, 2000, model_seconds_per_row=0.0)[0] != "gp"
    assert choose_estimator(40, 2000, model_seconds_per_row=2000 * 2e-4)[0] == "gp"
    # more outputs explained at once cost gp more
    assert choose_estimator(16, 640, outputs=10)[0] != "gp"
    assert choose_estimator(12, 480, gp_available=False, model_seconds_per_row=0.01)[0] == "polyshap"
    assert choose_estimator(12, 480, gp_available=False)[0] == "kernel"
    assert choose_estimator(40, 42, gp_available=False)[0] == "kernel"
    # the model's cost enters as a half-decade class: noise of ±30% does not move it
    assert model_cost_class(1.0e-6) == model_cost_class(1.3e-6) == model_cost_class(0.8e-6) == 1e-6
    assert model_cost_class(2.0e-6) == pytest.approx(10**-5.5)


def test_chooser_gp_fit_points_rule():
    """gp fits on max(128, 8·d) coalitions (per-player length-scales for wide inputs) when the
    allowance covers it, else on 128; the cost model counts fit points and outputs."""
    from leanlens.explain.shapley.gp import default_fit_points

    assert [gp_fit_points(d) for d in (4, 16, 17, 30, 64)] == [default_fit_points(d) for d in (4, 16, 17, 30, 64)]
    # more fit points and more outputs cost more; the budget's O(m³) posterior too
    assert predicted_overhead("gp", 30, 300, fit_points=240) > predicted_overhead("gp", 30, 300, fit_points=128)
    assert predicted_overhead("gp", 30, 300, outputs=10) == pytest.approx(10 * predicted_overhead("gp", 30, 300))
    assert predicted_overhead("gp", 30, 1200) > predicted_overhead("gp", 30, 300)
    # d ≤ 16: the default (128) is the only option, no parameter passed
    for d, m in ((12, 120), (16, 640)):
        c = choose(d, m)
        assert c.method == "gp" and c.params == {}
    # d = 30 at 10·d: the default 240 fit points are within the allowance
    c = choose(30, 300)
    assert c.method == "gp" and c.params == {}
    assert predicted_overhead("gp", 30, 300) <= overhead_allowance(30)
    # d = 30 at 40·d: 240 fit points are too dear on a cheap model, 128 are not
    c = choose(30, 1200)
    assert c.method == "gp" and c.params == {"fit_points": 128} and "with 128 fit points" in c.reason
    assert predicted_overhead("gp", 30, 1200) > overhead_allowance(30) >= predicted_overhead("gp", 30, 1200, fit_points=128)
    # … while a dear model buys the default fit
    assert choose(30, 1200, model_seconds_per_row=1200 * 1e-4).params == {}
    # ten outputs at once: ten GPs per row, too dear for the allowance on a cheap model
    c = choose(30, 300, outputs=10)
    assert c.method != "gp" and "gp's predicted overhead" in c.reason
    # choose_estimator is choose without the parameters
    assert choose_estimator(30, 1200) == (choose(30, 1200).method, choose(30, 1200).reason)


def test_shapley_records_gp_fit_points_in_the_explanation():
    """At d = 30 and 40·d on a cheap model, ``shapley`` runs gp with 128 fit points and says so."""
    model = _mlp(30, seed=4)
    X = np.random.default_rng(2).normal(size=(1, 30))
    e = leanlens.explain(model, X, background=np.zeros((1, 30)), target=0, budget=1200, random_state=0)
    assert e.params["estimator"] == "gp" and e.params["estimator_params"] == {"fit_points": 128}
    assert e.params["fit_points"] == 128 and e.params["length_scales"] == "shared"
    assert "with 128 fit points" in e.params["reason"] and "128 fit points" in e.notes[0]
    assert e.params["predicted_overhead_ms_per_row"] == pytest.approx(
        1e3 * predicted_overhead("gp", 30, 1200, fit_points=128), abs=1e-3)
    np.testing.assert_allclose(e.values.sum(axis=1), model.output(X)[:, 0] - model.output(np.zeros((1, 30)))[:, 0],
                               atol=1e-9)
    e = leanlens.explain(model, X, background=np.zeros((1, 30)), target=0, budget=300, random_state=0)
    assert e.params["estimator"] == "gp" and e.params["estimator_params"] == {}
    assert e.params["fit_points"] == 240 and e.params["length_scales"] == "per player"


def test_shapley_is_the_default_and_records_its_choice():
    model = _mlp(14)
    X = np.random.default_rng(0).normal(size=(2, 14))
    e = leanlens.explain(model, X, background=np.zeros((1, 14)), target=0, budget=140, random_state=0)
    assert e.method == "shapley"
    # a cheap model at d = 14, 10·d: gp's predicted overhead (~20 ms/row) is within 50 ms
    assert e.params["estimator"] == "gp" and "predicted overhead" in e.params["reason"]
    assert e.notes[0].startswith("shapley chose") and e.params["seconds_per_model_row"] > 0
    assert e.params["model_cost_class"] == model_cost_class(e.params["seconds_per_model_row"])
    assert 0 < e.params["predicted_overhead_ms_per_row"] <= 50
    # the throughput setting (d = 30, budget 2,000, a cheap model) takes the fast path
    wide = _mlp(30)
    t = leanlens.explain(wide, np.random.default_rng(1).normal(size=(2, 30)), background=np.zeros((1, 30)), target=0,
                         budget=2000, random_state=0)
    assert t.params["estimator"] == "kernel", t.params["reason"]
    small = leanlens.explain(model, X, background=np.zeros((1, 14)), target=0, budget=20000, random_state=0)
    assert small.params["estimator"] == "exact" and small.stderr is None


_OVER_COVERS = pytest.mark.xfail(strict=True, reason=(
    "known miss: polyshap's HC3 sandwich over-covers at 40·d (0.988 measured here); HC2 was tried and "
    "failed at 10·d and 40·d"))


@pytest.fixture(scope="module")
def coverage_games():
    """(seed, model, X, background, exact values) for the coverage test: two models × single and 5-row
    backgrounds, d = 10. Computed once for its ten parametrizations (the exact values do not depend
    on the method under test; recomputing them cost ~0.8 s of CPU per parametrization)."""
    d = 10
    games = []
    for seed in (0, 1):
        model = _mlp(d, seed=10 + seed)
        rng = np.random.default_rng(seed)
        X = rng.normal(size=(30, d))
        for n_bg in (1, 5):
            bg = rng.normal(size=(n_bg, d))
            games.append((seed, model, X, bg, explain(model, X, method="exact", background=bg, target=0).values))
    return games


@pytest.mark.slow
@pytest.mark.parametrize(("method", "budget"), [
    *[(m, b) for m in ("kernel", "leverage", "permutation", "gp") for b in (100, 400)],
    ("polyshap", 100), pytest.param("polyshap", 400, marks=_OVER_COVERS)])
def test_standard_errors_cover_the_exact_values(method, budget, coverage_games):
    """Nominal 95% intervals φ̂ ± 1.96·SE cover the exact value for 90–98% of (row, feature)
    pairs at 10·d and 40·d (d = 10), pooled over two models, single and 5-row backgrounds and
    two seeds. The models are not the ones gp's σ² rule was chosen on (benchmark-style MLPs)."""
    hits = []
    for seed, model, X, bg, truth in coverage_games:
        e = explain(model, X, method=method, background=bg, target=0, budget=budget, random_state=seed)
        hits.append(np.abs(e.values - truth) <= 1.96 * e.stderr + 1e-12)
    coverage = float(np.mean(hits))
    assert 0.90 <= coverage <= 0.98, coverage


def test_chooser_on_a_bare_game_delegates_by_d_and_budget():
    """Without a model call to time, the same rule with the model's cost unknown: exact or gp here."""
    from leanlens.explain.shapley.chooser import RecommendedShapley
    from leanlens.explain.shapley.game import MaskingGame

    w = np.arange(1.0, 7.0)
    f = leanlens.as_model(lambda X: X @ w, n_features=6)
    X, bg = np.ones((2, 6)), np.zeros((1, 6))
    game = MaskingGame(f, X, bg)
    chooser = RecommendedShapley(f, background=bg, random_state=0)
    for budget, chosen in ((62, "exact"), (20, "gp")):
        phi, _, notes = chooser._estimate(game, budget, np.random.default_rng(0))
        assert notes[0].startswith(f"shapley chose {chosen}")
        np.testing.assert_allclose(np.asarray(phi).reshape(2, 6), np.tile(w, (2, 1)), atol=1e-6)  # linear: w_i (x_i − 0)


def test_metrics_accept_group_explanations_spread_over_their_features():
    """evaluate() scores a 2×2-patch explanation: each pixel carries an equal share of its patch's
    value, so completeness holds and the metrics see 64 features (no "16 features but 64")."""
    model = _mlp(64, seed=2)
    X = np.random.default_rng(1).normal(size=(3, 64))
    bg = np.zeros((1, 64))
    e = explain(model, X, method="shapley", background=bg, target=0, groups="patches:2x2", budget=65534)
    assert e.params["estimator"] == "exact" and e.values.shape == (3, 16)
    res = {r.name: r for r in leanlens.evaluate(model, X, e, ["completeness", "deletion_auc", "sparseness"],
                                                background=bg)}
    assert all(r.skipped is None for r in res.values()), res
    assert res["completeness"].value < 1e-9
    from leanlens.metrics.api import spread_groups

    per_pixel = spread_groups(e, model.feature_names)
    assert per_pixel.values.shape == (3, 64) and per_pixel.groups is None
    np.testing.assert_allclose(per_pixel.values.sum(axis=1), e.values.sum(axis=1), atol=1e-12)
    np.testing.assert_allclose(per_pixel.values[:, [0, 1, 8, 9]], np.repeat(e.values[:, :1] / 4, 4, axis=1))
    assert any("spread evenly" in n for n in per_pixel.notes)


def test_a_torch_model_is_costed_from_its_macs_not_timed():
    """A model that knows its multiply-accumulates is costed without a clock, so the choice
    cannot move with the machine's load (a timed probe read a torch MLP 30–100× dearer at load 30
    and picked gp for the throughput setting)."""
    torch = pytest.importorskip("torch")
    from leanlens.explain.shapley.chooser import MACS_PER_SECOND

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(30, 64), torch.nn.Tanh(), torch.nn.Linear(64, 2))
    model = leanlens.as_model(net, n_features=30)
    macs = model.macs(batch=1)
    assert macs == 30 * 64 + 64 * 2
    X = np.random.default_rng(0).normal(size=(2, 30)).astype(np.float32)
    e = leanlens.explain(model, X, background=np.zeros((1, 30), np.float32), target=0, budget=2000, random_state=0)
    assert e.params["seconds_per_model_row"] == pytest.approx(macs / MACS_PER_SECOND)
    assert e.params["estimator"] == "kernel", e.params["reason"]
