"""The ELF reader: gcc-built and hand-built fixtures, pyelftools agreement on real files,
corrupt and truncated input (only ElfError, never a hang), and ar archives."""

from __future__ import annotations

import os
import pickle
import shutil
import struct
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from abiguard import elf
from abiguard.elf import (
    ElfFile,
    is_ar_archive,
    is_elf,
    iter_archive_members,
    read_archive,
    read_elf,
)
from abiguard.errors import ElfError
from abiguard.model import ElfObject, ElfSymbol, SymbolTable, VersionDef, VersionNeed
from helpers.elfbuild import (
    Exp,
    Imp,
    Spec,
    abiguard_view,
    build_ar,
    build_elf,
    gcc,
    gcc_works,
    pyelftools_view,
    run,
    strip_section_headers,
)

LIBVERS_C = r"""
int foo_v1(void) { return 1; }
int foo_v2(void) { return 2; }
__asm__(".symver foo_v1, foo@VERS_1");
__asm__(".symver foo_v2, foo@@VERS_2");
int bar1(void) { return 3; }
extern char *getenv(const char *);
int bar2(void) { return getenv("ABIGUARD_X") ? 4 : 5; }
int vers_data = 5;
static int internal_helper(void) { return 6; }
__attribute__((visibility("hidden"))) int hidden_fn(void) { return internal_helper(); }
__attribute__((visibility("protected"))) int prot_fn(void) { return 7; }
"""

LIBVERS_MAP = """
VERS_1 { global: foo; bar1; vers_data; local: *; };
VERS_2 { global: foo; bar2; prot_fn; } VERS_1;
"""

LIBPLAIN_C = "int plain_fn(int x) { return x + 1; }\nint plain_var = 3;\n"

PROG_C = r"""
#include <stdio.h>
extern int foo(void);
extern int bar1(void);
extern int bar2(void);
extern int plain_fn(int);
extern int plain_var;
extern int weak_fn(void) __attribute__((weak));
int main(void) {
    printf("%d\n", foo() + bar1() + bar2() + plain_fn(plain_var) + (weak_fn ? weak_fn() : 0));
    return 0;
}
"""

PROG_OLD_C = r"""
extern int foo_old(void);
__asm__(".symver foo_old, foo@VERS_1");
extern int vers_data;
int main(void) { return foo_old() + vers_data; }
"""

OBJ_C = r"""
#include <stdio.h>
extern int ext_fn(int);
extern int ext_weak(void) __attribute__((weak));
int global_var = 1;
static int static_var = 2;
static int local_fn(void) { return static_var; }
__attribute__((visibility("hidden"))) int obj_hidden(void) { return 0; }
int obj_fn(void) {
    puts("x");
    return ext_fn(global_var) + local_fn() + obj_hidden() + (ext_weak ? ext_weak() : 0);
}
"""


@dataclass
class World:
    dir: Path
    libvers: Path
    libplain: Path
    prog: Path
    prog_rpath: Path
    prog_old: Path
    prog_stripped: Path
    prog_noshdr: Path
    libvers_noshdr: Path
    obj: Path
    archive: Path
    lib32: Path | None
    prog32: Path | None


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    d = tmp_path_factory.mktemp("elfworld")
    lib = d / "lib"
    lib.mkdir()
    (d / "libvers.c").write_text(LIBVERS_C)
    (d / "libvers.map").write_text(LIBVERS_MAP)
    (d / "libplain.c").write_text(LIBPLAIN_C)
    (d / "prog.c").write_text(PROG_C)
    (d / "prog_old.c").write_text(PROG_OLD_C)
    (d / "obj.c").write_text(OBJ_C)
    libvers = lib / "libvers.so.1"
    gcc("-shared", "-fPIC", "-o", libvers, d / "libvers.c", "-Wl,-soname,libvers.so.1",
        f"-Wl,--version-script={d / 'libvers.map'}")
    (lib / "libvers.so").symlink_to("libvers.so.1")
    libplain = lib / "libplain.so"
    gcc("-shared", "-fPIC", "-o", libplain, d / "libplain.c", "-Wl,-soname,libplain.so")
    prog = d / "prog"
    common: list[str | Path] = ["-L", lib, "-lvers", "-lplain", "-Wl,--no-as-needed"]
    gcc(d / "prog.c", "-o", prog, "-Wl,--no-as-needed", "-L", lib, "-lvers", "-lplain",
        "-Wl,-rpath,$ORIGIN/lib:/opt/x", "-Wl,--enable-new-dtags")
    prog_rpath = d / "prog_rpath"
    gcc(d / "prog.c", "-o", prog_rpath, *common, "-Wl,-rpath,$ORIGIN/lib",
        "-Wl,--disable-new-dtags")
    prog_old = d / "prog_old"
    gcc(d / "prog_old.c", "-o", prog_old, "-no-pie", "-L", lib, "-lvers")
    prog_stripped = d / "prog_stripped"
    run("strip", "-o", prog_stripped, prog)
    prog_noshdr = d / "prog_noshdr"
    prog_noshdr.write_bytes(strip_section_headers(prog.read_bytes()))
    libvers_noshdr = d / "libvers_noshdr.so"
    libvers_noshdr.write_bytes(strip_section_headers(libvers.read_bytes()))
    obj = d / "obj.o"
    gcc("-c", "-fPIC", "-o", obj, d / "obj.c")
    long_member = d / "a_member_with_a_long_name.o"
    shutil.copy(obj, long_member)
    (d / "notes.txt").write_text("not an object\n")
    short = d / "b.o"
    (d / "b.c").write_text("int b_fn(void) { return 2; }\n")
    gcc("-c", "-o", short, d / "b.c")
    archive = d / "libstuff.a"
    run("ar", "rcs", archive, long_member, short, d / "notes.txt")
    lib32 = prog32 = None
    if gcc_works("-m32", tmp=d):
        lib32 = d / "lib32" / "libvers.so.1"
        lib32.parent.mkdir()
        gcc("-m32", "-shared", "-fPIC", "-o", lib32, d / "libvers.c",
            "-Wl,-soname,libvers.so.1", f"-Wl,--version-script={d / 'libvers.map'}")
        (lib32.parent / "libvers.so").symlink_to("libvers.so.1")
        prog32 = d / "prog32"
        gcc("-m32", d / "prog_old.c", "-o", prog32, "-L", lib32.parent, "-lvers")
    return World(d, libvers, libplain, prog, prog_rpath, prog_old, prog_stripped, prog_noshdr,
                 libvers_noshdr, obj, archive, lib32, prog32)


def by_name(symbols: tuple[ElfSymbol, ...]) -> dict[str, list[ElfSymbol]]:
    out: dict[str, list[ElfSymbol]] = {}
    for s in symbols:
        out.setdefault(s.name, []).append(s)
    return out


def one(symbols: tuple[ElfSymbol, ...], name: str) -> ElfSymbol:
    found = by_name(symbols).get(name, [])
    assert len(found) == 1, f"{name}: {found}"
    return found[0]


# --------------------------------------------------------------------------------------------
# gcc-built fixtures
# --------------------------------------------------------------------------------------------


def test_versioned_library(world: World) -> None:
    o = read_elf(str(world.libvers))
    assert (o.elf_class, o.endian, o.machine, o.machine_id, o.kind) == (64, "little", "x86_64",
                                                                         62, "DYN")
    assert o.soname == "libvers.so.1"
    assert o.needed == ("libc.so.6",)
    assert o.interpreter is None and o.is_shared_library
    assert o.version_defs == (
        VersionDef(1, "libvers.so.1", 1, ()),
        VersionDef(2, "VERS_1", 0, ()),
        VersionDef(3, "VERS_2", 0, ("VERS_1",)),
    )
    exports = by_name(o.exports)
    foo = sorted(exports["foo"], key=lambda s: s.version or "")
    assert [(s.version, s.hidden, s.version_index) for s in foo] == [("VERS_1", True, 2),
                                                                    ("VERS_2", False, 3)]
    assert one(o.exports, "bar1").version == "VERS_1"
    assert one(o.exports, "bar2").version == "VERS_2"
    data = one(o.exports, "vers_data")
    assert (data.type, data.size, data.defined, data.version) == ("OBJECT", 4, True, "VERS_1")
    assert one(o.exports, "prot_fn").visibility == "PROTECTED"
    for hidden in ("hidden_fn", "internal_helper", "foo_v1", "foo_v2"):
        assert hidden not in exports
    assert all(s.defined and s.binding in ("GLOBAL", "WEAK") for s in o.exports)
    assert not o.stripped
    assert o.size == world.libvers.stat().st_size
    assert o.path == str(world.libvers) and o.member is None


def test_program_imports_with_versions(world: World) -> None:
    o = read_elf(str(world.prog))
    assert o.kind == "DYN" and o.interpreter and o.interpreter.startswith("/lib")
    assert not o.is_shared_library
    assert o.needed == ("libvers.so.1", "libplain.so", "libc.so.6")
    assert o.soname is None
    assert o.runpath == ("$ORIGIN/lib", "/opt/x") and o.rpath == ()
    foo = one(o.imports, "foo")
    assert (foo.version, foo.version_file, foo.hidden, foo.binding, foo.type, foo.defined) == (
        "VERS_2", "libvers.so.1", False, "GLOBAL", "FUNC", False)
    assert foo.version_index > 1
    assert (one(o.imports, "bar1").version, one(o.imports, "bar2").version) == ("VERS_1",
                                                                               "VERS_2")
    plain = one(o.imports, "plain_fn")
    assert (plain.version, plain.version_file, plain.version_index) == (None, None, 1)
    printf = one(o.imports, "printf")
    assert printf.version and printf.version.startswith("GLIBC_")
    assert printf.version_file == "libc.so.6"
    weak = one(o.imports, "weak_fn")
    assert (weak.binding, weak.version) == ("WEAK", None)
    assert {n.file for n in o.version_needs} == {"libvers.so.1", "libc.so.6"}
    vers = next(n for n in o.version_needs if n.file == "libvers.so.1")
    assert set(vers.versions) == {"VERS_1", "VERS_2"} and vers.weak == ()
    assert all(not s.defined for s in o.imports)


def test_rpath_and_old_version_and_copy_relocation(world: World) -> None:
    o = read_elf(str(world.prog_rpath))
    assert o.rpath == ("$ORIGIN/lib",) and o.runpath == ()
    old = read_elf(str(world.prog_old))
    assert old.kind == "EXEC"
    foo = one(old.imports, "foo")
    assert (foo.version, foo.version_file) == ("VERS_1", "libvers.so.1")
    # -no-pie: vers_data is copy-relocated, so it is *defined* in the program but its
    # version index comes from .gnu.version_r.
    data = one(old.exports, "vers_data")
    assert (data.defined, data.version, data.version_file) == (True, "VERS_1", "libvers.so.1")


def test_stripped_and_section_headerless(world: World) -> None:
    full = read_elf(str(world.prog))
    stripped = read_elf(str(world.prog_stripped))
    assert stripped.stripped and not full.stripped
    assert stripped.imports == full.imports and stripped.needed == full.needed
    for path, ref in ((world.prog_noshdr, full), (world.libvers_noshdr, read_elf(
            str(world.libvers)))):
        with ElfFile.open(str(path)) as f:
            assert f.sections == [] and f.header.shnum == 0
        o = read_elf(str(path))
        assert o.stripped
        for attr in ("needed", "soname", "rpath", "runpath", "interpreter", "flags_1",
                     "imports", "exports", "version_defs", "version_needs"):
            assert getattr(o, attr) == getattr(ref, attr), attr


def test_thirty_two_bit(world: World) -> None:
    assert world.lib32 is not None and world.prog32 is not None, \
        "gcc -m32 does not work here (scripts/setup-debian.sh installs gcc-multilib)"
    lib = read_elf(str(world.lib32))
    assert (lib.elf_class, lib.machine, lib.machine_id) == (32, "i386", 3)
    assert [d.name for d in lib.version_defs] == ["libvers.so.1", "VERS_1", "VERS_2"]
    prog = read_elf(str(world.prog32))
    foo = one(prog.imports, "foo")
    assert (foo.version, foo.version_file) == ("VERS_1", "libvers.so.1")
    for path in (world.lib32, world.prog32):
        assert abiguard_view(read_elf(str(path))) == pyelftools_view(str(path))
    noshdr = world.dir / "prog32_noshdr"
    noshdr.write_bytes(strip_section_headers(world.prog32.read_bytes()))
    assert read_elf(str(noshdr)).imports == prog.imports


def test_gcc_fixtures_agree_with_pyelftools(world: World) -> None:
    for path in (world.libvers, world.libplain, world.prog, world.prog_rpath, world.prog_old,
                 world.prog_stripped):
        assert abiguard_view(read_elf(str(path))) == pyelftools_view(str(path)), path


def test_relocatable_object(world: World) -> None:
    o = read_elf(str(world.obj))
    assert o.kind == "REL" and o.needed == () and o.version_defs == ()
    imports = {s.name: s.binding for s in o.imports}
    imports.pop("_GLOBAL_OFFSET_TABLE_", None)  # gcc -fPIC may reference it
    assert imports == {"ext_fn": "GLOBAL", "ext_weak": "WEAK", "puts": "GLOBAL"}
    assert {s.name for s in o.exports} == {"global_var", "obj_fn"}
    assert one(o.exports, "obj_fn").type == "FUNC"
    assert all(s.version is None for s in o.imports + o.exports)


def test_archive(world: World) -> None:
    assert is_ar_archive(str(world.archive)) and not is_elf(str(world.archive))
    members = [name for name, _ in iter_archive_members(str(world.archive))]
    assert members == ["a_member_with_a_long_name.o", "b.o", "notes.txt"]
    objs = read_archive(str(world.archive))
    assert [o.member for o in objs] == ["a_member_with_a_long_name.o", "b.o"]
    assert all(o.path == str(world.archive) and o.kind == "REL" for o in objs)
    assert objs[0].display_name == f"{world.archive}(a_member_with_a_long_name.o)"
    assert {s.name for s in objs[1].exports} == {"b_fn"}
    assert objs[0].imports == read_elf(str(world.obj)).imports


def test_elffile_lower_level(world: World) -> None:
    with ElfFile.open(str(world.prog)) as f:
        names = [s.name for s in f.sections]
        assert {".dynsym", ".dynstr", ".dynamic", ".gnu.version_r", ".symtab"} <= set(names)
        interp = f.section_by_name(".interp")
        assert interp is not None
        assert bytes(f.section_data(interp)).rstrip(b"\0").decode() == read_elf(
            str(world.prog)).interpreter
        assert f.header.elf_class == 64 and f.header.machine == 62
        assert any(s.type == elf.PT_DYNAMIC for s in f.segments)
        tags = [t for t, _ in f.dynamic_entries()]
        assert tags.count(elf.DT_NEEDED) == 3
        syms = {s.name: s for s in f.symtab_symbols()}
        assert syms["main"].type == "FUNC" and syms["main"].binding == "GLOBAL"
        assert syms["main"].shndx != 0
        dyn = {s.name for s in f.dynsym_symbols()}
        assert {"foo", "printf"} <= dyn
        relocs = list(f.relocations())
        assert any(r.symbol == "foo" for r in relocs)
        assert f.dynamic_view() == read_elf(str(world.prog))
    with ElfFile.open(str(world.obj)) as f:
        syms = {s.name: s for s in f.symtab_symbols()}
        assert syms["local_fn"].binding == "LOCAL" and syms["local_fn"].type == "FUNC"
        assert syms["obj_hidden"].visibility == "HIDDEN"
        relocs = [r for r in f.relocations() if r.section == ".rela.text"]
        calls = {r.symbol: r for r in relocs if r.symbol in ("ext_fn", "puts")}
        assert set(calls) == {"ext_fn", "puts"}
        assert calls["ext_fn"].type == 4 and calls["ext_fn"].addend == -4  # R_X86_64_PLT32


def test_mmap_and_bytes_paths_agree(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    via_bytes = read_elf(str(world.prog), world.prog.read_bytes())
    monkeypatch.setattr(elf.loading, "MMAP_THRESHOLD", 0)
    assert read_elf(str(world.prog)) == via_bytes
    monkeypatch.setattr(elf.loading, "MMAP_THRESHOLD", 1 << 40)
    assert read_elf(str(world.prog)) == via_bytes


# --------------------------------------------------------------------------------------------
# Lazy symbol tables: ElfObject.imports/exports
# --------------------------------------------------------------------------------------------


def check_table(table: SymbolTable, fresh: Callable[[], SymbolTable]) -> None:
    """Every way of reading a lazy table agrees with its materialised form. ``fresh`` gives a
    new, untouched copy of the same table (each access path is checked from scratch)."""
    syms = tuple(fresh())
    assert isinstance(table, SymbolTable) and len(fresh()) == len(syms)
    assert all(isinstance(s, ElfSymbol) for s in syms)
    assert fresh().names() == [s.name for s in syms]
    t = fresh()  # item access before anything is materialised, then the whole table
    items = [t[i] for i in range(len(syms))]
    assert items == list(syms)
    assert t[-1:] == syms[-1:] and t[1:3] == syms[1:3] and t[:] == syms
    assert all(a is b for a, b in zip(items, t))  # a symbol handed out stays the same object
    if syms:
        assert fresh()[-1] == syms[-1] and fresh()[-len(syms)] == syms[0]
    for bad in (len(syms), -len(syms) - 1):
        with pytest.raises(IndexError):
            fresh()[bad]
    t = fresh()  # lookups before anything is materialised
    for name in {s.name for s in syms}:
        assert t.lookup(name) == tuple(s for s in syms if s.name == name)
    assert t.lookup("no such symbol \0") == ()
    assert t == syms and fresh() == syms and syms == fresh() and fresh() == fresh()
    assert hash(fresh()) == hash(syms) and fresh() != syms + (ElfSymbol("x"),)
    assert fresh() + () == syms and () + fresh() == syms and fresh() + fresh() == syms + syms
    assert pickle.loads(pickle.dumps(fresh())) == syms
    assert list(reversed(fresh())) == list(reversed(syms))
    assert all(s in fresh() for s in syms[:5])


def test_symbol_tables_are_lazy_sequences(world: World) -> None:
    for path in (world.libvers, world.prog, world.prog_old, world.obj, world.libvers_noshdr):
        o = read_elf(str(path))
        for attr in ("imports", "exports"):
            check_table(getattr(o, attr),
                        lambda p=path, a=attr: getattr(read_elf(str(p)), a))
    o = read_elf(str(world.libvers))
    assert [(s.version, s.hidden) for s in o.exports.lookup("foo")] == [("VERS_1", True),
                                                                         ("VERS_2", False)]
    assert o.imports.lookup("foo") == () and o.exports.lookup("hidden_fn") == ()


def test_symbol_tables_outlive_the_mapping(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(elf.loading, "MMAP_THRESHOLD", 0)  # mapped, and unmapped by read_elf
    lazy = read_elf(str(world.libvers))
    monkeypatch.setattr(elf.loading, "MMAP_THRESHOLD", 1 << 40)
    assert lazy == read_elf(str(world.libvers))
    assert len(lazy.exports.lookup("foo")) == 2


def test_elf_object_keeps_given_symbols_as_a_table() -> None:
    syms = (ElfSymbol("a", defined=True), ElfSymbol("b", defined=True),
            ElfSymbol("a", "V1", defined=True))
    o = ElfObject("x", 64, "little", "x86_64", "DYN", exports=list(syms))  # type: ignore[arg-type]
    assert isinstance(o.exports, SymbolTable) and isinstance(o.imports, SymbolTable)
    assert o.exports == syms and len(o.imports) == 0 and o.imports == ()
    assert o.exports.lookup("a") == (syms[0], syms[2]) and o.exports.names() == ["a", "b", "a"]
    assert o == ElfObject("x", 64, "little", "x86_64", "DYN", exports=SymbolTable(syms))
    assert hash(o) == hash(ElfObject("x", 64, "little", "x86_64", "DYN", exports=syms))
    check_table(o.exports, lambda: SymbolTable(syms))


# --------------------------------------------------------------------------------------------
# Hand-built images: both classes, both byte orders, with and without section headers
# --------------------------------------------------------------------------------------------


def hand_spec(bits: int, big: bool, **kw: object) -> Spec:
    machine = {(32, False): 3, (64, False): 62, (32, True): 20, (64, True): 22}[(bits, big)]
    base: dict[str, object] = {
        "bits": bits, "big": big, "machine": machine, "interp": "/lib/ld.so.1",
        "runpath": "$ORIGIN/../lib:/opt/lib", "flags_1": 0x800,
        "needed": ("libc.so.6", "libm.so.6"),
        "imports": [Imp("puts", "GLIBC_2.0", "libc.so.6"), Imp("weakfn", weak=True),
                    Imp("cos", "GLIBC_2.1", "libm.so.6", type=2),
                    Imp("errno_loc", "GLIBC_2.1", "libc.so.6", type=6)],
        "exports": [Exp("hand_a", "HAND_1.0"), Exp("hand_b", "HAND_2.0"),
                    Exp("old", "HAND_1.0", hidden=True), Exp("hid", visibility=2),
                    Exp("prot", visibility=3), Exp("obj", type=1, size=8, value=0x2000),
                    Exp("uniq", bind=10, type=10)],
        "verdefs": [("HAND_1.0", []), ("HAND_2.0", ["HAND_1.0"])],
        "weak_versions": ["GLIBC_2.1"], "locals": ["loc"],
    }
    base.update(kw)
    return Spec(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize("bits", [32, 64])
@pytest.mark.parametrize("big", [False, True], ids=["le", "be"])
@pytest.mark.parametrize("sections,hash_", [(True, "sysv"), (False, "sysv"), (False, "gnu")],
                         ids=["shdr", "noshdr-hash", "noshdr-gnuhash"])
def test_hand_built(tmp_path: Path, bits: int, big: bool, sections: bool, hash_: str) -> None:
    built = build_elf(hand_spec(bits, big, sections=sections, hash=hash_))
    path = tmp_path / "libhand.so.1"
    path.write_bytes(built.data)
    o = read_elf(str(path))
    assert (o.elf_class, o.endian) == (bits, "big" if big else "little")
    assert o.machine == {(32, False): "i386", (64, False): "x86_64", (32, True): "ppc",
                         (64, True): "s390x"}[(bits, big)]
    assert (o.soname, o.needed, o.runpath, o.rpath) == (
        "libhand.so.1", ("libc.so.6", "libm.so.6"), ("$ORIGIN/../lib", "/opt/lib"), ())
    assert (o.interpreter, o.flags_1, o.kind, o.stripped) == ("/lib/ld.so.1", 0x800, "DYN", True)
    assert [(s.name, s.version, s.version_file, s.binding, s.type) for s in o.imports] == [
        ("puts", "GLIBC_2.0", "libc.so.6", "GLOBAL", "FUNC"),
        ("weakfn", None, None, "WEAK", "FUNC"),
        ("cos", "GLIBC_2.1", "libm.so.6", "GLOBAL", "FUNC"),
        ("errno_loc", "GLIBC_2.1", "libc.so.6", "GLOBAL", "TLS"),
    ]
    assert [(s.name, s.version, s.hidden, s.visibility, s.binding, s.type) for s in o.exports] == [
        ("hand_a", "HAND_1.0", False, "DEFAULT", "GLOBAL", "FUNC"),
        ("hand_b", "HAND_2.0", False, "DEFAULT", "GLOBAL", "FUNC"),
        ("old", "HAND_1.0", True, "DEFAULT", "GLOBAL", "FUNC"),
        ("prot", None, False, "PROTECTED", "GLOBAL", "FUNC"),
        ("obj", None, False, "DEFAULT", "GLOBAL", "OBJECT"),
        ("uniq", None, False, "DEFAULT", "GNU_UNIQUE", "GNU_IFUNC"),
    ]
    assert (one(o.exports, "obj").value, one(o.exports, "obj").size) == (0x2000, 8)
    for attr in ("imports", "exports"):  # item access, names, lookup: all classes and orders
        check_table(getattr(o, attr), lambda a=attr: getattr(read_elf(str(path)), a))
    assert o.version_defs == (VersionDef(1, "libhand.so.1", 1), VersionDef(2, "HAND_1.0"),
                              VersionDef(3, "HAND_2.0", 0, ("HAND_1.0",)))
    assert o.version_needs == (VersionNeed("libc.so.6", ("GLIBC_2.0", "GLIBC_2.1"),
                                           ("GLIBC_2.1",)),
                               VersionNeed("libm.so.6", ("GLIBC_2.1",), ("GLIBC_2.1",)))
    # the builder makes images binutils accepts
    proc = subprocess.run(["readelf", "-W", "-d", "-V", "--dyn-syms", "-D", str(path)],
                          check=False, capture_output=True, text=True)
    assert proc.returncode == 0 and "Error" not in proc.stderr, proc.stderr
    assert "libm.so.6" in proc.stdout
    if sections:
        assert "puts@GLIBC_2.0" in proc.stdout


def test_unknown_machine_and_names_not_utf8(tmp_path: Path) -> None:
    spec = hand_spec(64, False, machine=0x1234,
                     exports=[Exp("caf\u00e9"), Exp("bad")], raw_names={"bad": b"b\xffd"})
    path = tmp_path / "odd.so"
    path.write_bytes(build_elf(spec).data)
    o = read_elf(str(path))
    assert (o.machine, o.machine_id) == ("EM_4660", 0x1234)
    names = [s.name for s in o.exports]
    assert names == ["caf\u00e9", "b\udcffd"]
    assert names[1].encode("utf-8", "surrogateescape") == b"b\xffd"


def test_relocatable_from_bytes_and_dynsym_of_exec_kind(tmp_path: Path) -> None:
    spec = hand_spec(64, True, etype=2, soname=None)
    o = read_elf("mem.bin", build_elf(spec).data)
    assert (o.kind, o.soname, o.path, o.size) == ("EXEC", None, "mem.bin", len(
        build_elf(spec).data))


# --------------------------------------------------------------------------------------------
# Real files: agreement with pyelftools
# --------------------------------------------------------------------------------------------


def real_elf_sample(n: int = 40, max_size: int = 2 << 20) -> list[str]:
    cands: list[str] = []
    for top in ("/usr/lib/x86_64-linux-gnu", "/usr/bin"):
        if not os.path.isdir(top):
            continue
        for name in os.listdir(top):
            p = os.path.join(top, name)
            try:
                if (os.path.isfile(p) and not os.path.islink(p)
                        and os.path.getsize(p) <= max_size and is_elf(p)):
                    cands.append(p)
            except OSError:
                continue
    cands.sort()
    if len(cands) <= n:
        return cands
    step = len(cands) / n
    return [cands[int(i * step)] for i in range(n)]


@pytest.mark.parametrize("path", real_elf_sample())
def test_real_files_agree_with_pyelftools(path: str) -> None:
    assert abiguard_view(read_elf(path)) == pyelftools_view(path)


# --------------------------------------------------------------------------------------------
# Bad input: only ElfError, naming the file, one line
# --------------------------------------------------------------------------------------------


def raises_elf_error(path: str, data: bytes | None = None) -> ElfError:
    with pytest.raises(ElfError) as info:
        read_elf(path, data)
    err = info.value
    text = str(err)
    assert text.startswith(f"{path}: ") and "\n" not in text
    assert "internal check" not in text, text
    return err


def test_not_elf_and_unreadable(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("#!/bin/sh\necho hi\n")
    assert "not an ELF file (magic 23 21 2f 62)" in str(raises_elf_error(str(text)))
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert "not an ELF file" in str(raises_elf_error(str(empty)))
    assert "not an ELF file" in raises_elf_error("x", b"\x7fEL").message
    assert "cannot open" in raises_elf_error(str(tmp_path / "missing")).message
    assert "not a regular file" in raises_elf_error(str(tmp_path)).message
    assert not is_elf(str(tmp_path / "missing")) and not is_elf(str(tmp_path))
    assert not is_ar_archive(str(tmp_path / "missing")) and not is_ar_archive(str(text))
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # must not block
    assert not is_elf(str(fifo))
    assert "not a regular file" in raises_elf_error(str(fifo)).message
    assert "truncated" in raises_elf_error("x", b"\x7fELF\x02\x01\x01").message
    assert "truncated: ELF header" in raises_elf_error("x", b"\x7fELF\x02\x01\x01" + bytes(20)
                                                       ).message


def test_truncated_everywhere(world: World) -> None:
    data = world.libvers.read_bytes()
    cuts = list(range(0, min(len(data), 4096), 64)) + list(range(4096, len(data), 509))
    for cut in cuts:
        raises_elf_error(str(world.libvers), data[:cut])
    # Without section headers, cutting what no segment covers (.symtab, ...) is harmless.
    full = read_elf(str(world.libvers_noshdr))
    nodata = world.libvers_noshdr.read_bytes()
    for cut in list(range(0, min(len(nodata), 4096), 64)) + list(range(4096, len(nodata), 509)):
        try:
            o = read_elf(str(world.libvers_noshdr), nodata[:cut])
        except ElfError as exc:
            assert str(exc).startswith(f"{world.libvers_noshdr}: ")
        else:
            assert (o.imports, o.exports, o.version_defs) == (full.imports, full.exports,
                                                              full.version_defs)


def patched(data: bytes, fmt: str, offset: int, *values: int) -> bytes:
    buf = bytearray(data)
    struct.pack_into(fmt, buf, offset, *values)
    return bytes(buf)


def section(path: Path, name: str) -> elf.Section:
    with ElfFile.open(str(path)) as f:
        sec = f.section_by_name(name)
        assert sec is not None
        return sec


def shdr_offset(path: Path, index: int) -> int:
    with ElfFile.open(str(path)) as f:
        return f.header.shoff + index * f.header.shentsize


CORRUPTIONS: dict[str, Callable[[Path, bytes], bytes]] = {
    "e_ident class": lambda p, d: patched(d, "B", 4, 3),
    "e_ident data": lambda p, d: patched(d, "B", 5, 0),
    "e_ident version": lambda p, d: patched(d, "B", 6, 2),
    "e_shoff past end": lambda p, d: patched(d, "<Q", 0x28, len(d) - 8),
    "e_phoff past end": lambda p, d: patched(d, "<Q", 0x20, len(d) - 8),
    "e_phentsize": lambda p, d: patched(d, "<H", 0x36, 40),
    "e_shentsize": lambda p, d: patched(d, "<H", 0x3A, 0),
    "e_shnum huge": lambda p, d: patched(d, "<H", 0x3C, 0xFFF0),
    "e_shstrndx out of range": lambda p, d: patched(d, "<H", 0x3E, 0x7FFF),
    "dynsym sh_offset": lambda p, d: patched(
        d, "<Q", shdr_offset(p, section(p, ".dynsym").index) + 24, len(d) - 16),
    "dynstr sh_size": lambda p, d: patched(
        d, "<Q", shdr_offset(p, section(p, ".dynstr").index) + 32, 1 << 40),
    "dynsym entsize 0": lambda p, d: patched(
        d, "<Q", shdr_offset(p, section(p, ".dynsym").index) + 56, 0),
    "dynsym entsize 23": lambda p, d: patched(
        d, "<Q", shdr_offset(p, section(p, ".dynsym").index) + 56, 23),
    "dynsym sh_link": lambda p, d: patched(
        d, "<I", shdr_offset(p, section(p, ".dynsym").index) + 40, 0xFFF),
    "versym too short": lambda p, d: patched(
        d, "<Q", shdr_offset(p, section(p, ".gnu.version").index) + 32, 2),
    "verdef count huge": lambda p, d: patched(
        d, "<I", shdr_offset(p, section(p, ".gnu.version_d").index) + 44, 100000),
    "vd_next zero (loop)": lambda p, d: patched(d, "<I", section(p, ".gnu.version_d").offset + 16,
                                                0),
    "vd_next overlapping": lambda p, d: patched(d, "<I", section(p, ".gnu.version_d").offset + 16,
                                                4),
    "vd_version": lambda p, d: patched(d, "<H", section(p, ".gnu.version_d").offset, 7),
    "vd_aux past end": lambda p, d: patched(d, "<I", section(p, ".gnu.version_d").offset + 12,
                                            1 << 30),
    "vd_cnt huge": lambda p, d: patched(d, "<H", section(p, ".gnu.version_d").offset + 6, 0xFFFF),
    "vda_name past strtab": lambda p, d: patched(
        d, "<I", section(p, ".gnu.version_d").offset + 20, 1 << 30),
    "symbol st_name past strtab": lambda p, d: patched(d, "<I", section(p, ".dynsym").offset + 24,
                                                       1 << 30),
    "versym index undefined": lambda p, d: patched(
        d, "<H", section(p, ".gnu.version").offset + 2 * (len(read_elf(str(p)).exports)), 0x4242),
    "dynamic sh_entsize": lambda p, d: patched(
        d, "<Q", shdr_offset(p, section(p, ".dynamic").index) + 56, 8),
    "DT_NEEDED past strtab": lambda p, d: patched(d, "<Q", section(p, ".dynamic").offset + 8,
                                                  1 << 30),
    "section past end": lambda p, d: patched(
        d, "<Q", shdr_offset(p, section(p, ".comment").index) + 24, len(d)),
}


@pytest.mark.parametrize("what", sorted(CORRUPTIONS))
def test_corrupt_library(world: World, what: str) -> None:
    data = CORRUPTIONS[what](world.libvers, world.libvers.read_bytes())
    raises_elf_error(str(world.libvers), data)


PROG_CORRUPTIONS: dict[str, Callable[[Path, bytes], bytes]] = {
    "vn_next zero (loop)": lambda p, d: patched(d, "<I", section(p, ".gnu.version_r").offset + 12,
                                                0),
    "vn_next overlapping": lambda p, d: patched(d, "<I", section(p, ".gnu.version_r").offset + 12,
                                                8),
    "vn_count huge": lambda p, d: patched(
        d, "<I", shdr_offset(p, section(p, ".gnu.version_r").index) + 44, 1 << 20),
    "vna_next zero": lambda p, d: patched(
        d, "<I", section(p, ".gnu.version_r").offset + 16 + 12, 0),
    "vn_file past strtab": lambda p, d: patched(d, "<I", section(p, ".gnu.version_r").offset + 4,
                                                1 << 30),
    "vn_aux past end": lambda p, d: patched(d, "<I", section(p, ".gnu.version_r").offset + 8,
                                            1 << 30),
    "interp past end": lambda p, d: patched(d, "<Q", 64 + 56 + 8, len(d)),
}


@pytest.mark.parametrize("what", sorted(PROG_CORRUPTIONS))
def test_corrupt_program(world: World, what: str) -> None:
    with ElfFile.open(str(world.prog)) as f:
        assert f.segments[1].type == elf.PT_INTERP  # the "interp past end" patch relies on it
        verneed = f.section_by_name(".gnu.version_r")
        assert verneed is not None and verneed.info >= 2  # libvers and libc
    data = PROG_CORRUPTIONS[what](world.prog, world.prog.read_bytes())
    raises_elf_error(str(world.prog), data)


def test_corrupt_without_section_headers(world: World) -> None:
    data = world.prog_noshdr.read_bytes()
    with ElfFile.open(str(world.prog)) as f:
        dyn = next(s for s in f.segments if s.type == elf.PT_DYNAMIC)
        entries = f.dynamic_entries()
        phoff = f.header.phoff
        dyn_index = f.segments.index(dyn)
    path = str(world.prog_noshdr)

    def with_tag(tag: int, value: int) -> bytes:
        i = next(k for k, (t, _) in enumerate(entries) if t == tag)
        return patched(data, "<Q", dyn.offset + 16 * i + 8, value)

    assert "not inside any PT_LOAD" in raises_elf_error(path, with_tag(elf.DT_SYMTAB, 1 << 40)
                                                        ).message
    raises_elf_error(path, with_tag(elf.DT_STRSZ, 1 << 40))
    raises_elf_error(path, with_tag(elf.DT_VERNEEDNUM, 1000))
    gnu = with_tag(elf.DT_GNU_HASH, 1 << 40)
    raises_elf_error(path, gnu)
    # PT_DYNAMIC pointing past the end of the file
    raises_elf_error(path, patched(data, "<Q", phoff + 56 * dyn_index + 8, len(data)))


def test_gnu_hash_chain_past_segment(tmp_path: Path) -> None:
    built = build_elf(hand_spec(64, False, sections=False, hash="gnu"))
    data = bytearray(built.data)
    # clear the end-of-chain bit of every chain word: the walk must stop at the segment end
    hash_off = built.offsets["hash"]
    nbuckets, _symoffset, bloom_size, _ = struct.unpack_from("<IIII", data, hash_off)
    chains = hash_off + 16 + 8 * bloom_size + 4 * nbuckets
    nchain = len(hand_spec(64, False).exports)
    for k in range(nchain):
        struct.pack_into("<I", data, chains + 4 * k, 2)
    # make every following byte even too, up to the end of the PT_LOAD
    for k in range(chains + 4 * nchain, built.offsets["dynamic"]):
        data[k] &= 0xFE
    with pytest.raises(ElfError):
        read_elf("gnuhash", bytes(data))


def test_extended_section_numbering(world: World) -> None:
    data = world.libvers.read_bytes()
    ref = read_elf(str(world.libvers))
    shoff, = struct.unpack_from("<Q", data, 0x28)
    phnum, _, shnum, shstrndx = struct.unpack_from("<HHHH", data, 0x38)
    ext = patched(data, "<H", 0x3C, 0)                       # e_shnum = 0 ...
    ext = patched(ext, "<Q", shoff + 32, shnum)              # ... real count in sh[0].sh_size
    ext = patched(ext, "<H", 0x3E, 0xFFFF)                   # e_shstrndx = SHN_XINDEX ...
    ext = patched(ext, "<I", shoff + 40, shstrndx)           # ... real index in sh[0].sh_link
    ext = patched(ext, "<H", 0x38, 0xFFFF)                   # e_phnum = PN_XNUM ...
    ext = patched(ext, "<I", shoff + 44, phnum)              # ... real count in sh[0].sh_info
    o = read_elf(str(world.libvers), ext)
    assert (o.exports, o.imports, o.version_defs) == (ref.exports, ref.imports, ref.version_defs)
    f = ElfFile("x", ext)
    assert (f.header.shnum, f.header.shstrndx, f.header.phnum) == (shnum, shstrndx, phnum)
    assert f.section_by_name(".dynsym") is not None
    bad = patched(ext, "<I", shoff + 40, shnum + 3)
    raises_elf_error("x", bad)


# --------------------------------------------------------------------------------------------
# Archives
# --------------------------------------------------------------------------------------------


def test_archive_styles_and_errors(world: World, tmp_path: Path) -> None:
    obj = world.obj.read_bytes()
    members = [("a_very_long_member_name_indeed.o", obj), ("odd.o", obj[:-1] + b"\0"),
               ("README", b"text\n")]
    for style in ("gnu", "bsd"):
        path = tmp_path / f"{style}.a"
        path.write_bytes(build_ar(members, style=style))
        assert [n for n, _ in iter_archive_members(str(path))] == [m[0] for m in members]
        assert [d for _, d in iter_archive_members(path.read_bytes())] == [m[1] for m in members]
        objs = read_archive(str(path))
        assert [o.member for o in objs] == ["a_very_long_member_name_indeed.o", "odd.o"]
    # a corrupt ELF member names archive(member)
    path = tmp_path / "bad.a"
    path.write_bytes(build_ar([("good.o", obj), ("broken.o", obj[:200])]))
    with pytest.raises(ElfError) as info:
        read_archive(str(path))
    assert str(info.value).startswith(f"{path}(broken.o): ")
    # structural damage
    good = build_ar([("x.o", obj)])
    for bad in (good[:-7], good[:70], good.replace(b"`\n", b"xx", 1), b"!<arch>\nshort",
                good[:8] + b"x.o/".ljust(48) + b"notdigits!`\n"):
        path.write_bytes(bad)
        with pytest.raises(ElfError) as info:
            read_archive(str(path))
        assert str(info.value).startswith(f"{path}") and "\n" not in str(info.value)
    path.write_bytes(b"!<thin>\n")
    with pytest.raises(ElfError, match="thin"):
        read_archive(str(path))
    path.write_bytes(b"hello")
    with pytest.raises(ElfError, match="not an ar archive"):
        read_archive(str(path))
    path.write_bytes(build_ar([("/99", b"")]).replace(b"/99/", b"/99 "))
    with pytest.raises(ElfError, match="long name"):
        list(iter_archive_members(str(path)))


# --------------------------------------------------------------------------------------------
# Properties: mutated input gives an ElfObject or an ElfError, quickly
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def mutation_base(world: World) -> tuple[bytes, list[tuple[int, int]]]:
    """The versioned library and the byte ranges worth mutating (headers, tables)."""
    data = world.libvers.read_bytes()
    with ElfFile.open(str(world.libvers)) as f:
        h = f.header
        ranges = [(0, 64), (h.phoff, h.phoff + h.phnum * h.phentsize),
                  (h.shoff, h.shoff + h.shnum * h.shentsize)]
        for name in (".dynsym", ".dynstr", ".gnu.version", ".gnu.version_d", ".dynamic",
                     ".gnu.version_r", ".gnu.hash"):
            sec = f.section_by_name(name)
            if sec is not None:
                ranges.append((sec.offset, sec.offset + sec.size))
    return data, ranges


def mutations(base_len: int) -> st.SearchStrategy[list[tuple[str, int, int]]]:
    edit = st.one_of(
        st.tuples(st.just("set"), st.integers(0, 10**9), st.integers(0, 255)),
        st.tuples(st.just("set32"), st.integers(0, 10**9), st.sampled_from(
            [0, 1, 2, 0xFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF, base_len, base_len - 1, 16, 20, 24])),
        st.tuples(st.just("insert"), st.integers(0, 10**9), st.integers(0, 255)),
        st.tuples(st.just("truncate"), st.integers(0, 10**9), st.just(0)),
    )
    return st.lists(edit, min_size=1, max_size=6)


def apply(data: bytes, ranges: list[tuple[int, int]], edits: list[tuple[str, int, int]]
          ) -> bytes:
    buf = bytearray(data)
    for kind, where, value in edits:
        if not buf:
            break
        # Most edits land in an interesting range; the rest anywhere.
        if where % 4:
            lo, hi = ranges[where % len(ranges)]
            pos = lo + (where // 4) % max(hi - lo, 1)
        else:
            pos = where // 4
        pos %= len(buf)
        if kind == "set":
            buf[pos] = value
        elif kind == "set32":
            buf[pos:pos + 4] = struct.pack("<I", value)[:len(buf) - pos]
        elif kind == "insert":
            buf.insert(pos, value)
        else:
            del buf[pos:]
    return bytes(buf)


@settings(max_examples=300, deadline=1000, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(edits=mutations(16384))
def test_mutated_library_gives_object_or_elf_error(
        mutation_base: tuple[bytes, list[tuple[int, int]]],
        edits: list[tuple[str, int, int]]) -> None:
    data, ranges = mutation_base
    mutated = apply(data, ranges, edits)
    try:
        o = read_elf("mutant.so", mutated)
    except ElfError as exc:
        text = str(exc)
        assert text.startswith("mutant.so: ") and "\n" not in text
        assert "internal check" not in text, text
    else:
        # Nothing is left to fail later: the lazy tables give all their symbols, one by one,
        # by name and all at once.
        assert isinstance(o, ElfObject)
        for table in (o.imports, o.exports):
            items = [table[i] for i in range(len(table))]
            names = table.names()
            assert [s.name for s in items] == names
            assert all(table.lookup(n) for n in names)
        assert all(isinstance(s, ElfSymbol) for s in o.imports + o.exports)


@settings(max_examples=150, deadline=1000, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(edits=mutations(4096))
def test_mutated_archive_gives_objects_or_elf_error(world: World, tmp_path_factory:
                                                    pytest.TempPathFactory,
                                                    edits: list[tuple[str, int, int]]) -> None:
    data = world.archive.read_bytes()
    head = [(0, 8), (8, 68), (len(data) - 200, len(data))]
    mutated = apply(data, head, edits)
    path = tmp_path_factory.getbasetemp() / "mutant.a"
    path.write_bytes(mutated)
    try:
        objs = read_archive(str(path))
    except ElfError as exc:
        assert str(exc).startswith(str(path)) and "\n" not in str(exc)
        assert "internal check" not in str(exc), str(exc)
    else:
        assert all(isinstance(o, ElfObject) for o in objs)
