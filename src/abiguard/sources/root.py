"""The ``root`` kind: an unpacked package (a directory with usr/, lib/, DEBIAN/, ...; what
``dpkg-deb -R`` makes).

A bare directory on the command line is the ``directory`` kind (its files as they are); a
root is named as one by the census (``--roots DIR``, or a census input directory without .deb
files), or built by a program (``RootSource(path)``). It is scanned where it is, its ELF files
known by their installed paths, and it is an overlay the resolver looks into. Its census key
comes from ``DEBIAN/control`` (else the directory name) and a hash of its whole tree.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ..errors import InputFileError
from .base import Context, Source
from .tree import scan_tree

if TYPE_CHECKING:
    from .faces import CensusPart
    from .package import Fetch, Key, Opened, PackageRef, Stamp

# (hashlib and the control-file parser when a root is read: the kind is registered in every
# process, most of which never see a root.)

_ROOT_MARKERS = ("usr", "lib", "lib64", "bin", "sbin", "opt", "etc", "DEBIAN")


def is_root(d: str) -> bool:
    """Whether a directory looks like an unpacked package (has usr/, lib/, DEBIAN/, ...)."""
    return os.path.isdir(d) and any(os.path.isdir(os.path.join(d, s)) for s in _ROOT_MARKERS)


def root_ref(d: str) -> PackageRef:
    """One unpacked root. Name, version and architecture come from DEBIAN/control
    (``dpkg-deb -R``) when there is one, else the directory name."""
    from ..debian.control import first_paragraph
    from .package import PackageRef

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


def tree_hash(root: str) -> str:
    """Content hash of an unpacked root: every path, link target and file content."""
    import hashlib

    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames) + [d for d in dirnames
                                         if os.path.islink(os.path.join(dirpath, d))]:
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, root)
            if os.path.islink(p):
                h.update(f"L {rel}\0{os.readlink(p)}\n".encode())
            elif os.path.isfile(p):
                h.update(f"F {rel}\0".encode())
                try:
                    with open(p, "rb") as fh:
                        while chunk := fh.read(1 << 20):
                            h.update(chunk)
                except OSError:
                    h.update(b"<unreadable>")
                h.update(b"\n")
    return "tree:" + h.hexdigest()


class RootSource(Source):
    """A directory of unpacked roots (itself one, or holding some)."""

    kind = "root"

    @classmethod
    def recognise(cls, spec: str, suite: str | None) -> RootSource | None:
        return None  # a directory named on the command line is the directory kind

    def collect(self, ctx: Context) -> None:
        refs = root_refs(self.spec) if os.path.isdir(self.spec) else []
        if not refs:
            ctx.error(self.spec, "no unpacked package root")
        for ref in refs:
            root = ref.path or ""
            ctx.out.overlays.append(root)
            before = ctx.out.found
            scan_tree(root, root, ctx, root=root, package=str(ref))
            if ctx.out.found == before:
                ctx.out.notes.append(f"{ref}: no ELF files in the package")

    def census(self) -> CensusPart:
        from .faces import CensusPart

        return CensusPart(roots=(self.spec,))


class RootPackages:
    """The census's packages of kind ``root``: scanned where they are."""

    name = "root"

    def identify(self, ref: PackageRef) -> Key:
        try:
            sha = tree_hash(ref.path or "")
        except OSError:
            sha = ""
        return (ref.name, ref.version, ref.arch, sha)

    def stamp(self, ref: PackageRef) -> Stamp | None:
        if not ref.path or not os.path.exists(ref.path):
            return None
        from .package import Stamp

        return Stamp(0, 0, tree_signature(ref.path))

    def lasting(self, ref: PackageRef) -> str | None:
        return ref.path

    def open(self, ref: PackageRef, fetch: Fetch) -> Opened:
        from .package import Opened

        return Opened(self.identify(ref), ref.depends, ref.pre_depends, str(ref))

    def unpack(self, ref: PackageRef, opened: Opened | None, fetch: Fetch, into: str) -> None:
        raise InputFileError(ref.path or ref.name, "an unpacked root has no path")


__all__ = ["RootPackages", "RootSource", "is_root", "root_ref", "root_refs", "tree_hash",
           "tree_signature"]
