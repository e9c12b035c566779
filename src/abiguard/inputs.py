"""Inputs: ELF files, ar archives, directories, .deb packages and apt package names.

``collect(specs, ...)`` turns what the user named into *targets* (the ELF objects to scan,
each with its installed path and origin), *overlays* (unpacked package roots the resolver
looks into before the sysroot) and *errors* (inputs that could not be read: reported, never
dropped). Nothing is executed: .deb files are read by abiguard.debian.deb, and unpacking
keeps every path inside a private temporary directory. Package names are resolved and
downloaded by the apt client of the configuration in question (abiguard.debian.apt).
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from . import limits
from .debian.apt import Apt, AptError, installed_versions
from .debian.deb import (
    AR_MAGIC,
    ELF_MAGIC,
    DebInfo,
    file_magic,
    is_deb,
    read_deb_control,
    unpack_deb,
)
from .debian.suites import apt_for, is_package_name
from .debian.unpacked import unpacked
from .elf import read_archive, read_elf
from .errors import ElfError, InputFileError
from .model import ElfObject, InputError
from .notify import Notify, silent

# Limits (issue #7: hostile inputs) live in abiguard.limits (configurable with --limit); these
# names are their defaults, kept for callers of the past.
MAX_UNPACKED_BYTES = limits.DEFAULTS.max_unpacked_bytes
MAX_MEMBERS = limits.DEFAULTS.max_tar_members


@dataclass(frozen=True, slots=True)
class Target:
    """One ELF object to scan."""

    elf: ElfObject
    installed: str
    """The path it has (or would have) once installed; what the report shows."""
    origin: str
    """What the user named: a file, a directory, a .deb or apt:NAME."""
    package: str | None = None
    """'name version arch' for objects from a package."""


@dataclass
class Collected:
    targets: list[Target] = field(default_factory=list)
    overlays: list[str] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    _tmp: list[str] = field(default_factory=list)

    def cleanup(self) -> None:
        for d in self._tmp:
            shutil.rmtree(d, ignore_errors=True)
        self._tmp.clear()

    def __enter__(self) -> Collected:  # noqa: PYI034 - final class
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()


# --------------------------------------------------------------------------------------------
# Collecting
# --------------------------------------------------------------------------------------------


def _elf_targets(path: str, installed: str, origin: str, package: str | None,
                 out: Collected, head: bytes | None = None) -> None:
    if head is None:
        head = file_magic(path)
    try:
        if head.startswith(ELF_MAGIC):
            out.targets.append(Target(read_elf(path), installed, origin, package))
        elif head.startswith(AR_MAGIC):
            for member in read_archive(path):
                out.targets.append(Target(member, installed, origin, package))
        else:
            raise ElfError(path, "not an ELF file, ar archive or .deb package")
    except ElfError as exc:
        out.errors.append(InputError(installed if package else path, exc.message))


def walk(root: str) -> Iterator[str]:
    """Regular files below root, following symlinks but each real file and directory once."""
    seen_dirs: set[tuple[int, int]] = set()
    seen_files: set[tuple[int, int]] = set()
    stack = [root]
    while stack:
        d = stack.pop()
        try:
            st = os.stat(d)
        except OSError:
            continue
        if (st.st_dev, st.st_ino) in seen_dirs:
            continue
        seen_dirs.add((st.st_dev, st.st_ino))
        try:
            entries = sorted(os.scandir(d), key=lambda e: e.name)
        except OSError:
            continue
        subdirs = []
        for e in entries:
            try:
                est = os.stat(e.path)
            except OSError:
                continue  # dangling symlink
            if stat.S_ISDIR(est.st_mode):
                subdirs.append(e.path)
            elif stat.S_ISREG(est.st_mode) and (est.st_dev, est.st_ino) not in seen_files:
                seen_files.add((est.st_dev, est.st_ino))
                yield e.path
        stack.extend(reversed(subdirs))


def _scan_dir(d: str, origin: str, out: Collected, root: str | None = None,
              package: str | None = None) -> None:
    for p in walk(d):
        head = file_magic(p, 72)
        if head.startswith(ELF_MAGIC) or (head.startswith(AR_MAGIC) and not is_deb(p)):
            installed = "/" + os.path.relpath(p, root) if root else p
            _elf_targets(p, installed, origin, package, out, head)
        elif head.startswith(AR_MAGIC):
            _add_deb(p, out, origin=p)


def _add_deb(path: str, out: Collected, origin: str | None = None,
             consumers: bool = True, sha256: str | None = None) -> bool:
    """Unpack a .deb (its tree kept by content in the cache, abiguard.debian.unpacked, else
    into a private temporary directory) as an overlay; ``consumers``: its ELF files are
    targets too. ``sha256``: the file's, when apt checked it."""
    try:
        hit = unpacked(path, sha256)
        if hit is not None:
            root, info = hit
        else:
            info = read_deb_control(path)
            root = tempfile.mkdtemp(prefix="abiguard-deb-")
            out._tmp.append(root)
            os.chmod(root, 0o700)
            unpack_deb(path, root)
    except InputFileError as exc:
        out.errors.append(InputError(exc.path, exc.message))
        return False
    out.overlays.append(root)
    if consumers:
        before = len(out.targets)
        _scan_dir(root, origin or path, out, root=root, package=str(info))
        if len(out.targets) == before:
            out.notes.append(f"{info}: no ELF files in the package")
    return True


def collect(specs: list[str], *, with_deps: bool = False,
            provider_debs: list[str] | tuple[str, ...] = (),
            suite: str | None = None, notify: Notify = silent) -> Collected:
    """Turn inputs into targets, overlays and errors. Call ``cleanup()`` (or use ``with``).

    Positional inputs are consumers; ``provider_debs`` and, with ``with_deps``, the library
    packages the consumer packages depend on are unpacked as overlays only. Package names
    are apt's: its candidate (``NAME``) or exactly a version (``NAME=VERSION``), under this
    machine's apt configuration or, with ``suite``, that suite's (abiguard.debian.suites).
    The temporary directories are removed by ``cleanup()``, and right away when collecting
    fails. ``notify`` hears the download and unpack phases (abiguard.notify)."""
    out = Collected()
    try:
        _collect(out, specs, with_deps, list(provider_debs), suite, notify)
    except BaseException:
        out.cleanup()
        raise
    return out


@dataclass
class _Fetched:
    consumers: dict[str, Path] = field(default_factory=dict)
    """spec -> .deb"""
    deps: dict[str, Path] = field(default_factory=dict)
    """library package name -> .deb"""
    sha256: dict[Path, str | None] = field(default_factory=dict)
    """.deb -> its SHA-256 (checked against apt's record)"""
    errors: list[InputError] = field(default_factory=list)
    failed_download: bool = False


def _fetch(apt: Apt, names: list[str], local_debs: list[str], with_deps: bool,
           notify: Notify = silent) -> _Fetched:
    """apt's part: the records of the names (the version chosen first), their .debs (the
    cache, else a download), and with ``with_deps`` the library packages of those and of
    the local .debs that this machine does not have at exactly that version."""
    got = _Fetched()
    records = {}
    for spec, rec in apt.resolve(names).items():
        if isinstance(rec, AptError):
            got.errors.append(InputError(rec.subject, rec.reason))
        else:
            records[spec] = rec
    debs = apt.download(records.values(), notify=notify)
    for spec, rec in records.items():
        deb = debs[rec.name]
        if isinstance(deb, AptError):
            got.errors.append(InputError(deb.subject, deb.reason))
            got.failed_download = True
        else:
            got.consumers[spec] = deb
            got.sha256[deb] = rec.sha256
    if with_deps:
        infos: list[DebInfo] = []
        for p in [*got.consumers.values(), *map(Path, local_debs)]:
            try:
                hit = unpacked(str(p), got.sha256.get(p))
                infos.append(hit[1] if hit is not None else read_deb_control(str(p)))
            except InputFileError:
                continue  # reported when the package itself was read
        installed = installed_versions()
        deps = [d for d in apt.closure(infos, exclude=[i.package for i in infos])
                if installed.get(d.name) != d.version]  # else this machine has exactly it
        shas = {d.name: d.sha256 for d in deps}
        for name, deb in apt.download(deps, notify=notify).items():
            if isinstance(deb, AptError):
                got.errors.append(InputError("--with-deps", str(deb)))
                got.failed_download = True
            else:
                got.deps[name] = deb
                got.sha256[deb] = shas.get(name)
    return got


def _collect(out: Collected, specs: list[str], with_deps: bool, provider_debs: list[str],
             suite: str | None, notify: Notify = silent) -> None:
    apt_names: list[str] = []
    local_debs: list[str] = []
    for spec in specs:
        if spec.startswith("apt:") or is_package_name(spec):
            apt_names.append(spec.removeprefix("apt:"))
            continue
        if not os.path.exists(spec):
            out.errors.append(InputError(spec, "no such file or directory"))
            continue
        if os.path.isdir(spec):
            before = len(out.targets), len(out.errors)
            _scan_dir(spec, spec, out)
            if (len(out.targets), len(out.errors)) == before:
                out.notes.append(f"{spec}: no ELF files found")
        elif not os.path.isfile(spec):
            out.errors.append(InputError(spec, "not a regular file"))
        elif is_deb(spec):
            if _add_deb(spec, out):
                local_debs.append(spec)
        else:
            _elf_targets(spec, spec, spec, None, out)
    for deb in provider_debs:
        _add_deb(deb, out, consumers=False)
    if not apt_names and not (with_deps and local_debs):
        return
    apt, derived = apt_for(suite)
    got = _fetch(apt, apt_names, local_debs, with_deps, notify)
    if got.failed_download and derived is not None and (derived.lists_age() or 0) > 60:
        derived.update(force=True)  # the archive moved on since its lists were fetched
        got = _fetch(apt, apt_names, local_debs, with_deps, notify)
    out.errors += got.errors
    at = f"/{suite}" if suite else ""
    if got.consumers:
        notify("unpack", f"unpacking {len(got.consumers)} package(s)")
    for spec, path in got.consumers.items():
        _add_deb(str(path), out, origin=f"apt:{spec}{at}", sha256=got.sha256.get(path))
    if got.deps:
        notify("unpack", f"unpacking {len(got.deps)} library package(s) for resolution")
    for path in got.deps.values():
        _add_deb(str(path), out, consumers=False, sha256=got.sha256.get(path))
    if got.deps:
        where = f" from {suite}" if suite else ""
        out.notes.append(f"library packages fetched{where} for resolution: "
                         + ", ".join(sorted(got.deps)))
