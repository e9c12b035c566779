"""The faces of a source beyond a scan (:class:`~abiguard.sources.base.Source`): what an
input stands for in a census (:class:`CensusPart`), where its shared libraries are as a
library set of ``impact`` (:class:`LibraryTree`), and the packages whose library
dependencies ``--with-deps`` fetches (:class:`Relations`). A module of their own, loaded by
the kinds that make them when they do: a scan of files never needs them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..debian.deb import DebInfo
    from .package import PackageRef


@dataclass(frozen=True, slots=True)
class Relations:
    """A package's name and the relations its library closure follows."""

    name: str
    depends: str = ""
    pre_depends: str = ""

    @classmethod
    def of(cls, info: DebInfo) -> Relations:
        return cls(info.package, info.depends, info.pre_depends)


@dataclass(frozen=True, slots=True)
class CensusPart:
    """What one input stands for in a census: apt package names (looked up in the census's
    index), .deb files, directories of unpacked roots, or package refs of another kind."""

    names: tuple[str, ...] = ()
    debs: tuple[str, ...] = ()
    roots: tuple[str, ...] = ()
    refs: tuple[PackageRef, ...] = ()


@dataclass(frozen=True, slots=True)
class LibraryTree:
    """Where the shared libraries of a library-set input are (``impact --from/--to``)."""

    label: str
    """What the set is called in the result."""
    root: str
    """The directory walked for shared libraries."""
    installed_root: str | None = None
    """Paths below it are shown as installed (``/usr/lib/...``); None: as they are."""
    package: str | None = None
    """The package the libraries come from ('name version')."""
    only: str | None = None
    """Only this file (an input naming one library)."""
    provider_deb: str | None = None
    """A .deb the consumers are resolved against (unpacked as an overlay)."""
    lib_dirs: tuple[str, ...] | None = None
    """Directories the consumers' libraries are searched in (like -L); None: those of the
    libraries found below ``root`` (real paths: give () for an unpacked package, which
    ``provider_deb`` or an overlay serves)."""
    empty: str = "no shared libraries found"
    """The error when there are none."""


__all__ = ["CensusPart", "LibraryTree", "Relations"]
