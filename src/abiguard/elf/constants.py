"""The ELF reader's vocabulary: constants, record types and per-class struct layouts."""

from __future__ import annotations

import mmap
import struct
import sys
from array import array
from typing import NamedTuple

ELF_MAGIC = b"\x7fELF"
AR_MAGIC = b"!<arch>\n"
THIN_AR_MAGIC = b"!<thin>\n"


Buffer = bytes | mmap.mmap
Bytes = bytes | bytearray | memoryview

PT_LOAD, PT_DYNAMIC, PT_INTERP = 1, 2, 3
PN_XNUM = 0xFFFF

SHT_NULL, SHT_SYMTAB, SHT_STRTAB, SHT_RELA, SHT_HASH, SHT_DYNAMIC = 0, 2, 3, 4, 5, 6
SHT_NOBITS, SHT_REL, SHT_DYNSYM, SHT_SYMTAB_SHNDX = 8, 9, 11, 18
SHT_GNU_VERDEF, SHT_GNU_VERNEED, SHT_GNU_VERSYM = 0x6FFFFFFD, 0x6FFFFFFE, 0x6FFFFFFF

SHN_UNDEF, SHN_LORESERVE, SHN_XINDEX = 0, 0xFF00, 0xFFFF
SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR, SHF_COMPRESSED = 0x1, 0x2, 0x4, 0x800
SHT_PROGBITS, SHT_NOTE = 1, 7
ELFCOMPRESS_ZLIB, ELFCOMPRESS_ZSTD = 1, 2

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


class RelocRules(NamedTuple):
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
RELOC_RULES: dict[int, RelocRules] = {
    62: RelocRules(frozenset({0, 8, 38}), 5, frozenset({7, 16, 17, 18, 36}), True),  # x86-64
    3: RelocRules(frozenset({0, 8}), 5, frozenset({7, 14, 35, 36, 37, 41}), False),  # i386
    183: RelocRules(frozenset({0, 1027}), 1024, frozenset({1026, 1028, 1029, 1030, 1031}),
                     True),  # aarch64 (LP64)
    40: RelocRules(frozenset({0, 23}), 20, frozenset({13, 17, 18, 19, 22}), False),  # arm
    21: RelocRules(frozenset({0, 22}), 19, frozenset({26, *range(68, 101)}), True),  # ppc64
    22: RelocRules(frozenset({0, 12}), 9, frozenset({11, 54, 55, 56}), True),  # s390(x)
    243: RelocRules(frozenset({0, 3}), 4, frozenset({5, 6, 7, 8, 9, 10, 11}), True),  # riscv
}


KINDS = {0: "NONE", 1: "REL", 2: "EXEC", 3: "DYN", 4: "CORE"}

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


BIND: tuple[str, ...] = ("LOCAL", "GLOBAL", "WEAK") + tuple(
    "GNU_UNIQUE" if i == 10 else str(i) for i in range(3, 16))
TYPE: tuple[str, ...] = ("NOTYPE", "OBJECT", "FUNC", "SECTION", "FILE", "COMMON", "TLS") + tuple(
    "GNU_IFUNC" if i == 10 else str(i) for i in range(7, 16))
VIS: tuple[str, ...] = ("DEFAULT", "INTERNAL", "HIDDEN", "PROTECTED")
# Indexed by the whole st_info / st_other byte (saves a shift or mask per symbol).
BIND8: tuple[str, ...] = tuple(BIND[i >> 4] for i in range(256))
TYPE8: tuple[str, ...] = tuple(TYPE[i & 15] for i in range(256))
VIS8: tuple[str, ...] = tuple(VIS[i & 3] for i in range(256))
BINDTYPE8: tuple[tuple[str, str], ...] = tuple(zip(BIND8, TYPE8))



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
    section_index: int = 0
    """The index of the relocation section."""
    target: int = 0
    """The index of the section the relocation applies to (the relocation section's
    sh_info)."""


# Raw section header tuple: (name, type, flags, addr, offset, size, link, info, align, entsize)
RawSection = tuple[int, int, int, int, int, int, int, int, int, int]


class Layout:
    """Precompiled structs for one (class, endianness) pair."""

    __slots__ = (
        "big",
        "chdr",
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
            self.chdr = S(e + "IIQQ")
            self.phdr = S(e + "IIQQQQQQ")
            self.shdr = S(e + "IIQQQQIIQQ")
            self.dyn = S(e + "QQ")
            self.sym = S(e + "IBBHQQ")
            self.rel = S(e + "QQ")
            self.rela = S(e + "QQq")
            self.word = S(e + "Q")
        else:
            self.ehdr = S(e + "HHIIIIIHHHHHH")
            self.chdr = S(e + "III")
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


HOST_BIG = sys.byteorder == "big"


def uarray(code: str, raw: Bytes, big: bool) -> array[int]:
    """An unsigned array of 2/4/8-byte items from file bytes, in host order."""
    a = array(code)
    a.frombytes(raw)
    if big != HOST_BIG:
        a.byteswap()
    return a


LAYOUTS = {(is64, big): Layout(is64, big) for is64 in (False, True) for big in (False, True)}


__all__ = [
    "AR_MAGIC", "DT_FLAGS_1", "DT_GNU_HASH", "DT_HASH", "DT_JMPREL", "DT_NEEDED", "DT_NULL",
    "DT_PLTREL", "DT_PLTRELSZ", "DT_REL", "DT_RELA", "DT_RELACOUNT", "DT_RELAENT", "DT_RELASZ",
    "DT_RELCOUNT", "DT_RELENT", "DT_RELSZ", "DT_RPATH", "DT_RUNPATH", "DT_SONAME", "DT_STRSZ",
    "DT_STRTAB", "DT_SYMENT", "DT_SYMTAB", "DT_VERDEF", "DT_VERDEFNUM", "DT_VERNEED",
    "DT_VERNEEDNUM", "DT_VERSYM", "ELFCOMPRESS_ZLIB", "ELFCOMPRESS_ZSTD", "ELF_MAGIC",
    "EM_MIPS", "PN_XNUM", "PT_DYNAMIC", "PT_INTERP", "PT_LOAD", "SHF_ALLOC", "SHF_COMPRESSED",
    "SHF_EXECINSTR", "SHF_WRITE", "SHN_LORESERVE", "SHN_UNDEF", "SHN_XINDEX", "SHT_DYNAMIC",
    "SHT_DYNSYM", "SHT_GNU_VERDEF", "SHT_GNU_VERNEED", "SHT_GNU_VERSYM", "SHT_HASH",
    "SHT_NOBITS", "SHT_NOTE", "SHT_NULL", "SHT_PROGBITS", "SHT_REL", "SHT_RELA", "SHT_STRTAB",
    "SHT_SYMTAB", "SHT_SYMTAB_SHNDX", "THIN_AR_MAGIC", "VER_FLG_WEAK", "ElfHeader", "Relocation",
    "Section", "Segment", "Symbol", "machine_name",
]
