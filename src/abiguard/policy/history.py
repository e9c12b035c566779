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

from .files import HistoryEntry, PolicyFile
from .signals import HISTORY, LibraryFacts, Signal

_GLOB_CHARS = re.compile(r"[*?\[]")


class HistoryIndex:
    """Every ``[[history]]`` entry of the files in force, by soname (first file wins).

    Exact names are a dict; globs of the form ``PREFIX[0-9]*SUFFIX`` (what ``abiguard
    history`` writes for release-locked families) are indexed by their prefix, so that a
    name is looked up with one probe per number in it; other globs are tried in order."""

    def __init__(self, files: list[PolicyFile]) -> None:
        self.exact: dict[str, HistoryEntry] = {}
        # globs with the entry's place among all entries (the first one wins)
        self._prefixed: dict[str, list[tuple[int, str, HistoryEntry]]] = {}
        self._other: list[tuple[int, str, HistoryEntry]] = []
        self._count = 0
        self.suites: dict[str, tuple[str, ...]] = {}
        """The suites of each file (its top-level ``suites``)."""
        exact = self.exact.setdefault
        n = 0
        for f in files:
            self.suites[f.origin] = f.suites
            for entry in f.history:
                for m in entry.match:
                    if "*" not in m and "?" not in m and "[" not in m:  # (_GLOB_CHARS)
                        exact(m, entry)
                        continue
                    head, sep, tail = m.partition("[0-9]*")
                    if sep and not _GLOB_CHARS.search(head) and not _GLOB_CHARS.search(tail):
                        self._prefixed.setdefault(head, []).append((n, m, entry))
                    else:
                        self._other.append((n, m, entry))
                n += 1
        self._count = n

    def __len__(self) -> int:
        return self._count

    def lookup(self, names: tuple[str, ...]) -> HistoryEntry | None:
        for n in names:
            hit = self.exact.get(n)
            if hit is not None:
                return hit
        for n in names:
            best: tuple[int, str, HistoryEntry] | None = None
            for m in _NUMBER_START.finditer(n):
                for glob in self._prefixed.get(n[:m.start()], ()):
                    if fnmatch.fnmatchcase(n, glob[1]) and (best is None or glob[0] < best[0]):
                        best = glob
            for glob in self._other:
                if (best is None or glob[0] < best[0]) and fnmatch.fnmatchcase(n, glob[1]):
                    best = glob
                    break
            if best is not None:
                return best[2]
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
