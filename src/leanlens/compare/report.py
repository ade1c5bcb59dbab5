"""``DriftReport``: what ``compare()`` found, the verdict and its reasons; JSON and plots."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from .._io import atomic_dir, atomic_write_json
from ..errors import InvalidInputError
from .config import CompareConfig
from .rule import Verdict

__all__ = ["DRIFT_FORMAT", "DRIFT_VERSION", "DriftReport", "Verdict"]

DRIFT_FORMAT = "leanlens.drift"
DRIFT_VERSION = 2
VERDICTS = ("same-reasons", "changed", "inconclusive")


def _clean(obj: Any) -> Any:
    """JSON-able copy: arrays → lists, non-finite floats → None, private keys (``_x``) dropped."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items() if not str(k).startswith("_")}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _clean(obj.tolist())
    if isinstance(obj, np.generic):
        return _clean(obj.item())
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def _fmt(x: Any) -> str:
    return "?" if not isinstance(x, int | float) else ("∞" if x == float("inf") else f"{x:.2f}")


@dataclasses.dataclass
class DriftReport:
    """Did the compressed model keep its reasons? Everything ``compare()`` measured.

    Attributes
    ----------
    verdict : "same-reasons" | "changed" | "inconclusive".
    reasons : the verdict's reasons in words, most important first.
    sentence : the verdict in one sentence, saying what the model was compared against.
    decision : decision drift (agreement, flip rate with interval, TV distance, per-class
        accuracy change, flipped rows).
    explainers : per explainer: budget (and its history), noise-corrected distance of the
        compressed model and of each twin to the original, the yardstick, estimator noise,
        the ratio with its interval, the per-feature share test, status and reason, top-k
        explanation agreement (and the twins'), global importance, cross-deletion.
    surrogate : surrogate-tree drift. config : the CompareConfig used.
    feature_names, output_names : of the models. rows : indices of the compared rows in the
        data's test split (or in X). seconds : wall time. notes : caveats.
    twins : where the yardstick came from (source "retrained" | "fine-tuned" | "given" | "none",
        n, seeds, description, ``against`` in words).
    """

    verdict: Verdict
    reasons: tuple[str, ...]
    decision: dict[str, Any]
    explainers: dict[str, dict[str, Any]]
    surrogate: dict[str, Any]
    config: CompareConfig
    feature_names: tuple[str, ...]
    output_names: tuple[str, ...]
    rows: np.ndarray
    seconds: float = 0.0
    notes: tuple[str, ...] = ()
    twins: dict[str, Any] = dataclasses.field(default_factory=dict)
    sentence: str = ""

    @property
    def n_rows(self) -> int:
        return len(self.rows)

    def drift_ratio(self, explainer: str | None = None) -> float:
        """The drift ratio of one explainer (default: the first)."""
        name = explainer or next(iter(self.explainers))
        return float(self.explainers[name]["ratio"]["value"])

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (the content of ``drift.json``)."""
        return _clean({
            "format": DRIFT_FORMAT,
            "version": DRIFT_VERSION,
            "verdict": self.verdict,
            "sentence": self.sentence,
            "reasons": list(self.reasons),
            "twins": self.twins,
            "n_rows": self.n_rows,
            "rows": self.rows,
            "feature_names": list(self.feature_names),
            "output_names": list(self.output_names),
            "decision": self.decision,
            "explainers": self.explainers,
            "surrogate": self.surrogate,
            "config": self.config.to_dict(),
            "seconds": round(self.seconds, 3),
            "notes": list(self.notes),
        })

    @classmethod
    def from_dict(cls, d: Any) -> DriftReport:
        """The report from :meth:`to_dict`'s output (``to_dict(from_dict(x)) == x``)."""
        from .._results import check_format

        check_format(d, DRIFT_FORMAT, DRIFT_VERSION, what="DriftReport")
        if d.get("version") != DRIFT_VERSION:
            raise InvalidInputError(
                f"The DriftReport has version {d.get('version')!r}: version 1 reports were judged against the "
                "explainer's noise, not against twins, and are not read back. Rerun compare()."
            )
        missing = [k for k in ("verdict", "sentence", "reasons", "rows", "feature_names", "output_names", "decision",
                               "explainers", "surrogate", "config") if k not in d]
        if missing:
            raise InvalidInputError(f"The DriftReport dict lacks {missing}.")
        if d["verdict"] not in VERDICTS:
            raise InvalidInputError(f"The DriftReport verdict must be one of {VERDICTS}. Got {d['verdict']!r}.")
        return cls(
            verdict=d["verdict"], reasons=tuple(d["reasons"]), sentence=str(d["sentence"]), decision=dict(d["decision"]),
            explainers=dict(d["explainers"]), surrogate=dict(d["surrogate"]),
            config=CompareConfig.from_dict(d["config"], path="drift.config"),
            feature_names=tuple(d["feature_names"]), output_names=tuple(d["output_names"]),
            rows=np.asarray(d["rows"], dtype=np.int64), seconds=float(d.get("seconds") or 0.0),
            notes=tuple(d.get("notes") or ()), twins=dict(d.get("twins") or {}),
        )

    def save(self, path: str | Path, *, overwrite: bool = False, plots: bool = True) -> Path:
        """Write ``drift.json`` (and the drift plots as PNG) into the folder ``path``, atomically."""
        with atomic_dir(path, overwrite=overwrite, param="out") as tmp:
            atomic_write_json(tmp / "drift.json", self.to_dict())
            if plots:
                from .plots import save_plots

                save_plots(self, tmp)
        return Path(path)

    def top_k_agreement(self, explainer: str | None = None) -> tuple[float, float | None]:
        """(top-k explanation agreement original vs compressed, the same for the twins) — mean per row."""
        name = explainer or next(iter(self.explainers))
        e = self.explainers[name]
        tw = e.get("twin_agreement")
        return float(e["agreement"]["mean"]["feature_agreement"]), (None if tw is None else float(tw))

    def summary(self) -> str:
        """A few lines for a terminal: verdict, sentence, reasons, headline figures."""
        lines = [f"verdict: {self.verdict}", self.sentence]
        lines += [f"  - {r}" for r in self.reasons]
        d = self.decision
        lines.append(f"decision agreement {d['agreement']:.3f} on {self.n_rows} rows "
                     f"(flip rate {d['flip_rate']:.3f}, {d['flip_rate_ci']['lo']:.3f}–{d['flip_rate_ci']['hi']:.3f})")
        lines.append(f"compared against: {self.twins.get('description', '?')}")
        for name, e in self.explainers.items():
            r = e["ratio"]
            tw = e.get("twin_agreement")
            lines.append(
                f"{name} (budget {e.get('budget')}): distance {e['distance']['value']:.3f} vs twins "
                f"{e['yardstick']['value']:.3f}, estimator noise {e['estimator_noise']:.3f}, ratio "
                f"{_fmt(r['value'])} [{_fmt(r['lo'])}, {_fmt(r['hi'])}] → {e['status']}; top-{e['k']} explanation "
                f"agreement {e['agreement']['mean']['feature_agreement']:.2f}"
                + (f" (twins: {tw:.2f})" if tw is not None else "")
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"DriftReport(verdict={self.verdict!r}, explainers={list(self.explainers)}, n_rows={self.n_rows})"
