"""Census aggregates: the consumer × unstable-symbol matrix and what it says.

Input is a :class:`CensusData` — built from a census store (one row per package name: its
newest stored result), or from a single scan/plan result (one row per scanned ELF object).
From it :func:`aggregate` computes:

* per symbol (library, symbol name): consumers, call weight (call sites when a plan knows
  them, else 1 per consumer), version nodes, stability;
* per library: consumers, distinct symbols, uses;
* co-use groups: symbols used by (nearly) the same consumers — candidate stable API groups.
  Similarity is the Jaccard index of the symbols' consumer sets. Symbols with identical sets
  are collapsed first (they are "always together"); then either connected components of the
  graph with an edge where J ≥ threshold (``components``, single linkage: loose, chains), or
  average-linkage agglomerative clustering that merges while the mean J between two clusters
  ≥ threshold (``average``, the default: tighter groups);
* a ranking "stabilise these first": by consumers, then call weight, then co-use (the
  symbols of one group stay together, groups with more consumers first), then name.

Exports: JSON (everything), CSV (the matrix or one of the tables), Parquet (the long
findings table; only when pyarrow is importable — it is not a dependency).
"""

from __future__ import annotations

import csv
import fnmatch
import heapq
import io
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from ..model import Audit, Plan
from ..remedies import load_knowledge
from .store import FailureKind, PackageStatus, Store

SymbolKey = tuple[str, str]
"""(library soname, symbol name)"""

AGGREGATE_SCHEMA = 1
METHODS = ("average", "components")


@dataclass
class ConsumerInfo:
    name: str
    """Package name (census) or ELF object (scan/plan)."""
    version: str = ""
    arch: str = ""
    status: PackageStatus = "ok"
    objects: int = 0
    error: str | None = None
    error_kind: FailureKind | None = None
    package_id: int | None = None
    internal: str | None = None
    """The source package it is built from when a ``--source`` census asked about that
    source: its own uses are shown apart, not ranked (unless asked)."""
    detail: dict[str, Any] = field(default_factory=dict)
    """For the report's drill-down: objects -> symbols, plan steps, notes."""


@dataclass
class Cell:
    """One unstable/private symbol used by one consumer."""

    consumer: str
    library: str
    symbol: str
    version: str | None
    stability: str
    weight: float = 1.0
    objects: tuple[str, ...] = ()


@dataclass
class CensusData:
    consumers: list[ConsumerInfo] = field(default_factory=list)
    cells: list[Cell] = field(default_factory=list)
    kind: str = "census"
    """census | scan | plan"""
    source: str = ""
    weights_known: bool = False
    """True when weights are call-site counts (a plan with call sites)."""
    remedies: dict[SymbolKey, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    """(library, symbol) -> (remedy kind, replacement symbols), from a plan's items."""

    def filtered(self, exclude: Iterable[str] = (), libraries: Iterable[str] = ()
                 ) -> CensusData:
        """Without the consumers matching an ``exclude`` glob; with ``libraries`` globs, only
        the symbols of matching libraries."""
        ex, libs = list(exclude), list(libraries)
        if not ex and not libs:
            return self

        def keep(name: str) -> bool:
            return not any(fnmatch.fnmatchcase(name, g) for g in ex)

        cells = [c for c in self.cells if keep(c.consumer) and (
            not libs or any(fnmatch.fnmatchcase(c.library, g) for g in libs))]
        return CensusData([c for c in self.consumers if keep(c.name)], cells, self.kind,
                          self.source, self.weights_known, self.remedies)

    def split_internal(self) -> tuple[CensusData, CensusData]:
        """(the data without internal consumers, the internal consumers' data)."""
        inside = {c.name for c in self.consumers if c.internal}
        if not inside:
            return self, CensusData(kind=self.kind, source=self.source)

        def part(keep: bool) -> CensusData:
            return CensusData([c for c in self.consumers if (c.name in inside) == keep],
                              [c for c in self.cells if (c.consumer in inside) == keep],
                              self.kind, self.source, self.weights_known, self.remedies)

        return part(False), part(True)

    @classmethod
    def from_store(cls, store: Store, *, include_failed: bool = True) -> CensusData:
        data = cls(kind="census", source=store.path)
        latest = store.latest()
        internal = store.internal()
        ok = {p.id: p for p in latest if p.status == "ok"}
        for p in latest:
            if p.status != "ok" and not include_failed:
                continue
            data.consumers.append(ConsumerInfo(p.name, p.version, p.arch, p.status, p.objects,
                                               p.error, p.error_kind, p.id,
                                               internal.get(p.name)))
        merged: dict[tuple[str, str, str], Cell] = {}
        for pid, f in store.findings(ok):
            name = ok[pid].name
            k = (name, f.library, f.symbol)
            cell = merged.get(k)
            if cell is None:
                merged[k] = Cell(name, f.library, f.symbol, f.version, f.stability, f.weight,
                                 (f.object,))
            elif f.object not in cell.objects:
                cell.objects = cell.objects + (f.object,)
        data.cells = list(merged.values())
        return data

    @classmethod
    def from_result(cls, obj: Audit | Plan, source: str = "") -> CensusData:
        """From an Audit or a Plan: one consumer per scanned ELF object."""
        plan = obj if isinstance(obj, Plan) else None
        audit = obj.audit if isinstance(obj, Plan) else obj
        data = cls(kind="plan" if plan is not None else audit.kind or "scan", source=source)
        sites: dict[tuple[str, str], int] = {}
        if plan is not None:
            for cp in plan.plans:
                for step in cp.steps:
                    for item in step.items:
                        if item.call_sites:
                            sites[(cp.consumer, item.symbol.name)] = len(item.call_sites)
                        data.remedies.setdefault((item.library, item.symbol.name), (
                            item.kind, tuple(v.symbol for v in item.verifications)))
        data.weights_known = bool(sites)
        for c in audit.consumers:
            name = c.display_name
            data.consumers.append(ConsumerInfo(name, "", c.machine, "ok", 1,
                                               detail={"package": c.package}))
            for b in c.findings:
                w = float(sites.get((name, b.symbol.name), sites.get((c.path, b.symbol.name),
                                                                     1)))
                data.cells.append(Cell(name, b.provider or "?", b.symbol.name,
                                       b.provided_version or b.symbol.version,
                                       b.stability.value, w, (name,)))
        for e in audit.errors:
            data.consumers.append(ConsumerInfo(e.path, status="failed", error=e.message,
                                               error_kind="error"))
        return data


@dataclass
class SymbolStat:
    library: str
    symbol: str
    stability: str
    versions: list[str]
    consumers: list[str]
    weight: float
    group: int | None = None
    rank: int = 0
    remedy: str | None = None
    """Known remedy kind from the knowledge base (replace, retire, ...), when there is one."""
    replacements: list[str] = field(default_factory=list)

    @property
    def key(self) -> SymbolKey:
        return (self.library, self.symbol)

    @property
    def label(self) -> str:
        return f"{self.symbol}@{self.library}"


@dataclass
class Group:
    id: int
    symbols: list[SymbolKey]
    consumers: list[str]
    """Consumers using any symbol of the group."""
    core: list[str]
    """Consumers using every symbol of the group."""
    min_jaccard: float
    mean_jaccard: float

    @property
    def kind(self) -> str:
        return "always" if self.min_jaccard >= 0.999999 else "often"


@dataclass
class Aggregate:
    data: CensusData
    consumers: list[ConsumerInfo]
    rows: list[str]
    """Matrix rows: consumers with at least one finding, most findings first."""
    symbols: list[SymbolStat]
    """Ranked: stabilise these first."""
    matrix: dict[tuple[str, SymbolKey], float]
    libraries: list[dict[str, Any]]
    groups: list[Group]
    threshold: float
    method: str

    @property
    def failures(self) -> list[ConsumerInfo]:
        return [c for c in self.consumers if c.status != "ok"]

    def summary(self) -> dict[str, Any]:
        ok = [c for c in self.consumers if c.status == "ok"]
        return {
            "kind": self.data.kind, "source": self.data.source,
            "consumers": len(self.consumers), "ok": len(ok), "failed": len(self.failures),
            "with_findings": len(self.rows),
            "symbols": len(self.symbols), "libraries": len(self.libraries),
            "groups": len(self.groups), "uses": len(self.matrix),
            "weights": "call sites" if self.data.weights_known else "1 per consumer",
            "threshold": self.threshold, "method": self.method,
        }

    def symbol(self, key: SymbolKey) -> SymbolStat | None:
        for s in self.symbols:
            if s.key == key:
                return s
        return None

    # -- exports -----------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        col = {s.key: i for i, s in enumerate(self.symbols)}
        row = {r: i for i, r in enumerate(self.rows)}
        return {
            "kind": "census-aggregate", "schema": AGGREGATE_SCHEMA,
            "summary": self.summary(),
            "consumers": [{k: v for k, v in asdict(c).items() if k != "detail"}
                          for c in self.consumers],
            "symbols": [{"rank": s.rank, "library": s.library, "symbol": s.symbol,
                         "stability": s.stability, "versions": s.versions,
                         "consumers": s.consumers, "consumer_count": len(s.consumers),
                         "weight": s.weight, "group": s.group, "remedy": s.remedy,
                         "replacements": s.replacements} for s in self.symbols],
            "libraries": self.libraries,
            "groups": [{"id": g.id, "kind": g.kind, "symbols": [list(k) for k in g.symbols],
                        "consumers": g.consumers, "core": g.core,
                        "min_jaccard": round(g.min_jaccard, 4),
                        "mean_jaccard": round(g.mean_jaccard, 4)} for g in self.groups],
            "matrix": {"rows": self.rows,
                       "columns": [[s.library, s.symbol] for s in self.symbols],
                       "cells": [[row[r], col[k], w] for (r, k), w in
                                 sorted(self.matrix.items(), key=lambda kv: (row[kv[0][0]],
                                                                              col[kv[0][1]]))]},
            "failures": [{"name": c.name, "version": c.version, "arch": c.arch,
                          "error_kind": c.error_kind, "error": c.error}
                         for c in self.failures],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    def long_rows(self) -> list[dict[str, Any]]:
        info = {c.name: c for c in self.consumers}
        out = []
        for cell in sorted(self.data.cells, key=lambda c: (c.consumer, c.library, c.symbol)):
            c = info.get(cell.consumer)
            out.append({"consumer": cell.consumer, "version": c.version if c else "",
                        "arch": c.arch if c else "", "library": cell.library,
                        "symbol": cell.symbol, "symbol_version": cell.version or "",
                        "stability": cell.stability, "weight": cell.weight,
                        "objects": " ".join(cell.objects)})
        return out

    def to_csv(self, what: str = "matrix") -> str:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        if what == "matrix":
            w.writerow(["consumer", "version", *[s.label for s in self.symbols]])
            info = {c.name: c for c in self.consumers}
            for r in self.rows:
                w.writerow([r, info[r].version if r in info else "",
                            *[_num(self.matrix.get((r, s.key), 0)) for s in self.symbols]])
        elif what == "findings":
            rows = self.long_rows()
            w.writerow(["consumer", "version", "arch", "library", "symbol", "symbol_version",
                        "stability", "weight", "objects"])
            for row in rows:
                w.writerow(list(row.values()))
        elif what in ("symbols", "ranking"):
            w.writerow(["rank", "library", "symbol", "stability", "versions", "consumers",
                        "weight", "group", "remedy", "consumer_names"])
            for s in self.symbols:
                w.writerow([s.rank, s.library, s.symbol, s.stability, " ".join(s.versions),
                            len(s.consumers), _num(s.weight), s.group or "", s.remedy or "",
                            " ".join(s.consumers)])
        elif what == "groups":
            w.writerow(["group", "kind", "symbols", "consumers", "core_consumers",
                        "min_jaccard", "mean_jaccard", "symbol_names", "consumer_names"])
            for g in self.groups:
                w.writerow([g.id, g.kind, len(g.symbols), len(g.consumers), len(g.core),
                            f"{g.min_jaccard:.3f}", f"{g.mean_jaccard:.3f}",
                            " ".join(f"{s}@{lib}" for lib, s in g.symbols),
                            " ".join(g.consumers)])
        elif what == "libraries":
            w.writerow(["library", "consumers", "symbols", "uses"])
            for lib in self.libraries:
                w.writerow([lib["library"], lib["consumers"], lib["symbols"], lib["uses"]])
        elif what == "failures":
            w.writerow(["name", "version", "arch", "error_kind", "error"])
            for c in self.failures:
                w.writerow([c.name, c.version, c.arch, c.error_kind or "", c.error or ""])
        else:
            raise ValueError(f"unknown table {what!r}")
        return buf.getvalue()

    def write_parquet(self, path: str) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        rows = self.long_rows()
        cols = ["consumer", "version", "arch", "library", "symbol", "symbol_version",
                "stability", "weight", "objects"]
        table = pa.table({c: [r[c] for r in rows] for c in cols})
        pq.write_table(table, path)


EXPORT_TABLES = ("matrix", "findings", "symbols", "groups", "libraries", "failures")


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def _average_linkage(n: int, size: list[int], sim: dict[tuple[int, int], float],
                     threshold: float) -> list[list[int]]:
    """Agglomerative clustering, average linkage (UPGMA) over sparse similarities: merge the
    most similar pair while its mean similarity ≥ threshold (Lance-Williams update, a heap
    with lazy deletion: O(E log E))."""
    members: dict[int, list[int]] = {i: [i] for i in range(n)}
    weight = {i: size[i] for i in range(n)}
    nbr: dict[int, dict[int, float]] = defaultdict(dict)
    for (i, j), v in sim.items():
        nbr[i][j] = v
        nbr[j][i] = v
    heap = [(-v, i, j) for (i, j), v in sim.items() if v >= threshold]
    heapq.heapify(heap)
    nxt = n
    while heap:
        negv, a, b = heapq.heappop(heap)
        if a not in members or b not in members or nbr[a].get(b) != -negv:
            continue  # stale entry
        c = nxt
        nxt += 1
        members[c] = members.pop(a) + members.pop(b)
        wa, wb = weight.pop(a), weight.pop(b)
        weight[c] = wa + wb
        na, nb = nbr.pop(a), nbr.pop(b)
        for x in (set(na) | set(nb)) - {a, b}:
            v = (wa * na.get(x, 0.0) + wb * nb.get(x, 0.0)) / (wa + wb)
            nbr[x].pop(a, None)
            nbr[x].pop(b, None)
            if v > 0:
                nbr[c][x] = v
                nbr[x][c] = v
                if v >= threshold:
                    heapq.heappush(heap, (-v, min(c, x), max(c, x)))
    return [sorted(m) for m in members.values()]


def co_use_groups(sets: dict[SymbolKey, frozenset[str]], threshold: float = 0.5,
                  method: str = "average") -> list[Group]:
    """Groups of ≥ 2 symbols used together (see the module docstring)."""
    if method not in METHODS:
        raise ValueError(f"unknown grouping method {method!r} (one of {', '.join(METHODS)})")
    # 1. symbols with identical consumer sets: always together
    classes: dict[frozenset[str], list[SymbolKey]] = defaultdict(list)
    for k, s in sets.items():
        if s:
            classes[s].append(k)
    keys = sorted(classes, key=lambda s: (-len(s), sorted(s)))
    n = len(keys)
    # 2. similarities between classes that share a consumer
    by_consumer: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(keys):
        for c in s:
            by_consumer[c].append(i)
    sim: dict[tuple[int, int], float] = {}
    for members in by_consumer.values():
        for x in range(len(members)):
            for y in range(x + 1, len(members)):
                i, j = members[x], members[y]
                if (i, j) not in sim:
                    sim[(i, j)] = jaccard(keys[i], keys[j])

    def J(i: int, j: int) -> float:
        if i == j:
            return 1.0
        return sim.get((i, j) if i < j else (j, i), 0.0)

    clusters: list[list[int]]
    if method == "average":
        clusters = _average_linkage(n, [len(classes[k]) for k in keys], sim, threshold)
    else:
        parent = list(range(n))

        def find(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i
        for (i, j), v in sim.items():
            if v >= threshold:
                parent[find(i)] = find(j)
        comp: dict[int, list[int]] = defaultdict(list)
        for i in range(n):
            comp[find(i)].append(i)
        clusters = list(comp.values())

    groups = []
    for cl in clusters:
        syms = sorted(k for i in cl for k in classes[keys[i]])
        if len(syms) < 2:
            continue
        union = frozenset().union(*(keys[i] for i in cl))
        core = frozenset.intersection(*(keys[i] for i in cl))
        # pairwise J over symbols (classes expanded)
        pairs = []
        cnt = [len(classes[keys[i]]) for i in cl]
        for a in range(len(cl)):
            if cnt[a] > 1:
                pairs.append((1.0, cnt[a] * (cnt[a] - 1) // 2))
            for b in range(a + 1, len(cl)):
                pairs.append((J(cl[a], cl[b]), cnt[a] * cnt[b]))
        total = sum(w for _, w in pairs) or 1
        groups.append(Group(0, syms, sorted(union), sorted(core),
                            min(v for v, _ in pairs), sum(v * w for v, w in pairs) / total))
    groups.sort(key=lambda g: (-len(g.consumers), -len(g.core), -len(g.symbols), g.symbols))
    for i, g in enumerate(groups, 1):
        g.id = i
    return groups


def aggregate(data: CensusData, *, threshold: float = 0.5, method: str = "average",
              remedies: bool = True) -> Aggregate:
    if not 0.0 < threshold <= 1.0:
        raise ValueError("the co-use threshold must be in (0, 1]")
    sets: dict[SymbolKey, set[str]] = defaultdict(set)
    weight: dict[SymbolKey, float] = defaultdict(float)
    versions: dict[SymbolKey, set[str]] = defaultdict(set)
    stability: dict[SymbolKey, str] = {}
    matrix: dict[tuple[str, SymbolKey], float] = {}
    for cell in data.cells:
        k = (cell.library, cell.symbol)
        sets[k].add(cell.consumer)
        weight[k] += cell.weight
        if cell.version:
            versions[k].add(cell.version)
        # private wins over unstable if both are seen
        if stability.get(k) != "private":
            stability[k] = cell.stability
        matrix[(cell.consumer, k)] = matrix.get((cell.consumer, k), 0) + cell.weight
    frozen = {k: frozenset(v) for k, v in sets.items()}
    groups = co_use_groups(frozen, threshold, method)
    group_of = {k: g.id for g in groups for k in g.symbols}
    group_order = {g.id: i for i, g in enumerate(groups)}
    stats = [SymbolStat(k[0], k[1], stability[k], sorted(versions[k]), sorted(frozen[k]),
                        weight[k], group_of.get(k)) for k in frozen]
    stats.sort(key=lambda s: (-len(s.consumers), -s.weight,
                              group_order.get(s.group, len(groups)) if s.group else len(groups),
                              s.library, s.symbol))
    for i, s in enumerate(stats, 1):
        s.rank = i
    for st in stats:
        if st.key in data.remedies:
            st.remedy, repl = data.remedies[st.key]
            st.replacements = list(repl)
    if remedies:
        _remedy_hints([st for st in stats if st.remedy is None])
    per_row: dict[str, int] = defaultdict(int)
    for (r, _k) in matrix:
        per_row[r] += 1
    rows = sorted(per_row, key=lambda r: (-per_row[r], r))
    libs: dict[str, dict[str, Any]] = {}
    for s in stats:
        e = libs.setdefault(s.library, {"library": s.library, "consumers": set(), "symbols": 0,
                                        "uses": 0, "stability": s.stability})
        e["consumers"] |= set(s.consumers)
        e["symbols"] += 1
        e["uses"] += len(s.consumers)
    libraries = sorted(({**e, "consumers": len(e["consumers"]),
                         "consumer_names": sorted(e["consumers"])} for e in libs.values()),
                       key=lambda e: (-e["consumers"], -e["symbols"], e["library"]))
    return Aggregate(data, data.consumers, rows, stats, matrix, libraries, groups, threshold,
                     method)


def _remedy_hints(stats: Iterable[SymbolStat]) -> None:
    try:
        knowledge = load_knowledge()
    except Exception:  # noqa: BLE001 — knowledge is a nicety here, never a reason to fail
        return
    for s in stats:
        r = knowledge.lookup(s.symbol, s.library)
        if r is not None:
            s.remedy = r.kind
            s.replacements = [x.symbol for x in r.replacements]
