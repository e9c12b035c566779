"""Library upgrade impact: what upgrading a library set old -> new does to each consumer.

For the unstable/private symbols a consumer imports from the old set: does the new set still
define them (same soname and node: the old binary keeps working; another soname or node:
rebuild), are they gone or only in another library, and (with the headers of both versions)
did their prototypes change (:mod:`abiguard.headers`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal, get_args

from .. import __version__, failon
from ..headers import ProtoChange, Prototype, compare
from ..missing import is_missing_line, missing_line, unclassified
from ..model import SCHEMA_VERSION, Audit, Consumer, InputError
from ..soname import family
from .match import node_of


@dataclass(frozen=True, slots=True)
class LibraryInfo:
    """One shared library of a library set (what ``impact`` needs of it)."""

    soname: str
    path: str
    """Installed path (inside the .deb or the directory)."""
    exports: dict[str, tuple[str | None, ...]] = field(default_factory=dict)
    """Symbol -> the version nodes defining it (None: unversioned)."""
    package: str | None = None
    sizes: dict[tuple[str, str | None], int] = field(default_factory=dict)
    """(symbol, version node) -> st_size of its data object definitions (OBJECT, TLS,
    COMMON): what a program holding a copy of it (copy relocation) must match."""

    @property
    def family(self) -> str:
        return family(self.soname)

    def size_of(self, name: str, version: str | None) -> int | None:
        """The size of the definition a reference ``name@version`` binds to (an unversioned
        one: the first definition of the name), None when it defines no such object."""
        if version is not None and (name, version) in self.sizes:
            return self.sizes[(name, version)]
        if (name, None) in self.sizes:
            return self.sizes[(name, None)]
        if version is None:
            return next((v for (n, _), v in self.sizes.items() if n == name), None)
        return None


@dataclass(frozen=True, slots=True)
class LibrarySet:
    label: str
    libraries: tuple[LibraryInfo, ...] = ()

    def by_soname(self, soname: str | None) -> LibraryInfo | None:
        return next((lib for lib in self.libraries if lib.soname == soname), None)

    def by_family(self, fam: str) -> list[LibraryInfo]:
        return [lib for lib in self.libraries if lib.family == fam]

    def exporting(self, symbol: str) -> list[LibraryInfo]:
        return [lib for lib in self.libraries if symbol in lib.exports]


SymbolStatus = Literal["same", "rebuild", "moved", "gone", "resized"]
"""What becomes of one symbol a consumer imports (:attr:`ImpactSymbol.status`)."""
NOT_COMPARED = ProtoChange("unknown", ("headers not given",))


@dataclass(frozen=True, slots=True)
class ImpactSymbol:
    name: str
    old_library: str | None
    old_version: str | None
    """The node the consumer is bound to."""
    status: SymbolStatus
    """same (same soname, node still defined: the old binary binds it) | rebuild (defined by
    the new release of the library, other soname or node) | moved (now only in another
    library of the new set) | gone (no library of the new set defines it) | resized (a data
    object the binary holds a copy of, copy relocation, whose size the new library changes:
    the old binary breaks, a rebuild picks up the new size)."""
    new_library: str | None = None
    new_version: str | None = None
    prototype: ProtoChange = NOT_COMPARED
    """The change of its C prototype between the header sets."""
    copy_size: int | None = None
    """For a copied data object: the size the binary reserved for it."""
    new_size: int | None = None
    """For a copied data object: its size in the new library (None: not defined there)."""

    @property
    def needs_source_change(self) -> bool:
        return self.status == "gone" or self.prototype.status in ("changed", "gone")


@dataclass(frozen=True, slots=True)
class LibraryChange:
    family: str
    old_soname: str | None
    new_soname: str | None


Verdict = Literal["runs-as-is", "needs-rebuild", "needs-source-changes", "not-affected",
                  "unknown"]
VERDICTS: tuple[Verdict, ...] = get_args(Verdict)


@dataclass(frozen=True, slots=True)
class ConsumerImpact:
    consumer: str
    verdict: Verdict
    """runs-as-is | needs-rebuild | needs-source-changes | not-affected | unknown (libraries
    were not found and some imports from them could not be classified: "not affected"
    cannot be claimed)."""
    reasons: tuple[str, ...] = ()
    package: str | None = None
    libraries: tuple[LibraryChange, ...] = ()
    symbols: tuple[ImpactSymbol, ...] = ()
    source_changes: tuple[str, ...] = ()
    """The symbols whose uses have to change (gone or prototype changed)."""


@dataclass(frozen=True, slots=True)
class ImpactResult:
    """abiguard impact: JSON ``kind: "impact"``."""

    old: str
    new: str
    consumers: tuple[ConsumerImpact, ...] = ()
    headers_checked: bool = False
    old_headers: str | None = None
    new_headers: str | None = None
    errors: tuple[InputError, ...] = ()
    notes: tuple[str, ...] = ()
    tool_version: str = ""
    schema: int = SCHEMA_VERSION
    kind: str = "impact"


def _pick_new(old: LibraryInfo | None, fam: str, new_set: LibrarySet) -> LibraryInfo | None:
    cands = new_set.by_family(fam)
    if not cands:
        return None
    if old is not None:
        same = [c for c in cands if c.soname == old.soname]
        if same:
            return same[0]
    return max(cands, key=lambda c: c.soname)


def consumer_impact(c: Consumer, old_set: LibrarySet, new_set: LibrarySet,
                    old_headers: dict[str, Prototype] | None = None,
                    new_headers: dict[str, Prototype] | None = None) -> ConsumerImpact:
    """What upgrading the library set old -> new does to one consumer."""
    old_families = {lib.family for lib in old_set.libraries}
    # (imports from a library that was not found count with the class of its name)
    affected = [b for b in (*c.findings, *c.presumed) if family(b.provider) in old_families]
    n_unclassified = unclassified(c)
    not_checked = ((f"libraries not found: {', '.join(c.missing_libraries)}; {n_unclassified} "
                   "import(s) from them could not be classified or checked"),)
    # Copied data objects (copy relocations) of any stability: their size is in the binary.
    new_sizes: dict[str, int | None] = {}
    for b in c.copies:
        if family(b.provider) not in old_families or b.copy is None:
            continue
        upgraded = _pick_new(old_set.by_soname(b.provider), family(b.provider), new_set)
        size = upgraded.size_of(b.symbol.name, b.symbol.version) if upgraded else None
        new_sizes[b.symbol.name] = size
        if size != b.copy.program_size and all(a.symbol.name != b.symbol.name
                                               for a in affected):
            affected.append(b)
    if not affected:
        if n_unclassified:
            return ConsumerImpact(c.display_name, "unknown", not_checked, c.package)
        return ConsumerImpact(c.display_name, "not-affected",
                              (("imports no unstable/private symbol from the old library set "
                               "and copies no data object whose size it changes"),),
                              c.package)
    symbols = []
    libs: dict[str, LibraryChange] = {}
    for b in affected:
        fam = family(b.provider)
        old_lib = old_set.by_soname(b.provider)
        new_lib = _pick_new(old_lib, fam, new_set)
        libs.setdefault(fam, LibraryChange(fam, b.provider, new_lib.soname if new_lib else None))
        requested = b.symbol.version
        bound = node_of(b)
        if new_lib is not None and b.symbol.name in new_lib.exports:
            nodes = new_lib.exports[b.symbol.name]
            same_soname = new_lib.soname == b.provider
            binds = requested is None or requested in nodes
            status: SymbolStatus = "same" if same_soname and binds else "rebuild"
            new_node = requested if requested in nodes else next(
                (n for n in nodes if n), None)
            target: LibraryInfo | None = new_lib
        else:
            others = [lib for lib in new_set.exporting(b.symbol.name) if lib.family != fam]
            target = others[0] if others else None
            status = "moved" if target else "gone"
            new_node = next((n for n in target.exports[b.symbol.name] if n), None) \
                if target else None
        if old_headers is not None and new_headers is not None:
            proto = compare(old_headers.get(b.symbol.name), new_headers.get(b.symbol.name))
        else:
            proto = NOT_COMPARED
        copy_size = new_size = None
        if b.copy is not None and b.symbol.name in new_sizes:
            copy_size, new_size = b.copy.program_size, new_sizes[b.symbol.name]
            if new_size is not None and new_size != copy_size and status in ("same",
                                                                            "rebuild"):
                status = "resized"
        symbols.append(ImpactSymbol(b.symbol.name, b.provider, bound, status,
                                    target.soname if target else None, new_node, proto,
                                    copy_size, new_size))
    symbols.sort(key=lambda s: (s.old_library or "", s.name))
    source = tuple(s.name for s in symbols if s.needs_source_change)
    reasons: list[str] = []
    for ch in libs.values():
        if ch.new_soname is None:
            reasons.append(f"{ch.family}: no library of this family in the new set")
        elif ch.new_soname != ch.old_soname:
            reasons.append(f"soname changes {ch.old_soname} -> {ch.new_soname}: the binary "
                           "must be relinked")
    gone = [s.name for s in symbols if s.status == "gone"]
    moved = [s for s in symbols if s.status == "moved"]
    if gone:
        reasons.append(f"{len(gone)} symbol(s) gone: {', '.join(gone)}")
    for s in moved:
        reasons.append(f"{s.name} now only in {s.new_library}: link it")
    for s in symbols:
        if s.status == "resized":
            reasons.append(f"{s.name}: copied data object changes size {s.copy_size} -> "
                           f"{s.new_size} bytes; the binary reserved {s.copy_size} (copy "
                           f"relocation): ld.so would copy {min(s.copy_size or 0, s.new_size or 0)}"
                           " and warn; rebuild against the new library")
    renodes = [s for s in symbols if s.status == "rebuild" and s.new_library == s.old_library]
    if renodes:
        reasons.append(f"{len(renodes)} symbol(s) no longer defined under the node the binary "
                       f"requires ({renodes[0].old_version} -> {renodes[0].new_version})")
    changed = [s for s in symbols if s.prototype.status in ("changed", "gone")]
    for s in changed:
        what = "; ".join(s.prototype.changes)
        reasons.append(f"{s.name}: {what}")
    compatible = [s for s in symbols if s.prototype.status == "compatible"]
    for s in compatible:
        reasons.append(f"{s.name}: source compatible ({'; '.join(s.prototype.changes)})")
    verdict: Verdict
    if source:
        verdict = "needs-source-changes"
    elif all(s.status == "same" for s in symbols):
        verdict = "runs-as-is"
    else:
        verdict = "needs-rebuild"
    unknown = [s.name for s in symbols if s.prototype.status == "unknown"]
    if unknown and old_headers is not None:
        reasons.append(f"{len(unknown)} symbol(s) not declared in the old headers "
                       f"(prototype not compared): {', '.join(unknown)}")
    elif unknown:
        reasons.append("prototypes not compared (give --headers-from and --headers-to)")
    if n_unclassified:
        reasons += not_checked
    return ConsumerImpact(c.display_name, verdict, tuple(reasons), c.package,
                          tuple(libs.values()), tuple(symbols), source)


def impact(audit: Audit, old_set: LibrarySet, new_set: LibrarySet,
           old_headers: dict[str, Prototype] | None = None, new_headers: dict[str, Prototype] | None = None,
           *, old_headers_label: str | None = None, new_headers_label: str | None = None,
           notes: Iterable[str] = ()) -> ImpactResult:
    consumers = tuple(consumer_impact(c, old_set, new_set, old_headers, new_headers)
                      for c in audit.consumers)
    return ImpactResult(old_set.label, new_set.label, consumers,
                        headers_checked=old_headers is not None and new_headers is not None,
                        old_headers=old_headers_label, new_headers=new_headers_label,
                        errors=audit.errors, notes=_notes(audit, notes),
                        tool_version=__version__)


def _notes(audit: Audit, notes: Iterable[str]) -> tuple[str, ...]:
    """The audit's notes and ``notes``, the "libraries not found" line first (made here for a
    saved result of an older abiguard, which has none)."""
    rest = tuple(n for n in (*audit.notes, *notes) if not is_missing_line(n))
    line = missing_line(audit.consumers)
    return (line, *rest) if line else rest


def missing_note(result: ImpactResult) -> str | None:
    """The "libraries not found" line of the consumers, or None."""
    return next((n for n in result.notes if is_missing_line(n)), None)


SEVERITY = {"not-affected": 0, "runs-as-is": 0, "needs-rebuild": 1, "needs-source-changes": 2,
            "unknown": 0}
FAIL_ON = failon.IMPACT
"""What ``impact --fail-on`` takes: a consumer that needs at least this fails."""


def failing(result: ImpactResult, fail_on: Iterable[str]) -> bool:
    """A consumer needs at least the least of the verdicts named (``--fail-on``)."""
    named = [SEVERITY[v] for v in fail_on]
    if not named:
        return False
    worst = max((SEVERITY[c.verdict] for c in result.consumers), default=0)
    return worst >= min(named)


def unknown_consumers(result: ImpactResult) -> list[str]:
    """The consumers whose verdict could not be told (libraries not found)."""
    return [c.consumer for c in result.consumers if c.verdict == "unknown"]


__all__ = ["FAIL_ON", "SEVERITY", "VERDICTS", "ConsumerImpact", "ImpactResult", "ImpactSymbol",
           "LibraryChange", "LibraryInfo", "LibrarySet", "consumer_impact", "failing", "impact",
           "missing_note", "unknown_consumers"]
