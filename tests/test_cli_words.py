"""The CLI speaks in flags, not in Python keyword arguments, and gives scores a reference."""

from __future__ import annotations

from typer.testing import CliRunner

from leanlens.cli import _cli_words, app


def test_api_hints_become_flags():
    assert _cli_words("Choose another folder or pass overwrite=True (--overwrite in the CLI).") == \
        "Choose another folder or pass --overwrite."
    assert "ground_truth=" not in _cli_words("needs ground-truth attributions; pass ground_truth=...")


def test_existing_output_error_names_the_flag(iris_mlp, tmp_path, capsys):
    import pytest

    from leanlens.cli import main

    iris_mlp.save(tmp_path / "m")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("x")
    with pytest.raises(SystemExit) as exc:
        main(["explain", str(tmp_path / "m"), "--data", "iris", "--rows", "0:2", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert exc.value.code == 2
    assert "--overwrite" in err and "overwrite=True" not in err


def test_evaluate_shows_a_random_reference_and_no_api_hints(iris_mlp, tmp_path):
    iris_mlp.save(tmp_path / "m")
    res = CliRunner().invoke(app, ["evaluate", str(tmp_path / "m"), "--data", "iris", "--explainer", "kernel",
                                   "--rows", "8", "--background", "5", "--metrics", "deletion_auc,gt_rank_agreement",
                                   "--out", str(tmp_path / "ev")], terminal_width=200)
    assert res.exit_code == 0, res.output
    assert "(random: " in res.stdout
    assert "--data synthetic" in res.stdout and "ground_truth=" not in res.stdout
