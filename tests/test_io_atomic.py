import json

import numpy as np
import pytest

from leanlens._io import atomic_dir, atomic_write_json, atomic_write_text, prepare_out_dir
from leanlens.errors import OutputExistsError

# the atomic write with its real fsync (the rest of the suite skips the disk flush: tests/conftest.py)
pytestmark = pytest.mark.usefixtures("real_fsync")


def test_atomic_write_replaces_and_leaves_no_temp(tmp_path):
    p = atomic_write_text(tmp_path / "a.txt", "one")
    atomic_write_text(p, "two")
    assert p.read_text() == "two"
    assert [f.name for f in tmp_path.iterdir()] == ["a.txt"]


def test_json_handles_numpy(tmp_path):
    p = atomic_write_json(tmp_path / "a.json", {"x": np.float32(1.5), "y": np.arange(3)})
    assert json.loads(p.read_text()) == {"x": 1.5, "y": [0, 1, 2]}


def test_atomic_dir_failure_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError), atomic_dir(tmp_path / "out") as tmp:
        (tmp / "half.txt").write_text("partial")
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_atomic_dir_overwrite_keeps_old_until_done(tmp_path):
    with atomic_dir(tmp_path / "out") as tmp:
        (tmp / "v.txt").write_text("1")
    with pytest.raises(OutputExistsError):
        prepare_out_dir(tmp_path / "out", overwrite=False)
    with pytest.raises(RuntimeError), atomic_dir(tmp_path / "out", overwrite=True) as tmp:
        raise RuntimeError
    assert (tmp_path / "out" / "v.txt").read_text() == "1"
    with atomic_dir(tmp_path / "out", overwrite=True) as tmp:
        (tmp / "v.txt").write_text("2")
    assert (tmp_path / "out" / "v.txt").read_text() == "2"
    assert [f.name for f in tmp_path.iterdir()] == ["out"]


def test_empty_existing_folder_is_accepted(tmp_path):
    (tmp_path / "empty").mkdir()
    assert prepare_out_dir(tmp_path / "empty", overwrite=False) == tmp_path / "empty"


def test_outputs_get_ordinary_permissions(tmp_path):
    import os
    import stat

    mask = os.umask(0o022)
    try:
        p = atomic_write_text(tmp_path / "a.txt", "x")
        with atomic_dir(tmp_path / "d") as tmp:
            (tmp / "f").write_text("y")
    finally:
        os.umask(mask)
    assert stat.S_IMODE(p.stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "d").stat().st_mode) == 0o755
