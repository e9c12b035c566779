"""JSON: the documented, versioned schema of the results (docs/schema.md, written by
:mod:`abiguard.jsonform`), and the JSON forms of what is not part of the model: the link
experiment, census aggregates, the archive history's policy data."""

from __future__ import annotations

import json
from typing import Any

from .. import __version__
from ..callsites.link import LinkResult
from ..callsites.result import WhereResult
from ..census.aggregate import Aggregate
from ..census.overview import CensusFailures, CensusOverview, Report
from ..compare.diff import DiffResult
from ..compare.gate import GateResult
from ..compare.impact import ImpactResult
from ..compare.trend import TrendResult
from ..jsonform import to_json
from ..model import SCHEMA_VERSION, Audit, Plan, to_dict
from ..policy import archive
from ..policy.collect import HistoryRun
from ..propose.result import Proposal
from .dispatch import Renderer, renderer_for


def model_json(obj: Any, **_: Any) -> str:
    """A result of the model (schema 2)."""
    return to_json(obj)


def link_dict(result: LinkResult) -> dict[str, Any]:
    return {
        "schema": SCHEMA_VERSION,
        "kind": "link",
        "library": result.library,
        "command": list(result.command),
        "ran": list(result.ran),
        "removed": list(result.removed),
        "linked": result.linked,
        "needed": result.needed,
        "attributed": result.attributed,
        "library_file": result.library_file,
        "symbols": list(result.symbols),
        "truncated": list(result.truncated),
        "notes": list(result.notes),
        "callsites": to_dict(list(result.sites)),
        "missing_anyway": {"symbols": list(result.other_symbols),
                           "callsites": to_dict(list(result.other_sites))},
        "tool_version": __version__,
    }


def link_json(result: LinkResult, **_: Any) -> str:
    return json.dumps(link_dict(result), indent=2) + "\n"


def aggregate_json(agg: Aggregate, **_: Any) -> str:
    return agg.to_json()


def report_json(report: Report, **_: Any) -> str:
    """What ``abiguard report -f json`` writes: the aggregate it would show."""
    return report.aggregate.to_json()


def census_json(view: CensusOverview, **_: Any) -> str:
    """The aggregate, with the internal packages' (``internal``) and the run's counts."""
    d = view.aggregate.to_dict()
    if view.internal is not None:
        d["internal"] = view.internal.to_dict()
    if view.run is not None:
        d["run"] = view.run
    return json.dumps(d, indent=2) + "\n"


def failures_json(view: CensusFailures, **_: Any) -> str:
    return json.dumps(view.aggregate.to_dict()["failures"], indent=2) + "\n"


def history_json(run: HistoryRun, **_: Any) -> str:
    return archive.to_json(run.data)


RENDERERS: dict[type, Renderer] = {
    Audit: model_json,
    Plan: model_json,
    DiffResult: model_json,
    TrendResult: model_json,
    GateResult: model_json,
    ImpactResult: model_json,
    WhereResult: model_json,
    Proposal: model_json,
    LinkResult: link_json,
    Aggregate: aggregate_json,
    Report: report_json,
    CensusOverview: census_json,
    CensusFailures: failures_json,
    HistoryRun: history_json,
}


def render(obj: Any, **options: Any) -> str:
    return renderer_for(RENDERERS, obj, "json")(obj, **options)


__all__ = ["RENDERERS", "link_dict", "render"]
