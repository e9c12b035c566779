"""Where a census gets its packages: apt's candidates, a Packages file, a directory of .debs,
unpacked roots.

Every input is recognised by its kind (abiguard.sources: the registry every command uses) and
stands for package names, .deb files, roots or packages of its own kind
(:func:`census_inputs`); every package is a :class:`PackageRef` (one consumer package each,
opened by the task through its package kind). For packages
from apt, everything the store key needs (name, version, architecture, SHA-256) is known
before anything is downloaded, so a re-run skips stored packages without a download; the
library packages each consumer depends on (its *closure*) are computed here too.

The index of a census is apt's own answer: the candidate version of every package under
the apt configuration in question (``apt-cache dumpavail``, which honours pins, the default
release and NotAutomatic suites; :mod:`abiguard.debian.apt`), or, with ``--packages-file``,
the newest version of each package in those files (a Packages file has no pins). Reverse
dependencies and the binaries of a source package are then dictionary lookups.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..debian.apt import (
    RECORD_FIELDS,
    Apt,
    Record,
    client,
    library_closure,
    native_arch,
    read_index_file,
)
from ..debian.control import compare_versions, iter_paragraphs, relation_names
from ..errors import UsageError
from ..sources import (
    PackageRef,
    deb_refs,
    find_debs,
    is_root,
    parse_deb_filename,
    recognise,
    root_ref,
    root_refs,
    tree_signature,
)

# --------------------------------------------------------------------------------------------
# The index: apt's candidates, or Packages files
# --------------------------------------------------------------------------------------------


@dataclass
class AptIndex:
    """One version of every package for the native architecture (and ``all``): apt's
    candidate, or the newest of the given Packages files."""

    packages: dict[str, PackageRef] = field(default_factory=dict)
    providers: dict[str, list[str]] = field(default_factory=dict)
    """Virtual package name -> real packages that Provide it."""
    files: list[str] = field(default_factory=list)
    arch: str = ""
    origin: str = ""
    """Where the versions come from, for messages."""

    @classmethod
    def load(cls, files: Iterable[str] | None = None, *, arch: str | None = None,
             archive: str | None = None, apt: Apt | None = None) -> AptIndex:
        """apt's candidates (``apt`` or this machine's), or the Packages ``files``.
        ``archive`` is a local mirror root against which Filename fields are looked up (so
        no download is needed for what is there)."""
        if files is None:
            apt = apt or client()
            index = cls(arch=arch or apt.arch, origin=f"the candidates of "
                                                       f"{apt.config.describe()}")
            for rec in apt.dumpavail():
                if rec.arch in (index.arch, "all"):
                    index.packages.setdefault(rec.name, _ref(rec, archive))
        else:
            files = list(files)
            for f in files:
                if not os.path.exists(f):
                    raise UsageError(f"{f}: no such Packages file")
            index = cls(files=files, arch=arch or native_arch(),
                        origin="the newest versions of " + ", ".join(files))
            for f in files:
                for st in iter_paragraphs(read_index_file(f), RECORD_FIELDS):
                    got = Record.from_fields(st)
                    if got is None or got.arch not in (index.arch, "all"):
                        continue
                    old = index.packages.get(got.name)
                    if old is None or compare_versions(got.version, old.version) > 0:
                        index.packages[got.name] = _ref(got, archive)
        for ref in index.packages.values():
            for virt in relation_names(ref.provides):
                index.providers.setdefault(virt, []).append(ref.name)
        return index

    def get(self, name: str) -> PackageRef | None:
        """A package by name, or the first real package providing the virtual name."""
        ref = self.packages.get(name)
        if ref is None and name in self.providers:
            ref = self.packages.get(min(self.providers[name]))
        return ref

    def match(self, patterns: Iterable[str]) -> list[str]:
        """Package names matching any of the globs (exact names included)."""
        pats = list(patterns)
        return sorted(n for n in self.packages if any(fnmatch.fnmatchcase(n, p) for p in pats))

    def consumers_of(self, names: Iterable[str]) -> list[PackageRef]:
        """Every package naming one of ``names`` (or a virtual name one of them provides) in
        Pre-Depends, Depends, Recommends, Suggests or Enhances, any alternative: optional
        plugins (Recommends, Suggests) use a library as much as required programs do, and a
        package that Enhances a library is an add-on built on it. Conflicts, Breaks and
        Replaces are not use."""
        wanted = set(names)
        for n in list(wanted):
            if n in self.packages:
                wanted |= relation_names(self.packages[n].provides)
        out = [ref for ref in self.packages.values() if wanted & ref.names_used(self.arch)]
        return sorted(out, key=lambda r: r.name)

    def rdepends(self, patterns: Iterable[str]) -> tuple[list[str], list[PackageRef]]:
        """(the packages the globs match, every package using one of them: see
        :meth:`consumers_of`)."""
        patterns = list(patterns)
        libs = self.match(patterns)
        if not libs:
            raise UsageError(f"--rdepends {' '.join(patterns)}: no package in "
                             f"{self.origin} matches")
        return libs, self.consumers_of(libs)

    def built_from(self, source: str) -> list[str]:
        """The binary packages built from a source package (Source field; a package
        without one is its own source)."""
        return sorted(n for n, r in self.packages.items() if (r.source or r.name) == source)

    def _lookup(self, names: list[str]) -> dict[str, PackageRef | None]:
        return {n: self.get(n) for n in names}

    def closure(self, ref: PackageRef, max_packages: int = 600, also: Iterable[str] = ()
                ) -> tuple[PackageRef, ...]:
        """The library packages (lib*) ref depends on, recursively, breadth first: what its
        programs load (abiguard.debian.apt.library_closure, over this index). Packages of
        ``also`` (what a census asks about) that ref names in a weaker field (Recommends,
        Suggests, Enhances: optional plugins) are followed as if it depended on them."""
        extra = ", ".join(sorted(set(also) & ref.names_used(self.arch)))
        root = replace(ref, depends=", ".join(x for x in (ref.depends, extra) if x))
        return tuple(library_closure([root], self._lookup, exclude=[ref.name],
                                     arch=self.arch, max_packages=max_packages))

    def with_closure(self, ref: PackageRef, also: Iterable[str] = ()) -> PackageRef:
        return replace(ref, deps=self.closure(ref, also=also))


def _ref(rec: Record, archive: str | None) -> PackageRef:
    path = None
    if archive and rec.filename:
        cand = os.path.join(archive, rec.filename)
        path = cand if os.path.isfile(cand) else None
    return PackageRef.from_record(rec, path)


# --------------------------------------------------------------------------------------------
# Local files and the census's inputs (abiguard.sources: the kind of each input)
# --------------------------------------------------------------------------------------------


def set_index(refs: Iterable[PackageRef]) -> dict[str, str]:
    """Package name -> .deb path of a set of local packages (what deps are looked up in)."""
    out: dict[str, str] = {}
    for r in refs:
        if r.path and r.kind == "deb" and parse_deb_filename(r.path):
            out.setdefault(r.name, r.path)
    return out


def classify_inputs(inputs: Iterable[str]) -> tuple[list[str], list[str], list[str]]:
    """Split positional inputs into (apt package names, .deb files, root directories), each
    as its kind says (abiguard.sources): a directory holding .deb files contributes them;
    any other directory is a tree of roots. Inputs of other kinds are refused (see
    :func:`census_inputs`, which takes them)."""
    names: list[str] = []
    debs: list[str] = []
    roots: list[str] = []
    for spec in inputs:
        part = recognise(spec).census()
        if part.refs:
            raise UsageError(f"{spec}: its packages are not .deb files, roots or names")
        names += part.names
        debs += part.debs
        roots += part.roots
    return names, debs, roots


@dataclass
class CensusInputs:
    """What the positional inputs and ``--roots`` of a census stand for."""

    names: list[str] = field(default_factory=list)
    """apt package names (NAME, NAME=VERSION): looked up in the census's index."""
    refs: list[PackageRef] = field(default_factory=list)
    """The local packages: .deb files, then unpacked roots, then packages of other kinds."""
    packages: dict[str, str] = field(default_factory=dict)
    """The package set: name -> .deb path or root directory (dependency lookup)."""
    notes: list[str] = field(default_factory=list)


def census_inputs(inputs: Iterable[str], roots: Iterable[str] = ()) -> CensusInputs:
    """The packages of the inputs, each recognised by its kind (abiguard.sources), and of
    the directories of unpacked roots (``--roots``)."""
    found = CensusInputs()
    debs: list[str] = []
    root_dirs: list[str] = []
    others: list[PackageRef] = []
    for spec in inputs:
        part = recognise(spec).census()
        found.names += part.names
        debs += part.debs
        root_dirs += part.roots
        others += part.refs
    if debs:
        local = deb_refs(debs)
        found.packages.update(set_index(local))
        found.refs += local
    for d in [*root_dirs, *roots]:
        if not os.path.isdir(d):
            raise UsageError(f"--roots {d}: not a directory")
        rr = root_refs(d)
        if not rr:
            found.notes.append(f"{d}: no unpacked package roots found")
        for ref in rr:
            found.packages.setdefault(ref.name, ref.path or "")
        found.refs += rr
    found.refs += others
    return found


def path_of(p: str | Path) -> str:
    return os.path.abspath(str(p))


__all__ = ["AptIndex", "CensusInputs", "PackageRef", "census_inputs", "classify_inputs",
           "deb_refs", "find_debs", "is_root", "parse_deb_filename", "path_of", "root_ref",
           "root_refs", "set_index", "tree_signature"]
