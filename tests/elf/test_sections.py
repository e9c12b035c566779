"""The ELF reader's lower level, as the call-site finders use it: section relocations,
.symtab, section contents (compressed too), notes and ar archives, held against readelf,
objcopy, ar and pyelftools on gcc-built objects and programs (x86-64, i386 with SHT_REL,
AArch64 assembled with binutils, C++) and on static libraries of this machine."""

from __future__ import annotations

import re
import subprocess
import zlib
from pathlib import Path

import pytest

from abiguard.elf import SHT_REL, SHT_RELA, ElfFile, iter_archive_members
from abiguard.errors import ElfError
from helpers.cfixtures import gcc, write
from helpers.paths import REPO, SRC
from helpers.xcproject import build_aarch64

C_SRC = r"""
#include <stdio.h>
extern int ext_fn(int);
extern int ext_weak(void) __attribute__((weak));
static int (*table[])(int) = { ext_fn };
int global_var = 1;
static int local_fn(void) { return global_var; }
int obj_fn(int x) { puts("x"); return ext_fn(x) + local_fn() + table[0](2) + (ext_weak ? ext_weak() : 0); }
"""
CPP_SRC = r"""
#include <string>
extern "C" int ext_fn(int);
namespace ns { int f(const std::string &s) { return ext_fn((int)s.size()); } }
"""


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("sections")
    write(d / "o.c", C_SRC)
    write(d / "o.cc", CPP_SRC)
    out = {
        "x86-64.o": ["-c", "-O2", "-g", "-ffunction-sections", "-fPIC"],
        "i386.o": ["-m32", "-c", "-O2", "-g"],
        "gz.o": ["-c", "-g", "-gz"],
        "prog": ["-O2", "-g", "-Wl,--unresolved-symbols=ignore-all"],
    }
    paths: dict[str, Path] = {}
    for name, flags in out.items():
        gcc(*flags, "-o", d / name, d / "o.c")
        paths[name] = d / name
    res = subprocess.run(["g++", "-c", "-O2", "-o", str(d / "cpp.o"), str(d / "o.cc")],
                         capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stderr
    paths["cpp.o"] = d / "cpp.o"
    a64 = build_aarch64(d / "a64")
    paths["aarch64.o"] = a64 / "main.o"
    paths["aarch64-prog"] = a64 / "prog"
    return paths


def readelf_relocations(path: Path, bits: int) -> list[tuple[str, int, int, int, int | None]]:
    """(section, offset, type, symbol index, addend) of readelf -r -W."""
    out: list[tuple[str, int, int, int, int | None]] = []
    section, rela = "", False
    text = subprocess.run(["readelf", "-r", "-W", str(path)], capture_output=True, text=True,
                          check=True).stdout
    for line in text.splitlines():
        m = re.match(r"^Relocation section '([^']+)'", line)
        if m:
            section, rela = m.group(1), m.group(1).startswith(".rela")
            continue
        m = re.match(r"^([0-9a-f]+)\s+([0-9a-f]+)\s+\S+(.*)$", line)
        if not m or not section:
            continue
        info = int(m.group(2), 16)
        sym, rtype = (info >> 32, info & 0xFFFFFFFF) if bits == 64 else (info >> 8, info & 0xFF)
        addend: int | None = None
        if rela:
            a = re.search(r"([+-]) ([0-9a-f]+)\s*$", m.group(3))
            addend = (int(a.group(2), 16) * (-1 if a.group(1) == "-" else 1)) if a else \
                int(m.group(3).split()[-1], 16)
        out.append((section, int(m.group(1), 16), rtype, sym, addend))
    return out


@pytest.mark.parametrize("name", ["x86-64.o", "i386.o", "cpp.o", "aarch64.o", "prog",
                                  "aarch64-prog"])
def test_relocations_agree_with_readelf_and_pyelftools(files: dict[str, Path], name: str) -> None:
    from elftools.elf.elffile import ELFFile
    from elftools.elf.relocation import RelocationSection

    path = files[name]
    with ElfFile(str(path)) as f:
        ours = list(f.relocations())
        bits = f.header.elf_class
        secs = f.sections
        assert ours
        for r in ours:
            rel_sec = secs[r.section_index]
            assert rel_sec.name == r.section and rel_sec.type in (SHT_REL, SHT_RELA)
            assert r.target == rel_sec.info
    assert [(r.section, r.offset, r.type, r.symbol_index, r.addend) for r in ours] == \
        readelf_relocations(path, bits)
    with ElfFile(str(path)) as f:
        assert list(f.relocations(named=True)) == [r for r in ours if r.symbol_index]
    with open(path, "rb") as fh:
        elf = ELFFile(fh)
        theirs = []
        for sec in elf.iter_sections():
            if isinstance(sec, RelocationSection):
                symtab = elf.get_section(sec["sh_link"]) if sec["sh_link"] else None
                for rel in sec.iter_relocations():
                    sym = rel["r_info_sym"]
                    theirs.append((sec.name, rel["r_offset"], rel["r_info_type"],
                                   symtab.get_symbol(sym).name if sym and symtab else "",
                                   rel["r_addend"] if rel.is_RELA() else None))
    assert [(r.section, r.offset, r.type, r.symbol, r.addend) for r in ours] == theirs


@pytest.mark.parametrize("bits, big, machine", [(32, False, 3), (64, False, 62),
                                                (32, True, 20), (64, True, 22)])
def test_relocations_of_both_byte_orders(tmp_path: Path, bits: int, big: bool,
                                         machine: int) -> None:
    """Hand-built images with relative, symbol and PLT relocations (REL for i386, RELA
    otherwise): readelf's reading, and the named ones alone with ``named=True``."""
    from helpers.elfbuild import Exp, Imp, Spec, build_elf

    spec = Spec(bits=bits, big=big, machine=machine, needed=("libc.so.6",),
                imports=[Imp("puts", "GLIBC_2.0", "libc.so.6"), Imp("cos")],
                exports=[Exp("hand_a", "HAND_1.0")], verdefs=[("HAND_1.0", [])],
                relocs=[("puts", 6), ("hand_a", 5), ("", 8)], plt_relocs=[("cos", 7)],
                rela=machine != 3, relative=3)
    path = tmp_path / "image"
    path.write_bytes(build_elf(spec).data)
    with ElfFile(str(path)) as f:
        every = list(f.relocations())
        assert len(every) == 7
        assert [(r.section, r.offset, r.type, r.symbol_index, r.addend) for r in every] == \
            readelf_relocations(path, bits)
        named = list(f.relocations(named=True))
        assert named == [r for r in every if r.symbol_index]
        assert [r.symbol for r in named] == ["puts", "hand_a", "cos"]


def test_chosen_relocation_sections(files: dict[str, Path]) -> None:
    with ElfFile(str(files["x86-64.o"])) as f:
        every = list(f.relocations())
        debug = [s for s in f.sections if s.name.startswith(".rela.debug_")]
        assert len(debug) >= 2
        assert list(f.relocations(debug)) == \
            [r for r in every if r.section.startswith(".rela.debug_")]
        assert list(f.relocations([s for s in f.sections if s.name == ".symtab"])) == []


def test_symtab_agrees_with_readelf(files: dict[str, Path]) -> None:
    for name in ("x86-64.o", "i386.o", "prog"):
        text = subprocess.run(["readelf", "-s", "-W", str(files[name])], capture_output=True,
                              text=True, check=True).stdout
        part = text[text.index("Symbol table '.symtab'"):]
        rows = []
        for line in part.splitlines():
            m = re.match(r"^\s*(\d+): ([0-9a-f]+)\s+(\d+|0x[0-9a-f]+)\s+(\w+)\s+(\w+)\s+(\w+)"
                         r"\s+(\w+)\s*(.*)$", line)
            if m:
                size = int(m.group(3), 0)
                ndx = {"UND": 0, "ABS": 0xFFF1, "COM": 0xFFF2}.get(m.group(7))
                rows.append((int(m.group(2), 16), size, m.group(4), m.group(5), m.group(6),
                             ndx if ndx is not None else int(m.group(7)), m.group(8)))
        with ElfFile(str(files[name])) as f:
            ours = [(s.value, s.size, s.type, s.binding, s.visibility, s.shndx, s.name)
                    for s in f.symtab_symbols()]
        # readelf names section symbols after their section; abiguard gives their (empty) name
        assert [r[:6] for r in ours] == [r[:6] for r in rows]
        assert [o[6] for o, r in zip(ours, rows) if o[2] != "SECTION"] == \
            [r[6] for r in rows if r[2] != "SECTION"]


def test_compressed_sections_as_objcopy_decompresses_them(files: dict[str, Path],
                                                          tmp_path: Path) -> None:
    plain = tmp_path / "plain.o"
    subprocess.run(["objcopy", "--decompress-debug-sections", str(files["gz.o"]), str(plain)],
                   check=True)
    with ElfFile(str(files["gz.o"])) as z, ElfFile(str(plain)) as p:
        compressed = [s for s in z.sections if s.flags & 0x800]
        assert compressed
        for sec in compressed:
            other = p.section_by_name(sec.name)
            assert other is not None and not other.flags & 0x800
            assert bytes(z.section_contents(sec)) == bytes(p.section_data(other))
        for sec in z.sections:  # uncompressed sections: as they are
            if not sec.flags & 0x800:
                assert bytes(z.section_contents(sec)) == bytes(z.section_data(sec))


def test_notes_agree_with_readelf(files: dict[str, Path], tmp_path: Path) -> None:
    prog = files["prog"]
    text = subprocess.run(["readelf", "-n", str(prog)], capture_output=True, text=True,
                          check=True).stdout
    build_id = re.search(r"Build ID: ([0-9a-f]+)", text)
    assert build_id
    debug = tmp_path / "prog.debug"
    subprocess.run(["objcopy", "--only-keep-debug", str(prog), str(debug)], check=True)
    linked = tmp_path / "prog.linked"
    subprocess.run(["objcopy", f"--add-gnu-debuglink={debug}", str(prog), str(linked)],
                   check=True)
    with ElfFile(str(linked)) as f:
        assert f.build_id() == build_id.group(1)
        assert f.debuglink() == ("prog.debug", zlib.crc32(debug.read_bytes()))
    with ElfFile(str(files["x86-64.o"])) as f:
        assert f.debuglink() is None
    # a note running past its section: one ElfError naming the file
    data = bytearray(linked.read_bytes())
    with ElfFile(str(linked)) as f:
        sec = f.section_by_name(".note.gnu.build-id")
        assert sec is not None
        data[sec.offset + 4:sec.offset + 8] = (0x7FFF).to_bytes(4, "little")  # descsz
    bad = tmp_path / "bad"
    bad.write_bytes(bytes(data))
    with ElfFile(str(bad)) as f, pytest.raises(ElfError, match="runs past the end") as info:
        f.build_id()
    assert info.value.path == str(bad)


# --------------------------------------------------------------------------------------------
# ar archives, held against binutils' ar
# --------------------------------------------------------------------------------------------


def _ar(*args: str, cwd: Path) -> str:
    return subprocess.run(["ar", *args], cwd=cwd, capture_output=True, text=True,
                          check=True).stdout


@pytest.mark.parametrize("archive", ["/usr/lib/x86_64-linux-gnu/libc_nonshared.a",
                                     "/usr/lib/gcc/x86_64-linux-gnu/12/libgcov.a",
                                     "/usr/lib/gcc/x86_64-linux-gnu/12/libgcc_eh.a"])
def test_members_as_ar_lists_and_prints_them(archive: str, tmp_path: Path) -> None:
    assert Path(archive).is_file(), f"{archive}: from libc6-dev or gcc"
    names = _ar("t", archive, cwd=tmp_path).split()
    members = list(iter_archive_members(archive))
    assert [n for n, _ in members] == names
    for name, data in members[:5]:
        printed = subprocess.run(["ar", "p", archive, name], capture_output=True,
                                 check=True).stdout
        assert data == printed


def test_thin_archives(files: dict[str, Path], tmp_path: Path) -> None:
    for name in ("x86-64.o", "i386.o"):
        (tmp_path / name).write_bytes(files[name].read_bytes())
    long_name = "a_member_with_a_rather_long_name.o"
    (tmp_path / long_name).write_bytes(files["cpp.o"].read_bytes())
    _ar("rcsT", "libthin.a", "x86-64.o", "i386.o", long_name, cwd=tmp_path)
    thin = str(tmp_path / "libthin.a")
    got = list(iter_archive_members(thin, thin=True))
    assert [n for n, _ in got] == [Path(p).name for p in _ar("t", thin, cwd=tmp_path).split()]
    assert [d for _, d in got] == [(tmp_path / n).read_bytes() for n, _ in got]
    with pytest.raises(ElfError, match="thin ar archive"):
        list(iter_archive_members(thin))
    (tmp_path / "i386.o").write_bytes(b"changed")
    with pytest.raises(ElfError, match="i386.o: the file has 7 bytes") as info:
        list(iter_archive_members(thin, thin=True))
    assert info.value.path == thin
    (tmp_path / "i386.o").unlink()
    with pytest.raises(ElfError, match="thin archive member i386.o: cannot open"):
        list(iter_archive_members(thin, thin=True))


def test_pyelftools_is_not_needed_at_run_time() -> None:
    """pyelftools is the tests' reference only: not a dependency, imported by no module."""
    import sys
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert not any("elftools" in d for d in project["dependencies"])
    assert any("pyelftools" in d for d in project["optional-dependencies"]["test"])
    code = (
        "import importlib, pkgutil, sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'elftools':\n"
        "            raise ImportError('pyelftools blocked')\n"
        "sys.meta_path.insert(0, Block())\n"
        "import abiguard\n"
        "names = [m.name for m in pkgutil.walk_packages(abiguard.__path__, 'abiguard.')]\n"
        "for n in names:\n"
        "    importlib.import_module(n)\n"
        "assert 'elftools' not in sys.modules\n"
        "print(len(names))\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=False, env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin"})
    assert res.returncode == 0, res.stderr
    assert int(res.stdout) > 80
