"""The resolver: a consumer's load order (abiguard.resolve.search), its bindings
(abiguard.resolve.binding) and its libraries, classified by the policy."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..model import Binding, ElfObject, Library
from ..policy import Policy
from .binding import Binder
from .cache import CLASS, ResolverCache
from .layers import Layers
from .search import LoadedObject, Loader

_NODES = ("version nodes",)
"""The memo key of a library file's version nodes (base excluded), as Library lists them."""


class Resolver(Loader):
    """Resolve consumers against a set of layers, as glibc's ld.so would, and classify what
    they bind to with a policy. ``cache`` holds what it learns (files read, bindings made):
    give one :class:`ResolverCache` to several resolvers to share it (a census worker's tasks),
    with :meth:`ResolverCache.purge` for what a task leaves behind."""

    def __init__(self, layers: Layers | None = None, policy: Policy | None = None, *,
                 cache: ResolverCache | None = None, ld_library_path: Iterable[str] = (),
                 lib_paths: Iterable[str] = (), extra_needed: Iterable[str] = ()) -> None:
        super().__init__(layers, cache=cache, ld_library_path=ld_library_path,
                         lib_paths=lib_paths, extra_needed=extra_needed)
        self.policy = policy or Policy.load()
        self._binder: Binder | None = None

    @property
    def binder(self) -> Binder:
        b = self._binder
        if b is None or b.policy is not self.policy:
            b = self._binder = Binder(self, self.policy)
        return b

    def bind(self, consumer: ElfObject, order: Sequence[LoadedObject]) -> list[Binding]:
        """The bindings of the consumer's imports (and of the relocations against its own
        definitions that ld.so binds elsewhere), in the order of its imports."""
        return self.binder.bind(consumer, order)

    def resolve(self, consumer: ElfObject, installed: str | None = None
                ) -> tuple[list[Library], list[Binding]]:
        self.cache.trim()
        order = self.load_order(consumer, installed)
        binder = self.binder
        bindings = binder.bind(consumer, order)
        policy = self.policy
        libraries: list[Library] = []
        for obj in order[1:]:
            needed_by = obj.loader.name if obj.loader else ""
            elf = obj.elf
            if elf is None:
                stab, ev = policy.classify_library(obj.name, None,
                                                   self.location(obj, consumer))
                libraries.append(Library(name=obj.name, path=None, soname=None,
                                         found_via=obj.found_via, needed_by=needed_by,
                                         depth=obj.depth, stability=stab, evidence=ev))
                continue
            memo = binder.provider_memo(obj, consumer)
            lkey = (obj.name, needed_by, obj.depth)
            lib = memo.get(lkey)
            if not isinstance(lib, Library):
                key = elf.soname or obj.name
                lib_class = memo.get(CLASS)
                if lib_class is None:
                    lib_class = memo[CLASS] = policy.classify_library(
                        key, elf, self.location(obj, consumer))
                stab, ev = lib_class
                nodes = memo.get(_NODES)
                if nodes is None:
                    nodes = memo[_NODES] = tuple(d.name for d in elf.version_defs
                                                 if not d.is_base)
                lib = memo[lkey] = Library(
                    name=obj.name, path=obj.installed, soname=elf.soname,
                    found_via=obj.found_via, needed_by=needed_by, depth=obj.depth,
                    stability=stab, evidence=ev, version_defs=nodes)
            libraries.append(lib)
        return libraries, bindings
