"""The library sets and headers ``impact`` (and ``propose``) compare: any input kind of
:mod:`abiguard.sources` (directories, shared library files, .debs, apt package names
``NAME``, ``NAME=VERSION``, ``NAME/SUITE``), unpacked into temporary directories that
:meth:`Sets.close` removes; and
:func:`upgrade_impact`, the whole of ``abiguard impact``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import replace

from ..errors import InputFileError, UsageError
from ..headers import Prototype, parse_headers
from ..pipeline import ScanOptions
from ..results import load_or_scan
from ..sources import REGISTRY, Collected, Context, header_paths, library_trees, shared_objects
from .impact import ImpactResult, LibraryInfo, LibrarySet, impact


def split_specs(values: list[str]) -> list[str]:
    """Repeated and comma-separated values, one list."""
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


def _libraries_below(root: str, strip: str | None, package: str | None) -> list[LibraryInfo]:
    out = []
    for path, elf in shared_objects(root):
        exports: dict[str, list[str | None]] = {}
        sizes: dict[tuple[str, str | None], int] = {}
        for sym in elf.exports:
            exports.setdefault(sym.name, []).append(sym.version)
            if sym.type in ("OBJECT", "TLS", "COMMON"):
                sizes.setdefault((sym.name, sym.version), sym.size)
        installed = "/" + os.path.relpath(path, strip) if strip else path
        out.append(LibraryInfo(elf.soname or os.path.basename(path), installed,
                               {k: tuple(v) for k, v in exports.items()}, package, sizes))
    return out


class Sets:
    """Unpacked library sets and headers (temporary directories removed on close). Each spec
    is recognised by its kind (:mod:`abiguard.sources`), which says where its libraries and
    headers are (package names downloaded first, those of a suite together)."""

    def __init__(self) -> None:
        self._collected = Collected()

    def close(self) -> None:
        self._collected.cleanup()

    def _context(self, suite: str | None) -> Context:
        return Context(self._collected, REGISTRY, suite=suite)

    def library_set(self, specs: list[str], suite: str | None
                    ) -> tuple[LibrarySet, list[str], list[str]]:
        """(LibrarySet, .debs for resolution, directories for resolution)."""
        libs: list[LibraryInfo] = []
        labels = []
        debs: list[str] = []
        dirs: list[str] = []
        for spec, tree in library_trees(specs, self._context(suite)):
            found = _libraries_below(tree.root, tree.installed_root, tree.package)
            if tree.only is not None:
                found = [lib for lib in found if os.path.samefile(lib.path, tree.only)]
            if not found:
                raise UsageError(f"{spec}: {tree.empty}")
            libs += found
            labels.append(tree.label)
            if tree.provider_deb is not None:
                debs.append(tree.provider_deb)
            dirs += (list(tree.lib_dirs) if tree.lib_dirs is not None
                     else sorted({os.path.dirname(lib.path) for lib in found}))
        return LibrarySet(", ".join(labels), tuple(libs)), debs, dirs

    def header_paths(self, specs: list[str], suite: str | None) -> tuple[list[str], str]:
        """(include directories or header files, label) of header specs: directories, .h
        files, .debs and apt packages (unpacked: their usr/include)."""
        got = header_paths(specs, self._context(suite))
        return [p for p, _ in got], ", ".join(label for _, label in got)

    def headers(self, specs: list[str], suite: str | None
                ) -> tuple[dict[str, Prototype] | None, str | None]:
        """(name -> Prototype, label) of the headers, or (None, None) when none given."""
        if not specs:
            return None, None
        paths, label = self.header_paths(specs, suite)
        return parse_headers(paths), label


def upgrade_impact(consumers: Sequence[str], old: Sequence[str], new: Sequence[str], *,
                   from_suite: str | None = None, to_suite: str | None = None,
                   headers_from: Sequence[str] = (), headers_to: Sequence[str] = (),
                   scan: ScanOptions | None = None) -> ImpactResult:
    """What upgrading the libraries ``old`` to ``new`` (specs, repeated or comma-separated)
    does to the ``consumers`` (scan inputs or one saved result), with the headers of both
    versions when given. The consumers are scanned against the old libraries (``scan``: the
    other resolution options; its lib paths and providers are those of the old set)."""
    if bool(headers_from) != bool(headers_to):
        raise UsageError("give both --headers-from and --headers-to (or neither)")
    sets = Sets()
    with ExitStack() as stack:
        stack.callback(sets.close)
        try:
            old_set, old_debs, old_dirs = sets.library_set(split_specs(list(old)), from_suite)
            new_set, _, _ = sets.library_set(split_specs(list(new)), to_suite)
            old_h, old_label = sets.headers(split_specs(list(headers_from)), from_suite)
            new_h, new_label = sets.headers(split_specs(list(headers_to)), to_suite)
        except InputFileError as exc:
            raise UsageError(str(exc)) from None
        options = replace(scan or ScanOptions(), lib_paths=old_dirs, provider_debs=old_debs)
        audit = load_or_scan(list(consumers), options)
        return impact(audit, old_set, new_set, old_h, new_h, old_headers_label=old_label,
                      new_headers_label=new_label)


__all__ = ["Sets", "split_specs", "upgrade_impact"]
