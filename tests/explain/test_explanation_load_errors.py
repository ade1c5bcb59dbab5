"""Explanation.load on JSON that is not an object fails with ModelFormatError."""

from __future__ import annotations

import json

import numpy as np
import pytest

import leanlens
from leanlens import Explanation
from leanlens.errors import ModelFormatError


@pytest.mark.parametrize("content", [[], 5, "text", None])
def test_load_non_object_json(tmp_path, content):
    path = tmp_path / "explanation.json"
    path.write_text(json.dumps(content))
    with pytest.raises(ModelFormatError, match="must hold a JSON object. Got a JSON"):
        Explanation.load(path)
    with pytest.raises(ModelFormatError, match="must hold a JSON object"):
        Explanation.load(tmp_path)  # the folder form


def test_load_still_round_trips(tmp_path):
    m = leanlens.as_model(lambda X: X @ np.array([1.0, 2.0, 0.0]), n_features=3)
    e = leanlens.explain(m, np.ones((2, 3)), method="exact", background=np.zeros((1, 3)))
    back = Explanation.load(e.save(tmp_path / "e"))
    np.testing.assert_allclose(back.values, e.values)
