"""The registry of input kinds: from a spec to its source, from a census package's kind to
the code that opens it.

Kinds are asked in order; the first that recognises a spec takes it. The built-in order is
the rule users know:

1. ``suite`` -- ``NAME/SUITE`` that is not an existing path;
2. ``apt`` -- ``apt:NAME`` (a name, whatever exists), or ``NAME``/``NAME=VERSION`` that is
   not an existing path (an existing path wins over a package name);
3. ``directory`` -- an existing directory;
4. ``deb`` -- an existing regular file that is a Debian package;
5. ``file`` -- any other existing regular file (an ELF object, an ar archive, or an error);
6. ``missing`` -- everything else: an input error.

A new kind is added with :func:`register` (by default just before ``directory``: after the
package names, before the general path kinds; ``before=``/``after=`` place it elsewhere). A
kind whose inputs a census scans also registers its package kind
(:func:`register_package`). Kinds registered from outside abiguard are remembered by module
(:func:`plugin_modules`): census workers import those modules, which register them again.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING

from .apt import AptSource
from .base import Source
from .deb import DebPackages, DebSource
from .directory import DirectorySource
from .file import FileSource
from .missing import MissingSource
from .root import RootPackages, RootSource
from .suite import SuitePackage

if TYPE_CHECKING:  # (the census's package vocabulary: loaded with the census)
    from .package import PackageKind


class Registry:
    """Input kinds in the order they are asked, and package kinds by name."""

    def __init__(self, kinds: Iterable[type[Source]] = (),
                 packages: Iterable[PackageKind] = ()) -> None:
        self._kinds: list[type[Source]] = list(kinds)
        self._packages: dict[str, PackageKind] = {p.name: p for p in packages}

    # -- input kinds ------------------------------------------------------------------------

    def register(self, kind: type[Source], *, before: str | None = None,
                 after: str | None = None) -> type[Source]:
        """Add an input kind (again: nothing changes). It is asked before the kind named
        ``before`` (default ``directory``) or right after ``after``."""
        if kind in self._kinds:
            return kind
        if any(k.kind == kind.kind for k in self._kinds):
            raise ValueError(f"an input kind named {kind.kind!r} is already registered")
        if after is not None:
            at = self._index(after) + 1
        else:
            at = self._index(before or "directory")
        self._kinds.insert(at, kind)
        return kind

    def unregister(self, name: str) -> None:
        """Remove the input kind and the package kind of this name (when registered)."""
        self._kinds = [k for k in self._kinds if k.kind != name]
        self._packages.pop(name, None)

    def _index(self, name: str) -> int:
        for i, k in enumerate(self._kinds):
            if k.kind == name:
                return i
        raise ValueError(f"no input kind named {name!r}")

    def kinds(self) -> list[str]:
        """The names of the input kinds, in the order they are asked."""
        return [k.kind for k in self._kinds]

    def kind(self, name: str) -> type[Source]:
        return self._kinds[self._index(name)]

    def recognise(self, spec: str, suite: str | None = None) -> Source:
        """The source of a spec: the first kind that recognises it (``suite``: the suite of
        package names given without one). Every spec has one (the last kind takes all)."""
        for k in self._kinds:
            src = k.recognise(spec, suite)
            if src is not None:
                return src
        raise ValueError(f"{spec}: no input kind recognises it")  # a registry without 'missing'

    # -- package kinds (census) -------------------------------------------------------------

    def register_package(self, kind: PackageKind) -> PackageKind:
        """Add the census's package kind ``kind.name`` (again: nothing changes)."""
        old = self._packages.get(kind.name)
        if old is not None and type(old) is not type(kind):
            raise ValueError(f"a package kind named {kind.name!r} is already registered")
        self._packages.setdefault(kind.name, kind)
        return kind

    def package_kind(self, name: str) -> PackageKind:
        """The package kind of a census ref (``PackageRef.kind``)."""
        hit = self._packages.get(name)
        if hit is None:
            raise ValueError(f"no package kind named {name!r} (its module was not imported)")
        return hit

    def plugin_modules(self) -> tuple[tuple[str, str | None], ...]:
        """The modules of the kinds registered from outside abiguard: (name, the file it was
        loaded from)."""
        mods = [k.__module__ for k in self._kinds] + [type(p).__module__
                                                      for p in self._packages.values()]
        out = []
        for m in dict.fromkeys(m for m in mods if not m.startswith("abiguard.")):
            module = sys.modules.get(m)
            out.append((m, getattr(module, "__file__", None)))
        return tuple(out)


REGISTRY = Registry(
    [SuitePackage, AptSource, DirectorySource, DebSource, FileSource, MissingSource, RootSource],
    [DebPackages(), RootPackages()])
"""The registry every command uses. ``root`` is last: it recognises no spec (a directory on
the command line is a directory); the census makes roots itself."""


def register(kind: type[Source], *, before: str | None = None,
             after: str | None = None) -> type[Source]:
    """Add an input kind to the registry (see :meth:`Registry.register`)."""
    return REGISTRY.register(kind, before=before, after=after)


def register_package(kind: PackageKind) -> PackageKind:
    """Add a census package kind to the registry."""
    return REGISTRY.register_package(kind)


def unregister(name: str) -> None:
    REGISTRY.unregister(name)


def recognise(spec: str, suite: str | None = None) -> Source:
    """The source of a spec (see :meth:`Registry.recognise`)."""
    return REGISTRY.recognise(spec, suite)


def package_kind(name: str) -> PackageKind:
    return REGISTRY.package_kind(name)


def plugin_modules() -> tuple[tuple[str, str | None], ...]:
    return REGISTRY.plugin_modules()


def load_plugins(modules: Iterable[tuple[str, str | None]]) -> None:
    """Import the modules of kinds registered elsewhere (a census worker: the coordinator's
    kinds), so that they register themselves here too: by name, else from the file the
    coordinator loaded it from (a module beside a program, not on this process's path)."""
    for name, path in modules:
        if name in sys.modules:
            continue
        try:
            importlib.import_module(name)
        except ImportError:
            spec = importlib.util.spec_from_file_location(name, path) if path else None
            if spec is None or spec.loader is None:
                raise
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            try:
                spec.loader.exec_module(module)
            except BaseException:
                del sys.modules[name]
                raise


__all__ = ["REGISTRY", "Registry", "load_plugins", "package_kind", "plugin_modules",
           "recognise", "register", "register_package", "unregister"]
