"""Helpers for the ELF reader tests: gcc fixtures, hand-built ELF images and ar archives
(any class/endianness, with or without section headers), and a pyelftools reference view.

The hand-built images are complete enough for readelf: a PT_LOAD covering the file (vaddr ==
file offset), PT_DYNAMIC, optional PT_INTERP, .dynsym/.dynstr, SysV or GNU hash, and the
GNU version sections.
"""

from __future__ import annotations

import struct
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# --------------------------------------------------------------------------------------------
# gcc fixtures
# --------------------------------------------------------------------------------------------


def run(*cmd: str | Path, cwd: Path | None = None) -> str:
    proc = subprocess.run([str(c) for c in cmd], check=False, cwd=cwd, capture_output=True,
                          text=True)
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, cmd))} failed:\n{proc.stderr}")
    return proc.stdout


def gcc(*args: str | Path, cwd: Path | None = None) -> None:
    run("gcc", *args, cwd=cwd)


def gcc_works(*flags: str, tmp: Path) -> bool:
    """True if gcc can link a program with these flags (e.g. -m32 needs gcc-multilib)."""
    src = tmp / "probe.c"
    src.write_text("int main(void) { return 0; }\n")
    proc = subprocess.run(["gcc", *flags, str(src), "-o", str(tmp / "probe")],
                          check=False, capture_output=True)
    return proc.returncode == 0


def strip_section_headers(data: bytes) -> bytes:
    """A copy with e_shoff/e_shnum/e_shstrndx zeroed (like sstrip's result, for readers)."""
    buf = bytearray(data)
    big = buf[5] == 2
    e = ">" if big else "<"
    if buf[4] == 2:
        struct.pack_into(e + "Q", buf, 0x28, 0)
        struct.pack_into(e + "HH", buf, 0x3C, 0, 0)
    else:
        struct.pack_into(e + "I", buf, 0x20, 0)
        struct.pack_into(e + "HH", buf, 0x30, 0, 0)
    return bytes(buf)


# --------------------------------------------------------------------------------------------
# Hand-built ELF images
# --------------------------------------------------------------------------------------------


@dataclass
class Imp:
    name: str
    version: str | None = None
    file: str | None = None
    weak: bool = False
    type: int = 2  # STT_FUNC
    hidden: bool = False


@dataclass
class Exp:
    name: str
    version: str | None = None
    hidden: bool = False  # name@VER rather than name@@VER
    type: int = 2
    bind: int = 1
    visibility: int = 0
    value: int = 0x1000
    size: int = 16


@dataclass
class Spec:
    bits: int = 64
    big: bool = False
    machine: int = 62
    etype: int = 3
    osabi: int = 0
    soname: str | None = "libhand.so.1"
    needed: Sequence[str] = ("libc.so.6",)
    rpath: str | None = None
    runpath: str | None = None
    interp: str | None = None
    flags_1: int | None = None
    imports: Sequence[Imp] = ()
    exports: Sequence[Exp] = ()
    locals: Sequence[str] = ()
    # (name, parents); the base definition (the soname) is added first when any exist.
    verdefs: Sequence[tuple[str, Sequence[str]]] = ()
    weak_versions: Sequence[str] = ()
    sections: bool = True
    hash: str = "sysv"  # sysv | gnu | none
    raw_names: dict[str, bytes] = field(default_factory=dict)
    # Dynamic relocations: (symbol name or "" for none, type). ``relocs`` go to DT_RELA (or
    # DT_REL when ``rela`` is False) after ``relative`` entries of ``relative_type`` against
    # no symbol, counted by DT_RELACOUNT/DT_RELCOUNT; ``plt_relocs`` to DT_JMPREL.
    relocs: Sequence[tuple[str, int]] = ()
    plt_relocs: Sequence[tuple[str, int]] = ()
    rela: bool = True
    relative: int = 0
    relative_type: int = 8


class _Str:
    def __init__(self) -> None:
        self.data = bytearray(b"\0")
        self.index: dict[bytes, int] = {b"": 0}

    def add(self, s: str | bytes) -> int:
        b = s.encode() if isinstance(s, str) else s
        if b not in self.index:
            self.index[b] = len(self.data)
            self.data += b + b"\0"
        return self.index[b]


def _sysv_hash(name: bytes) -> int:
    h = 0
    for c in name:
        h = ((h << 4) + c) & 0xFFFFFFFF
        g = h & 0xF0000000
        if g:
            h ^= g >> 24
        h &= ~g & 0xFFFFFFFF
    return h


def _gnu_hash(name: bytes) -> int:
    h = 5381
    for c in name:
        h = (h * 33 + c) & 0xFFFFFFFF
    return h


@dataclass
class Built:
    data: bytes
    offsets: dict[str, int]
    """File offsets of the parts (verdef, verneed, dynsym, dynstr, dynamic, shdrs, ...)."""


def build_elf(spec: Spec) -> Built:
    """Build an ELF image from a Spec (see module docstring)."""
    is64 = spec.bits == 64
    e = ">" if spec.big else "<"
    A = "Q" if is64 else "I"
    ehsize, phentsize, shentsize = (64, 56, 64) if is64 else (52, 32, 40)
    dynstr = _Str()
    shstr = _Str()

    # Version indices: 1 = base (soname) definition, then the definitions, then the needs.
    defs: list[tuple[int, int, str, list[str]]] = []  # (index, flags, name, parents)
    if spec.verdefs:
        defs.append((1, 1, spec.soname or "base", []))
        for i, (name, parents) in enumerate(spec.verdefs, start=2):
            defs.append((i, 0, name, list(parents)))
    def_index = {name: idx for idx, _f, name, _p in defs}
    needs: dict[str, list[str]] = {}
    for imp in spec.imports:
        if imp.version:
            assert imp.file
            lst = needs.setdefault(imp.file, [])
            if imp.version not in lst:
                lst.append(imp.version)
    need_index: dict[tuple[str, str], int] = {}
    nxt = max(def_index.values(), default=1) + 1
    for fname, versions in needs.items():
        for v in versions:
            need_index[(fname, v)] = nxt
            nxt += 1

    # Symbols: null, locals, imports, exports (exports last: GNU hash needs them together).
    syms: list[tuple[bytes, int, int, int, int, int, int]] = []  # name, info, other, shndx, value, size, versym
    syms.append((b"", 0, 0, 0, 0, 0, 0))
    for name in spec.locals:
        syms.append((name.encode(), 0 << 4 | 1, 0, 5, 0x2000, 8, 0))
    for imp in spec.imports:
        vx = need_index[(imp.file or "", imp.version)] if imp.version else 1
        if imp.hidden:
            vx |= 0x8000
        nm = spec.raw_names.get(imp.name, imp.name.encode())
        syms.append((nm, (2 if imp.weak else 1) << 4 | imp.type, 0, 0, 0, 0, vx))
    first_export = len(syms)
    for ex in spec.exports:
        vx = def_index[ex.version] if ex.version else 1
        if ex.hidden:
            vx |= 0x8000
        nm = spec.raw_names.get(ex.name, ex.name.encode())
        syms.append((nm, ex.bind << 4 | ex.type, ex.visibility, 5, ex.value, ex.size, vx))

    # Strings (names first so that offsets are stable).
    sym_name_off = [dynstr.add(s[0]) if s[0] else 0 for s in syms]
    needed_off = [dynstr.add(n) for n in spec.needed]
    soname_off = dynstr.add(spec.soname) if spec.soname else None
    rpath_off = dynstr.add(spec.rpath) if spec.rpath is not None else None
    runpath_off = dynstr.add(spec.runpath) if spec.runpath is not None else None
    for _i, _f, name, parents in defs:
        dynstr.add(name)
        for p in parents:
            dynstr.add(p)
    for fname, versions in needs.items():
        dynstr.add(fname)
        for v in versions:
            dynstr.add(v)

    # Blobs.
    if is64:
        symfmt = struct.Struct(e + "IBBHQQ")
        syment = b"".join(symfmt.pack(off, info, other, shndx, value, size)
                          for off, (_n, info, other, shndx, value, size, _v)
                          in zip(sym_name_off, syms))
    else:
        symfmt = struct.Struct(e + "IIIBBH")
        syment = b"".join(symfmt.pack(off, value, size, info, other, shndx)
                          for off, (_n, info, other, shndx, value, size, _v)
                          in zip(sym_name_off, syms))
    versym = b"".join(struct.pack(e + "H", s[6]) for s in syms)

    verdef = bytearray()
    for k, (idx, flags, name, parents) in enumerate(defs):
        names = [name, *parents]
        last = k == len(defs) - 1
        verdef += struct.pack(e + "HHHHIII", 1, flags, idx, len(names),
                              _sysv_hash(name.encode()), 20, 0 if last else 20 + 8 * len(names))
        for j, n in enumerate(names):
            verdef += struct.pack(e + "II", dynstr.add(n), 0 if j == len(names) - 1 else 8)
    verneed = bytearray()
    items = list(needs.items())
    for k, (fname, versions) in enumerate(items):
        last = k == len(items) - 1
        verneed += struct.pack(e + "HHIII", 1, len(versions), dynstr.add(fname), 16,
                               0 if last else 16 + 16 * len(versions))
        for j, v in enumerate(versions):
            flags = 2 if v in spec.weak_versions else 0
            verneed += struct.pack(e + "IHHII", _sysv_hash(v.encode()), flags,
                                   need_index[(fname, v)], dynstr.add(v),
                                   0 if j == len(versions) - 1 else 16)

    sym_index: dict[str, int] = {}
    for k, sy in enumerate(syms):
        if k:
            sym_index.setdefault(sy[0].decode("utf-8", "surrogateescape"), k)

    def reloc_table(entries: Sequence[tuple[str, int]]) -> bytes:
        out = bytearray()
        for k, (name, rtype) in enumerate(entries):
            symi = sym_index[name] if name else 0
            info = (symi << 32 | rtype) if is64 else (symi << 8 | rtype)
            fmt = e + (("QQq" if spec.rela else "QQ") if is64 else ("IIi" if spec.rela else "II"))
            vals = (0x1000 + 8 * k, info, 0) if spec.rela else (0x1000 + 8 * k, info)
            out += struct.pack(fmt, *vals)
        return bytes(out)

    dynrel = reloc_table([("", spec.relative_type)] * spec.relative + list(spec.relocs))
    pltrel = reloc_table(list(spec.plt_relocs))
    relent = (24 if spec.rela else 16) if is64 else (12 if spec.rela else 8)

    nsyms = len(syms)
    if spec.hash == "sysv":
        hashsec = struct.pack(e + "IIII", 1, nsyms, nsyms - 1, 0) + b"".join(
            struct.pack(e + "I", max(i - 1, 0)) for i in range(1, nsyms))
    elif spec.hash == "gnu":
        nexp = nsyms - first_export
        bloom = struct.pack(e + A, (1 << (64 if is64 else 32)) - 1)
        hashsec = struct.pack(e + "IIII", 1, first_export, 1, 6) + bloom
        hashsec += struct.pack(e + "I", first_export if nexp else 0)
        for k in range(first_export, nsyms):
            h = _gnu_hash(syms[k][0]) & ~1
            if k == nsyms - 1:
                h |= 1
            hashsec += struct.pack(e + "I", h)
    else:
        hashsec = b""

    # Layout: header, phdrs, then the blobs, then .dynamic, .shstrtab, section headers.
    nph = 2 + (1 if spec.interp else 0)
    pos = ehsize + nph * phentsize
    parts: dict[str, int] = {}
    body = bytearray()

    def place(name: str, blob: bytes, align: int) -> int:
        nonlocal pos
        pad = (-pos) % align
        body.extend(b"\0" * pad)
        pos += pad
        parts[name] = pos
        body.extend(blob)
        pos += len(blob)
        return parts[name]

    if spec.interp:
        place("interp", spec.interp.encode() + b"\0", 1)
    if hashsec:
        place("hash", hashsec, 8 if is64 else 4)
    place("dynsym", syment, 8 if is64 else 4)
    place("dynstr", bytes(dynstr.data), 1)
    place("versym", versym, 2)
    if verdef:
        place("verdef", bytes(verdef), 4)
    if verneed:
        place("verneed", bytes(verneed), 4)
    if dynrel:
        place("dynrel", dynrel, 8 if is64 else 4)
    if pltrel:
        place("pltrel", pltrel, 8 if is64 else 4)

    dyn: list[tuple[int, int]] = [(1, o) for o in needed_off]
    if soname_off is not None:
        dyn.append((14, soname_off))
    if rpath_off is not None:
        dyn.append((15, rpath_off))
    if runpath_off is not None:
        dyn.append((29, runpath_off))
    if spec.hash == "sysv":
        dyn.append((4, parts["hash"]))
    elif spec.hash == "gnu":
        dyn.append((0x6FFFFEF5, parts["hash"]))
    dyn += [(5, parts["dynstr"]), (10, len(dynstr.data)), (6, parts["dynsym"]),
            (11, symfmt.size), (0x6FFFFFF0, parts["versym"])]
    if verdef:
        dyn += [(0x6FFFFFFC, parts["verdef"]), (0x6FFFFFFD, len(defs))]
    if verneed:
        dyn += [(0x6FFFFFFE, parts["verneed"]), (0x6FFFFFFF, len(needs))]
    if spec.flags_1 is not None:
        dyn.append((0x6FFFFFFB, spec.flags_1))
    if dynrel:  # DT_RELA/DT_RELASZ/DT_RELAENT or DT_REL/DT_RELSZ/DT_RELENT, then the count
        base = 7 if spec.rela else 17
        dyn += [(base, parts["dynrel"]), (base + 1, len(dynrel)), (base + 2, relent)]
        if spec.relative:
            dyn.append((0x6FFFFFF9 if spec.rela else 0x6FFFFFFA, spec.relative))
    if pltrel:  # DT_JMPREL, DT_PLTRELSZ, DT_PLTREL
        dyn += [(23, parts["pltrel"]), (2, len(pltrel)), (20, 7 if spec.rela else 17)]
    dyn.append((0, 0))
    dynfmt = e + ("qQ" if is64 else "iI")
    dynblob = b"".join(struct.pack(dynfmt, t, v) for t, v in dyn)
    place("dynamic", dynblob, 8 if is64 else 4)
    load_end = pos

    # Section headers.
    shdrs: list[tuple[int, int, int, int, int, int, int, int, int, int]] = []

    def sec(name: str, sh_type: int, part: str | None, size: int, link: int = 0, info: int = 0,
            entsize: int = 0, flags: int = 2) -> int:
        off = parts[part] if part else 0
        shdrs.append((shstr.add(name), sh_type, flags, off, off, size, link, info, 1, entsize))
        return len(shdrs) - 1

    if spec.sections:
        shdrs.append((0, 0, 0, 0, 0, 0, 0, 0, 0, 0))
        if spec.interp:
            sec(".interp", 1, "interp", len(spec.interp) + 1)
        i_dynsym = len(shdrs) + (1 if hashsec else 0)
        i_dynstr = i_dynsym + 1
        if spec.hash == "sysv":
            sec(".hash", 5, "hash", len(hashsec), link=i_dynsym, entsize=4)
        elif spec.hash == "gnu":
            sec(".gnu.hash", 0x6FFFFFF6, "hash", len(hashsec), link=i_dynsym)
        sec(".dynsym", 11, "dynsym", len(syment), link=i_dynstr, info=1 + len(spec.locals),
            entsize=symfmt.size)
        sec(".dynstr", 3, "dynstr", len(dynstr.data))
        sec(".gnu.version", 0x6FFFFFFF, "versym", len(versym), link=i_dynsym, entsize=2)
        if verdef:
            sec(".gnu.version_d", 0x6FFFFFFD, "verdef", len(verdef), link=i_dynstr,
                info=len(defs))
        if verneed:
            sec(".gnu.version_r", 0x6FFFFFFE, "verneed", len(verneed), link=i_dynstr,
                info=len(needs))
        for part, blob, name in (("dynrel", dynrel, ".rela.dyn"), ("pltrel", pltrel, ".rela.plt")):
            if blob:
                sec(name if spec.rela else name.replace(".rela", ".rel"), 4 if spec.rela else 9,
                    part, len(blob), link=i_dynsym, entsize=relent)
        sec(".dynamic", 6, "dynamic", len(dynblob), link=i_dynstr, entsize=struct.calcsize(dynfmt),
            flags=3)
        i_shstr = len(shdrs)
        shstr.add(".shstrtab")
        shdrs.append((shstr.index[b".shstrtab"], 3, 0, 0, 0, 0, 0, 0, 1, 0))
        place("shstrtab", bytes(shstr.data), 1)
        row = shdrs[i_shstr]
        shdrs[i_shstr] = (*row[:4], parts["shstrtab"], len(shstr.data), *row[6:])
        shfmt = e + ("IIQQQQIIQQ" if is64 else "IIIIIIIIII")
        place("shdrs", b"".join(struct.pack(shfmt, *s) for s in shdrs), 8)
        shoff, shnum, shstrndx = parts["shdrs"], len(shdrs), i_shstr
    else:
        shoff = shnum = shstrndx = 0

    # Program headers (ELF64 field order given; packed per class).
    phdrs: list[tuple[int, int, int, int, int, int, int, int]] = [
        (1, 5, 0, 0, 0, load_end, load_end, 0x1000),
        (2, 6, parts["dynamic"], parts["dynamic"], parts["dynamic"], len(dynblob),
         len(dynblob), 8),
    ]
    if spec.interp:
        isize = len(spec.interp) + 1
        phdrs.insert(0, (3, 4, parts["interp"], parts["interp"], parts["interp"], isize, isize,
                         1))
    ph = b""
    for t, fl, off, va, pa, fs, ms, al in phdrs:
        if is64:
            ph += struct.pack(e + "IIQQQQQQ", t, fl, off, va, pa, fs, ms, al)
        else:
            ph += struct.pack(e + "IIIIIIII", t, off, va, pa, fs, ms, fl, al)

    ident = b"\x7fELF" + bytes([2 if is64 else 1, 2 if spec.big else 1, 1, spec.osabi]) + bytes(8)
    if is64:
        hdr = ident + struct.pack(e + "HHIQQQIHHHHHH", spec.etype, spec.machine, 1, 0, ehsize,
                                  shoff, 0, ehsize, phentsize, nph, shentsize, shnum, shstrndx)
    else:
        hdr = ident + struct.pack(e + "HHIIIIIHHHHHH", spec.etype, spec.machine, 1, 0, ehsize,
                                  shoff, 0, ehsize, phentsize, nph, shentsize, shnum, shstrndx)
    data = hdr + ph + bytes(body)
    assert len(hdr) == ehsize and len(hdr) + len(ph) == ehsize + nph * phentsize
    parts["phdrs"] = ehsize
    return Built(data, parts)


# --------------------------------------------------------------------------------------------
# ar archives
# --------------------------------------------------------------------------------------------


def build_ar(members: Iterable[tuple[str, bytes]], *, style: str = "gnu") -> bytes:
    """An ar archive: GNU style (``//`` long names, ``name/``) or BSD style (``#1/len``)."""
    members = list(members)
    out = bytearray(b"!<arch>\n")

    def header(name: bytes, size: int) -> bytes:
        return (name.ljust(16) + b"0".ljust(12) + b"0".ljust(6) + b"0".ljust(6)
                + b"644".ljust(8) + str(size).encode().ljust(10) + b"`\n")

    def add(name: bytes, data: bytes) -> None:
        out.extend(header(name, len(data)))
        out.extend(data)
        if len(out) % 2:
            out.extend(b"\n")

    if style == "gnu":
        add(b"/", struct.pack(">I", 0))  # empty symbol index
        longtab = bytearray()
        names: list[bytes] = []
        for name, _ in members:
            b = name.encode()
            if len(b) > 15:
                names.append(b"/" + str(len(longtab)).encode())
                longtab += b + b"/\n"
            else:
                names.append(b + b"/")
        if longtab:
            add(b"//", bytes(longtab))
        for n, (_, data) in zip(names, members):
            add(n, data)
    else:
        for name, data in members:
            b = name.encode()
            pad = b + b"\0" * ((-len(b)) % 4)
            add(b"#1/" + str(len(pad)).encode(), pad + data)
    return bytes(out)


# --------------------------------------------------------------------------------------------
# pyelftools reference view
# --------------------------------------------------------------------------------------------


def _pe_bind(v: Any) -> str:
    if isinstance(v, int):
        return str(v)
    v = v.removeprefix("STB_")
    return {"LOOS": "GNU_UNIQUE"}.get(v, v)


def _pe_type(v: Any) -> str:
    if isinstance(v, int):
        return str(v)
    v = v.removeprefix("STT_")
    return {"LOOS": "GNU_IFUNC"}.get(v, v)


def pyelftools_view(path: str) -> dict[str, Any]:
    """The same view as abiguard.elf.read_elf, computed with pyelftools (independently)."""
    from elftools.elf.elffile import ELFFile

    with open(path, "rb") as fh:
        elf = ELFFile(fh)
        needed: list[str] = []
        soname = None
        rpath: list[str] = []
        runpath: list[str] = []
        dynsym: Any = None
        verdef: Any = None
        verneed: Any = None
        versym: Any = None
        sec: Any
        for sec in elf.iter_sections():
            t = sec["sh_type"]
            if t == "SHT_DYNAMIC" and not needed and soname is None:
                for tag in sec.iter_tags():
                    d = tag.entry.d_tag
                    if d == "DT_NEEDED":
                        needed.append(tag.needed)
                    elif d == "DT_SONAME" and soname is None:
                        soname = tag.soname
                    elif d == "DT_RPATH":
                        rpath += tag.rpath.split(":")
                    elif d == "DT_RUNPATH":
                        runpath += tag.runpath.split(":")
            elif t == "SHT_DYNSYM" and dynsym is None:
                dynsym = sec
            elif t == "SHT_GNU_verdef" and verdef is None:
                verdef = sec
            elif t == "SHT_GNU_verneed" and verneed is None:
                verneed = sec
            elif t == "SHT_GNU_versym" and versym is None:
                versym = sec
        vdefs = []
        vd_names: dict[int, str] = {}
        if verdef is not None:
            for vd, aux in verdef.iter_versions():
                names = [a.name for a in aux]
                vdefs.append((vd["vd_ndx"], names[0], vd["vd_flags"], tuple(names[1:])))
                vd_names[vd["vd_ndx"]] = names[0]
        vneeds = []
        vn_names: dict[int, tuple[str, str]] = {}
        if verneed is not None:
            for vn, aux in verneed.iter_versions():
                versions, weak = [], []
                for a in aux:
                    versions.append(a.name)
                    if a["vna_flags"] & 2:
                        weak.append(a.name)
                    vn_names[a["vna_other"]] = (a.name, vn.name)
                vneeds.append((vn.name, tuple(versions), tuple(weak)))
        imports, exports = [], []
        if dynsym is not None:
            for i, sym in enumerate(dynsym.iter_symbols()):
                if i == 0:
                    continue
                bind = _pe_bind(sym["st_info"]["bind"])
                if bind == "LOCAL":
                    continue
                ndx: Any = versym.get_symbol(i)["ndx"] if versym is not None else 0
                raw: int = {"VER_NDX_LOCAL": 0, "VER_NDX_GLOBAL": 1}.get(ndx, ndx)
                idx, hidden = raw & 0x7FFF, bool(raw & 0x8000)
                undefined = sym["st_shndx"] == "SHN_UNDEF"
                ver = vfile = None
                if idx > 1:
                    if undefined and idx in vn_names:
                        ver, vfile = vn_names[idx]
                    elif idx in vd_names:
                        ver = vd_names[idx]
                    else:
                        ver, vfile = vn_names[idx]
                vis = sym["st_other"]["visibility"].removeprefix("STV_")
                entry = (sym.name, ver, hidden, bind, _pe_type(sym["st_info"]["type"]))
                if undefined:
                    imports.append(entry + (vfile,))
                elif vis in ("DEFAULT", "PROTECTED"):
                    exports.append(entry + (sym["st_value"], sym["st_size"]))
        return {
            "needed": tuple(needed), "soname": soname, "rpath": tuple(rpath),
            "runpath": tuple(runpath), "imports": imports, "exports": exports,
            "version_defs": vdefs, "version_needs": vneeds,
        }


def abiguard_view(obj: Any) -> dict[str, Any]:
    """An ElfObject in the shape of pyelftools_view."""
    return {
        "needed": obj.needed, "soname": obj.soname, "rpath": obj.rpath, "runpath": obj.runpath,
        "imports": [(s.name, s.version, s.hidden, s.binding, s.type, s.version_file)
                    for s in obj.imports],
        "exports": [(s.name, s.version, s.hidden, s.binding, s.type, s.value, s.size)
                    for s in obj.exports],
        "version_defs": [(d.index, d.name, d.flags, d.parents) for d in obj.version_defs],
        "version_needs": [(n.file, n.versions, n.weak) for n in obj.version_needs],
    }
