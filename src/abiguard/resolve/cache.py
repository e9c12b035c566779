"""What resolvers learn that stays true while the files do not change: the resolver's caches as
one explicit object.

A :class:`ResolverCache` holds, by real path, each ELF file read (with the index of its
exports and the definitions each lookup found in it), the relocations read again for the GNU
unique rule, real paths, a name -> defining files index of every library bound against, and the
bindings made from each library found in a given way (one Binding object for every consumer
that binds the same import to the same library: their text is written once, see
abiguard.jsonform). One cache may serve many resolvers, one after the other or from several
threads (a census worker's tasks, each with its own layers and the same policy): every answer
it keeps depends only on files, keyed by real path, and on the policy object it was made
with.

:meth:`ResolverCache.purge` drops everything read under a directory (a finished census task's
unpacked package); ``max_files`` bounds it: a resolver that finds more files cached starts it
over (:meth:`ResolverCache.trim`).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from ..errors import ElfError
from ..model import Binding, ElfObject, ElfSymbol, RelocationRefs

# check_match: the symbol types that are code or data definitions.
ALLOWED_TYPES = frozenset({"NOTYPE", "OBJECT", "FUNC", "COMMON", "TLS", "GNU_IFUNC"})
# do_lookup_x: the definitions it takes (a weak one like a global one: LD_DYNAMIC_WEAK unset).
TAKEN = frozenset({"GLOBAL", "WEAK", "GNU_UNIQUE"})

ImportKey = tuple[str, str | None, bool, str, str]
"""An import as the lookup and its binding read it: (name, version, hidden, binding, type)."""


def import_key(sym: ElfSymbol) -> ImportKey:
    return (sym.name, sym.version, sym.hidden, sym.binding, sym.type)


def match(sym: ElfSymbol, candidates: Sequence[ElfSymbol], versioned_lib: bool
          ) -> ElfSymbol | None:
    """:func:`match_ref` of a symbol."""
    return match_ref(sym.version, sym.hidden, candidates, versioned_lib)


def match_ref(version: str | None, hidden: bool, candidates: Sequence[ElfSymbol],
              versioned_lib: bool) -> ElfSymbol | None:
    """glibc's check_match over one object's definitions of the name (only code and data
    definitions count: STT_SECTION, STT_FILE and the like never match). A versioned
    reference takes the definition of its node, or an unversioned one (index 0/1) unless one
    side is hidden; an unversioned reference takes an unversioned, base or oldest definition,
    else the single non-hidden version. ``versioned_lib``: the object has version
    definitions."""
    if version:
        for d in candidates:
            if d.type not in ALLOWED_TYPES:
                continue
            if not versioned_lib or d.version == version:
                return d
            # An unversioned definition (index 0/1) satisfies a non-hidden reference.
            if d.version_index < 2 and not d.hidden and not hidden:
                return d
        return None
    single = None
    count = 0
    for d in candidates:
        if d.type not in ALLOWED_TYPES:
            continue
        if not versioned_lib or d.version_index < 3:
            return d  # unversioned, base or oldest version: taken directly
        if not d.hidden:
            count += 1
            single = single or d
    # Otherwise only an object with exactly one non-hidden version of it satisfies it.
    return single if count == 1 else None


class LibraryFile:
    """One ELF file read by a resolver (by real path), as a library: its exports' name index
    and, for each reference looked up in it, the definition ld.so's lookup takes there."""

    __slots__ = ("elf", "generation", "key", "names", "taken", "versioned")

    def __init__(self, key: str, elf: ElfObject) -> None:
        self.key = key
        """Its real path."""
        self.elf = elf
        self.names: Mapping[str, Any] | None = None
        self.versioned = bool(elf.version_defs)
        self.taken: dict[ImportKey, ElfSymbol | None] = {}
        self.generation = -1
        """The cache generation whose name index lists it (-1: none)."""

    def defines(self) -> Mapping[str, Any]:
        """A mapping whose keys are the names it exports."""
        names = self.names
        if names is None:
            names = self.names = self.elf.exports.name_index()
        return names

    def find(self, sym: ElfSymbol, key: ImportKey | None = None) -> ElfSymbol | None:
        """The definition a lookup of ``sym`` (whose :func:`import_key` is ``key``) takes in
        this file: one that matches (:func:`match`) and is global, weak or GNU unique;
        None: the lookup goes on to the next object (a definition of another binding hides
        the name here)."""
        return self.take(import_key(sym) if key is None else key)

    def take(self, key: ImportKey) -> ElfSymbol | None:
        """:meth:`find` of an import given by its :func:`import_key` alone."""
        try:
            return self.taken[key]
        except KeyError:
            pass
        d = match_ref(key[1], key[2], self.elf.exports.lookup(key[0]), self.versioned)
        if d is not None and d.binding not in TAKEN:
            d = None
        self.taken[key] = d
        return d


ProviderKey = tuple[str, str, str | None, str, tuple[str, ...]]
"""A library as found for a consumer: (real path, key (soname or needed name), installed
path, found via, the system directories the policy's location source compares with)."""

Memo = dict[tuple[Any, ...], Any]
"""What was made from one provider: :data:`CLASS` -> the library's classification, an import
key -> its Binding, ("copy", ...import key, size) -> a copy's Binding, (needed name, needed
by, depth) -> the Library."""

CLASS: tuple[()] = ()


class ResolverCache:
    """The caches of resolvers (see the module's docstring). ``max_files``: how many files
    may be cached before a resolver starts it over."""

    def __init__(self, max_files: int = 20000) -> None:
        self.max_files = max_files
        self.generation = 0
        self.files: dict[str, LibraryFile | ElfError] = {}
        self.known: dict[str, ElfObject] = {}
        """Files read already (consumers), by real path, not yet asked for as libraries."""
        self.realpaths: dict[str, str] = {}
        self.realdirs: dict[str, str] = {}
        """The real paths of the directories :meth:`realpath` took a file's from."""
        self.relocations: dict[str, RelocationRefs | None] = {}
        self.defined: dict[str, tuple[LibraryFile, ...]] = {}
        """Exported name -> the library files of this generation that export it."""
        self.made: dict[object, dict[ProviderKey, Memo]] = {}
        """Policy -> provider -> what was made from it."""
        self.declared: dict[tuple[Any, ...], Binding] = {}
        self.expected: dict[str, tuple[str, Callable[[str], ElfObject]]] = {}
        """Files a scan reads later as consumers (abiguard.pipeline, pending targets), by
        absolute path: the path it reads and how. Asked for as a library first, one is read
        whole then, once (:meth:`take_expected` gives that reading to its scan)."""
        self.early: dict[str, ElfObject] = {}
        """Expected files read whole because a library was asked for (by absolute path)."""

    def __len__(self) -> int:
        """How many files are cached."""
        return len(self.files)

    # -- files ---------------------------------------------------------------------------

    def realpath(self, path: str) -> str:
        """os.path.realpath, remembered (the files do not change while resolving)."""
        hit = self.realpaths.get(path)
        if hit is None:
            hit = self.realpaths[path] = self._realpath(path)
        return hit

    def _realpath(self, path: str) -> str:
        """os.path.realpath of a path, with one lstat for a file that exists and is no
        symbolic link: then its real path is its directory's (remembered: the hundreds of
        files of one directory resolve it once, not component by component each) joined
        with its name, which is what os.path.realpath's walk does there too; a link to a
        name in its own directory (``libz.so.1 -> libz.so.1.3``) is followed so, a few
        times. Anything else: os.path.realpath itself."""
        at = path
        for _ in range(8):
            head, name = os.path.split(at)
            if name in ("", ".", ".."):
                break
            try:
                mode = os.lstat(at).st_mode
            except (OSError, ValueError):  # missing (or a NUL in it): the general walk
                break
            real = self.realdirs.get(head)
            if real is None:
                real = self.realdirs[head] = os.path.realpath(head)
            if not stat.S_ISLNK(mode):
                return os.path.join(real, name)
            try:
                target = os.readlink(at)
            except OSError:
                break
            if "/" in target or target in ("", ".", ".."):
                break
            at = os.path.join(real, target)
        return os.path.realpath(path)

    def library(self, path: str, read: Callable[[str], ElfObject]) -> LibraryFile:
        """The library file at ``path`` (read once by ``read``; its ElfError raised again
        for every ask)."""
        key = self.realpath(path)
        hit = self.files.get(key)
        if hit is None:
            known = self.known.pop(key, None)
            if known is None and key in self.expected:
                known = self._read_expected(key)
            if known is not None:  # the view read_elf(path, relocations=False) gives
                hit = LibraryFile(key, replace(known, path=path, relocations=None))
            else:
                try:
                    hit = LibraryFile(key, read(path))
                except ElfError as exc:
                    hit = exc
            self.files[key] = hit
        if isinstance(hit, ElfError):
            raise hit
        return hit

    def expect(self, path: str, read: Callable[[str], ElfObject]) -> None:
        """A file to be read (by ``read``) as a consumer later: when a consumer loads it as a
        library before, it is read whole then (not once as a library, once as a consumer),
        and its library view is what :meth:`remember` gives. Matched by absolute path (the
        real path of the libraries asked for: a path through a symlink is simply read
        twice)."""
        self.expected[os.path.abspath(path)] = (path, read)

    def take_expected(self, path: str) -> ElfObject | None:
        """The reading of an expected file made when a library was asked for (None: not
        read yet; it is not expected any more)."""
        key = os.path.abspath(path)
        self.expected.pop(key, None)
        return self.early.pop(key, None)

    def _read_expected(self, key: str) -> ElfObject | None:
        """An expected file read whole (None when that fails: read as a library then, as it
        would have been had it not been expected; its scan reports the failure)."""
        path, read = self.expected.pop(key)
        try:
            elf = read(path)
        except ElfError:
            return None
        self.early[key] = elf
        return elf

    def remember(self, elf: ElfObject) -> None:
        """An ELF file already read (a consumer) is not read again when a consumer loads it
        as a library: its library view is this one under the path it is asked by (the file
        name counts for the policy) and without the relocations (read again when needed)."""
        if elf.member is None:
            key = self.realpath(elf.path)
            if key not in self.files:
                self.known.setdefault(key, elf)

    def index(self, lib: LibraryFile) -> None:
        """List a library file in the name index (once per generation). The index's tuples
        are replaced, never changed in place: a thread reading one is never disturbed."""
        if lib.generation == self.generation:
            return
        lib.generation = self.generation
        defined = self.defined
        names = lib.defines()
        # (in bulk: most names are new to the index; those another file defines too get
        # this one after the others)
        both = defined.keys() & names.keys()
        prev = {name: defined[name] for name in both} if both else None
        defined.update(dict.fromkeys(names, (lib,)))
        if prev:
            for name, libs in prev.items():
                defined[name] = (*libs, lib)

    def memo(self, policy: object, provider: ProviderKey) -> Memo:
        """What was made from a provider under a policy."""
        made = self.made.get(policy)
        if made is None:
            made = self.made.setdefault(policy, {})
        hit = made.get(provider)
        if hit is None:
            hit = made.setdefault(provider, {})
        return hit

    # -- size ----------------------------------------------------------------------------

    def trim(self) -> None:
        """Start over when more than ``max_files`` files are cached."""
        if len(self.files) > self.max_files:
            self.clear()

    def clear(self) -> None:
        """Forget everything (a new generation: files read before are indexed again when a
        resolver still holding them binds against them)."""
        self.generation += 1
        self.files = {}
        self.known = {}
        self.realpaths = {}
        self.realdirs = {}
        self.relocations = {}
        self.defined = {}
        self.made = {}
        self.declared = {}
        self.expected = {}
        self.early = {}

    def purge(self, prefix: str) -> None:
        """Drop everything read under ``prefix`` (a directory, given with its trailing
        separator, and as a real path: what is cached is keyed by real path)."""
        for cache in (self.relocations, self.known, self.expected, self.early):
            for k in [k for k in list(cache) if k.startswith(prefix)]:
                cache.pop(k, None)
        for paths in (self.realpaths, self.realdirs):  # (a directory: also the prefix's own)
            for path in [p for p, real in list(paths.items())
                         if (p + os.sep).startswith(prefix) or (real + os.sep).startswith(prefix)]:
                paths.pop(path, None)
        gone = [k for k in list(self.files) if k.startswith(prefix)]
        names: set[str] = set()
        dropped: set[int] = set()
        for k in gone:
            lib = self.files.pop(k, None)
            if isinstance(lib, LibraryFile):
                if lib.generation == self.generation:
                    names.update(lib.defines())
                    dropped.add(id(lib))
                lib.generation = -1
        defined = self.defined
        for name in names:
            libs = defined.get(name)
            if libs is None:
                continue
            keep = tuple(x for x in libs if id(x) not in dropped)
            if keep:
                defined[name] = keep
            else:
                defined.pop(name, None)
        for made in list(self.made.values()):
            for provider in [p for p in list(made) if p[0].startswith(prefix)]:
                made.pop(provider, None)
