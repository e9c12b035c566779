"""Input sources: every kind of input behind one protocol, and a registry from spec to kind.

What a user names (``abiguard scan|plan|where|diff|gate|impact|census INPUT...``) is recognised
by the first kind of the registry (:mod:`.registry`) that takes it, and becomes a
:class:`Source` (:mod:`.base`), which gives

* scan and the commands built on it: targets, overlays, notes, errors (:func:`collect`);
* census: the packages it stands for (:class:`CensusPart`); each package's kind
  (:class:`PackageKind`, :mod:`.package`) gives the census its store key and opens it;
* impact: where its shared libraries (:class:`LibraryTree`) and headers are.

Built-in kinds, one module each: :mod:`.suite` (``NAME/SUITE``), :mod:`.apt` (``NAME``,
``NAME=VERSION``, ``apt:NAME``), :mod:`.directory`, :mod:`.deb`, :mod:`.file` (ELF, ar),
:mod:`.missing` (the input errors) and :mod:`.root` (unpacked packages, for the census).
Nothing is executed: .deb files are read by abiguard.debian.deb, and unpacking keeps every path
inside a private temporary directory. Package names are resolved and downloaded by the apt
client of the configuration in question (abiguard.debian.apt).

A new kind: a module with a :class:`Source` subclass (``kind``, ``recognise``, ``collect``;
``census``/``library_tree``/``header_path`` where it makes sense) passed to :func:`register`,
and for the census a :class:`PackageKind` passed to :func:`register_package`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .apt import AptSource
from .base import Collected, Context, Pending, Source, Target
from .collect import (
    collect,
    collect_into,
    collect_sources,
    header_paths,
    library_trees,
    prepared,
    suite_groups,
)
from .deb import DebPackages, DebSource, deb_refs, find_debs, parse_deb_filename
from .directory import DirectorySource
from .file import FileSource
from .missing import MissingSource
from .registry import (
    REGISTRY,
    Registry,
    load_plugins,
    package_kind,
    plugin_modules,
    recognise,
    register,
    register_package,
    unregister,
)
from .root import RootPackages, RootSource, is_root, root_ref, root_refs, tree_signature
from .suite import SuitePackage
from .tree import elf_targets, scan_tree, shared_objects, walk

if TYPE_CHECKING:
    from .faces import CensusPart, LibraryTree, Relations
    from .package import (
        Fetch,
        FetchError,
        Key,
        Opened,
        PackageKind,
        PackageRef,
        Stamp,
        Unreadable,
    )

_PACKAGE = frozenset({"Fetch", "FetchError", "Key", "Opened", "PackageKind", "PackageRef", "Stamp",
                      "Unreadable"})
"""The census's package vocabulary (:mod:`.package`), named here too but loaded with its first
use: a scan of files never needs it."""
_FACES = frozenset({"CensusPart", "LibraryTree", "Relations"})
"""A source's census and impact faces (:mod:`.faces`), likewise."""


def __getattr__(name: str) -> Any:
    if name in _PACKAGE:
        from . import package

        value = getattr(package, name)
    elif name in _FACES:
        from . import faces

        value = getattr(faces, name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


__all__ = [
    "REGISTRY",
    "AptSource",
    "CensusPart",
    "Collected",
    "Context",
    "DebPackages",
    "DebSource",
    "DirectorySource",
    "Fetch",
    "FetchError",
    "FileSource",
    "Key",
    "LibraryTree",
    "MissingSource",
    "Opened",
    "PackageKind",
    "PackageRef",
    "Pending",
    "Registry",
    "Relations",
    "RootPackages",
    "RootSource",
    "Source",
    "Stamp",
    "SuitePackage",
    "Target",
    "Unreadable",
    "collect",
    "collect_into",
    "collect_sources",
    "deb_refs",
    "elf_targets",
    "find_debs",
    "header_paths",
    "is_root",
    "library_trees",
    "load_plugins",
    "package_kind",
    "parse_deb_filename",
    "plugin_modules",
    "prepared",
    "recognise",
    "register",
    "register_package",
    "root_ref",
    "root_refs",
    "scan_tree",
    "shared_objects",
    "suite_groups",
    "tree_signature",
    "unregister",
    "walk",
]
