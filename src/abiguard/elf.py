"""A small, fast, bounds-checked ELF reader for the dynamic-linking view.

This is the hot path of a distribution-wide census, so it works over ``mmap`` (or bytes)
with precompiled :class:`struct.Struct` objects, unpacks whole tables at once
(``iter_unpack``, :mod:`array` slices) and decodes string tables once, straight from the
mapping. Every offset, size and count read from the file is checked before it is used; bad
input raises :class:`~abiguard.errors.ElfError` (one line, naming the file or
``archive(member)``) and nothing else: never a hang, never a silently wrong result.

Public API:

- :func:`is_elf`, :func:`is_ar_archive`: cheap magic checks (never raise, never block).
- :func:`read_elf`: the :class:`~abiguard.model.ElfObject` of a file or of given bytes.
- :func:`read_archive`, :func:`iter_archive_members`: ``ar`` archives (GNU/SysV and BSD names).
- :class:`ElfFile`: lower-level access (header, segments, sections, section data, .symtab and
  .dynsym symbols, relocations, dynamic entries) computed lazily; ``ElfFile.dynamic_view()``
  is what :func:`read_elf` returns.

Where the view comes from: section headers when present (SHT_DYNAMIC, SHT_DYNSYM,
SHT_GNU_versym/verdef/verneed); without them (sstrip-ed files) PT_DYNAMIC and its DT_* tags,
addresses mapped through PT_LOAD, the symbol count from DT_HASH or a DT_GNU_HASH walk. ET_REL
objects give their .symtab (imports: undefined non-local; exports: defined non-local with
default or protected visibility; no versions).

Cost: per file, a few dozen bytecode-level operations and no Python-level work per symbol.
The symbol tables are validated when the file is read (counts, offsets, every st_name against
the string table, every version index), in C-level bulk operations, and copied out of the
mapping; ``ElfObject.imports``/``exports`` are lazy :class:`~abiguard.model.SymbolTable`
views over those copies (see :class:`_SymbolSource`): the import/export split is computed on
first use (bulk byte operations), names are decoded and ElfSymbol objects built only when
asked for (a whole table at ~0.5 us a symbol, see ``_SymBuilder``). Nothing done at access
time can fail: corrupt input raises at ``read_elf`` time.
"""

from __future__ import annotations

import codecs
import dataclasses
import gc
import mmap
import os
import stat
import struct
import sys
from array import array
from collections.abc import Iterator
from itertools import compress, repeat
from operator import add, eq, itemgetter
from typing import NamedTuple, Self

from . import limits
from .errors import ElfError
from .model import (
    REF_COPY,
    REF_OTHER,
    REF_PLT,
    ElfObject,
    ElfSymbol,
    SymbolTable,
    VersionDef,
    VersionNeed,
)

__all__ = [
    "AR_MAGIC",
    "ELF_MAGIC",
    "ElfFile",
    "ElfHeader",
    "Relocation",
    "Section",
    "Segment",
    "Symbol",
    "is_ar_archive",
    "is_elf",
    "iter_archive_members",
    "machine_name",
    "read_archive",
    "read_elf",
]

ELF_MAGIC = b"\x7fELF"
AR_MAGIC = b"!<arch>\n"
THIN_AR_MAGIC = b"!<thin>\n"

Buffer = bytes | mmap.mmap
Bytes = bytes | memoryview

# Files at least this large are mapped; smaller ones are read (one syscall beats mmap+munmap).
_MMAP_THRESHOLD = 1 << 16

# --------------------------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------------------------

PT_LOAD, PT_DYNAMIC, PT_INTERP = 1, 2, 3
PN_XNUM = 0xFFFF

SHT_NULL, SHT_SYMTAB, SHT_STRTAB, SHT_RELA, SHT_HASH, SHT_DYNAMIC = 0, 2, 3, 4, 5, 6
SHT_NOBITS, SHT_REL, SHT_DYNSYM, SHT_SYMTAB_SHNDX = 8, 9, 11, 18
SHT_GNU_VERDEF, SHT_GNU_VERNEED, SHT_GNU_VERSYM = 0x6FFFFFFD, 0x6FFFFFFE, 0x6FFFFFFF

SHN_UNDEF, SHN_LORESERVE, SHN_XINDEX = 0, 0xFF00, 0xFFFF

DT_NULL, DT_NEEDED, DT_HASH, DT_STRTAB, DT_SYMTAB = 0, 1, 4, 5, 6
DT_STRSZ, DT_SYMENT, DT_SONAME, DT_RPATH, DT_RUNPATH = 10, 11, 14, 15, 29
DT_GNU_HASH = 0x6FFFFEF5
DT_VERSYM, DT_FLAGS_1 = 0x6FFFFFF0, 0x6FFFFFFB
DT_VERDEF, DT_VERDEFNUM, DT_VERNEED, DT_VERNEEDNUM = 0x6FFFFFFC, 0x6FFFFFFD, 0x6FFFFFFE, 0x6FFFFFFF

DT_PLTRELSZ, DT_RELA, DT_RELASZ, DT_RELAENT = 2, 7, 8, 9
DT_REL, DT_RELSZ, DT_RELENT, DT_PLTREL, DT_JMPREL = 17, 18, 19, 20, 23
DT_RELACOUNT, DT_RELCOUNT = 0x6FFFFFF9, 0x6FFFFFFA

VER_FLG_WEAK = 2
EM_MIPS = 8


class _RelocRules(NamedTuple):
    """How glibc's ld.so treats a machine's dynamic relocation types (sysdeps/<arch>/
    dl-machine.h: elf_machine_rel[a] and elf_machine_type_class)."""

    never: frozenset[int]
    """Types that never look their symbol up (NONE, RELATIVE)."""
    copy: int
    """The copy relocation: looked up skipping the executable (ELF_RTYPE_CLASS_COPY)."""
    plt: frozenset[int]
    """ELF_RTYPE_CLASS_PLT types (JUMP_SLOT, TLS): not satisfied by an undefined symbol
    with a value (an executable's canonical PLT entry)."""
    rela: bool
    """The machine's ld.so processes DT_RELA (else DT_REL) tables, and DT_JMPREL as such."""


# e_machine -> rules. Other machines (MIPS binds through its GOT, not relocations): no
# relocation view (every import counts as looked up).
_RELOC_RULES: dict[int, _RelocRules] = {
    62: _RelocRules(frozenset({0, 8, 38}), 5, frozenset({7, 16, 17, 18, 36}), True),  # x86-64
    3: _RelocRules(frozenset({0, 8}), 5, frozenset({7, 14, 35, 36, 37, 41}), False),  # i386
    183: _RelocRules(frozenset({0, 1027}), 1024, frozenset({1026, 1028, 1029, 1030, 1031}),
                     True),  # aarch64 (LP64)
    40: _RelocRules(frozenset({0, 23}), 20, frozenset({13, 17, 18, 19, 22}), False),  # arm
    21: _RelocRules(frozenset({0, 22}), 19, frozenset({26, *range(68, 101)}), True),  # ppc64
    22: _RelocRules(frozenset({0, 12}), 9, frozenset({11, 54, 55, 56}), True),  # s390(x)
    243: _RelocRules(frozenset({0, 3}), 4, frozenset({5, 6, 7, 8, 9, 10, 11}), True),  # riscv
}

_KINDS = {0: "NONE", 1: "REL", 2: "EXEC", 3: "DYN", 4: "CORE"}

_MACHINES: dict[int, str] = {
    2: "sparc", 3: "i386", 4: "m68k", 8: "mips", 10: "mips", 15: "parisc", 18: "sparc",
    20: "ppc", 21: "ppc64", 22: "s390", 40: "arm", 41: "alpha", 42: "sh", 43: "sparc64",
    50: "ia64", 62: "x86_64", 83: "avr", 92: "openrisc", 94: "xtensa", 106: "blackfin",
    164: "hexagon", 183: "aarch64", 189: "microblaze", 243: "riscv", 247: "bpf",
    252: "csky", 258: "loongarch", 0x9026: "alpha",
}


def machine_name(e_machine: int, elf_class: int = 64) -> str:
    """Short architecture name for an ``e_machine`` value ("EM_<n>" when unknown)."""
    if e_machine == 22:
        return "s390x" if elf_class == 64 else "s390"
    return _MACHINES.get(e_machine) or f"EM_{e_machine}"


_BIND: tuple[str, ...] = ("LOCAL", "GLOBAL", "WEAK") + tuple(
    "GNU_UNIQUE" if i == 10 else str(i) for i in range(3, 16))
_TYPE: tuple[str, ...] = ("NOTYPE", "OBJECT", "FUNC", "SECTION", "FILE", "COMMON", "TLS") + tuple(
    "GNU_IFUNC" if i == 10 else str(i) for i in range(7, 16))
_VIS: tuple[str, ...] = ("DEFAULT", "INTERNAL", "HIDDEN", "PROTECTED")
# Indexed by the whole st_info / st_other byte (saves a shift or mask per symbol).
_BIND8: tuple[str, ...] = tuple(_BIND[i >> 4] for i in range(256))
_TYPE8: tuple[str, ...] = tuple(_TYPE[i & 15] for i in range(256))
_VIS8: tuple[str, ...] = tuple(_VIS[i & 3] for i in range(256))
_BINDTYPE8: tuple[tuple[str, str], ...] = tuple(zip(_BIND8, _TYPE8))



# --------------------------------------------------------------------------------------------
# Record types of the lower-level API
# --------------------------------------------------------------------------------------------


class ElfHeader(NamedTuple):
    """The ELF header, with extended numbering (PN_XNUM, SHN_XINDEX) already resolved."""

    elf_class: int
    endian: str
    osabi: int
    abiversion: int
    type: int
    machine: int
    version: int
    entry: int
    phoff: int
    shoff: int
    flags: int
    ehsize: int
    phentsize: int
    phnum: int
    shentsize: int
    shnum: int
    shstrndx: int


class Segment(NamedTuple):
    """A program header (fields in the ELF64 order for both classes)."""

    type: int
    flags: int
    offset: int
    vaddr: int
    paddr: int
    filesz: int
    memsz: int
    align: int


class Section(NamedTuple):
    """A section header with its name resolved."""

    index: int  # type: ignore[assignment]  # (shadows tuple.index)
    name: str
    type: int
    flags: int
    addr: int
    offset: int
    size: int
    link: int
    info: int
    addralign: int
    entsize: int


class Symbol(NamedTuple):
    """A symbol of .symtab/.dynsym (``shndx`` resolved through SHT_SYMTAB_SHNDX)."""

    name: str
    value: int
    size: int
    type: str
    binding: str
    visibility: str
    shndx: int


class Relocation(NamedTuple):
    """One entry of a SHT_REL/SHT_RELA section (``addend`` is None for SHT_REL)."""

    section: str
    offset: int
    type: int
    symbol: str
    addend: int | None
    symbol_index: int = 0


# Raw section header tuple: (name, type, flags, addr, offset, size, link, info, align, entsize)
_RawSection = tuple[int, int, int, int, int, int, int, int, int, int]


class _Layout:
    """Precompiled structs for one (class, endianness) pair."""

    __slots__ = (
        "big",
        "dyn",
        "ehdr",
        "is64",
        "mips64_rel",
        "mips64_rela",
        "phdr",
        "rel",
        "rela",
        "shdr",
        "sym",
        "u32",
        "u32x4",
        "verdaux",
        "verdef",
        "vernaux",
        "verneed",
        "word",
    )

    def __init__(self, is64: bool, big: bool) -> None:
        e = ">" if big else "<"
        S = struct.Struct
        self.is64 = is64
        self.big = big
        if is64:
            self.ehdr = S(e + "HHIQQQIHHHHHH")
            self.phdr = S(e + "IIQQQQQQ")
            self.shdr = S(e + "IIQQQQIIQQ")
            self.dyn = S(e + "QQ")
            self.sym = S(e + "IBBHQQ")
            self.rel = S(e + "QQ")
            self.rela = S(e + "QQq")
            self.word = S(e + "Q")
        else:
            self.ehdr = S(e + "HHIIIIIHHHHHH")
            self.phdr = S(e + "IIIIIIII")
            self.shdr = S(e + "IIIIIIIIII")
            self.dyn = S(e + "II")
            self.sym = S(e + "IIIBBH")
            self.rel = S(e + "II")
            self.rela = S(e + "IIi")
            self.word = S(e + "I")
        self.mips64_rel = S(e + "QIBBBB")
        self.mips64_rela = S(e + "QIBBBBq")
        self.verdef = S(e + "HHHHIII")
        self.verdaux = S(e + "II")
        self.verneed = S(e + "HHIII")
        self.vernaux = S(e + "IHHII")
        self.u32 = S(e + "I")
        self.u32x4 = S(e + "IIII")


_HOST_BIG = sys.byteorder == "big"
_ITEM2, _ITEM4, _ITEM5 = itemgetter(2), itemgetter(4), itemgetter(5)
_latin1 = codecs.latin_1_decode
_frm = int.from_bytes


def _array(code: str, raw: Bytes, big: bool) -> array[int]:
    """An unsigned array of 2/4/8-byte items from file bytes, in host order."""
    a = array(code)
    a.frombytes(raw)
    if big != _HOST_BIG:
        a.byteswap()
    return a


_LAYOUTS = {(is64, big): _Layout(is64, big) for is64 in (False, True) for big in (False, True)}


# --------------------------------------------------------------------------------------------
# Lazy symbol tables
# --------------------------------------------------------------------------------------------

# ElfSymbol is a frozen slotted dataclass: its __init__ goes through object.__setattr__ for
# each of its 11 fields (~1-2 us a symbol), which would make building every import of every
# consumer (what the resolver's bind does) cost more than reading the files. Symbols are
# filled in as a layout-identical plain slotted object (plain slot stores are cheap) that is
# then given the ElfSymbol class: the result is a genuine ElfSymbol (same eq, hash, repr,
# frozenness). Verified at import time; the ordinary constructor is used if the model ever
# changes shape. Only symbols that are asked for are built (see _SymbolSource).
_SYM_FIELDS = ("name", "version", "hidden", "binding", "type", "visibility", "defined", "value",
               "size", "version_file", "version_index")


class _SymBuilder:
    __slots__ = _SYM_FIELDS
    name: str
    version: str | None
    hidden: bool
    binding: str
    type: str
    visibility: str
    defined: bool
    value: int
    size: int
    version_file: str | None
    version_index: int


def _check_fast_symbols() -> bool:
    try:
        if tuple(f.name for f in dataclasses.fields(ElfSymbol)) != _SYM_FIELDS:
            return False
        if getattr(ElfSymbol, "__slots__", None) != _SYM_FIELDS:
            return False
        values = ("n", "V", True, "WEAK", "FUNC", "PROTECTED", True, 1, 2, "f", 3)
        o = object.__new__(_SymBuilder)
        for k, v in zip(_SYM_FIELDS, values):
            setattr(o, k, v)
        o.__class__ = ElfSymbol  # type: ignore[assignment]
        return o == ElfSymbol(*values) and hash(o) == hash(ElfSymbol(*values))
    except Exception:  # noqa: BLE001 - any failure just disables the fast path
        return False


_FAST_SYMBOLS = _check_fast_symbols()


# Per-byte tables for the import/export split (bytes.translate): st_info -> 1 when the
# binding is not STB_LOCAL; st_other -> 4 when the visibility is DEFAULT or PROTECTED; any
# nonzero byte -> 2 (st_shndx != SHN_UNDEF). code = those bits or-ed: an import has bit 1 and
# not bit 2 (any visibility), an export all three.
_T_NONLOCAL = bytes(int(i >= 16) for i in range(256))
_T_VISIBLE4 = bytes(4 if (i & 3) in (0, 3) else 0 for i in range(256))
_T_NONZERO2 = bytes(2 if i else 0 for i in range(256))
# st_info of a definition ld.so's lookup always takes (glibc check_match, do_lookup_x): a
# global or weak symbol of a code or data type (NOTYPE, OBJECT, FUNC, COMMON, TLS, IFUNC).
_T_SELF = bytes(int(i >> 4 in (1, 2) and i & 15 in (0, 1, 2, 5, 6, 10)) for i in range(256))
_T_IMPORT = bytes(int(i & 3 == 1) for i in range(256))
_T_EXPORT = bytes(int(i & 7 == 7) for i in range(256))
_VersionInfo = tuple[str | None, str | None, bool, int]  # version, file, hidden, index


class _Relocs(NamedTuple):
    """Where a file's dynamic relocation tables are; they are read on first use, each time
    (what the resolver asks of a consumer, once, while it binds it), from the file again
    (checked to be the file that was read: same size and modification time) or from the
    bytes it was read from, located and checked by ElfFile._relocation_tables. Reading
    every file's tables when it is read would cost every file (libraries too) and keep
    them in memory. Only the r_info column (symbol index and type) is then taken out, with
    bulk slicing and no Python work per entry."""

    path: str
    member: str | None
    data: Buffer | None
    """The bytes the file was read from when given (None: read from ``path``)."""
    stamp: tuple[int, int | None]
    """(size, modification time) of the file when it was read."""
    tags: dict[int, int]
    nsyms: int
    rules: _RelocRules
    is64: bool
    big: bool
    esz: int
    where: str

    def chunks(self) -> list[bytes]:
        f = ElfFile(self.path, self.data, member=self.member)
        try:
            if self.data is None and (f.size, f.mtime_ns) != self.stamp:
                raise f.error("changed while it was being scanned (size or modification time)")
            return f._relocation_tables(self.tags, self.rules)
        finally:
            f.close()

    def columns(self) -> list[tuple[array[int], array[int]]]:
        """(symbol indices, types) of each table, taken out of the r_info column with bulk
        slicing (no Python work per entry)."""
        out = []
        esz, big = self.esz, self.big
        w = esz // 4
        for raw in self.chunks():
            if self.is64:  # r_info: the type in its low half, the symbol in its high half
                words = _array("I", raw, big)
                lo, hi = (words[3::w], words[2::w]) if big else (words[2::w], words[3::w])
                out.append((hi, lo))
            else:  # r_info: the type in its low byte, the symbol in the 3 bytes above
                n = len(raw) // esz
                col = raw[4::esz], raw[5::esz], raw[6::esz], raw[7::esz]
                sym = bytearray(4 * n)
                types = array("I")
                if big:
                    sym[1::4], sym[2::4], sym[3::4] = col[0], col[1], col[2]
                    types.extend(col[3])
                else:
                    sym[0::4], sym[1::4], sym[2::4] = col[1], col[2], col[3]
                    types.extend(col[0])
                out.append((_array("I", sym, big), types))
        return out

    def looked_up(self, columns: list[tuple[array[int], array[int]]] | None = None
                  ) -> tuple[set[int], set[int]]:
        """(the symbol indices any relocation looks up, those of the copy relocations): one
        C-level pass over each table's columns (and one more for the copy relocations of an
        executable). An index past the symbol table is an ElfError naming the file."""
        never, copy, _plt, _rela = self.rules
        looked: set[int] = set()
        copies: set[int] = set()
        top = 0
        for syms, types in self.columns() if columns is None else columns:
            if not syms:
                continue
            top = max(top, max(syms))
            present = set(types)
            if present & never:
                # (rare: e.g. relative relocations DT_RELACOUNT does not count) a symbol
                # named only by such relocations is not looked up
                looked.update(compress(syms, map(_not_in, repeat(never), types)))
            else:
                looked.update(syms)
            if copy in present:
                copies.update(compress(syms, map(eq, types, repeat(copy))))
        if top >= max(self.nsyms, 1):
            raise ElfError(self.where, f"a dynamic relocation refers to symbol {top}, past the "
                                       f"{self.nsyms} symbols of the dynamic symbol table")
        looked.discard(0)
        copies.discard(0)
        return looked, copies

    def classes(self, columns: list[tuple[array[int], array[int]]] | None = None
                ) -> tuple[set[int], set[int], set[int]]:
        """The symbol indices the relocations look up, by class: (PLT class, copy, other);
        one pass per relocation type present."""
        never, copy, plt, _rela = self.rules
        by: dict[int, set[int]] = {REF_PLT: set(), REF_COPY: set(), REF_OTHER: set()}
        for syms, types in self.columns() if columns is None else columns:
            present = set(types)
            kinds = {t: REF_COPY if t == copy else REF_PLT if t in plt else REF_OTHER
                     for t in present - never}
            if len(kinds) == len(present) and len(set(kinds.values())) == 1:
                by[next(iter(kinds.values()))].update(syms)  # one class (DT_JMPREL)
                continue
            for t, bit in kinds.items():
                by[bit].update(compress(syms, map(eq, types, repeat(t))))
        for x in by.values():
            x.discard(0)
        return by[REF_PLT], by[REF_COPY], by[REF_OTHER]


def _not_in(group: frozenset[int], t: int) -> bool:
    return t not in group


# st_other -> 1 for hidden or internal visibility (ld.so binds such a reference locally).
_T_HIDDEN1 = bytes(int(i & 3 in (1, 2)) for i in range(256))


class _SymbolSource:
    """The symbols of one validated .dynsym/.symtab (null symbol excluded), as copies of the
    raw records, the names' string table and the .gnu.version entries.

    It serves the two lazy :class:`SymbolTable` views of ``ElfObject`` (kind 0: imports,
    i.e. undefined non-local symbols; kind 1: exports, i.e. defined non-local symbols of
    default or protected visibility). Everything that can be wrong with the input was
    checked by ``ElfFile._symbol_source``; nothing here raises, whatever the input bytes.
    """

    __slots__ = ("classes", "layout", "names_at", "positions", "raw", "refnames", "relocs",
                 "split", "text", "text_ascii", "verdefs", "verneeds", "versions", "versyms")

    def __init__(self, raw: bytes, layout: _Layout, names_at: array[int], text: str,
                 text_ascii: bool, versyms: array[int] | None, verdefs: dict[int, str],
                 verneeds: dict[int, tuple[str, str]]) -> None:
        # Where the dynamic relocation tables are (read on first use); None: not known.
        self.relocs: _Relocs | None = None
        self.classes: tuple[set[int], set[int], set[int]] | None = None
        self.refnames: dict[str, list[int]] | None = None
        self.raw = raw
        self.layout = layout
        self.names_at = names_at
        self.text = text
        self.text_ascii = text_ascii
        self.versyms = versyms
        self.verdefs = verdefs
        self.verneeds = verneeds
        # Computed on first use, each published by one assignment (tables of a parsed file
        # may be shared by threads: a census worker's cache).
        self.split: tuple[tuple[bytes, bytes], tuple[int, int]] | None = None
        self.positions: list[list[int] | None] = [None, None]
        self.versions: tuple[dict[int, _VersionInfo], dict[int, _VersionInfo]] | None = None

    def _split(self) -> tuple[tuple[bytes, bytes], tuple[int, int]]:
        """Selectors (one byte per record: 1 for the imports, and the same for the exports,
        computed with bulk byte operations) and the number of imports and exports."""
        raw = self.raw
        esz = self.layout.sym.size
        n = len(raw) // esz
        at = 4 if self.layout.is64 else 12  # st_info, then st_other and the 2 st_shndx bytes
        frm = int.from_bytes
        nonlocal_ = frm(raw[at::esz].translate(_T_NONLOCAL), "little")
        shndx = frm(raw[at + 2::esz], "little") | frm(raw[at + 3::esz], "little")
        defined = frm(shndx.to_bytes(n, "little").translate(_T_NONZERO2), "little")
        visible = frm(raw[at + 1::esz].translate(_T_VISIBLE4), "little")
        code = (nonlocal_ | defined | visible).to_bytes(n, "little")
        isel, esel = code.translate(_T_IMPORT), code.translate(_T_EXPORT)
        split = self.split = ((isel, esel), (isel.count(1), esel.count(1)))
        return split

    def _versions(self) -> tuple[dict[int, _VersionInfo], dict[int, _VersionInfo]]:
        """Raw .gnu.version value -> (version, version file, hidden, index), for undefined
        and for defined symbols (a defined symbol may carry a verneed index: copy
        relocations in executables). Every index was checked to be 0, 1 or known."""
        und: dict[int, _VersionInfo] = {}
        dfn: dict[int, _VersionInfo] = {}
        if self.versyms is None:
            und[0] = dfn[0] = (None, None, False, 0)
        else:
            vd, vn = self.verdefs, self.verneeds
            for vx in set(self.versyms):
                v = vx & 0x7FFF
                hidden = vx > 0x7FFF
                if v > 1:
                    need = vn.get(v)
                    defn = (vd[v], None) if v in vd else None
                    u = need or defn or (None, None)
                    d = defn or need or (None, None)
                    und[vx] = (u[0], u[1], hidden, v)
                    dfn[vx] = (d[0], d[1], hidden, v)
                else:
                    und[vx] = dfn[vx] = (None, None, hidden, v)
        versions = self.versions = (und, dfn)
        return versions

    def count(self, kind: int) -> int:
        return (self.split or self._split())[1][kind]

    def _positions(self, kind: int) -> list[int]:
        """The record numbers of the symbols of a view, in order."""
        positions = self.positions[kind]
        if positions is None:
            sel = (self.split or self._split())[0][kind]
            positions = self.positions[kind] = list(compress(range(len(sel)), sel))
        return positions

    # ---- what the dynamic relocations look up (model.RelocationRefs) ------------------------

    # (Nothing computed from the relocations is kept for the file's views: the resolver
    # asks once per consumer, and big sets kept alive make Python's GC slower for everyone.)

    @staticmethod
    def _mask(classes: tuple[set[int], set[int], set[int]], k: int) -> int:
        plt, copy, other = classes
        return (k in plt) | (k in copy) << 1 | (k in other) << 2

    def _hidden(self, kind: int) -> list[int]:
        """Positions (in the view) of the symbols of hidden or internal visibility: ld.so
        binds a reference to them locally, without a lookup (RESOLVE_MAP)."""
        sel = (self.split or self._split())[0][kind]
        esz = self.layout.sym.size
        at = (5 if self.layout.is64 else 13)
        hid = _frm(self.raw[at::esz].translate(_T_HIDDEN1), "little") & _frm(sel, "little")
        if not hid:
            return []
        flags = hid.to_bytes(len(sel), "little")
        return [sel.count(1, 0, r) for r in compress(range(len(flags)), flags)]

    def _imports_looked(self, looked: set[int]) -> list[bool]:
        isel = (self.split or self._split())[0][0]
        out = list(map(looked.__contains__, compress(range(1, len(isel) + 1), isel)))
        for i in self._hidden(0):
            out[i] = False
        return out

    def _export_refs(self, looked: set[int], copies: set[int], every: bool,
                     columns: list[tuple[array[int], array[int]]]) -> dict[int, int]:
        esel = (self.split or self._split())[0][1]
        n = len(esel)
        if every:
            records = sorted(k - 1 for k in looked if esel[k - 1])
        else:
            # a copy relocation's symbol, or a definition ld.so's lookup does not take for
            # granted (not a global or weak code or data symbol: GNU unique, ...)
            raw = self.raw
            esz = self.layout.sym.size
            at = 4 if self.layout.is64 else 12
            odd = _frm(esel, "little") & ~_frm(raw[at::esz].translate(_T_SELF), "little")
            special = compress(range(n), odd.to_bytes(n, "little")) if odd > 0 else ()
            records = sorted({k - 1 for k in copies if esel[k - 1]}
                             | {r for r in special if r + 1 in looked})
        if not records:
            return {}
        assert self.relocs is not None
        classes = self.relocs.classes(columns)
        return {esel.count(1, 0, r): self._mask(classes, r + 1) for r in records}

    def lookups(self) -> tuple[list[bool], dict[int, int]]:
        assert self.relocs is not None
        columns = self.relocs.columns()
        looked, copies = self.relocs.looked_up(columns)
        return (self._imports_looked(looked),
                self._export_refs(looked, copies, False, columns))

    def imports_looked_up(self) -> list[bool]:
        assert self.relocs is not None
        return self._imports_looked(self.relocs.looked_up()[0])

    def import_refs(self) -> list[int]:
        assert self.relocs is not None
        columns = self.relocs.columns()
        looked = self._imports_looked(self.relocs.looked_up(columns)[0])
        classes = self.relocs.classes(columns)
        isel = (self.split or self._split())[0][0]
        mask = self._mask
        return [mask(classes, k) if hit else 0
                for k, hit in zip(compress(range(1, len(isel) + 1), isel), looked)]

    def export_refs(self, every: bool = False) -> dict[int, int]:
        """The exports whose lookups ld.so may bind elsewhere than the file itself (see
        model.RelocationRefs.export_refs); ``every``: all the exports a relocation looks
        up."""
        assert self.relocs is not None
        columns = self.relocs.columns()
        looked, copies = self.relocs.looked_up(columns)
        return self._export_refs(looked, copies, every, columns)

    def referencing(self, name: str) -> list[tuple[ElfSymbol, int]]:
        names = self.refnames
        if names is None:  # (kept: asked for many names, of few libraries)
            assert self.relocs is not None
            columns = self.relocs.columns()
            looked, _copies = self.relocs.looked_up(columns)
            self.classes = self.relocs.classes(columns)
            names = {}
            text = self.text
            for k in looked:
                off = self.names_at[k - 1]
                n = text[off:text.find("\0", off)]
                if not self.text_ascii and not n.isascii():
                    n = _fix_name(n)
                names.setdefault(n, []).append(k - 1)
            self.refnames = names
        classes = self.classes
        assert classes is not None
        out = []
        isel, esel = (self.split or self._split())[0]
        for record in names.get(name, ()):
            kind = 0 if isel[record] else 1 if esel[record] else -1
            if kind >= 0:
                sym = self.symbol(kind, (isel if kind == 0 else esel).count(1, 0, record))
                if sym.visibility not in ("HIDDEN", "INTERNAL"):
                    out.append((sym, self._mask(classes, record + 1)))
        return out

    def symbol(self, kind: int, i: int) -> ElfSymbol:
        positions = self.positions[kind]
        if positions is None:
            positions = self._positions(kind)
        k = positions[i]
        sym = self.layout.sym
        rec = sym.unpack_from(self.raw, k * sym.size)
        if self.layout.is64:
            st_name, info, other, _shndx, value, size = rec
        else:
            st_name, value, size, info, other, _shndx = rec
        text = self.text
        name = text[st_name:text.find("\0", st_name)]
        if not self.text_ascii and not name.isascii():
            name = _fix_name(name)
        vx = self.versyms[k] if self.versyms is not None else 0
        version, vfile, hidden, vindex = (self.versions or self._versions())[kind][vx]
        return ElfSymbol(name, version, hidden, _BIND8[info], _TYPE8[info], _VIS8[other],
                         kind == 1, value, size, vfile, vindex)

    def names(self, kind: int) -> list[str]:
        offs = list(compress(self.names_at, (self.split or self._split())[0][kind]))
        text = self.text
        names = list(map(text.__getitem__, map(slice, offs, map(text.find, repeat("\0"),
                                                                   offs))))
        if not self.text_ascii:
            fix = _fix_name
            names = [n if n.isascii() else fix(n) for n in names]
        return names

    def symbols(self, kind: int) -> tuple[ElfSymbol, ...]:
        sel = (self.split or self._split())[0][kind]
        recs: Iterator[tuple[int, ...]] = compress(self.layout.sym.iter_unpack(self.raw), sel)
        if not self.layout.is64:
            recs = ((n, i, o, x, v, z) for n, v, z, i, o, x in recs)
        vxs = compress(self.versyms, sel) if self.versyms is not None else repeat(0)
        vinfo = (self.versions or self._versions())[kind]
        defined = kind == 1
        text = self.text
        find = text.find
        nonascii = not self.text_ascii
        fix = _fix_name
        BT, VIS = _BINDTYPE8, _VIS8
        new = object.__new__
        B = _SymBuilder
        ES: type = ElfSymbol if _FAST_SYMBOLS else _SymBuilder
        out: list[_SymBuilder] = []  # ElfSymbols once their class is switched
        append = out.append
        gc_was_enabled = gc.isenabled()
        gc.disable()  # many new acyclic objects: don't let the GC rescan the heap meanwhile
        try:
            for (st_name, info, other, _shndx, value, size), vx in zip(recs, vxs):
                o = new(B)
                o.version, o.version_file, o.hidden, o.version_index = vinfo[vx]
                name = text[st_name:find("\0", st_name)]
                if nonascii and not name.isascii():
                    name = fix(name)
                o.name = name
                o.binding, o.type = BT[info]
                o.visibility = VIS[other]
                o.defined = defined
                o.value = value
                o.size = size
                o.__class__ = ES
                append(o)
        finally:
            if gc_was_enabled:
                gc.enable()
        if not _FAST_SYMBOLS:
            return tuple(ElfSymbol(*(getattr(o, k) for k in _SYM_FIELDS)) for o in out)
        return tuple(out)  # type: ignore[arg-type]  # (they are ElfSymbols now)


_NO_SYMBOLS = SymbolTable()


# --------------------------------------------------------------------------------------------
# String tables
# --------------------------------------------------------------------------------------------


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


class _StrTab:
    """A string table with bounds-checked lookups.

    ``text`` is the table decoded as latin-1 (straight from the file's buffer), so that string
    indices are byte offsets and ``text.find``/slicing run in C; names that are not ASCII are
    re-decoded as UTF-8 (with surrogateescape), which only happens when ``ascii`` is False.
    """

    __slots__ = ("ascii", "elf", "text", "what")

    def __init__(self, raw: Bytes, what: str, elf: ElfFile) -> None:
        self.text = text = _latin1(raw)[0]
        self.ascii = text.isascii()
        self.what = what
        self.elf = elf

    def bad(self, off: int) -> ElfError:
        """The error for a string offset that does not name a NUL-terminated string."""
        if off >= len(self.text):
            return self.elf.error(f"string offset {off:#x} past the end of {self.what} "
                                  f"(size {len(self.text):#x})")
        return self.elf.error(f"string at offset {off:#x} of {self.what} is not "
                              f"NUL-terminated")

    def get(self, off: int) -> str:
        text = self.text
        end = text.find("\0", off)
        if end < 0:
            raise self.bad(off)
        if self.ascii:
            return text[off:end]
        return _fix_name(text[off:end])


def _fix_name(name: str) -> str:
    """A name sliced from a latin-1 decoded table, re-decoded as UTF-8."""
    return name.encode("latin-1").decode("utf-8", "surrogateescape")


# --------------------------------------------------------------------------------------------
# File loading
# --------------------------------------------------------------------------------------------


_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)


def _load(path: str) -> tuple[Buffer, mmap.mmap | None, int]:
    """The file's contents (read when small, mapped when large) and its modification time.
    Opened non-blocking (a FIFO must not hang a census) and rejected unless it is a regular
    file."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        raise ElfError(path, f"cannot open: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ElfError(path, "not a regular file")
        size = st.st_size
        if size >= _MMAP_THRESHOLD:
            mm = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
            return mm, mm, st.st_mtime_ns
        data = os.read(fd, size + 1)
        if len(data) > size:  # grew while we read it: read the rest
            chunks = [data]
            while chunk := os.read(fd, 1 << 20):
                chunks.append(chunk)
            data = b"".join(chunks)
        return data, None, st.st_mtime_ns
    except OSError as exc:
        raise ElfError(path, f"cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def _read_head(path: str, n: int) -> bytes:
    """The first n bytes of a regular file (b"" for anything else or on any error)."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except (OSError, ValueError):
        return b""
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return b""
        return os.read(fd, n)
    except OSError:
        return b""
    finally:
        os.close(fd)


def is_elf(path: str) -> bool:
    """True if the file starts with the ELF magic (False for unreadable files)."""
    return _read_head(path, 4) == ELF_MAGIC


def is_ar_archive(path: str) -> bool:
    """True if the file starts with the ``!<arch>\\n`` magic of an ar archive."""
    return _read_head(path, 8) == AR_MAGIC


# --------------------------------------------------------------------------------------------
# ElfFile
# --------------------------------------------------------------------------------------------


class ElfFile:
    """One ELF file (or ar member), parsed lazily and bounds-checked.

    ``ElfFile.open(path)`` maps the file; ``ElfFile(path, data)`` reads given bytes (``path``
    is then only used in error messages). Use as a context manager or call :meth:`close` to
    release the mapping. Every accessor raises :class:`ElfError` for corrupt input. The
    :mod:`~abiguard.limits` in force when it is created apply to all its accessors.
    """

    __slots__ = (
        "_dyn",
        "_lim",
        "_mm",
        "_phdrs",
        "_phtypes",
        "_sections",
        "_segments",
        "_shdrs",
        "_shtypes",
        "_strtabs",
        "data",
        "header",
        "layout",
        "member",
        "mtime_ns",
        "path",
        "size",
        "view",
        "where",
    )

    def __init__(self, path: str, data: bytes | bytearray | memoryview | mmap.mmap | None = None,
                 *, member: str | None = None) -> None:
        # Read once: limits.current() checks the environment, which is not free.
        self._lim = limits.current()
        self.path = path
        self.member = member
        self.where = f"{path}({member})" if member else path
        self._mm: mmap.mmap | None = None
        self.mtime_ns: int | None = None
        """The file's modification time when read from ``path`` (None for given bytes)."""
        if data is None:
            buf, self._mm, self.mtime_ns = _load(path)
        elif isinstance(data, (bytes, mmap.mmap)):
            buf = data
        else:
            buf = bytes(data)
        self.data: Buffer = buf
        self.view = memoryview(buf)
        self.size = len(buf)
        self._phdrs: list[tuple[int, ...]] | None = None
        self._phtypes: tuple[int, ...] = ()
        self._shdrs: list[_RawSection] | None = None
        self._shtypes: tuple[int, ...] = ()
        self._segments: list[Segment] | None = None
        self._sections: list[Section] | None = None
        self._strtabs: dict[int, _StrTab] = {}
        self._dyn: tuple[array[int], array[int]] | None = None
        try:
            self._parse_header()
        except BaseException:
            self.close()
            raise

    @classmethod
    def open(cls, path: str) -> ElfFile:
        """Open (map) an ELF file."""
        return cls(path)

    def close(self) -> None:
        """Release the file mapping (a no-op for bytes)."""
        mm, self._mm = self._mm, None
        if mm is not None:
            try:
                self.view.release()
                mm.close()
            except BufferError:  # a section_data() view is still alive: leave it to the GC
                pass

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def error(self, message: str) -> ElfError:
        """An ElfError naming this file (``archive(member)`` for archive members)."""
        return ElfError(self.where, message)

    def _past_eof(self, what: str, offset: int, size: int) -> ElfError:
        return self.error(f"truncated: {what} (offset {offset:#x}, size {size:#x}) ends past "
                          f"end of file (size {self.size:#x})")

    # ---- header -----------------------------------------------------------------------------

    def _parse_header(self) -> None:
        data = self.data
        ident = data[:16]
        if ident[:4] != ELF_MAGIC:
            raise self.error(f"not an ELF file (magic {ident[:4].hex(' ') or 'empty'})")
        if len(ident) < 16:
            raise self.error(f"truncated: ELF identification needs 16 bytes, file has "
                             f"{self.size}")
        ei_class, ei_data, ei_version, osabi, abiversion = ident[4:9]
        if ei_class not in (1, 2):
            raise self.error(f"bad ELF class {ei_class} in e_ident (expected 1 or 2)")
        if ei_data not in (1, 2):
            raise self.error(f"bad ELF data encoding {ei_data} in e_ident (expected 1 or 2)")
        if ei_version != 1:
            raise self.error(f"unsupported ELF version {ei_version} in e_ident (expected 1)")
        lay = self.layout = _LAYOUTS[(ei_class == 2, ei_data == 2)]
        hsize = 16 + lay.ehdr.size
        if self.size < hsize:
            raise self.error(f"truncated: ELF header needs {hsize} bytes, file has {self.size}")
        (e_type, e_machine, e_version, e_entry, e_phoff, e_shoff, e_flags, e_ehsize,
         e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx) = lay.ehdr.unpack_from(data, 16)
        shdr_size = lay.shdr.size
        shnum, phnum, shstrndx = e_shnum, e_phnum, e_shstrndx
        if e_shoff == 0:
            shnum = 0
        elif e_shnum == 0 or e_phnum == PN_XNUM or e_shstrndx == SHN_XINDEX:
            # Extended numbering: the real values live in section header 0.
            if e_shentsize != shdr_size:
                raise self.error(f"bad e_shentsize {e_shentsize} (expected {shdr_size})")
            if e_shoff + shdr_size > self.size:
                raise self._past_eof("section header 0", e_shoff, shdr_size)
            sh0 = lay.shdr.unpack_from(data, e_shoff)
            if e_shnum == 0:
                shnum = sh0[5]
            if e_shstrndx == SHN_XINDEX:
                shstrndx = sh0[6]
            if e_phnum == PN_XNUM:
                phnum = sh0[7]
        if e_phoff == 0:
            phnum = 0
        if phnum:
            want = lay.phdr.size
            if e_phentsize != want:
                raise self.error(f"bad e_phentsize {e_phentsize} (expected {want})")
            if e_phoff + phnum * want > self.size:
                raise self.error(f"truncated: program header table (offset {e_phoff:#x}, "
                                 f"{phnum} entries) ends past end of file (size {self.size:#x})")
        if shnum:
            cap = self._lim.max_elf_sections
            if shnum > cap:
                raise self.error(limits.message(f"{shnum} section headers", "max_elf_sections",
                                                cap))
            if e_shentsize != shdr_size:
                raise self.error(f"bad e_shentsize {e_shentsize} (expected {shdr_size})")
            if e_shoff + shnum * shdr_size > self.size:
                raise self.error(f"truncated: section header table (offset {e_shoff:#x}, "
                                 f"{shnum} entries) ends past end of file (size {self.size:#x})")
            if shstrndx >= shnum:
                raise self.error(f"e_shstrndx {shstrndx} out of range ({shnum} sections)")
        else:
            shstrndx = 0
        self.header = ElfHeader(64 if lay.is64 else 32, "big" if lay.big else "little", osabi,
                                abiversion, e_type, e_machine, e_version, e_entry, e_phoff,
                                e_shoff, e_flags, e_ehsize, e_phentsize, phnum, e_shentsize,
                                shnum, shstrndx)

    # ---- segments and sections --------------------------------------------------------------

    def _phdr_rows(self) -> list[tuple[int, ...]]:
        """Program headers as tuples in the ELF64 field order, checked against the file."""
        rows = self._phdrs
        if rows is None:
            h = self.header
            lay = self.layout
            rows = []
            if h.phnum:
                raw = self.view[h.phoff:h.phoff + h.phnum * lay.phdr.size]
                rows = list(lay.phdr.iter_unpack(raw))
                if not lay.is64:
                    rows = [(t, fl, o, v, p, fs, ms, a) for t, o, v, p, fs, ms, fl, a in rows]
                size = self.size
                # offset + filesz of every segment at once (C loops); details only when bad
                if max(map(add, map(_ITEM2, rows), map(_ITEM5, rows))) > size:
                    for i, r in enumerate(rows):
                        if r[5] and r[2] + r[5] > size:
                            raise self._past_eof(f"segment {i} (type {r[0]:#x})", r[2], r[5])
                self._phtypes = tuple(_array("I", raw, lay.big)[0::lay.phdr.size // 4])
            self._phdrs = rows
        return rows

    @property
    def segments(self) -> list[Segment]:
        """Program headers (fields in the ELF64 order for both classes)."""
        segs = self._segments
        if segs is None:
            segs = self._segments = [Segment._make(r) for r in self._phdr_rows()]
        return segs

    @property
    def raw_sections(self) -> list[_RawSection]:
        """Section headers as tuples (name, type, flags, addr, offset, size, link, info,
        addralign, entsize): cheap, names not resolved, checked against the file."""
        rows = self._shdrs
        if rows is None:
            h = self.header
            lay = self.layout
            rows = []
            if h.shnum:
                raw = self.view[h.shoff:h.shoff + h.shnum * lay.shdr.size]
                rows = list(lay.shdr.iter_unpack(raw))
                size = self.size
                # offset + size of every section at once (C loops); details only when bad
                if max(map(add, map(_ITEM4, rows), map(_ITEM5, rows))) > size:
                    for i, r in enumerate(rows):
                        if r[4] + r[5] > size and r[1] != SHT_NOBITS and r[5] and i:
                            raise self._past_eof(f"section {i} (type {r[1]:#x})", r[4], r[5])
                types = tuple(_array("I", raw, lay.big)[1::lay.shdr.size // 4])
                if h.shstrndx and types[h.shstrndx] not in (SHT_STRTAB, SHT_NOBITS):
                    raise self.error(f"e_shstrndx {h.shstrndx} names a section of type "
                                     f"{types[h.shstrndx]:#x}, not a string table")
                self._shtypes = types
            self._shdrs = rows
        return rows

    @property
    def sections(self) -> list[Section]:
        """Section headers with their names."""
        secs = self._sections
        if secs is None:
            raw = self.raw_sections
            shstrndx = self.header.shstrndx
            if shstrndx and raw[shstrndx][1] == SHT_STRTAB:
                tab = self._strtab(shstrndx, "section name table")
                secs = [Section(i, tab.get(s[0]) if i else "", *s[1:]) for i, s in enumerate(raw)]
            else:
                secs = [Section(i, "", *s[1:]) for i, s in enumerate(raw)]
            self._sections = secs
        return secs

    def section_by_name(self, name: str) -> Section | None:
        """The first section called ``name`` (None when there is none)."""
        for s in self.sections:
            if s.name == name:
                return s
        return None

    def section_data(self, sec: Section | int) -> memoryview:
        """The bytes of a section (empty for SHT_NOBITS) as a zero-copy view."""
        if isinstance(sec, int):
            secs = self.sections
            if not 0 <= sec < len(secs):
                raise self.error(f"section index {sec} out of range ({len(secs)} sections)")
            sec = secs[sec]
        if sec.type == SHT_NOBITS or not sec.size:
            return memoryview(b"")
        if sec.offset + sec.size > self.size:
            raise self._past_eof(f"section {sec.name or sec.index}", sec.offset, sec.size)
        return memoryview(self.data)[sec.offset:sec.offset + sec.size]

    def _find_section(self, sh_type: int) -> int:
        """Index of the first section of a type (0: none)."""
        if self._shdrs is None:
            _ = self.raw_sections
        try:
            return self._shtypes.index(sh_type)
        except ValueError:
            return 0

    def _strtab(self, index: int, what: str) -> _StrTab:
        tab = self._strtabs.get(index)
        if tab is None:
            secs = self.raw_sections
            if not 0 < index < len(secs):
                raise self.error(f"{what}: string table section {index} out of range "
                                 f"({len(secs)} sections)")
            s = secs[index]
            if s[1] != SHT_STRTAB:
                raise self.error(f"{what}: linked section {index} is of type {s[1]:#x}, "
                                 f"not a string table")
            tab = _StrTab(self.view[s[4]:s[4] + s[5]], f"string table (section {index})", self)
            self._strtabs[index] = tab
        return tab

    def _check_symbols(self, count: int, what: str) -> None:
        cap = self._lim.max_elf_symbols
        if count > cap:
            raise self.error(limits.message(f"{count} symbols in {what}", "max_elf_symbols", cap))

    def _table(self, index: int, entsize: int, what: str) -> tuple[Bytes, int]:
        """Bytes and entry count of a table section, checking sh_entsize."""
        s = self.raw_sections[index]
        if s[9] != entsize:
            raise self.error(f"bad sh_entsize {s[9]} for {what} (section {index}, "
                             f"expected {entsize})")
        if s[5] % entsize:
            raise self.error(f"size {s[5]:#x} of {what} (section {index}) is not a multiple "
                             f"of its entry size {entsize}")
        if s[1] == SHT_NOBITS:
            return b"", 0
        return self.view[s[4]:s[4] + s[5]], s[5] // entsize

    # ---- address mapping --------------------------------------------------------------------

    def _map_vaddr(self, vaddr: int, what: str) -> tuple[int, int]:
        """File offset of a virtual address and the bytes available from there (PT_LOAD)."""
        for s in self._phdr_rows():
            if s[0] == PT_LOAD and s[3] <= vaddr < s[3] + s[5]:
                delta = vaddr - s[3]
                return s[2] + delta, s[5] - delta
        raise self.error(f"{what} address {vaddr:#x} is not inside any PT_LOAD segment")

    # ---- symbols ----------------------------------------------------------------------------

    def _sym_records(self, raw: Bytes) -> Iterator[tuple[int, int, int, int, int, int]]:
        """(name, info, other, shndx, value, size) for each symbol of a table."""
        lay = self.layout
        if lay.is64:
            return lay.sym.iter_unpack(raw)
        return ((n, i, o, x, v, z) for n, v, z, i, o, x in lay.sym.iter_unpack(raw))

    def _symbols_of(self, index: int, what: str) -> list[Symbol]:
        secs = self.raw_sections
        if not 0 < index < len(secs) or secs[index][1] not in (SHT_SYMTAB, SHT_DYNSYM):
            raise self.error(f"{what}: section {index} is not a symbol table")
        raw, count = self._table(index, self.layout.sym.size, what)
        self._check_symbols(count, what)
        strtab = self._strtab(secs[index][6], what)
        xindex: array[int] | None = None
        out: list[Symbol] = []
        for n, (name, info, other, shndx, value, size) in enumerate(self._sym_records(raw)):
            if shndx == SHN_XINDEX:
                if xindex is None:
                    xindex = self._xindex_table(index, count, what)
                shndx = xindex[n]
            out.append(Symbol(strtab.get(name) if name else "", value, size, _TYPE[info & 15],
                              _BIND[info >> 4], _VIS[other & 3], shndx))
        return out

    def _xindex_table(self, symtab_index: int, count: int, what: str) -> array[int]:
        for i, s in enumerate(self.raw_sections):
            if s[1] == SHT_SYMTAB_SHNDX and s[6] == symtab_index:
                raw, n = self._table(i, 4, "SHT_SYMTAB_SHNDX section")
                if n < count:
                    raise self.error(f"SHT_SYMTAB_SHNDX section {i} has {n} entries for "
                                     f"{count} symbols of {what}")
                return _array("I", raw, self.layout.big)
        raise self.error(f"a symbol of {what} uses SHN_XINDEX but there is no "
                         f"SHT_SYMTAB_SHNDX section for it")

    def symtab_symbols(self) -> list[Symbol]:
        """Symbols of .symtab (empty when stripped); index 0 is the null symbol."""
        idx = self._find_section(SHT_SYMTAB)
        return self._symbols_of(idx, ".symtab") if idx else []

    def dynsym_symbols(self) -> list[Symbol]:
        """Symbols of .dynsym via its section header (empty when there is none)."""
        idx = self._find_section(SHT_DYNSYM)
        return self._symbols_of(idx, ".dynsym") if idx else []

    # ---- relocations ------------------------------------------------------------------------

    def relocations(self) -> Iterator[Relocation]:
        """Entries of every SHT_REL/SHT_RELA section: (section name, offset, type, symbol
        name, addend, symbol index). Symbol names come from the section's sh_link table."""
        lay = self.layout
        mips64 = lay.is64 and self.header.machine == EM_MIPS
        secs = self.sections
        symcache: dict[int, list[Symbol]] = {}
        # Sections may overlap: count what all of them make us read, not each one.
        lim = self._lim
        nrel = nsym = 0
        for sec in secs:
            if sec.type not in (SHT_REL, SHT_RELA):
                continue
            rela = sec.type == SHT_RELA
            st = (lay.mips64_rela if rela else lay.mips64_rel) if mips64 else (
                lay.rela if rela else lay.rel)
            raw, n = self._table(sec.index, st.size, f"relocation section {sec.name}")
            nrel += n
            if nrel > lim.max_elf_relocations:
                raise self.error(limits.message(f"more than {lim.max_elf_relocations} "
                                                "relocations", "max_elf_relocations",
                                                lim.max_elf_relocations))
            syms: list[Symbol] = []
            if sec.link:
                if sec.link not in symcache:
                    table = self._symbols_of(sec.link, f"symbol table of {sec.name}")
                    nsym += len(table)
                    if nsym > lim.max_elf_symbols:
                        raise self.error(limits.message(
                            f"more than {lim.max_elf_symbols} symbols in the symbol tables of "
                            "the relocation sections", "max_elf_symbols", lim.max_elf_symbols))
                    symcache[sec.link] = table
                syms = symcache[sec.link]
            nsyms = len(syms)
            for rec in st.iter_unpack(raw):
                if mips64:
                    offset, symi, _ssym, t3, t2, t1 = rec[:6]
                    rtype = t1 | t2 << 8 | t3 << 16
                else:
                    offset, info = rec[0], rec[1]
                    if lay.is64:
                        symi, rtype = info >> 32, info & 0xFFFFFFFF
                    else:
                        symi, rtype = info >> 8, info & 0xFF
                if symi and symi >= nsyms:
                    raise self.error(f"relocation in {sec.name} refers to symbol {symi}, "
                                     f"past the {nsyms} symbols of section {sec.link}")
                yield Relocation(sec.name, offset, rtype, syms[symi].name if symi else "",
                                 rec[-1] if rela else None, symi)

    # ---- dynamic section --------------------------------------------------------------------

    def _use_segments(self) -> bool:
        """True when the dynamic view must come from PT_DYNAMIC (no usable section headers)."""
        if not self.raw_sections:
            return True
        if SHT_DYNAMIC in self._shtypes:
            return False
        self._phdr_rows()
        if PT_DYNAMIC not in self._phtypes:
            return False
        # A .dynamic of another type (e.g. SHT_NOBITS in a debug-info file) means "no data".
        return self.section_by_name(".dynamic") is None

    def _dyn_arrays(self) -> tuple[array[int], array[int]]:
        """Tags and values of the dynamic section, up to DT_NULL."""
        dyn = self._dyn
        if dyn is None:
            lay = self.layout
            esz = lay.dyn.size
            raw: Bytes = b""
            if self._use_segments():
                for s in self._phdr_rows():
                    if s[0] == PT_DYNAMIC:
                        raw = self.view[s[2]:s[2] + s[5] - s[5] % esz]
                        break
            else:
                idx = self._find_section(SHT_DYNAMIC)
                if idx:
                    raw, _ = self._table(idx, esz, ".dynamic")
            a = _array("Q" if lay.is64 else "I", raw, lay.big)
            tags, vals = a[0::2], a[1::2]
            try:
                end = tags.index(DT_NULL)
            except ValueError:
                pass
            else:
                tags, vals = tags[:end], vals[:end]
            dyn = self._dyn = (tags, vals)
        return dyn

    def dynamic_entries(self) -> list[tuple[int, int]]:
        """(d_tag, d_val) pairs of the dynamic section up to DT_NULL."""
        tags, vals = self._dyn_arrays()
        return list(zip(tags, vals))

    def _dynstr_from_tags(self, tags: dict[int, int]) -> _StrTab | None:
        tab = self._strtabs.get(-1)
        if tab is None and DT_STRTAB in tags:
            off, avail = self._map_vaddr(tags[DT_STRTAB], "DT_STRTAB")
            size = tags.get(DT_STRSZ, avail)
            if size > avail:
                raise self.error(f"DT_STRSZ {size:#x} runs past the end of its segment "
                                 f"({avail:#x} bytes available)")
            tab = self._strtabs[-1] = _StrTab(self.view[off:off + size], "DT_STRTAB", self)
        return tab

    def _gnu_hash_count(self, vaddr: int) -> int:
        off, avail = self._map_vaddr(vaddr, "DT_GNU_HASH")
        lay = self.layout
        if avail < 16:
            raise self.error("truncated: DT_GNU_HASH header runs past its segment")
        nbuckets, symoffset, bloom_size, _shift = lay.u32x4.unpack_from(self.data, off)
        buckets_at = 16 + bloom_size * lay.word.size
        chains_at = buckets_at + nbuckets * 4
        if chains_at > avail:
            raise self.error(f"truncated: DT_GNU_HASH ({nbuckets} buckets, {bloom_size} bloom "
                             f"words) runs past its segment")
        buckets = _array("I", self.view[off + buckets_at:off + chains_at], lay.big)
        last = max(buckets, default=0)
        if last == 0:
            return symoffset
        if last < symoffset:
            raise self.error(f"corrupt DT_GNU_HASH: bucket {last} below symoffset {symoffset}")
        start = off + chains_at + (last - symoffset) * 4
        end = off + avail
        chain = _array("I", self.view[start:end - (end - start) % 4], lay.big)
        for k, h in enumerate(chain):
            if h & 1:
                return last + k + 1
        raise self.error("corrupt DT_GNU_HASH: the last hash chain runs past its segment")

    def _dynsym_from_tags(self, tags: dict[int, int]) -> tuple[Bytes, int]:
        esz = self.layout.sym.size
        if tags.get(DT_SYMENT, esz) != esz:
            raise self.error(f"bad DT_SYMENT {tags[DT_SYMENT]} (expected {esz})")
        off, avail = self._map_vaddr(tags[DT_SYMTAB], "DT_SYMTAB")
        if DT_HASH in tags:
            hoff, havail = self._map_vaddr(tags[DT_HASH], "DT_HASH")
            if havail < 8:
                raise self.error("truncated: DT_HASH header runs past its segment")
            count = self.layout.u32.unpack_from(self.data, hoff + 4)[0]
        elif DT_GNU_HASH in tags:
            count = self._gnu_hash_count(tags[DT_GNU_HASH])
        else:
            raise self.error("no section headers and no DT_HASH/DT_GNU_HASH: cannot tell "
                             "the size of the dynamic symbol table")
        if count * esz > avail:
            raise self.error(f"dynamic symbol table ({count} symbols at {off:#x}) runs past "
                             f"the end of its segment ({avail:#x} bytes available)")
        self._check_symbols(count, "the dynamic symbol table")
        return self.view[off:off + count * esz], count

    # ---- versions ---------------------------------------------------------------------------

    def _verdefs(self, off: int, size: int, count: int | None,
                 strtab: _StrTab) -> list[VersionDef]:
        lay = self.layout
        data = self.data
        unpack, unpack_aux = lay.verdef.unpack_from, lay.verdaux.unpack_from
        esz, asz = lay.verdef.size, lay.verdaux.size
        lookup = strtab.get
        end = off + size
        what = ".gnu.version_d"
        limit = size // esz
        if count is not None and count > limit:
            raise self.error(f"corrupt {what}: {count} entries do not fit in {size} bytes")
        # Entries may share auxiliary entries: cap what the whole chain makes us read.
        budget = cap = self._lim.max_version_entries
        out: list[VersionDef] = []
        seen: set[int] = set()
        pos = off
        k = 0
        while True:
            if pos + esz > end:
                raise self.error(f"truncated: {what} entry {k} at {pos:#x} runs past the end "
                                 f"of the table")
            vd_version, flags, ndx, cnt, _hash, aux, nxt = unpack(data, pos)
            if vd_version != 1:
                raise self.error(f"corrupt {what}: entry {k} has version {vd_version} "
                                 f"(expected 1)")
            if cnt == 0:
                raise self.error(f"corrupt {what}: entry {k} has no name (vd_cnt 0)")
            if aux < esz:
                raise self.error(f"corrupt {what}: entry {k} has vd_aux {aux}, overlapping "
                                 f"the entry")
            if ndx in seen:
                raise self.error(f"corrupt {what}: version index {ndx} defined twice")
            seen.add(ndx)
            budget -= cnt + 1
            if budget < 0:
                raise self.error(limits.message(f"more than {cap} entries in {what}",
                                                "max_version_entries", cap))
            names: list[str] = []
            apos = pos + aux
            for j in range(cnt):
                if apos + asz > end:
                    raise self.error(f"truncated: {what} entry {k} auxiliary {j} runs past the "
                                     f"end of the table")
                name, anext = unpack_aux(data, apos)
                names.append(lookup(name))
                if j + 1 < cnt:
                    if anext < asz:
                        raise self.error(f"corrupt {what}: entry {k} auxiliary chain ends or "
                                         f"loops after {j + 1} of {cnt} entries")
                    apos += anext
            out.append(VersionDef(ndx, names[0], flags, tuple(names[1:])))
            k += 1
            if k == count:
                break
            if nxt == 0:
                if count is None:
                    break
                raise self.error(f"corrupt {what}: chain ends after {k} of {count} entries")
            if nxt < esz:
                raise self.error(f"corrupt {what}: entry {k - 1} has vd_next {nxt}, "
                                 f"overlapping the entry (loop)")
            if k >= limit:
                raise self.error(f"corrupt {what}: chain longer than the table")
            pos += nxt
        return out

    def _verneeds(self, off: int, size: int, count: int | None,
                  strtab: _StrTab) -> tuple[list[VersionNeed], dict[int, tuple[str, str]]]:
        lay = self.layout
        data = self.data
        unpack, unpack_aux = lay.verneed.unpack_from, lay.vernaux.unpack_from
        esz, asz = lay.verneed.size, lay.vernaux.size
        lookup = strtab.get
        end = off + size
        what = ".gnu.version_r"
        limit = size // esz
        if count is not None and count > limit:
            raise self.error(f"corrupt {what}: {count} entries do not fit in {size} bytes")
        budget = cap = self._lim.max_version_entries
        out: list[VersionNeed] = []
        index: dict[int, tuple[str, str]] = {}
        pos = off
        k = 0
        while True:
            if pos + esz > end:
                raise self.error(f"truncated: {what} entry {k} at {pos:#x} runs past the end "
                                 f"of the table")
            vn_version, cnt, file_off, aux, nxt = unpack(data, pos)
            if vn_version != 1:
                raise self.error(f"corrupt {what}: entry {k} has version {vn_version} "
                                 f"(expected 1)")
            fname = lookup(file_off)
            budget -= cnt + 1
            if budget < 0:
                raise self.error(limits.message(f"more than {cap} entries in {what}",
                                                "max_version_entries", cap))
            versions: list[str] = []
            weak: list[str] = []
            if cnt:
                if aux < esz:
                    raise self.error(f"corrupt {what}: entry {k} has vn_aux {aux}, overlapping "
                                     f"the entry")
                apos = pos + aux
                for j in range(cnt):
                    if apos + asz > end:
                        raise self.error(f"truncated: {what} entry {k} auxiliary {j} runs past "
                                         f"the end of the table")
                    _hash, vflags, other, name_off, anext = unpack_aux(data, apos)
                    vname = lookup(name_off)
                    versions.append(vname)
                    if vflags & VER_FLG_WEAK:
                        weak.append(vname)
                    if other in index:
                        raise self.error(f"corrupt {what}: version index {other} used twice")
                    index[other] = (vname, fname)
                    if j + 1 < cnt:
                        if anext < asz:
                            raise self.error(f"corrupt {what}: entry {k} auxiliary chain ends "
                                             f"or loops after {j + 1} of {cnt} entries")
                        apos += anext
            out.append(VersionNeed(fname, tuple(versions), tuple(weak)))
            k += 1
            if k == count:
                break
            if nxt == 0:
                if count is None:
                    break
                raise self.error(f"corrupt {what}: chain ends after {k} of {count} entries")
            if nxt < esz:
                raise self.error(f"corrupt {what}: entry {k - 1} has vn_next {nxt}, "
                                 f"overlapping the entry (loop)")
            if k >= limit:
                raise self.error(f"corrupt {what}: chain longer than the table")
            pos += nxt
        return out, index

    def version_definitions(self) -> list[VersionDef]:
        """Entries of .gnu.version_d (what the dynamic view reports)."""
        return list(self.dynamic_view().version_defs)

    # ---- the dynamic-linking view -----------------------------------------------------------

    def dynamic_view(self, relocations: bool = True) -> ElfObject:
        """The :class:`ElfObject` of this file (what :func:`read_elf` returns);
        ``relocations=False`` leaves ``ElfObject.relocations`` None (not read)."""
        try:
            return self._dynamic_view(relocations)
        except ElfError:
            raise
        except (struct.error, IndexError, KeyError, ValueError, OverflowError, TypeError,
                MemoryError) as exc:  # safety net: never leak anything but ElfError
            raise self.error(f"corrupt ELF file (internal check failed: "
                             f"{type(exc).__name__}: {exc})") from exc

    def _dynamic_view(self, relocations: bool) -> ElfObject:
        h = self.header
        data = self.data
        lay = self.layout
        segs = self._phdr_rows()
        secs = self.raw_sections
        shtypes = self._shtypes

        interpreter: str | None = None
        if PT_INTERP in self._phtypes:
            s = segs[self._phtypes.index(PT_INTERP)]
            interpreter = _decode(data[s[2]:s[2] + s[5]].split(b"\0", 1)[0])

        soname: str | None = None
        needed: list[str] = []
        rpath: list[str] = []
        runpath: list[str] = []
        flags_1 = 0
        source: _SymbolSource | None = None
        vdefs: list[VersionDef] = []
        vneeds: list[VersionNeed] = []

        if h.type == 1:  # ET_REL: the symbol table of the object file
            idx = self._find_section(SHT_SYMTAB)
            if idx:
                raw, count = self._table(idx, lay.sym.size, ".symtab")
                self._check_symbols(count, ".symtab")
                strtab = self._strtab(secs[idx][6], ".symtab")
                source = self._symbol_source(raw, count, strtab, None, None, None)
        else:
            use_segments = self._use_segments()
            dtags, dvals = self._dyn_arrays()
            tags: dict[int, int] = dict(zip(reversed(dtags), reversed(dvals)))  # first wins
            dynstr: _StrTab | None = None
            if tags:
                if use_segments:
                    dynstr = self._dynstr_from_tags(tags)
                    if dynstr is None:
                        raise self.error("dynamic section without DT_STRTAB")
                else:
                    dynstr = self._strtab(secs[self._find_section(SHT_DYNAMIC)][6], ".dynamic")
                get = dynstr.get
                if DT_NEEDED in tags:
                    needed = [get(v) for v in compress(dvals, map(eq, dtags, repeat(DT_NEEDED)))]
                if DT_SONAME in tags:
                    soname = get(tags[DT_SONAME])
                if DT_RUNPATH in tags:
                    for v in compress(dvals, map(eq, dtags, repeat(DT_RUNPATH))):
                        runpath.extend(get(v).split(":"))
                if DT_RPATH in tags:
                    for v in compress(dvals, map(eq, dtags, repeat(DT_RPATH))):
                        rpath.extend(get(v).split(":"))
                flags_1 = tags.get(DT_FLAGS_1, 0)

            # Locate .dynsym, its strings and the version tables.
            symraw: Bytes = b""
            nsyms = 0
            symstr: _StrTab | None = None
            versym_raw: Bytes | None = None
            vd_loc: tuple[int, int, int | None] | None = None
            vn_loc: tuple[int, int, int | None] | None = None
            vd_str: _StrTab | None = dynstr
            vn_str: _StrTab | None = dynstr
            if use_segments:
                if DT_SYMTAB in tags:
                    if dynstr is None:
                        raise self.error("DT_SYMTAB without DT_STRTAB")
                    symraw, nsyms = self._dynsym_from_tags(tags)
                    symstr = dynstr
                if DT_VERSYM in tags and nsyms:
                    off, avail = self._map_vaddr(tags[DT_VERSYM], "DT_VERSYM")
                    if avail < 2 * nsyms:
                        raise self.error(f"truncated: DT_VERSYM table ({nsyms} entries) runs "
                                         f"past its segment")
                    versym_raw = self.view[off:off + 2 * nsyms]
                if DT_VERDEF in tags:
                    off, avail = self._map_vaddr(tags[DT_VERDEF], "DT_VERDEF")
                    vd_loc = (off, avail, tags.get(DT_VERDEFNUM))
                if DT_VERNEED in tags:
                    off, avail = self._map_vaddr(tags[DT_VERNEED], "DT_VERNEED")
                    vn_loc = (off, avail, tags.get(DT_VERNEEDNUM))
            else:
                sidx = self._find_section(SHT_DYNSYM)
                if sidx:
                    symraw, nsyms = self._table(sidx, lay.sym.size, ".dynsym")
                    self._check_symbols(nsyms, ".dynsym")
                    symstr = self._strtab(secs[sidx][6], ".dynsym")
                if nsyms and SHT_GNU_VERSYM in shtypes:
                    vsidx = shtypes.index(SHT_GNU_VERSYM)
                    versym_raw, n = self._table(vsidx, 2, ".gnu.version")
                    if n < nsyms:
                        raise self.error(f".gnu.version has {n} entries for {nsyms} symbols")
                if SHT_GNU_VERDEF in shtypes:
                    s = secs[shtypes.index(SHT_GNU_VERDEF)]
                    vd_str = self._strtab(s[6], ".gnu.version_d")
                    vd_loc = (s[4], s[5], s[7] or None)
                if SHT_GNU_VERNEED in shtypes:
                    s = secs[shtypes.index(SHT_GNU_VERNEED)]
                    vn_str = self._strtab(s[6], ".gnu.version_r")
                    vn_loc = (s[4], s[5], s[7] or None)

            vn_index: dict[int, tuple[str, str]] = {}
            if vd_loc is not None and vd_loc[2] != 0:
                if vd_str is None:
                    raise self.error("version definitions without a string table")
                vdefs = self._verdefs(vd_loc[0], vd_loc[1], vd_loc[2], vd_str)
            if vn_loc is not None and vn_loc[2] != 0:
                if vn_str is None:
                    raise self.error("version requirements without a string table")
                vneeds, vn_index = self._verneeds(vn_loc[0], vn_loc[1], vn_loc[2], vn_str)

            if symstr is not None:
                source = self._symbol_source(symraw, nsyms, symstr, versym_raw, vdefs,
                                             vn_index)
            rules = _RELOC_RULES.get(h.machine) if relocations else None
            if source is not None and rules is not None and (lay.is64 or h.machine != 183):
                # read on first use (the resolver binding a consumer), not now
                source.relocs = _Relocs(
                    self.path, self.member, self.data if self.mtime_ns is None else None,
                    (self.size, self.mtime_ns), tags, nsyms, rules, lay.is64, lay.big,
                    lay.rela.size if rules.rela else lay.rel.size, self.where)

        imports = exports = _NO_SYMBOLS
        relocations = None
        if source is not None:
            imports = SymbolTable.lazy(source, 0)
            exports = SymbolTable.lazy(source, 1)
            if source.relocs is not None:
                relocations = source
        return ElfObject(
            path=self.path, elf_class=h.elf_class, endian=h.endian,
            machine=machine_name(h.machine, h.elf_class),
            kind=_KINDS.get(h.type) or f"ET_{h.type}", machine_id=h.machine, osabi=h.osabi,
            soname=soname, needed=tuple(needed), rpath=tuple(rpath), runpath=tuple(runpath),
            interpreter=interpreter, flags_1=flags_1, imports=imports,
            exports=exports, version_defs=tuple(vdefs), version_needs=tuple(vneeds),
            size=self.size, member=self.member, stripped=SHT_SYMTAB not in shtypes,
            relocations=relocations)

    def _relocation_tables(self, tags: dict[int, int], rules: _RelocRules) -> list[bytes]:
        """The dynamic relocation tables ld.so processes, as it takes them
        (_ELF_DYNAMIC_DO_RELOC): the DT_RELA (or DT_REL, by machine) table after its first
        DT_RELACOUNT entries (relative relocations, which ld.so applies without looking at
        them), and DT_JMPREL when DT_PLTREL is present; located, checked and copied out."""
        lay = self.layout
        rela = rules.rela
        esz = lay.rela.size if rela else lay.rel.size
        what = "DT_RELA" if rela else "DT_REL"
        ranges: list[tuple[int, int, str]] = []
        size = tags.get(DT_RELASZ if rela else DT_RELSZ, 0)
        if size and (DT_RELA if rela else DT_REL) in tags:
            ent = tags.get(DT_RELAENT if rela else DT_RELENT, esz)
            if ent != esz:
                raise self.error(f"bad {what}ENT {ent} (expected {esz})")
            skip = min(tags.get(DT_RELACOUNT if rela else DT_RELCOUNT, 0), size // esz)
            ranges.append((tags[DT_RELA if rela else DT_REL] + skip * esz, size - skip * esz,
                           what))
        size = tags.get(DT_PLTRELSZ, 0)
        if size and DT_JMPREL in tags and DT_PLTREL in tags:
            ranges.append((tags[DT_JMPREL], size, "DT_JMPREL"))
        chunks: list[bytes] = []
        lim = self._lim.max_elf_relocations
        total = 0
        for vaddr, size, name in ranges:
            if not size:
                continue
            if size % esz:
                raise self.error(f"size {size:#x} of the {name} table is not a multiple of "
                                 f"its entry size {esz}")
            total += size // esz
            if total > lim:
                raise self.error(limits.message(f"more than {lim} dynamic relocations",
                                                "max_elf_relocations", lim))
            off, avail = self._map_vaddr(vaddr, name)
            if size > avail:
                raise self.error(f"truncated: the {name} table ({size:#x} bytes at "
                                 f"{vaddr:#x}) runs past the end of its segment")
            chunks.append(bytes(self.view[off:off + size]))
        return chunks

    def _symbol_source(self, raw: Bytes, count: int, strtab: _StrTab, versym_raw: Bytes | None,
                       vdefs: list[VersionDef] | None,
                       vn_index: dict[int, tuple[str, str]] | None) -> _SymbolSource | None:
        """Validate a symbol table (null symbol skipped) and copy what its lazy views need.

        Checked here, for every symbol: st_name names a NUL-terminated string of ``strtab``
        and the .gnu.version index is 0, 1 or defined in .gnu.version_d/.gnu.version_r.
        None when the table has no symbol but the null one.
        """
        esz = self.layout.sym.size
        if count < 2:
            return None
        big = self.layout.big
        raw = bytes(raw[esz:esz * count])
        vs: array[int] | None = None
        vd_names: dict[int, str] = {}
        vn_names = vn_index or {}
        if versym_raw is not None:
            vs = _array("H", versym_raw[2:2 * count], big)
            if vdefs:
                vd_names = {d.index: d.name for d in vdefs}
            # Every index (hidden bit aside) must be 0, 1 or defined by an entry of
            # .gnu.version_d or .gnu.version_r.
            used = {vx & 0x7FFF for vx in set(vs)}
            used.difference_update((0, 1), vd_names, vn_names)
            if used:
                raise self.error(f"a dynamic symbol has version index {min(used)}, defined "
                                 f"neither in .gnu.version_d nor in .gnu.version_r")
        # Every st_name at once (in C): all offsets must start before the table's last NUL,
        # so that any name can later be sliced up to its NUL without a check.
        names = _array("I", raw, big)[0::esz // 4]
        if max(names) > strtab.text.rfind("\0"):
            for off in names:
                strtab.get(off)  # raises for the first bad offset
        return _SymbolSource(raw, self.layout, names, strtab.text, strtab.ascii, vs, vd_names,
                             vn_names)


# --------------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------------


def read_elf(path: str, data: bytes | None = None, *, member: str | None = None,
             relocations: bool = True) -> ElfObject:
    """The dynamic-linking view of an ELF file (mapped from ``path``) or of given bytes.

    Raises :class:`ElfError` (naming ``path`` or ``path(member)``) for anything unreadable,
    truncated or corrupt. ``relocations=False`` skips the dynamic relocation tables
    (``ElfObject.relocations`` is then None): what the resolver does for the libraries it
    binds to, which only need their exports.
    """
    f = ElfFile(path, data, member=member)
    try:
        return f.dynamic_view(relocations)
    finally:
        f.close()


def _ar_int(field: bytes, what: str, where: str) -> int:
    text = field.strip()
    if not text.isdigit():
        raise ElfError(where, f"corrupt ar archive: bad {what} field {field!r}")
    return int(text)


def iter_archive_members(source: str | bytes | bytearray | memoryview,
                         path: str | None = None) -> Iterator[tuple[str, bytes]]:
    """Yield (name, data) for each real member of an ``ar`` archive (GNU/SysV or BSD names;
    the symbol index and the long-name table are not members). ``source`` is a path or the
    archive bytes (``path`` then names it in errors)."""
    mm: mmap.mmap | None = None
    if isinstance(source, str):
        where = path or source
        buf, mm, _mtime = _load(source)
    else:
        where = path or "<bytes>"
        buf = source if isinstance(source, bytes) else bytes(source)
    try:
        size = len(buf)
        magic = buf[:8]
        if magic == THIN_AR_MAGIC:
            raise ElfError(where, "thin ar archive: its members are stored outside it")
        if magic != AR_MAGIC:
            raise ElfError(where, f"not an ar archive (magic {magic.hex(' ') or 'empty'})")
        pos = 8
        longnames = b""
        cap = limits.current().max_archive_members
        members = 0
        while pos < size:
            if pos + 60 > size:
                if buf[pos:].strip(b"\n") == b"":  # trailing padding
                    break
                raise ElfError(where, f"truncated: ar member header at {pos:#x} ends past end "
                                      f"of file (size {size:#x})")
            hdr = buf[pos:pos + 60]
            if hdr[58:60] != b"`\n":
                raise ElfError(where, f"corrupt ar archive: bad member header magic at {pos:#x}")
            raw_name = hdr[:16].rstrip(b" ")
            msize = _ar_int(hdr[48:58], "size", where)
            start = pos + 60
            end = start + msize
            if end > size:
                raise ElfError(where, f"truncated: ar member {_decode(raw_name)!r} (offset "
                                      f"{start:#x}, size {msize:#x}) ends past end of file "
                                      f"(size {size:#x})")
            pos = end + (end & 1)
            body_start = start
            if raw_name in (b"/", b"/SYM64/", b"__.SYMDEF", b"__.SYMDEF SORTED"):
                continue
            if raw_name == b"//":
                longnames = bytes(buf[start:end])
                continue
            if raw_name.startswith(b"#1/"):  # BSD: name stored at the start of the data
                nlen = _ar_int(raw_name[3:], "BSD name length", where)
                if nlen > msize:
                    raise ElfError(where, f"corrupt ar archive: BSD name length {nlen} exceeds "
                                          f"member size {msize}")
                name = _decode(bytes(buf[start:start + nlen]).rstrip(b"\0"))
                body_start = start + nlen
                if name in ("__.SYMDEF", "__.SYMDEF SORTED", "__.SYMDEF_64",
                            "__.SYMDEF_64 SORTED"):
                    continue
            elif raw_name.startswith(b"/") and raw_name[1:].isdigit():  # GNU long name
                off = int(raw_name[1:])
                if off >= len(longnames):
                    raise ElfError(where, f"corrupt ar archive: long name offset {off} past the "
                                          f"long-name table (size {len(longnames)})")
                stop = longnames.find(b"/\n", off)
                if stop < 0:
                    stop = longnames.find(b"\n", off)
                if stop < 0:
                    stop = len(longnames)
                name = _decode(longnames[off:stop])
            else:
                name = _decode(raw_name[:-1] if raw_name.endswith(b"/") else raw_name)
            members += 1
            if members > cap:
                raise ElfError(where, limits.message(f"more than {cap} members",
                                                     "max_archive_members", cap))
            yield name, bytes(buf[body_start:end])
    finally:
        if mm is not None:
            mm.close()


def read_archive(path: str) -> list[ElfObject]:
    """One :class:`ElfObject` per ELF member of an ar archive (non-ELF members skipped)."""
    out: list[ElfObject] = []
    for name, data in iter_archive_members(path):
        if data[:4] == ELF_MAGIC:
            out.append(read_elf(path, data, member=name))
    return out
