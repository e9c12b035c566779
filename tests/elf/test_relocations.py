"""The ELF reader's view of the dynamic relocations (ElfObject.relocations), held against
readelf: which dynamic symbols a relocation makes ld.so look up, and which are copies.

* every layout the reader knows (ELF32/ELF64, little/big endian, REL/RELA; x86-64, x32,
  i386, AArch64, ARM, PowerPC64, S/390, RISC-V) on hand-built images (tests/helpers/elfbuild.py);
* this machine's own programs and libraries;
* AArch64 programs with copy relocations, little and big endian, assembled and linked with
  binutils, scanned end to end;
* corrupt relocation tables: one-line errors naming the file.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from abiguard.elf import read_elf
from abiguard.errors import ElfError
from abiguard.model import REF_COPY, ElfObject
from abiguard.pipeline import ScanOptions, scan_paths
from helpers.elfbuild import Exp, Imp, Spec, build_elf

# machine, bits, big, rela, types: (copy, jump slot, glob dat / absolute, relative)
LAYOUTS = [
    ("x86_64", 62, 64, False, True, (5, 7, 6, 8)),
    ("x32", 62, 32, False, True, (5, 7, 6, 8)),
    ("i386", 3, 32, False, False, (5, 7, 6, 8)),
    ("aarch64", 183, 64, False, True, (1024, 1026, 1025, 1027)),
    ("aarch64_be", 183, 64, True, True, (1024, 1026, 1025, 1027)),
    ("arm", 40, 32, False, False, (20, 22, 21, 23)),
    ("armeb", 40, 32, True, False, (20, 22, 21, 23)),
    ("ppc64", 21, 64, True, True, (19, 21, 20, 22)),
    ("ppc64le", 21, 64, False, True, (19, 21, 20, 22)),
    ("s390x", 22, 64, True, True, (9, 11, 10, 12)),
    ("s390", 22, 32, True, True, (9, 11, 10, 12)),
    ("riscv64", 243, 64, False, True, (4, 5, 2, 3)),
    ("riscv32", 243, 32, False, True, (4, 5, 1, 3)),
]


def readelf_relocs(path: Path | str) -> list[tuple[str, str]]:
    """(symbol name without its version, type name) of every relocation readelf lists."""
    out = subprocess.run(["readelf", "-W", "-r", str(path)], capture_output=True, text=True,
                         check=True).stdout
    rows = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 3 and re.fullmatch(r"[0-9a-f]+", parts[0]) and parts[2].startswith("R_"):
            name = parts[4].split("@")[0] if len(parts) >= 5 else ""
            rows.append((name, parts[2]))
    return rows


def looked_up(obj: ElfObject) -> tuple[set[str], set[str]]:
    """(names of the symbols abiguard says a relocation looks up, those copied)."""
    rel = obj.relocations
    assert rel is not None
    names = {s.name for s, m in zip(obj.imports, rel.import_refs()) if m}
    copies = set()
    for pos, m in rel.export_refs(every=True).items():
        names.add(obj.exports[pos].name)
        if m & REF_COPY:
            copies.add(obj.exports[pos].name)
    return names, copies


def expected_from_readelf(path: Path | str, skip: set[str]) -> tuple[set[str], set[str]]:
    """The same from readelf: symbols of relocations other than NONE/RELATIVE, and those of
    the copy relocations (``skip``: local or hidden symbols, which ld.so binds locally)."""
    rows = readelf_relocs(path)
    names = {n for n, t in rows if n and n not in skip
             and not t.endswith(("_NONE", "_RELATIVE", "_RELATIVE64"))}
    copies = {n for n, t in rows if n and t.endswith("_COPY")}
    return names, copies


@pytest.mark.parametrize("name,machine,bits,big,rela,types", LAYOUTS,
                         ids=[x[0] for x in LAYOUTS])
def test_every_layout_against_readelf(tmp_path, name, machine, bits, big, rela, types):
    copy, jump, glob, relative = types
    spec = Spec(
        bits=bits, big=big, machine=machine, etype=2, soname=None, interp="/lib/ld.so.1",
        imports=[Imp("imp_plt"), Imp("imp_data", type=1), Imp("imp_unused"),
                 Imp("imp_relative_only"), Imp("imp_hidden")],
        exports=[Exp("copied", type=1, size=24), Exp("self_ref"), Exp("plain")],
        locals=["local_one"],
        relocs=[("imp_data", glob), ("copied", copy), ("self_ref", glob), ("local_one", glob),
                ("imp_relative_only", relative), ("imp_hidden", glob)],
        plt_relocs=[("imp_plt", jump)], rela=rela, relative=3, relative_type=relative)
    path = tmp_path / name
    # imp_hidden made STV_HIDDEN: ld.so binds such a reference locally, without a lookup.
    path.write_bytes(_set_visibility(build_elf(spec).data, bits, "imp_hidden", 2))
    obj = read_elf(str(path))
    names, copies = looked_up(obj)
    want_names, want_copies = expected_from_readelf(path, {"local_one", "imp_hidden"})
    assert names == want_names == {"imp_plt", "imp_data", "copied", "self_ref"}
    assert copies == want_copies == {"copied"}
    masks = dict(zip((s.name for s in obj.imports), obj.relocations.import_refs()))
    assert masks["imp_unused"] == masks["imp_relative_only"] == masks["imp_hidden"] == 0
    assert read_elf(str(path), relocations=False).relocations is None


def _set_visibility(data: bytes, bits: int, name: str, vis: int) -> bytes:
    """A copy with the st_other of the dynamic symbol ``name`` set to ``vis``."""
    from abiguard.elf import ElfFile

    buf = bytearray(data)
    with ElfFile("image", data) as f:
        sec = next(s for s in f.sections if s.name == ".dynsym")
        for k, sym in enumerate(f.dynsym_symbols()):
            if sym.name == name:
                esz = 24 if bits == 64 else 16
                at = sec.offset + k * esz + (5 if bits == 64 else 13)
                buf[at] = vis
    return bytes(buf)


def test_mips_has_no_relocation_view(tmp_path):
    """MIPS binds most symbols through its GOT (DT_MIPS_GOTSYM), not relocations: unknown,
    so every import counts as looked up (as before)."""
    spec = Spec(machine=8, bits=32, big=True, imports=[Imp("f")], relocs=[("f", 3)],
                rela=False)
    path = tmp_path / "mips"
    path.write_bytes(build_elf(spec).data)
    assert read_elf(str(path)).relocations is None


def _system_sample(n: int) -> list[str]:
    out = []
    for top in ("/usr/bin", "/usr/lib/x86_64-linux-gnu"):
        names = sorted(os.listdir(top))
        for entry in names[:: max(1, len(names) // n)]:
            p = os.path.join(top, entry)
            if os.path.isfile(p) and not os.path.islink(p):
                with open(p, "rb") as fh:
                    if fh.read(4) == b"\x7fELF":
                        out.append(p)
    return out


def test_this_machines_files_against_readelf():
    checked = copies_seen = 0
    for p in _system_sample(30):
        try:
            obj = read_elf(p)
        except ElfError:
            continue
        if obj.relocations is None or obj.kind == "REL":
            continue
        dyn = subprocess.run(["readelf", "-W", "--dyn-syms", p], capture_output=True,
                             text=True, check=True).stdout
        skip = set()
        for line in dyn.splitlines():
            parts = line.split()
            if len(parts) >= 8 and parts[0].endswith(":") and (
                    parts[4] == "LOCAL" or parts[5] in ("HIDDEN", "INTERNAL")):
                skip.add(parts[7].split("@")[0])
        names, copies = looked_up(obj)
        want_names, want_copies = expected_from_readelf(p, skip)
        assert names == want_names, p
        assert copies == want_copies, p
        checked += 1
        copies_seen += len(copies)
    assert checked >= 20 and copies_seen > 0


A64_LIB = """
    .data
    .global counter
    .type counter, %object
    .size counter, 4
counter:
    .word 5
    .global table
    .type table, %object
    .size table, 24
table:
    .zero 24
    .text
    .global get
    .type get, %function
get:
    mov w0, #1
    ret
    .size get, .-get
    .global spare
    .type spare, %function
spare:
    ret
    .size spare, .-spare
"""
A64_MAIN = """
    .text
    .global _start
    .type _start, %function
_start:
    adrp x0, counter
    ldr w0, [x0, :lo12:counter]
    adrp x1, table
    add x1, x1, :lo12:table
    bl get
    mov x8, #93
    svc #0
    .global spare
"""


@pytest.mark.parametrize("endian", ["EL", "EB"])
def test_aarch64_copy_relocations_scanned(tmp_path, endian):
    assert shutil.which("aarch64-linux-gnu-as"), "binutils-aarch64-linux-gnu (setup-debian.sh)"
    d = tmp_path / endian
    d.mkdir()
    (d / "lib.s").write_text(A64_LIB)
    (d / "main.s").write_text(A64_MAIN)
    (d / "vd.map").write_text("VD_1 { global: counter; table; get; spare; local: *; };\n")

    def run(*cmd: str) -> None:
        subprocess.run(list(cmd), cwd=d, check=True, capture_output=True)

    for name in ("lib", "main"):
        run("aarch64-linux-gnu-as", f"-{endian}", "-o", f"{name}.o", f"{name}.s")
    run("aarch64-linux-gnu-ld", f"-{endian}", "-shared", "-soname", "libvd.so.1",
        "--version-script", "vd.map", "-o", "libvd.so.1", "lib.o")
    (d / "libvd.so").symlink_to("libvd.so.1")
    run("aarch64-linux-gnu-ld", f"-{endian}", "-no-pie", "--dynamic-linker",
        "/lib/ld-linux-aarch64.so.1", "-o", "prog", "main.o", "-L.", "-lvd")
    prog = d / "prog"
    rows = readelf_relocs(prog)
    assert ("counter", "R_AARCH64_COPY") in rows and ("get", "R_AARCH64_JUMP_SLOT") in rows
    names, copies = looked_up(read_elf(str(prog)))
    assert (names, copies) == expected_from_readelf(prog, set())
    audit = scan_paths([str(prog)], ScanOptions(lib_paths=[str(d)], policies=[]))
    assert not audit.errors
    b = {x.symbol.name: x for x in audit.consumers[0].bindings}
    assert b["counter"].copy is not None and b["counter"].copy.program_size == 4
    assert b["table"].copy is not None and b["table"].copy.library_size == 24
    assert b["get"].status == "bound" and b["get"].copy is None
    assert b["spare"].status == "declared"  # .global spare: in .dynsym, no relocation


# --------------------------------------------------------------------------------------------
# Corrupt tables
# --------------------------------------------------------------------------------------------


def _with_dyn(data: bytes, tag: int, value: int) -> bytes:
    """A copy of a 64-bit little-endian hand-built image with dynamic tag ``tag`` set."""
    import struct

    from abiguard.elf import ElfFile

    buf = bytearray(data)
    with ElfFile("image", data) as f:
        sec = next(s for s in f.sections if s.name == ".dynamic")
        for k in range(sec.size // 16):
            at = sec.offset + 16 * k
            if struct.unpack_from("<q", buf, at)[0] == tag:
                struct.pack_into("<Q", buf, at + 8, value)
                return bytes(buf)
    raise AssertionError(f"no tag {tag:#x}")


def test_corrupt_relocation_tables_are_errors_naming_the_file(tmp_path):
    """The tables are read when the resolver first asks (reading a file does not touch
    them): a corrupt one is then an ElfError naming the file, reported as that input's
    error by a scan, which goes on with the other inputs."""
    spec = Spec(etype=2, soname=None, interp="/lib64/ld-linux-x86-64.so.2",
                imports=[Imp("f")], relocs=[("f", 6)], plt_relocs=[("f", 7)])
    good = build_elf(spec).data
    bad_index = bytearray(good)
    pos = bytes(bad_index).find((1 << 32 | 6).to_bytes(8, "little"))
    bad_index[pos + 4:pos + 8] = (999).to_bytes(4, "little")
    cases = {
        "outside": (_with_dyn(good, 7, 0x7FFF0000),
                    "DT_RELA address 0x7fff0000 is not inside any PT_LOAD"),
        "entsize": (_with_dyn(good, 9, 16), "bad DT_RELAENT 16 (expected 24)"),
        "size": (_with_dyn(good, 8, 25), "is not a multiple of its entry size 24"),
        "long": (_with_dyn(good, 2, 24 << 16), "the DT_JMPREL table (0x180000 bytes"),
        "badsym": (bytes(bad_index), ("a dynamic relocation refers to symbol 999, past the 2 "
                                      "symbols of the dynamic symbol table")),
    }
    ok = tmp_path / "ok"
    ok.write_bytes(good)
    for name, (data, message) in cases.items():
        p = tmp_path / name
        p.write_bytes(data)
        obj = read_elf(str(p))
        assert obj.imports[0].name == "f"  # the symbol tables are fine
        rel = obj.relocations
        for ask in (rel.lookups, rel.import_refs):
            with pytest.raises(ElfError) as exc:
                ask()
            assert exc.value.path == str(p) and message in exc.value.message, exc.value.message
        # read ahead (a consumer bound right away): the error comes at the same first use
        rel = read_elf(str(p), ahead=True).relocations
        with pytest.raises(ElfError, match=re.escape(message)):
            rel.lookups()
        # the same from given bytes (e.g. an archive member)
        with pytest.raises(ElfError, match=re.escape(message)):
            read_elf("given", data).relocations.lookups()
        audit = scan_paths([str(p), str(ok)], ScanOptions(policies=[]))
        assert [c.path for c in audit.consumers] == [str(ok)]
        assert [e.path for e in audit.errors] == [str(p)]
        assert message in audit.errors[0].message


def test_a_file_that_changes_before_its_relocations_are_read_is_an_error(tmp_path):
    spec = Spec(etype=2, soname=None, interp="/lib64/ld-linux-x86-64.so.2",
                imports=[Imp("f")], relocs=[("f", 6)])
    p = tmp_path / "prog"
    p.write_bytes(build_elf(spec).data)
    obj = read_elf(str(p))
    p.write_bytes(build_elf(spec).data + b"\0" * 64)  # replaced meanwhile
    with pytest.raises(ElfError, match="changed while it was being scanned"):
        obj.relocations.lookups()


def test_tables_read_ahead_serve_their_first_use_only(tmp_path):
    """read_elf(ahead=True) copies the relocation tables out while the file is open: their
    first use takes them (the same answers as reading them then), later ones read the file
    again (and see that it changed)."""
    spec = Spec(etype=2, soname=None, interp="/lib64/ld-linux-x86-64.so.2",
                imports=[Imp("f"), Imp("g")], relocs=[("f", 6)], plt_relocs=[("g", 7)])
    p = tmp_path / "prog"
    p.write_bytes(build_elf(spec).data)
    expected = read_elf(str(p)).relocations.lookups()
    assert expected[0] == [True, True]
    ahead = read_elf(str(p), ahead=True).relocations
    p.write_bytes(build_elf(spec).data + b"\0" * 64)  # replaced after the reading
    assert ahead.lookups() == expected  # (from the copy)
    with pytest.raises(ElfError, match="changed while it was being scanned"):
        ahead.lookups()
