"""The policy in force: the policy files, and the classification of libraries and symbols."""

from __future__ import annotations

import copy
import fnmatch
import re
from collections.abc import Callable

from ..model import ElfObject, Evidence, Stability
from . import declared, history, location, naming, nodes, soname
from .builtin import builtin_policies
from .decide import decide
from .files import PolicyFile, Rule, load_policy_file
from .history import HistoryIndex
from .signals import LibraryFacts, Location, Signal

Classification = tuple[Stability, tuple[Evidence, ...]]


def _matcher(glob: str) -> Callable[[str], object] | None:
    """A test of a name against a glob (None: matches everything): string equality for a
    glob without wildcards, a compiled regex otherwise."""
    if glob == "*":
        return None
    if not any(c in glob for c in "*?["):
        return glob.__eq__
    return re.compile(fnmatch.translate(glob)).match


_BUILTIN: list[PolicyFile] = []
"""The built-in policy files, parsed once per process (they are immutable), by the function
that gave them (``_BUILTIN_BY``: a test may put another in its place)."""
_BUILTIN_BY: list[Callable[[], list[PolicyFile]]] = []
_HISTORIES: dict[tuple[int, ...], tuple[list[PolicyFile], HistoryIndex]] = {}
"""The history index of the built-in files (by the files' identities; the list is kept with
it, so that the identities stay theirs)."""


def _builtin() -> list[PolicyFile]:
    if _BUILTIN_BY != [builtin_policies]:
        _BUILTIN[:] = builtin_policies()
        _BUILTIN_BY[:] = [builtin_policies]
    return list(_BUILTIN)


_Test = Callable[[str], object]
_SymbolRule = tuple[_Test | None, _Test | None, Rule]


class Policy:
    """Classifies libraries from every evidence source and symbols from their library, the
    ``[[symbol]]`` rules and ``*PRIVATE*`` version nodes. Classifications are cached per
    library file (and what its location says)."""

    def __init__(self, files: list[PolicyFile]) -> None:
        self.files = files
        self._lib_cache: dict[tuple[object, ...], Classification] = {}
        self._sym_rules: dict[str | None, tuple[_SymbolRule, ...]] = {}
        self._history: HistoryIndex | None = None
        self._notes: list[str] | None = None

    @classmethod
    def load(cls, user_files: list[str] | tuple[str, ...] = (), builtin: bool = True) -> Policy:
        """The user's files (consulted first) and, unless ``builtin`` is False, the built-in
        ones (declarations and the Debian archive's history)."""
        files = [load_policy_file(p) for p in user_files]
        if builtin:
            files += _builtin()
        return cls(files)

    @property
    def origins(self) -> tuple[str, ...]:
        return tuple(f.origin for f in self.files)

    @property
    def history(self) -> HistoryIndex:
        if self._history is None:
            key = tuple(map(id, self.files))
            hit = _HISTORIES.get(key)
            if hit is None:
                hit = (list(self.files), HistoryIndex(self.files))
                if all(any(f is b for b in _BUILTIN) for f in self.files):
                    _HISTORIES[key] = hit  # (the built-in files alone: one per process)
            self._history = hit[1]
        return self._history

    def fresh(self) -> Policy:
        """The same policy with an empty classification cache (parsed files and indexes
        are shared)."""
        self._history = self.history  # built once, shared by the copies
        p = copy.copy(self)
        p._lib_cache = {}
        return p

    def purge(self, prefix: str) -> None:
        """Forget the classifications of library files under ``prefix`` (a finished census
        task's unpacked package: its files are gone, and a later task's may come to have
        the same paths). A classification depends only on the file, its names and where
        it was found, so the others stay valid: a library package shared by many tasks is
        classified once."""
        cache = self._lib_cache
        for k in [k for k in list(cache) if len(k) > 1 and isinstance(k[1], str)
                  and k[1].startswith(prefix)]:
            cache.pop(k, None)

    @property
    def notes(self) -> list[str]:
        """One line for each ``[[library]]`` rule of a user file that contradicts the
        archive's history (the declaration wins; the scan goes on)."""
        if self._notes is None:
            self._notes = []
            names = list(self.history.exact)
            for f in self.files:
                if f.origin.startswith("built-in:"):
                    continue
                for i, rule in enumerate(f.libraries):
                    seen: set[int] = set()
                    for n in fnmatch.filter(names, rule.match):
                        e = self.history.exact[n]
                        if id(e) in seen or e.stability in (Stability.UNKNOWN, rule.stability):
                            continue
                        seen.add(id(e))
                        self._notes.append(
                            f"{f.origin}: library rule #{i + 1} '{rule.match}' says "
                            f"{rule.stability.value}, the Debian archive's history says "
                            f"{e.stability.value} for {e.family} ({e.reason}); the "
                            "declaration wins")
                        break
        return self._notes

    def signals(self, facts: LibraryFacts) -> list[Signal]:
        """What every source says about a library, strongest source first."""
        out: list[Signal] = []
        for s in (declared.signal(facts, self.files), history.signal(facts, self.history),
                  location.signal(facts)):
            if s is not None:
                out.append(s)
        out += naming.signals(facts)
        out += nodes.signals(facts)
        s = soname.signal(facts)
        if s is not None:
            out.append(s)
        return out

    def classify_library(self, key: str, lib: ElfObject | None,
                         where: Location | None = None) -> Classification:
        """Classify a library by every source that speaks: ``key`` is its soname or needed
        name, ``lib`` its ELF view (None: not found, judged by the name alone), ``where``
        how the resolver found it."""
        # Keyed on the file, not id(lib): ids are reused once an object is freed; and on as
        # much of the location as location.signal reads (only RUNPATH/RPATH say anything).
        cache_key: tuple[object, ...] = ((key, lib.path, lib.member) if lib is not None
                                         else (key,))
        if where is not None and where.found_via in location.VIA:
            cache_key += (where.found_via, where.path, where.system_dirs)
        hit = self._lib_cache.get(cache_key)
        if hit is None:
            facts = LibraryFacts(key, lib, where)
            hit = self._lib_cache[cache_key] = decide(self.signals(facts), facts)
        return hit

    def classify_symbol(self, name: str, version: str | None, library_key: str | None,
                        library: Classification) -> Classification:
        """Classify one bound symbol given its library's classification: a ``[[symbol]]``
        rule, else a ``*PRIVATE*`` version node, else the library's classification itself (the
        same objects: schema 2 writes a binding's evidence only where it is its own)."""
        rules = self._sym_rules.get(library_key)
        if rules is None:  # the symbol rules for this library, in order (most have none)
            rules = self._sym_rules[library_key] = tuple(
                (_matcher(rule.match), None if rule.version is None else
                 _matcher(rule.version), rule)
                for f in self.files for rule in f.symbols
                if library_key is None or fnmatch.fnmatchcase(library_key, rule.library))
        for name_ok, version_ok, rule in rules:
            if name_ok is not None and not name_ok(name):
                continue
            if version_ok is not None and not version_ok(version or ""):
                continue
            what = f"symbol {name}@{version}" if version else f"symbol {name}"
            return rule.stability, (rule.evidence(what),)
        if version and "PRIVATE" in version.upper():
            return Stability.PRIVATE, (Evidence(
                "private-node", f"version node {version} marks an internal interface",
                Stability.PRIVATE),)
        return library
