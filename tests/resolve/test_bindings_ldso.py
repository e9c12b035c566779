"""abiguard's bindings held against glibc's ld.so on gcc/g++-built fixtures.

Every fixture is scanned with abiguard and traced with ld.so (tests/helpers/ldso_oracle.py:
``LD_TRACE_LOADED_OBJECTS=1 LD_WARN=1 LD_BIND_NOW=1 LD_DEBUG=bindings ld.so FILE``, main never
runs); the two sets of (symbol, requested version, real path of the provider) must be equal,
and each test also checks that the binding it is about is in ld.so's set (or not), so that an
empty or broken trace cannot pass. readelf shows the relocations each case is built to have.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from abiguard.elf import ElfFile, read_elf
from abiguard.model import Binding, Consumer, CopyRelocation
from abiguard.pipeline import ScanOptions, scan_paths
from helpers.cfixtures import program, shared_lib, write
from helpers.ldso_oracle import LDSO, Trace, abiguard_bindings, compare, ldso_for, trace

LDSO64 = LDSO[("x86_64", 64)]

DATA = """
    int counter = 5;
    char buf[16] = "hello";
    int get(void) { return counter; }
"""
DATA_MAP = "DATA_1.0 { global: counter; buf; get; local: *; };"
USES_DATA = """
    extern int counter; extern char buf[];
    int get(void);
    int main(void) { return counter + buf[0] + get(); }
"""


def held_against_ldso(path: Path, ldso: str = LDSO64) -> tuple[Consumer, Trace]:
    """Scan ``path`` and trace it with ld.so: the bindings must be the same."""
    audit = scan_paths([str(path)], ScanOptions(policies=[]))
    assert not audit.errors, audit.errors
    (c,) = audit.consumers
    t = trace(str(path), ldso)
    assert t.error is None, t.error
    assert t.bound, "ld.so made no binding: the oracle ran empty"
    missed, extra = compare(abiguard_bindings(c.bindings), t.bound)
    assert not missed and not extra, (f"missed (ld.so only): {sorted(missed)}; "
                                      f"extra (abiguard only): {sorted(extra)}")
    # What ld.so found nothing for: abiguard's unresolved imports that are not weak.
    assert t.undefined == {(b.symbol.name, b.symbol.version) for b in c.unresolved
                           if not b.weak}
    return c, t


def binding(c: Consumer, name: str) -> Binding:
    (b,) = [b for b in c.bindings if b.symbol.name == name]
    return b


def readelf_relocs(path: Path) -> str:
    return subprocess.run(["readelf", "-W", "-r", str(path)], capture_output=True, text=True,
                          check=True).stdout


@pytest.fixture(scope="module")
def data_lib(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("data") / "lib"
    shared_lib(d, "libdata.so.1", DATA, version_script=DATA_MAP)
    return d


# --------------------------------------------------------------------------------------------
# Copy relocations
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("flags", [("-no-pie", "-fno-pic"), ("-fPIE", "-pie")],
                         ids=["non-PIE", "PIE"])
def test_copied_data_objects_are_bindings_with_both_sizes(data_lib, tmp_path, flags):
    prog = program(tmp_path, "prog", USES_DATA,
                   link=(f"-L{data_lib}", "-ldata", f"-Wl,-rpath,{data_lib}", *flags))
    relocs = readelf_relocs(prog)
    assert "R_X86_64_COPY" in relocs and "counter@DATA_1.0" in relocs  # what gcc built
    c, t = held_against_ldso(prog)
    lib = str((data_lib / "libdata.so.1").resolve())
    assert {("counter", "DATA_1.0", lib), ("buf", "DATA_1.0", lib)} <= t.bound
    for name, size in (("counter", 4), ("buf", 16)):
        b = binding(c, name)
        assert b.status == "bound" and b.provider == "libdata.so.1" and b.reason is None
        assert b.copy == CopyRelocation(size, size) and not b.copy.size_differs
        assert b.symbol.version == "DATA_1.0" == b.provided_version
        assert b.type == "OBJECT"
    assert binding(c, "get").copy is None  # a function: an ordinary binding
    assert {b.symbol.name for b in c.copies} == {"counter", "buf"}


@pytest.mark.parametrize("size,warned", [(32, True), (8, True), (16, False)])
def test_copied_object_whose_size_changed_is_flagged_like_ldso_warns(tmp_path, size, warned):
    """Linked against buf[16]; the library found at run time defines buf[size]. ld.so
    warns ("has different size in shared object"; a smaller one only with LD_WARN)."""
    lib = tmp_path / "lib"
    shared_lib(lib, "libdata.so.1", DATA, version_script=DATA_MAP)
    prog = program(tmp_path, "prog", USES_DATA,
                   link=(f"-L{lib}", "-ldata", f"-Wl,-rpath,{lib}", "-no-pie", "-fno-pic"))
    shared_lib(lib, "libdata.so.1", DATA.replace("buf[16]", f"buf[{size}]"),
               version_script=DATA_MAP)
    c, t = held_against_ldso(prog)
    b = binding(c, "buf")
    assert b.copy == CopyRelocation(16, size)
    assert b.copy.size_differs is warned
    assert t.size_warnings == ({"buf"} if warned else set())
    assert {x.symbol.name for x in c.copies if x.copy and x.copy.size_differs} == \
        t.size_warnings


def test_copy_relocation_of_a_32bit_program(tmp_path):
    ldso = ldso_for("i386", 32)
    lib = tmp_path / "lib"
    shared_lib(lib, "libdata.so.1", DATA, version_script=DATA_MAP, extra=("-m32",))
    prog = program(tmp_path, "prog32", USES_DATA,
                   link=(f"-L{lib}", "-ldata", f"-Wl,-rpath,{lib}", "-m32", "-no-pie",
                         "-fno-pic"))
    assert "R_386_COPY" in readelf_relocs(prog)
    assert ldso is not None, "libc6-i386 (scripts/setup-debian.sh) provides /lib/ld-linux.so.2"
    c, t = held_against_ldso(prog, ldso)
    assert binding(c, "buf").copy == CopyRelocation(16, 16)
    assert ("buf", "DATA_1.0", str((lib / "libdata.so.1").resolve())) in t.bound


def test_copy_relocation_nothing_defines_is_unresolved(tmp_path):
    lib = tmp_path / "lib"
    shared_lib(lib, "libdata.so.1", DATA, version_script=DATA_MAP)
    prog = program(tmp_path, "prog", USES_DATA,
                   link=(f"-L{lib}", "-ldata", f"-Wl,-rpath,{lib}", "-no-pie", "-fno-pic"))
    shared_lib(lib, "libdata.so.1", DATA.replace("char buf[16]", "static char buf[16]"),
               version_script=DATA_MAP.replace(" buf;", ""))
    audit = scan_paths([str(prog)], ScanOptions(policies=[]))
    b = binding(audit.consumers[0], "buf")
    assert b.status == "unresolved" and b.copy == CopyRelocation(16, None)
    assert "libdata.so.1 defines version DATA_1.0 but no buf@DATA_1.0" in (b.reason or "")
    assert trace(str(prog)).undefined == {("buf", "DATA_1.0")}  # ld.so's complaint (LD_WARN)


# --------------------------------------------------------------------------------------------
# Imports no relocation uses
# --------------------------------------------------------------------------------------------


def test_import_no_relocation_uses_is_declared_not_bound(data_lib, tmp_path):
    """``.globl get`` makes ld list get@DATA_1.0 in .dynsym with no relocation for it."""
    other = tmp_path / "other"
    shared_lib(other, "libgone.so.1", "int gone_fn(void) { return 1; }")
    prog = program(tmp_path, "prog", """
        __asm__(".globl get");
        __asm__(".globl gone_fn");
        int main(void) { return 0; }
    """, link=(f"-L{data_lib}", f"-L{other}", "-Wl,--no-as-needed", "-ldata", "-lgone",
               f"-Wl,-rpath,{data_lib}:{other}"))
    shared_lib(other, "libgone.so.1", "int other_fn(void) { return 1; }")  # gone_fn gone
    assert " get" not in readelf_relocs(prog)
    assert any(s.name == "get" for s in read_elf(str(prog)).imports)
    c, t = held_against_ldso(prog)
    assert not any(name == "get" for name, _, _ in t.bound | t.self_bound)
    b = binding(c, "get")
    assert b.status == "declared" and b.provider is None and not b.is_problem
    assert b.reason and "no relocation uses it" in b.reason
    # Nothing defines it either: still declared, not unresolved (ld.so never complains).
    assert binding(c, "gone_fn").status == "declared"
    assert not t.undefined and not [x for x in c.unresolved if not x.weak]
    assert {x.symbol.name for x in c.declared} == {"get", "gone_fn"}


def test_canonical_plt_entry_of_the_executable(data_lib, tmp_path):
    """A non-PIE program taking get's address: get is undefined with a value (its canonical
    PLT entry). ld.so binds the GLOB_DAT of a -fPIC object to the program itself, the PLT
    slot (JUMP_SLOT, PLT class: an undefined symbol never satisfies it) to the library."""
    write(tmp_path / "a.c", """
        int get(void);
        int (*p)(void);
        int (*q(void))(void);
        int main(void) { p = get; return get() + (q() == p); }
    """)
    write(tmp_path / "b.c", "int get(void); int (*q(void))(void) { return &get; }")
    subprocess.run(["gcc", "-c", "-fno-pic", "-o", str(tmp_path / "a.o"),
                    str(tmp_path / "a.c")], check=True)
    subprocess.run(["gcc", "-c", "-fPIC", "-o", str(tmp_path / "b.o"), str(tmp_path / "b.c")],
                   check=True)
    prog = tmp_path / "prog"
    subprocess.run(["gcc", "-no-pie", "-o", str(prog), str(tmp_path / "a.o"),
                    str(tmp_path / "b.o"), f"-L{data_lib}", "-ldata",
                    f"-Wl,-rpath,{data_lib}"], check=True)
    get = next(s for s in read_elf(str(prog)).imports if s.name == "get")
    assert get.value != 0
    relocs = readelf_relocs(prog)
    assert "R_X86_64_GLOB_DAT" in relocs and "R_X86_64_JUMP_SLOT" in relocs
    c, t = held_against_ldso(prog)
    assert ("get", "DATA_1.0", str(prog.resolve())) in t.self_bound
    assert binding(c, "get").provider == "libdata.so.1"
    # Without its PLT slot (the JUMP_SLOT made R_X86_64_NONE), only the GLOB_DAT is left:
    # ld.so binds get to the program alone.
    patched = tmp_path / "prog-noslot"
    data = bytearray(prog.read_bytes())
    with ElfFile(str(prog)) as f:
        sec = next(s for s in f.sections if s.name == ".rela.plt")
        syms = f.dynsym_symbols()
        for k in range(sec.size // 24):
            at = sec.offset + 24 * k + 8
            info = int.from_bytes(data[at:at + 8], "little")
            if syms[info >> 32].name == "get":
                data[at:at + 8] = (info & ~0xFFFFFFFF).to_bytes(8, "little")
    patched.write_bytes(bytes(data))
    patched.chmod(0o755)
    c2, t2 = held_against_ldso(patched)
    assert not any(name == "get" for name, _, _ in t2.bound)
    assert ("get", "DATA_1.0", str(patched.resolve())) in t2.self_bound
    assert binding(c2, "get").status == "declared"


# --------------------------------------------------------------------------------------------
# GNU unique symbols
# --------------------------------------------------------------------------------------------

UNIQUE_H = "inline int& counter() { static int c = 0; return c; }\n"
COUNTER = "_ZZ7countervE1c"  # counter()::c: STB_GNU_UNIQUE (g++ default)


def gxx(*args: str | Path) -> None:
    proc = subprocess.run(["g++", *map(str, args)], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stderr


def unique_libs(d: Path, *, versioned: bool, unique: bool) -> Path:
    """libua.so.1 (needs libub.so.1); both use the inline counter(), so both define
    counter()::c; with ``versioned``, each under its own version node (UA_1, UB_1)."""
    d.mkdir(parents=True)
    write(d / "u.h", UNIQUE_H)
    write(d / "b.cc", '#include "u.h"\nint b_use() { return ++counter(); }\n')
    write(d / "a.cc", '#include "u.h"\nint b_use();\nint a_use() { return ++counter() + b_use(); }\n')
    flags = [] if unique else ["-fno-gnu-unique"]
    for name, node, more in (("b", "UB_1", []), ("a", "UA_1", [f"-L{d}", "-lub"])):
        vs: list[str] = []
        if versioned:
            write(d / f"{name}.map", f"{node} {{ global: *; }};\n")
            vs = [f"-Wl,--version-script={d / f'{name}.map'}"]
        gxx(*flags, "-shared", "-fPIC", "-o", d / f"libu{name}.so.1", d / f"{name}.cc",
            f"-Wl,-soname,libu{name}.so.1", *vs, *more, f"-Wl,-rpath,{d}")
        if name == "b":
            (d / "libub.so").symlink_to("libub.so.1")
    return d / "libua.so.1"


@pytest.mark.parametrize("versioned,unique,bound_to", [
    (True, True, "libub.so.1"),   # libub, relocated first, entered its own definition
    (True, False, None),          # -fno-gnu-unique: a weak definition, libua's own first
    (False, True, None),          # libub's unversioned lookup found libua's (first in scope)
], ids=["unique-versioned", "no-gnu-unique", "unique-unversioned"])
def test_gnu_unique_symbol_binds_to_the_first_definition_ld_so_entered(
        tmp_path, versioned, unique, bound_to):
    liba = unique_libs(tmp_path / "u", versioned=versioned, unique=unique)
    c_sym = next(s for s in read_elf(str(liba)).exports if s.name == COUNTER)
    assert c_sym.binding == ("GNU_UNIQUE" if unique else "WEAK")
    c, t = held_against_ldso(liba)
    bound = [b for b in c.bindings if b.symbol.name == COUNTER]
    if bound_to is None:
        assert not bound  # bound to libua itself
        assert any(name == COUNTER for name, _, _ in t.self_bound)
    else:
        (b,) = bound
        assert b.provider == bound_to and b.status == "bound"
        assert b.reason and b.reason.startswith("GNU unique symbol, defined here too")
        assert (b.symbol.version, b.provided_version) == ("UA_1", "UB_1")
        assert (COUNTER, "UA_1", str((tmp_path / "u" / bound_to).resolve())) in t.bound


# --------------------------------------------------------------------------------------------
# Other do_lookup_x rules: weak and protected definitions, IFUNC, TLS
# --------------------------------------------------------------------------------------------


def test_weak_protected_ifunc_and_tls_definitions(tmp_path):
    lib = tmp_path / "lib"
    shared_lib(lib, "libw1.so.1", "__attribute__((weak)) int wfn(void) { return 1; }")
    shared_lib(lib, "libw2.so.1", "int wfn(void) { return 2; } int only2(void) { return 2; }")
    shared_lib(lib, "libp.so.1", """
        __attribute__((visibility("protected"))) int pfn(void) { return 3; }
        int caller(void) { return pfn(); }
    """)
    shared_lib(lib, "libi.so.1", """
        static int impl(void) { return 4; }
        static void *pick(void) { return (void *)impl; }
        int ifn(void) __attribute__((ifunc("pick")));
    """)
    shared_lib(lib, "libt.so.1", "__thread int tv = 5; __thread int tv2 = 6;")
    prog = program(tmp_path, "prog", """
        int wfn(void); int only2(void); int pfn(void); int ifn(void);
        extern __thread int tv;
        int main(void) { return wfn() + only2() + pfn() + ifn() + tv; }
    """, link=(f"-L{lib}", "-Wl,--no-as-needed", "-lw1", "-lw2", "-lp", "-li", "-lt",
               f"-Wl,-rpath,{lib}"))
    relocs = readelf_relocs(prog)
    assert "R_X86_64_TPOFF64" in relocs  # initial-exec TLS: a PLT-class lookup in ld.so
    c, t = held_against_ldso(prog)
    w = binding(c, "wfn")
    assert w.provider == "libw1.so.1"  # the first definition wins, weak or not
    assert ("wfn", None, str((lib / "libw1.so.1").resolve())) in t.bound
    assert binding(c, "pfn").provider == "libp.so.1"
    i = binding(c, "ifn")
    assert (i.provider, i.type) == ("libi.so.1", "FUNC")
    tv = binding(c, "tv")
    assert (tv.provider, tv.type) == ("libt.so.1", "TLS")
    assert ("tv", None, str((lib / "libt.so.1").resolve())) in t.bound


def test_library_consumer_binds_its_own_definitions_to_itself(tmp_path):
    """A library calling its own exported function through its PLT: ld.so binds the call to
    the library itself (it comes first in the scope when ld.so loads it): not a binding
    abiguard lists, and not an import."""
    lib = tmp_path / "lib"
    shared_lib(lib, "libself.so.1", """
        #include <unistd.h>
        int helper(void) { return getpid(); }
        int api(void) { return helper() + 1; }
    """, extra=("-O0",))
    c, t = held_against_ldso(lib / "libself.so.1")
    assert ("helper", None, str((lib / "libself.so.1").resolve())) in t.self_bound
    assert not [b for b in c.bindings if b.symbol.name == "helper"]


def test_cxx_program_copies_std_cout(tmp_path):
    """std::cout in a non-PIE C++ program: a copy of libstdc++'s object (as in cmake)."""
    src = write(tmp_path / "hello.cc", '#include <iostream>\nint main() { std::cout << 1; }\n')
    prog = tmp_path / "hello"
    gxx("-no-pie", "-fno-pic", "-o", prog, src)
    c, _ = held_against_ldso(prog)
    b = binding(c, "_ZSt4cout")
    assert b.copy is not None and b.copy.program_size == b.copy.library_size > 0
    assert b.provider == "libstdc++.so.6" and b.symbol.version == "GLIBCXX_3.4"


# --------------------------------------------------------------------------------------------
# This machine's own files (benchmarks/compare_ldso.py does all of them)
# --------------------------------------------------------------------------------------------


def test_this_machines_programs_and_libraries_match_ldso():
    """An even sample of the dynamic x86-64 files of /usr/bin and /usr/lib/x86_64-linux-gnu
    (plus busctl, whose copies of libsystemd-shared are the issue's example): every binding,
    copy-size warning and undefined symbol as ld.so has them."""
    from abiguard.resolve import Resolver
    from helpers.ldso_oracle import compare_file

    files = []
    for top, n in (("/usr/bin", 80), ("/usr/lib/x86_64-linux-gnu", 80)):
        names = sorted(os.listdir(top))
        for name in names[:: max(1, len(names) // n)]:
            p = os.path.join(top, name)
            if os.path.isfile(p) and not os.path.islink(p):
                with open(p, "rb") as fh:
                    head = fh.read(20)
                if head[:4] == b"\x7fELF" and head[4] == 2 and head[18] == 62 and \
                        head[16] in (2, 3):
                    files.append(p)
    if os.path.exists("/usr/bin/busctl"):
        files.append("/usr/bin/busctl")
    resolver = Resolver()
    compared = bindings = copies = 0
    for p in files:
        r = compare_file(p, resolver)
        if r.error is not None:  # e.g. a static program: ld.so cannot trace it
            continue
        assert not r.missed and not r.extra, (p, r.missed[:5], r.extra[:5])
        assert r.size_warnings == r.abiguard_size_warnings, p
        assert r.undefined == r.unresolved, p
        compared += 1
        bindings += r.bindings
        copies += len(r.copies)
    assert compared >= 50 and bindings > 2000 and copies > 0


def test_relocation_order_is_ld_sos():
    """The order the GNU unique rule walks (resolve.relocation_order, glibc's
    _dl_sort_maps_dfs): ld.so's own, from LD_DEBUG=reloc, for programs and libraries of this
    machine with deep and shared dependencies."""
    from abiguard.resolve import Resolver, relocation_order
    from helpers.ldso_oracle import relocation_order as ldso_order

    resolver = Resolver()
    checked = 0
    for p in ("/usr/bin/busctl", "/usr/lib/x86_64-linux-gnu/libapt-private.so.0.0",
              "/usr/bin/python3", "/usr/bin/cmake", "/usr/bin/gdb", "/usr/bin/ssh",
              "/usr/lib/x86_64-linux-gnu/libgtk-3.so.0", "/usr/bin/apt",
              "/usr/lib/x86_64-linux-gnu/libLLVM-15.so.1", "/usr/bin/curl"):
        if not os.path.exists(p):
            continue
        real = os.path.realpath(p)
        elf = read_elf(real)
        order = resolver.load_order(elf, real)
        interp = {os.path.realpath(o.real) for o in order if o.found_via == "interpreter"
                  or (o.elf is not None and o.elf.soname == "ld-linux-x86-64.so.2")}
        mine = [os.path.realpath(o.real) for o in relocation_order(order) if o.real]
        mine = [x for x in mine if x not in interp]
        assert mine == ldso_order(real), p
        checked += 1
    assert checked >= 5
