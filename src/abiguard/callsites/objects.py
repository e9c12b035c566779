"""Which object file and which function reference each undefined symbol (``where --objects``).

This is the static equivalent of dropping a library from the link line: for every relocatable
object (``.o``) and every member of an ``ar`` archive (``.a``), walk the relocation sections
that apply to allocated sections (``.rela.text*``, ``.rel.text*``, ``.rela.data*`` ...), keep the
relocations whose symbol is an undefined global (or weak) symbol of ``.symtab``, and attribute
each relocation's offset to the enclosing function: the FUNC symbol of ``.symtab`` whose
``[value, value + size)`` covers it in that section (with ``-ffunction-sections`` each function
has a section of its own; the rule is the same). One :class:`CallSite` per relocation:

* ``method="object"``, ``file="x.o"`` or ``"lib.a(x.o)"``, ``address`` = offset in the section;
* ``kind="call"`` for call-type relocations (x86-64 ``R_X86_64_PLT32``, ``R_X86_64_PC32`` after
  a ``call``/``jmp`` opcode, ``R_X86_64_GOTPCRELX`` after ``call *``/``jmp *`` (``-fno-plt``);
  i386 ``R_386_PLT32``; AArch64 ``CALL26``/``JUMP26``; ARM ``CALL``/``JUMP24``/``THM_CALL``)
  and ``kind="reference"`` for the others (address loads, data initialisers);
* ``function`` is None for references from data (a function-pointer table), as the linker's
  own diagnostics have no function for them either.

Inputs that cannot be read are returned as :class:`InputError`, never raised.
ELF parsing and ``ar`` archives (GNU, BSD and thin) are abiguard's own reader
(:mod:`abiguard.elf`).
"""

from __future__ import annotations

import bisect

from ..elf import (
    AR_MAGIC,
    ELF_MAGIC,
    SHF_ALLOC,
    SHF_EXECINSTR,
    SHN_LORESERVE,
    SHT_REL,
    SHT_RELA,
    SHT_SYMTAB,
    THIN_AR_MAGIC,
    ElfFile,
    Section,
    iter_archive_members,
)
from ..errors import ElfError
from ..model import CallSite, CallSiteKind, InputError

# e_machine -> relocation types that are calls. Values from the psABIs.
_CALL_RELOCS: dict[int, frozenset[int]] = {
    62: frozenset({4}),                     # x86-64: R_X86_64_PLT32
    3: frozenset({4}),                      # i386: R_386_PLT32
    183: frozenset({282, 283}),             # AArch64: R_AARCH64_JUMP26, R_AARCH64_CALL26
    40: frozenset({10, 27, 28, 29, 30}),    # ARM: THM_CALL, PLT32, CALL, JUMP24, THM_JUMP24
    21: frozenset({10}),                    # PPC64: R_PPC64_REL24
    22: frozenset({20}),                    # S/390: R_390_PLT32DBL
    243: frozenset({18, 19}),               # RISC-V: R_RISCV_CALL, R_RISCV_CALL_PLT
}
# PC-relative relocations that are calls when the opcode before them is a call/jmp.
_PC32 = {62: 2, 3: 2}                       # R_X86_64_PC32, R_386_PC32
_GOTPCRELX = {62: (41, 9)}                  # R_X86_64_GOTPCRELX, R_X86_64_GOTPCREL
_ET_NAMES = {0: "ET_NONE", 2: "ET_EXEC", 3: "ET_DYN", 4: "ET_CORE"}


def is_archive(head: bytes) -> bool:
    return head.startswith((AR_MAGIC, THIN_AR_MAGIC))


# --------------------------------------------------------------------------------------------
# relocatable objects
# --------------------------------------------------------------------------------------------


def _object_sites(display: str, data: bytes, symbols: set[str] | None,
                  member: str | None = None) -> list[CallSite]:
    """Call sites of one relocatable ELF object held in ``data`` (``display``: the file, or
    the archive when ``member`` is given). Raises ElfError naming it."""
    with ElfFile(display, data, member=member) as f:
        return _sites(f, f.where if member is None else f"{display}({member})", symbols)


def _sites(f: ElfFile, display: str, symbols: set[str] | None) -> list[CallSite]:
    h = f.header
    if h.type != 1:
        raise ElfError(display, f"not a relocatable object ({_ET_NAMES.get(h.type, h.type)}); "
                       "give executables and shared libraries as BINARY inputs of 'abiguard "
                       "where'")
    machine = h.machine
    call_types = _CALL_RELOCS.get(machine, frozenset())
    pc32 = _PC32.get(machine)
    gotpcrelx = _GOTPCRELX.get(machine, ())

    secs = f.sections
    symtab = f.section_by_name(".symtab")
    if symtab is None or symtab.type != SHT_SYMTAB:
        if any(s.name.startswith(".gnu.lto_") for s in secs):
            raise ElfError(display, "GCC LTO object without machine code; "
                           "rebuild with -ffat-lto-objects or use 'abiguard link'")
        return []
    syms = f.symtab_symbols()
    if any(s.name == "__gnu_lto_slim" for s in syms):
        raise ElfError(display, "GCC LTO object without machine code (slim LTO); "
                       "rebuild with -ffat-lto-objects or use 'abiguard link'")

    # FUNC symbols per section index, sorted by value, for attribution.
    real = max(SHN_LORESERVE, len(secs))
    funcs: dict[int, list[tuple[int, int, str]]] = {}
    for s in syms:
        if s.type in ("FUNC", "GNU_IFUNC") and 0 < s.shndx < real and s.name:
            funcs.setdefault(s.shndx, []).append((s.value, s.size, s.name))
    starts: dict[int, list[int]] = {}
    for idx, lst in funcs.items():
        lst.sort()
        starts[idx] = [v for v, _, _ in lst]

    def enclosing(shndx: int, off: int) -> str | None:
        lst = funcs.get(shndx)
        if not lst:
            return None
        i = bisect.bisect_right(starts[shndx], off) - 1
        if i < 0:
            return None
        for j in range(i, max(-1, i - 4), -1):    # aliases at one address sort together
            v, size, name = lst[j]
            if v <= off < v + size:
                return name
        v, size, name = lst[i]
        # Hand-written assembly without .size: the nearest preceding function, as ld says.
        return name if size == 0 else None

    undefined: dict[int, str] = {}
    for i, s in enumerate(syms):
        if s.shndx == 0 and s.name and s.binding in ("GLOBAL", "WEAK") and \
                (symbols is None or s.name in symbols):
            undefined[i] = s.name
    if not undefined:
        return []

    # The relocation sections of .symtab that apply to allocated sections (not .debug_*,
    # notes): read together (one limit on what they make the reader read).
    wanted: list[Section] = []
    for sec in secs:
        if sec.type in (SHT_REL, SHT_RELA) and sec.link == symtab.index:
            if not 0 <= sec.info < len(secs):
                raise ElfError(display, f"relocation section {sec.name} applies to section "
                                        f"{sec.info}, out of range ({len(secs)} sections)")
            if secs[sec.info].flags & SHF_ALLOC:
                wanted.append(sec)
    sites: list[CallSite] = []
    tdata: dict[int, bytes] = {}
    for rel in f.relocations(wanted):
        name = undefined.get(rel.symbol_index)
        if name is None:
            continue
        target = rel.target
        is_code = bool(secs[target].flags & SHF_EXECINSTR)
        off = rel.offset
        rtype = rel.type
        kind: CallSiteKind = "reference"
        if is_code:
            if rtype in call_types:
                kind = "call"
            elif rtype == pc32 or rtype in gotpcrelx:
                code = tdata.get(target)
                if code is None:
                    code = tdata[target] = bytes(f.section_data(target))
                if rtype == pc32 and off >= 1 and code[off - 1:off] in (b"\xe8", b"\xe9") or \
                        rtype in gotpcrelx and off >= 2 and \
                        code[off - 2:off] in (b"\xff\x15", b"\xff\x25"):
                    kind = "call"
        sites.append(CallSite(
            symbol=name, method="object", file=display, kind=kind,
            function=enclosing(target, off) if is_code else None,
            address=off,
        ))
    return sites


def find_object_references(paths: list[str],
                           symbols: set[str] | None) -> tuple[list[CallSite], list[InputError]]:
    """Call sites of the undefined ``symbols`` (None: all) in ``.o`` files and ``.a`` archives.

    Returns the sites in input order (per file: relocation order) and one
    :class:`InputError` per unreadable file or archive member.
    """
    sites: list[CallSite] = []
    errors: list[InputError] = []
    for path in paths:
        path = str(path)
        try:
            with open(path, "rb") as fh:
                head = fh.read(8)
        except OSError as exc:
            errors.append(InputError(path, exc.strerror or str(exc)))
            continue
        try:
            if is_archive(head):
                for name, data in iter_archive_members(path, thin=True):
                    display = f"{path}({name})"
                    if not data.startswith(ELF_MAGIC):
                        errors.append(InputError(display, "not an ELF object"))
                        continue
                    try:
                        sites.extend(_object_sites(path, data, symbols, name))
                    except ElfError as exc:
                        errors.append(InputError(display, exc.message))
            elif head.startswith(ELF_MAGIC):
                with ElfFile(path) as f:
                    sites.extend(_sites(f, path, symbols))
            elif path.endswith(".a"):
                errors.append(InputError(path, "not an ar archive (bad magic)"))
            else:
                errors.append(InputError(path, "not an ELF object or ar archive"))
        except ElfError as exc:
            errors.append(InputError(exc.path, exc.message))
    return sites, errors


__all__ = ["find_object_references", "is_archive"]
