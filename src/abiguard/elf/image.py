"""The first layer of the ELF reader: a file's bytes, its header, segments and sections.

:class:`ElfImage` checks every offset and size it reads against the file; the layers above it
(:mod:`.tables`, :mod:`.versions`, :mod:`.dynamic`) add symbol tables, relocation sections,
version tables and the dynamic-linking view; :class:`~abiguard.elf.ElfFile` is the whole.
"""

from __future__ import annotations

import mmap
import zlib
from array import array
from operator import add, itemgetter
from typing import Self

from .. import limits
from ..errors import ElfError
from .constants import (
    ELF_MAGIC,
    ELFCOMPRESS_ZLIB,
    ELFCOMPRESS_ZSTD,
    LAYOUTS,
    PN_XNUM,
    PT_LOAD,
    SHF_COMPRESSED,
    SHN_XINDEX,
    SHT_NOBITS,
    SHT_STRTAB,
    Buffer,
    Bytes,
    ElfHeader,
    RawSection,
    Section,
    Segment,
    Symbol,
    uarray,
)
from .loading import StrTab, load

_ITEM2, _ITEM4, _ITEM5 = itemgetter(2), itemgetter(4), itemgetter(5)



class ElfImage:
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
        "_symlists",
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
            buf, self._mm, self.mtime_ns = load(path)
        elif isinstance(data, (bytes, mmap.mmap)):
            buf = data
        else:
            buf = bytes(data)
        self.data: Buffer = buf
        self.view = memoryview(buf)
        self.size = len(buf)
        self._phdrs: list[tuple[int, ...]] | None = None
        self._phtypes: tuple[int, ...] = ()
        self._shdrs: list[RawSection] | None = None
        self._shtypes: tuple[int, ...] = ()
        self._segments: list[Segment] | None = None
        self._sections: list[Section] | None = None
        self._strtabs: dict[int, StrTab] = {}
        self._dyn: tuple[array[int], array[int]] | None = None
        self._symlists: dict[int, list[Symbol]] | None = None
        try:
            self._parse_header()
        except BaseException:
            self.close()
            raise

    @classmethod
    def open(cls, path: str) -> Self:
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
        lay = self.layout = LAYOUTS[(ei_class == 2, ei_data == 2)]
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
                self._phtypes = tuple(uarray("I", raw, lay.big)[0::lay.phdr.size // 4])
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
    def raw_sections(self) -> list[RawSection]:
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
                types = tuple(uarray("I", raw, lay.big)[1::lay.shdr.size // 4])
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

    def section_contents(self, sec: Section | int) -> Bytes:
        """The bytes of a section as its readers see them: decompressed when the section is
        compressed (SHF_COMPRESSED with zlib or zstd, or a GNU ``.zdebug_*`` section), else
        :meth:`section_data`. The decompressed size is checked against the header's and
        capped (limit ``max_section_bytes``)."""
        if isinstance(sec, int):
            secs = self.sections
            if not 0 <= sec < len(secs):
                raise self.error(f"section index {sec} out of range ({len(secs)} sections)")
            sec = secs[sec]
        raw = self.section_data(sec)
        if sec.flags & SHF_COMPRESSED and raw:
            lay = self.layout
            chdr = lay.chdr
            if len(raw) < chdr.size:
                raise self.error(f"truncated: compressed section {sec.name} is shorter than "
                                 f"its {chdr.size}-byte header")
            if lay.is64:
                ch_type, _reserved, size, _align = chdr.unpack_from(raw)
            else:
                ch_type, size, _align = chdr.unpack_from(raw)
            if ch_type not in (ELFCOMPRESS_ZLIB, ELFCOMPRESS_ZSTD):
                raise self.error(f"section {sec.name}: unknown compression type {ch_type}")
            return self._inflate(sec.name, raw[chdr.size:], size, ch_type)
        if sec.name.startswith(".zdebug") and bytes(raw[:4]) == b"ZLIB" and len(raw) >= 12:
            return self._inflate(sec.name, raw[12:], int.from_bytes(raw[4:12], "big"),
                                 ELFCOMPRESS_ZLIB)
        return raw

    def _inflate(self, name: str, raw: Bytes, size: int, kind: int) -> bytes:
        """``raw`` decompressed (zlib or zstd), which must give exactly ``size`` bytes."""
        cap = self._lim.max_section_bytes
        if size > cap:
            raise self.error(limits.message(f"section {name} decompresses to {size} bytes",
                                            "max_section_bytes", cap))
        what = "zlib" if kind == ELFCOMPRESS_ZLIB else "zstd"
        try:
            if kind == ELFCOMPRESS_ZLIB:
                z = zlib.decompressobj()
                out = z.decompress(raw, size + 1)
                whole = z.eof
            else:
                import zstandard  # (44 ms to import: only when a section needs it)

                reader = zstandard.ZstdDecompressor().stream_reader(bytes(raw),
                                                                    read_across_frames=True)
                chunks: list[bytes] = []
                got = 0
                while got <= size and (chunk := reader.read(size + 1 - got)):
                    chunks.append(chunk)
                    got += len(chunk)
                out = b"".join(chunks)
                whole = True
        except (zlib.error, MemoryError) as exc:
            raise self.error(f"section {name}: corrupt {what} data ({exc})") from None
        except Exception as exc:  # noqa: BLE001 - zstandard.ZstdError and its kin
            raise self.error(f"section {name}: corrupt {what} data ({exc})") from None
        if len(out) != size or not whole:
            raise self.error(f"section {name}: {what} data decompresses to "
                             f"{'more than ' if len(out) > size else ''}{len(out)} bytes, "
                             f"not the {size} its header gives")
        return out

    def _find_section(self, sh_type: int) -> int:
        """Index of the first section of a type (0: none)."""
        if self._shdrs is None:
            _ = self.raw_sections
        try:
            return self._shtypes.index(sh_type)
        except ValueError:
            return 0

    def _strtab(self, index: int, what: str) -> StrTab:
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
            tab = StrTab(self.view[s[4]:s[4] + s[5]], f"string table (section {index})",
                         self.error)
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
