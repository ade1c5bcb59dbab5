"""``DriftReport``: what ``compare()`` found, the verdict and its reasons; JSON and plots."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .._io import atomic_dir, atomic_write_json
from .config import CompareConfig

__all__ = ["DriftReport", "Verdict"]

Verdict = Literal["same-reasons", "changed", "inconclusive"]


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


@dataclasses.dataclass
class DriftReport:
    """Did the compressed model keep its reasons? Everything ``compare()`` measured.

    Attributes
    ----------
    verdict : "same-reasons" | "changed" | "inconclusive".
    reasons : the verdict's reasons in words, most important first.
    decision : decision drift (agreement, flip rate with interval, TV distance, per-class
        accuracy change, flipped rows).
    explainers : per explainer: drift, noise floor and drift ratio with intervals, status,
        agreement measures (observed and noise floor; per row, mean, global), global
        importance of both models, rank change, cross-deletion.
    surrogate : surrogate-tree drift. config : the CompareConfig used.
    feature_names, output_names : of the models. rows : indices of the compared rows in the
        data's test split (or in X). seconds : wall time. notes : caveats.
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
            "verdict": self.verdict,
            "reasons": list(self.reasons),
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
    def from_dict(cls, d: dict[str, Any]) -> DriftReport:
        """The report :meth:`to_dict` wrote (``to_dict(from_dict(d)) == d``)."""
        return cls(
            verdict=d["verdict"], reasons=tuple(d["reasons"]), decision=dict(d["decision"]),
            explainers=dict(d["explainers"]), surrogate=dict(d["surrogate"]),
            config=CompareConfig.from_dict(d["config"], path="drift.config"),
            feature_names=tuple(d["feature_names"]), output_names=tuple(d["output_names"]),
            rows=np.asarray(d["rows"], dtype=np.int64), seconds=float(d.get("seconds") or 0.0),
            notes=tuple(d.get("notes") or ()),
        )

    def save(self, path: str | Path, *, overwrite: bool = False, plots: bool = True) -> Path:
        """Write ``drift.json`` (and the drift plots as PNG) into the folder ``path``, atomically."""
        with atomic_dir(path, overwrite=overwrite, param="out") as tmp:
            atomic_write_json(tmp / "drift.json", self.to_dict())
            if plots:
                from .plots import save_plots

                save_plots(self, tmp)
        return Path(path)

    def summary(self) -> str:
        """A few lines for a terminal: verdict, reasons, headline figures."""
        lines = [f"verdict: {self.verdict}"]
        lines += [f"  - {r}" for r in self.reasons]
        d = self.decision
        lines.append(f"decision agreement {d['agreement']:.3f} on {self.n_rows} rows "
                     f"(flip rate {d['flip_rate']:.3f}, {d['flip_rate_ci']['lo']:.3f}–{d['flip_rate_ci']['hi']:.3f})")
        for name, e in self.explainers.items():
            r, dr, nf = e["ratio"], e["drift"], e["noise_floor"]
            lines.append(
                f"{name}: drift {dr['value']:.3f} [{dr['lo']:.3f}, {dr['hi']:.3f}], noise floor {nf['value']:.3f}, "
                f"ratio {r['value']:.2f} [{r['lo']:.2f}, {r['hi']:.2f}] → {e['status']}; "
                f"top-{self.config.k} feature agreement {e['agreement']['mean']['feature_agreement']:.2f}"
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"DriftReport(verdict={self.verdict!r}, explainers={list(self.explainers)}, n_rows={self.n_rows})"
