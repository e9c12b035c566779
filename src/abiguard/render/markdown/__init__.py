"""Markdown (GitHub flavour), for issues, merge requests and mailing-list mails: one renderer
per result type (the table below, by name; :mod:`abiguard.render.dispatch`)."""

from __future__ import annotations

from typing import Any

from ..dispatch import dispatch

RENDERERS: dict[str, str] = {
    "abiguard.model.core.Audit": "abiguard.render.markdown.audit:render_audit_markdown",
    "abiguard.model.plan.Plan": "abiguard.render.markdown.audit:render_plan_markdown",
    "abiguard.compare.diff.DiffResult": "abiguard.render.markdown.diff:render_diff_markdown",
    "abiguard.compare.trend.TrendResult": "abiguard.render.markdown.diff:render_trend_markdown",
    "abiguard.compare.gate.GateResult": "abiguard.render.markdown.gate:render_gate_markdown",
    "abiguard.compare.impact.ImpactResult":
        "abiguard.render.markdown.impact:render_impact_markdown",
    "abiguard.callsites.result.WhereResult":
        "abiguard.render.markdown.where:render_where_markdown",
    "abiguard.callsites.link.LinkResult": "abiguard.render.markdown.link:render_link_markdown",
    "abiguard.propose.result.Proposal":
        "abiguard.render.markdown.propose:render_proposal_markdown",
}


def render(obj: Any, **options: Any) -> str:
    """The Markdown of a result. Options: ``verbose``, ``select`` (scan/plan)."""
    return dispatch(RENDERERS, "markdown", obj, **options)


__all__ = ["RENDERERS", "render"]
