"""The summary of a scan of many consumers, shared by the text and Markdown renderers.

A scan of a directory (``/usr/bin``: 640 consumers) answers first: which libraries are used in
a way that is a problem (unstable, private or unknown-stability imports: how many consumers,
how many distinct symbols, the verdict and its first piece of evidence), which consumers
import the most of them, and the totals. The per-file detail is what ``-v`` (or
``--consumer GLOB``) adds. Only reads the model.
"""

from __future__ import annotations

import fnmatch
import os
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..model import Audit, Binding, Consumer, Evidence, Stability

DETAIL_LIMIT = 5
"""A scan of at most this many consumers is shown in full (the per-consumer form)."""
TOP_CONSUMERS = 10
TOP_LIBRARIES = 15
"""Libraries listed in a directory scan's summary (two lines each; -v lists them all): with
the consumers and the totals, a scan of /usr/bin stays within about 60 lines."""

_ORDER = {Stability.PRIVATE: 0, Stability.UNSTABLE: 0, Stability.UNKNOWN: 1}


@dataclass
class LibraryUse:
    """The imports of one stability from one library, over all consumers."""

    library: str
    stability: Stability
    consumers: set[str] = field(default_factory=set)
    symbols: set[str] = field(default_factory=set)
    imports: int = 0
    evidence: str = ""


@dataclass
class ConsumerUse:
    name: str
    package: str | None
    unstable: int = 0
    private: int = 0
    unknown: int = 0
    unresolved: int = 0
    libraries: list[str] = field(default_factory=list)

    @property
    def problems(self) -> int:
        return self.unstable + self.private


@dataclass
class UnresolvedUse:
    reason: str
    imports: int = 0
    consumers: set[str] = field(default_factory=set)


@dataclass
class Summary:
    consumers: int
    libraries: list[LibraryUse]
    """Sorted: unstable/private before unknown, then by consumers and symbols."""
    ranked: list[ConsumerUse]
    """Consumers with unstable, private or unknown imports, worst first."""
    unresolved: list[UnresolvedUse]
    errors: int

    @property
    def problem_imports(self) -> int:
        return sum(c.problems for c in self.ranked)

    @property
    def problem_consumers(self) -> int:
        return sum(1 for c in self.ranked if c.problems)

    @property
    def unknown_consumers(self) -> int:
        return sum(1 for c in self.ranked if c.unknown)

    @property
    def problem_symbols(self) -> int:
        return len({(lib.library, s) for lib in self.libraries
                    if lib.stability.is_problem for s in lib.symbols})

    @property
    def unresolved_imports(self) -> int:
        return sum(u.imports for u in self.unresolved)

    @property
    def unresolved_consumers(self) -> int:
        return len({c for u in self.unresolved for c in u.consumers})


def _evidence_line(evidence: Sequence[Evidence]) -> str:
    """The first piece of evidence (its detail names what it looked at)."""
    return " ".join(evidence[0].detail.split())


def group_unresolved(bindings: Sequence[Binding]) -> dict[str, list[Binding]]:
    """Unresolved imports grouped by reason (the symbol name taken out of it)."""
    groups: dict[str, list[Binding]] = defaultdict(list)
    for b in bindings:
        reason = (b.reason or "unresolved").replace(f"{b.symbol.name}@{b.symbol.version}", "it")
        reason = reason.replace(f"no loaded library defines {b.symbol.name}",
                                "no loaded library defines it")
        groups[reason].append(b)
    return dict(sorted(groups.items(), key=lambda kv: -len(kv[1])))


def summarise(audit: Audit) -> Summary:
    libs: dict[tuple[str, Stability], LibraryUse] = {}
    ranked: list[ConsumerUse] = []
    unresolved: dict[str, UnresolvedUse] = {}
    for c in audit.consumers:
        use = ConsumerUse(c.display_name, c.package)
        seen_libs: dict[str, None] = {}
        for b in c.bindings:
            if b.status != "bound":
                continue
            st = b.stability
            if st == Stability.STABLE or b.provider is None:
                continue
            key = (b.provider, st)
            lu = libs.get(key)
            if lu is None:
                lu = libs[key] = LibraryUse(b.provider, st)
            lu.consumers.add(c.display_name)
            lu.symbols.add(b.symbol.name)
            lu.imports += 1
            if not lu.evidence:
                lib = c.library(b.provider)
                if lib is not None and lib.stability == st and lib.evidence:
                    lu.evidence = _evidence_line(lib.evidence)
                elif b.evidence:
                    lu.evidence = _evidence_line(b.evidence)
            if st == Stability.UNSTABLE:
                use.unstable += 1
            elif st == Stability.PRIVATE:
                use.private += 1
            else:
                use.unknown += 1
            seen_libs[b.provider] = None
        missing = [b for b in c.bindings if b.status == "unresolved" and not b.weak]
        use.unresolved = len(missing)
        for reason, bs in group_unresolved(missing).items():
            u = unresolved.setdefault(reason, UnresolvedUse(reason))
            u.imports += len(bs)
            u.consumers.add(c.display_name)
        use.libraries = list(seen_libs)
        if use.problems or use.unknown:
            ranked.append(use)
    ordered = sorted(libs.values(), key=lambda u: (_ORDER.get(u.stability, 2),
                                                   -len(u.consumers), -len(u.symbols),
                                                   u.library))
    ranked.sort(key=lambda u: (-u.problems, -u.unknown, u.name))
    return Summary(consumers=len(audit.consumers), libraries=ordered, ranked=ranked,
                   unresolved=sorted(unresolved.values(), key=lambda u: -u.imports),
                   errors=len(audit.errors))


def matches(c: Consumer, globs: Sequence[str]) -> bool:
    """``--consumer GLOB``: the path, its file name or the package name matches."""
    names = [c.display_name, os.path.basename(c.path)]
    if c.package:
        names.append(c.package.split()[0])
    return any(fnmatch.fnmatchcase(n, g) for g in globs for n in names)


def detailed(audit: Audit, verbose: int, select: Sequence[str]) -> tuple[bool, list[Consumer]]:
    """(show the summary, the consumers to show in full)."""
    if select:
        return False, [c for c in audit.consumers if matches(c, select)]
    if len(audit.consumers) <= DETAIL_LIMIT:
        return False, list(audit.consumers)
    return True, list(audit.consumers) if verbose else []


__all__ = ["DETAIL_LIMIT", "ConsumerUse", "LibraryUse", "Summary", "UnresolvedUse", "detailed",
           "group_unresolved", "matches", "summarise"]
