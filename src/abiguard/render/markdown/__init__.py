"""Markdown (GitHub flavour), for issues, merge requests and mailing-list mails: one renderer
per result type (the table below)."""

from __future__ import annotations

from typing import Any

from ...callsites.link import LinkResult
from ...callsites.result import WhereResult
from ...compare.diff import DiffResult
from ...compare.gate import GateResult
from ...compare.impact import ImpactResult
from ...compare.trend import TrendResult
from ...model import Audit, Plan
from ...propose.result import Proposal
from ..dispatch import Renderer, renderer_for
from .audit import render_audit_markdown, render_plan_markdown
from .diff import render_diff_markdown, render_trend_markdown
from .gate import render_gate_markdown
from .impact import render_impact_markdown
from .link import render_link_markdown
from .propose import render_proposal_markdown
from .where import render_where_markdown

RENDERERS: dict[type, Renderer] = {
    Audit: render_audit_markdown,
    Plan: render_plan_markdown,
    DiffResult: render_diff_markdown,
    TrendResult: render_trend_markdown,
    GateResult: render_gate_markdown,
    ImpactResult: render_impact_markdown,
    WhereResult: render_where_markdown,
    LinkResult: render_link_markdown,
    Proposal: render_proposal_markdown,
}


def render(obj: Any, **options: Any) -> str:
    """The Markdown of a result. Options: ``verbose``, ``select`` (scan/plan)."""
    return renderer_for(RENDERERS, obj, "markdown")(obj, **options)


__all__ = ["RENDERERS", "render"]
