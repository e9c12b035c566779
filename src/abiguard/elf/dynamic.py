"""The dynamic-linking view of an ELF file: :class:`ElfFile`, what :func:`read_elf` reads.

From section headers when present (SHT_DYNAMIC, SHT_DYNSYM, SHT_GNU_versym/verdef/verneed);
without them (sstrip-ed files) from PT_DYNAMIC and its DT_* tags, addresses mapped through
PT_LOAD, the symbol count from DT_HASH or a DT_GNU_HASH walk. ET_REL objects give their
.symtab (imports: undefined non-local; exports: defined non-local with default or protected
visibility; no versions).
"""

from __future__ import annotations

import struct
from array import array
from itertools import compress, repeat
from operator import eq

from ..errors import ElfError
from ..model import ElfObject, SymbolTable, VersionDef, VersionNeed
from .constants import (
    DT_FLAGS_1,
    DT_GNU_HASH,
    DT_HASH,
    DT_NEEDED,
    DT_NULL,
    DT_RPATH,
    DT_RUNPATH,
    DT_SONAME,
    DT_STRSZ,
    DT_STRTAB,
    DT_SYMENT,
    DT_SYMTAB,
    DT_VERDEF,
    DT_VERDEFNUM,
    DT_VERNEED,
    DT_VERNEEDNUM,
    DT_VERSYM,
    KINDS,
    PT_DYNAMIC,
    PT_INTERP,
    RELOC_RULES,
    SHT_DYNAMIC,
    SHT_DYNSYM,
    SHT_GNU_VERDEF,
    SHT_GNU_VERNEED,
    SHT_GNU_VERSYM,
    SHT_SYMTAB,
    Bytes,
    RelocRules,
    machine_name,
    uarray,
)
from .dynrelocs import DynamicRelocations
from .loading import StrTab, decode
from .symsource import NO_SYMBOLS, SymbolSource
from .versions import ElfVersions


class ElfFile(ElfVersions):
    """One ELF file (or ar member), parsed lazily and bounds-checked: header, segments,
    sections, section data, .symtab and .dynsym symbols, relocation sections, version tables,
    dynamic entries, and :meth:`dynamic_view` (what :func:`~abiguard.elf.read_elf` returns).

    ``ElfFile.open(path)`` maps the file; ``ElfFile(path, data)`` reads given bytes (``path``
    is then only used in error messages). Use as a context manager or call :meth:`close` to
    release the mapping. Every accessor raises :class:`ElfError` for corrupt input. The
    :mod:`~abiguard.limits` in force when it is created apply to all its accessors.
    """

    __slots__ = ()

    def build_id(self) -> str | None:
        """The GNU build-id note as a hex string (None: none)."""
        from . import notes  # (notes and DWARF: for call sites, not on a scan's path)

        return notes.build_id(self)

    def debuglink(self) -> tuple[str, int] | None:
        """(file name, CRC-32) of ``.gnu_debuglink`` (None: none)."""
        from . import notes

        return notes.debuglink(self)

    def subprogram_ranges(self) -> list[tuple[int, int, str]]:
        """(start, end, name) of the functions the file's DWARF describes (see
        :mod:`abiguard.elf.dwarf`); empty without DWARF."""
        from . import dwarf

        return dwarf.subprogram_ranges(self)

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
            a = uarray("Q" if lay.is64 else "I", raw, lay.big)
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

    def _dynstr_from_tags(self, tags: dict[int, int]) -> StrTab | None:
        tab = self._strtabs.get(-1)
        if tab is None and DT_STRTAB in tags:
            off, avail = self._map_vaddr(tags[DT_STRTAB], "DT_STRTAB")
            size = tags.get(DT_STRSZ, avail)
            if size > avail:
                raise self.error(f"DT_STRSZ {size:#x} runs past the end of its segment "
                                 f"({avail:#x} bytes available)")
            tab = self._strtabs[-1] = StrTab(self.view[off:off + size], "DT_STRTAB",
                                                 self.error)
        return tab

    def _gnu_hash_count(self, vaddr: int) -> int:
        off, avail = self._map_vaddr(vaddr, "DT_GNU_HASH")
        lay = self.layout
        if avail < 16:
            raise self.error("truncated: DT_GNU_HASH header runs past its segment")
        symoffset: int
        nbuckets, symoffset, bloom_size, _shift = lay.u32x4.unpack_from(self.data, off)
        buckets_at = 16 + bloom_size * lay.word.size
        chains_at = buckets_at + nbuckets * 4
        if chains_at > avail:
            raise self.error(f"truncated: DT_GNU_HASH ({nbuckets} buckets, {bloom_size} bloom "
                             f"words) runs past its segment")
        buckets = uarray("I", self.view[off + buckets_at:off + chains_at], lay.big)
        last = max(buckets, default=0)
        if last == 0:
            return symoffset
        if last < symoffset:
            raise self.error(f"corrupt DT_GNU_HASH: bucket {last} below symoffset {symoffset}")
        start = off + chains_at + (last - symoffset) * 4
        end = off + avail
        chain = uarray("I", self.view[start:end - (end - start) % 4], lay.big)
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
            count: int = self.layout.u32.unpack_from(self.data, hoff + 4)[0]
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

    def version_definitions(self) -> list[VersionDef]:
        """Entries of .gnu.version_d (what the dynamic view reports)."""
        return list(self.dynamic_view().version_defs)

    def dynamic_view(self, relocations: bool = True, ahead: bool = False) -> ElfObject:
        """The :class:`ElfObject` of this file (what :func:`read_elf` returns);
        ``relocations=False`` leaves ``ElfObject.relocations`` None (not read); ``ahead``:
        the relocation tables are copied out now, for their first use (see
        :class:`~abiguard.elf.dynrelocs.DynamicRelocations`)."""
        try:
            return self._dynamic_view(relocations, ahead)
        except ElfError:
            raise
        except (struct.error, IndexError, KeyError, ValueError, OverflowError, TypeError,
                MemoryError) as exc:  # safety net: never leak anything but ElfError
            raise self.error(f"corrupt ELF file (internal check failed: "
                             f"{type(exc).__name__}: {exc})") from exc

    def _tables_ahead(self, tags: dict[int, int], rules: RelocRules) -> list[list[bytes]]:
        """The dynamic relocation tables for their first use, copied out now ([] when they
        cannot be: the first use reads them and reports what is wrong, as without
        ``ahead``)."""
        try:
            return [self.dynamic_relocation_tables(tags, rules)]
        except ElfError:
            return []

    def _dynamic_view(self, relocations: bool, ahead: bool = False) -> ElfObject:
        h = self.header
        data = self.data
        lay = self.layout
        segs = self._phdr_rows()
        secs = self.raw_sections
        shtypes = self._shtypes

        interpreter: str | None = None
        if PT_INTERP in self._phtypes:
            s = segs[self._phtypes.index(PT_INTERP)]
            interpreter = decode(data[s[2]:s[2] + s[5]].split(b"\0", 1)[0])

        soname: str | None = None
        needed: list[str] = []
        rpath: list[str] = []
        runpath: list[str] = []
        flags_1 = 0
        source: SymbolSource | None = None
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
            dynstr: StrTab | None = None
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
            symstr: StrTab | None = None
            versym_raw: Bytes | None = None
            vd_loc: tuple[int, int, int | None] | None = None
            vn_loc: tuple[int, int, int | None] | None = None
            vd_str: StrTab | None = dynstr
            vn_str: StrTab | None = dynstr
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
            rules = RELOC_RULES.get(h.machine) if relocations else None
            if source is not None and rules is not None and (lay.is64 or h.machine != 183):
                # read on first use (the resolver binding a consumer), not now
                source.relocs = DynamicRelocations(
                    self.path, self.member, self.data if self.mtime_ns is None else None,
                    (self.size, self.mtime_ns), tags, nsyms, rules, lay.is64, lay.big,
                    lay.rela.size if rules.rela else lay.rel.size, self.where,
                    self._tables_ahead(tags, rules) if ahead else [])

        imports = exports = NO_SYMBOLS
        refs: SymbolSource | None = None
        if source is not None:
            imports = SymbolTable.lazy(source, 0)
            exports = SymbolTable.lazy(source, 1)
            if source.relocs is not None:
                refs = source
        return ElfObject(
            path=self.path, elf_class=h.elf_class, endian=h.endian,
            machine=machine_name(h.machine, h.elf_class),
            kind=KINDS.get(h.type) or f"ET_{h.type}", machine_id=h.machine, osabi=h.osabi,
            soname=soname, needed=tuple(needed), rpath=tuple(rpath), runpath=tuple(runpath),
            interpreter=interpreter, flags_1=flags_1, imports=imports,
            exports=exports, version_defs=tuple(vdefs), version_needs=tuple(vneeds),
            size=self.size, member=self.member, stripped=SHT_SYMTAB not in shtypes,
            relocations=refs)

    def _symbol_source(self, raw: Bytes, count: int, strtab: StrTab, versym_raw: Bytes | None,
                       vdefs: list[VersionDef] | None,
                       vn_index: dict[int, tuple[str, str]] | None) -> SymbolSource | None:
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
            vs = uarray("H", versym_raw[2:2 * count], big)
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
        names = uarray("I", raw, big)[0::esz // 4]
        if max(names) > strtab.text.rfind("\0"):
            for off in names:
                strtab.get(off)  # raises for the first bad offset
        return SymbolSource(raw, self.layout, names, strtab.text, strtab.ascii, vs, vd_names,
                             vn_names)

