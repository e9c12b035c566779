"""Evidence source 2: the Debian archive's history of the library, read from the
``[[history]]`` entries of policy files (``abiguard history`` writes them; the built-in
``data/policies/debian-history.json`` covers bullseye, bookworm and trixie).

Debian names each shared library package after its soname (Debian Policy 8.1), so the package
lists of several suites show whether a library's soname moved with every upstream release
(release-locked: unstable) or stayed while upstream moved (stable). An entry names the sonames
it speaks for; entries of release-locked families also carry globs (``libxenctrl.so.*``) that
speak for the family's next releases, which by the family's record will have new sonames.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterator, Mapping, Sequence

from .files import GeneratedHistory, HistoryEntry, PolicyFile
from .signals import HISTORY, LibraryFacts, Signal

_GLOB_CHARS = re.compile(r"[*?\[]")


class _ByName(Mapping[str, HistoryEntry]):
    """Name -> entry, the entries made when asked for (GeneratedHistory)."""

    def __init__(self, names: dict[str, int], entry: Callable[[int], HistoryEntry]) -> None:
        self._names = names
        self._entry = entry

    def __getitem__(self, name: str) -> HistoryEntry:
        return self._entry(self._names[name])

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


class HistoryIndex:
    """Every ``[[history]]`` entry of the files in force, by soname (first file wins).

    Exact names are a dict; globs of the form ``PREFIX[0-9]*SUFFIX`` (what ``abiguard
    history`` writes for release-locked families) are indexed by their prefix, so that a
    name is looked up with one probe per number in it; other globs are tried in order.
    Entries are known by their place among all entries (the first one wins); a built-in
    history's are made when one is looked up (:class:`~abiguard.policy.files.GeneratedHistory`)."""

    def __init__(self, files: list[PolicyFile]) -> None:
        self._exact: dict[str, int] = {}
        self._prefixed: dict[str, list[tuple[int, str]]] = {}
        self._other: list[tuple[int, str]] = []
        self._files: list[tuple[int, Sequence[HistoryEntry]]] = []
        """(the place of its first entry, its entries) of each file with entries."""
        self.suites: dict[str, tuple[str, ...]] = {}
        """The suites of each file (its top-level ``suites``)."""
        exact = self._exact.setdefault
        n = 0
        for f in files:
            self.suites[f.origin] = f.suites
            entries = f.history
            if entries:
                self._files.append((n, entries))
            matches = (entries.matches if isinstance(entries, GeneratedHistory)
                       else [e.match for e in entries])
            for names in matches:
                for m in names:
                    if "*" not in m and "?" not in m and "[" not in m:  # (_GLOB_CHARS)
                        exact(m, n)
                        continue
                    head, sep, tail = m.partition("[0-9]*")
                    if sep and not _GLOB_CHARS.search(head) and not _GLOB_CHARS.search(tail):
                        self._prefixed.setdefault(head, []).append((n, m))
                    else:
                        self._other.append((n, m))
                n += 1
        self._count = n
        self.exact: Mapping[str, HistoryEntry] = _ByName(self._exact, self._entry)
        """Each exact name's entry."""

    def _entry(self, n: int) -> HistoryEntry:
        """The entry at place ``n``."""
        for first, entries in reversed(self._files):
            if n >= first:
                return entries[n - first]
        raise IndexError(n)

    def __len__(self) -> int:
        return self._count

    def lookup(self, names: tuple[str, ...]) -> HistoryEntry | None:
        for name in names:
            hit = self._exact.get(name)
            if hit is not None:
                return self._entry(hit)
        for name in names:
            best: int | None = None
            for m in _NUMBER_START.finditer(name):
                for n, glob in self._prefixed.get(name[:m.start()], ()):
                    if fnmatch.fnmatchcase(name, glob) and (best is None or n < best):
                        best = n
            for n, glob in self._other:
                if (best is None or n < best) and fnmatch.fnmatchcase(name, glob):
                    best = n
                    break
            if best is not None:
                return self._entry(best)
        return None


_NUMBER_START = re.compile(r"(?<![0-9])[0-9]")


def signal(facts: LibraryFacts, index: HistoryIndex) -> Signal | None:
    entry = index.lookup(facts.names)
    if entry is None:
        return None
    suites = ", ".join(entry.suites or index.suites.get(entry.origin, ()))
    return Signal("history", HISTORY, entry.stability,
                  f"Debian {suites}: {entry.reason}" if suites else entry.reason,
                  brief=f"Debian history: {entry.verdict}", origin=entry.origin)
