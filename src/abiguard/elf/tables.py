"""Symbol tables (.symtab, .dynsym) and relocation sections (SHT_REL, SHT_RELA)."""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator
from itertools import compress

from .. import limits
from .constants import (
    BIND,
    DT_JMPREL,
    DT_PLTREL,
    DT_PLTRELSZ,
    DT_REL,
    DT_RELA,
    DT_RELACOUNT,
    DT_RELAENT,
    DT_RELASZ,
    DT_RELCOUNT,
    DT_RELENT,
    DT_RELSZ,
    EM_MIPS,
    SHN_XINDEX,
    SHT_DYNSYM,
    SHT_REL,
    SHT_RELA,
    SHT_SYMTAB,
    SHT_SYMTAB_SHNDX,
    TYPE,
    VIS,
    Bytes,
    Relocation,
    RelocRules,
    Section,
    Symbol,
    uarray,
)
from .image import ElfImage


class ElfTables(ElfImage):
    """An :class:`ElfImage` with its symbol tables and relocation sections."""

    __slots__ = ()

    def _sym_records(self, raw: Bytes) -> Iterator[tuple[int, int, int, int, int, int]]:
        """(name, info, other, shndx, value, size) for each symbol of a table."""
        lay = self.layout
        if lay.is64:
            return lay.sym.iter_unpack(raw)
        return ((n, i, o, x, v, z) for n, v, z, i, o, x in lay.sym.iter_unpack(raw))

    def _symbols_of(self, index: int, what: str) -> list[Symbol]:
        """The symbols of a symbol table section (read once, then kept)."""
        cache = self._symlists
        if cache is None:
            cache = self._symlists = {}
        hit = cache.get(index)
        if hit is None:
            hit = cache[index] = self._read_symbols(index, what)
        return hit

    def _read_symbols(self, index: int, what: str) -> list[Symbol]:
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
            out.append(Symbol(strtab.get(name) if name else "", value, size, TYPE[info & 15],
                              BIND[info >> 4], VIS[other & 3], shndx))
        return out

    def _xindex_table(self, symtab_index: int, count: int, what: str) -> array[int]:
        for i, s in enumerate(self.raw_sections):
            if s[1] == SHT_SYMTAB_SHNDX and s[6] == symtab_index:
                raw, n = self._table(i, 4, "SHT_SYMTAB_SHNDX section")
                if n < count:
                    raise self.error(f"SHT_SYMTAB_SHNDX section {i} has {n} entries for "
                                     f"{count} symbols of {what}")
                return uarray("I", raw, self.layout.big)
        raise self.error(f"a symbol of {what} uses SHN_XINDEX but there is no "
                         f"SHT_SYMTAB_SHNDX section for it")

    def symtab_symbols(self) -> list[Symbol]:
        """Symbols of .symtab (empty when stripped); index 0 is the null symbol."""
        idx = self._find_section(SHT_SYMTAB)
        return list(self._symbols_of(idx, ".symtab")) if idx else []

    def dynsym_symbols(self) -> list[Symbol]:
        """Symbols of .dynsym via its section header (empty when there is none)."""
        idx = self._find_section(SHT_DYNSYM)
        return list(self._symbols_of(idx, ".dynsym")) if idx else []

    # ---- relocations ------------------------------------------------------------------------

    def relocations(self, sections: Iterable[Section] | None = None, *, named: bool = False
                    ) -> Iterator[Relocation]:
        """Entries of the SHT_REL/SHT_RELA sections (all of them, or those given), in section
        and entry order: section name, offset, type, symbol name (from the table the section
        links to), addend (None for SHT_REL), symbol index, the section's index and the index
        of the section it applies to (sh_info). ``named``: only the entries with a symbol
        (the others, a program's relative relocations, are passed over in bulk)."""
        lay = self.layout
        mips64 = lay.is64 and self.header.machine == EM_MIPS
        symcache: dict[int, list[Symbol]] = {}
        # Sections may overlap: count what all of them make us read, not each one.
        lim = self._lim
        nrel = nsym = 0
        for sec in self.sections if sections is None else sections:
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
            recs: Iterator[tuple[int, ...]] = st.iter_unpack(raw)
            if named and n:
                # a nonzero byte in the symbol index's bytes of r_info, for every entry at once
                esz = st.size
                at = range(8, 12) if mips64 else (range(8, 12) if lay.big else range(12, 16)) \
                    if lay.is64 else (range(4, 7) if lay.big else range(5, 8))
                bits = 0
                for k in at:
                    bits |= int.from_bytes(raw[k::esz], "little")
                recs = compress(recs, bits.to_bytes(n, "little"))
            for rec in recs:
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
                                 rec[-1] if rela else None, symi, sec.index, sec.info)

    def dynamic_relocation_tables(self, tags: dict[int, int], rules: RelocRules
                                  ) -> list[bytes]:
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

