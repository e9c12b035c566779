"""where --objects: which object file and function reference each undefined symbol."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from abiguard.callsites.objects import find_object_references
from abiguard.elf import iter_archive_members
from abiguard.errors import ElfError
from abiguard.model import InputError
from helpers.xcproject import EXPECTED_OBJECT_REFS, build_aarch64, run

XC = {"xc_a", "xc_b", "xc_c"}
INPUTS = ["main.o", "util.o", "libstuff.a"]



def triples(sites) -> set[tuple[str, str, str | None]]:
    return {(s.symbol, s.file, s.function) for s in sites}


def test_references_per_object_and_function(project, monkeypatch):
    monkeypatch.chdir(project)
    sites, errors = find_object_references(INPUTS, XC)
    assert errors == []
    assert triples(sites) == EXPECTED_OBJECT_REFS
    assert all(s.method == "object" and s.address is not None for s in sites)
    # One site per relocation: main.o has three, util.o three, the archive member one.
    assert len(sites) == 7


def test_kinds(project, monkeypatch):
    monkeypatch.chdir(project)
    sites, _ = find_object_references(INPUTS, XC)
    kinds = {(s.symbol, s.file, s.function): s.kind for s in sites}
    assert kinds[("xc_a", "main.o", "helper")] == "call"
    assert kinds[("xc_b", "util.o", "wrap_b")] == "call"        # tail call: jmp, PLT32
    assert kinds[("xc_c", "main.o", "main")] == "reference"     # address taken
    assert kinds[("xc_c", "util.o", None)] == "reference"       # function-pointer table


def test_symbol_filter_and_all(project, monkeypatch):
    monkeypatch.chdir(project)
    sites, _ = find_object_references(INPUTS, {"xc_b"})
    assert triples(sites) == {t for t in EXPECTED_OBJECT_REFS if t[0] == "xc_b"}
    every, _ = find_object_references(INPUTS, None)
    names = {s.symbol for s in every}
    # None means every undefined symbol, also the program's own cross-file calls.
    assert XC | {"util_fn", "wrap_b", "lib_fn"} <= names


def test_absolute_paths_name_archive_members(project):
    sites, _ = find_object_references([str(project / "libstuff.a")], XC)
    assert {s.file for s in sites} == {f"{project / 'libstuff.a'}(lib.o)"}


def test_function_sections_and_no_plt(project, tmp_path):
    for name in ("main.c", "util.c", "xc.h"):
        shutil.copy(project / name, tmp_path / name)
    run(["gcc", "-O0", "-ffunction-sections", "-fdata-sections", "-fno-plt", "-c", "main.c"],
        tmp_path)
    run(["gcc", "-O2", "-ffunction-sections", "-fdata-sections", "-fno-plt", "-c", "util.c"],
        tmp_path)
    sites, errors = find_object_references([str(tmp_path / "main.o"), str(tmp_path / "util.o")],
                                           XC)
    assert errors == []
    got = {(s.symbol, Path(s.file).name, s.function, s.kind) for s in sites}
    assert got == {
        ("xc_a", "main.o", "helper", "call"),        # call *xc_a@GOTPCREL(%rip)
        ("xc_a", "main.o", "main", "call"),
        ("xc_c", "main.o", "main", "reference"),
        ("xc_a", "util.o", "util_fn", "call"),
        ("xc_b", "util.o", "wrap_b", "call"),        # jmp *xc_b@GOTPCREL(%rip)
        ("xc_c", "util.o", None, "reference"),
    }


def test_thin_archive(project, tmp_path):
    shutil.copy(project / "lib.o", tmp_path / "lib.o")
    run(["ar", "rcsT", "libthin.a", "lib.o"], tmp_path)
    sites, errors = find_object_references([str(tmp_path / "libthin.a")], XC)
    assert errors == []
    assert triples(sites) == {("xc_b", f"{tmp_path / 'libthin.a'}(lib.o)", "lib_fn")}


def test_long_member_names(project, tmp_path):
    long = "a_member_name_longer_than_sixteen_chars.o"
    shutil.copy(project / "lib.o", tmp_path / long)
    run(["ar", "rcs", "liblong.a", long], tmp_path)
    assert [name for name, _ in iter_archive_members(str(tmp_path / "liblong.a"))] == [long]


def test_aarch64_objects(xc_base, monkeypatch):
    d = build_aarch64(xc_base)
    monkeypatch.chdir(d)
    sites, errors = find_object_references(INPUTS, XC)
    assert errors == []
    assert triples(sites) == EXPECTED_OBJECT_REFS
    kinds = {(s.symbol, s.function): s.kind for s in sites if s.file == "main.o"}
    assert kinds[("xc_a", "helper")] == "call"                  # R_AARCH64_CALL26
    assert kinds[("xc_c", "main")] == "reference"               # ADR_GOT_PAGE / LD64_GOT_LO12


# ------------------------------------------------------------------------------------------
# Bad inputs: an InputError naming the file, never a traceback
# ------------------------------------------------------------------------------------------


def _only_error(paths) -> InputError:
    sites, errors = find_object_references([str(p) for p in paths], XC)
    assert sites == []
    assert len(errors) == 1, errors
    return errors[0]


def test_truncated_object(project, tmp_path):
    bad = tmp_path / "trunc.o"
    bad.write_bytes((project / "main.o").read_bytes()[:200])
    err = _only_error([bad])
    assert err.path == str(bad)
    assert "truncated" in err.message or "corrupt" in err.message


def test_object_with_garbage_section_headers(project, tmp_path):
    data = bytearray((project / "util.o").read_bytes())
    data[0x28:0x30] = (len(data) * 4).to_bytes(8, "little")    # e_shoff past the end
    bad = tmp_path / "shoff.o"
    bad.write_bytes(bytes(data))
    err = _only_error([bad])
    assert err.path == str(bad) and err.message


def test_non_archive_a(tmp_path):
    bad = tmp_path / "libfake.a"
    bad.write_text("this is not an archive\n")
    err = _only_error([bad])
    assert err == InputError(str(bad), "not an ar archive (bad magic)")


def test_not_an_object(tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("hello\n")
    assert "not an ELF object" in _only_error([bad]).message


def test_missing_file(tmp_path):
    err = _only_error([tmp_path / "nope.o"])
    assert err.path == str(tmp_path / "nope.o") and "No such file" in err.message


def test_truncated_archive(project, tmp_path):
    bad = tmp_path / "libcut.a"
    bad.write_bytes((project / "libstuff.a").read_bytes()[:-100])
    err = _only_error([bad])
    assert err.path == str(bad) and "truncated" in err.message


def test_corrupt_member_names_member_and_keeps_others(project, tmp_path):
    shutil.copy(project / "lib.o", tmp_path / "lib.o")
    (tmp_path / "bad.o").write_bytes((project / "util.o").read_bytes()[:300])
    (tmp_path / "readme.txt").write_text("not an object\n")
    run(["ar", "rc", "libmix.a", "lib.o", "bad.o", "readme.txt"], tmp_path)
    archive = str(tmp_path / "libmix.a")
    sites, errors = find_object_references([archive], XC)
    assert triples(sites) == {("xc_b", f"{archive}(lib.o)", "lib_fn")}
    assert {e.path for e in errors} == {f"{archive}(bad.o)", f"{archive}(readme.txt)"}


def test_shared_library_is_not_an_object(project):
    err = _only_error([project / "libxc.so"])
    assert "not a relocatable object" in err.message


def test_slim_lto_object(tmp_path):
    (tmp_path / "l.c").write_text("int xc_a(int);\nint f(void) { return xc_a(1); }\n")
    res = subprocess.run(["gcc", "-flto", "-c", "l.c"], cwd=tmp_path, capture_output=True,
                         check=False)
    assert res.returncode == 0, "gcc without LTO"
    err = _only_error([tmp_path / "l.o"])
    assert "LTO" in err.message


def test_iter_archive_members_raises_elferror(tmp_path):
    bad = tmp_path / "x.a"
    bad.write_bytes(b"!<arch>\nshort")
    with pytest.raises(ElfError) as exc:
        list(iter_archive_members(str(bad), thin=True))
    assert str(bad) in str(exc.value)


def test_ifunc_resolver_is_the_enclosing_function(tmp_path):
    """An STT_GNU_IFUNC symbol names its code like a FUNC (glibc's memcpy resolver)."""
    (tmp_path / "r.s").write_text(
        "\t.text\n\t.globl pick\n\t.type pick, @gnu_indirect_function\npick:\n"
        "\tleaq xc_a(%rip), %rax\n\tret\n\t.size pick, .-pick\n")
    run(["as", "-o", "r.o", "r.s"], tmp_path)
    symtab = subprocess.run(["readelf", "-s", "-W", str(tmp_path / "r.o")], capture_output=True,
                            text=True, check=True).stdout
    assert re.search(r"IFUNC\s+GLOBAL\s+DEFAULT\s+1 pick", symtab)
    sites, errors = find_object_references([str(tmp_path / "r.o")], XC)
    assert errors == []
    assert [(s.symbol, s.function, s.kind) for s in sites] == [("xc_a", "pick", "reference")]
