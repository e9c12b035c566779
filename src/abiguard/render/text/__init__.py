"""Text, for the terminal: one renderer per result type (the table below, by name: a renderer's
module is imported when something of its type is rendered), each laid out for the width
(:mod:`.console`) with :mod:`abiguard.render.table` (identifiers never break).

Input errors are not printed by a renderer: the command prints each once, on stderr.
"""

from __future__ import annotations

from typing import Any

from ..dispatch import dispatch

RENDERERS: dict[str, str] = {
    "abiguard.model.core.Audit": "abiguard.render.text.audit:render_audit_text",
    "abiguard.model.plan.Plan": "abiguard.render.text.plan:render_plan_text",
    "abiguard.compare.diff.DiffResult": "abiguard.render.text.diff:render_diff_text",
    "abiguard.compare.trend.TrendResult": "abiguard.render.text.diff:render_trend_text",
    "abiguard.compare.gate.GateResult": "abiguard.render.text.gate:render_gate_text",
    "abiguard.compare.impact.ImpactResult": "abiguard.render.text.impact:render_impact_text",
    "abiguard.callsites.result.WhereResult": "abiguard.render.text.where:render_where_text",
    "abiguard.callsites.link.LinkResult": "abiguard.render.text.link:render_link_text",
    "abiguard.census.overview.CensusOverview": "abiguard.render.text.census:render_census_text",
    "abiguard.census.overview.CensusFailures":
        "abiguard.render.text.census:render_failures_text",
    "abiguard.propose.result.Proposal": "abiguard.render.text.propose:render_proposal_text",
    "abiguard.policy.collect.HistoryRun": "abiguard.render.text.history:render_history_text",
}


def render(obj: Any, **options: Any) -> str:
    """The text of a result. Options: ``verbose``, ``color``, ``width`` (default: COLUMNS,
    the terminal's, or 120), ``select`` (scan/plan: the consumers shown in full), ``top``
    (census: the symbols ranked)."""
    return dispatch(RENDERERS, "text", obj, **options)


__all__ = ["RENDERERS", "render"]
