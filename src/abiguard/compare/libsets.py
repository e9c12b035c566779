"""The library sets and headers ``impact`` (and ``propose``) compare: directories, shared
library files, .debs and apt package names (``NAME``, ``NAME=VERSION``, ``NAME/SUITE``),
unpacked into temporary directories that :meth:`Sets.close` removes; and
:func:`upgrade_impact`, the whole of ``abiguard impact``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import replace

from ..debian.deb import ELF_MAGIC, is_deb, read_deb_control, unpack_deb
from ..debian.suites import apt_for, fetch, is_package_name, split_spec
from ..elf import read_elf
from ..errors import ElfError, InputFileError, UsageError
from ..headers import Prototype, parse_headers
from ..inputs import walk
from ..pipeline import ScanOptions
from ..results import load_or_scan
from .impact import ImpactResult, LibraryInfo, LibrarySet, impact


def split_specs(values: list[str]) -> list[str]:
    """Repeated and comma-separated values, one list."""
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


def fetch_debs(specs: list[str], suite: str | None) -> dict[str, str]:
    """Package names -> downloaded .deb paths (other specs are returned as they are)."""
    out: dict[str, str] = {}
    by_suite: dict[str | None, list[tuple[str, str]]] = {}
    for spec in specs:
        name, s = split_spec(spec)
        if s is None:
            if not (spec.startswith("apt:") or is_package_name(spec)):
                out[spec] = spec
                continue
            name, s = spec.removeprefix("apt:"), suite
        by_suite.setdefault(s, []).append((spec, name))
    for s, items in by_suite.items():
        apt, derived = apt_for(s)
        got = fetch(apt, [n for _, n in items], derived)
        for spec, name in items:
            out[spec] = str(got[name])
    return {spec: out[spec] for spec in specs}


def _package_label(deb: str) -> str:
    info = read_deb_control(deb)
    return f"{info.package} {info.version}"


def _libraries_below(root: str, strip: str | None, package: str | None) -> list[LibraryInfo]:
    out = []
    for path in walk(root):
        try:
            with open(path, "rb") as fh:
                if fh.read(4) != ELF_MAGIC:
                    continue
            elf = read_elf(path, relocations=False)
        except (OSError, ElfError):
            continue
        if elf.kind != "DYN" or (elf.soname is None and ".so" not in os.path.basename(path)):
            continue
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
    """Unpacked library sets and headers (temporary directories removed on close)."""

    def __init__(self) -> None:
        self._tmp: list[str] = []

    def close(self) -> None:
        for d in self._tmp:
            shutil.rmtree(d, ignore_errors=True)

    def _unpack(self, deb: str, wanted: Callable[[str, bytes], bool] | None = None) -> str:
        d = tempfile.mkdtemp(prefix="abiguard-impact-")
        self._tmp.append(d)
        unpack_deb(deb, d, wanted=wanted)
        return d

    def library_set(self, specs: list[str], suite: str | None
                    ) -> tuple[LibrarySet, list[str], list[str]]:
        """(LibrarySet, .debs for resolution, directories for resolution)."""
        debs_for = fetch_debs(specs, suite)
        libs = []
        labels = []
        debs: list[str] = []
        dirs: list[str] = []
        for spec, path in debs_for.items():
            if os.path.isdir(path):
                found = _libraries_below(path, None, None)
                if not found:
                    raise UsageError(f"{spec}: no shared libraries found")
                libs += found
                labels.append(spec)
                dirs += sorted({os.path.dirname(lib.path) for lib in found})
            elif os.path.isfile(path) and is_deb(path):
                label = _package_label(path)
                root = self._unpack(path)
                found = _libraries_below(root, root, label)
                if not found:
                    raise UsageError(f"{spec}: {label} contains no shared libraries")
                libs += found
                labels.append(label)
                debs.append(path)
            elif os.path.isfile(path):
                found = _libraries_below(os.path.dirname(path) or ".", None, None)
                found = [lib for lib in found if os.path.samefile(lib.path, path)]
                if not found:
                    raise UsageError(f"{spec}: not a shared library")
                libs += found
                labels.append(spec)
                dirs.append(os.path.dirname(os.path.abspath(path)))
            else:
                raise UsageError(f"{spec}: no such file, directory or package")
        return LibrarySet(", ".join(labels), tuple(libs)), debs, dirs

    def header_paths(self, specs: list[str], suite: str | None) -> tuple[list[str], str]:
        """(include directories or header files, label) of header specs: directories, .h
        files, .debs and apt packages (unpacked: their usr/include)."""
        paths: list[str] = []
        labels: list[str] = []
        for spec, path in fetch_debs(specs, suite).items():
            if os.path.isfile(path) and is_deb(path):
                root = self._unpack(path, wanted=lambda rel, _head: rel.endswith(".h"))
                inc = os.path.join(root, "usr", "include")
                paths.append(inc if os.path.isdir(inc) else root)
                labels.append(_package_label(path))
            elif os.path.exists(path):
                paths.append(path)
                labels.append(spec)
            else:
                raise UsageError(f"{spec}: no such header file, directory or package")
        return paths, ", ".join(labels)

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


__all__ = ["Sets", "fetch_debs", "split_specs", "upgrade_impact"]
