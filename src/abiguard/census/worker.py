"""A census worker's state, shared by the tasks it runs: the policy, apt clients, the parsed
ELF files and bindings the resolver keeps (a library used by a thousand consumers is read once
per worker), the file index of each unpacked package; and the resolver glue that uses them
(layers looked up in those indexes, a resolver with the worker's caches).

Module globals: one copy per worker process (:data:`STATE`), shared by its threads.
"""

from __future__ import annotations

import atexit
import dataclasses
import os
import shutil
import socket
import threading
from typing import Any

from ..debian.apt import Apt, AptConfig, installed_versions
from ..policy import Policy
from ..resolve import Layers, LoadedObject, Resolver
from .config import Config
from .workdirs import run_dir


@dataclasses.dataclass(frozen=True)
class RootIndex:
    """The files of an unpacked package: canonical installed path (merged /usr) -> (the
    installed path it has in the package, its path under root), and the installed paths of
    its directory symlinks with a trailing '/' (in both forms): paths under those are asked
    of the file system (the walk does not follow them)."""

    files: dict[str, tuple[str, str]]
    linked: tuple[str, ...] = ()


def index_root(root: str, canonical: Any) -> RootIndex:
    """The :class:`RootIndex` of an unpacked package root."""
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


@dataclasses.dataclass
class IndexedLayers(Layers):
    """Layers whose overlays (unpacked packages) are looked up in an index of their
    files: a package's /lib/x/libfoo.so.1 is found as /usr/lib/x/libfoo.so.1 too when
    the sysroot has merged /usr, as once installed. Sysroot answers are cached (the
    sysroot does not change during a run)."""

    indexes: list[RootIndex] = dataclasses.field(default_factory=list)
    sys_cache: dict[str, tuple[str, str] | None] = dataclasses.field(default_factory=dict)

    def locate(self, installed: str) -> tuple[str, str] | None:
        canon = self.canonical(installed)
        for root, idx in zip(self.overlays, self.indexes):
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
        if canon in self.sys_cache:
            return self.sys_cache[canon]
        hit = self.sys_cache[canon] = self.locate_in(self.sysroot, (canon,))
        return hit


class CensusResolver(Resolver):
    """The resolver with the worker's caches: parsed ELF files, with the export index
    each builds on first lookup (shared by every task of the worker), real paths and the
    bindings made for each scope of libraries (the sysroot and the unpacked library
    packages do not change during a run; what was under a task's directory is dropped
    after it)."""

    def __init__(self, layers: Layers, *, policy: Policy, realpaths: dict[str, str],
                 elf_cache: dict[str, Any], bindings: dict[Any, Any]) -> None:
        super().__init__(layers, policy=policy)
        self._search_memo: dict[tuple[str, int, str, int], Any] = {}
        self._elf_cache = elf_cache
        self._realpaths = realpaths
        self._bindings = bindings

    def _search(self, name: str, loader: LoadedObject, consumer: Any) -> Any:
        """Memoised (per task) for loaders without RPATH/RUNPATH in their chain: then
        the answer depends only on the name and the consumer's class and machine."""
        chain: LoadedObject | None = loader
        while chain is not None:
            if chain.elf is not None and (chain.elf.rpath or chain.elf.runpath):
                return super()._search(name, loader, consumer)
            chain = chain.loader
        if "/" in name or loader.elf is None:
            return super()._search(name, loader, consumer)
        k = (name, consumer.elf_class, consumer.machine, loader.elf.flags_1 & 0x800)
        if k not in self._search_memo:
            self._search_memo[k] = super()._search(name, loader, consumer)
        return self._search_memo[k]


def purge(cache: dict[Any, Any], prefix: str) -> None:
    """Drop the entries of paths under prefix (a finished task's files)."""
    for k in [k for k in list(cache) if isinstance(k, str) and k.startswith(prefix)]:
        cache.pop(k, None)


def purge_scopes(bindings: dict[Any, Any], prefix: str) -> None:
    """Drop the bindings of scopes with an object under prefix (a finished task's files)."""
    for k in [k for k in list(bindings) if any(r and r.startswith(prefix) for _, _, r, *_ in k)]:
        bindings.pop(k, None)


class WorkerState:
    """The state of one worker process (see the module's docstring)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.private_dir: str | None = None
        self.elf_cache: dict[str, Any] = {}
        self.policies: dict[tuple[str, ...], Policy] = {}
        self.installed: dict[str, str] | None = None
        self.apt_clients: dict[tuple[AptConfig | None, str | None], Apt] = {}
        self.sys_cache: dict[str, tuple[str, str] | None] = {}
        self.indexes: dict[str, RootIndex] = {}
        self.canon: Any = None
        self.realpaths: dict[str, str] = {}
        self.bindings: dict[Any, Any] = {}

    def root_index(self, root: str, config: Config, cache: bool = True) -> RootIndex:
        """The file index of an unpacked package (cached for library roots)."""
        hit = self.indexes.get(root) if cache else None
        if hit is None:
            if self.canon is None:
                self.canon = Layers(config.sysroot).canonical
            hit = index_root(root, self.canon)
            if cache:
                with self.lock:
                    if len(self.indexes) > 20000:
                        self.indexes.clear()
                    self.indexes[root] = hit
        return hit

    def layers(self, config: Config, overlays: list[str], indexes: list[RootIndex]) -> Layers:
        return IndexedLayers(config.sysroot, list(overlays), indexes=indexes,
                             sys_cache=self.sys_cache)

    def resolver(self, layers: Layers, config: Config) -> Resolver:
        """A resolver for one task, sharing the worker's parsed libraries (keyed by real
        path); the caches are emptied when they grew over the limit."""
        if (len(self.elf_cache) > config.elf_cache_limit
                or len(self.bindings) > config.elf_cache_limit):
            self.elf_cache.clear()
            self.realpaths.clear()
            self.bindings.clear()
        return CensusResolver(layers, policy=self.policy(config), realpaths=self.realpaths,
                              elf_cache=self.elf_cache, bindings=self.bindings)

    def forget(self, prefix: str) -> None:
        """Drop what the caches hold of the files under prefix (a finished task's)."""
        for cache in (self.elf_cache, self.realpaths):
            purge(cache, prefix)
        purge_scopes(self.bindings, prefix)

    def scratch(self, config: Config) -> str:
        """Where a package is unpacked for its scan: the run's scratch directory (on a RAM
        file system: thousands of directories are made and removed per package), else the
        work directory."""
        if config.scratch and os.path.isdir(config.scratch):
            return config.scratch
        return self.workdir(config)

    def workdir(self, config: Config) -> str:
        with self.lock:
            base = config.workdir if config.workdir and os.path.isdir(config.workdir) else None
            if base is None:
                if self.private_dir is None or not os.path.isdir(self.private_dir):
                    # named after this process: removed at exit, or by a later run's
                    # prune_stale when the process was killed
                    self.private_dir = run_dir(None)
                    atexit.register(shutil.rmtree, self.private_dir, True)
                base = self.private_dir
            return base

    def policy(self, config: Config) -> Policy:
        """The policy, loaded once per worker; a shallow copy per task with its own cache of
        library classifications (keyed by file: a finished task's files are gone)."""
        with self.lock:
            p = self.policies.get(config.policies)
            if p is None:
                p = self.policies[config.policies] = Policy.load(list(config.policies))
        return p.fresh()

    def installed_versions(self, config: Config) -> dict[str, str]:
        if config.sysroot != "/":
            return {}  # the host's dpkg database says nothing about another sysroot
        with self.lock:
            if self.installed is None:
                self.installed = installed_versions()
            return self.installed

    @property
    def host(self) -> str:
        return f"{socket.gethostname()}:{os.getpid()}"


STATE = WorkerState()


__all__ = ["STATE", "CensusResolver", "IndexedLayers", "RootIndex", "WorkerState",
           "index_root", "purge", "purge_scopes"]
