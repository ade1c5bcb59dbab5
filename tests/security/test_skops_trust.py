"""Issue 10, items 1–2: a skops file runs no constructor it should not, and a crafted tree never reaches sklearn."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import leanlens
from leanlens.errors import ModelFormatError
from leanlens.testing import hostile

from .conftest import json_lines, run_capped

SKOPS_CASES = [name for name in hostile.CASES if name.startswith("skops_") and name != "skops_zip_bomb"]


def test_gzip_reexport_attack_leaves_the_target_untouched_load_model(tmp_path):
    case = hostile.skops_gzip_reexport(tmp_path)
    before = case.victim_state()
    with pytest.raises(ModelFormatError, match=r"re-export of gzip\.GzipFile"):
        leanlens.load_model(case.path)
    assert case.victim_state() == before  # bytes and mtime: GzipFile(victim, "wb") never ran


def test_gzip_reexport_attack_leaves_the_target_untouched_cli_info(tmp_path, run_cli):
    case = hostile.skops_gzip_reexport(tmp_path)
    before = case.victim_state()
    code, err = run_cli("info", case.path)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("leanlens: error:") and "does not trust" in err
    assert "Traceback" not in err
    assert case.victim_state() == before


@pytest.mark.parametrize("name", SKOPS_CASES)
def test_every_crafted_skops_file_is_refused_without_effect(name, tmp_path):
    case = hostile.CASES[name](tmp_path)
    before = case.victim_state()
    with pytest.raises(ModelFormatError) as info:
        leanlens.load_model(case.path)
    assert len(str(info.value)) < 1000
    assert case.victim_state() == before


@pytest.mark.parametrize(("name", "needle"), [
    ("skops_tree_left_child_huge", "left child is 1000000000"),
    ("skops_tree_feature_huge", "splits on feature 10000000"),
    ("skops_tree_cycle", "left child is 0"),
    ("skops_tree_half_leaf", "a split needs both"),
    ("skops_tree_nan_threshold", "non-finite threshold"),
    ("skops_tree_negative_child", "right child is -7"),
    ("skops_forest_bad_member", "estimators_[0]"),
    ("skops_tree_node_count", "node_count"),
    ("skops_tree_n_outputs", "n_outputs"),
    ("skops_npy_declared_huge", "declares shape (100000000000,)"),
])
def test_tree_refusals_name_the_fault(name, needle, tmp_path):
    with pytest.raises(ModelFormatError, match=None) as info:
        leanlens.load_model(hostile.CASES[name](tmp_path).path)
    assert needle in str(info.value)


def test_zip_bomb_is_refused_from_the_zip_directory(tmp_path):
    with pytest.raises(ModelFormatError, match="2,147,483,736 bytes uncompressed"):
        leanlens.load_model(hostile.skops_zip_bomb(tmp_path).path)


def test_trust_rule_accepts_estimators_and_the_allow_list_only():
    from leanlens.models.skops_audit import refused_types

    assert refused_types(["sklearn.tree._tree.Tree", "sklearn.multiclass._ConstantPredictor",
                          "sklearn.calibration._CalibratedClassifier"]) == {}
    refused = refused_types(["sklearn.datasets._covtype.GzipFile", "sklearn.utils._testing.TempMemmap",
                             "sklearn.externals.array_api_compat.torch.PyTorchFileWriter", "scipy.io.savemat",
                             "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
                             "sklearn.metrics._dist_metrics.EuclideanDistance64", "builtins.open"])
    assert sorted(refused) == sorted(["sklearn.datasets._covtype.GzipFile", "sklearn.utils._testing.TempMemmap",
                                      "sklearn.externals.array_api_compat.torch.PyTorchFileWriter", "scipy.io.savemat",
                                      "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
                                      "sklearn.metrics._dist_metrics.EuclideanDistance64", "builtins.open"])


def test_real_tree_and_other_models_still_load_and_predict(tmp_path):
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import (
        ExtraTreesRegressor,
        GradientBoostingClassifier,
        RandomForestClassifier,
    )
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    estimators = [RandomForestClassifier(n_estimators=3, max_depth=3, random_state=0),
                  GradientBoostingClassifier(n_estimators=3, random_state=0),
                  make_pipeline(StandardScaler(), CalibratedClassifierCV(LogisticRegression(), cv=2)),
                  MLPClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = [e.fit(X, y) for e in estimators] + [ExtraTreesRegressor(n_estimators=2, random_state=0).fit(X, X[:, 0])]
    for i, est in enumerate(fitted):
        m = leanlens.as_model(est)
        loaded = leanlens.load_model(m.save(tmp_path / str(i)))
        np.testing.assert_allclose(loaded.output(X[:5]), m.output(X[:5]))


@pytest.mark.slow
def test_crafted_tree_explain_exits_2_not_139(tmp_path):
    """The issue's segfault, end to end: ``leanlens explain`` on crafted trees exits 2 with one line each.

    One capped subprocess runs the CLI on every case in turn: a segfault (or a hang in a
    cyclic tree) would kill it (exit -11 / 139) or hit the timeout instead of printing codes.
    """
    cases = [hostile.skops_tree_left_child_huge(tmp_path), hostile.skops_tree_feature_huge(tmp_path),
             hostile.skops_tree_cycle(tmp_path), hostile.skops_forest_bad_member(tmp_path)]
    body = """
from leanlens.cli import main
args = sys.argv[1:]
for path, out in zip(args[::2], args[1::2]):
    try:
        main(["explain", path, "--data", "iris", "--rows", "0:2", "--out", out])
        code = 0
    except SystemExit as exc:
        code = exc.code
    print(json.dumps({"path": path, "code": code}), flush=True)
"""
    args = [str(x) for c in cases for x in (c.path, tmp_path / f"out-{c.name}")]
    proc = run_capped(body, timeout=280, args=args)
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-800:])
    assert [r["code"] for r in json_lines(proc.stdout)] == [2] * len(cases)
    lines = proc.stderr.splitlines()
    assert len(lines) == len(cases) and all("corrupt or crafted" in ln for ln in lines), proc.stderr[-800:]
    assert not any((tmp_path / f"out-{c.name}").exists() for c in cases)


@pytest.mark.slow
def test_skops_bombs_are_refused_with_bounded_memory_and_time(tmp_path):
    cases = [hostile.skops_zip_bomb(tmp_path), hostile.skops_npy_declared_huge(tmp_path),
             hostile.skops_deep_schema(tmp_path), hostile.skops_tree_n_outputs(tmp_path)]
    body = """
import leanlens
for path in sys.argv[1:]:
    try:
        leanlens.load_model(path)
        print(json.dumps({"path": path, "outcome": "loaded"}))
    except leanlens.LeanlensError as exc:
        print(json.dumps({"path": path, "outcome": "refused", "error": type(exc).__name__}), flush=True)
"""
    proc = run_capped(body, timeout=240, args=[str(c.path) for c in cases])
    assert proc.returncode == 0, proc.stderr[-1000:]
    results = json_lines(proc.stdout)
    assert [r["outcome"] for r in results] == ["refused"] * len(cases)
