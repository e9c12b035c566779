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
from typing import Literal

from .errors import DataFileError
from .limits import TomlTable, toml_loads
from .model import (
    REMEDY_KINDS,
    Binding,
    CallSite,
    Consumer,
    ConsumerPlan,
    PlanItem,
    PlanStep,
    RemedyKind,
    SymbolRef,
    Verification,
    VerificationStatus,
)

TierName = Literal["already-used", "available", "replace-unverified", "replace-newer", "retire",
                   "keep", "new-entry-point", "redesign", "unknown"]

# The easy-to-hard order of plan steps.
TIERS: dict[TierName, tuple[int, str]] = {
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
    replaces: str | None = None
    """Which of the remedy's symbols it stands for (None: see :meth:`Remedy.replacement_for`)."""
    arguments: tuple[str, ...] | None = None
    """The new call's arguments from the old call's (docs/remedies.md, "Argument mapping"):
    ``$N`` is the old call's argument N (0-based; ``$N:name`` renames the parameter of a
    proposed function), ``$handle`` the stable library's handle, anything else C text.
    None: the old arguments with the stable handle in place of the unstable one."""
    fixed: tuple[tuple[int, str], ...] = ()
    """Old parameters a proposed function drops, with the value its forwarding passes."""
    summary: str | None = None
    """One sentence for the proposed function's doc comment."""
    decide: tuple[str, ...] = ()
    """Questions a maintainer must decide before the function can be added."""


@dataclass(frozen=True, slots=True)
class GroupPart:
    """A part of a group's design (the pirq handles: allocate/free, bind/unbind)."""

    id: str
    title: str
    rationale: str = ""


@dataclass(frozen=True, slots=True)
class Group:
    id: str
    title: str
    kind: RemedyKind
    rationale: str = ""
    references: tuple[str, ...] = ()
    parts: tuple[GroupPart, ...] = ()


@dataclass(frozen=True, slots=True)
class VersionMacro:
    """A consumer's macro that encodes the version of a library it is built against, e.g.
    qemu's ``CONFIG_XEN_CTRL_INTERFACE_VERSION`` (4.6 -> 40600 with scale 10000, 100, 1)."""

    name: str
    library: str
    scale: tuple[int, ...] = (10000, 100, 1)
    description: str = ""

    def value(self, version: str) -> int:
        """The macro's value for a version ``MAJOR[.MINOR[.MICRO]]`` (ValueError if not)."""
        parts = version.split(".")
        if not all(p.isdigit() for p in parts) or len(parts) > len(self.scale):
            raise ValueError(f"{version!r} is not a version of the form "
                             + ".".join(["N"] * len(self.scale)))
        return sum(int(p) * k for p, k in zip(parts, self.scale))


@dataclass(frozen=True, slots=True)
class Remedy:
    symbols: tuple[str, ...]
    library: str
    kind: RemedyKind
    difficulty: int
    rationale: str
    origin: str
    group: str | None = None
    references: tuple[str, ...] = ()
    call_sites: tuple[str, ...] = ()
    replacements: tuple[Replacement, ...] = ()
    part: str | None = None
    """The part of its group this remedy belongs to (a [[group.part]] id)."""

    def replacement_for(self, symbol: str) -> list[Replacement]:
        """The replacements standing for ``symbol``: those with ``replaces = symbol``; else,
        when no replacement names what it replaces, the one at the symbol's position (as
        many replacements as symbols) or every replacement."""
        named = [r for r in self.replacements if r.replaces == symbol]
        if named or any(r.replaces for r in self.replacements):
            return named
        if len(self.replacements) == len(self.symbols) > 1:
            for pattern, repl in zip(self.symbols, self.replacements):
                if fnmatch.fnmatchcase(symbol, pattern):
                    return [repl]
            return []
        return list(self.replacements)

    def matches(self, symbol: str, library: str | None) -> bool:
        if library is not None and not fnmatch.fnmatchcase(library, self.library):
            return False
        return any(fnmatch.fnmatchcase(symbol, p) for p in self.symbols)


class Knowledge:
    def __init__(self, remedies: list[Remedy], groups: dict[str, Group], origins: list[str],
                 version_macros: list[VersionMacro] | None = None):
        self.remedies = remedies
        self.groups = groups
        self.origins = tuple(origins)
        self.version_macros = tuple(version_macros or ())

    def lookup(self, symbol: str, library: str | None) -> Remedy | None:
        for r in self.remedies:
            if r.matches(symbol, library):
                return r
        return None


# --------------------------------------------------------------------------------------------
# Loading and validation
# --------------------------------------------------------------------------------------------

_TOP = {"schema", "name", "description", "library", "group", "remedy", "version_macro"}
_GROUP = {"id", "title", "kind", "rationale", "references", "part"}
_PART = {"id", "title", "rationale"}
_REMEDY = {"symbols", "library", "kind", "difficulty", "group", "rationale", "references",
           "call_sites", "replacement", "part"}
_REPL = {"symbol", "library", "since", "since_release", "proposed", "replaces", "arguments",
         "fixed", "summary", "decide"}
_VMACRO = {"name", "library", "scale", "description"}
_C_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ARG_REF = re.compile(r"\$(?:handle|(\d{1,3})(?::([A-Za-z_][A-Za-z0-9_]*))?)")


def _fail(origin: str, where: str, msg: str) -> DataFileError:
    return DataFileError(origin, f"{where}: {msg}")


def _keys(t: object, allowed: set[str], required: set[str], origin: str, where: str
          ) -> TomlTable:
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


def _strs(t: TomlTable, key: str, origin: str, where: str) -> tuple[str, ...]:
    v = t.get(key, [])
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise _fail(origin, where, f"'{key}' must be a list of strings")
    return tuple(v)


def _str(t: TomlTable, key: str, origin: str, where: str, default: str | None = None
         ) -> str | None:
    v = t.get(key, default)
    if v is not None and not isinstance(v, str):
        raise _fail(origin, where, f"'{key}' must be a string")
    return v


def _text(t: TomlTable, key: str, origin: str, where: str, default: str | None = None) -> str:
    """A string that is there: a required key (checked by :func:`_keys`) or one with a
    default."""
    v = _str(t, key, origin, where, default)
    if v is None:
        raise _fail(origin, where, f"missing key(s) {key}")
    return v


def _kind(t: TomlTable, origin: str, where: str) -> RemedyKind:
    k = _str(t, "kind", origin, where)
    for kind in REMEDY_KINDS:
        if k == kind:
            return kind
    raise _fail(origin, where, f"kind {k!r} is not one of {', '.join(REMEDY_KINDS)}")


def parse_remedies(text: str, origin: str) -> tuple[list[Remedy], dict[str, Group]]:
    remedies, groups, _macros = parse_remedies_file(text, origin)
    return remedies, groups


def parse_remedies_file(text: str, origin: str
                        ) -> tuple[list[Remedy], dict[str, Group], list[VersionMacro]]:
    """A remedies file: its remedies, groups and version macros (DataFileError if invalid)."""
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
        gid = _text(g, "id", origin, where)
        groups[gid] = Group(gid, _text(g, "title", origin, where), _kind(g, origin, where),
                            _text(g, "rationale", origin, where, ""),
                            _strs(g, "references", origin, where),
                            _parts(g, origin, f"{where} ({gid})"))
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
        part = _str(r, "part", origin, where)
        if part is not None and (group is None or part not in {p.id for p in
                                                                 groups[group].parts}):
            raise _fail(origin, where, f"part {part!r} is not a [[group.part]] of group "
                                       f"{group!r}")
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
            repls.append(_replacement(rp, proposed, symbols, origin, w2))
        if kind == "replace" and not any(not x.proposed for x in repls):
            raise _fail(origin, where, "kind 'replace' needs at least one existing "
                                       "[[remedy.replacement]] (proposed = false)")
        remedies.append(Remedy(symbols, _text(r, "library", origin, where, default_lib), kind,
                               diff, _text(r, "rationale", origin, where), origin, group,
                               _strs(r, "references", origin, where),
                               _strs(r, "call_sites", origin, where), tuple(repls), part))
    return remedies, groups, _version_macros(data, default_lib or "*", origin)


def _parts(g: TomlTable, origin: str, where: str) -> tuple[GroupPart, ...]:
    raw = g.get("part", [])
    if not isinstance(raw, list):
        raise _fail(origin, where, "'part' must be an array of tables ([[group.part]])")
    parts = []
    for k, pt in enumerate(raw):
        w = f"{where} part #{k + 1}"
        _keys(pt, _PART, {"id", "title"}, origin, w)
        parts.append(GroupPart(_text(pt, "id", origin, w), _text(pt, "title", origin, w),
                               _text(pt, "rationale", origin, w, "")))
    if len({p.id for p in parts}) != len(parts):
        raise _fail(origin, where, "two parts have the same id")
    return tuple(parts)


def _replacement(rp: TomlTable, proposed: bool, symbols: tuple[str, ...], origin: str,
                 where: str) -> Replacement:
    """One [[remedy.replacement]], with its argument mapping checked."""
    replaces = _str(rp, "replaces", origin, where)
    if replaces is not None and replaces not in symbols:
        raise _fail(origin, where, f"replaces {replaces!r}, which is not one of the remedy's "
                                   "symbols")
    arguments = None
    if "arguments" in rp:
        arguments = _strs(rp, "arguments", origin, where)
        for a in arguments:
            if not a.strip():
                raise _fail(origin, where, "an argument is empty")
            if a.startswith("$") and not _ARG_REF.fullmatch(a):
                raise _fail(origin, where, f"argument {a!r}: expected $handle, $N or $N:name")
            if proposed and not _ARG_REF.fullmatch(a):
                raise _fail(origin, where, f"argument {a!r}: a proposed function's parameters "
                                           "come from the old call's ($handle, $N, $N:name)")
            if not proposed and ":" in a and _ARG_REF.fullmatch(a):
                raise _fail(origin, where, f"argument {a!r}: renaming ($N:name) is for "
                                           "proposed functions only")
        refs = [int(m.group(1)) for a in arguments
                if (m := _ARG_REF.fullmatch(a)) and m.group(1) is not None]
        if len(set(refs)) != len(refs):
            raise _fail(origin, where, "an old argument is used twice in 'arguments'")
    raw_fixed = rp.get("fixed", {})
    if not isinstance(raw_fixed, dict):
        raise _fail(origin, where, "'fixed' must be a table of old argument numbers to C text")
    fixed = []
    for key, value in raw_fixed.items():
        if not (isinstance(key, str) and key.isdigit() and len(key) <= 3) \
                or not isinstance(value, str) or not value.strip():
            raise _fail(origin, where, f"fixed.{key}: expected an old argument number = "
                                       "\"C text\"")
        fixed.append((int(key), value))
    if fixed and arguments is None:
        raise _fail(origin, where, "'fixed' needs 'arguments' (which old arguments remain)")
    if arguments is not None and any(f"${i}" in {a.split(":")[0] for a in arguments}
                                     for i, _ in fixed):
        raise _fail(origin, where, "an argument is both mapped and fixed")
    return Replacement(_text(rp, "symbol", origin, where), _text(rp, "library", origin, where),
                       _str(rp, "since", origin, where), _str(rp, "since_release", origin, where),
                       proposed, replaces, arguments, tuple(sorted(fixed)),
                       _str(rp, "summary", origin, where), _strs(rp, "decide", origin, where))


def _version_macros(data: TomlTable, default_lib: str, origin: str) -> list[VersionMacro]:
    raw = data.get("version_macro", [])
    if not isinstance(raw, list):
        raise DataFileError(origin, "'version_macro' must be an array of tables "
                                    "([[version_macro]])")
    out = []
    for i, vm in enumerate(raw):
        where = f"[[version_macro]] #{i + 1}"
        _keys(vm, _VMACRO, {"name"}, origin, where)
        name = _str(vm, "name", origin, where)
        if name is None or not _C_IDENT.fullmatch(name):
            raise _fail(origin, where, f"name {name!r} is not a C identifier")
        scale = vm.get("scale", [10000, 100, 1])
        if not isinstance(scale, list) or not scale or len(scale) > 4 or not all(
                isinstance(x, int) and not isinstance(x, bool) and 0 < x < 2 ** 31
                for x in scale):
            raise _fail(origin, where, "'scale' must be 1 to 4 positive integers, e.g. "
                                       "[10000, 100, 1]")
        out.append(VersionMacro(name, _text(vm, "library", origin, where, default_lib),
                                tuple(scale), _text(vm, "description", origin, where, "")))
    return out


def load_knowledge(extra_files: list[str] | tuple[str, ...] = (), builtin: bool = True
                   ) -> Knowledge:
    remedies: list[Remedy] = []
    groups: dict[str, Group] = {}
    macros: list[VersionMacro] = []
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
        r, g, m = parse_remedies_file(text, origin)
        remedies += r
        for k, v in g.items():
            groups.setdefault(k, v)
        macros += m
        origins.append(origin)
    return Knowledge(remedies, groups, origins, macros)


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


def _tier_for(remedy: Remedy | None, replacements: list[Replacement],
              verifications: list[Verification]) -> TierName:
    if remedy is None:
        return "unknown"
    if remedy.kind == "replace":
        statuses = {v.status for v, r in zip(verifications, replacements) if not r.proposed}
        order: tuple[tuple[VerificationStatus, TierName], ...] = (
            ("already-used", "already-used"), ("available", "available"),
            ("not-scanned", "replace-unverified"))
        for status, tier in order:
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
    replacements = remedy.replacement_for(b.symbol.name) if remedy else []
    verifications = [verify(r, consumer, find) for r in replacements]
    tier_name = _tier_for(remedy, replacements, verifications)
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
