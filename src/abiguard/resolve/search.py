"""Which files ld.so loads for a consumer, and in which order (glibc's ``_dl_map_object``).

* Load order is breadth-first over DT_NEEDED, starting with the consumer; a name already
  loaded (by soname or needed name) is not loaded again, nor a file already loaded under
  another name; the program interpreter comes last.
* A needed name containing '/' is a path. Otherwise the directories searched are, in order:
  DT_RPATH of the loading object and of its loaders up to the consumer -- only when the
  loading object has no DT_RUNPATH, and each object's DT_RPATH only when that object has no
  DT_RUNPATH; LD_LIBRARY_PATH (``--ld-library-path``); DT_RUNPATH of the loading object;
  ``--lib-path`` directories; the directories of the sysroot's /etc/ld.so.conf (with
  ``include`` globs); the default directories of the architecture. DF_1_NODEFLIB on the
  loading object skips the last two. $ORIGIN, $LIB and $PLATFORM are expanded in
  RPATH/RUNPATH. A candidate of the wrong ELF class or machine is skipped, as ld.so does.
* Files are looked up in :class:`~abiguard.resolve.layers.Layers`: the unpacked packages
  (overlays) first, then the sysroot.

A :class:`Loader` answers each search once: the directories a loading object searches are
computed once per object (its RPATH chain, RUNPATH, NODEFLIB and the consumer's class and
machine), and a needed name searched in the same directories gets the answer found before
(the layers do not change while a loader uses them).
"""

from __future__ import annotations

import glob
import os
import posixpath
from collections import deque
from collections.abc import Iterable

from .. import limits
from ..elf import read_elf
from ..errors import ElfError
from ..model import ElfObject, RelocationRefs
from ..policy import Location
from .cache import LibraryFile, ResolverCache
from .layers import Layers, read_ld_so_conf

DF_1_NODEFLIB = 0x800

_MULTIARCH = {
    ("x86_64", 64): "x86_64-linux-gnu",
    ("x86_64", 32): "x86_64-linux-gnux32",
    ("i386", 32): "i386-linux-gnu",
    ("aarch64", 64): "aarch64-linux-gnu",
    ("arm", 32): "arm-linux-gnueabihf",
    ("ppc64", 64): "powerpc64le-linux-gnu",
    ("s390x", 64): "s390x-linux-gnu",
    ("riscv", 64): "riscv64-linux-gnu",
    ("mips", 64): "mips64el-linux-gnuabi64",
    ("mips", 32): "mipsel-linux-gnu",
}
_PLATFORM = {"x86_64": "x86_64", "i386": "i686", "aarch64": "aarch64", "arm": "v7l",
             "ppc64": "powerpc64le", "s390x": "s390x", "riscv": "riscv64", "mips": "mips"}


def multiarch_triplet(elf: ElfObject) -> str | None:
    return _MULTIARCH.get((elf.machine, elf.elf_class))


def default_dirs(elf: ElfObject) -> list[str]:
    """The trusted directories ld.so searches last (Debian multiarch layout first)."""
    dirs = []
    triplet = multiarch_triplet(elf)
    if triplet:
        dirs += [f"/lib/{triplet}", f"/usr/lib/{triplet}"]
    if elf.elf_class == 64 and elf.machine in ("x86_64", "ppc64", "s390x", "aarch64", "riscv"):
        dirs += ["/lib64", "/usr/lib64"]
    dirs += ["/lib", "/usr/lib"]
    return dirs


class LoadedObject:
    """One object of a load order: the needed name that brought it in, where it was found
    (installed and real path, how), its ELF view (None: not found), the object that loaded
    it and its depth (the consumer: 0)."""

    __slots__ = ("depth", "elf", "error", "found_via", "installed", "lib", "loader", "name",
                 "real", "search")

    def __init__(self, name: str, installed: str | None, real: str | None,
                 elf: ElfObject | None, loader: LoadedObject | None, found_via: str,
                 depth: int, error: str | None = None, lib: LibraryFile | None = None
                 ) -> None:
        self.name = name
        self.installed = installed
        self.real = real
        self.elf = elf
        self.loader = loader
        self.found_via = found_via
        self.depth = depth
        self.error = error
        self.lib = lib
        """The library file (None for the consumer and objects not found)."""
        self.search: int | None = None
        """The id of the directories it searches its needed names in (once computed)."""

    def __repr__(self) -> str:
        return (f"LoadedObject({self.name!r}, {self.installed!r}, {self.found_via!r}, "
                f"depth={self.depth})")


class LoadOrder(list[LoadedObject]):
    """A load order (the consumer first), with ``names``: the object each needed name
    resolved to (what ld.so's dependency sort, and so its relocation order, walks: see
    relocation_order). Kept here, not on the objects, which point to their loaders: no
    reference cycle for the garbage collector to find."""

    names: dict[str, LoadedObject]


Found = tuple[str, str, str, LibraryFile]
"""A needed name found: (installed path, real path, found via, the library file)."""


class Loader:
    """Finds and reads the objects a consumer loads (see the module's docstring)."""

    def __init__(self, layers: Layers | None = None, *, cache: ResolverCache | None = None,
                 ld_library_path: Iterable[str] = (), lib_paths: Iterable[str] = (),
                 extra_needed: Iterable[str] = ()) -> None:
        self.layers = layers or Layers()
        self.cache = cache if cache is not None else ResolverCache()
        self.ld_library_path = [p for p in ld_library_path if p]
        self.lib_paths = [os.path.abspath(p) for p in lib_paths]
        self.extra_needed = list(extra_needed)
        self._ld_conf: list[str] | None = None
        self._system_dirs: dict[tuple[str, int], tuple[str, ...]] = {}
        self._search_ids: dict[tuple[object, ...], int] = {}
        self._groups: list[list[tuple[str, tuple[str, ...]]]] = []
        self._found: dict[tuple[str, object], Found | None] = {}

    # -- reading -----------------------------------------------------------------------------

    def read(self, real: str) -> ElfObject:
        """Read (once) an ELF file of the layers."""
        return self.cache.library(real, _read_library).elf

    def remember(self, elf: ElfObject) -> None:
        """A file already read (a consumer) is not read again when another consumer loads it
        (:meth:`ResolverCache.remember`)."""
        self.cache.remember(elf)

    def expect(self, path: str) -> None:
        """A consumer's file to be read by :meth:`read_consumer` later: read whole before
        that if a consumer loads it as a library (:meth:`ResolverCache.expect`)."""
        self.cache.expect(path, read_elf)

    def read_consumer(self, path: str) -> ElfObject:
        """A consumer's file read whole (read_elf), once: taken from an earlier load of it as
        a library when it was expected (:meth:`ResolverCache.expect`), then remembered."""
        cache = self.cache
        elf = cache.take_expected(path)
        if elf is None:
            elf = read_elf(path, ahead=True)  # (bound right away: its relocations too)
            cache.remember(elf)
        return elf

    def relocations_of(self, obj: LoadedObject) -> RelocationRefs | None:
        """What the dynamic relocations of a loaded object look up (its file read again,
        once, when it was read without them); None when not known."""
        elf = obj.elf
        if elf is None or elf.relocations is not None or obj.real is None or elf.member:
            return elf.relocations if elf is not None else None
        cache = self.cache
        key = cache.realpath(obj.real)
        if key not in cache.relocations:
            try:
                cache.relocations[key] = read_elf(key).relocations
            except ElfError:
                cache.relocations[key] = None
        return cache.relocations[key]

    def find_by_glob(self, pattern: str, consumer: ElfObject, installed: str | None = None
                     ) -> tuple[str, str, ElfObject] | None:
        """A library whose file name matches pattern, in the directories ld.so would search
        for this consumer: (installed path, real path, elf)."""
        dirs = [*self.ld_library_path, *self.ld_conf_dirs, *default_dirs(consumer)]
        for d in dirs:
            for root in self.layers.roots:
                for real in sorted(glob.glob(os.path.join(self.layers.real(d, root), pattern))):
                    if not os.path.isfile(real):
                        continue
                    try:
                        elf = self.read(real)
                    except ElfError:
                        continue
                    if elf.elf_class == consumer.elf_class and elf.machine == consumer.machine:
                        return posixpath.join(d, os.path.basename(real)), real, elf
        for d in self.lib_paths:
            for real in sorted(glob.glob(os.path.join(d, pattern))):
                try:
                    elf = self.read(real)
                except ElfError:
                    continue
                if elf.elf_class == consumer.elf_class and elf.machine == consumer.machine:
                    return real, real, elf
        return None

    # -- search ------------------------------------------------------------------------------

    @property
    def ld_conf_dirs(self) -> list[str]:
        if self._ld_conf is None:
            self._ld_conf = read_ld_so_conf(self.layers)
        return self._ld_conf

    def system_dirs(self, consumer: ElfObject) -> tuple[str, ...]:
        """The directories ld.so searches for everyone (ld.so.conf's, then the defaults)."""
        key = (consumer.machine, consumer.elf_class)
        dirs = self._system_dirs.get(key)
        if dirs is None:
            dirs = self._system_dirs[key] = (*self.ld_conf_dirs, *default_dirs(consumer))
        return dirs

    def location(self, obj: LoadedObject, consumer: ElfObject) -> Location:
        """Where a loaded object was found, for the policy (RUNPATH into a private
        directory makes a library private to its package)."""
        return Location(obj.found_via, obj.installed, self.system_dirs(consumer))

    def _expand(self, entry: str, obj: LoadedObject, consumer: ElfObject) -> str | None:
        origin = posixpath.dirname(obj.installed or "/")
        triplet = multiarch_triplet(consumer)
        lib = f"lib/{triplet}" if triplet else ("lib64" if consumer.elf_class == 64 else "lib")
        platform = _PLATFORM.get(consumer.machine, consumer.machine)
        out = entry
        for token, value in (("ORIGIN", origin), ("LIB", lib), ("PLATFORM", platform)):
            out = out.replace("${" + token + "}", value).replace("$" + token, value)
        if "$" in out:
            return None  # an unknown dynamic string token: ld.so ignores the entry
        if not out.startswith("/"):
            # Relative entries are relative to the process's working directory: unknowable.
            return None
        return posixpath.normpath(out)

    def _dirs(self, entries: Iterable[str], obj: LoadedObject, consumer: ElfObject
              ) -> tuple[str, ...]:
        return tuple(d for d in (self._expand(e, obj, consumer) for e in entries) if d)

    def _candidate(self, installed: str, consumer: ElfObject
                   ) -> tuple[str, LibraryFile, str] | None:
        """(real path, library file, installed path) of a usable library at an installed
        path."""
        hit = self.layers.locate(installed)
        if hit is None:
            return None
        try:
            lib = self.cache.library(hit[1], _read_library)
        except ElfError:
            return None
        elf = lib.elf
        if elf.elf_class != consumer.elf_class or elf.machine != consumer.machine:
            return None
        return hit[1], lib, hit[0]

    def _search_id(self, loader: LoadedObject, consumer: ElfObject) -> int:
        """The id of the directories ``loader`` searches its needed names in."""
        lelf = loader.elf
        assert lelf is not None
        groups: list[tuple[str, tuple[str, ...]]] = []
        if not lelf.runpath:
            chain: LoadedObject | None = loader
            while chain is not None:
                if chain.elf is not None and chain.elf.rpath and not chain.elf.runpath:
                    groups.append(("RPATH", self._dirs(chain.elf.rpath, chain, consumer)))
                chain = chain.loader
        groups.append(("LD_LIBRARY_PATH", tuple(self.ld_library_path)))
        if lelf.runpath:
            groups.append(("RUNPATH", self._dirs(lelf.runpath, loader, consumer)))
        if self.lib_paths:
            groups.append(("lib-path", tuple(self.lib_paths)))
        if not lelf.flags_1 & DF_1_NODEFLIB:
            groups.append(("ld.so.conf", tuple(self.ld_conf_dirs)))
            groups.append(("default", tuple(default_dirs(consumer))))
        key = (tuple(groups), consumer.elf_class, consumer.machine)
        sid = self._search_ids.get(key)
        if sid is None:
            sid = self._search_ids[key] = len(self._groups)
            self._groups.append(groups)
        loader.search = sid
        return sid

    def search(self, name: str, loader: LoadedObject, consumer: ElfObject) -> Found | None:
        """Find a needed name of ``loader``: (installed path, real path, found_via, library
        file), or None. Each name is searched once in the same directories."""
        if "/" in name:
            key: tuple[str, object] = (name, (consumer.elf_class, consumer.machine))
        else:
            sid = loader.search
            key = (name, sid if sid is not None else self._search_id(loader, consumer))
        try:
            return self._found[key]
        except KeyError:
            pass
        found = self._found[key] = self._search(name, key[1], consumer)
        return found

    def _search(self, name: str, sid: object, consumer: ElfObject) -> Found | None:
        if isinstance(sid, tuple):  # a path
            hit = self._candidate(name, consumer)
            return (hit[2], hit[0], "path", hit[1]) if hit else None
        assert isinstance(sid, int)
        for via, dirs in self._groups[sid]:
            if via == "lib-path":
                for d in dirs:
                    real = os.path.join(d, name)
                    if os.path.isfile(real):
                        try:
                            lib = self.cache.library(real, _read_library)
                        except ElfError:
                            continue
                        elf = lib.elf
                        if elf.elf_class == consumer.elf_class and elf.machine == consumer.machine:
                            return real, real, via, lib
                continue
            for d in dirs:
                hit = self._candidate(posixpath.join(d, name), consumer)
                if hit:
                    return hit[2], hit[0], via, hit[1]
        return None

    # -- load order --------------------------------------------------------------------------

    def load_order(self, consumer: ElfObject, installed: str | None = None) -> LoadOrder:
        if not installed or not installed.startswith("/"):
            installed = self.layers.installed_path(os.path.abspath(consumer.path))
        root = LoadedObject(consumer.soname or posixpath.basename(consumer.path), installed,
                            consumer.path, consumer, None, "consumer", 0)
        order = LoadOrder([root])
        by_name: dict[str, LoadedObject] = {}
        # An object is loaded once: by soname, and by file identity like ld.so (a library
        # without a soname reached under two names, or a DT_NEEDED loop back to the consumer)
        by_soname: dict[str, LoadedObject] = {}
        by_file: dict[str, LoadedObject] = {}
        if consumer.soname:
            by_name[consumer.soname] = by_soname[consumer.soname] = root
        if consumer.member is None:
            by_file[self.cache.realpath(consumer.path)] = root
        order.names = by_name
        queue = deque([root])
        extra = list(self.extra_needed) if consumer.kind == "REL" else []
        cap = limits.current().max_load_order
        search = self.search
        while queue:
            obj = queue.popleft()
            if obj.elf is None:
                continue
            needed = list(obj.elf.needed) + (extra if obj is root else [])
            for name in needed:
                if name in by_name:
                    continue  # loaded already: DT_NEEDED loops end here
                if len(order) >= cap:
                    raise limits.exceeded(consumer.display_name,
                                          f"more than {cap} objects in the load order",
                                          "max_load_order", cap)
                hit = search(name, obj, consumer)
                if hit is None:
                    lo = LoadedObject(name, None, None, None, obj, "not found", obj.depth + 1,
                                      error=f"library not found: {name}")
                    by_name[name] = lo
                    order.append(lo)
                    continue
                inst, real, via, lib = hit
                elf = lib.elf
                same = by_file.get(lib.key) or (by_soname.get(elf.soname) if elf.soname
                                                else None)
                if same is not None:
                    by_name[name] = same
                    continue
                lo = LoadedObject(name, inst, real, elf, obj, via, obj.depth + 1, lib=lib)
                by_name[name] = lo
                by_file[lib.key] = lo
                if elf.soname:
                    by_name.setdefault(elf.soname, lo)
                    by_soname.setdefault(elf.soname, lo)
                order.append(lo)
                queue.append(lo)
        interp = consumer.interpreter
        if interp and not any(o.installed == interp or (o.elf and o.elf.soname and
                                                         o.elf.soname == posixpath.basename(interp))
                              for o in order):
            cand = self._candidate(interp, consumer)
            if cand:
                order.append(LoadedObject(posixpath.basename(interp), interp, cand[0],
                                          cand[1].elf, root, "interpreter", 1, lib=cand[1]))
        return order


def _read_library(path: str) -> ElfObject:
    return read_elf(path, relocations=False)  # (a library: its exports suffice)
