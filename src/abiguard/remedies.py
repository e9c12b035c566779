"""The remedies knowledge base, verification against the scanned libraries, easy->hard order.

Knowledge is data: ``data/remedies/*.toml`` in the package plus user files (``--remedies``),
schema in docs/remedies.md. User files are consulted first; the first matching remedy wins.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .errors import DataFileError
from .limits import toml_loads
from .model import (
    REMEDY_KINDS,
    Binding,
    CallSite,
    Consumer,
    ConsumerPlan,
    PlanItem,
    PlanStep,
    SymbolRef,
    Verification,
)

# The easy-to-hard order of plan steps.
TIERS: dict[str, tuple[int, str]] = {
    "already-used": (0, "Replacement already used: drop the unstable call"),
    "available": (1, "Replace with the stable API that exists"),
    "replace-unverified": (2, "Replace with a stable API (library not scanned: unverified)"),
    "replace-newer": (3, "Replace, after raising the minimum version of the stable library"),
    "retire": (4, "Retire compatibility code"),
    "keep": (5, "No action of its own: goes away with the last unstable call"),
    "new-entry-point": (6, "Needs a new stable entry point"),
    "redesign": (7, "Needs a new stable API design"),
    "unknown": (8, "No remedy known"),
}


@dataclass(frozen=True, slots=True)
class Replacement:
    symbol: str
    library: str
    since: str | None = None
    since_release: str | None = None
    proposed: bool = False


@dataclass(frozen=True, slots=True)
class Group:
    id: str
    title: str
    kind: str
    rationale: str = ""
    references: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Remedy:
    symbols: tuple[str, ...]
    library: str
    kind: str
    difficulty: int
    rationale: str
    origin: str
    group: str | None = None
    references: tuple[str, ...] = ()
    call_sites: tuple[str, ...] = ()
    replacements: tuple[Replacement, ...] = ()

    def matches(self, symbol: str, library: str | None) -> bool:
        if library is not None and not fnmatch.fnmatchcase(library, self.library):
            return False
        return any(fnmatch.fnmatchcase(symbol, p) for p in self.symbols)


class Knowledge:
    def __init__(self, remedies: list[Remedy], groups: dict[str, Group], origins: list[str]):
        self.remedies = remedies
        self.groups = groups
        self.origins = tuple(origins)

    def lookup(self, symbol: str, library: str | None) -> Remedy | None:
        for r in self.remedies:
            if r.matches(symbol, library):
                return r
        return None


# --------------------------------------------------------------------------------------------
# Loading and validation
# --------------------------------------------------------------------------------------------

_TOP = {"schema", "name", "description", "library", "group", "remedy"}
_GROUP = {"id", "title", "kind", "rationale", "references"}
_REMEDY = {"symbols", "library", "kind", "difficulty", "group", "rationale", "references",
           "call_sites", "replacement"}
_REPL = {"symbol", "library", "since", "since_release", "proposed"}


def _fail(origin: str, where: str, msg: str) -> DataFileError:
    return DataFileError(origin, f"{where}: {msg}")


def _keys(t: object, allowed: set[str], required: set[str], origin: str, where: str) -> dict:
    if not isinstance(t, dict):
        raise _fail(origin, where, "must be a table")
    unknown = set(t) - allowed
    if unknown:
        raise _fail(origin, where, f"unknown key(s) {', '.join(sorted(unknown))} "
                                   f"(allowed: {', '.join(sorted(allowed))})")
    missing = required - set(t)
    if missing:
        raise _fail(origin, where, f"missing key(s) {', '.join(sorted(missing))}")
    return t


def _strs(t: dict, key: str, origin: str, where: str) -> tuple[str, ...]:
    v = t.get(key, [])
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise _fail(origin, where, f"'{key}' must be a list of strings")
    return tuple(v)


def _str(t: dict, key: str, origin: str, where: str, default: str | None = None) -> str | None:
    v = t.get(key, default)
    if v is not None and not isinstance(v, str):
        raise _fail(origin, where, f"'{key}' must be a string")
    return v


def _kind(t: dict, origin: str, where: str) -> str:
    k = _str(t, "kind", origin, where)
    if k not in REMEDY_KINDS:
        raise _fail(origin, where, f"kind {k!r} is not one of {', '.join(REMEDY_KINDS)}")
    return k


def parse_remedies(text: str, origin: str) -> tuple[list[Remedy], dict[str, Group]]:
    data = toml_loads(text, origin)
    _keys(data, _TOP, {"schema"}, origin, "top level")
    if data["schema"] != 1:
        raise DataFileError(origin, f"schema {data['schema']!r} is not supported (expected 1)")
    default_lib = _str(data, "library", origin, "top level", "*")
    groups: dict[str, Group] = {}
    if not isinstance(data.get("group", []), list):
        raise DataFileError(origin, "'group' must be an array of tables ([[group]])")
    for i, g in enumerate(data.get("group", [])):
        where = f"[[group]] #{i + 1}"
        _keys(g, _GROUP, {"id", "title", "kind"}, origin, where)
        groups[g["id"]] = Group(_str(g, "id", origin, where), _str(g, "title", origin, where),
                                _kind(g, origin, where), _str(g, "rationale", origin, where, ""),
                                _strs(g, "references", origin, where))
    remedies = []
    entries = data.get("remedy", [])
    if not isinstance(entries, list):
        raise DataFileError(origin, "'remedy' must be an array of tables ([[remedy]])")
    for i, r in enumerate(entries):
        where = f"[[remedy]] #{i + 1}"
        _keys(r, _REMEDY, {"symbols", "kind", "rationale"}, origin, where)
        symbols = _strs(r, "symbols", origin, where)
        if not symbols:
            raise _fail(origin, where, "'symbols' is empty")
        where = f"[[remedy]] #{i + 1} ({symbols[0]})"
        kind = _kind(r, origin, where)
        diff = r.get("difficulty", 3)
        if not isinstance(diff, int) or isinstance(diff, bool) or not 1 <= diff <= 5:
            raise _fail(origin, where, f"difficulty must be an integer from 1 to 5, got {diff!r}")
        group = _str(r, "group", origin, where)
        if group is not None and group not in groups:
            raise _fail(origin, where, f"group {group!r} is not defined by a [[group]] table")
        repls = []
        raw_repls = r.get("replacement", [])
        if not isinstance(raw_repls, list):
            raise _fail(origin, where, "'replacement' must be an array of tables")
        for j, rp in enumerate(raw_repls):
            w2 = f"{where} replacement #{j + 1}"
            _keys(rp, _REPL, {"symbol", "library"}, origin, w2)
            proposed = rp.get("proposed", False)
            if not isinstance(proposed, bool):
                raise _fail(origin, w2, "'proposed' must be true or false")
            repls.append(Replacement(_str(rp, "symbol", origin, w2), _str(rp, "library", origin, w2),
                                     _str(rp, "since", origin, w2),
                                     _str(rp, "since_release", origin, w2), proposed))
        if kind == "replace" and not any(not x.proposed for x in repls):
            raise _fail(origin, where, "kind 'replace' needs at least one existing "
                                       "[[remedy.replacement]] (proposed = false)")
        remedies.append(Remedy(symbols, _str(r, "library", origin, where, default_lib), kind,
                               diff, _str(r, "rationale", origin, where), origin, group,
                               _strs(r, "references", origin, where),
                               _strs(r, "call_sites", origin, where), tuple(repls)))
    return remedies, groups


def load_knowledge(extra_files: list[str] | tuple[str, ...] = (), builtin: bool = True
                   ) -> Knowledge:
    remedies: list[Remedy] = []
    groups: dict[str, Group] = {}
    origins = []
    sources: list[tuple[str, str]] = []
    for path in extra_files:
        try:
            sources.append((Path(path).read_text(encoding="utf-8"), path))
        except OSError as exc:
            raise DataFileError(path, f"cannot read remedies file: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise DataFileError(path, "remedies file is not UTF-8 text") from None
    if builtin:
        folder = resources.files("abiguard") / "data" / "remedies"
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if entry.name.endswith(".toml"):
                sources.append((entry.read_text(encoding="utf-8"), f"built-in:{entry.name}"))
    for text, origin in sources:
        r, g = parse_remedies(text, origin)
        remedies += r
        for k, v in g.items():
            groups.setdefault(k, v)
        origins.append(origin)
    return Knowledge(remedies, groups, origins)


# --------------------------------------------------------------------------------------------
# Verification
# --------------------------------------------------------------------------------------------

_NUM = re.compile(r"(\d+(?:\.\d+)*)")


def node_key(node: str | None) -> tuple[int, ...]:
    m = _NUM.search(node or "")
    return tuple(int(x) for x in m.group(1).split(".")) if m else ()


@dataclass(frozen=True, slots=True)
class LibraryExports:
    """A stable library's exports as seen by the verifier."""

    soname: str
    path: str | None
    symbols: dict[str, list[str | None]]
    """name -> version nodes defining it (None: unversioned)."""


# How the planner finds a library matching a glob: returns None when it was not scanned.
LibraryFinder = Callable[[str], LibraryExports | None]


def verify(repl: Replacement, consumer: Consumer, find: LibraryFinder) -> Verification:
    # (an import from a library that was not found is used all the same: its version
    # requirement names the library)
    used = next((b for b in consumer.bindings if b.symbol.name == repl.symbol
                 and (b.status == "bound" or b.provider)), None)
    lib = find(repl.library)
    if used is not None:
        node = used.provided_version if used.status == "bound" else used.symbol.version
        return Verification(repl.symbol, used.provider or repl.library, "already-used",
                            node, used.provider_path,
                            f"{consumer.display_name} already imports {repl.symbol}"
                            + (f"@{node}" if node else "") + f" from {used.provider}"
                            + ("" if used.status == "bound" else " (not found)"))
    if lib is None:
        return Verification(repl.symbol, repl.library, "not-scanned", None, None,
                            f"no library matching {repl.library} among the scanned libraries: "
                            "cannot verify (add it with --provider, --with-deps or --lib-path)")
    nodes = lib.symbols.get(repl.symbol)
    if not nodes:
        what = "proposed entry point is not" if repl.proposed else "replacement is not"
        return Verification(repl.symbol, lib.soname, "missing", None, lib.path,
                            f"{what} exported by the scanned {lib.soname}")
    node = min(nodes, key=node_key)
    if repl.since and node and node_key(node) > node_key(repl.since):
        return Verification(repl.symbol, lib.soname, "available-newer", node, lib.path,
                            f"{repl.symbol} is defined by {lib.soname} only in version node "
                            f"{node}, newer than {repl.since}: using it raises the minimum "
                            f"{lib.soname} version")
    return Verification(repl.symbol, lib.soname, "available", node, lib.path,
                        f"{repl.symbol}" + (f"@{node}" if node else "") +
                        f" is exported by {lib.soname}" +
                        (f" (since {repl.since_release})" if repl.since_release else ""))


def _tier_for(remedy: Remedy | None, verifications: list[Verification]) -> str:
    if remedy is None:
        return "unknown"
    if remedy.kind == "replace":
        statuses = {v.status for v, r in zip(verifications, remedy.replacements)
                    if not r.proposed}
        for status, tier in (("already-used", "already-used"), ("available", "available"),
                             ("not-scanned", "replace-unverified")):
            if status in statuses:
                return tier
        return "replace-newer"
    if remedy.kind == "new-entry-point" and any(v.status == "available" for v in verifications):
        return "available"  # the proposed entry point exists in the scanned library now
    return remedy.kind


def plan_consumer(consumer: Consumer, knowledge: Knowledge, find: LibraryFinder,
                  call_sites: dict[str, list[CallSite]] | None = None) -> ConsumerPlan:
    items: list[PlanItem] = []
    # (with the imports classified from the name of a library that was not found: a
    # consumer whose library is missing must not look like one with nothing to do)
    for b in (*consumer.findings, *consumer.presumed):
        items.append(_item(b, consumer, knowledge, find, call_sites or {}))
    steps: dict[tuple[int, str | None], list[PlanItem]] = {}
    for it in items:
        steps.setdefault((it.tier, it.group if it.kind == "redesign" else None), []).append(it)
    out = []
    for (tier, group), its in sorted(steps.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        its.sort(key=lambda i: (i.difficulty, i.group or "", i.symbol.name))
        g = knowledge.groups.get(group) if group else None
        title = its[0].step + (f": {g.title}" if g else "")
        out.append(PlanStep(tier, title, its[0].kind, group, g.rationale if g else "",
                            g.references if g else (), tuple(its)))
    return ConsumerPlan(consumer.display_name, consumer.package, tuple(out))


def _item(b: Binding, consumer: Consumer, knowledge: Knowledge, find: LibraryFinder,
          call_sites: dict[str, list[CallSite]]) -> PlanItem:
    remedy = knowledge.lookup(b.symbol.name, b.provider)
    verifications = [verify(r, consumer, find) for r in remedy.replacements] if remedy else []
    tier_name = _tier_for(remedy, verifications)
    tier, step = TIERS[tier_name]
    node = b.provided_version if b.status == "bound" else b.symbol.version
    if remedy is None:
        rationale = (f"no remedy known for {b.symbol.name} in the knowledge base; "
                     f"{b.provider} is {b.stability.value}: "
                     + "; ".join(e.detail for e in b.evidence[:2]))
        return PlanItem(SymbolRef(b.symbol.name, node), b.provider or "?",
                        "unknown", tier, step, 5, None, rationale, (), (), (),
                        tuple(call_sites.get(b.symbol.name, ())), b.stability, b.evidence)
    return PlanItem(SymbolRef(b.symbol.name, node), b.provider or "?",
                    remedy.kind, tier, step, remedy.difficulty, remedy.group,
                    " ".join(remedy.rationale.split()), remedy.references,
                    tuple(verifications), remedy.call_sites,
                    tuple(call_sites.get(b.symbol.name, ())), b.stability, b.evidence,
                    remedy.origin)
