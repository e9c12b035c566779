"""The ``deb`` kind: a .deb file (an existing regular file that is a Debian package).

Scanned: unpacked into a private temporary directory (:mod:`abiguard.debian.deb`: nothing is
executed, every path stays inside), its ELF files are the targets, known by their installed
paths, and the unpacked tree is an overlay the resolver looks into. In a census it is one
package, keyed by its control file and SHA-256 (:class:`DebPackages`, also the kind of the
packages apt downloads); in ``impact`` a library set or a headers package.
"""

from __future__ import annotations

import _thread
import os
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from ..debian.magic import is_deb
from ..errors import InputFileError
from .base import Context, Source
from .tree import scan_tree

if TYPE_CHECKING:
    from ..debian.deb import DebInfo
    from .faces import CensusPart, LibraryTree, Relations
    from .package import Fetch, Key, Opened, PackageRef, Stamp

# (Reading and unpacking a .deb, its cache and SHA-256: imported when a .deb is opened, so
# that recognising the inputs of a scan of files, which asks whether each is a .deb, loads
# none of it.)

_DEB_NAME = re.compile(r"^([a-z0-9][a-z0-9+.-]+)_([^_/]+)_([a-z0-9-]+)\.deb$")


def add_deb(path: str, ctx: Context, origin: str | None = None,
            consumers: bool = True, sha256: str | None = None) -> DebInfo | None:
    """Unpack a .deb as an overlay (its tree kept by content in the cache,
    abiguard.debian.unpacked, else into a private temporary directory) and, with
    ``consumers``, its ELF files as targets of ``origin``. ``sha256``: the file's, when apt
    checked it. Its control data, or None when it could not be read (an input error)."""
    from ..debian.deb import read_deb_control, unpack_deb
    from ..debian.unpacked import unpacked

    out = ctx.out
    try:
        hit = unpacked(path, sha256)
        if hit is not None:
            root, info = hit
        else:
            info = read_deb_control(path)
            root = ctx.tempdir("abiguard-deb-")
            unpack_deb(path, root)
    except InputFileError as exc:
        ctx.error(exc.path, exc.message)
        return None
    out.overlays.append(root)
    if consumers:
        before = out.found
        scan_tree(root, origin or path, ctx, root=root, package=str(info))
        if out.found == before:
            out.notes.append(f"{info}: no ELF files in the package")
    return info


def package_label(path: str) -> str:
    """'name version' of a .deb (raises InputFileError)."""
    from ..debian.deb import read_deb_control

    info = read_deb_control(path)
    return f"{info.package} {info.version}"


def unpack_headers(path: str, ctx: Context) -> str:
    """The C headers of a .deb, unpacked: its usr/include (or the root, when it has none)."""
    from ..debian.deb import unpack_deb

    root = ctx.tempdir("abiguard-impact-")
    unpack_deb(path, root, wanted=lambda rel, _head: rel.endswith(".h"))
    inc = os.path.join(root, "usr", "include")
    return inc if os.path.isdir(inc) else root


def library_tree_of(path: str, ctx: Context) -> LibraryTree:
    """A .deb as a library set: unpacked, its libraries known by their installed paths."""
    from ..debian.deb import unpack_deb
    from .faces import LibraryTree

    label = package_label(path)
    root = ctx.tempdir("abiguard-impact-")
    unpack_deb(path, root)
    return LibraryTree(label, root, installed_root=root, package=label, provider_deb=path,
                       lib_dirs=(), empty=f"{label} contains no shared libraries")


class DebSource(Source):
    """A local .deb file."""

    kind = "deb"

    def __init__(self, spec: str, suite: str | None = None, *, named: bool = True,
                 consumers: bool = True) -> None:
        super().__init__(spec, suite, named=named)
        self.consumers = consumers
        """False: a provider only (``--provider``): unpacked for resolution, not scanned."""
        self.info: DebInfo | None = None

    @classmethod
    def recognise(cls, spec: str, suite: str | None) -> DebSource | None:
        return cls(spec, suite) if os.path.isfile(spec) and is_deb(spec) else None

    def collect(self, ctx: Context) -> None:
        self.info = add_deb(self.spec, ctx, consumers=self.consumers)

    def related(self) -> Sequence[Relations]:
        from .faces import Relations

        if self.info is None or not self.named or not self.consumers:
            return ()
        return (Relations.of(self.info),)

    def census(self) -> CensusPart:
        from .faces import CensusPart

        return CensusPart(debs=(self.spec,))

    def library_tree(self, ctx: Context) -> LibraryTree:
        return library_tree_of(self.spec, ctx)

    def header_path(self, ctx: Context) -> tuple[str, str]:
        return unpack_headers(self.spec, ctx), package_label(self.spec)


# --------------------------------------------------------------------------------------------
# Census packages of kind "deb": local .deb files and packages apt downloads
# --------------------------------------------------------------------------------------------

_CONTROLS: dict[str, DebInfo | InputFileError] = {}
_LOCK = _thread.allocate_lock()  # (threading.Lock, without importing threading)


def control(path: str) -> DebInfo:
    """A .deb's control data, remembered per process (a census worker reads a local package's
    control for its key, its relations and as a dependency of others)."""
    from ..debian.deb import read_deb_control

    with _LOCK:
        hit = _CONTROLS.get(path)
    if hit is None:
        try:
            hit = read_deb_control(path)
        except InputFileError as exc:
            hit = exc
        with _LOCK:
            if len(_CONTROLS) > 5000:
                _CONTROLS.clear()
            _CONTROLS[path] = hit
    if isinstance(hit, InputFileError):
        raise hit
    return hit


class DebPackages:
    """The census's packages of kind ``deb``."""

    name = "deb"

    def identify(self, ref: PackageRef) -> Key:
        from ..debian.apt import sha256_file

        try:
            sha = sha256_file(ref.path or "")
        except OSError:
            sha = ""
        try:
            info = control(ref.path or "")
            return (info.package, info.version, info.architecture, sha)
        except InputFileError:
            return (ref.name, ref.version, ref.arch, sha)

    def stamp(self, ref: PackageRef) -> Stamp | None:
        try:
            st = os.stat(ref.path or "")
        except OSError:
            return None
        from .package import Stamp

        return Stamp(st.st_size, st.st_mtime_ns)

    def lasting(self, ref: PackageRef) -> str | None:
        return None

    def open(self, ref: PackageRef, fetch: Fetch) -> Opened:
        from ..debian.apt import sha256_file
        from .package import FetchError, Opened, Unreadable

        deb = fetch(ref)
        # a download (or cache hit) of abiguard.debian.apt is checked against the index
        sha = ref.sha256 if ref.sha256 and not ref.path else sha256_file(deb)
        if ref.sha256 and sha != ref.sha256:
            raise FetchError(f"{deb}: SHA-256 {sha[:12]}… does not match the index "
                             f"({ref.sha256[:12]}…)")
        if ref.sha256 and ref.version:  # the index describes exactly this content
            return Opened((ref.name, ref.version, ref.arch, sha), ref.depends,
                          ref.pre_depends, f"{ref.name} {ref.version} {ref.arch}",
                          os.path.getsize(deb), deb)
        try:
            info = control(deb)
        except InputFileError as exc:
            raise Unreadable((ref.name, ref.version, ref.arch, sha),
                             exc.message if exc.path == deb else str(exc)) from None
        return Opened((info.package, info.version, info.architecture, sha), info.depends,
                      info.pre_depends, str(info), os.path.getsize(deb), deb)

    def unpack(self, ref: PackageRef, opened: Opened | None, fetch: Fetch, into: str) -> None:
        from ..debian.deb import unpack_deb

        unpack_deb(opened.file if opened is not None and opened.file else fetch(ref), into)


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
    from .package import PackageRef

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


__all__ = ["DebPackages", "DebSource", "add_deb", "control", "deb_refs", "find_debs",
           "library_tree_of", "package_label", "parse_deb_filename", "unpack_headers"]
