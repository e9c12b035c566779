"""The file system the resolver searches: unpacked packages (overlays) over a sysroot.

Paths given to the resolver are *installed* paths (``/usr/lib/x/libfoo.so.1``); a
:class:`Layers` maps them to real files, the first layer holding a path winning
(:class:`~abiguard.resolve.indexed.IndexedLayers`: the census's, with an index of each
overlay's files). ``read_ld_so_conf`` reads the sysroot's ld.so.conf through the layers.
"""

from __future__ import annotations

import glob
import os
import posixpath
from collections.abc import Iterable
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
