"""A census worker's state, shared by the tasks it runs: the policy, apt clients, the
resolver's cache of parsed ELF files and the bindings made from them
(:class:`abiguard.resolve.ResolverCache`: a library used by a thousand consumers is read once
per worker), the file index of each unpacked package; layers looked up in those indexes and a
resolver on that cache for each task (public parts of :mod:`abiguard.resolve`).

Module globals: one copy per worker process (:data:`STATE`), shared by its threads.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import threading
from collections.abc import Callable

from ..debian.apt import Apt, AptConfig, installed_versions
from ..policy import Policy
from ..resolve import (
    IndexedLayers,
    Layers,
    Resolver,
    ResolverCache,
    RootIndex,
    SysrootMemo,
    index_root,
)
from .config import Config
from .workdirs import run_dir


class WorkerState:
    """The state of one worker process (see the module's docstring)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.private_dir: str | None = None
        self.policies: dict[tuple[str, ...], Policy] = {}
        self.installed: dict[str, str] | None = None
        self.apt_clients: dict[tuple[AptConfig | None, str | None], Apt] = {}
        self.sys_cache: SysrootMemo = {}
        self.indexes: dict[str, RootIndex] = {}
        self.canon: Callable[[str], str] | None = None
        self.resolver_cache = ResolverCache()
        """Parsed ELF files and the bindings made from them, shared by the tasks of this
        worker (what a task unpacked is purged after it)."""

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
        """A resolver for one task on the worker's cache (parsed libraries keyed by real
        path, at most ``elf_cache_limit`` files) and the worker's policy."""
        cache = self.resolver_cache
        cache.max_files = config.elf_cache_limit
        return Resolver(layers, self.policy(config), cache=cache)

    def forget(self, prefix: str) -> None:
        """Drop what the caches hold of the files under prefix (a finished task's)."""
        self.resolver_cache.purge(prefix)
        for p in self.policies.values():
            p.purge(prefix)

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
        """The policy, loaded once per worker and shared by its tasks: each library is
        classified once (the classifications of a task's own files are purged after it,
        :meth:`forget`)."""
        with self.lock:
            p = self.policies.get(config.policies)
            if p is None:
                p = self.policies[config.policies] = Policy.load(list(config.policies))
        return p

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


__all__ = ["STATE", "WorkerState"]
