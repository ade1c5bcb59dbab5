"""RunResult → ``report.html``: one self-contained file (Jinja2, figures inlined as PNG)."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._format import human_bytes, significant
from .._io import atomic_write_text
from ..pipeline.config import ReportSpec
from . import figures

if TYPE_CHECKING:
    from ..compare import DriftReport
    from ..explain.surrogate import SurrogateTree
    from ..pipeline.result import ModelEntry, RunResult

__all__ = ["build_context", "render_report", "verdict_sentences"]

VERDICT_WORDS = {
    "same-reasons": "still decides for the same reasons",
    "changed": "decides for different reasons",
    "inconclusive": "cannot be told apart from noise with this many rows (inconclusive)",
}


def render_report(result: RunResult, path: str | Path | None = None, *,
                  surrogates: dict[str, SurrogateTree] | None = None) -> Path:
    """Write the HTML report of ``result`` (atomically) and return its path.

    Parameters
    ----------
    result : a :class:`~leanlens.pipeline.RunResult` (its run folder holds the explanations).
    path : output file; default ``<run folder>/report.html``.
    surrogates : fitted surrogate trees by model name (:func:`leanlens.pipeline.stages.fit_surrogates`);
        the report draws them, and leaves the section out when None.
    """
    import jinja2

    out = Path(path) if path is not None else result.out_dir / "report.html"
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("leanlens.report", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
    )
    env.filters["num"] = _num
    env.filters["bytes"] = human_bytes
    text = env.get_template("report.html").render(**build_context(result, surrogates=surrogates))
    return atomic_write_text(out, text)


def _num(v: Any, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return f"{v:.{digits}f}" if abs(v) >= 10 ** (-digits) or v == 0 else f"{v:.2e}"
    return str(v)


def verdict_sentences(result: RunResult) -> list[str]:
    """The verdict in words, one sentence per compressed model (plain text)."""
    orig = result.original if any(m.name == "original" for m in result.models) else None
    out = []
    for m in result.compressed:
        facts = []
        if orig is not None and orig.accuracy is not None and m.accuracy is not None:
            facts.append(f"accuracy {orig.accuracy:.3f} → {m.accuracy:.3f}")
        if orig is not None and orig.latency_ms and m.latency_ms:
            facts.append(f"{orig.latency_ms / m.latency_ms:.2f}× the speed")
        if orig is not None and orig.size_bytes and m.size_bytes:
            facts.append(f"{orig.size_bytes / m.size_bytes:.1f}× smaller on disk")
        if m.agreement is not None:
            facts.append(f"explanation agreement {m.agreement:.2f}")
        detail = f" ({', '.join(facts)})" if facts else ""
        if m.drift is not None and m.drift.sentence:
            out.append(f"{m.drift.sentence}{detail.replace(' (', ' (plan ' + m.name + ': ', 1) if detail else ''}")
        elif m.verdict:
            out.append(f"The model compressed by plan “{m.name}” {VERDICT_WORDS.get(m.verdict, m.verdict)}{detail}.")
        else:
            out.append(f"Plan “{m.name}” was not compared with the original, so there is no verdict{detail}.")
    if not out:
        out.append("This run has no compression plan: the report describes the original model only.")
    return out


def headline(result: RunResult) -> str:
    """The one-line verdict at the top of the report."""
    compared = [m for m in result.compressed if m.verdict]
    if not compared and result.trials:
        done = sum(1 for t in result.trials if t.get("state") == "COMPLETE")
        return (f"No verdict: this sweep ranked {done} trial(s) by accuracy, latency and top-k explanation "
                f"agreement with the original, and kept {len(result.pareto)} on the Pareto front; no trial was "
                "compared with the original against a noise reference (run `leanlens compare` on one for a verdict).")
    if not compared:
        return "Verdict: none — no compressed model was compared with the original."
    if len(compared) == 1:
        return f"Verdict: the compressed model “{compared[0].name}” {VERDICT_WORDS.get(compared[0].verdict or '', '?')}."
    changed = [m.name for m in compared if m.verdict == "changed"]
    if changed:
        return f"Verdict: {len(changed)} of {len(compared)} compressed models decide for different reasons ({', '.join(changed)})."
    if all(m.verdict == "same-reasons" for m in compared):
        return f"Verdict: all {len(compared)} compressed models still decide for the same reasons."
    return "Verdict: inconclusive — some comparisons cannot be told apart from noise with this many rows."


def build_context(result: RunResult, *, surrogates: dict[str, SurrogateTree] | None = None) -> dict[str, Any]:
    """Everything the template shows, as plain values and data URIs."""
    report = result.config.report if result.config is not None else ReportSpec.model_validate({})
    expl = _load_explanations(result)
    methods = list(dict.fromkeys(m for (_, m) in expl))
    ctx: dict[str, Any] = {
        "title": report.title or f"leanlens report — {result.name}",
        "result": result,
        "overall": result.verdict,
        "headline": headline(result),
        "verdicts": verdict_sentences(result),
        "model_rows": _model_rows(result),
        "methods": methods,
        "sections": {},
        "notes": list(getattr(result, "notes", []) or []),
        "recommendation": _recommendation(result),
    }
    top, n_samples = report.top_features, report.sample_rows
    colors = figures.model_colors([m.name for m in result.models])  # one colour per model in every chart
    ctx["sweep_front"] = _sweep_front(result)
    if ctx["sweep_front"] is not None:
        ctx["accuracy_latency"] = None  # a sweep's front is over three objectives: the chart above shows it
    elif len(result.models) and all(m.latency_ms is not None and m.accuracy is not None for m in result.models):
        ctx["accuracy_latency"] = figures.accuracy_latency_chart(
            [m.name for m in result.models], [float(m.accuracy or 0) for m in result.models],
            [float(m.latency_ms or 0) for m in result.models], result.pareto, colors=colors)
    else:
        ctx["accuracy_latency"] = None
    ctx["importance"] = _importance_figures(result, expl, methods, top, colors)
    ctx["drift"] = _drift_figures(result)
    targets = np.asarray(result.targets, dtype=np.int64) if result.targets else None
    ctx["waterfalls"] = _waterfalls(result, expl, methods, targets, n_samples)
    ctx["heatmaps"] = _heatmaps(result, expl, methods, targets, n_samples)
    ctx["surrogates"] = _surrogates(result, surrogates or {})
    ctx["metric_rows"] = _metric_rows(result)
    ctx["trials"] = _trials(result)
    ctx["timings"] = result.timings
    ctx["versions"] = result.versions
    ctx["config_yaml"] = _yaml(result.config.to_dict() if result.config is not None else {})
    ctx["explain_params"] = [{"method": m, **_method_params(expl, m)} for m in methods]
    return ctx


def _recommendation(result: RunResult) -> dict[str, Any]:
    """The box at the report's top: the recommended model and its facts, or why there is none."""
    rec = result.recommend()
    facts: list[tuple[str, str]] = []
    if rec.model is not None:
        facts.append(("speed-up", f"{rec.speedup_text} (latency vs the original)"))
        if rec.size_bytes is not None:
            smaller = (f", {rec.size_ratio_text} smaller than {human_bytes(rec.original_size_bytes)}"
                       if rec.size_ratio is not None else "")
            facts.append(("size", f"{human_bytes(rec.size_bytes)}{smaller}"))
        if rec.accuracy is not None and rec.accuracy_drop is not None:
            facts.append(("accuracy", f"{_num(rec.original_accuracy)} → {_num(rec.accuracy)} "
                                      f"({rec.accuracy_change_text})"))
        if rec.decision_agreement is not None:
            facts.append(("decision agreement", f"{rec.decision_agreement:.1%} of the compared rows"))
        facts.append(("verdict", str(rec.verdict)))
    return {"model": rec.model, "facts": facts, "sentence": rec.sentence, "reason": rec.reason,
            "budget": rec.budget_text, "budget_value": f"{rec.max_accuracy_drop:g}"}


def _yaml(cfg: dict[str, Any]) -> str:
    import yaml

    # allow_unicode: "—" stays "—" rather than "\u2014"; width: long lists stay readable.
    return yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True, width=100)


def _rounded(v: Any) -> Any:
    """Parameters as a person reads them: floats to 3 significant digits, arrays summarized."""
    if isinstance(v, dict):
        return {str(k): _rounded(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_rounded(x) for x in v] if len(v) <= 20 else f"[{len(v)} values]"
    if isinstance(v, np.ndarray):
        return _rounded(v.tolist()) if v.size <= 20 else f"array of shape {v.shape}"
    if isinstance(v, np.generic):
        return _rounded(v.item())
    if isinstance(v, float):
        return float(significant(v)) if math.isfinite(v) else str(v)
    return v if v is None or isinstance(v, bool | int | str) else str(v)


def _load_explanations(result: RunResult) -> dict[tuple[str, str], Any]:
    out = {}
    for m in result.models:
        for method in m.explanations:
            out[(m.name, method)] = result.explanation(m.name, method)
    return out


def _model_rows(result: RunResult) -> list[dict[str, Any]]:
    orig = next((m for m in result.models if m.name == "original"), None)
    rows = []
    for m in result.models:
        speed = (orig.latency_ms / m.latency_ms) if (orig and orig.latency_ms and m.latency_ms) else None
        shrink = (orig.size_bytes / m.size_bytes) if (orig and orig.size_bytes and m.size_bytes) else None
        rows.append({
            "name": m.name, "plan": _plan_text(m), "accuracy": m.accuracy, "size": m.size_bytes, "shrink": shrink,
            "params": m.n_parameters, "latency": m.latency_ms, "speedup": speed, "agreement": m.agreement,
            "verdict": m.verdict or ("reference" if m.name == "original" else "not compared"),
            "pareto": m.name in result.pareto,
        })
    return rows


def _plan_text(m: ModelEntry) -> str:
    parts = []
    for step in m.plan:
        inner = ", ".join(f"{k}={v}" for k, v in step.to_dict().items())
        parts.append(f"{step.step}({inner})")
    return " → ".join(parts) or "—"


def _importance_figures(result: RunResult, expl: dict[tuple[str, str], Any], methods: list[str], top: int,
                        colors: dict[str, str]) -> list[dict[str, str]]:
    out = []
    for method in methods:
        imps = {}
        names: tuple[str, ...] = ()
        for m in result.models:
            e = expl.get((m.name, method))
            if e is None:
                continue
            gi = e.global_importance()
            imps[m.name] = gi.sum(axis=1) if gi.ndim == 2 else gi
            names = e.feature_names
        if imps:
            out.append({"method": method, "uri": figures.importance_chart(
                names, imps, top=top, title=f"{method}: global importance, top {top} of the original", colors=colors)})
    return out


def _per_row(e: Any, targets: np.ndarray | None) -> Any:
    """An (n, d) Explanation of each row's explained output (``result.targets``)."""
    if e.values.ndim == 2:
        return e
    t = targets[: e.n_rows] if targets is not None else np.zeros(e.n_rows, dtype=np.int64)
    return dataclasses.replace(e.select(t), stderr=None)


def _waterfalls(result: RunResult, expl: dict[tuple[str, str], Any], methods: list[str], targets: np.ndarray | None,
                n_samples: int) -> list[dict[str, Any]]:
    from ..explain.plots import plot_waterfall

    out = []
    for method in methods[:1]:  # the first explainer's waterfalls; heatmaps cover every explainer
        for row in range(n_samples):
            cells = []
            for m in result.models:
                e = expl.get((m.name, method))
                if e is None or row >= e.n_rows:
                    continue
                one = _per_row(e, targets).rows([row])
                if targets is not None and e.values.ndim == 3:
                    one = dataclasses.replace(one, output_names=(e.output_names[int(targets[row])],))
                fig = plot_waterfall(one, 0, max_features=8)
                fig.axes[0].set_title(f"{m.name} · {method} · row {row}", fontsize=9)
                cells.append({"model": m.name, "uri": figures.figure_to_uri(fig, dpi=80)})
            if cells:
                out.append({"method": method, "row": row, "cells": cells})
    return out


def _image_shape(e: Any) -> tuple[int, int] | None:
    shape = tuple(e.input_shape or ())
    d = e.n_features
    if len(shape) == 3 and shape[0] == 1:
        return int(shape[1]), int(shape[2])
    side = round(math.sqrt(d))
    if side * side == d and d >= 16 and all(n.startswith("pixel") or n.startswith("p") for n in e.feature_names[:2]):
        return side, side
    return None


def _heatmaps(result: RunResult, expl: dict[tuple[str, str], Any], methods: list[str], targets: np.ndarray | None,
              n_samples: int) -> list[dict[str, Any]]:
    """Per explainer: the sample rows' attribution maps, one strip per model (original first)."""
    from ..explain.plots import plot_image_heatmap

    out = []
    for method in methods:
        per_model = {m.name: expl[(m.name, method)] for m in result.models if (m.name, method) in expl}
        if not per_model or n_samples == 0:
            continue
        shape = _image_shape(next(iter(per_model.values())))
        if shape is None:
            continue
        strips = []
        rows = {name: _per_row(e, targets) for name, e in per_model.items()}
        # One colour scale for every model's strip: equal colours mean equal attributions.
        vmax = max(float(np.abs(e.feature_values()[: min(n_samples, e.n_rows)]).max()) for e in rows.values()) or 1.0
        for name, e in rows.items():
            r = min(n_samples, e.n_rows)
            fig = plot_image_heatmap(e, list(range(r)), image_shape=shape, vmax=vmax)
            fig.suptitle(f"{name}", fontsize=9)
            strips.append({"model": name, "uri": figures.figure_to_uri(fig, dpi=80)})
        out.append({"method": method, "strips": strips})
    return out


def _drift_figures(result: RunResult) -> list[dict[str, Any]]:
    """Per compressed model: drift against the noise floor per explainer (from its DriftReport),
    and the compare package's own drift plots saved in ``drift/<plan>/``."""
    out = []
    for m in result.compressed:
        if m.drift is None:
            continue
        rows = _drift_rows(m.drift)
        uri = None
        if rows:
            from ..compare.plots import strip_chart

            uri = figures.figure_to_uri(strip_chart(m.drift, title=f"{m.name}: compared against "
                                                    f"{m.drift.twins.get('against', '?')}"), dpi=80)
        extra = []
        for method, e in m.drift.explainers.items():
            per = e.get("per_row") or {}
            if per.get("distance") and per.get("noise_distance"):
                extra.append({"name": f"{method}: per-row distance vs noise", "uri": figures.distance_histogram(
                    per["distance"], per["noise_distance"], title=f"{m.name} · {method}")})
        out.append({"model": m.name, "uri": uri, "rows": rows, "extra": extra, "verdict": m.drift.verdict,
                    "reasons": list(m.drift.reasons), "sentence": m.drift.sentence,
                    "against": m.drift.twins.get("against"), "flip_rate": m.drift.decision.get("flip_rate"),
                    "decision_agreement": m.drift.decision.get("agreement")})
    return out


def _drift_rows(drift: DriftReport) -> list[dict[str, Any]]:
    """Rows ``{label, value, floor, interval, ratio, status}`` per explainer of a DriftReport."""
    rows = []
    for method, e in drift.explainers.items():
        d, yard, r = e.get("distance") or {}, e.get("yardstick") or {}, e.get("ratio") or {}
        if not isinstance(d.get("value"), int | float):
            continue
        rows.append({
            "label": str(method), "value": float(d["value"]),
            "floor": float(yard["value"]) if isinstance(yard.get("value"), int | float) else None,
            "noise": e.get("estimator_noise"), "interval": (r.get("lo"), r.get("hi")), "ratio": r.get("value"),
            "status": e.get("status"), "reason": e.get("reason"),
        })
    return rows


#: Below this held-out fidelity a surrogate tree is flagged as not a faithful summary of its model.
SURROGATE_FIDELITY_OK = 0.8


def _surrogates(result: RunResult, trees: dict[str, SurrogateTree]) -> list[dict[str, Any]]:
    """Each model's surrogate decision tree: its rules, fidelity and drawing."""
    from ..explain.plots import plot_surrogate_tree

    return [{"model": m.name, "text": trees[m.name].export_text(), "fidelity": trees[m.name].fidelity_,
             "faithful": trees[m.name].fidelity_ >= SURROGATE_FIDELITY_OK,
             "uri": figures.figure_to_uri(plot_surrogate_tree(trees[m.name]), dpi=90)}
            for m in result.models if m.name in trees]


def _metric_rows(result: RunResult) -> list[dict[str, Any]]:
    rows = []
    for m in result.models:
        for method, items in m.explanation_metrics.items():
            for r in items:
                rows.append({
                    "model": m.name, "method": method, "name": r.name, "category": r.category, "value": r.value,
                    "direction": "↑ higher is better" if r.higher_is_better else "↓ lower is better",
                    "skipped": r.skipped,
                })
        for method, reason in m.skipped.items():
            rows.append({"model": m.name, "method": method, "name": "explain", "category": "", "value": None,
                         "direction": "—", "skipped": reason})
    return rows


def _trials(result: RunResult) -> dict[str, Any] | None:
    if not result.trials:
        return None
    return {"rows": result.trials}


def _sweep_front(result: RunResult) -> str | None:
    """A sweep's completed trials with the study's 3-objective Pareto front (the trials' ``pareto`` flags,
    which the console stars and the trials table marks), or None when this is not a sweep."""
    done = [t for t in result.trials if t.get("state") == "COMPLETE"]
    if not done:
        return None
    orig = next((m for m in result.models if m.name == "original"), None)
    original = ((orig.accuracy, orig.latency_ms) if orig is not None and orig.accuracy is not None
                and orig.latency_ms is not None else None)
    return figures.sweep_front_chart([t["number"] for t in done], [t["accuracy"] for t in done],
                                     [t["latency_ms"] for t in done], [t.get("agreement") for t in done],
                                     [bool(t.get("pareto")) for t in done], original=original)


def _method_params(expl: dict[tuple[str, str], Any], method: str) -> dict[str, Any]:
    for (_, m), e in expl.items():
        if m == method:
            return {"params": _yaml(_rounded(e.params)).strip(), "n_rows": e.n_rows, "n_model_evals": e.n_model_evals}
    return {}
