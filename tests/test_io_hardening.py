"""Issue 10 items 6, 7, 8, 13: destinations checked before work, overwrite only of leanlens folders,
umask on every file, a failed run/sweep leaves no folder. Each test proves the absence of an effect."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from leanlens._io import MARKER, atomic_dir, prepare_out_dir
from leanlens.cli import main
from leanlens.errors import OutputError, OutputExistsError

SRC = str(Path(__file__).resolve().parents[1] / "src")
SWEEP = {
    "name": "tiny-sweep", "data": {"name": "iris"}, "model": {"train": {"hidden": [8], "epochs": 2}},
    "explain": {"methods": ["exact"], "n_rows": 4, "background": 4},
    "sweep": {"trials": 2, "plan": [{"prune": {"kind": "unstructured", "amount": 0.5}}],
              "space": {"prune.amount": {"low": 0.1, "high": 0.7}}},
}


def _cli(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    return exc.value.code, capsys.readouterr().err


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# -- item 6: the destination is checked before any work ---------------------------------------

@pytest.mark.parametrize("bad", [
    "/proc/leanlens-out",                 # a pseudo file system where nothing can be created
    "x" * 300,                            # a name past the 255-byte limit
    "afile/out",                          # a parent that is a file
])
def test_uncreatable_destinations_are_refused_before_work(bad, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("not a folder")
    before = _tree(tmp_path)
    with pytest.raises(OutputError, match="'out'"):
        prepare_out_dir(bad, overwrite=False)
    assert _tree(tmp_path) == before and sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


@pytest.mark.parametrize("rel", [".", "..", "./", "sub/.."])
def test_the_cwd_and_its_parents_are_never_an_output(rel, tmp_path, monkeypatch):
    (tmp_path / "sub").mkdir()
    (tmp_path / "thesis.txt").write_text("years of work")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(OutputError, match="current folder or one of its parents"):
        prepare_out_dir(rel, overwrite=True)
    assert (tmp_path / "thesis.txt").read_text() == "years of work"


def test_cli_train_with_out_dot_and_overwrite_does_no_work_and_leaves_no_tmp(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "thesis.txt").write_text("keep")
    code, err = _cli(["train", "--data", "iris", "--hidden", "4", "--epochs", "1", "--out", ".", "--overwrite", "-q"], capsys)
    assert code == 2 and err.count("\n") == 1 and "current folder" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thesis.txt"]  # no hidden .tmp, no model


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to drop to another user")
def test_read_only_parent_is_refused_as_permission_denied(tmp_path):
    """As root every folder is writable, so the check runs as 'nobody' in a child process."""
    ro = tmp_path / "ro"
    ro.mkdir()
    os.chmod(tmp_path, 0o755)
    os.chmod(ro, 0o555)
    code = ("import sys; from leanlens._io import prepare_out_dir; from leanlens.errors import OutputError\n"
            "try:\n    prepare_out_dir(sys.argv[1], overwrite=False)\nexcept OutputError as e:\n"
            "    print(e); sys.exit(3)\n")
    try:
        proc = subprocess.run([sys.executable, "-c", code, str(ro / "out")], capture_output=True, text=True,
                              env={**os.environ, "PYTHONPATH": SRC}, timeout=120,
                              preexec_fn=lambda: (os.setgid(65534), os.setuid(65534)), cwd="/")
    except (PermissionError, subprocess.SubprocessError) as exc:  # pragma: no cover - sandbox refuses setuid
        pytest.skip(f"cannot run as nobody: {exc}")
    if "ModuleNotFoundError" in proc.stderr or "PermissionError" in proc.stderr:
        pytest.skip("the source tree is not readable by nobody")
    assert proc.returncode == 3, proc.stderr
    assert "permission denied" in proc.stdout and list(ro.iterdir()) == []


# -- item 7: overwrite only replaces a folder leanlens wrote ----------------------------------

def _user_folder(tmp_path: Path) -> Path:
    d = tmp_path / "mine"
    d.mkdir()
    (d / "thesis.txt").write_text("chapter 1")
    return d


@pytest.mark.parametrize("argv", [
    ["train", "--data", "iris"],
    ["explain", "nomodel"],
    ["evaluate", "nomodel"],
    ["compare", "a", "b"],
    ["compress", "nomodel", "--prune", "0.5"],
    ["demo"],
])
def test_overwrite_refuses_a_users_folder_in_every_command(argv, tmp_path, capsys):
    d = _user_folder(tmp_path)
    code, err = _cli([*argv, "--out", str(d), "--overwrite"], capsys)
    assert code == 2 and err.count("\n") == 1
    assert "not written by leanlens" in err or "not a leanlens run folder" in err
    assert _tree(d) == {"thesis.txt": b"chapter 1"}


def test_run_and_sweep_refuse_a_users_folder(tmp_path, capsys):
    import yaml

    cfg = tmp_path / "p.yaml"
    cfg.write_text(yaml.safe_dump(SWEEP))
    d = _user_folder(tmp_path)
    for argv in (["run", str(cfg)], ["sweep", str(cfg)]):
        code, err = _cli([*argv, "--out", str(d), "--overwrite"], capsys)
        assert code == 2 and _tree(d) == {"thesis.txt": b"chapter 1"}, err


def test_overwrite_replaces_a_marked_folder(iris_mlp, tmp_path):
    out = iris_mlp.save(tmp_path / "m")
    assert (out / MARKER).is_file()
    (out / "extra.txt").write_text("from the first save")
    iris_mlp.save(out, overwrite=True)
    assert not (out / "extra.txt").exists() and (out / "model.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_python_api_save_refuses_a_users_folder(iris_mlp, tmp_path):
    d = _user_folder(tmp_path)
    with pytest.raises(OutputExistsError, match="not written by leanlens"):
        iris_mlp.save(d, overwrite=True)
    assert _tree(d) == {"thesis.txt": b"chapter 1"}


def test_marker_that_is_a_symlink_does_not_count(tmp_path):
    d = _user_folder(tmp_path)
    (tmp_path / "elsewhere").write_text("x")
    (d / MARKER).symlink_to(tmp_path / "elsewhere")
    with pytest.raises(OutputExistsError):
        prepare_out_dir(d, overwrite=True)


def test_failed_block_removes_parents_it_created(tmp_path):
    with pytest.raises(RuntimeError), atomic_dir(tmp_path / "a" / "b" / "out") as tmp:
        (tmp / "x").write_text("1")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


# -- item 8: the umask applies to every file ---------------------------------------------------

def test_every_saved_file_respects_the_umask(iris_mlp, tmp_path):
    old = os.umask(0o027)
    try:
        out = iris_mlp.save(tmp_path / "m")
    finally:
        os.umask(old)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in out.iterdir()}
    assert modes["model.safetensors"] == 0o640, modes  # safetensors itself writes 0600
    assert set(modes.values()) == {0o640} and stat.S_IMODE(out.stat().st_mode) == 0o750


def test_cli_permission_errors_are_worded_as_such(capsys, monkeypatch, tmp_path):
    from leanlens import cli

    def denied(*a, **k):
        raise PermissionError(13, "Permission denied", str(tmp_path / "m" / "model.json"))

    monkeypatch.setattr("leanlens.models.load_model", denied)
    code, err = _cli(["info", str(tmp_path / "m")], capsys)
    assert cli is not None and code == 2 and err.startswith("leanlens: error: permission denied") and err.count("\n") == 1


# -- item 13: a failed run or sweep leaves no folder --------------------------------------------

def test_failed_run_then_rerun_without_overwrite(tmp_path, capsys):
    import yaml

    cfg = tmp_path / "p.yaml"
    cfg.write_text(yaml.safe_dump({"data": {"path": str(tmp_path / "missing.csv"), "target": "y"}}))
    code, err = _cli(["run", str(cfg), "--out", str(tmp_path / "r"), "-q"], capsys)
    assert code == 2 and "does not exist" in err and not (tmp_path / "r").exists()
    (tmp_path / "missing.csv").write_text("a,y\n" + "".join(f"{i},{i % 2}\n" for i in range(3)))
    code, err = _cli(["run", str(cfg), "--out", str(tmp_path / "r"), "-q"], capsys)
    assert code == 2 and "already exists" not in err and not (tmp_path / "r").exists()  # too few rows, no folder


def test_bad_storage_url_fails_before_the_sweep_folder(tmp_path, capsys):
    import yaml

    cfg = tmp_path / "p.yaml"
    cfg.write_text(yaml.safe_dump(SWEEP))
    for url in ("notaurl", "nosuchdb://x/y", "sqlite:////nonexistent-dir/study.db"):
        code, err = _cli(["sweep", str(cfg), "--out", str(tmp_path / "s"), "--storage", url, "-q"], capsys)
        assert code == 2 and "storage" in err, err
        assert not (tmp_path / "s").exists()


def test_unwritable_parent_is_worded_as_permission_denied(tmp_path, monkeypatch):
    """The probe's own error decides the wording (root writes everywhere, so the denial is simulated)."""
    import tempfile

    def denied(*a, **k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkdtemp", denied)
    with pytest.raises(OutputError, match="cannot be created in .*: permission denied"):
        prepare_out_dir(tmp_path / "ro" / "out", overwrite=False)
    assert list(tmp_path.iterdir()) == []
