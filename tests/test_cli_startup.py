"""The CLI's start-up cost: commands that need no backend, and refusals of bad input, import none.

torch, scikit-learn, skops and ONNX Runtime each cost ~0.2-2 s of CPU to import. `--version`,
`--help`, `schema`, `datasets` and a refused file (or table) must not pay them: a model folder is dispatched
by its model.json ``format`` and checked before its adapter (and its library) is imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from leanlens.testing import hostile

SRC = str(Path(__file__).resolve().parents[1] / "src")
HEAVY = ("torch", "sklearn", "skops", "onnxruntime")

#: One fresh interpreter runs every command in turn and prints, after each, its exit code and the
#: heavy modules loaded so far. Imports only accumulate, so a module absent after the last step was
#: imported by none of them; the per-step lists name the step that imported one first.
STEPS = """
import json, sys
from leanlens.cli import main
for argv in json.loads(sys.argv[1]):
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = exc.code
    print(json.dumps({"argv": argv, "code": code, "heavy": [m for m in HEAVY if m in sys.modules]}), flush=True)
"""


def test_refusals_and_listing_commands_import_no_backend(iris_mlp, tmp_path):
    torch_cases = [hostile.CASES[n](tmp_path) for n in ("torch_declared_huge_layer", "safetensors_header_huge",
                                                         "torch_negative_width")]
    no_weights = tmp_path / "no-weights"
    no_weights.mkdir()
    (no_weights / "model.json").write_text((torch_cases[0].path / "model.json").read_text())
    (tmp_path / "t.csv").write_text("a,y\n" + "0.5,0\n0.25,1\n" * 20)
    (tmp_path / "big.csv").write_text("a,y\n" + "0.5,0\n0.25,1\n" * 20 + "1e300,0\n")  # not a float32
    (tmp_path / "p.yaml").write_text("data: {path: missing.csv, target: y}\n")
    out = str(tmp_path / "out")
    no_backend = [
        ["--version"], ["--help"], ["train", "--help"], ["schema"], ["datasets"],
        ["info", str(tmp_path / "nonexistent")],
        *(["info", str(c.path)] for c in torch_cases),
        ["info", str(no_weights)],
        ["train", "--data", str(tmp_path / "t.csv"), "--label", "nope", "--out", out],  # no such column
        ["train", "--data", str(tmp_path / "big.csv"), "--label", "y", "--out", out],  # 1e300: refused before the split
        ["train", "--data", "iris", "--activation", "swish", "--out", out],  # TrainConfig refuses it
        ["run", str(tmp_path / "p.yaml"), "--out", out],  # data.path does not exist
        ["info", str(hostile.CASES["onnx_constant_bomb"](tmp_path).path)],
    ]
    # then, in the same process, a good torch model: torch only (no scikit-learn, no ONNX Runtime)
    steps = [*no_backend, ["info", str(iris_mlp.save(tmp_path / "good"))]]
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run([sys.executable, "-c", f"HEAVY = {HEAVY!r}\n" + STEPS, json.dumps(steps)],
                          capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path)
    results = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith('{"argv"')]
    assert [r["argv"] for r in results] == steps, proc.stderr[-2000:]
    assert [r["code"] for r in results] == [0] * 5 + [2] * (len(no_backend) - 5) + [0], proc.stderr[-2000:]
    assert [r["heavy"] for r in results] == [[]] * len(no_backend) + [["torch"]]
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("leanlens: error:")]
    fragments = ["does not exist", "declares", "corrupt", "must be an int", "no model.safetensors", "nope",
                 "too large for float32", "activation", "does not exist", "is refused"]
    assert len(errors) == len(fragments), proc.stderr[-2000:]
    for fragment, line in zip(fragments, errors, strict=True):
        assert fragment in line, (fragment, line)


def test_activation_names_match_the_torch_table():
    from leanlens.models.architectures import ACTIVATIONS
    from leanlens.models.spec_check import ACTIVATION_NAMES

    assert tuple(ACTIVATIONS) == ACTIVATION_NAMES
