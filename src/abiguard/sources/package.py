"""Packages as the census handles them: one binary package per :class:`PackageRef`, and the
*package kind* that knows its store key and how to open it (:class:`PackageKind`).

A census never scans an input spec directly: the input's source kind
(:mod:`abiguard.sources`) turns it into package refs (a .deb file, an apt record, an
unpacked root, ...), and the census task of a ref asks the package kind named by
``ref.kind`` for its identity, its relations and its files. The kinds ``deb`` and ``root``
are built in (:mod:`abiguard.sources.deb`, :mod:`abiguard.sources.root`); another kind is
registered with :func:`abiguard.sources.register_package`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..debian.apt import Record

Key = tuple[str, str, str, str]
"""A package's store key: (name, version, architecture, content hash)."""


class FetchError(Exception):
    """A package could not be downloaded (or what was downloaded is not what the index says)."""


class Unreadable(Exception):
    """A package whose own description cannot be read (its control file): the census records
    a failure with this key and message."""

    def __init__(self, key: Key, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


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
    """The name of its :class:`PackageKind`: ``deb`` (a .deb file, local or to download),
    ``root`` (an unpacked directory), or a registered one."""
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
    def key(self) -> Key | None:
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
        from ..debian.control import relation_names

        return set().union(*(relation_names(t, arch) for t in
                             (self.pre_depends, self.depends, self.uses)))

    def __str__(self) -> str:
        return f"{self.name} {self.version} {self.arch}".strip()


@dataclass(frozen=True, slots=True)
class Stamp:
    """What the census's file table keeps of a local package to know, next run, that it did
    not change: size and mtime (a file), or a signature of the tree (a directory)."""

    size: int
    mtime_ns: int
    signature: str | None = None


@dataclass(frozen=True, slots=True)
class Opened:
    """A consumer package, opened for its scan: its store key (checked), relations, the label
    its objects carry ('name version arch'), its size, and the local file it was read from."""

    key: Key
    depends: str
    pre_depends: str
    label: str
    size: int = 0
    file: str | None = None


Fetch = Callable[[PackageRef], str]
"""The census's way to a local .deb of a ref: its path, or a download (raises FetchError)."""


class PackageKind(Protocol):
    """How the census handles the packages of one kind (``PackageRef.kind == name``)."""

    name: str

    def identify(self, ref: PackageRef) -> Key:
        """The store key, reading the local input if needed. Never raises: an unreadable
        input still gets a key (from its file name)."""
        ...

    def stamp(self, ref: PackageRef) -> Stamp | None:
        """The file-table stamp of a local input (None when it cannot be read)."""
        ...

    def lasting(self, ref: PackageRef) -> str | None:
        """The directory of a package that is already unpacked and stays so (it is scanned
        where it is, and the caches of its files outlive the task); None: it is unpacked."""
        ...

    def open(self, ref: PackageRef, fetch: Fetch) -> Opened:
        """The package as a consumer: fetched, its content checked against what the index
        says, its key and relations. Raises FetchError, Unreadable or InputFileError."""
        ...

    def unpack(self, ref: PackageRef, opened: Opened | None, fetch: Fetch, into: str) -> None:
        """Unpack the package into the empty private directory ``into`` (``opened``: what
        :meth:`open` gave, when the package was opened as a consumer)."""
        ...


__all__ = ["Fetch", "FetchError", "Key", "Opened", "PackageKind", "PackageRef", "Stamp",
           "Unreadable"]
