"""The HTML report of a run: one self-contained file (Jinja2 template, figures inlined)."""

from .render import build_context, render_report, verdict_sentences

__all__ = ["build_context", "render_report", "verdict_sentences"]
