"""compress(): the conformance run over every registered step, the record, the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

import leanlens
from leanlens.cli import main
from leanlens.compress import CompressionRecord, Finetune, Prune, Quantize, compress
from leanlens.compress.plan import STEP_TYPES, handler_for
from leanlens.errors import InvalidInputError

MINIMAL = {
    "prune": {"amount": 0.25, "scope": "layer"},
    "finetune": {"epochs": 1},
    "quantize": {},
    "distill": {"hidden": [8], "epochs": 1},
    "lowrank": {"rank_ratio": 0.5, "min_features": 32},
}


def test_every_registered_step_has_a_minimal_case():
    assert set(MINIMAL) == set(STEP_TYPES)


@pytest.mark.parametrize("name", sorted(STEP_TYPES))
def test_conformance_every_registered_step(name, mlp64, digits, tmp_path):
    step = STEP_TYPES[name].from_dict(MINIMAL[name])
    assert callable(handler_for(step))
    before = mlp64.output(digits.X_test[:5]).copy()
    res = compress(mlp64, [step], data=digits, latency_reps=2, random_state=0)
    out = res.model.output(digits.X_test)
    assert out.shape == (len(digits.X_test), 10)
    np.testing.assert_allclose(out.sum(1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(mlp64.output(digits.X_test[:5]), before)  # the input model is untouched
    (rec,) = res.record.steps
    assert rec.step == name and rec.config == step.to_dict() and rec.seconds > 0
    assert set(rec.after.latency_ms) == {"1", "256"} and rec.after.latency_ms["256"]["p95"] > 0
    # agreement: share of test rows on which the compressed model predicts the original's class
    assert rec.after.agreement == pytest.approx(np.mean(out.argmax(1) == mlp64.predict(digits.X_test)))
    assert res.record.original.agreement == 1.0
    path = res.save(tmp_path / "out")
    assert rec.after.file_bytes == sum(f.stat().st_size for f in (path / "model").iterdir())
    assert leanlens.load_model(path / "model").predict(digits.X_test[:2]).shape == (2,)


def test_agreement_of_known_cases(mlp64, digits):
    """A step that changes nothing agrees on every row; int8 quantization and fine-tuned mild
    pruning keep almost every decision; pruning nearly everything keeps few."""
    noop = compress(mlp64, [Prune(kind="unstructured", amount=0.0)], data=digits, latency_reps=0, random_state=0)
    assert noop.record.final.agreement == 1.0
    int8 = compress(mlp64, [Quantize()], data=digits, latency_reps=0, random_state=0)
    assert int8.record.final.agreement >= 0.95
    mild = compress(mlp64, [Prune(kind="unstructured", amount=0.1), Finetune(epochs=1)], data=digits,
                    latency_reps=0, random_state=0)
    assert mild.record.final.agreement >= 0.9
    wrecked = compress(mlp64, [Prune(kind="unstructured", amount=0.98)], data=digits, latency_reps=0,
                       random_state=0)
    assert wrecked.record.final.agreement < 0.5
    for res in (noop, int8, mild, wrecked):
        y_orig, y_new = mlp64.predict(digits.X_test), res.model.predict(digits.X_test)
        assert res.record.final.agreement == pytest.approx(np.mean(y_orig == y_new))
        # accuracies can differ by at most the share of rows whose decision changed
        assert abs(res.record.final.score - res.record.original.score) <= 1 - res.record.final.agreement + 1e-9


def test_record_totals_and_json(mlp64, digits, tmp_path):
    res = compress(mlp64, [Prune(amount=0.5, scope="layer"), Quantize()], data=digits, latency_reps=3)
    rec = res.record
    assert isinstance(rec, CompressionRecord)
    total = rec.total()
    assert total["parameters_ratio"] == pytest.approx(rec.original.parameters / rec.final.parameters)
    assert total["file_ratio"] == pytest.approx(rec.original.file_bytes / rec.final.file_bytes)
    assert total["macs_ratio"] == pytest.approx((64 * 64 + 64 * 64 + 640) / (64 * 32 + 32 * 32 + 320))
    assert total["score_change_points"] == pytest.approx(100 * (rec.final.score - rec.original.score))
    assert rec.original.speedup == {"1": 1.0, "256": 1.0}
    data = json.loads(rec.to_json())
    assert [s["step"] for s in data["steps"]] == ["prune", "quantize"] and data["latency_reps"] == 3
    rec.save(tmp_path / "record.json")
    assert json.loads((tmp_path / "record.json").read_text())["total"]["agreement"] == total["agreement"]
    assert res.model.metadata["metrics"]["test_accuracy"] == pytest.approx(rec.final.score)


def test_bad_arguments(mlp64, digits, iris):
    with pytest.raises(InvalidInputError, match="'data' parameter of compress"):
        compress(mlp64, [Prune()], data=digits.X_test)
    with pytest.raises(InvalidInputError, match=r"'latency_reps' parameter of compress\(\) must be an int in \[0, 1000000\]. Got -1"):
        compress(mlp64, [Prune()], data=digits, latency_reps=-1)
    with pytest.raises(InvalidInputError, match="takes 64 features but the dataset 'iris' has 4"):
        compress(mlp64, [Prune()], data=iris)


def test_cli_inline_steps(iris, iris_mlp, tmp_path):
    iris_mlp.save(tmp_path / "m")
    out = tmp_path / "c"
    args = ["compress", str(tmp_path / "m"), "--data", "iris", "--prune", "structured:0.5", "--finetune", "1",
            "--quantize", "int8", "--reps", "2", "--out", str(out), "--quiet"]
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 0
    record = json.loads((out / "record.json").read_text())
    assert [s["step"] for s in record["steps"]] == ["prune", "finetune", "quantize"]
    assert record["steps"][-1]["after"]["file_bytes"] == sum(f.stat().st_size for f in (out / "model").iterdir())
    plan = yaml.safe_load((out / "plan.yaml").read_text())
    assert plan[0]["prune"]["amount"] == 0.5
    assert leanlens.load_model(out / "model").kind == "onnx"
    # the folder exists now: refused without --overwrite (exit 2), accepted with it
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main([*args, "--overwrite"])
    assert exc.value.code == 0


def test_cli_plan_file_and_errors(iris, iris_mlp, tmp_path, capsys):
    iris_mlp.save(tmp_path / "m")
    (tmp_path / "plan.yaml").write_text("- prune: {kind: unstructured, amount: 0.5}\n- finetune: {epochs: 1}\n")
    with pytest.raises(SystemExit) as exc:
        main(["compress", str(tmp_path / "m"), "--data", "iris", "--plan", str(tmp_path / "plan.yaml"), "--reps", "0",
              "--out", str(tmp_path / "c"), "--quiet"])
    assert exc.value.code == 0
    assert "saved to" in capsys.readouterr().out
    (tmp_path / "bad.yaml").write_text("- prune: {amount: 1.2}\n")
    for extra, message in (
        (["--plan", str(tmp_path / "bad.yaml")], "'amount' parameter of Prune must be a number in [0, 1). Got 1.2"),
        (["--plan", str(tmp_path / "plan.yaml"), "--quantize", "int8"], "either --plan or inline steps"),
        ([], "No compression steps"),
        (["--prune", "half"], "'prune' parameter must look like structured:0.5"),
    ):
        with pytest.raises(SystemExit) as exc:
            main(["compress", str(tmp_path / "m"), "--data", "iris", "--out", str(tmp_path / "x"), "-q", *extra])
        assert exc.value.code == 2
        assert message in capsys.readouterr().err


def _measurement(speedup_256: float, ms_256: float):
    from leanlens.compress.record import Measurement

    return Measurement(kind="torch", parameters=1, nonzero_parameters=1, file_bytes=1, macs=1,
                       latency_ms={"256": {"median": ms_256, "p95": ms_256}}, speedup={"256": speedup_256},
                       metrics={"test_accuracy": 1.0}, agreement=1.0)


def test_a_slower_step_is_detected_from_the_interleaved_ratios():
    from leanlens.compress.api import _slower

    before, faster, slower = _measurement(2.0, 1.0), _measurement(2.1, 0.9), _measurement(1.5, 1.3)
    assert _slower(before, faster) == ""
    assert _slower(before, _measurement(1.9, 1.05)) == ""  # within the 10% margin
    assert _slower(before, slower) == "batch 256: 1.000 → 1.300 ms (speed-up vs original 2.00× → 1.50×)"


def test_console_times_and_speedup_come_from_the_same_rounds(mlp64, digits):
    res = compress(mlp64, [Prune(amount=0.5, scope="layer")], data=digits, latency_reps=5, threads=1)
    row = res.record.table_rows()[-1]
    assert row["x@256"] == pytest.approx(row["orig ms@256"] / row["ms@256"], rel=0.01)
