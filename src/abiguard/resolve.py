"""A model of the dynamic linker (glibc's ld.so), run on files, never executed.

For one consumer it computes the load order and binds every imported symbol:

* Load order is breadth-first over DT_NEEDED, starting with the consumer; a name already
  loaded (by soname or needed name) is not loaded again; the program interpreter comes last.
* A needed name containing '/' is a path. Otherwise the directories searched are, in order
  (glibc ``_dl_map_object``): DT_RPATH of the loading object and of its loaders up to the
  consumer -- only when the loading object has no DT_RUNPATH, and each object's DT_RPATH only
  when that object has no DT_RUNPATH; LD_LIBRARY_PATH (``--ld-library-path``); DT_RUNPATH of
  the loading object; ``--lib-path`` directories; the directories of the sysroot's
  /etc/ld.so.conf (with ``include`` globs); the default directories of the architecture.
  DF_1_NODEFLIB on the loading object skips the last two. $ORIGIN, $LIB and $PLATFORM are
  expanded in RPATH/RUNPATH. A candidate of the wrong ELF class or machine is skipped, as
  ld.so does.
* Files are looked up in layers: the unpacked packages (overlays) first, then the sysroot.
* Symbol binding follows ``do_lookup_x``: the first object in load order with a matching
  definition wins. A versioned import binds only to a definition of the same version node;
  an unversioned import binds to an unversioned, base (index 1) or oldest (index 2)
  definition, or to the single non-hidden versioned one.
"""

from __future__ import annotations

import glob
import os
import posixpath
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import repeat
from typing import Any

from . import limits
from .elf import read_elf
from .errors import ElfError
from .model import (
    REF_COPY,
    REF_OTHER,
    REF_PLT,
    Binding,
    CopyRelocation,
    ElfObject,
    ElfSymbol,
    Evidence,
    Library,
    RelocationRefs,
    Stability,
    SymbolRef,
)
from .policy import Location, Policy

DF_1_NODEFLIB = 0x800

# check_match: the symbol types that are code or data definitions.
_ALLOWED_TYPES = frozenset({"NOTYPE", "OBJECT", "FUNC", "COMMON", "TLS", "GNU_IFUNC"})
# do_lookup_x: the definitions it takes (a weak one like a global one: LD_DYNAMIC_WEAK unset).
_TAKEN = frozenset({"GLOBAL", "WEAK", "GNU_UNIQUE"})
# An import's relocations when they are not known: it is looked up.
_LOOKUP = REF_PLT | REF_OTHER
_DECLARED = "declared only: no relocation uses it, ld.so never looks it up"
_SELF = ("declared only: its relocations bind to the program's own PLT entry for it "
         "(an undefined symbol with a value), never to a library")

# One object of a lookup scope: (object, its export names, their lookup, has version defs).
_Entry = tuple["LoadedObject", Mapping[str, Any], Callable[[str], Sequence[ElfSymbol]], bool]

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


@dataclass(eq=False)
class LoadedObject:
    name: str
    installed: str | None
    real: str | None
    elf: ElfObject | None
    loader: LoadedObject | None
    found_via: str
    depth: int
    error: str | None = None


class LoadOrder(list[LoadedObject]):
    """A load order (the consumer first), with ``names``: the object each needed name
    resolved to (what ld.so's dependency sort, and so its relocation order, walks: see
    relocation_order). Kept here, not on the objects, which point to their loaders: no
    reference cycle for the garbage collector to find."""

    names: dict[str, LoadedObject]


class Resolver:
    """Resolve consumers against a set of layers. Reuses parsed libraries across consumers."""

    def __init__(self, layers: Layers | None = None, *, policy: Policy | None = None,
                 ld_library_path: Iterable[str] = (), lib_paths: Iterable[str] = (),
                 extra_needed: Iterable[str] = ()) -> None:
        self.layers = layers or Layers()
        self.policy = policy or Policy.load()
        self.ld_library_path = [p for p in ld_library_path if p]
        self.lib_paths = [os.path.abspath(p) for p in lib_paths]
        self.extra_needed = list(extra_needed)
        self._elf_cache: dict[str, ElfObject | ElfError] = {}
        self._relocs: dict[str, RelocationRefs | None] = {}
        self._realpaths: dict[str, str] = {}
        self._bindings: dict[tuple, dict[tuple, Binding]] = {}
        self._ld_conf: list[str] | None = None
        self._system_dirs: dict[tuple[str, int], tuple[str, ...]] = {}

    # -- reading -----------------------------------------------------------------------------

    def read(self, real: str) -> ElfObject:
        """Read (once) an ELF file of the layers."""
        return self._read(real)

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
                        elf = self._read(real)
                    except ElfError:
                        continue
                    if elf.elf_class == consumer.elf_class and elf.machine == consumer.machine:
                        return posixpath.join(d, os.path.basename(real)), real, elf
        for d in self.lib_paths:
            for real in sorted(glob.glob(os.path.join(d, pattern))):
                try:
                    elf = self._read(real)
                except ElfError:
                    continue
                if elf.elf_class == consumer.elf_class and elf.machine == consumer.machine:
                    return real, real, elf
        return None

    def _realpath(self, path: str) -> str:
        """os.path.realpath, remembered (the files do not change while resolving)."""
        hit = self._realpaths.get(path)
        if hit is None:
            hit = self._realpaths[path] = os.path.realpath(path)
        return hit

    def _read(self, real: str) -> ElfObject:
        key = self._realpath(real)
        hit = self._elf_cache.get(key)
        if hit is None:
            try:
                hit = read_elf(real, relocations=False)  # (a library: its exports suffice)
            except ElfError as exc:
                hit = exc
            self._elf_cache[key] = hit
        if isinstance(hit, ElfError):
            raise hit
        return hit

    def relocations_of(self, obj: LoadedObject) -> RelocationRefs | None:
        """What the dynamic relocations of a loaded object look up (its file read again,
        once, when it was read without them); None when not known."""
        elf = obj.elf
        if elf is None or elf.relocations is not None or obj.real is None or elf.member:
            return elf.relocations if elf is not None else None
        key = self._realpath(obj.real)
        if key not in self._relocs:
            try:
                self._relocs[key] = read_elf(key).relocations
            except ElfError:
                self._relocs[key] = None
        return self._relocs[key]

    # -- search ------------------------------------------------------------------------------

    @property
    def ld_conf_dirs(self) -> list[str]:
        if self._ld_conf is None:
            self._ld_conf = read_ld_so_conf(self.layers)
        return self._ld_conf

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

    def _candidate(self, installed: str, consumer: ElfObject
                   ) -> tuple[str, ElfObject, str] | None:
        """(real path, elf, installed path) of a usable library at an installed path."""
        hit = self.layers.locate(installed)
        if hit is None:
            return None
        try:
            elf = self._read(hit[1])
        except ElfError:
            return None
        if elf.elf_class != consumer.elf_class or elf.machine != consumer.machine:
            return None
        return hit[1], elf, hit[0]

    def _search(self, name: str, loader: LoadedObject, consumer: ElfObject
                ) -> tuple[str, str, str, ElfObject] | None:
        """Find a needed name: (installed path, real path, found_via, elf)."""
        if "/" in name:
            hit = self._candidate(name, consumer)
            return (hit[2], hit[0], "path", hit[1]) if hit else None
        groups: list[tuple[str, list[str]]] = []
        lelf = loader.elf
        assert lelf is not None
        if not lelf.runpath:
            chain: LoadedObject | None = loader
            while chain is not None:
                if chain.elf is not None and chain.elf.rpath and not chain.elf.runpath:
                    groups.append(("RPATH", [d for d in (self._expand(e, chain, consumer)
                                                         for e in chain.elf.rpath) if d]))
                chain = chain.loader
        groups.append(("LD_LIBRARY_PATH", self.ld_library_path))
        if lelf.runpath:
            groups.append(("RUNPATH", [d for d in (self._expand(e, loader, consumer)
                                                   for e in lelf.runpath) if d]))
        if self.lib_paths:
            groups.append(("lib-path", []))
        if not lelf.flags_1 & DF_1_NODEFLIB:
            groups.append(("ld.so.conf", self.ld_conf_dirs))
            groups.append(("default", default_dirs(consumer)))
        for via, dirs in groups:
            if via == "lib-path":
                for d in self.lib_paths:
                    real = os.path.join(d, name)
                    if os.path.isfile(real):
                        try:
                            elf = self._read(real)
                        except ElfError:
                            continue
                        if elf.elf_class == consumer.elf_class and elf.machine == consumer.machine:
                            return real, real, via, elf
                continue
            for d in dirs:
                hit = self._candidate(posixpath.join(d, name), consumer)
                if hit:
                    return hit[2], hit[0], via, hit[1]
        return None

    # -- load order --------------------------------------------------------------------------

    def load_order(self, consumer: ElfObject, installed: str | None = None
                   ) -> list[LoadedObject]:
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
            by_file[self._realpath(consumer.path)] = root
        order.names = by_name
        queue = deque([root])
        extra = list(self.extra_needed) if consumer.kind == "REL" else []
        cap = limits.current().max_load_order
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
                hit = self._search(name, obj, consumer)
                if hit is None:
                    lo = LoadedObject(name, None, None, None, obj, "not found", obj.depth + 1,
                                      error=f"library not found: {name}")
                    by_name[name] = lo
                    order.append(lo)
                    continue
                inst, real, via, elf = hit
                file_key = self._realpath(real)
                same = by_file.get(file_key) or (by_soname.get(elf.soname) if elf.soname
                                                 else None)
                if same is not None:
                    by_name[name] = same
                    continue
                lo = LoadedObject(name, inst, real, elf, obj, via, obj.depth + 1)
                by_name[name] = lo
                by_file[file_key] = lo
                if elf.soname:
                    by_name.setdefault(elf.soname, lo)
                    by_soname.setdefault(elf.soname, lo)
                order.append(lo)
                queue.append(lo)
        interp = consumer.interpreter
        if interp and not any(o.installed == interp or (o.elf and o.elf.soname and
                                                         o.elf.soname == posixpath.basename(interp))
                              for o in order):
            hit = self._candidate(interp, consumer)
            if hit:
                order.append(LoadedObject(posixpath.basename(interp), interp, hit[0], hit[1],
                                          root, "interpreter", 1))
        return order

    # -- binding -----------------------------------------------------------------------------

    @staticmethod
    def _match(sym: ElfSymbol, candidates: Sequence[ElfSymbol], versioned_lib: bool
               ) -> ElfSymbol | None:
        """glibc's check_match over one object's definitions of the name (only code and data
        definitions count: STT_SECTION, STT_FILE and the like never match)."""
        if sym.version:
            for d in candidates:
                if d.type not in _ALLOWED_TYPES:
                    continue
                if not versioned_lib or d.version == sym.version:
                    return d
                # An unversioned definition (index 0/1) satisfies a non-hidden reference.
                if d.version_index < 2 and not d.hidden and not sym.hidden:
                    return d
            return None
        single = None
        count = 0
        for d in candidates:
            if d.type not in _ALLOWED_TYPES:
                continue
            if not versioned_lib or d.version_index < 3:
                return d  # unversioned, base or oldest version: taken directly
            if not d.hidden:
                count += 1
                single = single or d
        # Otherwise only an object with exactly one non-hidden version of it satisfies it.
        return single if count == 1 else None

    def _lookup(self, sym: ElfSymbol, scope: Sequence[_Entry]
                ) -> tuple[LoadedObject, ElfSymbol] | None:
        """do_lookup_x: the first object of the scope with a matching definition (one whose
        binding is not global, weak or unique hides the name in its object)."""
        name = sym.name
        for obj, names, lookup, versioned in scope:
            if name in names:
                d = self._match(sym, lookup(name), versioned)
                if d is not None and d.binding in _TAKEN:
                    return obj, d
        return None

    def bind(self, consumer: ElfObject, order: list[LoadedObject]) -> list[Binding]:
        lib_class: dict[int, tuple[Stability, tuple[Evidence, ...]]] = {}
        missing = [o.name for o in order if o.elf is None]
        # The definitions of a name in each loaded object come from the index of its exports
        # (built once per parsed file, on first lookup; parsed files are cached).
        # (a dict probe of the names first: most objects of a scope do not define the name)
        scope = [(o, t.name_index(), t.lookup, bool(o.elf.version_defs))
                 for o in order[1:] if o.elf is not None for t in (o.elf.exports,)]
        match = self._match
        # Consumers with the same scope (the programs of one package) bind a symbol alike:
        # the Binding is made once and shared (it is immutable). A scope is its objects'
        # needed names, installed and real paths (a real path is read once: one ElfObject).
        memo = self._bindings.setdefault(
            tuple((o.name, o.installed, o.real, o.found_via) for o, _, _, _ in scope), {})
        # What the consumer's relocations look up (None: not known, every import is).
        relocs = consumer.relocations
        looked: Iterable[bool] = repeat(True)
        special: Mapping[int, int] = {}
        if relocs is not None:
            looked, special = relocs.lookups()
        masks: Sequence[int] | None = None
        unique = _UniqueTable(self, order, scope)
        out: list[Binding] = []
        for i, (sym, looks) in enumerate(zip(consumer.imports, looked)):
            if sym.value and looks and relocs is not None:
                # An executable's canonical PLT entry (an undefined symbol with a value) is the
                # first definition in ld.so's scope for all but PLT-class lookups: when only
                # such relocations use it, they bind to the program itself.
                masks = masks or relocs.import_refs()
                if not masks[i] & (REF_PLT | REF_COPY):
                    out.append(Binding(SymbolRef(sym.name, sym.version), sym.type,
                                       sym.binding == "WEAK", "declared", reason=_SELF))
                    continue
            # (which relocations look it up does not change where it binds, only whether)
            mkey = (sym.name, sym.version, sym.hidden, sym.binding, sym.type, looks)
            hit = memo.get(mkey)
            if hit is not None:
                out.append(hit)
                continue
            ref = SymbolRef(sym.name, sym.version)
            weak = sym.binding == "WEAK"
            if not looks:
                # No relocation uses it: ld.so never looks it up.
                out.append(memo.setdefault(mkey, Binding(ref, sym.type, weak, "declared",
                                                         reason=_DECLARED)))
                continue
            found: tuple[LoadedObject, ElfSymbol] | None = None
            name = sym.name
            for obj, names, lookup, versioned in scope:
                if name not in names:
                    continue
                d = match(sym, lookup(name), versioned)
                if d is not None and d.binding in _TAKEN:
                    found = (obj, d)
                    break
            if found is None:
                out.append(self._unresolved(consumer, sym, order, missing))
                continue
            if found[1].binding == "GNU_UNIQUE":
                # Bound to whichever definition of the name ld.so saw first: per consumer.
                out.append(self._bound(consumer, ref, sym, weak, unique.entry(sym, found),
                                       lib_class))
                continue
            b = memo[mkey] = self._bound(consumer, ref, sym, weak, found, lib_class)
            out.append(b)
        if special:
            exports = consumer.exports
            for pos, mask in special.items():
                b2 = self._bind_defined(consumer, exports[pos], mask, order, scope, memo,
                                        unique, lib_class, missing)
                if b2 is not None:
                    out.append(b2)
        return out

    def _bound(self, consumer: ElfObject, ref: SymbolRef, sym: ElfSymbol, weak: bool,
               found: tuple[LoadedObject, ElfSymbol],
               lib_class: dict[int, tuple[Stability, tuple[Evidence, ...]]],
               copy: CopyRelocation | None = None, reason: str | None = None) -> Binding:
        obj, d = found
        assert obj.elf is not None
        key = obj.elf.soname or obj.name
        if id(obj) not in lib_class:
            lib_class[id(obj)] = self.policy.classify_library(key, obj.elf,
                                                              self.location(obj, consumer))
        stab, ev = self.policy.classify_symbol(sym.name, d.version, key, lib_class[id(obj)])
        return Binding(ref, sym.type if sym.type != "NOTYPE" else d.type, weak, "bound",
                       provider=key, provider_path=obj.installed, provided_version=d.version,
                       reason=reason, stability=stab, evidence=ev, copy=copy)

    def _bind_defined(self, consumer: ElfObject, sym: ElfSymbol, mask: int,
                      order: list[LoadedObject],
                      scope: list[_Entry], memo: dict[tuple, Binding], unique: _UniqueTable,
                      lib_class: dict[int, tuple[Stability, tuple[Evidence, ...]]],
                      missing: list[str]) -> Binding | None:
        """The binding of a relocation against a symbol the consumer defines itself (None:
        ld.so binds it to the consumer). A copy relocation is looked up skipping the
        executable (the program loaded first, as ``ld.so FILE`` loads FILE): the program
        reserved ``sym.size`` bytes for the library's object. Any other lookup finds the
        consumer's own definition first (it is first in the scope), unless that is a GNU
        unique symbol another object entered first."""
        ref = SymbolRef(sym.name, sym.version)
        weak = sym.binding == "WEAK"
        if mask & REF_COPY:
            mkey = ("copy", sym.name, sym.version, sym.hidden, sym.type, sym.size)
            hit = memo.get(mkey)
            if hit is not None:
                return hit
            found = self._lookup(sym, scope)
            if found is None:
                return replace(self._unresolved(consumer, sym, order, missing),
                               copy=CopyRelocation(sym.size, None))
            b = memo[mkey] = self._bound(consumer, ref, sym, weak, found, lib_class,
                                         copy=CopyRelocation(sym.size, found[1].size))
            return b
        root = order[0]
        if sym.type in _ALLOWED_TYPES and sym.binding in _TAKEN:
            if sym.binding != "GNU_UNIQUE":
                return None
            obj, d = unique.entry(sym, (root, sym))
            if obj is root:
                return None
            return self._bound(consumer, ref, sym, weak, (obj, d), lib_class, reason=(
                "GNU unique symbol, defined here too: ld.so binds every reference to the "
                "definition its first lookup of the name found"))
        found = self._lookup(sym, scope)  # its own definition does not count for ld.so
        if found is None:
            return self._unresolved(consumer, sym, order, missing)
        return self._bound(consumer, ref, sym, weak, found, lib_class, reason=(
            f"defined here as a {sym.binding} {sym.type} symbol, which ld.so's lookup does not "
            f"take: bound to the first library defining it"))

    def _unresolved(self, consumer: ElfObject, sym: ElfSymbol, order: list[LoadedObject],
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
        reason = self._why_unresolved(sym, order, missing)
        lib: str | None = None
        how = ""
        if sym.version and sym.version_file:
            owner = next((o for o in order if o.name == sym.version_file or
                          (o.elf is not None and o.elf.soname == sym.version_file)), None)
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
        stab, ev = self.policy.classify_symbol(sym.name, sym.version, lib,
                                               self.policy.classify_library(lib, None))
        note = Evidence("unresolved", f"library not found: {lib} ({how}); the binding could "
                                      "not be checked, the class comes from the library's "
                                      "name and the policy")
        return Binding(ref, sym.type, weak, "unresolved", provider=lib, reason=reason,
                       stability=stab, evidence=(note, *ev))

    def _why_unresolved(self, sym: ElfSymbol, order: list[LoadedObject],
                        missing: list[str]) -> str:
        weak = " (weak: NULL at run time)" if sym.binding == "WEAK" else ""
        if sym.version and sym.version_file:
            owner = next((o for o in order if o.name == sym.version_file or
                          (o.elf is not None and o.elf.soname == sym.version_file)), None)
            if owner is None or owner.elf is None:
                return f"library not found: {sym.version_file}{weak}"
            defined = {d.name for d in owner.elf.version_defs}
            if sym.version not in defined:
                return (f"version missing: {sym.version_file} does not define version "
                        f"{sym.version}{weak}")
            return (f"symbol missing: {sym.version_file} defines version {sym.version} but no "
                    f"{sym.name}@{sym.version}{weak}")
        if missing:
            return (f"symbol missing; libraries not found: {', '.join(missing)}{weak}")
        return f"symbol missing: no loaded library defines {sym.name}{weak}"

    def location(self, obj: LoadedObject, consumer: ElfObject) -> Location:
        """Where a loaded object was found, for the policy (RUNPATH into a private
        directory makes a library private to its package)."""
        dirs = self._system_dirs.get((consumer.machine, consumer.elf_class))
        if dirs is None:
            dirs = self._system_dirs[(consumer.machine, consumer.elf_class)] = (
                *self.ld_conf_dirs, *default_dirs(consumer))
        return Location(obj.found_via, obj.installed, dirs)

    # -- the whole thing ---------------------------------------------------------------------

    def resolve(self, consumer: ElfObject, installed: str | None = None
                ) -> tuple[list[Library], list[Binding]]:
        order = self.load_order(consumer, installed)
        bindings = self.bind(consumer, order)
        libraries = []
        for obj in order[1:]:
            key = (obj.elf.soname if obj.elf and obj.elf.soname else obj.name)
            stab, ev = self.policy.classify_library(key, obj.elf, self.location(obj, consumer))
            libraries.append(Library(
                name=obj.name, path=obj.installed, soname=obj.elf.soname if obj.elf else None,
                found_via=obj.found_via, needed_by=(obj.loader.name if obj.loader else ""),
                depth=obj.depth, stability=stab, evidence=ev,
                version_defs=tuple(d.name for d in obj.elf.version_defs if not d.is_base)
                if obj.elf else ()))
        return libraries, bindings


class _UniqueTable:
    """ld.so's table of GNU unique symbols (STB_GNU_UNIQUE, do_lookup_unique), for one
    consumer: every lookup that lands on a unique definition of a name gets the definition
    the *first* such lookup found, whatever its own lookup found. ld.so relocates the loaded
    objects dependencies first (the reverse of its dependency-sorted init order, the
    consumer last), so that first lookup is made by the first object in that order whose
    relocations look the name up, each in the global scope (the consumer first, then the
    load order)."""

    def __init__(self, resolver: Resolver, order: list[LoadedObject],
                 scope: list[_Entry]) -> None:
        self.resolver = resolver
        self.order = order
        self.scope = scope
        self.entries: dict[str, tuple[LoadedObject, ElfSymbol] | None] = {}
        self._global: list[_Entry] | None = None
        self._before: list[LoadedObject] | None = None

    def entry(self, sym: ElfSymbol, found: tuple[LoadedObject, ElfSymbol]
              ) -> tuple[LoadedObject, ElfSymbol]:
        """The definition a lookup of ``sym`` that found the unique definition ``found``
        binds to."""
        name = sym.name
        if name not in self.entries:
            self.entries[name] = self._first(name)
        return self.entries[name] or found

    def _first(self, name: str) -> tuple[LoadedObject, ElfSymbol] | None:
        root = self.order[0]
        if self._global is None:
            e = root.elf
            assert e is not None
            self._global = [(root, e.exports.name_index(), e.exports.lookup,
                             bool(e.version_defs)), *self.scope]
        if self._before is None:  # the objects ld.so relocates before the consumer
            ordered = relocation_order(self.order)
            self._before = ordered[:ordered.index(root)] if root in ordered else ordered
        for obj in self._before:
            elf = obj.elf
            if elf is None or (name not in elf.exports.name_index()
                               and name not in elf.imports.name_index()):
                continue
            relocs = self.resolver.relocations_of(obj)
            if relocs is not None:
                refs: Sequence[tuple[ElfSymbol, int]] = relocs.referencing(name)
            else:  # not known: each of its symbols of the name counts as looked up
                refs = [(x, _LOOKUP) for t in (elf.imports, elf.exports) for x in t.lookup(name)]
            for xsym, xmask in refs:
                if not xmask & _LOOKUP:  # (only an executable's copy relocations remain)
                    continue
                hit = self.resolver._lookup(xsym, self._global)
                if hit is not None and hit[1].binding == "GNU_UNIQUE":
                    return hit
        return None


def relocation_order(order: list[LoadedObject]) -> list[LoadedObject]:
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
