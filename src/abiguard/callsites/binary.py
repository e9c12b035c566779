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

The file is read with abiguard's own ELF reader (:mod:`abiguard.elf`: sections, .dynsym,
.symtab, relocation sections, notes, DWARF); only the disassembly of x86-64 is capstone's.
"""

from __future__ import annotations

import bisect
import os
import struct
import sys
import zlib
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

try:
    import capstone
except ImportError:  # pragma: no cover - capstone is in the 'where' extra
    capstone = None

from ..elf import (
    SHF_ALLOC,
    SHF_EXECINSTR,
    SHN_LORESERVE,
    SHT_DYNSYM,
    SHT_NOBITS,
    SHT_NOTE,
    SHT_REL,
    SHT_RELA,
    SHT_SYMTAB,
    ElfFile,
    Section,
    machine_name,
)
from ..errors import ElfError
from ..model import Attribution, CallSite, CallSiteKind

EM_X86_64, EM_AARCH64 = 62, 183
# Relocation types per machine: (JUMP_SLOT, GLOB_DAT, ABS64 data).
_RELOCS = {
    EM_X86_64: (7, 6, 1),
    EM_AARCH64: (1026, 1025, 257),
    3: (7, 6, 1),  # i386
    40: (22, 21, 2),  # ARM
    21: (21, 20, 38),  # PPC64
    22: (11, 10, 22),  # S/390
    243: (5, -1, 2),  # RISC-V
}
_SUPPORTED = (EM_X86_64, EM_AARCH64)
_PLT_SECTIONS = (".plt", ".plt.sec", ".plt.got", ".plt.bnd", ".iplt")
_FUNC_TYPES = ("FUNC", "GNU_IFUNC")
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


def _code(f: ElfFile, sec: Section) -> bytes:
    return bytes(f.section_data(sec))


def _dynamic_view(f: ElfFile) -> _Dyn:
    dyn = _Dyn()
    dynsym = f.section_by_name(".dynsym")
    if dynsym is None or dynsym.type != SHT_DYNSYM:
        return dyn
    for i, s in enumerate(f.dynsym_symbols()):
        name = s.name
        dyn.names.append(name)
        if not name:
            continue
        if s.shndx == 0:
            dyn.undefined[i] = name
            if s.value and s.type in _FUNC_TYPES:  # canonical PLT entry of a non-PIC program
                dyn.canonical[s.value] = name
        elif s.type in _FUNC_TYPES and s.shndx < SHN_LORESERVE:
            dyn.exports.append((s.value, s.size, name))
    dyn.exports.sort()
    jump_slot, glob_dat, abs64 = _RELOCS.get(f.header.machine, (-1, -1, -1))
    tables = [s for s in f.sections if s.type in (SHT_RELA, SHT_REL) and s.link == dynsym.index]
    for rel in f.relocations(tables, named=True):
        sym = rel.symbol_index
        if not sym:
            continue
        imported = dyn.undefined.get(sym)
        if imported is None:
            continue
        rtype = rel.type
        if rtype == jump_slot or rtype == glob_dat:
            dyn.got[rel.offset] = imported
            dyn.counts[imported] = dyn.counts.get(imported, 0) + 1
        elif rtype == abs64:
            dyn.data_refs.append((rel.offset, imported))
    return dyn


def binary_reference_counts(path: str) -> dict[str, int]:
    """Per imported symbol, the number of JUMP_SLOT and GLOB_DAT relocations."""
    with ElfFile(path) as f:
        return dict(sorted(_dynamic_view(f).counts.items()))


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


def _plt_sections(f: ElfFile) -> Iterator[Section]:
    for sec in f.sections:
        if sec.name in _PLT_SECTIONS and sec.flags & SHF_EXECINSTR:
            yield sec


def _plt_stubs_x86(f: ElfFile, got: dict[int, str]) -> dict[int, str]:
    md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
    md.skipdata = True
    stubs: dict[int, str] = {}
    for sec in _plt_sections(f):
        code = _code(f, sec)
        base = sec.addr
        ent = sec.entsize
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


def _words(code: bytes, little: bool) -> array[int]:
    a = array("I")
    a.frombytes(code[:len(code) // 4 * 4])
    if (sys.byteorder == "little") != little:
        a.byteswap()
    return a


def _adrp_page(w: int, addr: int) -> int:
    imm = (((w >> 5) & 0x7FFFF) << 2) | ((w >> 29) & 3)
    if imm & (1 << 20):
        imm -= 1 << 21
    return (addr & ~0xFFF) + (imm << 12)


def _plt_stubs_aarch64(f: ElfFile, got: dict[int, str]) -> dict[int, str]:
    stubs: dict[int, str] = {}
    little = not f.layout.big
    for sec in _plt_sections(f):
        base = sec.addr
        words = _words(_code(f, sec), little)
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
_Raw = tuple[int, str, CallSiteKind]


def _code_sections(f: ElfFile) -> Iterator[Section]:
    for sec in f.sections:
        if sec.flags & SHF_EXECINSTR and sec.type != SHT_NOBITS and \
                sec.name not in _PLT_SECTIONS and sec.size:
            yield sec


def _scan_x86(f: ElfFile, got: dict[int, str], stubs: dict[int, str],
              canonical: dict[int, str]) -> list[_Raw]:
    md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
    md.skipdata = True
    # Direct branch/immediate operands as capstone prints them: "0x1040".
    stub_ops = {hex(a): n for a, n in stubs.items()}
    imm_ops = {hex(a): n for a, n in canonical.items()}
    found: list[_Raw] = []
    append = found.append
    for sec in _code_sections(f):
        code = _code(f, sec)
        for addr, size, mnem, op in md.disasm_lite(code, sec.addr):
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


def _scan_aarch64(f: ElfFile, got: dict[int, str], stubs: dict[int, str],
                  canonical: dict[int, str]) -> list[_Raw]:
    found: list[_Raw] = []
    append = found.append
    addr_targets = {**canonical, **stubs}
    top = _A64_TOP
    little = not f.layout.big
    for sec in _code_sections(f):
        base = sec.addr
        words = _words(_code(f, sec), little)
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


def _a64_got_use(words: array[int], i: int, reg: int) -> CallSiteKind:
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


def _pointer_refs(f: ElfFile, canonical: dict[int, str]) -> list[_Raw]:
    """Non-PIC programs: data words holding a canonical PLT address (no dynamic relocation)."""
    if not canonical:
        return []
    e = ">" if f.layout.big else "<"
    found: list[_Raw] = []
    pats = {struct.pack(e + "Q", a): n for a, n in canonical.items()}
    for sec in f.sections:
        flags = sec.flags
        if not flags & SHF_ALLOC or flags & SHF_EXECINSTR or sec.type in (SHT_NOBITS, SHT_NOTE) \
                or sec.name.startswith((".rela", ".rel.", ".dyn", ".gnu", ".eh_frame", ".got")):
            continue
        buf = _code(f, sec)
        for pat, name in pats.items():
            pos = buf.find(pat)
            while pos >= 0:
                if pos % 8 == 0:
                    found.append((sec.addr + pos, name, "reference"))
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


def _symtab_ranges(f: ElfFile) -> _Ranges:
    sec = f.section_by_name(".symtab")
    if sec is None or sec.type != SHT_SYMTAB:
        return _Ranges(())
    return _Ranges((s.value, s.value + s.size, s.name) for s in f.symtab_symbols()
                   if s.type in _FUNC_TYPES and 0 < s.shndx < SHN_LORESERVE and s.size
                   and s.name)


def _dwarf_ranges(f: ElfFile, wanted: list[int]) -> _Ranges:
    """Subprogram ranges from DWARF (only computed when there is no .symtab); unreadable
    DWARF gives none (the sites keep their other attributions)."""
    if not wanted:
        return _Ranges(())
    try:
        return _Ranges(f.subprogram_ranges())
    except ElfError:
        return _Ranges(())


def find_debug_file(path: str, f: ElfFile, debug_dirs: Iterable[str]) -> str | None:
    """A separate debug file for ``path``: by build-id, then by .gnu_debuglink name."""
    dirs = [d for d in debug_dirs if d]
    build_id = f.build_id()
    if build_id and len(build_id) > 2:
        for d in dirs:
            cand = os.path.join(d, ".build-id", build_id[:2], build_id[2:] + ".debug")
            if os.path.isfile(cand):
                return cand
    link = f.debuglink()
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
                    with open(cand, "rb") as fh:
                        if zlib.crc32(fh.read()) & 0xFFFFFFFF != crc:
                            continue
                except OSError:
                    continue
            return cand
    return None


class _Attributor:
    def __init__(self, path: str, f: ElfFile, dyn: _Dyn, debug_dirs: Iterable[str],
                 addresses: list[int]) -> None:
        self.layers: list[tuple[Attribution, _Ranges]] = []
        self.exports = dyn.exports
        self.export_starts = [v for v, _, _ in dyn.exports]
        symtab = _symtab_ranges(f)
        if symtab:
            self.layers.append(("symtab", symtab))
            return
        dbg_path = find_debug_file(path, f, debug_dirs)
        dbg: ElfFile | None = None
        if dbg_path is not None:
            try:
                dbg = ElfFile(dbg_path)
                r = _symtab_ranges(dbg)
                if r:
                    self.layers.append(("symtab", r))
                    dbg.close()
                    return
            except ElfError:
                if dbg is not None:
                    dbg.close()
                dbg = None
        try:
            for e in (f, dbg) if dbg is not None else (f,):
                r = _dwarf_ranges(e, addresses)
                if r:
                    self.layers.append(("dwarf", r))
                    break
        finally:
            if dbg is not None:
                dbg.close()

    def __call__(self, addr: int) -> tuple[str | None, Attribution]:
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
                          debug_dirs: Iterable[str] = ()) -> list[CallSite]:
    """Every call, jump, GOT load, address load and data reference of the imported
    ``symbols`` (None: all imports) in an x86-64 or AArch64 executable or shared library.

    Sites are in address order. Raises :class:`ElfError` for unreadable, corrupt or
    unsupported files.
    """
    with ElfFile(path) as f:
        return _find(path, f, symbols, debug_dirs)


def _find(path: str, f: ElfFile, symbols: set[str] | None,
          debug_dirs: Iterable[str]) -> list[CallSite]:
    h = f.header
    machine = h.machine
    if machine not in _SUPPORTED:
        raise ElfError(path, f"binary call sites need an x86-64 or AArch64 file, not "
                             f"{machine_name(machine, h.elf_class)}")
    if h.type == 1:
        raise ElfError(path, "a relocatable object: use 'where --objects' for .o files")
    if machine == EM_X86_64 and capstone is None:
        raise ElfError(path, "disassembling x86-64 needs capstone "
                       "(pip install 'abiguard[where]')")
    dyn = _dynamic_view(f)
    if symbols is not None:
        dyn.got = {a: n for a, n in dyn.got.items() if n in symbols}
        dyn.canonical = {a: n for a, n in dyn.canonical.items() if n in symbols}
        dyn.data_refs = [(a, n) for a, n in dyn.data_refs if n in symbols]
    if not dyn.got and not dyn.canonical and not dyn.data_refs:
        return []
    if machine == EM_X86_64:
        stubs = _plt_stubs_x86(f, dyn.got)
        raw = _scan_x86(f, dyn.got, stubs, dyn.canonical)
    else:
        stubs = _plt_stubs_aarch64(f, dyn.got)
        raw = _scan_aarch64(f, dyn.got, stubs, dyn.canonical)
    raw += [(a, n, "reference") for a, n in dyn.data_refs]
    raw += _pointer_refs(f, dyn.canonical)
    raw.sort()
    code_addrs = sorted({a for a, _, k in raw if k != "reference"})
    attribute = _Attributor(path, f, dyn, list(debug_dirs) + list(DEFAULT_DEBUG_DIRS),
                            code_addrs)
    sites = []
    for addr, name, kind in raw:
        how: Attribution
        if kind == "reference":
            fn, how = None, "none"
        else:
            fn, how = attribute(addr)
        sites.append(CallSite(symbol=name, method="binary", file=path, kind=kind,
                              function=fn, address=addr, attribution=how))
    return sites


__all__ = ["binary_reference_counts", "find_binary_callsites", "find_debug_file"]
