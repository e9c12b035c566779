"""A toy input kind, added to abiguard through its registry only (tests/sources/test_sources.py).

``NAME.tar``: a tar archive of an unpacked package tree (``tar -cf x.tar -C ROOT .``), its
``DEBIAN/control`` naming the package. Importing this module registers the kind (input kind
and census package kind), as a third-party module would; it uses nothing but the public API of
abiguard.sources.
"""

from __future__ import annotations

import hashlib
import os
import tarfile

from abiguard.debian.control import first_paragraph
from abiguard.errors import InputFileError
from abiguard.sources import (
    CensusPart,
    Context,
    Fetch,
    Key,
    LibraryTree,
    Opened,
    PackageRef,
    Source,
    Stamp,
    register,
    register_package,
    scan_tree,
)

KIND = "toytar"


def unpack(path: str, into: str) -> None:
    try:
        with tarfile.open(path) as tar:
            tar.extractall(into, filter="data")
    except (OSError, tarfile.TarError) as exc:
        raise InputFileError(path, f"cannot unpack the tar archive ({exc})") from None


def control(path: str) -> dict[str, str]:
    """The DEBIAN/control fields inside the archive ({} when there is none)."""
    try:
        with tarfile.open(path) as tar:
            for name in ("./DEBIAN/control", "DEBIAN/control"):
                try:
                    fh = tar.extractfile(name)
                except KeyError:
                    continue
                if fh is not None:
                    return first_paragraph(fh.read().decode("utf-8", "replace"))
    except (OSError, tarfile.TarError):
        pass
    return {}


def ref_of(path: str) -> PackageRef:
    f = control(path)
    path = os.path.abspath(path)
    return PackageRef(f.get("package", os.path.basename(path)), f.get("version", ""),
                      f.get("architecture", ""), None, os.path.getsize(path), path,
                      depends=f.get("depends", ""), pre_depends=f.get("pre-depends", ""),
                      kind=KIND)


class TarSource(Source):
    kind = KIND

    @classmethod
    def recognise(cls, spec: str, suite: str | None) -> TarSource | None:
        if spec.endswith(".tar") and os.path.isfile(spec) and tarfile.is_tarfile(spec):
            return cls(spec)
        return None

    def _unpacked(self, ctx: Context) -> tuple[str, str]:
        root = ctx.tempdir("abiguard-toytar-")
        unpack(self.spec, root)
        return root, str(ref_of(self.spec))

    def collect(self, ctx: Context) -> None:
        try:
            root, label = self._unpacked(ctx)
        except InputFileError as exc:
            ctx.error(exc.path, exc.message)
            return
        ctx.out.overlays.append(root)
        scan_tree(root, self.spec, ctx, root=root, package=label)

    def census(self) -> CensusPart:
        return CensusPart(refs=(ref_of(self.spec),))

    def library_tree(self, ctx: Context) -> LibraryTree:
        root, label = self._unpacked(ctx)
        return LibraryTree(label, root, installed_root=root, package=label, lib_dirs=())


class TarPackages:
    name = KIND

    def identify(self, ref: PackageRef) -> Key:
        h = hashlib.sha256()
        with open(ref.path or "", "rb") as fh:
            h.update(fh.read())
        return (ref.name, ref.version, ref.arch, "tar:" + h.hexdigest())

    def stamp(self, ref: PackageRef) -> Stamp | None:
        st = os.stat(ref.path or "")
        return Stamp(st.st_size, st.st_mtime_ns)

    def lasting(self, ref: PackageRef) -> str | None:
        return None

    def open(self, ref: PackageRef, fetch: Fetch) -> Opened:
        return Opened(self.identify(ref), ref.depends, ref.pre_depends, str(ref),
                      ref.size, ref.path)

    def unpack(self, ref: PackageRef, opened: Opened | None, fetch: Fetch, into: str) -> None:
        unpack(ref.path or "", into)


def register_kind() -> None:
    register(TarSource)
    register_package(TarPackages())


register_kind()
