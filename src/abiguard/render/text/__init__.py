"""Text, for the terminal: one renderer per result type (the table below), each laid out for
the width (:mod:`.console`) with :mod:`abiguard.render.table` (identifiers never break).

Input errors are not printed by a renderer: the command prints each once, on stderr.
"""

from __future__ import annotations

from typing import Any

from ...callsites.link import LinkResult
from ...callsites.result import WhereResult
from ...census.overview import CensusFailures, CensusOverview
from ...compare.diff import DiffResult
from ...compare.gate import GateResult
from ...compare.impact import ImpactResult
from ...compare.trend import TrendResult
from ...model import Audit, Plan
from ...policy.collect import HistoryRun
from ...propose.result import Proposal
from ..dispatch import Renderer, renderer_for
from .audit import consumer_summary, evidence_text, render_audit_text
from .census import render_census_text, render_failures_text
from .console import console, terminal_width
from .diff import render_diff_text, render_trend_text
from .gate import render_gate_text
from .history import render_history_text
from .impact import render_impact_text
from .link import render_link_text
from .plan import render_plan_text
from .propose import render_proposal_text
from .where import render_where_text

RENDERERS: dict[type, Renderer] = {
    Audit: render_audit_text,
    Plan: render_plan_text,
    DiffResult: render_diff_text,
    TrendResult: render_trend_text,
    GateResult: render_gate_text,
    ImpactResult: render_impact_text,
    WhereResult: render_where_text,
    LinkResult: render_link_text,
    CensusOverview: render_census_text,
    CensusFailures: render_failures_text,
    Proposal: render_proposal_text,
    HistoryRun: render_history_text,
}


def render(obj: Any, **options: Any) -> str:
    """The text of a result. Options: ``verbose``, ``color``, ``width`` (default: COLUMNS,
    the terminal's, or 120), ``select`` (scan/plan: the consumers shown in full), ``top``
    (census: the symbols ranked)."""
    return renderer_for(RENDERERS, obj, "text")(obj, **options)


__all__ = ["RENDERERS", "console", "consumer_summary", "evidence_text", "render",
           "terminal_width"]
