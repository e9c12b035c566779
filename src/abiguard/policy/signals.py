"""What every evidence source speaks: a :class:`Signal` with a strength, about a library
described by :class:`LibraryFacts` (its names, the ELF file if found, where it was found).

Strengths, strongest first (docs/policy.md): a declaration in a policy file, the Debian
archive's history, the location the library was found in, its name, its version nodes,
the shape of its soname. A signal of strength :data:`WEAK` never decides alone.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from ..model import ElfObject, Evidence, EvidenceSource, Stability

DECLARED = 60
"""A rule of a policy file (built-in with a citation of upstream, or ``--policy``)."""
HISTORY = 50
"""The Debian archive's history of the library's package across suites."""
LOCATION = 40
"""Found only through RUNPATH/RPATH in a package-private directory."""
NAMING = 30
"""The library's name: libtool ``-release``, a snapshot date, ``_internal``/``private``."""
NODES = 20
"""The library's symbol version nodes."""
WEAK = 10
"""Hints (soname shape, a number in the name): they support a verdict, never decide one."""

STRENGTH_NAMES = {DECLARED: "declaration", HISTORY: "history", LOCATION: "location",
                  NAMING: "naming", NODES: "version nodes", WEAK: "weak"}


@dataclass(frozen=True, slots=True)
class Signal:
    """One source's say about a library: a vote (``UNKNOWN``: a fact that votes for
    nothing), how strong it is, and the sentence that says why."""

    source: EvidenceSource
    """policy | history | location | naming | version-node | soname (the Evidence source)."""
    strength: int
    stability: Stability
    detail: str
    """The full sentence, true of the file (or of the name when the library was not found)."""
    brief: str = ""
    """A few words for the verdict's headline ("soname has two numbers")."""
    origin: str | None = None
    """The policy or data file it came from."""

    @property
    def votes(self) -> bool:
        return self.stability is not Stability.UNKNOWN

    def evidence(self) -> Evidence:
        return Evidence(self.source, self.detail, self.stability, self.origin)


@dataclass(frozen=True, slots=True)
class Location:
    """Where the resolver found a library, as much as classification needs (the small public
    interface between the resolver and the policy)."""

    found_via: str
    """RPATH, RUNPATH, LD_LIBRARY_PATH, lib-path, ld.so.conf, default, path, interpreter."""
    path: str | None
    """The installed path it was found at (None: not found)."""
    system_dirs: tuple[str, ...] = ()
    """The directories ld.so searches for every program of this architecture: the ld.so.conf
    directories and the default ones."""

    @property
    def directory(self) -> str | None:
        return posixpath.dirname(self.path) if self.path else None


@dataclass(frozen=True, slots=True)
class LibraryFacts:
    """A library to classify: the name it is keyed by, every name it goes by, its ELF view
    (None when it was not found) and where it was found."""

    key: str
    """The soname, or the needed name when there is none (or the library was not found)."""
    elf: ElfObject | None = None
    location: Location | None = None

    @property
    def found(self) -> bool:
        return self.elf is not None

    @property
    def name(self) -> str:
        """The name the library's own promise is read from: its soname, else the key."""
        if self.elf is not None and self.elf.soname:
            return self.elf.soname
        return self.key

    @property
    def names(self) -> tuple[str, ...]:
        """Every name to look the library up by: soname, key, file name."""
        out = [self.name, self.key]
        if self.elf is not None and self.elf.member is None:
            out.append(posixpath.basename(self.elf.path))
        return tuple(dict.fromkeys(out))
