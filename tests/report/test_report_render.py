"""The report file: self-contained, verdict first, every section present."""

from __future__ import annotations

import re

from leanlens.pipeline import RunResult
from leanlens.report import render_report, verdict_sentences


def test_report_is_self_contained(report_run):
    text = (report_run.out_dir / "report.html").read_text()
    # nothing is fetched: no external src/href, no scripts, no stylesheets by URL
    assert not re.search(r"""(src|href)\s*=\s*["'](https?:)?//""", text)
    assert "<script" not in text and "@import" not in text and "url(" not in text
    srcs = re.findall(r'<img src="([^"]+)"', text)
    assert srcs and all(s.startswith("data:image/png;base64,") for s in srcs)


def test_recommendation_then_verdict_come_first_and_sections_exist(report_run):
    text = (report_run.out_dir / "report.html").read_text()
    body = text[text.index("<body>"):]
    assert re.findall(r'<section id="([^"]+)"', body)[:2] == ["recommendation", "verdict"]
    box = body[body.index('id="recommendation"'):body.index('id="verdict"')]
    assert "No recommendation: keep the original" in box and "The run has no compressed model." in box
    assert "report.max_accuracy_drop: 0.01" in box and "1 point of accuracy" in box
    for section in ("models", "tradeoff", "importance", "drift", "rows", "surrogates", "metrics", "methods"):
        assert f'<section id="{section}"' in text
    assert "no compression plan" in text
    assert "completeness" in text and "lower is better" in text
    assert report_run.versions["torch"] in text


def test_digits_get_heatmaps_waterfalls_and_surrogate_trees(report_run):
    text = (report_run.out_dir / "report.html").read_text()
    assert text.count('alt="digit heatmaps permutation original"') == 1
    assert text.count('alt="waterfall original row') == 2
    assert 'alt="surrogate tree of original"' in text and "fidelity" in text


def test_render_again_from_the_saved_result(report_run, tmp_path):
    loaded = RunResult.load(report_run.out_dir)
    path = render_report(loaded, tmp_path / "again.html")
    text = path.read_text()
    assert "report-test" in text and "data:image/png;base64," in text


def test_verdict_sentences_in_words(report_run):
    res = RunResult.from_dict(report_run.to_dict())
    import numpy as np

    from leanlens.compare import CompareConfig, DriftReport

    said = "Same reasons: its explanations are no farther from the original's than its twins'."
    drift = DriftReport(verdict="same-reasons", sentence=said, reasons=(), decision={}, explainers={}, surrogate={},
                        config=CompareConfig(), feature_names=(), output_names=(), rows=np.arange(2))
    res.models.append(type(res.models[0])(name="int8", scores={"test_accuracy": 0.9}, latency_ms=1.0,
                                          size_bytes=10, drift=drift, agreement=0.8))
    res.original.latency_ms = 2.0
    (s,) = verdict_sentences(res)
    assert s.startswith(said)  # the DriftReport's own sentence, with the run's facts after it
    assert "(plan int8: " in s and "2.00× the speed" in s and "agreement 0.80" in s
    assert res.verdict == "same-reasons"


def test_methods_and_config_read_as_yaml_with_rounded_numbers(report_run):
    import re

    text = (report_run.out_dir / "report.html").read_text()
    methods = text[text.index('id="methods"'):]
    assert "\\u" not in methods  # the config's unicode is shown as such
    assert not re.search(r"\{&#39;|\{'", methods)  # no Python dict reprs
    assert not re.search(r"\d\.\d{7,}", methods)  # no float printed with 7+ decimals
    assert '<pre class="params">' in methods


def test_rounded_parameters():
    import numpy as np

    from leanlens.report.render import _rounded

    got = _rounded({"tol": 0.002449244260787964, "w": np.float32(0.5), "ids": list(range(30)),
                    "shape": np.zeros((3, 2)), "nested": {"a": (1, 2.123456)}, "name": "x", "none": None})
    assert got == {"tol": 0.00245, "w": 0.5, "ids": "[30 values]", "shape": [[0.0, 0.0], [0.0, 0.0], [0.0, 0.0]],
                   "nested": {"a": [1, 2.12]}, "name": "x", "none": None}


def test_recommendation_box_names_the_model_and_its_facts(report_run, tmp_path):
    import numpy as np
    from markupsafe import escape  # the template's own escaping

    from leanlens.compare import CompareConfig, DriftReport

    res = RunResult.from_dict(report_run.to_dict())
    said = "Same reasons: its explanations are no farther from the original's than its twins'."
    drift = DriftReport(verdict="same-reasons", sentence=said, reasons=(), decision={"agreement": 0.975},
                        explainers={}, surrogate={}, config=CompareConfig(), feature_names=(), output_names=(),
                        rows=np.arange(2))
    acc = res.original.accuracy
    res.original.latency_ms, res.original.size_bytes = 3.0, 2_000_000
    res.models.append(type(res.models[0])(name="int8", scores={"test_accuracy": acc - 0.004}, latency_ms=1.0,
                                          size_bytes=500_000, drift=drift))
    text = render_report(res, tmp_path / "rec.html").read_text()
    box = text[text.index('<section id="recommendation"'):text.index('<section id="verdict"')]
    assert 'class="recommend chosen"' in box and "Recommended: int8" in box
    for fact in ("3.00× (latency vs the original)", "4.00× smaller than", "-0.40 points of accuracy",
                 "97.5% of the compared rows", "same-reasons", str(escape(said)), "report.max_accuracy_drop: 0.01<"):
        assert fact in box, fact
