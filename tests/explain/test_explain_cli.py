"""`leanlens explainers` and `leanlens explain` through leanlens.cli.main: outputs and exit codes."""

from __future__ import annotations

import json

import numpy as np
import pytest

import leanlens
from leanlens.cli import main
from leanlens.explain import Explanation
from leanlens.explain.base import EXPLAINERS, available_explainers


def run(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in argv])
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


@pytest.fixture(scope="module")
def saved_models(tmp_path_factory, iris_mlp, iris_forest):
    root = tmp_path_factory.mktemp("models")
    iris_mlp.save(root / "mlp")
    iris_forest.save(root / "forest")
    return root


def test_explainers_lists_every_method_once(capsys):
    code, out, _ = run(["explainers"], capsys)
    assert code == 0
    available_explainers()
    lines = out.strip().splitlines()
    assert len(lines) == len(EXPLAINERS)
    for name, cls in EXPLAINERS.items():
        line = next(ln for ln in lines if ln.split()[0] == name)
        assert cls.summary in line


def test_explain_writes_explanation_and_plots(saved_models, tmp_path, capsys, iris_mlp, iris):
    out = tmp_path / "e"
    code, stdout, err = run(["explain", saved_models / "mlp", "--data", "iris", "--method", "ig", "--rows", "0:5",
                             "--background", "30", "--target", "predicted", "--seed", "0", "--out", out], capsys)
    assert code == 0, err
    assert "explanation written to" in stdout and "top features" in stdout
    names = sorted(p.name for p in out.iterdir())
    assert names == [".leanlens", "beeswarm.png", "explanation.json", "explanation.npz", "importance.png", "waterfall_row0.png"]
    e = Explanation.load(out / "explanation.json")
    assert e.values.shape == (5, 4) and e.method == "ig"
    assert e.params["rows"] == "0:5" and e.params["split"] == "test" and e.params["n_background"] == 30
    np.testing.assert_allclose(e.data, iris.X_test[:5])
    assert e.targets.tolist() == iris_mlp.predict(iris.X_test[:5]).tolist()
    meta = json.loads((out / "explanation.json").read_text())
    assert meta["shape"] == [5, 4]


def test_explain_uses_the_split_the_model_was_trained_on(saved_models, tmp_path, capsys, iris):
    # iris_mlp was trained with random_state=0: --seed 5 changes the background draw, not the split
    base = ["explain", saved_models / "mlp", "--data", "iris", "--method", "saliency", "--rows", "0:4", "--seed", "5",
            "--no-plots", "--quiet", "--out"]
    assert run([*base, tmp_path / "a"], capsys)[0] == 0
    e = Explanation.load(tmp_path / "a")
    np.testing.assert_allclose(e.data, iris.X_test[:4])
    assert e.params["data_seed"] == 0
    assert run([*base, tmp_path / "b", "--data-seed", "3"], capsys)[0] == 0
    other = leanlens.datasets.load("iris", random_state=3)
    np.testing.assert_allclose(Explanation.load(tmp_path / "b").data, other.X_test[:4])


def test_explain_passes_method_parameters(saved_models, tmp_path, capsys):
    args = ["explain", saved_models / "mlp", "--data", "iris", "--method", "ig", "--rows", "0:3", "--no-plots", "--quiet",
            "--param", "baseline=zeros", "--param", "n_steps=16", "--out", tmp_path / "e"]
    code, _, err = run(args, capsys)
    assert code == 0, err
    e = Explanation.load(tmp_path / "e")
    assert e.params["baseline"] == "zeros" and e.params["n_steps"] == 16
    code, _, err = run([*args[:-2], "--param", "steps", "--out", tmp_path / "f"], capsys)
    assert code == 2 and "--param must look like KEY=VALUE" in err
    code, _, err = run([*args[:-2], "--param", "colour=red", "--out", tmp_path / "g"], capsys)
    assert code == 2 and "Unknown parameter(s) ['colour']" in err


def test_explain_is_deterministic_and_overwrite_is_explicit(saved_models, tmp_path, capsys):
    args = ["explain", saved_models / "forest", "--data", "iris", "--method", "lime", "--rows", "3,7", "--budget", "50",
            "--target", "all", "--no-plots", "--quiet", "--out"]
    assert run([*args, tmp_path / "a"], capsys)[0] == 0
    assert run([*args, tmp_path / "b"], capsys)[0] == 0
    a, b = Explanation.load(tmp_path / "a"), Explanation.load(tmp_path / "b")
    np.testing.assert_array_equal(a.values, b.values)
    assert a.values.shape == (2, 4, 3)
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == [".leanlens", "explanation.json", "explanation.npz"]
    code, _, err = run([*args, tmp_path / "a"], capsys)
    assert code == 2 and "already exists" in err and "--overwrite" in err
    assert run([*args, tmp_path / "a", "--overwrite"], capsys)[0] == 0


def test_explain_digits_writes_a_heatmap(tmp_path, capsys, digits):
    from sklearn.linear_model import LogisticRegression

    model_dir = tmp_path / "digits-lr"
    leanlens.as_model(LogisticRegression(max_iter=100).fit(digits.X_train[:300], digits.y_train[:300])).save(model_dir)
    out = tmp_path / "e"
    code, _, err = run(["explain", model_dir, "--data", "digits", "--method", "lime", "--rows", "0:3", "--budget", "30",
                        "--quiet", "--out", out], capsys)
    assert code == 0, err
    assert (out / "heatmap.png").stat().st_size > 2000


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--method", "limee"], "Unknown explanation method 'limee'. Did you mean 'lime'? Valid methods:"),
        (["--rows", "40:50"], "--rows 40:50 is out of range for the test split, which has 30 rows"),
        (["--rows", "2,99"], "out of range"),
        (["--rows", "a:b"], "--rows must look like 0:100"),
        (["--target", "7"], "'target' index must be in [0, 3)"),
        (["--target", "biggest"], "'target' parameter must be None, 'predicted'"),
        (["--data", "digits"], "has 64 features per row; the model expects 4"),
        (["--data", "no-such-set"], "no-such-set"),
        (["--split", "holdout"], "'split' parameter must be one of"),
        (["--background", "0"], "'--background' parameter must be an int in [1, "),
        (["--method", "tree"], "needs a scikit-learn decision tree"),
    ],
)
def test_explain_bad_input_exits_2_with_one_line(saved_models, tmp_path, capsys, args, fragment):
    code, _, err = run(["explain", saved_models / "mlp", "--data", "iris", "--method", "lime", "--budget", "20",
                        "--out", tmp_path / "e", *args], capsys)
    assert code == 2
    assert fragment in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "e").exists()


def test_gradient_method_on_a_model_without_gradients_exits_2(saved_models, tmp_path, capsys):
    code, _, err = run(["explain", saved_models / "forest", "--data", "iris", "--method", "deeplift",
                        "--out", tmp_path / "e"], capsys)
    assert code == 2 and "needs gradients" in err and "model-agnostic" in err


def test_missing_model_folder_exits_2(tmp_path, capsys):
    code, _, err = run(["explain", tmp_path / "nope", "--data", "iris", "--method", "lime", "--out", tmp_path / "e"], capsys)
    assert code == 2 and err.startswith("leanlens: error:")
