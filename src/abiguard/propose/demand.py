"""What the consumers need: the unstable symbols of plans and census stores, with their use.

Three sources, merged symbol by symbol:

* plans (:class:`abiguard.model.Plan`, from ``abiguard plan`` JSON or computed here): the
  consumers, each symbol's remedy kind and plan step (a new entry point that the scanned
  stable library already exports is *not* needed), the libraries each consumer loads with
  their version nodes;
* a census store (:class:`abiguard.census.aggregate.CensusData`): how many packages use each
  symbol, and the stored scans' libraries;
* a source scan of the consumer (:func:`abiguard.callsites.source.scan_sources`): its call
  sites, hence the functions that change.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from ..census.aggregate import CensusData
from ..model import CallSite, Library, Plan
from ..remedies import TIERS, Knowledge, Remedy
from .result import DemandKind, SymbolDemand

NEEDS_API = ("new-entry-point", "redesign")
_NOT_NEEDED_TIER = TIERS["available"][0]


@dataclass
class Demand:
    """Mutable accumulator for one symbol."""

    symbol: str
    library: str
    consumers: dict[str, None] = field(default_factory=dict)
    kinds: set[str] = field(default_factory=set)
    steps: dict[str, None] = field(default_factory=dict)
    available: bool = False
    """A plan found the proposed entry point in the scanned stable library."""
    plan_sites: list[CallSite] = field(default_factory=list)
    census: int | None = None


@dataclass
class Demands:
    symbols: dict[str, Demand] = field(default_factory=dict)
    consumers: dict[str, None] = field(default_factory=dict)
    libraries: list[Library] = field(default_factory=list)
    """Every library the plans' consumers load (for the stable library's version nodes)."""
    census_total: int | None = None

    def add(self, symbol: str, library: str, consumer: str) -> Demand:
        d = self.symbols.get(symbol)
        if d is None:
            d = self.symbols[symbol] = Demand(symbol, library)
        d.consumers[consumer] = None
        self.consumers[consumer] = None
        return d


def consumer_label(package: str | None, path: str) -> str:
    return package.split()[0] if package else path


def from_plans(plans: Iterable[Plan], into: Demands | None = None) -> Demands:
    out = into or Demands()
    for plan in plans:
        by_name = {c.display_name: c for c in plan.audit.consumers}
        for c in plan.audit.consumers:
            out.libraries.extend(c.libraries)
        for cp in plan.plans:
            consumer = by_name.get(cp.consumer)
            label = consumer_label(cp.package or (consumer.package if consumer else None),
                                   cp.consumer)
            for step in cp.steps:
                for item in step.items:
                    d = out.add(item.symbol.name, item.library, label)
                    d.kinds.add(item.kind)
                    d.steps[step.title] = None
                    if item.kind == "new-entry-point" and item.tier == _NOT_NEEDED_TIER:
                        d.available = True
                    d.plan_sites += [s for s in item.call_sites if s.method == "source"]
    return out


def from_census(data: CensusData, into: Demands | None = None) -> Demands:
    """Add a census (:class:`abiguard.census.aggregate.CensusData`): every package's unstable
    and private symbols, and how many packages use each."""
    out = into or Demands()
    users: dict[str, set[str]] = {}
    for cell in data.cells:
        if cell.stability not in ("unstable", "private"):
            continue
        d = out.add(cell.symbol, cell.library, cell.consumer)
        users.setdefault(cell.symbol, set()).add(cell.consumer)
        d.steps.setdefault("census", None)
    for symbol, who in users.items():
        out.symbols[symbol].census = len(who)
    out.census_total = sum(1 for c in data.consumers if c.status == "ok")
    return out


def find_library(libraries: Iterable[Library], pattern: str) -> Library | None:
    """The first scanned library whose soname (or needed name) matches a glob."""
    for lib in libraries:
        if lib.path and fnmatch.fnmatchcase(lib.soname or lib.name, pattern):
            return lib
    return None


def source_functions(sites: Iterable[CallSite]) -> tuple[str, ...]:
    """``file:function`` of the code that references a symbol itself (not through a
    wrapper: the wrapper is what changes)."""
    return tuple(sorted({f"{s.file}:{s.function}" for s in sites
                         if s.method == "source" and s.via is None and s.function}))


def finish(demands: Demands, knowledge: Knowledge,
           sites: dict[str, list[CallSite]] | None) -> list[SymbolDemand]:
    """The records, with the knowledge's remedy and the functions that use each symbol."""
    out = []
    for name in sorted(demands.symbols):
        d = demands.symbols[name]
        remedy: Remedy | None = knowledge.lookup(name, d.library)
        kind: DemandKind = remedy.kind if remedy else "unknown"
        if d.available and kind == "new-entry-point":
            kind = "available"
        found = (sites or {}).get(name) or d.plan_sites
        functions: tuple[str, ...]
        origin: Literal["source", "knowledge", "none"]
        if found:
            functions, origin = source_functions(found), "source"
        elif remedy is not None and remedy.call_sites:
            functions, origin = tuple(sorted(remedy.call_sites)), "knowledge"
        else:
            functions, origin = (), "none"
        out.append(SymbolDemand(
            symbol=name, library=d.library, kind=kind,
            group=remedy.group if remedy else None, part=remedy.part if remedy else None,
            consumers=tuple(d.consumers), census_consumers=d.census,
            call_sites=tuple(found), functions=functions, functions_from=origin,
            rationale=" ".join(remedy.rationale.split()) if remedy else "",
            status=", ".join(d.steps)))
    return out


__all__ = ["NEEDS_API", "Demand", "Demands", "consumer_label", "find_library", "finish",
           "from_census", "from_plans", "source_functions"]
