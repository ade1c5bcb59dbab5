"""Resources run() and Ray workers create are released: the executor on a failed start, unpacked model folders."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from leanlens.errors import ModelFormatError
from leanlens.pipeline import RayExecutor, run
from leanlens.pipeline import distributed as dist

run_module = importlib.import_module("leanlens.pipeline.run")  # the package re-exports run() under this name


class _FailingRay(RayExecutor):
    def __init__(self) -> None:
        super().__init__(None)
        self.closed = 0

    def start(self) -> RayExecutor:
        self._started = True  # as if a local Ray had come up partway
        raise RuntimeError("ray failed to start")

    def close(self) -> None:
        self.closed += 1
        self._started = self._connected = False


def test_run_closes_its_executor_when_ray_fails_to_start(monkeypatch, tmp_path, make_config):
    fake = _FailingRay()
    monkeypatch.setattr(run_module, "make_executor", lambda *a, **k: fake)
    with pytest.raises(RuntimeError, match="ray failed to start"):
        run(make_config(), out=tmp_path / "run")
    assert fake.closed == 1


def test_run_leaves_a_given_executor_open_when_ray_fails(tmp_path, make_config):
    fake = _FailingRay()
    with pytest.raises(RuntimeError, match="ray failed to start"):
        run(make_config(), out=tmp_path / "run", executor=fake)
    assert fake.closed == 0


def _folder_of_cached() -> Path:
    (_, tmp), = dist._UNPACKED.values()
    return Path(tmp.name)


def test_unpacked_model_folders_are_removed_when_dropped(iris_mlp, iris):
    dist.clear_unpacked()
    payload = dist.pack_model(iris_mlp)
    model = dist.unpack_model(payload)
    first = _folder_of_cached()
    assert first.is_dir() and model.output(iris.X_test[:2]).shape == (2, 3)
    assert dist.unpack_model(payload) is model and _folder_of_cached() == first  # cached: no new folder

    other = dict(payload, extra=b"x")  # a different payload: a new cache entry
    dist.unpack_model(other)
    second = _folder_of_cached()
    assert second != first and second.is_dir() and not first.exists()

    dist.clear_unpacked()
    assert not second.exists() and not dist._UNPACKED


def test_unpack_failure_leaves_no_folder(monkeypatch, tmp_path):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dist.clear_unpacked()
    with pytest.raises(ModelFormatError):
        dist.unpack_model({"model.json": b"{not json"})
    assert list(tmp_path.iterdir()) == [] and not dist._UNPACKED
