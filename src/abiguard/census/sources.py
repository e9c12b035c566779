"""Where a census gets its packages: apt's candidates, a Packages file, a directory of .debs,
unpacked roots.

Every source yields :class:`PackageRef` objects (one consumer package each). For packages
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
import re
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
from ..debian.control import (
    compare_versions,
    first_paragraph,
    iter_paragraphs,
    relation_names,
)
from ..errors import UsageError

_DEB_NAME = re.compile(r"^([a-z0-9][a-z0-9+.-]+)_([^_/]+)_([a-z0-9-]+)\.deb$")


@dataclass(frozen=True, slots=True)
class PackageRef:
    """One binary package: from apt's lists, a .deb file or an unpacked root."""

    name: str
    version: str = ""
    arch: str = ""
    sha256: str | None = None
    """Content hash of the .deb; None until read (local files, roots)."""
    size: int = 0
    path: str | None = None
    """A local .deb or root directory; None: download it with apt."""
    filename: str | None = None
    """The archive's pool path (Filename field)."""
    depends: str = ""
    pre_depends: str = ""
    provides: str = ""
    kind: str = "deb"
    """deb (a .deb file, local or to download) | root (an unpacked directory)."""
    deps: tuple[PackageRef, ...] = ()
    """Library packages to resolve against (the consumer's closure), when known up front."""
    source: str = ""
    """The source package it is built from (apt's records; "" when unknown)."""
    uses: str = ""
    """Recommends, Suggests and Enhances joined (the weaker ways of naming a library)."""

    @classmethod
    def from_record(cls, rec: Record, path: str | None = None) -> PackageRef:
        uses = ", ".join(x for x in (rec.recommends, rec.suggests, rec.enhances) if x)
        return cls(rec.name, rec.version, rec.arch, rec.sha256, rec.size, path, rec.filename,
                   rec.depends, rec.pre_depends, rec.provides, source=rec.source, uses=uses)

    @property
    def key(self) -> tuple[str, str, str, str] | None:
        if self.sha256 is None:
            return None
        return (self.name, self.version, self.arch, self.sha256)

    @property
    def deb_filename(self) -> str:
        """The file name apt-get download gives it (the epoch's ':' quoted as %3a)."""
        return f"{self.name}_{self.version.replace(':', '%3a')}_{self.arch}.deb"

    def names_used(self, arch: str | None = None) -> set[str]:
        """Every package name it declares it uses (Pre-Depends, Depends, Recommends,
        Suggests, Enhances; any alternative)."""
        return set().union(*(relation_names(t, arch) for t in
                             (self.pre_depends, self.depends, self.uses)))

    def __str__(self) -> str:
        return f"{self.name} {self.version} {self.arch}".strip()


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
                    rec = Record.from_fields(st)
                    if rec is None or rec.arch not in (index.arch, "all"):
                        continue
                    old = index.packages.get(rec.name)
                    if old is None or compare_versions(rec.version, old.version) > 0:
                        index.packages[rec.name] = _ref(rec, archive)
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
# Local files
# --------------------------------------------------------------------------------------------


def parse_deb_filename(path: str) -> tuple[str, str, str] | None:
    """(name, version, arch) from a pool file name ``name_version_arch.deb``."""
    m = _DEB_NAME.match(os.path.basename(path))
    if not m:
        return None
    return m.group(1), m.group(2).replace("%3a", ":").replace("%3A", ":"), m.group(3)


def find_debs(directory: str) -> list[str]:
    """The .deb files below a directory, sorted."""
    out = []
    for dirpath, dirnames, filenames in os.walk(directory):
        dirnames.sort()
        out += [os.path.join(dirpath, f) for f in sorted(filenames) if f.endswith(".deb")]
    return out


def deb_refs(paths: Iterable[str]) -> list[PackageRef]:
    """Refs for local .deb files (name/version/arch from the file name when it follows the
    pool convention; the worker reads the control file and hashes the content either way)."""
    out = []
    for p in paths:
        p = os.path.abspath(p)
        parsed = parse_deb_filename(p)
        name, version, arch = parsed if parsed else (os.path.basename(p), "", "")
        try:
            size = os.path.getsize(p)
        except OSError:
            size = 0
        out.append(PackageRef(name, version, arch, None, size, p, kind="deb"))
    return out


def set_index(refs: Iterable[PackageRef]) -> dict[str, str]:
    """Package name -> .deb path of a set of local packages (what deps are looked up in)."""
    out: dict[str, str] = {}
    for r in refs:
        if r.path and r.kind == "deb" and parse_deb_filename(r.path):
            out.setdefault(r.name, r.path)
    return out


_ROOT_MARKERS = ("usr", "lib", "lib64", "bin", "sbin", "opt", "etc", "DEBIAN")


def is_root(d: str) -> bool:
    """Whether a directory looks like an unpacked package (has usr/, lib/, DEBIAN/, ...)."""
    return os.path.isdir(d) and any(os.path.isdir(os.path.join(d, s)) for s in _ROOT_MARKERS)


def root_ref(d: str) -> PackageRef:
    """One unpacked root. Name, version and architecture come from DEBIAN/control
    (``dpkg-deb -R``) when there is one, else the directory name."""
    d = os.path.abspath(d)
    control = os.path.join(d, "DEBIAN", "control")
    st: dict[str, str] = {}
    if os.path.isfile(control):
        with open(control, encoding="utf-8", errors="replace") as fh:
            st = first_paragraph(fh.read())
    return PackageRef(st.get("package", os.path.basename(d)), st.get("version", ""),
                      st.get("architecture", ""), None, 0, d, None, st.get("depends", ""),
                      st.get("pre-depends", ""), st.get("provides", ""), kind="root")


def root_refs(directory: str) -> list[PackageRef]:
    """The unpacked package roots of a directory: the directory itself if it is one, else
    each of its subdirectories that is one."""
    directory = os.path.abspath(directory)
    if is_root(directory):
        return [root_ref(directory)]
    return [root_ref(os.path.join(directory, s)) for s in sorted(os.listdir(directory))
            if is_root(os.path.join(directory, s))]


def tree_signature(root: str) -> str:
    """A cheap signature of a directory tree (paths, sizes, mtimes): whether it changed."""
    import hashlib

    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for f in sorted(filenames):
            p = os.path.join(dirpath, f)
            try:
                st = os.lstat(p)
            except OSError:
                continue
            h.update(f"{os.path.relpath(p, root)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def classify_inputs(inputs: Iterable[str]) -> tuple[list[str], list[str], list[str]]:
    """Split positional inputs into (apt package names, .deb files, root directories).
    A directory holding .deb files contributes them; any other directory is a tree of roots."""
    names, debs, roots = [], [], []
    for spec in inputs:
        if os.path.isdir(spec):
            found = find_debs(spec)
            if found:
                debs += found
            else:
                roots.append(spec)
        elif os.path.isfile(spec):
            debs.append(spec)
        elif spec.startswith("apt:") or re.match(r"^[a-z0-9][a-z0-9+.-]+(=\S+)?$", spec):
            names.append(spec.removeprefix("apt:"))
        else:
            raise UsageError(f"{spec}: no such file, directory or package name")
    return names, debs, roots


def path_of(p: str | Path) -> str:
    return os.path.abspath(str(p))
