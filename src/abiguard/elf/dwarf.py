"""DWARF, versions 2 to 5: the address ranges of a file's functions (``DW_TAG_subprogram``).

``where --binary`` attributes an address to the function around it; when a file has no
.symtab, the ranges come from here: every subprogram at the top level of a compilation unit
(or inside a namespace or module there) with ``DW_AT_low_pc``/``DW_AT_high_pc`` (high as an
address or as a length) or ``DW_AT_ranges`` (``.debug_ranges`` in DWARF 2-4,
``.debug_rnglists`` with ``DW_FORM_sec_offset`` or ``DW_FORM_rnglistx`` in DWARF 5), named by
``DW_AT_name`` (else ``DW_AT_linkage_name``), through ``DW_AT_specification`` and
``DW_AT_abstract_origin`` when it has neither (out-of-line C++ members, concrete instances of
inline functions). Strings and addresses are read through ``.debug_str``,
``.debug_line_str``, ``.debug_str_offsets`` (``DW_FORM_strx*``) and ``.debug_addr``
(``DW_FORM_addrx*``); 32- and 64-bit DWARF; compressed sections (SHF_COMPRESSED zlib and
zstd, ``.zdebug_*``) are decompressed first. Ranges starting at address 0 are those of
functions the linker discarded, and are left out.

Not read: split DWARF (``.dwo`` files), type units, a supplementary (``dwz``) file's strings
and entries (``DW_FORM_GNU_strp_alt``, ``DW_FORM_GNU_ref_alt``: such a name is unknown, the
range is kept under its linkage name when there is one), relocatable objects (their DWARF
needs relocations applied).

Every offset, length and count is checked against its section; a corrupt unit or list is an
ElfError naming the file, never an exception of another kind. The work a file can cause is
bounded by the limit ``max_dwarf_values``.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from .. import limits
from ..errors import ElfError
from .image import ElfImage

DW_TAG_subprogram, DW_TAG_namespace, DW_TAG_module = 0x2E, 0x39, 0x1E
DW_AT_sibling, DW_AT_name, DW_AT_low_pc, DW_AT_high_pc = 0x01, 0x03, 0x11, 0x12
DW_AT_abstract_origin, DW_AT_specification, DW_AT_ranges = 0x31, 0x47, 0x55
DW_AT_linkage_name, DW_AT_MIPS_linkage_name = 0x6E, 0x2007
DW_AT_str_offsets_base, DW_AT_addr_base, DW_AT_rnglists_base = 0x72, 0x73, 0x74
DW_AT_GNU_addr_base = 0x2133

# Forms, by how their value is read.
F_ADDR, F_STRX, F_ADDRX, F_STRP, F_LINE_STRP, F_STRING = 0x01, 0x1A, 0x1B, 0x0E, 0x1F, 0x08
F_REF_ADDR, F_INDIRECT, F_IMPLICIT_CONST, F_RNGLISTX = 0x10, 0x16, 0x21, 0x23
_FIXED = {0x0B: 1, 0x0C: 1, 0x11: 1, 0x25: 1, 0x29: 1,  # data1 flag ref1 strx1 addrx1
          0x05: 2, 0x12: 2, 0x26: 2, 0x2A: 2,  # data2 ref2 strx2 addrx2
          0x27: 3, 0x2B: 3,  # strx3 addrx3
          0x06: 4, 0x13: 4, 0x1C: 4, 0x28: 4, 0x2C: 4,  # data4 ref4 ref_sup4 strx4 addrx4
          0x07: 8, 0x14: 8, 0x20: 8, 0x24: 8,  # data8 ref8 ref_sig8 ref_sup8
          0x1E: 16, 0x19: 0, F_IMPLICIT_CONST: 0}  # data16 flag_present implicit_const
_OFFSET_SIZED = {0x0E, 0x17, 0x1D, 0x1F, 0x1F20, 0x1F21}  # strp sec_offset strp_sup line_strp
_ULEB = {0x0F, 0x15, 0x1A, 0x1B, 0x22, 0x23, 0x1F01, 0x1F02}  # udata ref_udata strx addrx ...
_BLOCK_LEN = {0x0A: 1, 0x03: 2, 0x04: 4}  # block1 block2 block4 (block, exprloc: ULEB)
_ADDR_FORMS = {F_ADDR, F_ADDRX, 0x29, 0x2A, 0x2B, 0x2C, 0x1F01}
_STRX_FORMS = {F_STRX, 0x25, 0x26, 0x27, 0x28, 0x1F02}
_UNIT_REF_FORMS = {0x11, 0x12, 0x13, 0x14, 0x15}  # ref1/2/4/8, ref_udata
_KNOWN_FORMS = {*_FIXED, *_OFFSET_SIZED, *_ULEB, *_BLOCK_LEN, 0x09, 0x18, 0x0D, F_ADDR,
                F_STRING, F_REF_ADDR, F_INDIRECT}
_WANTED = {DW_AT_sibling, DW_AT_name, DW_AT_low_pc, DW_AT_high_pc, DW_AT_abstract_origin,
           DW_AT_specification, DW_AT_ranges, DW_AT_linkage_name, DW_AT_MIPS_linkage_name,
           DW_AT_str_offsets_base, DW_AT_addr_base, DW_AT_rnglists_base, DW_AT_GNU_addr_base}
_NAME_ATTRS = (DW_AT_name, DW_AT_linkage_name, DW_AT_MIPS_linkage_name)
_MAX_REFS = 8  # specification/abstract_origin hops followed for a name

_SECTIONS = ("info", "abbrev", "str", "line_str", "addr", "rnglists", "ranges", "str_offsets")

Value = tuple[int, int | bytes]  # (form, value)


class Corrupt(Exception):
    """Raised inside the reader; turned into an ElfError naming the file."""


class Abbrev(NamedTuple):
    tag: int
    children: bool
    specs: tuple[tuple[int, int, int], ...]
    """(attribute, form, implicit constant) of each attribute."""
    fixed: int
    """The size of an entry's values when every form has one size (with the unit's address
    and offset sizes), else -1."""
    wanted: bool
    """Whether any attribute is one the reader keeps."""


class Unit(NamedTuple):
    offset: int
    end: int
    version: int
    offset_size: int
    address_size: int
    abbrev_offset: int
    die_offset: int


class UnitInfo(NamedTuple):
    """What the unit's own entry says (bases, the base address of its range lists)."""

    low_pc: int
    str_offsets_base: int | None
    addr_base: int | None
    rnglists_base: int | None


def _uleb(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7
        if shift > 70:
            raise Corrupt(f"LEB128 number longer than 10 bytes at {pos:#x}")


def _sleb(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return (result - (1 << shift) if b & 0x40 else result), pos
        if shift > 70:
            raise Corrupt(f"LEB128 number longer than 10 bytes at {pos:#x}")


class Dwarf:
    """The DWARF sections of one linked ELF file, read on demand."""

    def __init__(self, f: ElfImage) -> None:
        if f.header.type == 1:
            raise f.error("the DWARF of a relocatable object needs its relocations applied "
                          "(not read)")
        self.error = f.error
        self.big = f.layout.big
        e = ">" if self.big else "<"
        self.u16, self.u32, self.u64 = struct.Struct(e + "H"), struct.Struct(e + "I"), \
            struct.Struct(e + "Q")
        secs: dict[str, bytes] = {}
        for sec in f.sections:
            for prefix in (".debug_", ".zdebug_"):
                if sec.name.startswith(prefix) and sec.name[len(prefix):] in _SECTIONS:
                    secs.setdefault(sec.name[len(prefix):], bytes(f.section_contents(sec)))
        self.secs = secs
        self.info = secs.get("info", b"")
        self.budget = self.cap = limits.current().max_dwarf_values
        self.abbrevs: dict[tuple[int, int, int], dict[int, Abbrev]] = {}
        self.units: list[Unit] = []
        self.unit_infos: dict[int, UnitInfo] = {}
        self.names: dict[int, str | None] = {}

    # ---- primitives -------------------------------------------------------------------------

    def spend(self, n: int = 1) -> None:
        self.budget -= n
        if self.budget < 0:
            raise self.error(limits.message(f"more than {self.cap} DWARF values",
                                            "max_dwarf_values", self.cap))

    def uint(self, buf: bytes, pos: int, size: int, what: str) -> int:
        if pos < 0 or pos + size > len(buf):
            raise Corrupt(f"{what} at {pos:#x} runs past the end of its section")
        return int.from_bytes(buf[pos:pos + size], "big" if self.big else "little")

    def section(self, name: str) -> bytes:
        data = self.secs.get(name)
        if data is None:
            raise Corrupt(f"a value refers to .debug_{name}, which the file does not have")
        return data

    # ---- units and abbreviations ----------------------------------------------------------

    def read_units(self) -> list[Unit]:
        info = self.info
        pos = 0
        units = self.units
        while pos < len(info):
            length = self.uint(info, pos, 4, "unit length")
            offset_size = 4
            at = pos + 4
            if length == 0xFFFFFFFF:
                length = self.uint(info, at, 8, "64-bit unit length")
                offset_size = 8
                at += 8
            elif length >= 0xFFFFFFF0:
                raise Corrupt(f"reserved unit length {length:#x} at {pos:#x}")
            end = at + length
            if end > len(info):
                raise Corrupt(f"unit at {pos:#x} ({length:#x} bytes) runs past the end of "
                              f".debug_info")
            version = self.uint(info, at, 2, "unit version")
            at += 2
            if version == 5:
                unit_type = self.uint(info, at, 1, "unit type")
                address_size = self.uint(info, at + 1, 1, "address size")
                abbrev_offset = self.uint(info, at + 2, offset_size, "abbreviation offset")
                at += 2 + offset_size
                if unit_type in (4, 5):  # skeleton, split_compile: dwo_id
                    at += 8
                elif unit_type in (2, 6):  # type, split_type: signature, type offset
                    at += 8 + offset_size
            elif 2 <= version <= 4:
                abbrev_offset = self.uint(info, at, offset_size, "abbreviation offset")
                address_size = self.uint(info, at + offset_size, 1, "address size")
                at += offset_size + 1
            else:
                raise Corrupt(f"unit at {pos:#x} has DWARF version {version} (2 to 5 are read)")
            if address_size not in (2, 4, 8):
                raise Corrupt(f"unit at {pos:#x} has address size {address_size}")
            if at > end:
                raise Corrupt(f"unit at {pos:#x} is shorter than its header")
            units.append(Unit(pos, end, version, offset_size, address_size, abbrev_offset, at))
            self.spend()
            pos = end
        return units

    def abbrev_table(self, u: Unit) -> dict[int, Abbrev]:
        key = (u.abbrev_offset, u.address_size, u.offset_size)
        table = self.abbrevs.get(key)
        if table is not None:
            return table
        buf = self.section("abbrev")
        pos = u.abbrev_offset
        if pos >= len(buf):
            raise Corrupt(f"abbreviation offset {pos:#x} past the end of .debug_abbrev")
        table = {}
        while True:
            code, pos = _uleb(buf, pos)
            if code == 0:
                break
            tag, pos = _uleb(buf, pos)
            children = buf[pos] != 0
            pos += 1
            specs: list[tuple[int, int, int]] = []
            fixed = 0
            while True:
                attr, pos = _uleb(buf, pos)
                form, pos = _uleb(buf, pos)
                if attr == 0 and form == 0:
                    break
                const = 0
                if form == F_IMPLICIT_CONST:
                    const, pos = _sleb(buf, pos)
                if form not in _KNOWN_FORMS:
                    raise Corrupt(f"unknown attribute form {form:#x} in the abbreviation "
                                  f"table at {u.abbrev_offset:#x}")
                specs.append((attr, form, const))
                self.spend()
                size = self.form_size(form, u)
                fixed = fixed + size if fixed >= 0 and size >= 0 else -1
            table[code] = Abbrev(tag, children, tuple(specs), fixed,
                                 any(a in _WANTED for a, _f, _c in specs))
        self.abbrevs[key] = table
        return table

    @staticmethod
    def form_size(form: int, u: Unit) -> int:
        """The size of a value of a form in a unit, or -1 when it depends on the value."""
        size = _FIXED.get(form)
        if size is not None:
            return size
        if form == F_ADDR:
            return u.address_size
        if form in _OFFSET_SIZED:
            return u.offset_size
        if form == F_REF_ADDR:
            return u.address_size if u.version == 2 else u.offset_size
        return -1

    # ---- entries ----------------------------------------------------------------------------

    def value(self, form: int, const: int, pos: int, u: Unit) -> tuple[int | bytes, int, int]:
        """(value, form, next position) of one attribute value at ``pos``."""
        info = self.info
        if form == F_INDIRECT:
            form, pos = _uleb(info, pos)
            self.spend()
            if form in (F_INDIRECT, F_IMPLICIT_CONST):
                raise Corrupt(f"DW_FORM_indirect names form {form:#x}")
        if form == F_IMPLICIT_CONST:
            return const, form, pos
        size = self.form_size(form, u)
        if size >= 0:
            if pos + size > u.end:
                raise Corrupt(f"an attribute value at {pos:#x} runs past its unit")
            return int.from_bytes(info[pos:pos + size], "big" if self.big else "little"), form, \
                pos + size
        if form in _ULEB:
            v, pos = _uleb(info, pos)
        elif form == 0x0D:  # sdata
            v, pos = _sleb(info, pos)
        elif form == F_STRING:
            end = info.find(b"\0", pos, u.end)
            if end < 0:
                raise Corrupt(f"string at {pos:#x} is not NUL-terminated inside its unit")
            return info[pos:end], form, end + 1
        elif form in _BLOCK_LEN or form in (0x09, 0x18):  # block, exprloc: ULEB length
            n = _BLOCK_LEN.get(form, 0)
            if n:
                length = self.uint(info, pos, n, "block length")
                pos += n
            else:
                length, pos = _uleb(info, pos)
            pos += length
            v = 0
        else:
            raise Corrupt(f"unknown attribute form {form:#x}")
        if pos > u.end:
            raise Corrupt("an attribute value runs past its unit")
        return v, form, pos

    def entry(self, pos: int, u: Unit, table: dict[int, Abbrev]
              ) -> tuple[Abbrev | None, dict[int, Value], int]:
        """(abbreviation, wanted attributes, next position) of the entry at ``pos``;
        (None, {}, next) for a null entry."""
        code, pos = _uleb(self.info, pos)
        self.spend()
        if code == 0:
            return None, {}, pos
        ab = table.get(code)
        if ab is None:
            raise Corrupt(f"entry at {pos:#x} uses abbreviation {code}, which its table "
                          f"does not define")
        if not ab.wanted and ab.fixed >= 0:
            return ab, {}, pos + ab.fixed
        attrs: dict[int, Value] = {}
        for attr, form, const in ab.specs:
            v, form, pos = self.value(form, const, pos, u)
            self.spend()
            if attr in _WANTED:
                attrs[attr] = (form, v)
        if pos > u.end:
            raise Corrupt(f"entry runs past the end of its unit at {u.end:#x}")
        return ab, attrs, pos

    def unit_info(self, u: Unit) -> UnitInfo:
        hit = self.unit_infos.get(u.offset)
        if hit is None:
            ab, attrs, _pos = self.entry(u.die_offset, u, self.abbrev_table(u))
            base = attrs.get(DW_AT_addr_base) or attrs.get(DW_AT_GNU_addr_base)

            def num(attr: int) -> int | None:
                v = attrs.get(attr)
                return v[1] if v is not None and isinstance(v[1], int) else None

            info0 = UnitInfo(0, num(DW_AT_str_offsets_base),
                             base[1] if base is not None and isinstance(base[1], int) else None,
                             num(DW_AT_rnglists_base))
            low = attrs.get(DW_AT_low_pc)
            low_pc = self.address(low, u, info0) if low is not None and ab is not None else 0
            hit = self.unit_infos[u.offset] = info0._replace(low_pc=low_pc)
        return hit

    # ---- values -------------------------------------------------------------------------

    def address(self, v: Value, u: Unit, ui: UnitInfo) -> int:
        form, x = v
        assert isinstance(x, int)
        if form == F_ADDR:
            return x
        base = ui.addr_base if ui.addr_base is not None else 8
        return self.uint(self.section("addr"), base + x * u.address_size, u.address_size,
                         f"address index {x}")

    def string(self, v: Value, u: Unit, ui: UnitInfo) -> str | None:
        form, x = v
        if isinstance(x, bytes):
            raw = x
        else:
            if form in _STRX_FORMS:
                base = ui.str_offsets_base if ui.str_offsets_base is not None else \
                    2 * u.offset_size
                x = self.uint(self.section("str_offsets"), base + x * u.offset_size,
                              u.offset_size, f"string index {x}")
                buf = self.section("str")
            elif form == F_STRP:
                buf = self.section("str")
            elif form == F_LINE_STRP:
                buf = self.section("line_str")
            else:  # a supplementary file's string (dwz), or not a string form
                return None
            end = buf.find(b"\0", x)
            if x >= len(buf) or end < 0:
                raise Corrupt(f"string offset {x:#x} is not inside its string section")
            raw = buf[x:end]
        return raw.decode("utf-8", "replace")

    def unit_of(self, offset: int) -> Unit:
        """The unit holding .debug_info ``offset``."""
        lo, hi = 0, len(self.units)
        while lo < hi:
            mid = (lo + hi) // 2
            if self.units[mid].offset <= offset:
                lo = mid + 1
            else:
                hi = mid
        if lo == 0 or offset >= self.units[lo - 1].end:
            raise Corrupt(f"reference to {offset:#x}, outside every unit of .debug_info")
        return self.units[lo - 1]

    def name(self, attrs: dict[int, Value], u: Unit, depth: int = 0) -> str | None:
        """The entry's name, or its specification's or abstract origin's."""
        ui = self.unit_info(u)
        for attr in _NAME_ATTRS:
            v = attrs.get(attr)
            if v is not None:
                return self.string(v, u, ui)
        if depth >= _MAX_REFS:
            return None
        for attr in (DW_AT_specification, DW_AT_abstract_origin):
            v = attrs.get(attr)
            if v is None:
                continue
            form, x = v
            if not isinstance(x, int):
                continue
            if form in _UNIT_REF_FORMS:
                target = u.offset + x
            elif form == F_REF_ADDR:
                target = x
            else:  # a reference into a supplementary file or a type unit
                return None
            if target in self.names:
                return self.names[target]
            tu = self.unit_of(target)
            if target < tu.die_offset:
                raise Corrupt(f"reference to {target:#x}, inside a unit header")
            self.spend()
            _ab, tattrs, _pos = self.entry(target, tu, self.abbrev_table(tu))
            found = self.names[target] = self.name(tattrs, tu, depth + 1)
            return found
        return None

    # ---- range lists --------------------------------------------------------------------

    def ranges(self, v: Value, u: Unit, ui: UnitInfo) -> list[tuple[int, int]]:
        form, x = v
        assert isinstance(x, int)
        if u.version >= 5:
            buf = self.section("rnglists")
            if form == F_RNGLISTX:
                base = ui.rnglists_base if ui.rnglists_base is not None else \
                    (12 if u.offset_size == 4 else 20)
                x = base + self.uint(buf, base + x * u.offset_size, u.offset_size,
                                     f"range list index {x}")
            return self.rnglist(buf, x, u, ui)
        return self.rangelist(self.section("ranges"), x, u, ui)

    def rangelist(self, buf: bytes, pos: int, u: Unit, ui: UnitInfo) -> list[tuple[int, int]]:
        """A DWARF 2-4 .debug_ranges list."""
        size = u.address_size
        top = (1 << (8 * size)) - 1
        base = ui.low_pc
        out: list[tuple[int, int]] = []
        while True:
            self.spend()
            begin = self.uint(buf, pos, size, "range list entry")
            end = self.uint(buf, pos + size, size, "range list entry")
            pos += 2 * size
            if begin == 0 and end == 0:
                return out
            if begin == top:
                base = end
            else:
                out.append((base + begin, base + end))

    def rnglist(self, buf: bytes, pos: int, u: Unit, ui: UnitInfo) -> list[tuple[int, int]]:
        """A DWARF 5 .debug_rnglists list."""
        size = u.address_size
        base = ui.low_pc
        out: list[tuple[int, int]] = []

        def addrx(index: int) -> int:
            return self.address((F_ADDRX, index), u, ui)

        while True:
            self.spend()
            if pos >= len(buf):
                raise Corrupt(f"range list entry at {pos:#x} past the end of .debug_rnglists")
            kind = buf[pos]
            pos += 1
            if kind == 0:  # DW_RLE_end_of_list
                return out
            if kind == 1:  # base_addressx
                i, pos = _uleb(buf, pos)
                base = addrx(i)
            elif kind in (2, 3):  # startx_endx, startx_length
                i, pos = _uleb(buf, pos)
                n, pos = _uleb(buf, pos)
                start = addrx(i)
                out.append((start, addrx(n) if kind == 2 else start + n))
            elif kind == 4:  # offset_pair
                a, pos = _uleb(buf, pos)
                b, pos = _uleb(buf, pos)
                out.append((base + a, base + b))
            elif kind == 5:  # base_address
                base = self.uint(buf, pos, size, "range list entry")
                pos += size
            elif kind == 6:  # start_end
                a = self.uint(buf, pos, size, "range list entry")
                b = self.uint(buf, pos + size, size, "range list entry")
                pos += 2 * size
                out.append((a, b))
            elif kind == 7:  # start_length
                a = self.uint(buf, pos, size, "range list entry")
                n, pos = _uleb(buf, pos + size)
                out.append((a, a + n))
            else:
                raise Corrupt(f"unknown range list entry kind {kind} at {pos - 1:#x}")

    # ---- the walk ---------------------------------------------------------------------------

    def subprograms(self) -> list[tuple[int, int, str]]:
        out: list[tuple[int, int, str]] = []
        for u in self.read_units():
            self.walk(u, out)
        return out

    def walk(self, u: Unit, out: list[tuple[int, int, str]]) -> None:
        """The subprograms among the unit entry's children (and the children of namespaces
        and modules there)."""
        table = self.abbrev_table(u)
        ui = self.unit_info(u)
        ab, _attrs, pos = self.entry(u.die_offset, u, table)
        if ab is None or not ab.children:
            return
        # One flag per open level: are the entries of that level looked at?
        levels = [True]
        while levels and pos < u.end:
            start = pos
            ab, attrs, pos = self.entry(pos, u, table)
            if ab is None:
                levels.pop()
                continue
            looked = levels[-1]
            if looked and ab.tag == DW_TAG_subprogram:
                self.subprogram(attrs, u, ui, out)
            if ab.children:
                inside = looked and ab.tag in (DW_TAG_namespace, DW_TAG_module)
                sib = attrs.get(DW_AT_sibling)
                if not inside and sib is not None and sib[0] in _UNIT_REF_FORMS and \
                        isinstance(sib[1], int) and start < u.offset + sib[1] <= u.end:
                    pos = u.offset + sib[1]  # skip the children
                else:
                    levels.append(inside)

    def subprogram(self, attrs: dict[int, Value], u: Unit, ui: UnitInfo,
                   out: list[tuple[int, int, str]]) -> None:
        low, high = attrs.get(DW_AT_low_pc), attrs.get(DW_AT_high_pc)
        spans: list[tuple[int, int]] = []
        if low is not None and high is not None:
            lo = self.address(low, u, ui)
            if high[0] in _ADDR_FORMS:
                hi = self.address(high, u, ui)
            elif isinstance(high[1], int):
                hi = lo + high[1]
            else:
                return
            spans = [(lo, hi)]
        elif DW_AT_ranges in attrs:
            spans = self.ranges(attrs[DW_AT_ranges], u, ui)
        spans = [(lo, hi) for lo, hi in spans if 0 < lo < hi]
        if not spans:
            return
        name = self.name(attrs, u)
        if name:
            out.extend((lo, hi, name) for lo, hi in spans)


def subprogram_ranges(f: ElfImage) -> list[tuple[int, int, str]]:
    """(start, end, name) of the file's functions from its DWARF (empty when it has none), in
    the order of .debug_info. Raises ElfError naming the file for corrupt DWARF."""
    try:
        d = Dwarf(f)
        if not d.info:
            return []
        return d.subprograms()
    except ElfError:
        raise
    except Corrupt as exc:
        raise f.error(f"corrupt DWARF: {exc}") from None
    except (IndexError, struct.error, ValueError, OverflowError, MemoryError,
            RecursionError) as exc:  # safety net: never anything but ElfError
        raise f.error(f"corrupt DWARF ({type(exc).__name__}: {exc})") from None
