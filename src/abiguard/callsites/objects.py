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
ELF parsing uses pyelftools; ``ar`` archives are split by :func:`iter_ar_members` (GNU, BSD and
thin archives).
"""

from __future__ import annotations

import bisect
import io
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass

from ..errors import ElfError
from ..model import CallSite, InputError

ELF_MAGIC = b"\x7fELF"
AR_MAGIC = b"!<arch>\n"
THIN_AR_MAGIC = b"!<thin>\n"

# e_machine -> relocation types that are calls. Values from the psABIs.
_CALL_RELOCS: dict[str, frozenset[int]] = {
    "EM_X86_64": frozenset({4}),            # R_X86_64_PLT32
    "EM_386": frozenset({4}),               # R_386_PLT32
    "EM_AARCH64": frozenset({282, 283}),    # R_AARCH64_JUMP26, R_AARCH64_CALL26
    "EM_ARM": frozenset({10, 27, 28, 29, 30}),  # THM_CALL, PLT32, CALL, JUMP24, THM_JUMP24
    "EM_PPC64": frozenset({10}),            # R_PPC64_REL24
    "EM_S390": frozenset({20}),             # R_390_PLT32DBL
    "EM_RISCV": frozenset({18, 19}),        # R_RISCV_CALL, R_RISCV_CALL_PLT
}
# PC-relative relocations that are calls when the opcode before them is a call/jmp.
_PC32 = {"EM_X86_64": 2, "EM_386": 2}        # R_X86_64_PC32, R_386_PC32
_GOTPCRELX = {"EM_X86_64": (41, 9)}          # R_X86_64_GOTPCRELX, R_X86_64_GOTPCREL


# --------------------------------------------------------------------------------------------
# ar archives
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ArMember:
    name: str
    data: bytes


def is_archive(head: bytes) -> bool:
    return head.startswith((AR_MAGIC, THIN_AR_MAGIC))


def iter_ar_members(path: str) -> Iterator[ArMember]:
    """Yield the members of a GNU/BSD/thin ``ar`` archive (symbol tables skipped).

    Raises :class:`ElfError` naming the archive when it is not an archive or is truncated.
    """
    with open(path, "rb") as f:
        data = f.read()
    thin = data.startswith(THIN_AR_MAGIC)
    if not (thin or data.startswith(AR_MAGIC)):
        raise ElfError(path, "not an ar archive (bad magic)")
    pos = 8
    longnames = b""
    base = os.path.dirname(path)
    while pos < len(data):
        if data[pos:pos + 1] == b"\n":          # padding byte
            pos += 1
            continue
        hdr = data[pos:pos + 60]
        if len(hdr) < 60 or hdr[58:60] != b"`\n":
            raise ElfError(path, f"truncated or corrupt ar archive (bad member header at {pos})")
        raw_name = hdr[0:16].decode("latin-1").rstrip()
        try:
            size = int(hdr[48:58].decode("ascii").strip() or "0")
        except ValueError:
            raise ElfError(path, f"corrupt ar archive (bad member size at {pos})") from None
        start = pos + 60
        name = raw_name
        if raw_name.startswith("#1/"):          # BSD: name stored before the data
            try:
                n = int(raw_name[3:])
            except ValueError:
                raise ElfError(path, f"corrupt ar archive (bad BSD name at {pos})") from None
            name = data[start:start + n].rstrip(b"\0").decode("utf-8", "replace")
            body_start, body_size = start + n, size - n
        else:
            body_start, body_size = start, size
        is_special = raw_name in ("/", "//", "/SYM64/", "__.SYMDEF", "__.SYMDEF SORTED") or \
            name.startswith("__.SYMDEF")
        if raw_name == "//":
            longnames = data[start:start + size]
        elif raw_name.startswith("/") and raw_name[1:].isdigit():
            off = int(raw_name[1:])
            end = longnames.find(b"\n", off)
            name = longnames[off:end if end >= 0 else None].decode("utf-8", "replace")
            name = name.rstrip("/")
        elif raw_name.endswith("/") and not is_special:
            name = raw_name[:-1]
        if thin and not is_special:
            # Thin archive: the data lives in the file named relative to the archive.
            member_path = name if os.path.isabs(name) else os.path.join(base, name)
            try:
                with open(member_path, "rb") as mf:
                    body = mf.read()
            except OSError as exc:
                raise ElfError(path, f"thin archive member {name}: {exc.strerror}") from None
            pos = start
            yield ArMember(name, body)
            continue
        if start + size > len(data):
            raise ElfError(path, f"truncated ar archive (member {name or raw_name} "
                           f"needs {size} bytes, {len(data) - start} left)")
        if not is_special:
            yield ArMember(name, data[body_start:body_start + body_size])
        pos = start + size
        pos += pos % 2


# --------------------------------------------------------------------------------------------
# relocatable objects
# --------------------------------------------------------------------------------------------


def elf_reason(exc: BaseException) -> str:
    """A one-line reason for a pyelftools/struct exception."""
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    low = msg.lower()
    if isinstance(exc, (struct.error, EOFError)) or any(
            w in low for w in ("unpack", "buffer", "past eof", "past end", "end of file",
                               "stream", "truncat")):
        return f"truncated or corrupt ELF file ({msg})"
    return f"corrupt ELF file ({msg})"


def _object_sites(display: str, data: bytes, symbols: set[str] | None) -> list[CallSite]:
    """Call sites of one relocatable ELF object held in ``data``. Raises ElfError."""
    from elftools.common.exceptions import ELFError as PyElfError
    from elftools.elf.elffile import ELFFile

    try:
        return _object_sites_unchecked(display, ELFFile(io.BytesIO(data)), data, symbols)
    except ElfError:
        raise
    except (PyElfError, struct.error, ValueError, KeyError, IndexError, AttributeError,
            TypeError, AssertionError, UnicodeDecodeError, EOFError) as exc:
        raise ElfError(display, elf_reason(exc)) from None


def _object_sites_unchecked(display: str, elf, data: bytes,
                            symbols: set[str] | None) -> list[CallSite]:
    from elftools.elf.relocation import RelocationSection
    from elftools.elf.sections import SymbolTableSection

    if elf["e_type"] != "ET_REL":
        raise ElfError(display, f"not a relocatable object ({elf['e_type']}); "
                       "give executables and shared libraries as BINARY inputs of 'abiguard where'")
    machine = elf["e_machine"]
    call_types = _CALL_RELOCS.get(machine, frozenset())
    pc32 = _PC32.get(machine)
    gotpcrelx = _GOTPCRELX.get(machine, ())

    symtab = elf.get_section_by_name(".symtab")
    if symtab is None or not isinstance(symtab, SymbolTableSection):
        if any(s.name.startswith(".gnu.lto_") for s in elf.iter_sections()):
            raise ElfError(display, "GCC LTO object without machine code; "
                           "rebuild with -ffat-lto-objects or use 'abiguard link'")
        return []
    syms = list(symtab.iter_symbols())
    if any(s.name == "__gnu_lto_slim" for s in syms):
        raise ElfError(display, "GCC LTO object without machine code (slim LTO); "
                       "rebuild with -ffat-lto-objects or use 'abiguard link'")

    # FUNC symbols per section index, sorted by value, for attribution.
    funcs: dict[int, list[tuple[int, int, str]]] = {}
    for s in syms:
        if s["st_info"]["type"] in ("STT_FUNC", "STT_GNU_IFUNC") and \
                isinstance(s["st_shndx"], int) and s.name:
            funcs.setdefault(s["st_shndx"], []).append((s["st_value"], s["st_size"], s.name))
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
        if s["st_shndx"] == "SHN_UNDEF" and s.name and \
                s["st_info"]["bind"] in ("STB_GLOBAL", "STB_WEAK") and \
                (symbols is None or s.name in symbols):
            undefined[i] = s.name
    if not undefined:
        return []

    sites: list[CallSite] = []
    symtab_index = elf.get_section_index(".symtab")
    for sec in elf.iter_sections():
        if not isinstance(sec, RelocationSection) or sec["sh_link"] != symtab_index:
            continue
        target_idx = sec["sh_info"]
        target = elf.get_section(target_idx)
        if not (target["sh_flags"] & 0x2):          # SHF_ALLOC: skip .debug_*, notes
            continue
        is_code = bool(target["sh_flags"] & 0x4)    # SHF_EXECINSTR
        tdata: bytes | None = None
        for rel in sec.iter_relocations():
            name = undefined.get(rel["r_info_sym"])
            if name is None:
                continue
            off = rel["r_offset"]
            rtype = rel["r_info_type"]
            kind = "reference"
            if is_code:
                if rtype in call_types:
                    kind = "call"
                elif rtype == pc32 or rtype in gotpcrelx:
                    if tdata is None:
                        tdata = target.data() if target["sh_type"] != "SHT_NOBITS" else b""
                    if rtype == pc32 and off >= 1 and tdata[off - 1:off] in (b"\xe8", b"\xe9") or rtype in gotpcrelx and off >= 2 and \
                            tdata[off - 2:off] in (b"\xff\x15", b"\xff\x25"):
                        kind = "call"
            sites.append(CallSite(
                symbol=name, method="object", file=display, kind=kind,
                function=enclosing(target_idx, off) if is_code else None,
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
        try:
            with open(path, "rb") as f:
                head = f.read(8)
        except OSError as exc:
            errors.append(InputError(path, exc.strerror or str(exc)))
            continue
        try:
            if is_archive(head):
                for member in iter_ar_members(path):
                    display = f"{path}({member.name})"
                    if not member.data.startswith(ELF_MAGIC):
                        errors.append(InputError(display, "not an ELF object"))
                        continue
                    try:
                        sites.extend(_object_sites(display, member.data, symbols))
                    except ElfError as exc:
                        errors.append(InputError(display, exc.message))
            elif head.startswith(ELF_MAGIC):
                with open(path, "rb") as f:
                    data = f.read()
                sites.extend(_object_sites(path, data, symbols))
            elif path.endswith(".a"):
                errors.append(InputError(path, "not an ar archive (bad magic)"))
            else:
                errors.append(InputError(path, "not an ELF object or ar archive"))
        except ElfError as exc:
            errors.append(InputError(exc.path, exc.message))
        except OSError as exc:
            errors.append(InputError(path, exc.strerror or str(exc)))
    return sites, errors


__all__ = ["ArMember", "find_object_references", "is_archive", "iter_ar_members"]
