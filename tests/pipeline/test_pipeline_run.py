"""run(): the run folder, result.json, refusals, missing paths, Ctrl-C; the pipeline without its report."""

from __future__ import annotations

import json

import pytest

import leanlens
from leanlens import run  # leanlens.pipeline.run with leanlens.report's writer
from leanlens.errors import DataError, ModelFormatError, OutputExistsError
from leanlens.pipeline import RunResult
from leanlens.pipeline.run import STAGES


def test_run_folder_layout(tiny_run):
    out = tiny_run.out_dir
    assert tiny_run.status == "complete"
    for name in ("result.json", "config.yaml", "report.html", "models/original/model.json",
                 "explanations/original/exact.json", "explanations/original/exact.npz"):
        assert (out / name).is_file(), name
    assert not (out / "INTERRUPTED").exists()
    assert not [p for p in out.rglob("*.tmp")]


def test_result_json_holds_figures_config_seed_versions_timing(tiny_run):
    d = json.loads((tiny_run.out_dir / "result.json").read_text())
    assert d["format"] == "leanlens-run" and d["status"] == "complete" and d["seed"] == 0
    assert d["config"]["data"]["name"] == "iris"
    assert {"torch", "numpy", "leanlens"} <= set(d["versions"])
    assert list(d["timings"]) == list(STAGES)
    orig = d["models"][0]
    assert orig["name"] == "original" and 0 <= orig["scores"]["test_accuracy"] <= 1
    assert orig["size_bytes"] > 0 and orig["latency_ms"] > 0 and orig["n_parameters"] == 4 * 8 + 8 + 8 * 3 + 3
    assert d["pareto"] == ["original"]
    assert [m["name"] for m in orig["explanation_metrics"]["exact"]] == ["completeness"]


def test_result_round_trips_and_explanations_load(tiny_run):
    again = RunResult.load(tiny_run.out_dir)
    assert again.to_dict() == tiny_run.to_dict()
    e = again.explanation("original", "exact")
    assert e.values.shape == (4, 4, 3)


def test_saved_model_is_loadable_and_usable_as_model_path(tiny_run, tmp_path, make_config):
    cfg = make_config(model={"path": str(tiny_run.out_dir / "models" / "original")})
    res = run(cfg, out=tmp_path / "from-path")
    assert res.original.scores == tiny_run.original.scores
    assert res.config is not None and str(res.config.model.path).endswith("original")


def test_existing_output_folder_is_refused_unless_overwrite(tiny_run, tmp_path, make_config):
    out = tmp_path / "run"
    run(make_config(), out=out)
    with pytest.raises(OutputExistsError, match="already exists"):
        run(make_config(), out=out)
    res = run(make_config(seed=1), out=out, overwrite=True)
    assert res.seed == 1 and json.loads((out / "result.json").read_text())["seed"] == 1


def test_overwrite_refuses_a_folder_that_is_not_a_run(tmp_path, make_config):
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(OutputExistsError, match="not a leanlens run folder"):
        run(make_config(), out=tmp_path, overwrite=True)
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def test_missing_data_path_names_the_key(tmp_path, make_config):
    cfg = make_config(data={"path": str(tmp_path / "missing.csv"), "target": "y"})
    with pytest.raises(DataError, match=r"'data\.path' file .*missing\.csv.* does not exist"):
        run(cfg, out=tmp_path / "r")
    assert not (tmp_path / "r").exists()  # checked before the folder was created


def test_missing_model_path_names_the_key(tmp_path, make_config):
    cfg = make_config(model={"path": str(tmp_path / "nomodel")})
    with pytest.raises(ModelFormatError, match=r"'model\.path' .*nomodel.* does not exist"):
        run(cfg, out=tmp_path / "r")


def test_csv_data(tmp_path, iris):
    import pandas as pd

    df = pd.DataFrame(iris.X_train, columns=list(iris.feature_names))
    df["species"] = iris.y_train
    df.to_csv(tmp_path / "rows.csv", index=False)
    (tmp_path / "pipeline.yaml").write_text(
        "data: {path: rows.csv, target: species}\n"
        "model: {train: {hidden: [8], epochs: 2}}\n"
        "explain: {methods: [exact], n_rows: 3, background: 5}\n"
        "metrics: {names: [completeness]}\n"
    )
    res = leanlens.pipeline.run(tmp_path / "pipeline.yaml", out=tmp_path / "r")
    assert res.status == "complete" and res.dataset["n_features"] == 4


def test_ctrl_c_marks_the_folder_interrupted_and_writes_no_report(tmp_path, make_config):
    def interrupt_at_explain(event):
        if event.get("event") == "stage_start" and event.get("stage") == "explain":
            raise KeyboardInterrupt

    out = tmp_path / "r"
    with pytest.raises(KeyboardInterrupt):
        run(make_config(), out=out, log=interrupt_at_explain)
    assert (out / "INTERRUPTED").is_file()
    d = json.loads((out / "result.json").read_text())
    assert d["status"] == "interrupted" and "explain" not in d["timings"] and "measure" in d["timings"]
    assert not (out / "report.html").exists()
    assert not [p for p in out.rglob("*.tmp")]


def test_log_events_cover_every_stage(tmp_path, make_config):
    events = []
    run(make_config(), out=tmp_path / "r", log=events.append)
    ends = [e["stage"] for e in events if e["event"] == "stage_end"]
    assert ends == list(STAGES)
    assert events[-1]["event"] == "run_end" and events[-1]["status"] == "complete"


def test_the_pipeline_alone_writes_no_report_and_calls_the_writer_it_is_given(tmp_path, make_config):
    """leanlens.pipeline.run never imports the report: without a writer there is no report stage;
    with one, it is called last with the finished result and the surrogate trees."""
    bare = leanlens.pipeline.run(make_config(), out=tmp_path / "bare")
    assert bare.status == "complete" and bare.report is None
    assert list(bare.timings) == list(STAGES[:-1]) and not (tmp_path / "bare" / "report.html").exists()

    calls = []

    def writer(result, path, *, surrogates=None):
        calls.append((result.status, list(result.timings), sorted(surrogates or {})))
        path.write_text("a report")
        return path

    res = leanlens.pipeline.run(make_config(), out=tmp_path / "r", report=writer)
    assert calls == [("complete", list(STAGES[:-1]), ["original"])]
    assert res.report == "report.html" and list(res.timings) == list(STAGES)
    assert (tmp_path / "r" / "report.html").read_text() == "a report"
