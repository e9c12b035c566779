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
views over those copies (see :class:`SymbolSource`): the import/export split is computed on
first use (bulk byte operations), names are decoded and ElfSymbol objects built only when
asked for (a whole table at ~0.5 us a symbol, see ``_SymBuilder``). Nothing done at access
time can fail: corrupt input raises at ``read_elf`` time.
"""

from __future__ import annotations

from ..model import ElfObject
from .ar import ArHeader, ar_headers, iter_archive_members
from .constants import (
    AR_MAGIC,
    DT_GNU_HASH,
    DT_HASH,
    DT_NEEDED,
    DT_NULL,
    DT_RPATH,
    DT_RUNPATH,
    DT_SONAME,
    DT_STRSZ,
    DT_STRTAB,
    DT_SYMTAB,
    DT_VERDEF,
    DT_VERDEFNUM,
    DT_VERNEED,
    DT_VERNEEDNUM,
    DT_VERSYM,
    ELF_MAGIC,
    PT_DYNAMIC,
    PT_INTERP,
    PT_LOAD,
    SHF_ALLOC,
    SHF_COMPRESSED,
    SHF_EXECINSTR,
    SHF_WRITE,
    SHN_LORESERVE,
    SHN_UNDEF,
    SHT_DYNAMIC,
    SHT_DYNSYM,
    SHT_NOBITS,
    SHT_NOTE,
    SHT_PROGBITS,
    SHT_REL,
    SHT_RELA,
    SHT_STRTAB,
    SHT_SYMTAB,
    THIN_AR_MAGIC,
    ElfHeader,
    Relocation,
    Section,
    Segment,
    Symbol,
    machine_name,
)
from .dynamic import ElfFile
from .loading import is_ar_archive, is_elf

__all__ = [
    "AR_MAGIC",
    "DT_GNU_HASH",
    "DT_HASH",
    "DT_NEEDED",
    "DT_NULL",
    "DT_RPATH",
    "DT_RUNPATH",
    "DT_SONAME",
    "DT_STRSZ",
    "DT_STRTAB",
    "DT_SYMTAB",
    "DT_VERDEF",
    "DT_VERDEFNUM",
    "DT_VERNEED",
    "DT_VERNEEDNUM",
    "DT_VERSYM",
    "ELF_MAGIC",
    "PT_DYNAMIC",
    "PT_INTERP",
    "PT_LOAD",
    "SHF_ALLOC",
    "SHF_COMPRESSED",
    "SHF_EXECINSTR",
    "SHF_WRITE",
    "SHN_LORESERVE",
    "SHN_UNDEF",
    "SHT_DYNAMIC",
    "SHT_DYNSYM",
    "SHT_NOBITS",
    "SHT_NOTE",
    "SHT_PROGBITS",
    "SHT_REL",
    "SHT_RELA",
    "SHT_STRTAB",
    "SHT_SYMTAB",
    "THIN_AR_MAGIC",
    "ArHeader",
    "ElfFile",
    "ElfHeader",
    "Relocation",
    "Section",
    "Segment",
    "Symbol",
    "ar_headers",
    "is_ar_archive",
    "is_elf",
    "iter_archive_members",
    "machine_name",
    "read_archive",
    "read_elf",
]




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

def read_archive(path: str) -> list[ElfObject]:
    """One :class:`ElfObject` per ELF member of an ar archive (non-ELF members skipped)."""
    out: list[ElfObject] = []
    for name, data in iter_archive_members(path):
        if data[:4] == ELF_MAGIC:
            out.append(read_elf(path, data, member=name))
    return out
