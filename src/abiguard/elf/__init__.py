"""abiguard's ELF reader: small, fast, bounds-checked, over ``mmap`` (or bytes).

The dynamic-linking view is the hot path of a distribution-wide census, so it works with
precompiled :class:`struct.Struct` objects, unpacks whole tables at once (``iter_unpack``,
:mod:`array` slices) and decodes string tables once, straight from the mapping. Every offset,
size and count read from the file is checked before it is used; bad input raises
:class:`~abiguard.errors.ElfError` (one line, naming the file or ``archive(member)``) and
nothing else: never a hang, never a silently wrong result. The limits of
:mod:`abiguard.limits` bound what a hostile file can make it do.

Public API:

- :func:`is_elf`, :func:`is_ar_archive`: cheap magic checks (never raise, never block).
- :func:`read_elf`: the :class:`~abiguard.model.ElfObject` of a file or of given bytes; the
  import and export tables are lazy, the dynamic relocations read on first use.
- :func:`read_archive`, :func:`iter_archive_members`, :func:`ar_headers`: ``ar`` archives
  (GNU/SysV and BSD names, thin archives) and the ar layer of a .deb.
- :class:`ElfFile`: lower-level access, computed lazily: header, segments, sections, section
  data (decompressed when compressed), .symtab and .dynsym symbols, relocation sections,
  dynamic entries, version tables, notes (build-id, debug link), DWARF subprogram ranges;
  ``ElfFile.dynamic_view()`` is what :func:`read_elf` returns.

The package, layer by layer: :mod:`.constants` (the specification's numbers, record types,
struct layouts), :mod:`.loading` (files, string tables), :mod:`.image` (header, segments,
sections), :mod:`.tables` (symbol tables, relocation sections), :mod:`.versions`,
:mod:`.dynamic` (the dynamic-linking view, :class:`ElfFile`), :mod:`.symsource` (its lazy
symbol tables), :mod:`.dynrelocs` (what the dynamic relocations look up), :mod:`.notes`,
:mod:`.dwarf`, :mod:`.ar`.
"""

from __future__ import annotations

from ..model import ElfObject
from .ar import ArHeader, ar_headers, iter_archive_members
from .constants import *  # the specification's numbers and record types (constants.__all__)
from .constants import (
    AR_MAGIC,
    ELF_MAGIC,
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
    "ELF_MAGIC",
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
             relocations: bool = True, ahead: bool = False) -> ElfObject:
    """The dynamic-linking view of an ELF file (mapped from ``path``) or of given bytes.

    Raises :class:`ElfError` (naming ``path`` or ``path(member)``) for anything unreadable,
    truncated or corrupt. ``relocations=False`` skips the dynamic relocation tables
    (``ElfObject.relocations`` is then None): what the resolver does for the libraries it
    binds to, which only need their exports. ``ahead``: the dynamic relocation tables are
    copied out now for their first use rather than read from the file again then (a
    consumer about to be bound).
    """
    f = ElfFile(path, data, member=member)
    try:
        return f.dynamic_view(relocations, ahead)
    finally:
        f.close()

def read_archive(path: str) -> list[ElfObject]:
    """One :class:`ElfObject` per ELF member of an ar archive (non-ELF members skipped)."""
    out: list[ElfObject] = []
    for name, data in iter_archive_members(path):
        if data[:4] == ELF_MAGIC:
            out.append(read_elf(path, data, member=name))
    return out
