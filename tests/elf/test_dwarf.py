"""DWARF subprogram ranges (abiguard.elf.dwarf), held against pyelftools, readelf and
addr2line on gcc-built programs (DWARF 2 to 5, 32- and 64-bit DWARF, -m32, C and C++, hot/cold
split functions, sections compressed with zlib, zlib-gnu and zstd) and on DWARF-carrying
libraries of this machine; corrupt DWARF gives one-line ElfErrors naming the file."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from abiguard import limits
from abiguard.callsites.binary import find_binary_callsites
from abiguard.elf import ElfFile
from abiguard.errors import ElfError
from helpers.cfixtures import gcc, write
from helpers.dwarfref import (
    addr2line_functions,
    base_name,
    hide_symtab,
    pyelftools_ranges,
    readelf_ranges,
    section_names,
)

C_SRC = r"""
#include <stdio.h>
#include <stdlib.h>
extern int xc_foo(int);
extern int xc_bar(void *);
__attribute__((cold, noinline)) static void fail(const char *m) { fputs(m, stderr); abort(); }
static inline int inl(int x) { return xc_foo(x) + 1; }
int helper(int x) { if (x > 3) return xc_bar(&x); return inl(x); }
int work(int x) {
    int r = 0;
    for (int i = 0; i < x; i++) {
        if (__builtin_expect(i == 1000, 0)) { r += xc_foo(i); fputs("slow", stderr); }
        r += i;
    }
    if (r < 0) fail("negative");
    return r;
}
int tail(int x) { return xc_foo(x); }
int main(int argc, char **argv) {
    printf("%d\n", helper(argc) + work(argc) + (int)(argv[0] != 0));
    return tail(argc);
}
"""
CPP_SRC = r"""
#include <cstdio>
#include <string>
#include <vector>
extern "C" int xc_foo(int);
namespace ns {
struct K { int m(int x); static int s(int); int in(int x) { return xc_foo(x) - 1; } };
int K::m(int x) { return xc_foo(x) + 1; }
int K::s(int x) { return xc_foo(x * 2); }
template <class T> T tw(T x) { return (T)xc_foo((int)x); }
namespace inner { int deep(int x) { return tw<long>(x) > 2 ? 1 : 0; } }
int use() { std::vector<std::string> v; v.push_back("a"); return tw<long>(3) + (int)v.size(); }
}
int main() {
    ns::K k;
    std::printf("%d\n", k.m(1) + ns::K::s(2) + ns::use() + k.in(4) + ns::inner::deep(5));
    return 0;
}
"""
LIB_SRC = "int xc_foo(int x) { return x + 1; }\nint xc_bar(void *p) { return p != 0; }\n"

VARIANTS = {
    "c-dwarf2": ("c", ["-O2", "-gdwarf-2"]),
    "c-dwarf3": ("c", ["-O2", "-gdwarf-3"]),
    "c-dwarf4": ("c", ["-O2", "-gdwarf-4"]),
    "c-dwarf5": ("c", ["-O2", "-gdwarf-5"]),
    "c-O0": ("c", ["-O0", "-g"]),
    "c-gz": ("c", ["-O2", "-g", "-gz"]),
    "c-zdebug": ("c", ["-O2", "-gdwarf-4", "-gz=zlib-gnu"]),
    "c-dwarf64": ("c", ["-O2", "-g", "-gdwarf64"]),
    "c-dwarf4-64": ("c", ["-O2", "-gdwarf-4", "-gdwarf64"]),
    "c-m32": ("c", ["-m32", "-O2", "-g"]),
    "cpp-dwarf4": ("cpp", ["-O2", "-gdwarf-4"]),
    "cpp-dwarf5": ("cpp", ["-O2", "-gdwarf-5"]),
    "cpp-O0": ("cpp", ["-O0", "-g"]),
}
ZSTD = {"c-zstd": "c-dwarf5", "cpp-zstd": "cpp-dwarf5"}
# binutils 2.40's addr2line cannot read the line tables of 64-bit DWARF 5 ("DWARF error:
# offset ... greater than or equal to .debug_line_str size"): pyelftools checks that one.
NO_ADDR2LINE = {"c-dwarf64"}
C_FUNCTIONS = {"helper", "work", "tail", "main", "fail"}


@pytest.fixture(scope="module")
def progs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("dwarf")
    write(d / "a.c", C_SRC)
    write(d / "b.cc", CPP_SRC)
    write(d / "lib.c", LIB_SRC)
    gcc("-shared", "-fPIC", "-o", d / "libxc.so", d / "lib.c")
    gcc("-m32", "-shared", "-fPIC", "-o", d / "libxc32.so", d / "lib.c")
    out: dict[str, Path] = {}
    for name, (lang, flags) in VARIANTS.items():
        lib = "-lxc32" if "-m32" in flags else "-lxc"
        cmd = ["gcc" if lang == "c" else "g++", *flags, "-o", str(d / name),
               str(d / ("a.c" if lang == "c" else "b.cc")), "-L", str(d), lib]
        res = subprocess.run(cmd, capture_output=True, text=True, check=False)
        assert res.returncode == 0, res.stderr
        out[name] = d / name
    for name, base in ZSTD.items():
        subprocess.run(["objcopy", "--compress-debug-sections=zstd", str(out[base]),
                        str(d / name)], check=True, capture_output=True)
        out[name] = d / name
    for name in list(out):  # for addr2line (DWARF alone) and for where --binary
        hide_symtab(str(out[name]), str(d / f"{name}.nosymtab"))
        out[f"{name}.nosymtab"] = d / f"{name}.nosymtab"
    return out


def ours(path: Path) -> set[tuple[int, int, str]]:
    with ElfFile(str(path)) as f:
        return set(f.subprogram_ranges())


def test_fixtures_use_the_encodings_they_claim(progs: dict[str, Path]) -> None:
    assert ".debug_rnglists" in section_names(str(progs["c-dwarf5"]))
    assert ".debug_ranges" in section_names(str(progs["c-dwarf4"]))
    assert ".zdebug_info" in section_names(str(progs["c-zdebug"]))
    for name, kind in (("c-gz", 1), ("c-zstd", 2)):
        with ElfFile(str(progs[name])) as f:
            info = f.section_by_name(".debug_info")
            assert info is not None and info.flags & 0x800
            assert struct.unpack_from("<I", f.section_data(info))[0] == kind  # ch_type
    head = subprocess.run(["readelf", "--debug-dump=info", str(progs["c-dwarf64"])],
                          capture_output=True, text=True, check=True).stdout
    assert "(64-bit)" in head


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_ranges_agree_with_pyelftools(progs: dict[str, Path], variant: str) -> None:
    got = ours(progs[variant])
    assert got == pyelftools_ranges(str(progs[variant]))
    names = {n for _, _, n in got}
    if variant.startswith("c-"):
        assert C_FUNCTIONS <= names, names
    else:  # out-of-line members: DW_AT_linkage_name (as .symtab names them) or DW_AT_name
        assert {"use", "main"} <= names, names
        for plain, mangled in (("m", "1K1mEi"), ("s", "1K1sEi"), ("deep", "5inner4deepEi")):
            assert any(n.endswith(mangled) or n == plain for n in names), (plain, names)


@pytest.mark.parametrize("variant", sorted(VARIANTS) + sorted(ZSTD))
def test_ranges_agree_with_readelf(progs: dict[str, Path], variant: str) -> None:
    got = ours(progs[variant])
    exact, deferred = readelf_ranges(str(progs[variant]))
    deferred_names = {n for _, n in deferred}
    assert {r for r in got if r[2] not in deferred_names} == exact
    # DWARF 5 range lists: readelf does not print them all; every function it names has
    # ranges, and addr2line puts each of their ends inside that function
    if variant in NO_ADDR2LINE:
        assert {r for r in got if r[2] in deferred_names} == \
            {r for r in pyelftools_ranges(str(progs[variant])) if r[2] in deferred_names}
        deferred_names = set()
    for name in deferred_names:
        spans = [(a, b) for a, b, n in got if n == name]
        assert spans, name
        found = addr2line_functions(str(progs[f"{variant}.nosymtab"]),
                                    [x for a, b in spans for x in (a, b - 1)], demangle=True)
        assert {base_name(n) for n in found} == {base_name(name)}, (name, spans, found)
    if variant.startswith("c-") and "-O2" in VARIANTS.get(variant, ("", ["-O2"]))[1]:
        assert len([r for r in got if r[2] == "work"]) == 2  # its hot and its cold part


@pytest.mark.parametrize("variant", sorted(v for v in [*VARIANTS, *ZSTD]
                                           if v.startswith("c-") and v not in NO_ADDR2LINE))
def test_ranges_agree_with_addr2line(progs: dict[str, Path], variant: str) -> None:
    got = sorted(ours(progs[variant]))
    ends = [x for a, b, _ in got for x in (a, b - 1)]
    assert addr2line_functions(str(progs[f"{variant}.nosymtab"]), ends) == \
        [n for _, _, n in got for _ in (0, 1)]


def test_zstd_reads_as_its_uncompressed_original(progs: dict[str, Path]) -> None:
    for name, base in ZSTD.items():
        assert ours(progs[name]) == ours(progs[base]) != set()
        with ElfFile(str(progs[name])) as z, ElfFile(str(progs[base])) as plain:
            for sec in plain.sections:
                if sec.name.startswith(".debug_"):
                    zsec = z.section_by_name(sec.name)
                    assert zsec is not None
                    assert bytes(z.section_contents(zsec)) == bytes(plain.section_data(sec))


@pytest.mark.parametrize("variant", ["c-dwarf5", "c-dwarf4", "c-zstd", "c-dwarf4-64", "c-O0"])
def test_binary_call_sites_attributed_as_addr2line_does(progs: dict[str, Path],
                                                        variant: str) -> None:
    prog = str(progs[f"{variant}.nosymtab"])
    sites = [s for s in find_binary_callsites(prog, None) if s.kind != "reference"]
    expected = addr2line_functions(prog, [s.address or 0 for s in sites])
    # (the C runtime's own code has no DWARF: neither names a function there)
    assert [(s.function, s.attribution) for s in sites] == [
        (None, "none") if name == "??" else (name, "dwarf") for name in expected]
    assert {"helper", "work", "tail", "main"} <= {s.function for s in sites}


# --------------------------------------------------------------------------------------------
# Real files of this machine (gcc's sanitizer runtimes and binutils' libsframe carry DWARF 5)
# --------------------------------------------------------------------------------------------

REAL = ["/usr/lib/x86_64-linux-gnu/libsframe.so.0", "/usr/lib/x86_64-linux-gnu/libubsan.so.1"]


@pytest.mark.parametrize("path", REAL)
def test_real_libraries_agree_with_pyelftools_and_addr2line(path: str) -> None:
    assert Path(path).is_file(), f"{path}: installed with gcc and binutils (setup-debian.sh)"
    got = ours(Path(path))
    assert len(got) > 30
    assert got == pyelftools_ranges(path)
    sample = sorted(got)[::max(1, len(got) // 40)]
    found = addr2line_functions(path, [a for a, _, _ in sample], demangle=True)
    assert [base_name(n) for n in found] == [base_name(n) for _, _, n in sample]


# --------------------------------------------------------------------------------------------
# Corrupt DWARF, limits
# --------------------------------------------------------------------------------------------


def _patched(src: Path, dst: Path, section: str, at: int, value: bytes) -> Path:
    data = bytearray(src.read_bytes())
    with ElfFile(str(src)) as f:
        sec = f.section_by_name(section)
        assert sec is not None
        data[sec.offset + at:sec.offset + at + len(value)] = value
    dst.write_bytes(bytes(data))
    return dst


@pytest.mark.parametrize("section, at, value, message", [
    (".debug_info", 0, struct.pack("<I", 0x7FFFFFF0), "runs past the end of .debug_info"),
    (".debug_info", 4, struct.pack("<H", 6), "DWARF version 6"),
    (".debug_info", 7, bytes([3]), "address size 3"),
    (".debug_info", 8, struct.pack("<I", 0x7FFFFFF), "abbreviation offset"),
    (".debug_info", 12, b"\xff" * 11, "LEB128"),
    (".debug_info", 12, bytes([0x7F]), "abbreviation 127"),
    (".debug_abbrev", 0, b"\x01\x11\x01\x03\x7e\x00\x00", "unknown attribute form 0x7e"),
])
def test_corrupt_dwarf_is_one_elf_error(progs: dict[str, Path], tmp_path: Path, section: str,
                                        at: int, value: bytes, message: str) -> None:
    bad = _patched(progs["c-dwarf5"], tmp_path / "bad", section, at, value)
    with ElfFile(str(bad)) as f, pytest.raises(ElfError) as info:
        f.subprogram_ranges()
    assert info.value.path == str(bad)
    assert message in info.value.message and "\n" not in str(info.value)


def test_reference_loops_end(progs: dict[str, Path]) -> None:
    """An entry whose DW_AT_abstract_origin leads back to itself: no name, no hang."""
    from abiguard.elf import dwarf

    with ElfFile(str(progs["cpp-O0"])) as f:
        d = dwarf.Dwarf(f)
        u = d.read_units()[0]
        loop = {dwarf.DW_AT_abstract_origin: (0x13, u.die_offset - u.offset)}  # ref4: itself
        d.entry = lambda pos, unit, table: (None, loop, pos)  # type: ignore[method-assign]
        assert d.name(loop, u) is None


def test_broken_dwarf_keeps_binary_call_sites(progs: dict[str, Path], tmp_path: Path) -> None:
    bad = _patched(progs["c-dwarf5.nosymtab"], tmp_path / "bad", ".debug_info", 4,
                   struct.pack("<H", 9))
    sites = find_binary_callsites(str(bad), None)
    assert sites and {s.attribution for s in sites} <= {"none", "nearest-export"}


def test_limits(progs: dict[str, Path]) -> None:
    with limits.override(max_dwarf_values=50), ElfFile(str(progs["c-dwarf5"])) as f, \
            pytest.raises(ElfError, match="max_dwarf_values"):
        f.subprogram_ranges()
    with limits.override(max_section_bytes=64), ElfFile(str(progs["c-gz"])) as f, \
            pytest.raises(ElfError, match="max_section_bytes"):
        f.subprogram_ranges()


def test_compressed_size_must_match(progs: dict[str, Path], tmp_path: Path) -> None:
    for name in ("c-gz", "c-zstd"):
        with ElfFile(str(progs[name])) as f:
            sec = f.section_by_name(".debug_info")
            assert sec is not None
            size = struct.unpack_from("<Q", f.section_data(sec), 8)[0]
        for lie in (size - 1, size + 1):
            bad = _patched(progs[name], tmp_path / "bad", ".debug_info", 8,
                           struct.pack("<Q", lie))
            with ElfFile(str(bad)) as f, pytest.raises(ElfError, match="decompresses to"):
                f.subprogram_ranges()
        bad = _patched(progs[name], tmp_path / "bad", ".debug_info", 24, b"\0\0\0\0")
        with ElfFile(str(bad)) as f, pytest.raises(ElfError, match="corrupt"):
            f.section_contents(f.section_by_name(".debug_info") or 0)


def test_relocatable_objects_are_refused(tmp_path: Path) -> None:
    write(tmp_path / "o.c", "int f(int x) { return x + 1; }\n")
    gcc("-g", "-c", "-o", tmp_path / "o.o", tmp_path / "o.c")
    with ElfFile(str(tmp_path / "o.o")) as f, pytest.raises(ElfError, match="relocatable"):
        f.subprogram_ranges()


def test_no_dwarf_no_ranges(progs: dict[str, Path], tmp_path: Path) -> None:
    shutil.copy(progs["c-dwarf5"], tmp_path / "p")
    subprocess.run(["strip", "--strip-debug", str(tmp_path / "p")], check=True)
    assert ours(tmp_path / "p") == set()


@pytest.mark.parametrize("variant", ["c-dwarf5", "c-dwarf4", "cpp-dwarf5", "c-dwarf64",
                                     "c-dwarf2"])
def test_mutated_dwarf_gives_ranges_or_elf_error(progs: dict[str, Path], variant: str) -> None:
    """Random bytes of the DWARF sections changed (400 inputs a variant, seeded): every one
    reads or is an ElfError, quickly."""
    import random
    import time

    base = bytearray(progs[variant].read_bytes())
    with ElfFile(str(progs[variant])) as f:
        spans = [(s.offset, s.size) for s in f.sections
                 if s.name in (".debug_info", ".debug_abbrev", ".debug_rnglists",
                               ".debug_ranges", ".debug_str", ".debug_line_str")]
    rng = random.Random(variant)
    outcomes = {"ok": 0, "rejected": 0}
    start = time.monotonic()
    for _ in range(400):
        data = bytearray(base)
        for _ in range(rng.choice((1, 2, 8))):
            off, size = rng.choice(spans)
            at = off + rng.randrange(size)
            data[at] = rng.choice((0, 0xFF, 0x80, rng.randrange(256)))
        try:
            with ElfFile("mutant", bytes(data)) as f:
                for lo, hi, name in f.subprogram_ranges():
                    assert 0 < lo < hi and name
            outcomes["ok"] += 1
        except ElfError as exc:
            assert exc.path == "mutant" and "\n" not in exc.message
            outcomes["rejected"] += 1
    assert outcomes["ok"] and outcomes["rejected"], outcomes
    assert time.monotonic() - start < 60
