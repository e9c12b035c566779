"""JSON: the documented, versioned schema of the results (docs/schema.md, written by
:mod:`abiguard.jsonform`), and the JSON forms of what is not part of the model: the link
experiment, census aggregates, the archive history's policy data."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..jsonform import Ahead, to_json
from ..model import SCHEMA_VERSION, to_dict
from .dispatch import dispatch

if TYPE_CHECKING:
    from ..callsites.link import LinkResult
    from ..census.aggregate import Aggregate
    from ..census.overview import CensusFailures, CensusOverview, Report


def model_json(obj: Any, ahead: Ahead | None = None, **_: Any) -> str:
    """A result of the model (schema 2); ``ahead``: its consumers' texts written ahead
    (jsonform.Ahead)."""
    return to_json(obj, ahead=ahead)


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
    """What ``abiguard report -f json`` writes: the aggregate it would show (with the
    internal packages' apart, ``internal``, when the store has them)."""
    if report.internal is None and report.own_libraries is None:
        return report.aggregate.to_json()
    d = report.aggregate.to_dict()
    if report.internal is not None:
        d["internal"] = report.internal.to_dict()
    if report.own_libraries is not None:
        d["own_libraries"] = asdict(report.own_libraries)
    return json.dumps(d, indent=2) + "\n"


def census_json(view: CensusOverview, **_: Any) -> str:
    """The aggregate, with the internal packages' (``internal``) and the run's counts."""
    d = view.aggregate.to_dict()
    if view.internal is not None:
        d["internal"] = view.internal.to_dict()
    if view.own_libraries is not None:
        d["own_libraries"] = asdict(view.own_libraries)
    if view.run is not None:
        d["run"] = view.run
    return json.dumps(d, indent=2) + "\n"


def failures_json(view: CensusFailures, **_: Any) -> str:
    return json.dumps(view.aggregate.to_dict()["failures"], indent=2) + "\n"


_HERE = "abiguard.render.json"
RENDERERS: dict[str, str] = {
    "abiguard.model.core.Audit": f"{_HERE}:model_json",
    "abiguard.model.plan.Plan": f"{_HERE}:model_json",
    "abiguard.compare.diff.DiffResult": f"{_HERE}:model_json",
    "abiguard.compare.trend.TrendResult": f"{_HERE}:model_json",
    "abiguard.compare.gate.GateResult": f"{_HERE}:model_json",
    "abiguard.compare.impact.ImpactResult": f"{_HERE}:model_json",
    "abiguard.callsites.result.WhereResult": f"{_HERE}:model_json",
    "abiguard.propose.result.Proposal": f"{_HERE}:model_json",
    "abiguard.callsites.link.LinkResult": f"{_HERE}:link_json",
    "abiguard.census.aggregate.Aggregate": f"{_HERE}:aggregate_json",
    "abiguard.census.overview.Report": f"{_HERE}:report_json",
    "abiguard.census.overview.CensusOverview": f"{_HERE}:census_json",
    "abiguard.census.overview.CensusFailures": f"{_HERE}:failures_json",
    "abiguard.policy.collect.HistoryRun": "abiguard.render.history:history_json",
}


def render(obj: Any, **options: Any) -> str:
    return dispatch(RENDERERS, "json", obj, **options)


__all__ = ["RENDERERS", "link_dict", "render"]
