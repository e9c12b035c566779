"""The census's view of the file system (:class:`IndexedLayers`): the resolver's
:class:`~abiguard.resolve.layers.Layers` with an index of each overlay's files (a census asks
thousands of paths of the same unpacked library packages) and a shared memo of the sysroot's
answers. Named by abiguard.resolve, loaded with the first use: a scan never needs it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

from .layers import Layers


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


__all__ = ["IndexedLayers", "RootIndex", "SysrootMemo", "index_root"]
