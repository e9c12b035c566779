"""A model of the dynamic linker (glibc's ld.so), run on files, never executed.

For one consumer it computes the load order (:mod:`.search`) and binds every symbol its
dynamic relocations look up (:mod:`.binding`), over a file system view of unpacked packages
and a sysroot (:mod:`.layers`), remembering what holds across consumers in a
:class:`ResolverCache` (:mod:`.cache`) that resolvers may share.

Public names::

    Resolver(layers, policy, cache=ResolverCache(...), ld_library_path=..., lib_paths=...,
             extra_needed=...)
        .resolve(consumer, installed) -> (libraries, bindings)
        .load_order(consumer, installed), .bind(consumer, order), .remember(elf),
        .read(path), .find_by_glob(pattern, consumer), .relocations_of(obj), .location(...)
    ResolverCache(max_files).purge(prefix) / .trim() / .clear()
    Layers(sysroot, overlays), IndexedLayers(sysroot, overlays, indexes, sys_cache),
    RootIndex, index_root(root, canonical), read_ld_so_conf(layers)
    LoadedObject, LoadOrder, default_dirs, multiarch_triplet, relocation_order, match
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .binding import relocation_order
from .cache import LibraryFile, ResolverCache, match
from .layers import Layers, read_ld_so_conf
from .resolver import Resolver
from .search import (
    DF_1_NODEFLIB,
    LoadedObject,
    Loader,
    LoadOrder,
    default_dirs,
    multiarch_triplet,
)

if TYPE_CHECKING:
    from .indexed import IndexedLayers, RootIndex, SysrootMemo, index_root

_INDEXED = frozenset({"IndexedLayers", "RootIndex", "SysrootMemo", "index_root"})
"""The census's indexed view (:mod:`.indexed`), named here but loaded with its first use: a
scan never needs it."""


def __getattr__(name: str) -> Any:
    if name in _INDEXED:
        from . import indexed

        value = getattr(indexed, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["DF_1_NODEFLIB", "IndexedLayers", "Layers", "LibraryFile", "LoadOrder",
           "LoadedObject", "Loader", "Resolver", "ResolverCache", "RootIndex", "SysrootMemo",
           "default_dirs", "index_root", "match", "multiarch_triplet", "read_ld_so_conf",
           "relocation_order"]
