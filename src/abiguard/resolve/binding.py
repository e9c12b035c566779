"""Symbol binding as glibc's ``do_lookup_x`` makes it, for exactly the symbols a consumer's
dynamic relocations look up (docs/bindings.md).

* The scope is the load order, the consumer itself first; the first object with a matching
  definition wins (``abiguard.resolve.cache.match``: versions, hidden definitions), a weak
  definition like a global one; a definition that is not global, weak or GNU unique hides the
  name in its object. The first object is found in O(1): a name -> defining files index
  (``ResolverCache.defined``), then the first of those in the consumer's scope order.
* Imports no relocation uses are ``declared``; an executable's canonical PLT entry satisfies
  every lookup but PLT-class ones; copy relocations are looked up skipping the executable;
  GNU unique symbols bind to the definition ld.so's first lookup of the name found
  (:class:`UniqueTable`, :func:`relocation_order`).
* A Binding is made once for every consumer that binds the same import to the same library
  found the same way (``ResolverCache.memo``): consumers share the objects.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from itertools import repeat

from ..fastnew import maker
from ..model import (
    REF_COPY,
    REF_OTHER,
    REF_PLT,
    Binding,
    CopyRelocation,
    ElfObject,
    ElfSymbol,
    Evidence,
    Stability,
    SymbolRef,
)
from ..policy import Policy
from ..policy.location import VIA
from .cache import ALLOWED_TYPES, CLASS, TAKEN, ImportKey, LibraryFile, Memo, import_key, match
from .search import LoadedObject, Loader

# An import's relocations when they are not known: it is looked up.
_LOOKUP = REF_PLT | REF_OTHER
_DECLARED = "declared only: no relocation uses it, ld.so never looks it up"
_SELF = ("declared only: its relocations bind to the program's own PLT entry for it "
         "(an undefined symbol with a value), never to a library")

Found = tuple[LoadedObject, ElfSymbol]

# Every field given, in order (abiguard.fastnew): a scan makes tens of thousands of these.
_new_binding = maker(Binding)
_new_ref = maker(SymbolRef)


class Scope:
    """A consumer's lookup scope: the objects of its load order after itself, each with its
    position (for the first-in-scope rule) and what was made from it (``memos``, also by
    library file: ``memo_of``)."""

    __slots__ = ("consumer", "defined", "memo_of", "memos", "objects", "pos")

    def __init__(self, binder: Binder, consumer: ElfObject,
                 order: Sequence[LoadedObject]) -> None:
        cache = binder.loader.cache
        self.consumer = consumer
        self.objects = [o for o in order[1:] if o.lib is not None]
        pos: dict[LibraryFile, int] = {}
        memos: list[Memo] = []
        memo_of: dict[LibraryFile, Memo] = {}
        generation = cache.generation
        for i, o in enumerate(self.objects):
            lib = o.lib
            assert lib is not None
            if lib.generation != generation:
                cache.index(lib)
            pos[lib] = i
            memo = binder.provider_memo(o, consumer)
            memos.append(memo)
            memo_of[lib] = memo
        self.pos = pos
        self.memos = memos
        self.memo_of = memo_of
        self.defined = cache.defined

    def find(self, sym: ElfSymbol, key: ImportKey | None = None
             ) -> tuple[int, ElfSymbol] | None:
        """do_lookup_x over the scope: (position of the first object with a definition the
        lookup takes, that definition). ``key``: the import's :func:`import_key`."""
        return self.find_key(import_key(sym) if key is None else key)

    def find_key(self, key: ImportKey) -> tuple[int, ElfSymbol] | None:
        """:meth:`find` of an import given by its :func:`import_key` alone."""
        name = key[0]
        libs = self.defined.get(name)
        if not libs:
            return None
        pos = self.pos
        if len(libs) > len(pos):  # a name many files define: walk the scope instead
            for at, o in enumerate(self.objects):
                lib = o.lib
                assert lib is not None
                if name in lib.defines():
                    d = lib.take(key)
                    if d is not None:
                        return at, d
            return None
        best = -1
        found = None
        for lib in libs:
            at = pos.get(lib, -1)
            if at >= 0 and (best < 0 or at < best):
                d = lib.take(key)
                if d is not None:
                    best, found = at, d
        return (best, found) if found is not None else None


class Binder:
    """Binds consumers for a :class:`~abiguard.resolve.Resolver` (its loader, cache and
    policy)."""

    def __init__(self, loader: Loader, policy: Policy) -> None:
        self.loader = loader
        self.policy = policy

    def provider_memo(self, obj: LoadedObject, consumer: ElfObject) -> Memo:
        """What was made from a loaded object (shared by every consumer that found the same
        file the same way: the same key, installed path, and what the policy's location
        source reads)."""
        assert obj.lib is not None and obj.elf is not None
        via = obj.found_via
        dirs = self.loader.system_dirs(consumer) if via in VIA else ()
        return self.loader.cache.memo(self.policy, (
            obj.lib.key, obj.elf.soname or obj.name, obj.installed, via, dirs))

    def bind(self, consumer: ElfObject, order: Sequence[LoadedObject]) -> list[Binding]:
        cache = self.loader.cache
        missing = [o.name for o in order if o.elf is None]
        scope = Scope(self, consumer, order)
        objects = scope.objects
        find_key = scope.find_key
        defined = scope.defined
        pos = scope.pos
        memos = scope.memos
        memo_of = scope.memo_of
        # What the consumer's relocations look up (None: not known, every import is).
        relocs = consumer.relocations
        looked: Iterable[bool] = repeat(True)
        special: Mapping[int, int] = {}
        if relocs is not None:
            looked, special = relocs.lookups()
        masks: Sequence[int] | None = None
        unique: UniqueTable | None = None
        declared = cache.declared
        out: list[Binding] = []
        append = out.append
        # The imports as keys (an ElfSymbol is built only for an import no Binding was made
        # for yet: most imports find one made for another consumer).
        imports = consumer.imports
        keys, valued = imports.keys()
        for i, (key, looks) in enumerate(zip(keys, looked)):
            if not looks:
                # No relocation uses it: ld.so never looks it up.
                name, version, _hidden, sbind, stype = key
                dkey = (name, version, stype, sbind)
                b = declared.get(dkey)
                if b is None:
                    b = declared[dkey] = Binding(SymbolRef(name, version), stype,
                                                 sbind == "WEAK", "declared",
                                                 reason=_DECLARED)
                append(b)
                continue
            if i in valued and relocs is not None:
                # An executable's canonical PLT entry (an undefined symbol with a value) is the
                # first definition in ld.so's scope for all but PLT-class lookups: when only
                # such relocations use it, they bind to the program itself.
                masks = masks or relocs.import_refs()
                if not masks[i] & (REF_PLT | REF_COPY):
                    append(Binding(SymbolRef(key[0], key[1]), key[4], key[3] == "WEAK",
                                   "declared", reason=_SELF))
                    continue
            libs = defined.get(key[0])
            if libs is None:
                append(self.unresolved(consumer, imports[i], order, missing))
                continue
            if len(libs) == 1:  # (most names: one file defines them)
                lib = libs[0]
                memo = memo_of.get(lib)
                if memo is None:  # not in this scope
                    append(self.unresolved(consumer, imports[i], order, missing))
                    continue
                b = memo.get(key)
                if b is not None:  # (made for another consumer: the lookup took it there)
                    append(b)
                    continue
                at = pos[lib]
                try:
                    d = lib.taken[key]
                except KeyError:
                    d = lib.take(key)
                if d is None:
                    append(self.unresolved(consumer, imports[i], order, missing))
                    continue
            else:
                hit = find_key(key)
                if hit is None:
                    append(self.unresolved(consumer, imports[i], order, missing))
                    continue
                at, d = hit
                memo = memos[at]
            if d.binding == "GNU_UNIQUE":
                # Bound to whichever definition of the name ld.so saw first: per consumer.
                if unique is None:
                    unique = UniqueTable(self, order, scope)
                sym = imports[i]
                append(self.bound(consumer, sym, unique.entry(sym, (objects[at], d))))
                continue
            b = memo.get(key)
            if b is None:
                b = memo[key] = self.bound_key(consumer, key, (objects[at], d), memo=memo)
            append(b)
        if special:
            exports = consumer.exports
            for index, mask in special.items():
                if unique is None:
                    unique = UniqueTable(self, order, scope)
                b2 = self.bind_defined(consumer, exports[index], mask, order, scope, unique,
                                       missing)
                if b2 is not None:
                    append(b2)
        return out

    def bound(self, consumer: ElfObject, sym: ElfSymbol, found: Found,
              copy: CopyRelocation | None = None, reason: str | None = None,
              memo: Memo | None = None) -> Binding:
        """The Binding of ``sym`` to ``found``; ``memo``: the provider's (where its
        library's class is kept)."""
        return self.bound_key(consumer, import_key(sym), found, copy, reason, memo)

    def bound_key(self, consumer: ElfObject, ref: ImportKey, found: Found,
                  copy: CopyRelocation | None = None, reason: str | None = None,
                  memo: Memo | None = None) -> Binding:
        """:meth:`bound` of an import given by its :func:`import_key`."""
        name, version, _hidden, sbind, stype = ref
        obj, d = found
        assert obj.elf is not None
        key = obj.elf.soname or obj.name
        policy = self.policy
        lib_class = memo.get(CLASS) if memo is not None else None
        if lib_class is None:
            lib_class = policy.classify_library(key, obj.elf,
                                                self.loader.location(obj, consumer))
            if memo is not None:
                memo[CLASS] = lib_class
        stab, ev = policy.classify_symbol(name, d.version, key, lib_class)
        return _new_binding(_new_ref(name, version), stype if stype != "NOTYPE" else d.type,
                            sbind == "WEAK", "bound", key, obj.installed, d.version, reason,
                            stab, ev, copy)

    def lookup(self, sym: ElfSymbol, scope: Scope) -> Found | None:
        hit = scope.find(sym)
        return (scope.objects[hit[0]], hit[1]) if hit is not None else None

    def bind_defined(self, consumer: ElfObject, sym: ElfSymbol, mask: int,
                     order: Sequence[LoadedObject], scope: Scope, unique: UniqueTable,
                     missing: list[str]) -> Binding | None:
        """The binding of a relocation against a symbol the consumer defines itself (None:
        ld.so binds it to the consumer). A copy relocation is looked up skipping the
        executable (the program loaded first, as ``ld.so FILE`` loads FILE): the program
        reserved ``sym.size`` bytes for the library's object. Any other lookup finds the
        consumer's own definition first (it is first in the scope), unless that is a GNU
        unique symbol another object entered first."""
        if mask & REF_COPY:
            hit = scope.find(sym)
            if hit is None:
                return replace(self.unresolved(consumer, sym, order, missing),
                               copy=CopyRelocation(sym.size, None))  # type: ignore[arg-type]
            at, d = hit
            memo = scope.memos[at]
            mkey = ("copy", sym.name, sym.version, sym.hidden, sym.type, sym.size)
            b = memo.get(mkey)
            if not isinstance(b, Binding):
                b = memo[mkey] = self.bound(consumer, sym, (scope.objects[at], d),
                                            copy=CopyRelocation(sym.size, d.size), memo=memo)
            return b
        root = order[0]
        if sym.type in ALLOWED_TYPES and sym.binding in TAKEN:
            if sym.binding != "GNU_UNIQUE":
                return None
            obj, d = unique.entry(sym, (root, sym))
            if obj is root:
                return None
            return self.bound(consumer, sym, (obj, d), reason=(
                "GNU unique symbol, defined here too: ld.so binds every reference to the "
                "definition its first lookup of the name found"))
        found = self.lookup(sym, scope)  # its own definition does not count for ld.so
        if found is None:
            return self.unresolved(consumer, sym, order, missing)
        return self.bound(consumer, sym, found, reason=(
            f"defined here as a {sym.binding} {sym.type} symbol, which ld.so's lookup does not "
            f"take: bound to the first library defining it"))

    def unresolved(self, consumer: ElfObject, sym: ElfSymbol, order: Sequence[LoadedObject],
                   missing: list[str]) -> Binding:
        """An import nothing defines. When its library was not found, it is attributed to
        that library (``provider``) and takes the class the policy gives the library's name
        (and the symbol), with evidence saying so; its status stays ``unresolved``.

        Which library: a versioned import names it (vn_file of .gnu.version_r). An
        unversioned, non-weak import only when exactly one library of the load order that
        was not found is one the consumer requires no version node from: the static linker
        records the node of every symbol it takes from a library with version definitions,
        so an unversioned import comes from an unversioned library. (A presumption: the
        missing library's own dependencies are unknown, and a versioned library may export
        a symbol of the base version; the evidence says how it was attributed.) Weak
        unversioned imports (``__gmon_start__``, ``_ITM_*``) are often defined nowhere and
        are never attributed.
        """
        ref = SymbolRef(sym.name, sym.version)
        weak = sym.binding == "WEAK"
        reason = why_unresolved(sym, order, missing)
        lib: str | None = None
        how = ""
        if sym.version and sym.version_file:
            owner = _owner(sym.version_file, order)
            if owner is None or owner.elf is None:
                lib, how = sym.version_file, "the library its version node is required from"
        elif not sym.version and not weak and missing:
            versioned = {n.file for n in consumer.version_needs}
            candidates = [m for m in missing if m not in versioned]
            if len(candidates) == 1:
                lib, how = candidates[0], ("presumed: the only library not found that the "
                                           "consumer requires no version node from")
        if lib is None:
            return Binding(ref, sym.type, weak, "unresolved", reason=reason,
                           stability=Stability.UNKNOWN)
        policy = self.policy
        stab, ev = policy.classify_symbol(sym.name, sym.version, lib,
                                          policy.classify_library(lib, None))
        note = Evidence("unresolved", f"library not found: {lib} ({how}); the binding could "
                                      "not be checked, the class comes from the library's "
                                      "name and the policy")
        return Binding(ref, sym.type, weak, "unresolved", provider=lib, reason=reason,
                       stability=stab, evidence=(note, *ev))


def _owner(version_file: str, order: Sequence[LoadedObject]) -> LoadedObject | None:
    return next((o for o in order if o.name == version_file or
                 (o.elf is not None and o.elf.soname == version_file)), None)


def why_unresolved(sym: ElfSymbol, order: Sequence[LoadedObject], missing: list[str]) -> str:
    weak = " (weak: NULL at run time)" if sym.binding == "WEAK" else ""
    if sym.version and sym.version_file:
        owner = _owner(sym.version_file, order)
        if owner is None or owner.elf is None:
            return f"library not found: {sym.version_file}{weak}"
        defined = {d.name for d in owner.elf.version_defs}
        if sym.version not in defined:
            return (f"version missing: {sym.version_file} does not define version "
                    f"{sym.version}{weak}")
        return (f"symbol missing: {sym.version_file} defines version {sym.version} but no "
                f"{sym.name}@{sym.version}{weak}")
    if missing:
        return f"symbol missing; libraries not found: {', '.join(missing)}{weak}"
    return f"symbol missing: no loaded library defines {sym.name}{weak}"


class UniqueTable:
    """ld.so's table of GNU unique symbols (STB_GNU_UNIQUE, do_lookup_unique), for one
    consumer: every lookup that lands on a unique definition of a name gets the definition
    the *first* such lookup found, whatever its own lookup found. ld.so relocates the loaded
    objects dependencies first (the reverse of its dependency-sorted init order, the
    consumer last), so that first lookup is made by the first object in that order whose
    relocations look the name up, each in the global scope (the consumer first, then the
    load order)."""

    def __init__(self, binder: Binder, order: Sequence[LoadedObject], scope: Scope) -> None:
        self.binder = binder
        self.order = order
        self.scope = scope
        self.entries: dict[str, Found | None] = {}
        self._before: list[LoadedObject] | None = None

    def entry(self, sym: ElfSymbol, found: Found) -> Found:
        """The definition a lookup of ``sym`` that found the unique definition ``found``
        binds to."""
        name = sym.name
        if name not in self.entries:
            self.entries[name] = self._first(name)
        return self.entries[name] or found

    def _global(self, sym: ElfSymbol) -> Found | None:
        """A lookup in the global scope: the consumer, then the load order."""
        root = self.order[0]
        e = root.elf
        assert e is not None
        if sym.name in e.exports.name_index():
            d = match(sym, e.exports.lookup(sym.name), bool(e.version_defs))
            if d is not None and d.binding in TAKEN:
                return root, d
        return self.binder.lookup(sym, self.scope)

    def _first(self, name: str) -> Found | None:
        root = self.order[0]
        if self._before is None:  # the objects ld.so relocates before the consumer
            ordered = relocation_order(self.order)
            self._before = ordered[:ordered.index(root)] if root in ordered else ordered
        for obj in self._before:
            elf = obj.elf
            if elf is None or (name not in elf.exports.name_index()
                               and name not in elf.imports.name_index()):
                continue
            relocs = self.binder.loader.relocations_of(obj)
            if relocs is not None:
                refs: Sequence[tuple[ElfSymbol, int]] = relocs.referencing(name)
            else:  # not known: each of its symbols of the name counts as looked up
                refs = [(x, _LOOKUP) for t in (elf.imports, elf.exports) for x in t.lookup(name)]
            for xsym, xmask in refs:
                if not xmask & _LOOKUP:  # (only an executable's copy relocations remain)
                    continue
                hit = self._global(xsym)
                if hit is not None and hit[1].binding == "GNU_UNIQUE":
                    return hit
        return None


def relocation_order(order: Sequence[LoadedObject]) -> list[LoadedObject]:
    """The order in which ld.so relocates the objects of a load order at start-up: the
    reverse of its init order, which _dl_sort_maps_dfs (glibc 2.35+) computes as the
    reverse post-order of a depth-first walk over each object's DT_NEEDED objects, started
    from each object of the load order from the last to the first (the program's own needs
    are not walked: it comes first, so it is relocated last). Objects not found are left
    out, like ld.so's faked ones."""
    maps = [o for o in order if o.elf is not None]
    if not maps:
        return []
    main = maps[0]
    loaded: dict[str, LoadedObject] = getattr(order, "names", None) or {}

    def needs(obj: LoadedObject) -> list[LoadedObject]:
        """The objects its DT_NEEDED entries name, each once, found ones only."""
        out: dict[int, LoadedObject] = {}
        assert obj.elf is not None
        for name in obj.elf.needed:
            dep = loaded.get(name)
            if dep is not None and dep.elf is not None:
                out.setdefault(id(dep), dep)
        return list(out.values())

    deps_of: dict[int, list[LoadedObject]] = {}
    visited: set[int] = set()
    post: list[LoadedObject] = []
    for start in reversed(maps):
        if id(start) in visited:
            continue
        visited.add(id(start))
        stack: list[tuple[LoadedObject, int]] = [(start, 0)]
        while stack:
            obj, i = stack[-1]
            if id(obj) not in deps_of:
                deps_of[id(obj)] = [] if obj is main else needs(obj)
            deps = deps_of[id(obj)]
            while i < len(deps) and (id(deps[i]) in visited or deps[i] is main):
                i += 1
            if i < len(deps):
                stack[-1] = (obj, i + 1)
                visited.add(id(deps[i]))
                stack.append((deps[i], 0))
            else:
                stack.pop()
                post.append(obj)
    init = post[::-1]
    if init[0] is not main:
        init.remove(main)
        init.insert(0, main)
    return init[::-1]
