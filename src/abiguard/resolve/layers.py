"""The file system the resolver searches: unpacked packages (overlays) over a sysroot.

Paths given to the resolver are *installed* paths (``/usr/lib/x/libfoo.so.1``); a
:class:`Layers` maps them to real files, the first layer holding a path winning.
:class:`IndexedLayers` is the same view with an index of each overlay's files (a census
asks thousands of paths of the same unpacked library packages) and a shared memo of the
sysroot's answers. ``read_ld_so_conf`` reads the sysroot's ld.so.conf through the layers.
"""

from __future__ import annotations

import glob
import os
import posixpath
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .. import limits


@dataclass
class Layers:
    """A file system view: unpacked packages (overlays) over a sysroot.

    Paths given to the resolver are *installed* paths ("/usr/lib/x/libfoo.so.1"); a layer
    maps them to real files. The first layer holding a path wins.
    """

    sysroot: str = "/"
    overlays: list[str] = field(default_factory=list)
    _aliases: dict[str, str] | None = field(default=None, repr=False)

    @property
    def roots(self) -> list[str]:
        return [*self.overlays, self.sysroot]

    def real(self, installed: str, root: str) -> str:
        return os.path.join(root, installed.lstrip("/"))

    def canonical(self, installed: str) -> str:
        """Follow the sysroot's top-level symlinks (merged /usr: /lib -> usr/lib), so that a
        package's /usr/lib file is found under /lib/... as it would be once installed."""
        if self._aliases is None:
            self._aliases = {}
            for top in ("lib", "lib32", "lib64", "libx32", "bin", "sbin"):
                link = os.path.join(self.sysroot, top)
                if os.path.islink(link):
                    target = os.readlink(link)
                    if not target.startswith("/"):
                        target = "/" + target
                    self._aliases["/" + top] = posixpath.normpath(target)
        first, sep, rest = installed.partition("/")[2].partition("/")
        alias = self._aliases.get("/" + first)
        return alias + sep + rest if alias else installed

    def locate(self, installed: str) -> tuple[str, str] | None:
        """(installed path, real file) of an installed path: in each layer its merged-/usr
        form first (a package's /usr/lib file is what /lib/... finds once installed), then
        the path as given (a package may ship files under /lib itself)."""
        forms = dict.fromkeys((self.canonical(installed), installed))
        for root in self.roots:
            hit = self.locate_in(root, forms)
            if hit:
                return hit
        return None

    def locate_in(self, root: str, forms: Iterable[str]) -> tuple[str, str] | None:
        """(installed path, real file) of the first of ``forms`` that is a file in root."""
        for form in forms:
            p = self.real(form, root)
            if os.path.isfile(p):
                return form, p
        return None

    def find(self, installed: str) -> str | None:
        hit = self.locate(installed)
        return hit[1] if hit else None

    def installed_path(self, real_path: str) -> str:
        """The installed path of a real file (inverse of ``real``)."""
        rp = os.path.abspath(real_path)
        for root in self.roots:
            r = os.path.abspath(root)
            if r == "/":
                continue
            if rp == r or rp.startswith(r.rstrip("/") + "/"):
                return "/" + os.path.relpath(rp, r)
        return rp


@dataclass(frozen=True)
class RootIndex:
    """The files of an unpacked package: canonical installed path (merged /usr) -> (the
    installed path it has in the package, its path under root), and the installed paths of
    its directory symlinks with a trailing '/' (in both forms): paths under those are asked
    of the file system (the walk does not follow them)."""

    files: dict[str, tuple[str, str]]
    linked: tuple[str, ...] = ()


def index_root(root: str, canonical: Callable[[str], str]) -> RootIndex:
    """The :class:`RootIndex` of an unpacked package root (``canonical``: the merged-/usr
    form of an installed path, ``Layers.canonical`` of the sysroot)."""
    files: dict[str, tuple[str, str]] = {}
    linked: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            p = os.path.join(dirpath, d)
            if os.path.islink(p):
                rel = "/" + os.path.relpath(p, root)
                linked += (rel + "/", canonical(rel) + "/")
        for f in filenames:
            p = os.path.join(dirpath, f)
            if os.path.isfile(p):
                rel = "/" + os.path.relpath(p, root)
                canon = canonical(rel)
                if canon not in files or rel == canon:  # /usr/lib/x before its /lib/x alias
                    files[canon] = (rel, p)
    return RootIndex(files, tuple(dict.fromkeys(linked)))


SysrootMemo = dict[str, tuple[str, str] | None]
"""Installed path (canonical) -> what the sysroot has there (``IndexedLayers.sys_cache``)."""


@dataclass
class IndexedLayers(Layers):
    """Layers whose overlays (unpacked packages) are looked up in an index of their files
    (``indexes``, one :class:`RootIndex` per overlay, made with :func:`index_root` when not
    given): a package's /lib/x/libfoo.so.1 is found as /usr/lib/x/libfoo.so.1 too when the
    sysroot has merged /usr, as once installed. The sysroot's answers are remembered in
    ``sys_cache``, which layers over the same sysroot may share (the sysroot does not change
    while they are used: a census shares it between the tasks of a worker)."""

    indexes: list[RootIndex] = field(default_factory=list)
    sys_cache: SysrootMemo = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.indexes) < len(self.overlays):
            self.indexes = [*self.indexes, *(index_root(o, self.canonical)
                                             for o in self.overlays[len(self.indexes):])]

    def locate(self, installed: str) -> tuple[str, str] | None:
        canon = self.canonical(installed)
        for root, idx in zip(self.overlays, self.indexes, strict=True):
            if not (idx.linked and (canon.startswith(idx.linked) or
                                    installed.startswith(idx.linked))):
                hit = idx.files.get(canon)
                if hit is not None:  # the path it is known by: canonical, else as asked
                    rel, p = hit
                    return (rel if rel == installed and rel != canon else canon), p
                continue
            found = self.locate_in(root, dict.fromkeys((canon, installed)))
            if found:
                return found
        try:
            return self.sys_cache[canon]
        except KeyError:
            hit = self.sys_cache[canon] = self.locate_in(self.sysroot, (canon,))
            return hit


def read_ld_so_conf(layers: Layers, path: str = "/etc/ld.so.conf",
                    _seen: set[str] | None = None) -> list[str]:
    """Directories listed in ld.so.conf of the sysroot, following ``include`` lines (a file
    included again, e.g. by an include loop, is read once; at most ``max_ld_so_conf_files``
    files, more is an InputFileError naming the file)."""
    seen = _seen if _seen is not None else set()
    if path in seen:
        return []
    cap = limits.current().max_ld_so_conf_files
    if len(seen) >= cap:
        raise limits.exceeded(path, f"more than {cap} ld.so.conf files through include lines",
                              "max_ld_so_conf_files", cap)
    seen.add(path)
    real = layers.find(path)
    if real is None:
        return []
    dirs: list[str] = []
    try:
        with open(real, encoding="utf-8", errors="replace") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return []
    for raw in lines:
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("include") and line[7:8] in (" ", "\t"):
            for pattern in line[8:].split():
                if not pattern.startswith("/"):
                    pattern = posixpath.join(posixpath.dirname(path), pattern)
                matches: set[str] = set()
                for root in layers.roots:
                    base = os.path.abspath(root)
                    for m in glob.glob(layers.real(pattern, root)):
                        rel = "/" + os.path.relpath(m, base) if base != "/" else m
                        matches.add(rel)
                for inc in sorted(matches):
                    dirs += read_ld_so_conf(layers, inc, seen)
        elif line.startswith("hwcap"):
            continue
        else:
            dirs += [d for d in line.replace(",", " ").split() if d.startswith("/")]
    return dirs
