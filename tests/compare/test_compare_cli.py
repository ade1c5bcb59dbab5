"""`leanlens evaluate` and `leanlens compare` through main(): outputs, exit codes, one-line errors."""

from __future__ import annotations

import json

import pytest

from leanlens.cli import main


def run(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


@pytest.fixture(scope="module")
def iris_dir(tmp_path_factory, iris_mlp):
    path = tmp_path_factory.mktemp("models") / "iris"
    iris_mlp.save(path)
    return path


def test_evaluate_writes_metrics_json(iris_dir, tmp_path, capsys) -> None:
    out = tmp_path / "ev"
    code, _, err = run(["evaluate", str(iris_dir), "--data", "iris", "--explainer", "kernel", "--rows", "12",
                             "--metrics", "faithfulness,complexity,completeness,lime_only", "--out", str(out), "--quiet"],
                            capsys)
    assert code == 2 and "Unknown metric 'lime_only'" in err and len(err.strip().splitlines()) == 1
    code, _stdout, err = run(["evaluate", str(iris_dir), "--data", "iris", "--explainer", "kernel", "--rows", "12",
                             "--metrics", "faithfulness,complexity,completeness", "--out", str(out), "--quiet"], capsys)
    assert code == 0, err
    data = json.loads((out / "metrics.json").read_text())
    names = [m["name"] for m in data["metrics"]]
    assert names[:2] == ["deletion_auc", "insertion_auc"] and "completeness" in names
    completeness = next(m for m in data["metrics"] if m["name"] == "completeness")
    assert completeness["skipped"] is None and completeness["value"] < 1e-6  # kernel with 4 features is exact
    assert (out / "explanation.json").is_file()


def test_compare_writes_drift_json_and_plots(iris_dir, tmp_path, capsys) -> None:
    out = tmp_path / "cmp"
    args = ["compare", str(iris_dir), str(iris_dir), "--data", "iris", "--explainers", "kernel,ig", "--rows", "30",
            "--background", "10", "--twins", "2", "--out", str(out), "--quiet"]
    code, stdout, err = run(args, capsys)
    assert code == 0, err
    assert "verdict: same-reasons" in stdout and "2 retrained twins of the original" in stdout
    drift = json.loads((out / "drift.json").read_text())
    assert drift["verdict"] == "same-reasons" and set(drift["explainers"]) == {"kernel", "ig"}
    assert drift["twins"]["source"] == "retrained" and (out / "strip_chart.png").is_file()
    assert (out / "ig_agreement_histogram.png").is_file() and (out / "kernel_global_importance.png").is_file()
    code, _, err = run(args, capsys)
    assert code == 2 and "already exists" in err
    code, _, err = run([*args, "--overwrite", "--no-plots"], capsys)
    assert code == 0 and not (out / "ig_agreement_histogram.png").exists()


def test_compare_refuses_models_with_different_inputs(iris_dir, tmp_path, capsys) -> None:
    wine_dir = tmp_path / "wine"
    assert run(["train", "--data", "wine", "--hidden", "4", "--epochs", "1", "--out", str(wine_dir), "--quiet"],
               capsys)[0] == 0
    code, _, err = run(["compare", str(iris_dir), str(wine_dir), "--data", "iris", "--out", str(tmp_path / "x")], capsys)
    assert code == 2
    assert "different inputs" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()


def test_compare_twin_options(iris_dir, tmp_path, capsys) -> None:
    base = ["compare", str(iris_dir), str(iris_dir), "--data", "iris", "--explainers", "ig", "--rows", "30",
            "--background", "10", "--quiet", "--no-plots"]
    code, stdout, err = run([*base, "--twin", str(iris_dir), "--out", str(tmp_path / "a")], capsys)
    assert code == 0, err
    assert json.loads((tmp_path / "a" / "drift.json").read_text())["twins"]["source"] == "given"
    code, stdout, err = run([*base, "--twins", "0", "--out", str(tmp_path / "b")], capsys)
    assert code == 0 and "no twins (twins=0)" in stdout
    code, _, err = run([*base, "--twins", "-1", "--out", str(tmp_path / "c")], capsys)
    assert code == 2 and "'--twins' option must be ≥ 0" in err and len(err.strip().splitlines()) == 1
    code, _, err = run([*base, "--max-seconds", "0", "--out", str(tmp_path / "d")], capsys)
    assert code == 2 and "'--max-seconds' option must be > 0" in err
