"""Call sites of imported symbols in linked binaries (``where --binary``).

For an x86-64 or AArch64 executable or shared library, find every instruction that reaches an
imported symbol through the PLT or the GOT, and every data word the dynamic linker fills with
its address:

1. The dynamic relocations (``.rela.plt``, ``.rela.dyn``) say which GOT slot belongs to which
   symbol: ``JUMP_SLOT`` (lazy or ``-z now`` PLT) and ``GLOB_DAT`` (``-fno-plt`` calls, address
   loads). ``R_X86_64_64``/``R_AARCH64_ABS64`` against a symbol are data references (a function
   pointer in a table).
2. The PLT stubs (``.plt``, ``.plt.sec`` for IBT, ``.plt.got``) are decoded to map each stub's
   address to the GOT slot it jumps through (x86-64: capstone; AArch64: the fixed
   ``adrp x16; ldr x17, [x16, #off]`` pattern, with or without ``bti c``).
3. The executable sections (and only those, PLT excluded) are decoded linearly: x86-64 with
   capstone's ``disasm_lite`` (the cheap tuple interface; instructions are skipped with a couple
   of string tests), AArch64 by masks over 32-bit words (a fixed-width encoding needs no
   disassembler for BL/B/B.cond/ADRP/LDR/ADD). Every ``call``/``bl`` to a stub is a ``call``,
   every ``jmp``/``b``/``jcc`` (tail call) a ``jump``, ``call *slot``/``jmp *slot`` through the
   GOT a ``call``/``jump``, any other load from a GOT slot (``mov slot(%rip)``, ``adrp+ldr``) a
   ``got-load``, and taking a stub's address (``lea``, ``mov $imm``, ``adrp+add``: non-PIE
   canonical PLT entries) an ``address``. Data references are ``reference`` sites.
4. Each site is attributed to its enclosing function: ``.symtab`` FUNC symbols
   (``attribution="symtab"``), else DWARF ``DW_TAG_subprogram`` ranges (``"dwarf"``) of the
   binary or of a separate debug file found by build-id (``DIR/.build-id/xx/yyyy.debug``) or by
   ``.gnu_debuglink`` name under the debug directories (whose ``.symtab`` is used first), else
   the nearest exported (``.dynsym``) function below it (``"nearest-export"``: ``name`` when it
   covers the address, ``name+0xoff`` when it does not), else ``"none"``.

:func:`binary_reference_counts` gives, per symbol, the number of ``JUMP_SLOT``/``GLOB_DAT``
relocations: every symbol counted there has at least one site when the code uses it.
"""

from __future__ import annotations

import bisect
import os
import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from elftools.common.exceptions import ELFError as _PyElfError

try:
    import capstone
except ImportError:  # pragma: no cover - capstone is in the 'where' extra
    capstone = None

from ..errors import ElfError
from ..model import CallSite
from .objects import elf_reason as _reason

# Relocation types per machine: (JUMP_SLOT, GLOB_DAT, ABS64 data).
_RELOCS = {
    "EM_X86_64": (7, 6, 1),
    "EM_AARCH64": (1026, 1025, 257),
    "EM_386": (7, 6, 1),
    "EM_ARM": (22, 21, 2),
    "EM_PPC64": (21, 20, 38),
    "EM_S390": (11, 10, 22),
    "EM_RISCV": (5, -1, 2),
}
_SUPPORTED = ("EM_X86_64", "EM_AARCH64")
_PLT_SECTIONS = (".plt", ".plt.sec", ".plt.got", ".plt.bnd", ".iplt")
DEFAULT_DEBUG_DIRS = ("/usr/lib/debug",)


@dataclass(slots=True)
class _Dyn:
    """What the dynamic view says about the imports."""

    names: list[str] = field(default_factory=list)          # dynsym index -> name
    undefined: dict[int, str] = field(default_factory=dict)  # dynsym index -> name
    canonical: dict[int, str] = field(default_factory=dict)  # st_value of undefined FUNC (non-PIC)
    exports: list[tuple[int, int, str]] = field(default_factory=list)  # defined FUNC: value, size
    got: dict[int, str] = field(default_factory=dict)        # GOT slot -> symbol
    data_refs: list[tuple[int, str]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)     # JUMP_SLOT + GLOB_DAT per symbol


_ELF_EXC: tuple[type[BaseException], ...] = (_PyElfError, struct.error, ValueError, KeyError,
                                             IndexError,
                                             AttributeError, TypeError, AssertionError,
                                             UnicodeDecodeError, EOFError)


def _open(path: str, data: bytes):
    import io

    from elftools.elf.elffile import ELFFile

    if not data.startswith(b"\x7fELF"):
        raise ElfError(path, "not an ELF file")
    try:
        return ELFFile(io.BytesIO(data))
    except _ELF_EXC as exc:
        raise ElfError(path, _reason(exc)) from None


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except IsADirectoryError:
        raise ElfError(path, "is a directory") from None
    except OSError as exc:
        raise ElfError(path, exc.strerror or str(exc)) from None


def _section_bytes(data: bytes, sec) -> bytes:
    if sec["sh_type"] == "SHT_NOBITS":
        return b""
    off, size = sec["sh_offset"], sec["sh_size"]
    if off + size > len(data):
        raise ElfError("", f"section {sec.name} extends past the end of the file "
                       f"(truncated file)")
    return data[off:off + size]


def _cstr(strtab: bytes, off: int) -> str:
    end = strtab.find(b"\0", off)
    return strtab[off:end if end >= 0 else None].decode("utf-8", "replace")


def _symbols(elf, data: bytes, sec) -> Iterable[tuple[int, str, int, int, int, int]]:
    """(index, name, info, shndx, value, size) of a symbol table, parsed in bulk."""
    raw = _section_bytes(data, sec)
    e = "<" if elf.little_endian else ">"
    if elf.elfclass == 64:
        fmt, esz = e + "IBBHQQ", 24
        raw = raw[:len(raw) // esz * esz]
        for i, (name, info, _other, shndx, value, size) in enumerate(struct.iter_unpack(fmt, raw)):
            yield i, name, info, shndx, value, size
    else:
        fmt, esz = e + "IIIBBH", 16
        raw = raw[:len(raw) // esz * esz]
        for i, (name, value, size, info, _other, shndx) in enumerate(struct.iter_unpack(fmt, raw)):
            yield i, name, info, shndx, value, size


def _dynamic_view(elf, data: bytes, path: str) -> _Dyn:
    dyn = _Dyn()
    dynsym = elf.get_section_by_name(".dynsym")
    if dynsym is None:
        return dyn
    dynsym_index = elf.get_section_index(".dynsym")
    strtab = _section_bytes(data, elf.get_section(dynsym["sh_link"]))
    for i, name_off, info, shndx, value, size in _symbols(elf, data, dynsym):
        name = _cstr(strtab, name_off) if name_off else ""
        dyn.names.append(name)
        stype = info & 0xF
        if not name:
            continue
        if shndx == 0:
            dyn.undefined[i] = name
            if value and stype in (2, 10):        # canonical PLT entry of a non-PIC program
                dyn.canonical[value] = name
        elif stype in (2, 10) and shndx < 0xFF00:
            dyn.exports.append((value, size, name))
    dyn.exports.sort()
    jump_slot, glob_dat, abs64 = _RELOCS.get(elf["e_machine"], (-1, -1, -1))
    e = "<" if elf.little_endian else ">"
    for sec in elf.iter_sections():
        if sec["sh_type"] not in ("SHT_RELA", "SHT_REL") or sec["sh_link"] != dynsym_index:
            continue
        raw = _section_bytes(data, sec)
        rela = sec["sh_type"] == "SHT_RELA"
        if elf.elfclass == 64:
            fmt, esz, shift, mask = (e + "QQq", 24, 32, 0xFFFFFFFF) if rela else \
                (e + "QQ", 16, 32, 0xFFFFFFFF)
        else:
            fmt, esz, shift, mask = (e + "IIi", 12, 8, 0xFF) if rela else (e + "II", 8, 8, 0xFF)
        raw = raw[:len(raw) // esz * esz]
        for ent in struct.iter_unpack(fmt, raw):
            info = ent[1]
            sym = info >> shift
            if not sym:
                continue
            name = dyn.undefined.get(sym)
            if name is None:
                continue
            rtype = info & mask
            if rtype == jump_slot or rtype == glob_dat:
                dyn.got[ent[0]] = name
                dyn.counts[name] = dyn.counts.get(name, 0) + 1
            elif rtype == abs64:
                dyn.data_refs.append((ent[0], name))
    return dyn


def binary_reference_counts(path: str) -> dict[str, int]:
    """Per imported symbol, the number of JUMP_SLOT and GLOB_DAT relocations."""
    data = _read(path)
    elf = _open(path, data)
    try:
        return dict(sorted(_dynamic_view(elf, data, path).counts.items()))
    except ElfError as exc:
        raise ElfError(path, exc.message) from None
    except _ELF_EXC as exc:
        raise ElfError(path, _reason(exc)) from None


# --------------------------------------------------------------------------------------------
# PLT stubs
# --------------------------------------------------------------------------------------------


def _x86_rip_target(addr: int, size: int, op: str) -> int | None:
    i = op.find("[rip ")
    if i < 0:
        return None
    j = op.find("]", i)
    try:
        disp = int(op[i + 7:j], 16)
    except ValueError:
        return None
    return addr + size + (disp if op[i + 5] == "+" else -disp)


def _plt_stubs_x86(elf, data: bytes, got: dict[int, str]) -> dict[int, str]:
    md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
    md.skipdata = True
    stubs: dict[int, str] = {}
    for sec in elf.iter_sections():
        if sec.name not in _PLT_SECTIONS or not sec["sh_flags"] & 0x4:
            continue
        code = _section_bytes(data, sec)
        base = sec["sh_addr"]
        ent = sec["sh_entsize"]
        if ent not in (8, 16) or len(code) % ent:
            ent = 0
        start = base          # start of the current stub when entries have no fixed size
        for addr, size, mnem, op in md.disasm_lite(code, base):
            if "jmp" in mnem and "rip" in op:
                slot = _x86_rip_target(addr, size, op)
                name = got.get(slot) if slot is not None else None
                if name is not None:
                    stubs[addr] = name
                    stubs[base + (addr - base) // ent * ent if ent else start] = name
            if "jmp" in mnem or mnem in ("nop", "int3", "hlt"):
                start = addr + size
            elif mnem == "endbr64" and start != addr:
                start = addr
    return stubs


def _words(code: bytes, little: bool):
    import array

    a = array.array("I")
    a.frombytes(code[:len(code) // 4 * 4])
    if (a.itemsize != 4):      # pragma: no cover - exotic platform
        raise ElfError("", "unsupported platform: array('I') is not 32-bit")
    import sys
    if (sys.byteorder == "little") != little:
        a.byteswap()
    return a


def _adrp_page(w: int, addr: int) -> int:
    imm = (((w >> 5) & 0x7FFFF) << 2) | ((w >> 29) & 3)
    if imm & (1 << 20):
        imm -= 1 << 21
    return (addr & ~0xFFF) + (imm << 12)


def _plt_stubs_aarch64(elf, data: bytes, got: dict[int, str]) -> dict[int, str]:
    stubs: dict[int, str] = {}
    for sec in elf.iter_sections():
        if sec.name not in _PLT_SECTIONS or not sec["sh_flags"] & 0x4:
            continue
        base = sec["sh_addr"]
        words = _words(_section_bytes(data, sec), elf.little_endian)
        page: int | None = None
        start = base
        for i, w in enumerate(words):
            addr = base + 4 * i
            if (w & 0x9F00001F) == 0x90000010:            # adrp x16, page
                page = _adrp_page(w, addr)
                start = addr - 4 if i and words[i - 1] in (0xD503245F, 0xD503233F) else addr
            elif (w & 0xFFC003FF) == 0xF9400211 and page is not None:   # ldr x17, [x16, #off]
                slot = page + ((w >> 10) & 0xFFF) * 8
                name = got.get(slot)
                if name is not None:
                    stubs[start] = name
                    stubs[addr] = name
                page = None
    return stubs


# --------------------------------------------------------------------------------------------
# Code scans
# --------------------------------------------------------------------------------------------

# (address, symbol, kind)
_Raw = tuple[int, str, str]


def _code_sections(elf):
    for sec in elf.iter_sections():
        if sec["sh_flags"] & 0x4 and sec["sh_type"] != "SHT_NOBITS" and \
                sec.name not in _PLT_SECTIONS and sec["sh_size"]:
            yield sec


def _scan_x86(elf, data: bytes, got: dict[int, str], stubs: dict[int, str],
              canonical: dict[int, str]) -> list[_Raw]:
    md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
    md.skipdata = True
    # Direct branch/immediate operands as capstone prints them: "0x1040".
    stub_ops = {hex(a): n for a, n in stubs.items()}
    imm_ops = {hex(a): n for a, n in canonical.items()}
    found: list[_Raw] = []
    append = found.append
    for sec in _code_sections(elf):
        code = _section_bytes(data, sec)
        for addr, size, mnem, op in md.disasm_lite(code, sec["sh_addr"]):
            if "rip" in op:
                i = op.find("[rip ")
                if i < 0:
                    continue
                j = op.find("]", i)
                disp = int(op[i + 7:j], 16)
                target = addr + size + (disp if op[i + 5] == "+" else -disp)
                name = got.get(target)
                if name is not None:
                    if "call" in mnem:
                        append((addr, name, "call"))
                    elif "jmp" in mnem:
                        append((addr, name, "jump"))
                    else:
                        append((addr, name, "got-load"))
                    continue
                name = stubs.get(target) or canonical.get(target)
                if name is not None and mnem == "lea":
                    append((addr, name, "address"))
                continue
            name = stub_ops.get(op)
            if name is not None:
                if "call" in mnem:
                    append((addr, name, "call"))
                elif "j" in mnem:
                    append((addr, name, "jump"))
                else:
                    append((addr, name, "address"))      # push $stub
                continue
            if imm_ops and ", 0x" in op and mnem in ("mov", "movabs", "lea"):
                name = imm_ops.get(op.rsplit(", ", 1)[1])
                if name is not None:
                    append((addr, name, "address"))
    return found


_A64_TOP = frozenset([0x94, 0x95, 0x96, 0x97, 0x14, 0x15, 0x16, 0x17, 0x54,
                      0x90, 0xB0, 0xD0, 0xF0, 0xF9, 0x91, 0x10, 0x30, 0x50, 0x70])


def _scan_aarch64(elf, data: bytes, got: dict[int, str], stubs: dict[int, str],
                  canonical: dict[int, str]) -> list[_Raw]:
    found: list[_Raw] = []
    append = found.append
    addr_targets = {**canonical, **stubs}
    top = _A64_TOP
    for sec in _code_sections(elf):
        base = sec["sh_addr"]
        words = _words(_section_bytes(data, sec), elf.little_endian)
        pages: dict[int, tuple[int, int]] = {}     # register -> (page, index of the adrp)
        for i, w in enumerate(words):
            t = w >> 24
            if t not in top:
                continue
            addr = base + 4 * i
            if (w & 0x7C000000) == 0x14000000:      # B / BL imm26
                off = w & 0x3FFFFFF
                if off & 0x2000000:
                    off -= 0x4000000
                name = stubs.get(addr + off * 4)
                if name is not None:
                    append((addr, name, "call" if w & 0x80000000 else "jump"))
            elif (w & 0xFF000010) == 0x54000000:    # B.cond imm19
                off = (w >> 5) & 0x7FFFF
                if off & 0x40000:
                    off -= 0x80000
                name = stubs.get(addr + off * 4)
                if name is not None:
                    append((addr, name, "jump"))
            elif (w & 0x9F000000) == 0x90000000:    # ADRP
                pages[w & 31] = (_adrp_page(w, addr), i)
            elif (w & 0xFFC00000) == 0xF9400000:    # LDR Xt, [Xn, #imm12*8]
                p = pages.get((w >> 5) & 31)
                if p is not None and i - p[1] <= 64:
                    name = got.get(p[0] + ((w >> 10) & 0xFFF) * 8)
                    if name is not None:
                        append((addr, name, _a64_got_use(words, i, w & 31)))
            elif (w & 0xFF800000) == 0x91000000:    # ADD Xd, Xn, #imm12{, lsl 12}
                p = pages.get((w >> 5) & 31)
                if p is not None and i - p[1] <= 64 and addr_targets:
                    imm = (w >> 10) & 0xFFF
                    if w & 0x400000:
                        imm <<= 12
                    name = addr_targets.get(p[0] + imm)
                    if name is not None:
                        append((addr, name, "address"))
            elif (w & 0x9F000000) == 0x10000000 and addr_targets:   # ADR
                imm = (((w >> 5) & 0x7FFFF) << 2) | ((w >> 29) & 3)
                if imm & (1 << 20):
                    imm -= 1 << 21
                name = addr_targets.get(addr + imm)
                if name is not None:
                    append((addr, name, "address"))
    return found


def _a64_got_use(words, i: int, reg: int) -> str:
    """After ``ldr Xt, [GOT slot]``: ``blr Xt`` within the next four instructions is a call
    (-fno-plt), ``br Xt`` a tail call, anything else an address load."""
    blr, br = 0xD63F0000 | (reg << 5), 0xD61F0000 | (reg << 5)
    for k in range(i + 1, min(i + 5, len(words))):
        w = words[k]
        if w == blr:
            return "call"
        if w == br:
            return "jump"
        if (w & 0x7C000000) == 0x14000000 or (w & 0xFE9FFC1F) == 0xD61F0000:
            break                           # another branch, br/blr/ret: the value escapes
    return "got-load"


def _pointer_refs(elf, data: bytes, canonical: dict[int, str]) -> list[_Raw]:
    """Non-PIC programs: data words holding a canonical PLT address (no dynamic relocation)."""
    if not canonical:
        return []
    e = "<" if elf.little_endian else ">"
    found: list[_Raw] = []
    pats = {struct.pack(e + "Q", a): n for a, n in canonical.items()}
    for sec in elf.iter_sections():
        flags = sec["sh_flags"]
        if not flags & 0x2 or flags & 0x4 or sec["sh_type"] in ("SHT_NOBITS", "SHT_NOTE") or \
                sec.name.startswith((".rela", ".rel.", ".dyn", ".gnu", ".eh_frame", ".got")):
            continue
        buf = _section_bytes(data, sec)
        for pat, name in pats.items():
            pos = buf.find(pat)
            while pos >= 0:
                if pos % 8 == 0:
                    found.append((sec["sh_addr"] + pos, name, "reference"))
                pos = buf.find(pat, pos + 1)
    return found


# --------------------------------------------------------------------------------------------
# Attribution
# --------------------------------------------------------------------------------------------


class _Ranges:
    """Sorted, non-overlapping-ish [start, end) -> name, looked up by bisect."""

    def __init__(self, items: Iterable[tuple[int, int, str]]) -> None:
        self.items = sorted(i for i in items if i[1] > i[0])
        self.starts = [s for s, _, _ in self.items]

    def __bool__(self) -> bool:
        return bool(self.items)

    def find(self, addr: int) -> str | None:
        i = bisect.bisect_right(self.starts, addr) - 1
        for j in range(i, max(-1, i - 8), -1):
            s, e, name = self.items[j]
            if s <= addr < e:
                return name
        return None


def _symtab_ranges(elf, data: bytes) -> _Ranges:
    sec = elf.get_section_by_name(".symtab")
    if sec is None or sec["sh_type"] != "SHT_SYMTAB":
        return _Ranges(())
    strtab = _section_bytes(data, elf.get_section(sec["sh_link"]))
    items = []
    for _i, name_off, info, shndx, value, size in _symbols(elf, data, sec):
        if (info & 0xF) in (2, 10) and shndx and shndx < 0xFF00 and size and name_off:
            items.append((value, value + size, _cstr(strtab, name_off)))
    return _Ranges(items)


def _dwarf_ranges(elf, wanted: list[int]) -> _Ranges:
    """Subprogram ranges from DWARF (only computed when there is no .symtab)."""
    if not wanted or not elf.has_dwarf_info():
        return _Ranges(())
    dwarf = elf.get_dwarf_info()
    items: list[tuple[int, int, str]] = []
    for cu in dwarf.iter_CUs():
        for die in cu.get_top_DIE().iter_children():
            items.extend(_subprogram_ranges(dwarf, cu, die))
    return _Ranges(items)


def _die_name(die) -> str | None:
    for attr in ("DW_AT_name", "DW_AT_linkage_name", "DW_AT_MIPS_linkage_name"):
        if attr in die.attributes:
            v = die.attributes[attr].value
            return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
    for attr in ("DW_AT_specification", "DW_AT_abstract_origin"):
        if attr in die.attributes:
            try:
                return _die_name(die.get_DIE_from_attribute(attr))
            except Exception:  # noqa: BLE001 - broken reference: no name
                return None
    return None


def _subprogram_ranges(dwarf, cu, die) -> list[tuple[int, int, str]]:
    out: list[tuple[int, int, str]] = []
    if die.tag != "DW_TAG_subprogram":
        if die.tag == "DW_TAG_namespace" or die.tag == "DW_TAG_module":
            for child in die.iter_children():
                out.extend(_subprogram_ranges(dwarf, cu, child))
        return out
    attrs = die.attributes
    name = None
    if "DW_AT_low_pc" in attrs and "DW_AT_high_pc" in attrs:
        lo = attrs["DW_AT_low_pc"].value
        hi_attr = attrs["DW_AT_high_pc"]
        hi = hi_attr.value
        if hi_attr.form not in ("DW_FORM_addr", "DW_FORM_addrx", "DW_FORM_addrx1",
                                "DW_FORM_addrx2", "DW_FORM_addrx3", "DW_FORM_addrx4"):
            hi = lo + hi
        name = _die_name(die)
        if name and isinstance(lo, int) and isinstance(hi, int):
            out.append((lo, hi, name))
    elif "DW_AT_ranges" in attrs:
        name = _die_name(die)
        if name:
            try:
                rl = dwarf.range_lists()
                if rl is not None:
                    base = cu.get_top_DIE().attributes.get("DW_AT_low_pc")
                    base_addr = base.value if base is not None else 0
                    for r in rl.get_range_list_at_offset(attrs["DW_AT_ranges"].value, cu=cu):
                        if hasattr(r, "begin_offset"):
                            b, e = r.begin_offset, r.end_offset
                            if not getattr(r, "is_absolute", False):
                                b, e = b + base_addr, e + base_addr
                            out.append((b, e, name))
            except Exception:  # noqa: BLE001 - unreadable range list: skip that function
                return out
    return out


def _build_id(elf) -> str | None:
    for sec in elf.iter_sections():
        if sec["sh_type"] == "SHT_NOTE":
            for note in sec.iter_notes():
                if note["n_type"] == "NT_GNU_BUILD_ID":
                    return str(note["n_desc"])
    return None


def _debuglink(elf, data: bytes) -> tuple[str, int] | None:
    sec = elf.get_section_by_name(".gnu_debuglink")
    if sec is None:
        return None
    raw = _section_bytes(data, sec)
    end = raw.find(b"\0")
    if end <= 0:
        return None
    name = raw[:end].decode("utf-8", "replace")
    crc_off = (end + 4) & ~3
    if crc_off + 4 > len(raw):
        return name, -1
    (crc,) = struct.unpack(("<" if elf.little_endian else ">") + "I", raw[crc_off:crc_off + 4])
    return name, crc


def find_debug_file(path: str, elf, data: bytes, debug_dirs: Iterable[str]) -> str | None:
    """A separate debug file for ``path``: by build-id, then by .gnu_debuglink name."""
    dirs = [d for d in debug_dirs if d]
    build_id = _build_id(elf)
    if build_id and len(build_id) > 2:
        for d in dirs:
            cand = os.path.join(d, ".build-id", build_id[:2], build_id[2:] + ".debug")
            if os.path.isfile(cand):
                return cand
    link = _debuglink(elf, data)
    if link is None:
        return None
    name, crc = link
    bindir = os.path.dirname(os.path.abspath(path))
    cands = [os.path.join(d, name) for d in dirs]
    cands += [os.path.join(d, bindir.lstrip("/"), name) for d in dirs]
    cands += [os.path.join(bindir, name), os.path.join(bindir, ".debug", name)]
    for cand in cands:
        if os.path.isfile(cand) and os.path.abspath(cand) != os.path.abspath(path):
            if crc >= 0:
                try:
                    with open(cand, "rb") as f:
                        if zlib.crc32(f.read()) & 0xFFFFFFFF != crc:
                            continue
                except OSError:
                    continue
            return cand
    return None


class _Attributor:
    def __init__(self, path: str, elf, data: bytes, dyn: _Dyn, debug_dirs: Iterable[str],
                 addresses: list[int]) -> None:
        self.layers: list[tuple[str, _Ranges]] = []
        self.exports = dyn.exports
        self.export_starts = [v for v, _, _ in dyn.exports]
        symtab = _symtab_ranges(elf, data)
        if symtab:
            self.layers.append(("symtab", symtab))
            return
        dbg_path = find_debug_file(path, elf, data, debug_dirs)
        dbg = None
        if dbg_path is not None:
            try:
                dbg_data = _read(dbg_path)
                dbg = (_open(dbg_path, dbg_data), dbg_data)
                r = _symtab_ranges(*dbg)
                if r:
                    self.layers.append(("symtab", r))
                    return
            except (ElfError, *_ELF_EXC):
                dbg = None
        for e, d in ((elf, data), dbg) if dbg else ((elf, data),):
            try:
                r = _dwarf_ranges(e, addresses)
            except Exception:  # noqa: BLE001 - unreadable DWARF must not lose the sites
                r = _Ranges(())
            if r:
                self.layers.append(("dwarf", r))
                break

    def __call__(self, addr: int) -> tuple[str | None, str]:
        for how, ranges in self.layers:
            name = ranges.find(addr)
            if name is not None:
                return name, how
        exports = self.exports
        i = bisect.bisect_right(self.export_starts, addr) - 1
        if i < 0:
            return None, "none"
        value, size, name = exports[i]
        if addr < value + size:
            return name, "nearest-export"
        return f"{name}+{addr - value:#x}", "nearest-export"


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------


def find_binary_callsites(path: str, symbols: set[str] | None,
                          debug_dirs: list[str] = ()) -> list[CallSite]:  # type: ignore[assignment]
    """Every call, jump, GOT load, address load and data reference of the imported
    ``symbols`` (None: all imports) in an x86-64 or AArch64 executable or shared library.

    Sites are in address order. Raises :class:`ElfError` for unreadable, corrupt or
    unsupported files.
    """
    data = _read(path)
    elf = _open(path, data)
    try:
        return _find(path, elf, data, symbols, debug_dirs)
    except ElfError as exc:
        if exc.path == path:
            raise
        raise ElfError(path, exc.message) from None
    except _ELF_EXC as exc:
        raise ElfError(path, _reason(exc)) from None


def _find(path: str, elf, data: bytes, symbols: set[str] | None,
          debug_dirs: Iterable[str]) -> list[CallSite]:
    machine = elf["e_machine"]
    if machine not in _SUPPORTED:
        raise ElfError(path, f"binary call sites need an x86-64 or AArch64 file, not {machine}")
    if elf["e_type"] == "ET_REL":
        raise ElfError(path, "a relocatable object: use 'where --objects' for .o files")
    if machine == "EM_X86_64" and capstone is None:
        raise ElfError(path, "disassembling x86-64 needs capstone "
                       "(pip install 'abiguard[where]')")
    dyn = _dynamic_view(elf, data, path)
    if symbols is not None:
        dyn.got = {a: n for a, n in dyn.got.items() if n in symbols}
        dyn.canonical = {a: n for a, n in dyn.canonical.items() if n in symbols}
        dyn.data_refs = [(a, n) for a, n in dyn.data_refs if n in symbols]
    if not dyn.got and not dyn.canonical and not dyn.data_refs:
        return []
    if machine == "EM_X86_64":
        stubs = _plt_stubs_x86(elf, data, dyn.got)
        raw = _scan_x86(elf, data, dyn.got, stubs, dyn.canonical)
    else:
        stubs = _plt_stubs_aarch64(elf, data, dyn.got)
        raw = _scan_aarch64(elf, data, dyn.got, stubs, dyn.canonical)
    raw += [(a, n, "reference") for a, n in dyn.data_refs]
    raw += _pointer_refs(elf, data, dyn.canonical)
    raw.sort()
    code_addrs = sorted({a for a, _, k in raw if k != "reference"})
    attribute = _Attributor(path, elf, data, dyn, list(debug_dirs) + list(DEFAULT_DEBUG_DIRS),
                            code_addrs)
    sites = []
    for addr, name, kind in raw:
        if kind == "reference":
            fn, how = None, "none"
        else:
            fn, how = attribute(addr)
        sites.append(CallSite(symbol=name, method="binary", file=path, kind=kind,
                              function=fn, address=addr, attribution=how))
    return sites


__all__ = ["binary_reference_counts", "find_binary_callsites", "find_debug_file"]
