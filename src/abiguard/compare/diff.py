"""The diff of two audits.

:func:`diff_audits` matches consumers of two audits (:func:`~abiguard.compare.match.match_consumers`)
and sorts every unstable/private symbol of each pair into *added*, *removed*, *moved* (now taken
from another library, or replaced by the stable replacement the remedies knowledge base names)
and *unchanged*. A symbol bound to the same library family (the soname without its release:
``libxenctrl.so.4.17`` and ``libxenctrl.so.4.20`` are family ``libxenctrl``) under another
version node (``VERS_4.17.0`` -> ``libxenctrl_4.20.0``) is unchanged with change
``renamed-node``: the program uses the same function, only the library's naming scheme moved.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Literal, get_args

from .. import __version__, failon
from ..missing import is_missing_line, missing_line
from ..model import SCHEMA_VERSION, Audit, Consumer, InputError, Stability
from ..remedies import load_knowledge
from ..soname import family
from .match import (
    bound_bindings,
    copy_bindings,
    match_consumers,
    node_of,
    problem_bindings,
    unresolved_names,
)

Change = Literal["added", "removed", "moved", "unchanged", "renamed-node", "resized"]
CHANGES: tuple[Change, ...] = get_args(Change)
FAIL_ON = failon.DIFF
"""What ``diff --fail-on`` takes: the changes that fail a diff."""


@dataclass(frozen=True, slots=True)
class SymbolDelta:
    """One unstable/private symbol of a consumer, before and after."""

    name: str
    change: Change
    """added | removed | moved | unchanged | renamed-node (unchanged, other version node)."""
    old_library: str | None = None
    new_library: str | None = None
    old_version: str | None = None
    new_version: str | None = None
    old_stability: Stability | None = None
    new_stability: Stability | None = None
    replacement: str | None = None
    """For ``moved``: the stable replacement (from the remedies knowledge base) the new
    version imports instead; None when the same symbol now comes from another library."""
    detail: str = ""
    old_size: int | None = None
    """For ``resized``: the size of the copied object in the library of the old side."""
    new_size: int | None = None
    """For ``resized``: its size in the library of the new side."""
    program_size: int | None = None
    """For ``resized``: the size the new side's program reserved for it (copy relocation)."""

    @property
    def family(self) -> str:
        return family(self.new_library or self.old_library)


@dataclass(frozen=True, slots=True)
class ConsumerDiff:
    consumer: str
    """The consumer's path (the new one when both exist)."""
    matched_by: str
    """path | suffix | basename | soname | only-old | only-new."""
    old_path: str | None = None
    new_path: str | None = None
    old_package: str | None = None
    new_package: str | None = None
    old_count: int = 0
    """Unstable/private symbols before."""
    new_count: int = 0
    added: tuple[SymbolDelta, ...] = ()
    removed: tuple[SymbolDelta, ...] = ()
    moved: tuple[SymbolDelta, ...] = ()
    unchanged: tuple[SymbolDelta, ...] = ()
    """Includes the ``renamed-node`` ones."""
    resized: tuple[SymbolDelta, ...] = ()
    """Copied data objects (copy relocations, any library) whose size changed between the
    libraries of the two sides, or differs from what the new side's program reserved: an ABI
    break (the size is fixed in the program at link time)."""

    @property
    def renamed(self) -> tuple[SymbolDelta, ...]:
        return tuple(d for d in self.unchanged if d.change == "renamed-node")

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed or self.moved or self.resized)


@dataclass(frozen=True, slots=True)
class DiffResult:
    """abiguard diff: JSON ``kind: "diff"``."""

    old: str
    """Label of the old side (input or package version)."""
    new: str
    consumers: tuple[ConsumerDiff, ...] = ()
    old_inputs: tuple[str, ...] = ()
    new_inputs: tuple[str, ...] = ()
    errors: tuple[InputError, ...] = ()
    notes: tuple[str, ...] = ()
    tool_version: str = ""
    schema: int = SCHEMA_VERSION
    kind: str = "diff"

    @property
    def added(self) -> list[tuple[ConsumerDiff, SymbolDelta]]:
        return [(c, d) for c in self.consumers for d in c.added]

    @property
    def resized(self) -> list[tuple[ConsumerDiff, SymbolDelta]]:
        return [(c, d) for c in self.consumers for d in c.resized]

    def totals(self) -> dict[str, int]:
        return {
            "added": sum(len(c.added) for c in self.consumers),
            "removed": sum(len(c.removed) for c in self.consumers),
            "moved": sum(len(c.moved) for c in self.consumers),
            "unchanged": sum(len(c.unchanged) for c in self.consumers),
            "renamed-node": sum(len(c.renamed) for c in self.consumers),
            "resized": sum(len(c.resized) for c in self.consumers),
        }


ReplacementLookup = Callable[[str, str | None], tuple[str, ...]]
"""(symbol, library soname) -> the stable replacement symbols a knowledge base names."""


def knowledge_replacements(remedies: Iterable[str] = ()) -> ReplacementLookup:
    """Replacement lookup from the remedies knowledge base (built-in + files)."""
    knowledge = load_knowledge(list(remedies))

    def lookup(symbol: str, library: str | None) -> tuple[str, ...]:
        r = knowledge.lookup(symbol, library)
        return tuple(x.symbol for x in r.replacements) if r else ()

    return lookup


def no_replacements(_symbol: str, _library: str | None) -> tuple[str, ...]:
    return ()


def diff_consumers(old: Consumer | None, new: Consumer | None, matched_by: str,
                   replacements: ReplacementLookup = no_replacements) -> ConsumerDiff:
    """Sort the unstable/private symbols of one consumer pair (either may be None)."""
    p_old = problem_bindings(old) if old else {}
    p_new = problem_bindings(new) if new else {}
    all_old = bound_bindings(old) if old else {}
    all_new = bound_bindings(new) if new else {}
    added, removed, moved, unchanged = [], [], [], []
    for name in sorted(set(p_old) | set(p_new)):
        o, n = p_old.get(name), p_new.get(name)
        if o is not None and n is not None:
            d = SymbolDelta(name, "unchanged", o.provider, n.provider, node_of(o), node_of(n),
                            o.stability, n.stability)
            if family(o.provider) != family(n.provider):
                moved.append(replace(d, change="moved",
                                     detail=f"now from {n.provider} ({n.stability.value})"))
                continue
            notes = []
            if node_of(o) != node_of(n) and node_of(o) and node_of(n):
                d = replace(d, change="renamed-node")
                notes.append(f"version node {node_of(o)} -> {node_of(n)}")
            if o.provider != n.provider:
                notes.append(f"library {o.provider} -> {n.provider}")
            if o.stability != n.stability:
                notes.append(f"{o.stability.value} -> {n.stability.value}")
            unchanged.append(replace(d, detail="; ".join(notes)))
        elif o is not None:
            other = all_new.get(name)
            if new is not None and other is not None:
                where = "another library" if family(other.provider) != family(o.provider) \
                    else "the same library"
                moved.append(SymbolDelta(
                    name, "moved", o.provider, other.provider, node_of(o), node_of(other),
                    o.stability, other.stability,
                    detail=f"now from {where}, {other.provider} ({other.stability.value})"))
                continue
            repl = [r for r in replacements(name, o.provider) if r in all_new]
            if new is not None and repl:
                b = all_new[repl[0]]
                moved.append(SymbolDelta(
                    name, "moved", o.provider, b.provider, node_of(o), node_of(b),
                    o.stability, b.stability, replacement=repl[0],
                    detail=f"replaced by {repl[0]} from {b.provider} ({b.stability.value})"))
                continue
            if name in unresolved_names(new):
                # still imported: its library was not found on the new side (no verdict)
                unchanged.append(SymbolDelta(
                    name, "unchanged", o.provider, None, node_of(o), None, o.stability, None,
                    detail="still imported, unresolved in new (library not found)"))
                continue
            detail = "consumer gone" if new is None else "no longer imported"
            removed.append(SymbolDelta(name, "removed", o.provider, None, node_of(o), None,
                                       o.stability, None, detail=detail))
        else:
            assert n is not None
            if name in unresolved_names(old):
                unchanged.append(SymbolDelta(
                    name, "unchanged", None, n.provider, None, node_of(n), None, n.stability,
                    detail="imported before too, unresolved in old (library not found)"))
                continue
            before = all_old.get(name)
            detail = "new consumer" if old is None else "newly imported"
            if before is not None:
                detail = f"was from {before.provider} ({before.stability.value})"
            added.append(SymbolDelta(
                name, "added", before.provider if before else None, n.provider,
                node_of(before) if before else None, node_of(n),
                before.stability if before else None, n.stability, detail=detail))
    return ConsumerDiff(
        consumer=(new or old).display_name,  # type: ignore[union-attr]
        matched_by=matched_by,
        old_path=old.display_name if old else None, new_path=new.display_name if new else None,
        old_package=old.package if old else None, new_package=new.package if new else None,
        old_count=len(p_old), new_count=len(p_new),
        added=tuple(added), removed=tuple(removed), moved=tuple(moved),
        unchanged=tuple(unchanged), resized=resized_copies(old, new))


def resized_copies(old: Consumer | None, new: Consumer | None) -> tuple[SymbolDelta, ...]:
    """The copied objects of the new side that break: the library's object changed size
    since the old side (a program linked against the old library reserved the old size), or
    it differs from what the new program reserved (ld.so warns and copies the smaller)."""
    if new is None:
        return ()
    before = copy_bindings(old) if old is not None else {}
    out = []
    for name, n in sorted(copy_bindings(new).items()):
        assert n.copy is not None
        o = before.get(name)
        old_size = o.copy.library_size if o is not None and o.copy is not None else None
        new_size, program = n.copy.library_size, n.copy.program_size
        changed = old_size is not None and new_size is not None and old_size != new_size
        mismatch = new_size is not None and new_size != program
        if not (changed or mismatch):
            continue
        notes = []
        if changed:
            where = (n.provider if o is None or o.provider == n.provider
                     else f"{o.provider} -> {n.provider}")
            notes.append(f"{where}: {old_size} -> {new_size} bytes")
        if mismatch:
            assert new_size is not None
            notes.append(f"the program reserved {program}: ld.so copies "
                         f"{min(program, new_size)} and warns (relink/rebuild the program)")
        else:
            notes.append(f"the program reserved {program} (rebuilt), a program linked "
                         f"against the old library reserved {old_size}")
        out.append(SymbolDelta(
            name, "resized", o.provider if o else None, n.provider,
            node_of(o) if o else None, node_of(n), o.stability if o else None,
            n.stability, detail="; ".join(notes),
            old_size=old_size, new_size=new_size, program_size=program))
    return tuple(out)


def audit_label(audit: Audit, fallback: str) -> str:
    """A short name for one side: the package version when all consumers share one."""
    versions = {c.package.split()[1] for c in audit.consumers
                if c.package and len(c.package.split()) >= 2}
    if len(versions) == 1:
        return versions.pop()
    return fallback


def diff_audits(old: Audit, new: Audit, *, old_label: str | None = None,
                new_label: str | None = None,
                replacements: ReplacementLookup = no_replacements,
                only_problems: bool = True) -> DiffResult:
    """The diff of two audits. ``only_problems`` drops consumer pairs without any
    unstable/private symbol on either side (the many plain programs of a package)."""
    consumers = []
    for o, n, how in match_consumers(old.consumers, new.consumers):
        d = diff_consumers(o, n, how, replacements)
        if only_problems and not (d.old_count or d.new_count or d.resized):
            continue
        consumers.append(d)
    consumers.sort(key=lambda d: d.consumer)
    errors = tuple(InputError(f"old: {e.path}", e.message) for e in old.errors) + \
        tuple(InputError(f"new: {e.path}", e.message) for e in new.errors)
    missing = missing_line((*old.consumers, *new.consumers))
    notes = ((missing,) if missing else ()) + tuple(
        n for n in (*old.notes, *new.notes) if not is_missing_line(n))
    return DiffResult(
        old=old_label or audit_label(old, ", ".join(old.inputs) or "old"),
        new=new_label or audit_label(new, ", ".join(new.inputs) or "new"),
        consumers=tuple(consumers), old_inputs=old.inputs, new_inputs=new.inputs,
        errors=errors, notes=notes, tool_version=__version__)


def failing(result: DiffResult, fail_on: Iterable[str]) -> dict[str, int]:
    """How many of each change ``--fail-on`` names the diff shows (only those it shows)."""
    counts = {"added": len(result.added), "resized": len(result.resized)}
    return {what: counts[what] for what in fail_on if counts.get(what)}


__all__ = ["CHANGES", "FAIL_ON", "ConsumerDiff", "DiffResult", "ReplacementLookup", "SymbolDelta",
           "audit_label", "diff_audits", "diff_consumers", "failing", "knowledge_replacements",
           "no_replacements", "resized_copies"]
