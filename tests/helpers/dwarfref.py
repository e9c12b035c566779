"""Reference readings of DWARF subprogram ranges, by others than abiguard: pyelftools,
binutils' readelf (``--debug-dump=info``, ``--debug-dump=Ranges``) and addr2line.

Each gives (start, end, name) of the subprograms at the top level of a compilation unit (or
inside namespaces there), named by DW_AT_name, else DW_AT_linkage_name, else through
DW_AT_specification / DW_AT_abstract_origin; ranges starting at 0 (functions the linker
discarded) and empty ones are left out, as abiguard leaves them out.
"""

from __future__ import annotations

import re
import subprocess
from typing import Any

Range = tuple[int, int, str]


# --------------------------------------------------------------------------------------------
# pyelftools
# --------------------------------------------------------------------------------------------


def _pe_name(die: Any, depth: int = 0) -> str | None:
    for attr in ("DW_AT_name", "DW_AT_linkage_name", "DW_AT_MIPS_linkage_name"):
        if attr in die.attributes:
            v = die.attributes[attr].value
            return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
    if depth < 8:
        for attr in ("DW_AT_specification", "DW_AT_abstract_origin"):
            if attr in die.attributes:
                return _pe_name(die.get_DIE_from_attribute(attr), depth + 1)
    return None


def _pe_subprograms(dwarf: Any, cu: Any, die: Any, base: int) -> list[Range]:
    out: list[Range] = []
    if die.tag in ("DW_TAG_namespace", "DW_TAG_module"):
        for child in die.iter_children():
            out += _pe_subprograms(dwarf, cu, child, base)
        return out
    if die.tag != "DW_TAG_subprogram":
        return out
    attrs = die.attributes
    spans: list[tuple[int, int]] = []
    if "DW_AT_low_pc" in attrs and "DW_AT_high_pc" in attrs:
        lo = attrs["DW_AT_low_pc"].value
        hi = attrs["DW_AT_high_pc"]
        spans.append((lo, hi.value if hi.form == "DW_FORM_addr" else lo + hi.value))
    elif "DW_AT_ranges" in attrs:
        for r in dwarf.range_lists().get_range_list_at_offset(attrs["DW_AT_ranges"].value, cu=cu):
            if hasattr(r, "base_address"):
                base = r.base_address
            elif hasattr(r, "begin_offset"):
                b, e = r.begin_offset, r.end_offset
                spans.append((b, e) if getattr(r, "is_absolute", False) else (b + base, e + base))
    spans = [(a, b) for a, b in spans if 0 < a < b]
    name = _pe_name(die) if spans else None
    return [(a, b, name) for a, b in spans] if name else []


def pyelftools_ranges(path: str) -> set[Range]:
    from elftools.elf.elffile import ELFFile

    out: set[Range] = set()
    with open(path, "rb") as fh:
        elf = ELFFile(fh)
        if not elf.has_dwarf_info():
            return out
        dwarf = elf.get_dwarf_info()
        for cu in dwarf.iter_CUs():
            top = cu.get_top_DIE()
            low = top.attributes.get("DW_AT_low_pc")
            base = low.value if low is not None else 0
            for die in top.iter_children():
                out.update(_pe_subprograms(dwarf, cu, die, base))
    return out


# --------------------------------------------------------------------------------------------
# readelf
# --------------------------------------------------------------------------------------------

_DIE = re.compile(r"^\s*<(\d+)><([0-9a-f]+)>: Abbrev Number: (\d+)(?: \((\w+)\))?")
_ATTR = re.compile(r"^\s*<[0-9a-f]+>\s+(DW_AT_\w+)\s*:\s*(?:\((\w+)\)\s*)?(.*)$")
_REF = re.compile(r"<?0x([0-9a-f]+)>?")  # ref4: <0x106>; ref8: 0x106


def _run(*cmd: str) -> str:
    return subprocess.run(cmd, capture_output=True, text=True, check=True,
                          errors="replace").stdout


def readelf_dies(path: str) -> tuple[list[dict[str, Any]], dict[int, dict[str, Any]]]:
    """The entries readelf --debug-dump=info prints: depth, offset, tag and attributes
    (name -> (form, text)); and the same by offset."""
    dies: list[dict[str, Any]] = []
    for line in _run("readelf", "--debug-dump=info", "-W", path).splitlines():
        m = _DIE.match(line)
        if m:
            dies.append({"depth": int(m.group(1)), "offset": int(m.group(2), 16),
                         "tag": m.group(4), "attrs": {}})
            continue
        m = _ATTR.match(line)
        if m and dies:
            dies[-1]["attrs"][m.group(1)] = (m.group(2), m.group(3).strip())
    return dies, {d["offset"]: d for d in dies}


def _string(value: str) -> str:
    # "(offset: 0x4c): main", "(indirect string, offset: 0x4c): main" or "main"
    m = re.match(r"^\((?:indirect (?:line )?string, )?offset: 0x[0-9a-f]+\): (.*)$", value)
    return m.group(1) if m else value


def _readelf_name(die: dict[str, Any], by: dict[int, dict[str, Any]], depth: int = 0
                  ) -> str | None:
    attrs = die["attrs"]
    for attr in ("DW_AT_name", "DW_AT_linkage_name", "DW_AT_MIPS_linkage_name"):
        if attr in attrs:
            return _string(attrs[attr][1])
    if depth < 8:
        for attr in ("DW_AT_specification", "DW_AT_abstract_origin"):
            if attr in attrs:
                m = _REF.search(attrs[attr][1])
                if m and int(m.group(1), 16) in by:
                    return _readelf_name(by[int(m.group(1), 16)], by, depth + 1)
    return None


def readelf_range_lists(path: str) -> dict[int, list[tuple[int, int]]]:
    """DWARF 2-4 .debug_ranges as readelf --debug-dump=Ranges prints them (base address
    selection applied): list offset -> [(begin, end)]."""
    lists: dict[int, list[tuple[int, int]]] = {}
    for line in _run("readelf", "--debug-dump=Ranges", "-W", path).splitlines():
        parts = line.split()
        if len(parts) >= 3 and all(re.fullmatch(r"[0-9a-f]{8,16}", p) for p in parts[:3]):
            lists.setdefault(int(parts[0], 16), []).append((int(parts[1], 16),
                                                            int(parts[2], 16)))
        elif len(parts) >= 2 and re.fullmatch(r"[0-9a-f]{8}", parts[0]) and \
                parts[1] == "<End":
            lists.setdefault(int(parts[0], 16), [])
    return lists


def readelf_ranges(path: str) -> tuple[set[Range], list[tuple[int, str]]]:
    """The ranges readelf gives: (start, end, name) of the subprograms with low/high pc (high
    as an address for DW_FORM_addr, else a length), and with DW_AT_ranges in .debug_ranges
    (DWARF 2-4); plus (list offset, name) of those whose ranges are in .debug_rnglists
    (DWARF 5: readelf does not print every list of a table, addr2line checks them)."""
    dies, by = readelf_dies(path)
    lists: dict[int, list[tuple[int, int]]] | None = None
    out: set[Range] = set()
    rnglists: list[tuple[int, str]] = []
    v5_lists = ".debug_rnglists" in section_names(path)
    scope: list[bool] = []  # per depth: are entries at this depth looked at
    for die in dies:
        depth = die["depth"]
        del scope[depth:]
        if depth == 0:
            scope.append(True)
            continue
        looked = bool(scope) and all(scope)
        scope.append(looked and die["tag"] in ("DW_TAG_namespace", "DW_TAG_module"))
        if not looked or die["tag"] != "DW_TAG_subprogram":
            continue
        attrs = die["attrs"]
        spans: list[tuple[int, int]] = []
        if "DW_AT_low_pc" in attrs and "DW_AT_high_pc" in attrs:
            lo = int(attrs["DW_AT_low_pc"][1].split()[-1], 16)
            form, hi_text = attrs["DW_AT_high_pc"]
            hi = int(hi_text.split()[-1], 16)
            spans.append((lo, hi if form == "addr" else lo + hi))
        elif "DW_AT_ranges" in attrs:
            offset = int(attrs["DW_AT_ranges"][1].split()[-1], 16)
            name = _readelf_name(die, by)
            if v5_lists:
                if name:
                    rnglists.append((offset, name))
                continue
            if lists is None:
                lists = readelf_range_lists(path)
            spans = lists[offset]
        spans = [(a, b) for a, b in spans if 0 < a < b]
        name = _readelf_name(die, by) if spans else None
        if name:
            out.update((a, b, name) for a, b in spans)
    return out, rnglists


def section_names(path: str) -> set[str]:
    return set(re.findall(r"^\s*\[\s*\d+\]\s+(\S+)", _run("readelf", "-S", "-W", path),
                          re.MULTILINE))


# --------------------------------------------------------------------------------------------
# addr2line
# --------------------------------------------------------------------------------------------


def addr2line_functions(path: str, addresses: list[int], demangle: bool = False) -> list[str]:
    """The outermost (not inlined) function addr2line names for each address ("??" when
    none). addr2line prefers a .symtab symbol (``f.cold``, ``f.constprop.0``) to the DWARF
    function when one starts nearer: give it a file without .symtab to read DWARF alone.
    ``demangle``: C++ names as ``ns::f(int)``."""
    if not addresses:
        return []
    out = _run("addr2line", "-f", "-i", "-a", *(["-C"] if demangle else []), "-e", path,
               *[hex(a) for a in addresses])
    names: list[str] = []
    current: list[str] = []
    lines = out.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if re.fullmatch(r"0x[0-9a-f]+", line):
            if current:
                names.append(current[-1])
            current = []
            i += 1
            continue
        current.append(line)  # function name; the next line is FILE:LINE
        i += 2
    if current:
        names.append(current[-1])
    return names


def base_name(name: str) -> str:
    """``ns::K::m(int)`` -> ``m``; ``_ZN2ns1K1mEi`` -> ``m`` (demangled by c++filt)."""
    if name.startswith("_Z"):
        name = _run("c++filt", name).strip()
    return re.sub(r"\(.*$", "", name).split("::")[-1]


def hide_symtab(src: str, dst: str) -> None:
    """A copy whose .symtab is PROGBITS: only DWARF (and .dynsym) name its functions."""
    import struct

    from elftools.elf.elffile import ELFFile

    with open(src, "rb") as fh:
        data = bytearray(fh.read())
        elf = ELFFile(fh)
        e = "<" if elf.little_endian else ">"
        for i, sec in enumerate(elf.iter_sections()):
            if sec["sh_type"] == "SHT_SYMTAB":
                struct.pack_into(e + "I", data, elf["e_shoff"] + i * elf["e_shentsize"] + 4, 1)
    with open(dst, "wb") as out:
        out.write(bytes(data))
