"""`leanlens explainers` lists every method without importing torch / Captum / shap / sklearn,
from a table that must match the classes it describes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from leanlens.explain.base import available_explainers
from leanlens.explain.catalog import BUILTIN_EXPLAINERS, explainer_catalog

HEAVY = ("torch", "captum", "shap", "sklearn", "scipy")


def test_catalog_matches_every_registered_class():
    classes = available_explainers()
    assert set(BUILTIN_EXPLAINERS) <= set(classes)
    for name, cls in classes.items():
        assert explainer_catalog()[name] == (bool(cls.model_agnostic), cls.summary), name


def test_cli_listing_imports_no_heavy_library():
    code = (
        "import json, sys\n"
        "from leanlens.cli import main\n"
        "try:\n    main(['explainers'])\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120, check=True)
    lines = out.stdout.strip().splitlines()
    assert json.loads(lines[-1]) == []
    listed = {line.split()[0] for line in lines[:-1]}
    assert set(BUILTIN_EXPLAINERS) <= listed and "ig" in listed and "shapley" in listed
